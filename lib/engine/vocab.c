/*
 * The tokenizer's vocabulary, read from GGUF metadata (ggml docs/gguf.md, "Tokenizer"):
 * tokenizer.ggml.{model,tokens,scores,token_type,merges,pre,*_token_id,add_*}. Special
 * tokens are split out of the text first (user-defined ones always, control ones when
 * asked), then each stretch of plain text goes to the model's algorithm.
 */
#include "vocab.h"
#include "quant.h"

#include <stdlib.h>
#include <string.h>

int mlops__ids_push(int32_t **ids, size_t *n, size_t *cap, int32_t id)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        int32_t *p = realloc(*ids, c * sizeof *p);
        if (!p)
            return mlops__error_oom("token ids");
        *ids = p;
        *cap = c;
    }
    (*ids)[(*n)++] = id;
    return MLOPS_OK;
}

static uint64_t hash_text(const char *s, size_t n)
{
    return mlops__hash64(s, n, 0x7f4a7c15u);
}

int32_t mlops__vocab_find(const mlops__vocab *v, const char *text, size_t len)
{
    for (uint64_t h = hash_text(text, len) & v->ht_mask;; h = (h + 1) & v->ht_mask) {
        int32_t id = v->ht[h];
        if (id < 0)
            return -1;
        if (v->len[id] == len && memcmp(v->text[id], text, len) == 0)
            return id;
    }
}

static int build_hash(mlops__vocab *v)
{
    uint64_t size = 16;
    while (size < (uint64_t)v->n * 2)
        size *= 2;
    v->ht = malloc(size * sizeof *v->ht);
    if (!v->ht)
        return mlops__error_oom("vocabulary index");
    memset(v->ht, 0xff, size * sizeof *v->ht);
    v->ht_mask = size - 1;
    for (int32_t id = 0; id < v->n; id++) {
        uint64_t h = hash_text(v->text[id], v->len[id]) & v->ht_mask;
        bool dup = false;
        for (; v->ht[h] >= 0; h = (h + 1) & v->ht_mask)
            if (v->len[v->ht[h]] == v->len[id] && memcmp(v->text[v->ht[h]], v->text[id], v->len[id]) == 0)
                dup = true;
        if (!dup) /* the first of duplicate texts wins */
            v->ht[h] = id;
    }
    return MLOPS_OK;
}

static int build_merges(mlops__vocab *v, const mlops__gguf_kv *kv)
{
    uint64_t size = 16;
    while (size < kv->n * 2)
        size *= 2;
    v->merges = calloc(size, sizeof *v->merges);
    if (!v->merges)
        return mlops__error_oom("merges index");
    v->merges_mask = size - 1;
    char *tmp = NULL;
    size_t tmp_cap = 0;
    for (uint64_t r = 0; r < kv->n; r++) {
        const mlops__gstr *s = &kv->strs[r];
        const char *sp = memchr(s->p + 1 < s->p + s->n ? s->p + 1 : s->p, ' ', s->n > 1 ? s->n - 1 : 0);
        if (!sp)
            continue; /* not "left right": cannot apply */
        size_t ln = (size_t)(sp - s->p), rn = (size_t)s->n - ln - 1;
        int32_t l = mlops__vocab_find(v, s->p, ln), rr = mlops__vocab_find(v, sp + 1, rn);
        if (l < 0 || rr < 0)
            continue;
        if (tmp_cap < ln + rn) {
            free(tmp);
            tmp_cap = ln + rn + 64;
            if (!(tmp = malloc(tmp_cap)))
                return mlops__error_oom("merges");
        }
        memcpy(tmp, s->p, ln);
        memcpy(tmp + ln, sp + 1, rn);
        uint64_t key = ((uint64_t)(uint32_t)l << 32 | (uint32_t)rr) + 1;
        uint64_t h = mlops__hash64(&key, 8, 1) & v->merges_mask;
        while (v->merges[h].key && v->merges[h].key != key)
            h = (h + 1) & v->merges_mask;
        if (v->merges[h].key)
            continue; /* the lower rank stays */
        v->merges[h].key = key;
        v->merges[h].rank = (int32_t)r;
        v->merges[h].result = mlops__vocab_find(v, tmp, ln + rn);
    }
    free(tmp);
    return MLOPS_OK;
}

