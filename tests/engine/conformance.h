/* Shared by the tokenizer tests: runs one conformance vocabulary (.gguf + .inp + .out). */
#ifndef MLOPS_TEST_ENGINE_CONFORMANCE_H
#define MLOPS_TEST_ENGINE_CONFORMANCE_H

#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *conf_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b)
        b[n] = '\0';
    *len = (size_t)n;
    return b;
}

/* Returns the number of cases, *passed the matches; -1 when the files are absent. */
static int conf_run(const char *base, int *passed, int verbose)
{
    char path[2048];
    size_t il, ol;
    snprintf(path, sizeof path, "%s.inp", base);
    char *inp = conf_read(path, &il);
    snprintf(path, sizeof path, "%s.out", base);
    char *outp = conf_read(path, &ol);
    mlops__gguf *g = NULL;
    mlops__vocab *v = NULL;
    if (!inp || !outp || mlops__gguf_open(base, &g) != MLOPS_OK ||
        mlops__vocab_load(g, &v) != MLOPS_OK) {
        if (inp && outp)
            fprintf(stderr, "%s: %s\n", base, mlops__error_text());
        free(inp);
        free(outp);
        mlops__gguf_close(g);
        return -1;
    }
    const char *sep = "\n__ggml_vocab_test__\n";
    int cases = 0;
    *passed = 0;
    char *p = inp, *o = outp;
    for (;;) {
        char *e = strstr(p, sep);
        if (!e)
            break;
        char *oe = strchr(o, '\n');
        if (!oe)
            break;
        *oe = '\0';
        int32_t *ids = NULL;
        size_t n = 0, cap = 0;
        mlops__tokenize(v, p, (size_t)(e - p), false, false, &ids, &n, &cap);
        char got[8192];
        size_t k = 0;
        got[0] = '\0';
        for (size_t i = 0; i < n && k < sizeof got - 16; i++)
            k += (size_t)snprintf(got + k, sizeof got - k, " %d", ids[i]);
        cases++;
        if (strcmp(got, o) == 0)
            (*passed)++;
        else if (verbose)
            fprintf(stderr, "%s: case %d '%.*s'\n  want%s\n  got %s\n", base, cases, (int)(e - p), p, o, got);
        free(ids);
        p = e + strlen(sep);
        o = oe + 1;
    }
    mlops__vocab_free(v);
    mlops__gguf_close(g);
    free(inp);
    free(outp);
    return cases;
}

#endif
