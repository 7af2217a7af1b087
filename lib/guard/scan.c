/*
 * The scan pipeline: runs a policy's scanners for one stage over a text, window by
 * window (bounded memory for any input size), decodes embedded payloads and scans them
 * again (bounded depth), applies thresholds and actions, anonymizes, and builds the
 * report.
 */
#include "guard.h"

#include <stdlib.h>
#include <string.h>

#define WINDOW (1u << 20)
#define MODEL_BYTES 4096
#define MAX_PAYLOADS 8

typedef struct run {
    const mlops__gpolicy *pol;
    const mlops__glinear *inj_model, *tox_model;
    int stage;
    mlops__gfindings *f;
    double s_inj, s_tox;
    bool ran_inj, ran_tox;
    bool invalid_reported;
    size_t invalid_total;
} run;

static bool active(const run *r, const mlops__gscanner *s)
{
    return s->on && (s->stages & (unsigned)r->stage);
}

static const char *dec_name(int kind)
{
    switch (kind) {
    case MLOPS__GDEC_BASE64: return "base64";
    case MLOPS__GDEC_HEX: return "hex";
    case MLOPS__GDEC_URL: return "url-encoding";
    default: return "rot13";
    }
}

/* Case-insensitive whole-word-ish search of a lower-case needle in folded text. */
static void find_banned(mlops__gscan *sc, const char *f, size_t n, const char *needle,
                        const char *type, bool whole_word)
{
    size_t k = strlen(needle);
    if (!k || k > n)
        return;
    for (const char *p = f; (size_t)(p - f) + k <= n;) {
        const char *q = memmem(p, n - (size_t)(p - f), needle, k);
        if (!q)
            return;
        size_t s = (size_t)(q - f);
        bool ok = true;
        if (whole_word) {
            unsigned char a = s ? (unsigned char)f[s - 1] : ' ';
            unsigned char b = s + k < n ? (unsigned char)f[s + k] : ' ';
            ok = !((a >= 'a' && a <= 'z') || (a >= '0' && a <= '9')) &&
                 !((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9'));
        }
        if (ok)
            mlops__gscan_add(sc, "banned", type, s, s + k, 1.0, needle);
        p = q + k;
    }
}

/* Built-in keywords for a few common topics; other topic names match themselves. */
static const struct { const char *topic; const char *words[8]; } topic_words[] = {
    {"weapons", {"gun", "rifle", "firearm", "ammunition", "explosive", "bomb", "grenade", NULL}},
    {"drugs", {"cocaine", "heroin", "meth", "methamphetamine", "fentanyl", "lsd", NULL}},
    {"politics", {"election", "democrat", "republican", "parliament", "senator", "political", NULL}},
    {"gambling", {"casino", "betting", "poker", "roulette", "sportsbook", NULL}},
    {"violence", {"murder", "assault", "stab", "torture", NULL}},
    {"religion", {"church", "mosque", "synagogue", "religious", "bible", "quran", NULL}},
};

static void scan_banned(mlops__gscan *sc, const char *f)
{
    const mlops__gpolicy *p = sc->pol;
    size_t n = sc->norm->len;
    for (size_t i = 0; i < p->nsubstrings; i++)
        find_banned(sc, f, n, p->substrings[i], "BANNED_SUBSTRING", false);
    for (size_t i = 0; i < p->nregexes; i++) {
        size_t from = 0, ms, me;
        int guard = 0;
        while (from <= n && guard++ < 1000 &&
               mlops__regex_search(p->regexes[i], sc->norm->text, n, from, &ms, &me)) {
            mlops__gscan_add(sc, "banned", "BANNED_REGEX", ms, me, 1.0, NULL);
            from = me > ms ? me : ms + 1;
        }
    }
    for (size_t i = 0; i < p->ntopics; i++) {
        bool builtin = false;
        for (size_t k = 0; k < MLOPS__ARRAY_LEN(topic_words); k++)
            if (strcmp(topic_words[k].topic, p->topics[i]) == 0) {
                builtin = true;
                for (const char *const *w = topic_words[k].words; *w; w++)
                    find_banned(sc, f, n, *w, "BANNED_TOPIC", true);
            }
        if (!builtin)
            find_banned(sc, f, n, p->topics[i], "BANNED_TOPIC", true);
    }
}

static bool strong_injection_since(const mlops__gfindings *f, size_t from, double thr)
{
    for (size_t i = from; i < f->n; i++)
        if (strcmp(f->v[i].scanner, "injection") == 0 && f->v[i].score >= thr)
            return true;
    return false;
}

/* Scans one piece: a window of the original text, or a decoded payload (override). */
static int scan_piece(run *r, const char *text, size_t len, size_t base, bool override,
                      size_t os, size_t oe, int depth, const char *note, bool words_only)
{
    const mlops__gpolicy *pol = r->pol;
    mlops__gnorm norm;
    int rc = mlops__gnorm_run(text, len, &norm);
    if (rc != MLOPS_OK)
        return rc;
    mlops__gscan sc = {.pol = pol, .norm = &norm, .base = base, .overridden = override,
                       .ov_start = os, .ov_end = oe, .out = r->f, .note = note};
    if (depth == 0) {
        r->invalid_total += norm.invalid_utf8;
        if (norm.invalid_utf8 && !r->invalid_reported && active(r, &pol->invalid_utf8)) {
            char d[64];
            snprintf(d, sizeof d, "first invalid UTF-8 byte at %zu", base + norm.first_invalid);
            mlops__gfindings_add(r->f, "invalid_utf8", "INVALID_UTF8", base + norm.first_invalid,
                                 base + norm.first_invalid + 1, 1.0, d);
            r->invalid_reported = true;
        }
    }
    /* rot13 leaves digits and symbols alone: PII and secrets were seen in the original */
    if (!words_only && (active(r, &pol->pii) || (active(r, &pol->gazetteer) && pol->ngaz)))
        mlops__scan_pii(&sc);
    if (!words_only && active(r, &pol->secrets))
        mlops__scan_secrets(&sc);
    bool inj = active(r, &pol->injection), tox = active(r, &pol->toxicity),
         ban = active(r, &pol->banned);
    char *folded = NULL;
    if (inj || tox || ban) {
        folded = malloc(norm.len + 1);
        if (!folded) {
            mlops__gnorm_free(&norm);
            return mlops__error_oom("guard: folded text");
        }
        mlops__gnorm_fold(norm.text, norm.len, folded);
        folded[norm.len] = '\0';
    }
    if (inj) {
        size_t mark = r->f->n;
        bool cues = true;
        double heur = pol->use_heuristics ? mlops__scan_injection_heuristics(&sc, folded, &cues) : 0;
        double sim = 0, clf = 0;
        int idx = -1;
        size_t ml = norm.len < MODEL_BYTES ? norm.len : MODEL_BYTES;
        /* the classifier always runs (attacks need no trigger word); similarity only
         * where a trigger, anchor or obfuscation marker was seen. A longer window is
         * read at its head and its tail, where injected text usually sits ("summarise
         * this: ... now ignore the above"); the middle is left to the heuristics. */
        mlops__scan_injection_models(pol, r->inj_model, norm.text, ml, cues, &sim, &idx, &clf);
        if (norm.len > MODEL_BYTES) {
            size_t from = norm.len - MODEL_BYTES;
            while (from < norm.len && ((unsigned char)norm.text[from] & 0xC0) == 0x80)
                from++; /* start on a character */
            double sim2, clf2;
            int idx2;
            mlops__scan_injection_models(pol, r->inj_model, norm.text + from, norm.len - from,
                                         cues, &sim2, &idx2, &clf2);
            if (clf2 > clf)
                clf = clf2;
            if (sim2 > sim) {
                sim = sim2;
                idx = idx2;
            }
        }
        double simscore = sim >= pol->similarity_threshold ? sim : 0;
        double cl = pol->use_classifier ? clf : -1;
        double fin = mlops__injection_combine(heur, cl, simscore);
        for (size_t i = mark; i < r->f->n; i++) /* the heuristics' own findings */
            if (strcmp(r->f->v[i].scanner, "injection") == 0)
                r->f->v[i].score = mlops__injection_heuristic(r->f->v[i].score, cl);
        if (fin > r->s_inj)
            r->s_inj = fin;
        r->ran_inj = true;
        if (fin >= pol->injection.threshold && !strong_injection_since(r->f, mark, pol->injection.threshold)) {
            char d[160];
            snprintf(d, sizeof d, "heuristics %.2f, classifier %.2f, similarity %.2f%s%s", heur,
                     clf, sim, idx >= 0 && simscore > 0 ? " to: " : "",
                     idx >= 0 && simscore > 0 ? "known attack" : "");
            mlops__gscan_add(&sc, "injection", "PROMPT_INJECTION", 0, norm.len, fin, d);
        }
    }
    if (tox) {
        double lex = 0;
        mlops__scan_toxicity(&sc, folded, &lex);
        size_t ml = norm.len < MODEL_BYTES ? norm.len : MODEL_BYTES;
        double clf = mlops__toxicity_model(r->tox_model, folded, ml);
        double fin = lex > 0 ? (lex > clf ? lex : clf) : 0.8 * clf;
        if (fin > r->s_tox)
            r->s_tox = fin;
        r->ran_tox = true;
        if (fin >= pol->toxicity.threshold && lex < pol->toxicity.threshold) {
            char d[64];
            snprintf(d, sizeof d, "lexicon %.2f, classifier %.2f", lex, clf);
            mlops__gscan_add(&sc, "toxicity", "TOXICITY", 0, norm.len, fin, d);
        }
    }
    if (ban)
        scan_banned(&sc, folded);
    free(folded);
    if (depth < pol->decode_depth && (inj || tox || active(r, &pol->pii) || active(r, &pol->secrets))) {
        mlops__gpayload pay[MAX_PAYLOADS];
        size_t np = mlops__gdecode_find(norm.text, norm.len, pay, MAX_PAYLOADS);
        for (size_t i = 0; i < np && rc == MLOPS_OK; i++) {
            size_t ps, pe;
            if (override) {
                ps = os;
                pe = oe;
            } else {
                mlops__gnorm_span(&norm, pay[i].start, pay[i].end, &ps, &pe);
                ps += base;
                pe += base;
            }
            rc = scan_piece(r, pay[i].data, pay[i].len, 0, true, ps, pe, depth + 1,
                            dec_name(pay[i].kind), pay[i].kind == MLOPS__GDEC_ROT13);
        }
        mlops__gpayloads_free(pay, np);
    }
    mlops__gnorm_free(&norm);
    return rc;
}

/* ---------------------------------------------------------------- output checks */

static void check_canary(run *r, const char *text, size_t len)
{
    const mlops__gpolicy *p = r->pol;
    for (size_t i = 0; i < p->ncanaries; i++) {
        size_t k = strlen(p->canaries[i]);
        const char *q = memmem(text, len, p->canaries[i], k);
        if (q)
            mlops__gfindings_add(r->f, "canary", "CANARY_LEAK", (size_t)(q - text),
                                 (size_t)(q - text) + k, 1.0, "policy canary token");
    }
    const char *q = text;
    while ((q = memmem(q, len - (size_t)(q - text), "mlops-canary-", 13)) != NULL) {
        size_t s = (size_t)(q - text), e = s + 13;
        while (e < len && e - s < 29 && ((text[e] >= '0' && text[e] <= '9') || (text[e] >= 'a' && text[e] <= 'f')))
            e++;
        mlops__gfindings_add(r->f, "canary", "CANARY_LEAK", s, e, 1.0, "canary token in output");
        q = text + e;
    }
}

/* The JSON inside an answer: the whole text, or the body of a ``` fenced block. */
static void json_body(const char *text, size_t len, size_t *s, size_t *e)
{
    *s = 0;
    *e = len;
    const char *f = memmem(text, len, "```", 3);
    if (!f)
        return;
    const char *nl = memchr(f, '\n', len - (size_t)(f - text));
    if (!nl)
        return;
    size_t bs = (size_t)(nl + 1 - text);
    const char *close = memmem(text + bs, len - bs, "```", 3);
    *s = bs;
    *e = close ? (size_t)(close - text) : len;
}

static void check_json(run *r, const char *text, size_t len, json_t *report)
{
    size_t s, e;
    json_body(text, len, &s, &e);
    json_error_t jerr;
    json_t *inst = json_loadb(text + s, e - s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    json_t *info = json_object();
    if (!inst) {
        char d[200];
        snprintf(d, sizeof d, "not valid JSON: %s at line %d column %d", jerr.text, jerr.line,
                 jerr.column);
        size_t at = s + (jerr.position > 0 ? (size_t)jerr.position : 0);
        if (at > len)
            at = len;
        mlops__gfindings_add(r->f, "json", "JSON_INVALID", at, at < len ? at + 1 : len, 1.0, d);
        json_object_set_new(info, "valid", json_false());
        json_object_set_new(info, "error", json_string(d));
    } else if (r->pol->schema) {
        json_t *errors = json_array();
        int v = mlops__jsonschema_validate(r->pol->schema, inst, errors);
        if (v < 0) {
            json_array_clear(errors);
            json_array_append_new(errors, json_string(mlops__error_text()));
        }
        if (v != 1) {
            const char *first = json_string_value(json_array_get(errors, 0));
            mlops__gfindings_add(r->f, "json", v < 0 ? "JSON_SCHEMA_ERROR" : "JSON_SCHEMA_VIOLATION",
                                 s, e, 1.0, first ? first : "schema validation failed");
        }
        json_object_set_new(info, "valid", json_boolean(v == 1));
        json_object_set_new(info, "errors", errors);
        json_decref(inst);
    } else {
        json_object_set_new(info, "valid", json_true());
        json_decref(inst);
    }
    json_object_set_new(report, "json", info);
}

/* ---------------------------------------------------------------- the scan ---- */

/* A copy with each invalid UTF-8 byte replaced by U+FFFD (JSON text must be UTF-8). */
static char *utf8_clean(const char *s, size_t n, size_t *out_n)
{
    mlops__buf b;
    mlops__buf_init(&b);
    mlops__buf_reserve(&b, n + 16);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = mlops__utf8_seq((const unsigned char *)s + i, n - i, &cp);
        if (k == 0) {
            mlops__buf_append(&b, "\xEF\xBF\xBD", 3);
            i++;
        } else {
            mlops__buf_append(&b, s + i, k);
            i += k;
        }
    }
    if (b.failed) {
        mlops__buf_free(&b);
        return NULL;
    }
    *out_n = b.len;
    return mlops__buf_take(&b);
}

static const mlops__gscanner *scanner_cfg(const mlops__gpolicy *p, const char *name)
{
    if (!strcmp(name, "pii")) return &p->pii;
    if (!strcmp(name, "secrets")) return &p->secrets;
    if (!strcmp(name, "injection")) return &p->injection;
    if (!strcmp(name, "toxicity")) return &p->toxicity;
    if (!strcmp(name, "json")) return &p->json;
    if (!strcmp(name, "grounding")) return &p->grounding;
    if (!strcmp(name, "banned")) return &p->banned;
    if (!strcmp(name, "max_length")) return &p->max_length;
    if (!strcmp(name, "canary")) return &p->canary;
    if (!strcmp(name, "gazetteer")) return &p->gazetteer;
    return &p->invalid_utf8;
}

static int cmp_start(const void *a, const void *b)
{
    const mlops__gfinding *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static void score_max(json_t *scores, const char *k, double v)
{
    json_t *cur = json_object_get(scores, k);
    if (!cur || json_real_value(cur) < v)
        json_object_set_new(scores, k, json_real((double)(int64_t)(v * 1000 + 0.5) / 1000.0));
}

int mlops__guard_scan_ex(mlops__guard *g, const mlops__gpolicy *pol,
                         const mlops__glinear *inj_model, const mlops__glinear *tox_model,
                         size_t max_findings, int stage, const char *text, size_t len,
                         const char *context, json_t **report_out)
{
    *report_out = NULL;
    mlops__gfindings f = {0};
    f.max = max_findings;
    run r = {.pol = pol, .inj_model = inj_model, .tox_model = tox_model, .stage = stage, .f = &f};
    json_t *report = json_object();
    json_t *scores = json_object();
    if (!report || !scores) {
        json_decref(report);
        json_decref(scores);
        return mlops__error_oom("guard report");
    }
    int rc = MLOPS_OK;
    for (size_t ws = 0; ws < len && rc == MLOPS_OK;) {
        size_t we = len - ws > WINDOW ? ws + WINDOW : len;
        if (we < len) {
            /* end the window at white space, never inside a UTF-8 sequence */
            size_t b = we;
            while (b > ws + WINDOW / 2 && text[b - 1] != ' ' && text[b - 1] != '\n')
                b--;
            if (b > ws + WINDOW / 2)
                we = b;
            while (we > ws + 1 && ((unsigned char)text[we] & 0xC0) == 0x80)
                we--;
        }
        rc = scan_piece(&r, text + ws, we - ws, ws, false, 0, 0, 0, NULL, false);
        ws = we;
    }
    if (rc == MLOPS_OK && active(&r, &pol->max_length) && len > pol->max_bytes) {
        char d[80];
        snprintf(d, sizeof d, "%zu bytes, more than %zu", len, pol->max_bytes);
        mlops__gfindings_add(&f, "max_length", "MAX_LENGTH", pol->max_bytes, len, 1.0, d);
    }
    if (rc == MLOPS_OK && active(&r, &pol->canary))
        check_canary(&r, text, len);
    if (rc == MLOPS_OK && active(&r, &pol->json))
        check_json(&r, text, len, report);
    if (rc == MLOPS_OK && active(&r, &pol->grounding) && context) {
        json_t *uns = json_array();
        size_t gl = len < WINDOW ? len : WINDOW;
        double gs = mlops__guard_grounding(text, gl, context, pol->grounding.threshold, &f, uns);
        json_object_set_new(report, "grounding", json_pack("{s:f,s:o}", "score",
                                                           (double)(int64_t)(gs * 1000 + 0.5) / 1000.0,
                                                           "unsupported", uns));
        score_max(scores, "grounding", gs);
    }
    if (rc != MLOPS_OK) {
        mlops__gfindings_free(&f);
        json_decref(report);
        json_decref(scores);
        return rc;
    }
    /* scores of the scanners that ran */
    if (active(&r, &pol->pii))
        score_max(scores, "pii", 0);
    if (active(&r, &pol->secrets))
        score_max(scores, "secrets", 0);
    if (r.ran_inj)
        score_max(scores, "injection", r.s_inj);
    if (r.ran_tox)
        score_max(scores, "toxicity", r.s_tox);
    /* thresholds and actions */
    size_t kept = 0;
    int verdict = MLOPS__GA_ALLOW;
    for (size_t i = 0; i < f.n; i++) {
        mlops__gfinding *x = &f.v[i];
        if (strcmp(x->scanner, "grounding") != 0)
            score_max(scores, x->scanner, x->score);
        const mlops__gscanner *cfg = scanner_cfg(pol, x->scanner);
        bool always = !strcmp(x->scanner, "grounding") || !strcmp(x->scanner, "json") ||
                      !strcmp(x->scanner, "canary") || !strcmp(x->scanner, "max_length") ||
                      !strcmp(x->scanner, "invalid_utf8") || !strcmp(x->scanner, "banned");
        if (!always && x->score < cfg->threshold) {
            free(x->detail);
            continue;
        }
        x->action = cfg->action;
        if (x->action > verdict)
            verdict = x->action;
        f.v[kept++] = *x;
    }
    f.n = kept;
    if (f.n > 1)
        qsort(f.v, f.n, sizeof *f.v, cmp_start);
    char *clean = NULL;
    size_t clean_len = len;
    if (verdict >= MLOPS__GA_REDACT) {
        rc = mlops__guard_anonymize(g, pol, text, len, &f, &clean, &clean_len);
        if (rc != MLOPS_OK) {
            mlops__gfindings_free(&f);
            json_decref(report);
            json_decref(scores);
            return rc;
        }
        bool redacted = false;
        for (size_t i = 0; i < f.n; i++)
            redacted |= f.v[i].action == MLOPS__GA_REDACT;
        (void)redacted;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < f.n && arr; i++) {
        const mlops__gfinding *x = &f.v[i];
        json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:f,s:s}", "scanner", x->scanner, "type", x->type,
                              "start", (json_int_t)x->start, "end", (json_int_t)x->end, "score",
                              (double)(int64_t)(x->score * 1000 + 0.5) / 1000.0, "action",
                              mlops__guard_action_name(x->action));
        if (o && x->detail)
            json_object_set_new(o, "detail", json_string(x->detail));
        if (o)
            json_array_append_new(arr, o);
    }
    json_object_set_new(report, "verdict", json_string(mlops__guard_action_name(verdict)));
    json_object_set_new(report, "stage", json_string(stage == MLOPS__GSTAGE_INPUT ? "input" : "output"));
    json_object_set_new(report, "findings", arr ? arr : json_array());
    {
        const char *src = clean ? clean : text;
        size_t sl = clean ? clean_len : len;
        char *fixed = r.invalid_total ? utf8_clean(src, sl, &sl) : NULL;
        json_object_set_new(report, "text", json_stringn_nocheck(fixed ? fixed : src, sl));
        free(fixed);
    }
    json_object_set_new(report, "scores", scores);
    json_object_set_new(report, "bytes", json_integer((json_int_t)len));
    if (r.invalid_total)
        json_object_set_new(report, "invalid_utf8", json_integer((json_int_t)r.invalid_total));
    if (f.truncated)
        json_object_set_new(report, "findings_truncated", json_true());
    free(clean);
    mlops__gfindings_free(&f);
    *report_out = report;
    return MLOPS_OK;
}
