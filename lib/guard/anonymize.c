/*
 * The anonymizer (Presidio's operators): for each finding whose action is "redact",
 * replace its span of the original text with
 *   replace       <TYPE>
 *   mask          '*' for every character but the last N
 *   redact        nothing
 *   hash          <TYPE:hhhhhhhhhhhh>, HMAC-SHA256 of the value under the tenant key,
 *                 so the same value maps to the same token
 *   pseudonymize  <TYPE_hhhhhhhh>, recorded in the vault so mlops_guard_deanonymize can
 *                 put the value back
 * Overlapping findings: the earlier start wins, then the higher score, then the longer.
 */
#include "guard.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

void mlops__guard_sha256(const void *data, size_t n, unsigned char out[32])
{
    SHA256(data, n, out);
}

void mlops__guard_keyed_hex(const char *key, const char *value, size_t n, char hex[13])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const char *k = key && *key ? key : "libmlops-guard";
    HMAC(EVP_sha256(), k, (int)strlen(k), (const unsigned char *)value, n, mac, &len);
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 6; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
    hex[12] = '\0';
}

static int cmp_findings(const void *a, const void *b)
{
    const mlops__gfinding *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->end != y->end)
        return x->end > y->end ? -1 : 1;
    return 0;
}

/* Scanner config of a finding, for its operator. */
static int op_for(const mlops__gpolicy *pol, const mlops__gfinding *f)
{
    const mlops__gscanner *sc = NULL;
    if (strcmp(f->scanner, "pii") == 0)
        sc = &pol->pii;
    else if (strcmp(f->scanner, "secrets") == 0)
        sc = &pol->secrets;
    else if (strcmp(f->scanner, "gazetteer") == 0)
        sc = &pol->gazetteer;
    else if (strcmp(f->scanner, "banned") == 0)
        sc = &pol->banned;
    else if (strcmp(f->scanner, "toxicity") == 0)
        sc = &pol->toxicity;
    return sc && sc->op >= 0 ? sc->op : pol->op;
}


int mlops__guard_anonymize(mlops__guard *g, const mlops__gpolicy *pol, const char *text,
                           size_t len, mlops__gfindings *f, char **out, size_t *out_len)
{
    *out = NULL;
    /* sort a copy of the indices of redact findings */
    size_t nr = 0;
    for (size_t i = 0; i < f->n; i++)
        nr += f->v[i].action == MLOPS__GA_REDACT && f->v[i].end > f->v[i].start;
    mlops__gfinding *r = malloc((nr ? nr : 1) * sizeof *r);
    if (!r)
        return mlops__error_oom("anonymizer");
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].action == MLOPS__GA_REDACT && f->v[i].end > f->v[i].start)
            r[k++] = f->v[i];
    qsort(r, nr, sizeof *r, cmp_findings);
    mlops__buf b;
    mlops__buf_init(&b);
    mlops__buf_reserve(&b, len + 16);
    size_t pos = 0;
    int rc = MLOPS_OK;
    for (size_t i = 0; i < nr && rc == MLOPS_OK; i++) {
        const mlops__gfinding *x = &r[i];
        if (x->start < pos || x->end > len)
            continue; /* overlaps one already replaced */
        mlops__buf_append(&b, text + pos, x->start - pos);
        const char *val = text + x->start;
        size_t vn = x->end - x->start;
        char hex[13];
        switch (op_for(pol, x)) {
        case MLOPS__OP_MASK: {
            size_t cps = 0;
            for (size_t j = 0; j < vn; j++)
                cps += ((unsigned char)val[j] & 0xC0) != 0x80;
            size_t keep = (size_t)pol->mask_keep < cps ? (size_t)pol->mask_keep : cps;
            size_t masked = cps - keep, seen = 0, j = 0;
            for (; j < vn && seen < masked; j++) {
                if (((unsigned char)val[j] & 0xC0) != 0x80) {
                    seen++;
                    /* keep separators readable: "****-****-****-1234" */
                    mlops__buf_putc(&b, (val[j] == '-' || val[j] == ' ' || val[j] == '@' ||
                                         val[j] == '.') ? val[j] : '*');
                }
            }
            while (j < vn && ((unsigned char)val[j] & 0xC0) == 0x80)
                j++;
            mlops__buf_append(&b, val + j, vn - j);
            break;
        }
        case MLOPS__OP_REDACT:
            break;
        case MLOPS__OP_HASH:
            mlops__guard_keyed_hex(pol->hash_key, val, vn, hex);
            mlops__buf_printf(&b, "<%s:%s>", x->type, hex);
            break;
        case MLOPS__OP_PSEUDO: {
            mlops__guard_keyed_hex(pol->hash_key, val, vn, hex);
            hex[8] = '\0';
            char token[80];
            snprintf(token, sizeof token, "<%s_%s>", x->type, hex);
            if (g)
                rc = mlops__guard_vault_put(g, pol->vault, token, val, vn, x->type);
            mlops__buf_puts(&b, token);
            break;
        }
        default:
            mlops__buf_printf(&b, "<%s>", x->type);
            break;
        }
        pos = x->end;
    }
    free(r);
    if (rc != MLOPS_OK) {
        mlops__buf_free(&b);
        return rc;
    }
    if (pos < len)
        mlops__buf_append(&b, text + pos, len - pos);
    if (b.failed) {
        mlops__buf_free(&b);
        return mlops__error_oom("sanitised text");
    }
    *out_len = b.len;
    *out = mlops__buf_take(&b);
    if (!*out)
        *out = mlops__strdup("");
    return *out ? MLOPS_OK : mlops__error_oom("sanitised text");
}