static int cmp_special(const void *a, const void *b, void *vv)
{
    const mlops__vocab *v = vv;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (v->len[x] != v->len[y])
        return v->len[x] > v->len[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int32_t get_id(const mlops__gguf *g, const char *key, int32_t def, int32_t n)
{
    int64_t v;
    if (!mlops__gguf_get_int(g, key, &v))
        return def;
    return v >= 0 && v < n ? (int32_t)v : -1;
}

static int load_tokens(mlops__vocab *v, const mlops__gguf *g)
{
    const mlops__gguf_kv *tk = mlops__gguf_find(g, "tokenizer.ggml.tokens");
    if (!tk || tk->type != MLOPS__GGUF_ARRAY || tk->arr_type != MLOPS__GGUF_STRING || tk->n == 0 ||
        tk->n > (1u << 24))
        return mlops__error(MLOPS_EFORMAT, "gguf: tokenizer.ggml.tokens: missing or not a non-empty string array");
    v->n = (int32_t)tk->n;
    v->text = calloc((size_t)v->n, sizeof *v->text);
    v->len = calloc((size_t)v->n, sizeof *v->len);
    v->score = calloc((size_t)v->n, sizeof *v->score);
    v->ttype = calloc((size_t)v->n, 1);
    if (!v->text || !v->len || !v->score || !v->ttype)
        return mlops__error_oom("vocabulary");
    const mlops__gguf_kv *sc = mlops__gguf_find(g, "tokenizer.ggml.scores");
    const mlops__gguf_kv *tt = mlops__gguf_find(g, "tokenizer.ggml.token_type");
    if (sc && (sc->type != MLOPS__GGUF_ARRAY || sc->n != tk->n || sc->arr_type == MLOPS__GGUF_STRING))
        return mlops__error(MLOPS_EFORMAT, "gguf: tokenizer.ggml.scores: expected %u numbers", (unsigned)v->n);
    if (tt && (tt->type != MLOPS__GGUF_ARRAY || tt->n != tk->n || tt->arr_type == MLOPS__GGUF_STRING))
        return mlops__error(MLOPS_EFORMAT, "gguf: tokenizer.ggml.token_type: expected %u numbers", (unsigned)v->n);
    for (int32_t i = 0; i < v->n; i++) {
        if (tk->strs[i].n > 65536)
            return mlops__error(MLOPS_EFORMAT, "gguf: tokenizer.ggml.tokens[%d]: longer than 64 KiB", i);
        v->len[i] = (uint32_t)tk->strs[i].n;
        if (!(v->text[i] = mlops__strndup(tk->strs[i].p, v->len[i])))
            return mlops__error_oom("vocabulary");
        if (v->len[i] > v->max_len)
            v->max_len = v->len[i];
        v->score[i] = sc ? (float)mlops__gguf_arr_float(sc, (uint64_t)i) : 0.0f;
        int64_t t = tt ? mlops__gguf_arr_int(tt, (uint64_t)i) : MLOPS__TOK_NORMAL;
        v->ttype[i] = (uint8_t)(t >= 1 && t <= 6 ? t : MLOPS__TOK_NORMAL);
    }
    return MLOPS_OK;
}

static void find_specials(mlops__vocab *v)
{
    size_t n = 0;
    for (int32_t i = 0; i < v->n; i++) {
        int t = v->ttype[i];
        if ((t == MLOPS__TOK_CONTROL || t == MLOPS__TOK_USER || t == MLOPS__TOK_UNKNOWN) && v->len[i])
            v->special[n++] = i;
    }
    v->n_special = n;
    qsort_r(v->special, n, sizeof *v->special, cmp_special, v);
    static const char *const eog_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                                            "<|endoftext|>", "<|end_of_text|>", "</s>"};
    v->n_eog = 0;
    if (v->eos >= 0)
        v->eog[v->n_eog++] = v->eos;
    if (v->eot >= 0 && v->eot != v->eos)
        v->eog[v->n_eog++] = v->eot;
    for (size_t k = 0; k < MLOPS__ARRAY_LEN(eog_texts); k++) {
        int32_t id = mlops__vocab_find(v, eog_texts[k], strlen(eog_texts[k]));
        if (id >= 0 && v->ttype[id] == MLOPS__TOK_CONTROL && !mlops__vocab_is_eog(v, id))
            v->eog[v->n_eog++] = id;
    }
}

static int load(mlops__vocab *v, const mlops__gguf *g)
{
    char *model = mlops__gguf_get_str(g, "tokenizer.ggml.model");
    if (!model)
        return mlops__error(MLOPS_EFORMAT, "gguf: tokenizer.ggml.model: missing");
    if (strcmp(model, "llama") == 0)
        v->type = MLOPS__VOCAB_SPM;
    else if (strcmp(model, "gpt2") == 0)
        v->type = MLOPS__VOCAB_BPE;
    else if (strcmp(model, "bert") == 0)
        v->type = MLOPS__VOCAB_WPM;
    int rc = v->type ? MLOPS_OK
                     : mlops__error(MLOPS_EUNSUPPORTED, "gguf: tokenizer.ggml.model: '%s' is not supported (llama, gpt2, bert)", model);
    free(model);
    if (rc != MLOPS_OK || (rc = load_tokens(v, g)) != MLOPS_OK || (rc = build_hash(v)) != MLOPS_OK)
        return rc;
    v->pre = mlops__gguf_get_str(g, "tokenizer.ggml.pre");
    v->chat_template = mlops__gguf_get_str(g, "tokenizer.chat_template");
    if (v->type == MLOPS__VOCAB_BPE) {
        const mlops__gguf_kv *mk = mlops__gguf_find(g, "tokenizer.ggml.merges");
        if (!mk || mk->type != MLOPS__GGUF_ARRAY || mk->arr_type != MLOPS__GGUF_STRING)
            return mlops__error(MLOPS_EFORMAT, "gguf: tokenizer.ggml.merges: missing or not a string array");
        if ((rc = build_merges(v, mk)) != MLOPS_OK)
            return rc;
        v->pre_type = mlops__pre_type_from_name(v->pre);
        if (v->pre_type < 0)
            return mlops__error(MLOPS_EUNSUPPORTED, "gguf: tokenizer.ggml.pre: '%s' is not a supported pre-tokenizer", v->pre);
        v->ignore_merges = v->pre_type == MLOPS__PRE_LLAMA3;
    }
    int32_t n = v->n;
    bool spm = v->type == MLOPS__VOCAB_SPM, wpm = v->type == MLOPS__VOCAB_WPM;
    v->bos = get_id(g, "tokenizer.ggml.bos_token_id", spm ? 1 : wpm ? 101 : 11, n);
    v->eos = get_id(g, "tokenizer.ggml.eos_token_id", spm ? 2 : wpm ? 102 : 11, n);
    v->unk = get_id(g, "tokenizer.ggml.unknown_token_id", spm ? 0 : wpm ? 100 : -1, n);
    v->sep = get_id(g, "tokenizer.ggml.seperator_token_id", wpm ? 102 : -1, n);
    v->pad = get_id(g, "tokenizer.ggml.padding_token_id", -1, n);
    v->eot = get_id(g, "tokenizer.ggml.eot_token_id", -1, n);
    if (wpm) {
        int32_t cls = get_id(g, "tokenizer.ggml.cls_token_id", -1, n);
        if (cls >= 0)
            v->bos = cls;
        if (v->sep >= 0)
            v->eos = v->sep;
    }
    if (v->bos >= n) v->bos = -1;
    if (v->eos >= n) v->eos = -1;
    if (v->unk >= n) v->unk = -1;
    v->add_bos = spm || wpm;
    v->add_eos = wpm;
    v->add_space_prefix = spm;
    mlops__gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &v->add_bos);
    mlops__gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &v->add_eos);
    mlops__gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix);
    for (int b = 0; b < 256; b++) {
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        v->byte_tok[b] = mlops__vocab_find(v, hex, 6);
    }
    v->nl = spm ? v->byte_tok['\n'] : -1;
    v->special = malloc(((size_t)n + 1) * sizeof *v->special);
    v->eog = malloc(16 * sizeof *v->eog);
    if (!v->special || !v->eog)
        return mlops__error_oom("special tokens");
    find_specials(v);
    return MLOPS_OK;
}

