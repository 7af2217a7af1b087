/*
 * Training a guard classifier from the user's labelled JSONL: one object per line,
 * {"text": "...", "label": 1|0|true|false|"attack"|"benign"|...}. A deterministic fifth of
 * the lines (by hash of the text) is held out to report precision, recall and false
 * positive rate; the saved model is then trained on every line. A text that appears
 * again counts once (its first label wins). Injection models add the intent-class
 * features; the built-in injection model is this function's output on data/guard
 * (scripts/guard_model.py), so users retrain it from our data plus theirs.
 */
#include "guard.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#define TRAIN_DIM 65536 /* hashed buckets: few collisions, trained and used sparse */
#define TRAIN_EPOCHS 20

static int label_of(const json_t *v, int *out)
{
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = (int)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s)
        return -1;
    static const char *const pos[] = {"1", "attack", "injection", "jailbreak", "toxic",
                                      "positive", "malicious", "unsafe", NULL};
    static const char *const neg[] = {"0", "benign", "clean", "safe", "negative", "ok", NULL};
    for (const char *const *p = pos; *p; p++)
        if (strcmp(*p, s) == 0) {
            *out = 1;
            return 0;
        }
    for (const char *const *p = neg; *p; p++)
        if (strcmp(*p, s) == 0) {
            *out = 0;
            return 0;
        }
    return -1;
}

/* Hashes of the texts seen so far (open addressing; grows at half full). */
typedef struct seen_set {
    uint64_t *h;
    size_t cap, n;
} seen_set;

/* True when text was added before; adds it otherwise (on allocation failure the text
 * counts as new: a duplicate then only weighs twice). */
static bool seen_before(seen_set *s, const char *text)
{
    uint64_t h = XXH3_64bits(text, strlen(text)) | 1;
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *nh = calloc(cap, sizeof *nh);
        if (!nh)
            return false;
        for (size_t i = 0; i < s->cap; i++)
            if (s->h[i])
                for (size_t k = s->h[i] & (cap - 1);; k = (k + 1) & (cap - 1))
                    if (!nh[k]) {
                        nh[k] = s->h[i];
                        break;
                    }
        free(s->h);
        s->h = nh;
        s->cap = cap;
    }
    for (size_t k = h & (s->cap - 1);; k = (k + 1) & (s->cap - 1)) {
        if (s->h[k] == h)
            return true;
        if (!s->h[k]) {
            s->h[k] = h;
            s->n++;
            return false;
        }
    }
}

