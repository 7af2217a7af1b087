/*
 * Generation: prefill the prompt, then sample and decode one token at a time until an
 * end-of-generation token, a stop string, max_tokens, the context end, or the callback
 * asks to stop. Text is streamed only once it cannot be the start of a stop string and
 * holds no partial UTF-8 sequence, so a caller never sees a stop string or half a
 * character.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

/* Bytes at the end of s[0..n) that form an incomplete UTF-8 sequence. */
static size_t utf8_tail(const char *s, size_t n)
{
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = (unsigned char)s[n - back];
        if ((c & 0xC0) == 0x80)
            continue;
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > back ? back : 0;
    }
    return 0;
}

/* Longest suffix of s[0..n) that is a proper prefix of a stop string. */
static size_t stop_prefix_tail(const char *s, size_t n, const char *const *stop, size_t n_stop)
{
    size_t best = 0;
    for (size_t i = 0; i < n_stop; i++) {
        size_t sl = strlen(stop[i]);
        for (size_t k = sl > 1 ? sl - 1 : 0; k > best; k--)
            if (k <= n && memcmp(s + n - k, stop[i], k) == 0) {
                best = k;
                break;
            }
    }
    return best;
}

/* Copies s[0..n) into out with every invalid UTF-8 sequence replaced by U+FFFD. */
static void utf8_clean(const char *s, size_t n, mlops__buf *out)
{
    for (size_t i = 0; i < n;) {
        size_t l;
        uint32_t cp = mlops__utf8_decode(s + i, n - i, &l);
        if (cp == 0xFFFD && !(l == 3 && memcmp(s + i, "\xef\xbf\xbd", 3) == 0))
            mlops__buf_append(out, "\xef\xbf\xbd", 3);
        else
            mlops__buf_append(out, s + i, l);
        i += l;
    }
}

/* Streams text[*sent..upto) through fn; `piece` is a scratch buffer reused per token. */
static int emit(mlops__buf *text, size_t *sent, size_t upto, int32_t id, mlops__buf *piece,
                mlops__gen_fn fn, void *user)
{
    if (!fn || upto <= *sent)
        return 0;
    piece->len = 0;
    utf8_clean(text->data + *sent, upto - *sent, piece);
    mlops__buf_putc(piece, '\0');
    int r = piece->failed ? 0 : fn(piece->data, id, user);
    *sent = upto;
    return r;
}

int mlops__generate(mlops__ctx *c, mlops__sampler *s, const int32_t *prompt, size_t n_prompt,
                    const mlops__gen_opts *o, mlops__gen_fn fn, void *user,
                    mlops__gen_result *res)
{
    memset(res, 0, sizeof *res);
    mlops__model *m = mlops__ctx_model(c);
    const mlops__vocab *v = mlops__model_vocab(m);
    int rc;
    if (n_prompt == 0)
        return mlops__error(MLOPS_EINVAL, "generate: the prompt has no tokens");
    uint64_t t0 = mlops__now_ns();
    if ((rc = mlops__ctx_eval(c, prompt, n_prompt, false)) != MLOPS_OK)
        return rc;
    for (size_t i = 0; i < n_prompt; i++)
        mlops__sampler_accept(s, prompt[i]);
    uint64_t t1 = mlops__now_ns();
    res->prefill_ms = (double)(t1 - t0) / 1e6;
    res->n_prompt = (int)n_prompt;
    mlops__buf text;
    mlops__buf_init(&text);
    mlops__buf_putc(&text, '\0');
    text.len = 0;
    size_t sent = 0;
    int max = o->max_tokens > 0 ? o->max_tokens : 256;
    int room = mlops__model_n_ctx(m) - mlops__ctx_pos(c) + 1; /* the last sample needs no slot */
    if (max > room)
        max = room;
    /* everything a decode step needs is allocated here, none of it per token */
    mlops__buf piece;
    mlops__buf_init(&piece);
    mlops__buf_reserve(&piece, 256);
    mlops__buf_reserve(&text, 4096);
    res->ids = malloc((size_t)max * sizeof *res->ids);
    if (!res->ids) {
        mlops__buf_free(&text);
        return mlops__error_oom("generated tokens");
    }
    res->finish = "length";
    for (int i = 0; i < max; i++) {
        int32_t id = mlops__sampler_sample(s, mlops__ctx_logits(c, NULL));
        mlops__sampler_accept(s, id);
        res->ids[res->n_gen++] = id;
        if (!o->ignore_eos && mlops__vocab_is_eog(v, id)) {
            res->finish = "stop";
            break;
        }
        size_t before = text.len;
        mlops__token_piece(v, id, false, &text);
        if (text.failed) {
            rc = mlops__error_oom("generated text");
            break;
        }
        /* a stop string ends the text where it starts */
        bool stopped = false;
        size_t from = before;
        for (size_t k = 0; k < o->n_stop && !stopped; k++) {
            size_t sl = strlen(o->stop[k]);
            if (!sl)
                continue;
            size_t st = from >= sl ? from - sl + 1 : 0;
            const char *hit = text.len >= st ? memmem(text.data + st, text.len - st, o->stop[k], sl) : NULL;
            if (hit) {
                text.len = (size_t)(hit - text.data);
                text.data[text.len] = '\0';
                stopped = true;
            }
        }
        size_t hold = stopped ? 0 : stop_prefix_tail(text.data, text.len, o->stop, o->n_stop);
        size_t upto = text.len - hold;
        upto -= stopped ? 0 : utf8_tail(text.data, upto);
        if (emit(&text, &sent, upto, id, &piece, fn, user) != 0) {
            res->finish = "cancelled";
            rc = MLOPS_ECANCELED;
            break;
        }
        if (stopped) {
            res->finish = "stop";
            break;
        }
        if (i + 1 == max)
            break;
        if (mlops__ctx_pos(c) >= mlops__model_n_ctx(m)) {
            res->finish = "length";
            break;
        }
        if ((rc = mlops__ctx_eval(c, &id, 1, false)) != MLOPS_OK)
            break;
    }
    if (rc == MLOPS_OK && sent < text.len && emit(&text, &sent, text.len, -1, &piece, fn, user) != 0) {
        res->finish = "cancelled";
        rc = MLOPS_ECANCELED;
    }
    mlops__buf_free(&piece);
    res->decode_ms = (double)(mlops__now_ns() - t1) / 1e6;
    if (rc == MLOPS_ECANCELED)
        mlops__error(MLOPS_ECANCELED, "generate: cancelled by the callback after %d tokens", res->n_gen);
    mlops__buf clean;
    mlops__buf_init(&clean);
    mlops__buf_putc(&clean, '\0');
    clean.len = 0;
    utf8_clean(text.data, text.len, &clean);
    mlops__buf_free(&text);
    res->text = clean.failed ? NULL : mlops__buf_take(&clean);
    if (clean.failed)
        mlops__buf_free(&clean);
    if (!res->text && rc == MLOPS_OK)
        rc = mlops__error_oom("generated text");
    return rc;
}