int mlops__vocab_load(const mlops__gguf *g, mlops__vocab **out)
{
    *out = NULL;
    mlops__vocab *v = calloc(1, sizeof *v);
    if (!v)
        return mlops__error_oom("vocabulary");
    int rc = load(v, g);
    if (rc != MLOPS_OK) {
        mlops__vocab_free(v);
        return rc;
    }
    *out = v;
    return MLOPS_OK;
}

void mlops__vocab_free(mlops__vocab *v)
{
    if (!v)
        return;
    if (v->text)
        for (int32_t i = 0; i < v->n; i++)
            free(v->text[i]);
    free(v->text);
    free(v->len);
    free(v->score);
    free(v->ttype);
    free(v->ht);
    free(v->merges);
    free(v->pre);
    free(v->chat_template);
    free(v->special);
    free(v->eog);
    free(v);
}

int mlops__vocab_type(const mlops__vocab *v) { return v->type; }
int32_t mlops__vocab_size(const mlops__vocab *v) { return v->n; }
int32_t mlops__vocab_bos(const mlops__vocab *v) { return v->bos; }
int32_t mlops__vocab_eos(const mlops__vocab *v) { return v->eos; }
const char *mlops__vocab_pre(const mlops__vocab *v) { return v->pre; }
const char *mlops__vocab_chat_template(const mlops__vocab *v) { return v->chat_template; }