int mlops__guard_train(const char *kind, const char *data_path, const char *out_path,
                       json_t **report)
{
    seen_set seen = {0};
    *report = NULL;
    if (strcmp(kind, "injection") != 0 && strcmp(kind, "toxicity") != 0)
        return mlops__error(MLOPS_EINVAL, "kind: '%s' is not injection or toxicity", kind);
    int features = strcmp(kind, "injection") == 0; /* intent classes for injection */
    char *data = NULL;
    size_t len = 0;
    int rc = mlops__file_read(data_path, 1u << 30, &data, &len);
    if (rc != MLOPS_OK)
        return rc;
    size_t cap = 64, n = 0;
    mlops__gexample *ex = malloc(cap * sizeof *ex);
    json_t **keep = malloc(cap * sizeof *keep);
    if (!ex || !keep) {
        free(ex), free(keep), free(data);
        return mlops__error_oom("training data");
    }
    size_t line = 0, pos = 0;
    for (char *p = data; rc == MLOPS_OK && p < data + len;) {
        char *nl = memchr(p, '\n', (size_t)(data + len - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(data + len - p);
        line++;
        char *cur = p;
        p = nl ? nl + 1 : data + len;
        size_t k = 0;
        while (k < ll && (cur[k] == ' ' || cur[k] == '\t' || cur[k] == '\r'))
            k++;
        if (k == ll)
            continue;
        json_error_t err;
        json_t *o = json_loadb(cur, ll, 0, &err);
        const char *text = o ? json_string_value(json_object_get(o, "text")) : NULL;
        int label = 0;
        if (!o || !json_is_object(o) || !text || label_of(json_object_get(o, "label"), &label) != 0) {
            json_decref(o);
            rc = mlops__error(MLOPS_EFORMAT, "%s:%zu: expected {\"text\": string, \"label\": "
                              "0|1|true|false|\"attack\"|\"benign\"...}%s%s", data_path, line,
                              o ? "" : ": ", o ? "" : err.text);
            break;
        }
        if (n == cap) {
            cap *= 2;
            mlops__gexample *ne = realloc(ex, cap * sizeof *ex);
            json_t **nk = ne ? realloc(keep, cap * sizeof *keep) : NULL;
            if (!ne || !nk) {
                if (ne)
                    ex = ne;
                json_decref(o);
                rc = mlops__error_oom("training data");
                break;
            }
            ex = ne;
            keep = nk;
        }
        if (seen_before(&seen, text)) {
            json_decref(o);
            continue;
        }
        keep[n] = o;
        ex[n++] = (mlops__gexample){text, label};
        pos += label;
    }
    free(data);
    if (rc == MLOPS_OK && (n < 4 || pos == 0 || pos == n))
        rc = mlops__error(MLOPS_EINVAL, "%s: need at least 4 examples with both labels (got %zu, "
                          "%zu positive)", data_path, n, pos);
    mlops__gexample *tr = rc == MLOPS_OK ? malloc(n * sizeof *tr) : NULL;
    mlops__gexample *te = rc == MLOPS_OK ? malloc(n * sizeof *te) : NULL;
    if (rc == MLOPS_OK && (!tr || !te))
        rc = mlops__error_oom("training split");
    size_t ntr = 0, nte = 0;
    double prec = 0, rec = 0, fpr = 0, acc = 0;
    mlops__glinear m = {0};
    if (rc == MLOPS_OK) {
        for (size_t i = 0; i < n; i++) {
            if (mlops__hash_str(ex[i].text, 0x5eed) % 5 == 0)
                te[nte++] = ex[i];
            else
                tr[ntr++] = ex[i];
        }
        if (nte > 0 && ntr >= 2) {
            rc = mlops__glinear_train_kind(tr, ntr, TRAIN_DIM, TRAIN_EPOCHS, features, &m);
            size_t tp = 0, fp = 0, fn = 0, tn = 0;
            for (size_t i = 0; rc == MLOPS_OK && i < nte; i++) {
                bool yes = mlops__glinear_predict(&m, te[i].text, strlen(te[i].text)) >= 0.5;
                tp += yes && te[i].label;
                fp += yes && !te[i].label;
                fn += !yes && te[i].label;
                tn += !yes && !te[i].label;
            }
            prec = tp + fp ? (double)tp / (double)(tp + fp) : 0;
            rec = tp + fn ? (double)tp / (double)(tp + fn) : 0;
            fpr = fp + tn ? (double)fp / (double)(fp + tn) : 0;
            acc = nte ? (double)(tp + tn) / (double)nte : 0;
            mlops__glinear_free(&m);
        }
    }
    if (rc == MLOPS_OK)
        rc = mlops__glinear_train_kind(ex, n, TRAIN_DIM, TRAIN_EPOCHS, features, &m);
    if (rc == MLOPS_OK) {
        snprintf(m.kind, sizeof m.kind, "%s", kind);
        rc = mlops__glinear_save(&m, out_path);
    }
    if (rc == MLOPS_OK)
        *report = json_pack("{s:s,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:i,s:s}", "kind", kind,
                            "examples", (json_int_t)n, "positives", (json_int_t)pos, "train",
                            (json_int_t)ntr, "heldout", (json_int_t)nte, "precision", prec,
                            "recall", rec, "fpr", fpr, "accuracy", acc, "dim", TRAIN_DIM,
                            "model", out_path);
    mlops__glinear_free(&m);
    for (size_t i = 0; i < n; i++)
        json_decref(keep[i]);
    free(keep);
    free(ex);
    free(tr);
    free(te);
    if (rc == MLOPS_OK && !*report)
        rc = mlops__error_oom("train report");
    free(seen.h);
    return rc;
}
