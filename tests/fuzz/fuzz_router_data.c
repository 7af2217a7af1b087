/* Fuzz target: labelled router JSONL (mlops_router_train / mlops_router_eval data). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mlops__route_examples ex;
    if (mlops__route_examples_parse((const char *)data, size, &ex) != MLOPS_OK)
        return 0;
    for (size_t i = 0; i < ex.n; i++) {
        mlops__route_feats f;
        if (mlops__route_features(ex.v[i].prompt, 1, false, true, &f) == MLOPS_OK) {
            mlops__route_score s;
            mlops__route_score_feats(NULL, &f, &s);
            json_decref(mlops__route_explain_feats(NULL, &f, &s));
            mlops__route_feats_free(&f);
        }
    }
    if (ex.n <= 16) {
        mlops__route_train_opts o;
        mlops__route_train_opts_parse(NULL, &o);
        o.epochs = 2;
        mlops__route_model *m = NULL;
        if (mlops__route_train(&ex, NULL, 0, &o, &m) == MLOPS_OK) {
            json_t *j = NULL;
            mlops__route_model *back = NULL;
            if (mlops__route_model_to_json(m, &j) == MLOPS_OK &&
                mlops__route_model_from_json(j, "model", &back) == MLOPS_OK)
                mlops__route_model_free(back);
            json_decref(j);
            mlops__route_model_free(m);
        }
    }
    mlops__route_examples_free(&ex);
    return 0;
}