bool mlops__vocab_is_eog(const mlops__vocab *v, int32_t id)
{
    for (size_t i = 0; i < v->n_eog; i++)
        if (v->eog[i] == id)
            return true;
    return false;
}

/* A stretch of the input: plain text [off, off+len) or a special token. */
typedef struct frag {
    size_t off, len;
    int32_t id; /* -1 for text */
} frag;

static int split_specials(const mlops__vocab *v, const char *text, size_t len, bool parse_special,
                          frag **out, size_t *n_out)
{
    size_t n = 1, cap = 16;
    frag *f = malloc(cap * sizeof *f);
    if (!f)
        return mlops__error_oom("tokenizer");
    f[0] = (frag){0, len, -1};
    for (size_t s = 0; s < v->n_special; s++) {
        int32_t id = v->special[s];
        if (!parse_special && v->ttype[id] != MLOPS__TOK_USER)
            continue;
        const char *tt = v->text[id];
        size_t tl = v->len[id];
        for (size_t i = 0; i < n; i++) {
            if (f[i].id >= 0 || f[i].len < tl)
                continue;
            const char *hit = memmem(text + f[i].off, f[i].len, tt, tl);
            if (!hit)
                continue;
            if (n + 2 > cap) {
                cap *= 2;
                frag *p = realloc(f, cap * sizeof *f);
                if (!p) {
                    free(f);
                    return mlops__error_oom("tokenizer");
                }
                f = p;
            }
            size_t pos = (size_t)(hit - text);
            frag before = {f[i].off, pos - f[i].off, -1};
            frag after = {pos + tl, f[i].off + f[i].len - pos - tl, -1};
            memmove(&f[i + 3], &f[i + 1], (n - i - 1) * sizeof *f);
            f[i] = before;
            f[i + 1] = (frag){pos, tl, id};
            f[i + 2] = after;
            n += 2;
            i += 1; /* continue with `after` */
        }
    }
    *out = f;
    *n_out = n;
    return MLOPS_OK;
}

int mlops__tokenize(const mlops__vocab *v, const char *text, size_t len, bool add_special,
                    bool parse_special, int32_t **ids, size_t *n, size_t *cap)
{
    int rc = MLOPS_OK;
    if (add_special && v->add_bos && v->bos >= 0 && (rc = mlops__ids_push(ids, n, cap, v->bos)))
        return rc;
    frag *f = NULL;
    size_t nf = 0;
    if (len > 0 && (rc = split_specials(v, text, len, parse_special, &f, &nf)) != MLOPS_OK)
        return rc;
    bool prev_special = true;
    for (size_t i = 0; i < nf && rc == MLOPS_OK; i++) {
        if (f[i].id >= 0) {
            rc = mlops__ids_push(ids, n, cap, f[i].id);
            prev_special = true;
            continue;
        }
        if (f[i].len == 0)
            continue;
        const char *s = text + f[i].off;
        switch (v->type) {
        case MLOPS__VOCAB_SPM:
            rc = mlops__tokenize_spm(v, s, f[i].len, v->add_space_prefix && prev_special, ids, n, cap);
            break;
        case MLOPS__VOCAB_BPE:
            rc = mlops__tokenize_bpe(v, s, f[i].len, ids, n, cap);
            break;
        default:
            rc = mlops__tokenize_wpm(v, s, f[i].len, ids, n, cap);
            break;
        }
        prev_special = false;
    }
    free(f);
    if (rc == MLOPS_OK && add_special && v->add_eos && v->eos >= 0)
        rc = mlops__ids_push(ids, n, cap, v->eos);
    return rc;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                          : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void mlops__token_piece(const mlops__vocab *v, int32_t id, bool special, mlops__buf *out)
{
    if (id < 0 || id >= v->n)
        return;
    const char *t = v->text[id];
    size_t n = v->len[id];
    int tt = v->ttype[id];
    if (tt == MLOPS__TOK_CONTROL || tt == MLOPS__TOK_UNKNOWN || tt == MLOPS__TOK_UNUSED) {
        if (special)
            mlops__buf_append(out, t, n);
        return;
    }
    if (tt == MLOPS__TOK_USER) {
        mlops__buf_append(out, t, n);
        return;
    }
    if (v->type == MLOPS__VOCAB_SPM) {
        if (tt == MLOPS__TOK_BYTE && n == 6 && hexval(t[3]) >= 0 && hexval(t[4]) >= 0) {
            mlops__buf_putc(out, (char)(hexval(t[3]) * 16 + hexval(t[4])));
            return;
        }
        for (size_t i = 0; i < n; i++) {
            if (i + 2 < n && (unsigned char)t[i] == 0xE2 && (unsigned char)t[i + 1] == 0x96 &&
                (unsigned char)t[i + 2] == 0x81) {
                mlops__buf_putc(out, ' ');
                i += 2;
            } else {
                mlops__buf_putc(out, t[i]);
            }
        }
        return;
    }
    if (v->type == MLOPS__VOCAB_WPM) {
        if (n >= 3 && memcmp(t, "\xe2\x96\x81", 3) == 0) {
            mlops__buf_putc(out, ' ');
            mlops__buf_append(out, t + 3, n - 3);
        } else {
            mlops__buf_append(out, t, n);
        }
        return;
    }
    for (size_t i = 0; i < n;) { /* byte-level BPE: code points back to bytes */
        size_t l;
        uint32_t cp = mlops__utf8_decode(t + i, n - i, &l);
        int b = mlops__bpe_cp_to_byte(cp);
        if (b >= 0)
            mlops__buf_putc(out, (char)b);
        else
            mlops__buf_append(out, t + i, l);
        i += l;
    }
}

int mlops__detokenize(const mlops__vocab *v, const int32_t *ids, size_t n, bool special,
                      char **out)
{
    mlops__buf b;
    mlops__buf_init(&b);
    mlops__buf_putc(&b, '\0');
    b.len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t before = b.len;
        mlops__token_piece(v, ids[i], special, &b);
        /* SentencePiece and WordPiece mark word starts with a space: drop the first one */
        if (before == 0 && b.len > 0 && b.data[0] == ' ' &&
            ((v->type == MLOPS__VOCAB_SPM && v->add_space_prefix) || v->type == MLOPS__VOCAB_WPM)) {
            memmove(b.data, b.data + 1, b.len);
            b.len--;
        }
    }
    if (b.failed) {
        mlops__buf_free(&b);
        return mlops__error_oom("detokenized text");
    }
    *out = mlops__buf_take(&b);
    return *out ? MLOPS_OK : mlops__error_oom("detokenized text");
}
