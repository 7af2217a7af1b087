/*
 * Intent features for the injection classifier: words are mapped to classes (override
 * verbs, instruction objects, scope words, "your", reveal verbs, persona and mode words,
 * negations, role labels...) and the class sequence is hashed as class unigrams and
 * ordered class pairs within a 4-word window ("OVR>OBJ", "YOUR>OBJ", "REVEAL>SECRET").
 * "Quit following whatever rules they set" and "ignore all previous instructions"
 * share these features although they share few words, so the classifier learns the
 * intent instead of the wording. Added to the plain hashed n-gram features, the sum
 * normalised to unit length.
 */
#include "guard.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

enum { C_NONE, C_OVR, C_OBJ, C_SCOPE, C_YOUR, C_REVEAL, C_SECRET, C_PERSONA, C_MODE, C_NEG,
       C_REFUSE, C_ROLE, C_NOW, C_PRETEND, C_AI, C_SAFETY, C_TOLD, C_DISABLE, C_FICTION,
       C_ENCODE, C_EXEC, C_ME, C_COUNT };

static const struct { const char *w; int c; } lex[] = {
#define O(w) {w, C_OVR}
    O("ignore"), O("ignores"), O("disregards"), O("bypasses"), O("disregard"), O("forget"), O("override"), O("bypass"), O("skip"), O("drop"),
    O("abandon"), O("discard"), O("neglect"), O("erase"), O("quit"), O("cease"), O("stop"),
    O("scrap"), O("dismiss"), O("overrule"), O("wipe"), O("disobey"), O("overlook"),
    O("nullify"), O("cancel"), O("revoke"), O("supersede"), O("supersedes"), O("overwrite"),
    O("omit"), O("unlearn"), O("ignoring"), O("forgetting"), O("ignoriere"), O("ignorieren"),
    O("vergiss"), O("vergessen"), O("missachte"), O("ignora"), O("ignorar"), O("olvida"),
    O("olvidar"), O("ignorez"), O("ignore"), O("oublie"), O("oubliez"), O("ignorare"),
    O("dimentica"), O("esqueca"), O("esquece"), O("mind"), O("aside"), O("void"), O("null"),
    O("revoked"), O("cancelled"), O("canceled"), O("deleted"), O("outdated"), O("obsolete"),
#undef O
#define B(w) {w, C_OBJ}
    B("instructions"), B("instruction"), B("rules"), B("rule"), B("guidelines"), B("guidance"),
    B("directives"), B("directions"), B("prompt"), B("prompts"), B("programming"),
    B("constraints"), B("restrictions"), B("policy"), B("policies"), B("rulebook"),
    B("orders"), B("commands"), B("training"), B("limitations"), B("limits"), B("boundaries"),
    B("protocols"), B("anweisungen"), B("regeln"), B("richtlinien"), B("vorgaben"),
    B("instrucciones"), B("reglas"), B("consignes"), B("regles"), B("istruzioni"),
    B("regole"), B("instrucoes"), B("regras"), B("directrices"), B("systemprompt"),
#undef B
#define S(w) {w, C_SCOPE}
    S("previous"), S("prior"), S("above"), S("earlier"), S("preceding"), S("initial"),
    S("original"), S("all"), S("every"), S("any"), S("existing"), S("old"), S("those"),
    S("current"), S("before"), S("foregoing"), S("whatever"), S("alle"), S("vorherigen"),
    S("bisherigen"), S("todas"), S("todos"), S("anteriores"), S("toutes"), S("tous"),
    S("precedentes"), S("tutte"), S("precedenti"), S("previas"),
#undef S
#define Y(w) {w, C_YOUR}
    Y("your"), Y("yourself"), Y("deine"), Y("deinen"), Y("tus"), Y("tes"), Y("vos"), Y("tue"),
    Y("tuas"), Y("suas"), Y("you"), Y("you're"), Y("youre"), Y("du"), Y("tu"),
#undef Y
#define R(w) {w, C_REVEAL}
    R("reveal"), R("show"), R("print"), R("repeat"), R("output"), R("display"), R("tell"),
    R("give"), R("leak"), R("dump"), R("recite"), R("disclose"), R("expose"), R("share"),
    R("echo"), R("paste"), R("reproduce"), R("quote"), R("write"), R("spell"), R("copy"),
    R("verbatim"), R("exactly"), R("word"), R("muestra"), R("revela"), R("zeig"), R("zeige"),
    R("gib"), R("affiche"), R("revele"), R("rivela"), R("mostre"), R("dime"),
#undef R
#define X(w) {w, C_SECRET}
    X("system"), X("hidden"), X("secret"), X("confidential"), X("developer"), X("internal"),
    X("preprompt"), X("preamble"), X("configuration"), X("operator"), X("password"),
    X("passwort"), X("contrasena"), X("sistema"), X("systeme"), X("key"), X("credentials"),
#undef X
#define P(w) {w, C_PERSONA}
    P("dan"), P("jailbreak"), P("jailbroken"), P("unrestricted"), P("unfiltered"),
    P("uncensored"), P("amoral"), P("unbound"), P("unlimited"), P("evil"), P("freed"),
    P("anarchy"), P("unchained"), P("immoral"), P("lawless"), P("stan"), P("aim"),
#undef P
#define M(w) {w, C_MODE}
    M("mode"), M("admin"), M("god"), M("sudo"), M("debug"), M("root"), M("maintenance"),
    M("superuser"), M("administrator"),
#undef M
#define N(w) {w, C_NEG}
    N("no"), N("without"), N("never"), N("not"), N("don't"), N("none"), N("zero"),
    N("nothing"), N("longer"), N("anymore"), N("sin"), N("ohne"), N("sans"), N("senza"),
#undef N
#define F(w) {w, C_REFUSE}
    F("refuse"), F("refusing"), F("refusal"), F("refusals"), F("comply"), F("obey"),
    F("warnings"), F("censor"), F("apologize"), F("decline"), F("follow"), F("following"),
    F("adhering"), F("obeying"), F("listen"),
#undef F
#define L(w) {w, C_ROLE}
    L("im_start"), L("im_end"), L("inst"), L("sys"), L("assistant"), L("user"), L("endoftext"),
#undef L
#define W(w) {w, C_NOW}
    W("now"), W("henceforth"), W("onwards"), W("moment"), W("here"), W("new"), W("updated"),
    W("real"), W("ahora"), W("jetzt"), W("maintenant"),
#undef W
#define T(w) {w, C_PRETEND}
    T("pretend"), T("imagine"), T("act"), T("roleplay"), T("simulate"), T("become"),
    T("behave"), T("play"), T("adopt"), T("assume"), T("persona"), T("character"), T("role"),
    T("identity"), T("stay"),
#undef T
#define A(w) {w, C_AI}
    A("ai"), A("model"), A("chatbot"), A("bot"), A("gpt"), A("chatgpt"), A("llm"), A("openai"),
    A("assistant's"), A("creators"), A("developers"),
#undef A
#define Z(w) {w, C_SAFETY}
    Z("safety"), Z("content"), Z("ethical"), Z("ethics"), Z("moral"), Z("morals"),
    Z("filters"), Z("filter"), Z("guardrails"), Z("moderation"), Z("censorship"),
    Z("safeguards"), Z("filtering"),
#undef Z
#define K(w) {w, C_TOLD}
    K("told"), K("given"), K("instructed"), K("configured"), K("programmed"), K("loaded"),
    K("trained"), K("initialized"), K("initialised"), K("received"), K("set"), K("taught"),
    K("got"),
#undef K
#define D(w) {w, C_DISABLE}
    D("disable"), D("deactivate"), D("remove"), D("lift"), D("lifted"), D("suspend"),
    D("suspended"), D("disabled"), D("removed"), D("off"), D("unlock"), D("circumvent"),
    D("evade"), D("turn"), D("switch"), D("enable"), D("activate"), D("enter"), D("apply"),
#undef D
#define G(w) {w, C_FICTION}
    G("hypothetically"), G("fictional"), G("story"), G("novel"), G("simulation"),
    G("scenario"), G("world"), G("game"),
#undef G
#define E(w) {w, C_ENCODE}
    E("base64"), E("decode"), E("hex"), E("rot13"), E("encoded"), E("translate"),
    E("cipher"), E("reversed"),
#undef E
#define Q(w) {w, C_EXEC}
    Q("execute"), Q("obey"), Q("run"), Q("do"), Q("comply"), Q("answer"), Q("respond"),
#undef Q
#define I(w) {w, C_ME}
    I("me"), I("i"), I("my"), I("mine"),
#undef I
};

#define CSLOTS 1024
static struct { uint64_t h; int c; } ctab[CSLOTS];
static pthread_once_t ctab_once = PTHREAD_ONCE_INIT;

static uint64_t whash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h | 1;
}

static void ctab_build(void)
{
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(lex); i++) {
        uint64_t h = whash(lex[i].w, strlen(lex[i].w));
        size_t k = h & (CSLOTS - 1);
        while (ctab[k].h && ctab[k].h != h)
            k = (k + 1) & (CSLOTS - 1);
        if (!ctab[k].h) { /* first class listed wins for a repeated word */
            ctab[k].h = h;
            ctab[k].c = lex[i].c;
        }
    }
}

static int class_of(const char *w, size_t n)
{
    if (n < 1 || n > 16)
        return C_NONE;
    uint64_t h = whash(w, n);
    for (size_t k = h & (CSLOTS - 1); ctab[k].h; k = (k + 1) & (CSLOTS - 1))
        if (ctab[k].h == h)
            return ctab[k].c;
    return C_NONE;
}

static inline unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static inline bool wordc(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '\'' || c == '_' || c >= 0x80;
}

#define IW 4 /* pair window, words */
#ifndef INJ_CLASS_WEIGHT
#define INJ_CLASS_WEIGHT 1.0f
#endif

static void add(float *x, int dim, uint64_t key, float v)
{
    uint64_t h = key * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    x[h % (uint64_t)dim] += (h >> 63) ? -v : v;
}

/* The intent-class features of a text hashed into cx[cd] (zeroed here); returns the
 * scale that gives them INJ_CLASS_WEIGHT of norm next to the unit n-gram group, or 0
 * when the text has no class word. */
static float class_features(const char *text, size_t len, float *cx, int cd)
{
    pthread_once(&ctab_once, ctab_build);
    /* class sequence; a sentence end breaks the pair window */
    int recent[IW];
    int nr = 0;
    memset(cx, 0, (size_t)cd * sizeof *cx);
    char w[17];
    size_t i = 0;
    int nclass = 0;
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        if (!wordc(c)) {
            if (c == '.' || c == '!' || c == '?' || c == '\n' || c == ';')
                nr = 0;
            i++;
            continue;
        }
        size_t s = i;
        while (i < len && wordc((unsigned char)text[i]))
            i++;
        size_t n = i - s;
        int cls = C_NONE;
        if (n <= 16) {
            for (size_t k = 0; k < n; k++) {
                unsigned char d = lower((unsigned char)text[s + k]);
                /* leetspeak digits fold like the heuristics' folding */
                w[k] = (char)(d == '0' ? 'o' : d == '1' ? 'i' : d == '3' ? 'e' : d == '4' ? 'a' : d);
            }
            cls = class_of(w, n);
        }
        if (cls == C_NONE) {
            /* an unknown word still takes a slot: pairs stay local */
            if (nr == IW)
                memmove(recent, recent + 1, (IW - 1) * sizeof *recent), nr--;
            recent[nr++] = C_NONE;
            continue;
        }
        nclass++;
        add(cx, cd, 0x1000u + (unsigned)cls, 0.5f);
        for (int k = 0; k < nr; k++)
            if (recent[k] != C_NONE)
                add(cx, cd, 0x20000u + (unsigned)recent[k] * 64u + (unsigned)cls, 1.0f);
        if (nr == IW)
            memmove(recent, recent + 1, (IW - 1) * sizeof *recent), nr--;
        recent[nr++] = cls;
    }
    if (!nclass)
        return 0;
    float extra = 0;
    for (int k = 0; k < cd; k++)
        extra += cx[k] * cx[k];
    return extra > 0 ? INJ_CLASS_WEIGHT / sqrtf(extra) : 0;
}

#define CLASS_DIM 2048 /* buckets of the class group (the first ones of the vector) */

int mlops__ginj_sparse(int dim, const char *text, size_t len, mlops__sparse *out)
{
    int rc = mlops__glinear_sparse(dim, text, len, out);
    if (rc != MLOPS_OK)
        return rc;
    float cx[CLASS_DIM];
    int cd = dim < CLASS_DIM ? dim : CLASS_DIM;
    float sc = class_features(text, len, cx, cd);
    if (sc == 0)
        return MLOPS_OK;
    for (int k = 0; k < cd; k++)
        if (cx[k] != 0 && !mlops__sparse_push(out, k, 0, cx[k] * sc))
            return mlops__error_oom("injection features");
    mlops__sparse_normalize(out);
    return MLOPS_OK;
}

/* ------------------------------------------------------------ intent rules ---- */

/* One sentence of folded text as words with classes. */
#define IMAXW 48
typedef struct isent {
    const char *t;
    size_t s[IMAXW], e[IMAXW];
    int c[IMAXW];
    int n;
} isent;

static bool iw(const isent *x, int i, const char *lit)
{
    if (i < 0 || i >= x->n || x->t[x->s[i]] != lit[0])
        return false;
    size_t k = strlen(lit);
    return x->e[i] - x->s[i] == k && memcmp(x->t + x->s[i], lit, k) == 0;
}

static bool iwin(const isent *x, int i, const char *const *set)
{
    for (; *set; set++)
        if (iw(x, i, *set))
            return true;
    return false;
}

/* first word in [from, to) of class c (or in set when c < 0), or -1 */
static int ifind(const isent *x, int from, int to, int c, const char *const *set)
{
    if (from < 0)
        from = 0;
    for (int i = from; i < to && i < x->n; i++)
        if (c >= 0 ? x->c[i] == c : iwin(x, i, set))
            return i;
    return -1;
}

static const char *const prompt_objs[] = {"prompt", "instructions", "preamble", "configuration",
    "guidelines", "rules", "directives", "preprompt", "instruction", "prompts", NULL};
static const char *const not_ours[] = {"my", "our", "a", "an", "this", "his", "her", "their",
    "good", "new", NULL};
static const char *const procedure[] = {"for", "on", "about", "to", "of", "in", NULL};
static const char *const void_words[] = {"irrelevant", "void", "cancelled", "canceled", "revoked",
    "outdated", "obsolete", "null", "invalid", "suspended", "lifted", "deleted", "fake",
    "meaningless", "overridden", "superseded", NULL};
static const char *const pretend_words[] = {"pretend", "act", "roleplay", "simulate", "become",
    "behave", "adopt", "assume", "respond", "answer", "play", NULL};
static const char *const persona_only[] = {"dan", "jailbroken", "unrestricted", "unfiltered",
    "uncensored", "amoral", "unbound", "unhinged", "rogue", "immoral", "unchained", "lawless",
    NULL};
static const char *const ai_words[] = {"ai", "model", "assistant", "chatbot", "bot", "gpt",
    "llm", "yourself", "you", "version", NULL};
static const char *const strong_safety[] = {"ethics", "morals", "guardrails", "censorship",
    "moderation", "filters", "filter", "restrictions", "limitations", "limits", "constraints",
    "rules", "guidelines", "policy", "policies", "safeguards", NULL};
static const char *const fiction_cues[] = {"hypothetically", "fictional", "story", "novel",
    "play", "simulation", "suppose", "imagine", "scenario", "made", NULL};

static double rules_sentence(const isent *x, size_t *hs, size_t *he, const char **type)
{
    double best = 0;
#define HIT(sc, ty, a, b)                                                                      \
    do {                                                                                       \
        if ((sc) > best) {                                                                     \
            best = (sc);                                                                       \
            *type = (ty);                                                                      \
            *hs = x->s[a];                                                                     \
            *he = x->e[b];                                                                     \
        }                                                                                      \
    } while (0)
    bool mine = ifind(x, 0, x->n, -1, (const char *const[]){"my", "our", NULL}) >= 0;
    bool you = ifind(x, 0, x->n, C_YOUR, NULL) >= 0;
    for (int i = 0; i < x->n; i++) {
        int c = x->c[i];
        if (c == C_OVR) {
            /* disregard-verb ... instruction-object, owned by the assistant or scoped */
            int j = ifind(x, i + 1, i + 9, C_OBJ, NULL);
            if (j > 0 && !iwin(x, j - 1, not_ours)) {
                bool scoped = ifind(x, i + 1, j, C_YOUR, NULL) >= 0 ||
                              ifind(x, i + 1, j, C_SCOPE, NULL) >= 0 ||
                              ifind(x, i + 1, j, C_SECRET, NULL) >= 0 ||
                              ifind(x, j + 1, j + 4, C_TOLD, NULL) >= 0;
                if (scoped)
                    HIT(0.8, "INSTRUCTION_OVERRIDE", i, j);
            }
            /* "forget about ethics", "ignore your guardrails" */
            int k = i + 1;
            while (k < x->n && (iw(x, k, "about") || iw(x, k, "your") || iw(x, k, "all") ||
                                iw(x, k, "any") || iw(x, k, "the") || iw(x, k, "safety") ||
                                iw(x, k, "content") || iw(x, k, "ethical") || iw(x, k, "moral")))
                k++;
            if (k > i && k < x->n && k <= i + 4 && iwin(x, k, strong_safety) && !mine &&
                (iw(x, i + 1, "about") || iw(x, i + 1, "your") || iwin(x, k, (const char *const[]){
                     "ethics", "morals", "guardrails", "censorship", "moderation", NULL})))
                HIT(0.65, "INSTRUCTION_OVERRIDE", i, k);
        }
        if (c == C_REVEAL || iw(x, i, "what") || iw(x, i, "which")) {
            int j = ifind(x, i + 1, i + 10, -1, prompt_objs);
            if (j > 0 && !iwin(x, j + 1, procedure) && !mine) {
                int m = ifind(x, i + 1, j + 1, C_SECRET, NULL);
                int y = ifind(x, i + 1, j, -1, (const char *const[]){"your", NULL});
                bool generic = (m > 0 && iwin(x, m - 1, not_ours)) || iwin(x, j - 1, not_ours);
                if ((c == C_REVEAL ? (m >= 0 || y >= 0) : y >= 0) && !generic)
                    HIT(c == C_REVEAL ? 0.75 : 0.6, "PROMPT_EXTRACTION", i, j);
            }
            /* "what were you told", "text that came before my message" */
            if ((iw(x, i, "what") || iw(x, i, "which")) && ifind(x, i + 1, i + 4, -1,
                    (const char *const[]){"you", NULL}) >= 0 &&
                ifind(x, i + 1, i + 5, -1, (const char *const[]){"told", "instructed",
                      "programmed", "configured", NULL}) >= 0)
                HIT(0.7, "PROMPT_EXTRACTION", i, i + 1);
            if (c == C_REVEAL && ifind(x, i + 1, i + 8, -1, (const char *const[]){"text",
                    "everything", "whatever", "words", NULL}) >= 0) {
                int b = ifind(x, i + 1, i + 10, -1, (const char *const[]){"above", "before",
                              "preceding", NULL});
                if (b > 0 && (iw(x, b + 1, "this") || iw(x, b + 1, "my") || iw(x, b + 1, "the") ||
                              b + 1 >= x->n))
                    HIT(0.7, "PROMPT_EXTRACTION", i, b);
            }
        }
        /* "set the system prompt aside", "put your rules aside" */
        if ((iw(x, i, "set") || iw(x, i, "put") || iw(x, i, "push")) && !mine) {
            int a = ifind(x, i + 1, i + 7, -1, (const char *const[]){"aside", NULL});
            int j = a > 0 ? ifind(x, i + 1, a, C_OBJ, NULL) : -1;
            if (j > 0 && !iwin(x, j - 1, not_ours) && (ifind(x, i + 1, j, C_YOUR, NULL) >= 0 ||
                                                       ifind(x, i + 1, j, C_SECRET, NULL) >= 0 ||
                                                       ifind(x, i + 1, j, C_SCOPE, NULL) >= 0))
                HIT(0.8, "INSTRUCTION_OVERRIDE", i, a);
        }
        /* "free from the directives you were given", "broken free of its programming" */
        if (iw(x, i, "free") && (iw(x, i + 1, "from") || iw(x, i + 1, "of"))) {
            int j = ifind(x, i + 2, i + 6, C_OBJ, NULL);
            if (j > 0 && !mine)
                HIT(0.7, "INSTRUCTION_OVERRIDE", i, j);
        }
        /* "the instructions you started with", "directives you were given" + a way out */
        if (c == C_OBJ && iw(x, i + 1, "you") && !mine &&
            ifind(x, i + 2, i + 5, -1, (const char *const[]){"given", "told", "started",
                  "received", "assigned", "loaded", "configured", "programmed", NULL}) >= 0 &&
            (ifind(x, 0, i, C_OVR, NULL) >= 0 || ifind(x, 0, i, C_NEG, NULL) >= 0 ||
             ifind(x, 0, i, -1, (const char *const[]){"stop", "free", "drop", "leave", NULL}) >= 0))
            HIT(0.75, "INSTRUCTION_OVERRIDE", i, i);
        /* "your hidden preamble", "your system prompt": the assistant's own prompt */
        if (iw(x, i, "your") && x->c[i + 1 < x->n ? i + 1 : i] == C_SECRET && i + 2 < x->n &&
            iwin(x, i + 2, prompt_objs) && !iwin(x, i + 3, procedure) && !mine)
            HIT(0.55, "PROMPT_EXTRACTION", i, i + 2);
        /* an AI "that ignores all ethical rules" */
        if (iwin(x, i, ai_words) && !iw(x, i, "you") &&
            (iw(x, i + 1, "that") || iw(x, i + 1, "who") || iw(x, i + 1, "which"))) {
            int o = ifind(x, i + 2, i + 5, C_OVR, NULL);
            int sf = o > 0 ? ifind(x, o + 1, o + 5, -1, strong_safety) : -1;
            if (sf > 0 && !mine)
                HIT(0.65, "JAILBREAK_PERSONA", i, sf);
        }
        if (c == C_TOLD && ifind(x, i - 2, i + 2, -1, (const char *const[]){"you", NULL}) >= 0 &&
            ifind(x, i + 1, i + 6, -1, void_words) >= 0 && !mine)
            HIT(0.7, "INSTRUCTION_OVERRIDE", i, i + 1);
        /* "your policy doesn't exist", "your filters are disabled", "your rules don't apply" */
        if ((c == C_OBJ || iwin(x, i, strong_safety)) && iw(x, i - 1, "your") && !mine) {
            int v = ifind(x, i + 1, i + 5, -1, (const char *const[]){"exist", "apply", "disabled",
                          "off", "removed", "lifted", "suspended", "gone", "deactivated", NULL});
            if (v > 0 && (iw(x, v, "exist") || iw(x, v, "apply") ?
                          ifind(x, i + 1, v, C_NEG, NULL) >= 0 ||
                          ifind(x, i + 1, v, -1, (const char *const[]){"doesn't", "don't",
                                "dont", "doesnt", NULL}) >= 0 : true))
                HIT(0.7, "INSTRUCTION_OVERRIDE", i - 1, v);
        }
        if (c == C_OBJ && ifind(x, i + 1, i + 5, -1, void_words) >= 0 &&
            (ifind(x, i - 3, i, C_YOUR, NULL) >= 0 || ifind(x, i - 3, i, C_SCOPE, NULL) >= 0) &&
            !iwin(x, i - 1, not_ours) && !mine)
            HIT(0.75, "INSTRUCTION_OVERRIDE", i, i);
        if (iwin(x, i, pretend_words) || (iw(x, i, "you") && iw(x, i + 1, "are") && iw(x, i + 2, "now"))) {
            int p = ifind(x, i + 1, i + 10, -1, persona_only);
            int ng = ifind(x, i + 1, i + 10, C_NEG, NULL);
            int sf = ng >= 0 ? ifind(x, ng + 1, ng + 5, -1, strong_safety) : -1;
            bool ai = ifind(x, i + 1, i + 10, -1, ai_words) >= 0 || you;
            if (ai && (p >= 0 || sf >= 0))
                HIT(0.7, "JAILBREAK_PERSONA", i, p >= 0 ? p : sf);
        }
        if (iwin(x, i, ai_words) && !iw(x, i, "you") && i + 1 < x->n &&
            (iw(x, i + 1, "without") || iw(x, i + 1, "with") || iw(x, i + 1, "that") ||
             iw(x, i + 1, "who"))) {
            int ng = ifind(x, i + 1, i + 4, C_NEG, NULL);
            int sf = ng >= 0 ? ifind(x, ng + 1, ng + 5, -1, strong_safety) : -1;
            if (sf >= 0 && !mine)
                HIT(0.6, "JAILBREAK_PERSONA", i, sf);
        }
        if (c == C_DISABLE) {
            int from = i + 1;
            if ((iw(x, i, "turn") || iw(x, i, "switch")) && !iw(x, i + 1, "off"))
                continue;
            int sf = ifind(x, from, from + 5, -1, strong_safety);
            if (sf < 0)
                sf = ifind(x, from, from + 5, -1, (const char *const[]){"safety", NULL});
            if (sf >= 0 && !mine &&
                (ifind(x, from, sf, -1, (const char *const[]){"your", "all", NULL}) >= 0 ||
                 ifind(x, sf + 1, sf + 4, -1, (const char *const[]){"answer", "respond",
                       "reply", "tell", "give", "write", NULL}) >= 0))
                HIT(0.65, "JAILBREAK_PERSONA", i, sf);
        }
        if ((iw(x, i, "refuse") || iw(x, i, "refusing") || iw(x, i, "decline")) && you &&
            ifind(x, i - 4, i, -1, (const char *const[]){"not", "never", "cannot", "can't",
                  "won't", "mustn't", NULL}) >= 0 &&
            ifind(x, i - 5, i, -1, (const char *const[]){"allowed", "must", "will", "never",
                  "can't", "cannot", "permitted", NULL}) >= 0)
            HIT(0.6, "COMPLIANCE_FORCING", i, i);
        if (iwin(x, i, fiction_cues)) {
            int ng = ifind(x, i + 1, x->n, C_NEG, NULL);
            int sf = ng >= 0 ? ifind(x, ng + 1, ng + 5, -1, strong_safety) : -1;
            if (sf < 0 && ng >= 0)
                sf = ifind(x, ng + 1, ng + 4, -1, (const char *const[]){"safety", "training", NULL});
            int p = ifind(x, i + 1, x->n, -1, persona_only);
            bool ai = ifind(x, 0, x->n, -1, ai_words) >= 0 ||
                      ifind(x, 0, x->n, -1, (const char *const[]){"ais", NULL}) >= 0;
            if (ai && (sf >= 0 || p >= 0))
                HIT(0.6, "JAILBREAK_PERSONA", i, sf >= 0 ? sf : p);
        }
    }
#undef HIT
    return best;
}

double mlops__ginj_intent(const char *t, size_t s, size_t e, size_t *hs, size_t *he,
                          const char **type)
{
    pthread_once(&ctab_once, ctab_build);
    isent x = {.t = t, .n = 0};
    size_t i = s;
    while (i < e && x.n < IMAXW) {
        if (!wordc((unsigned char)t[i])) {
            i++;
            continue;
        }
        size_t a = i;
        while (i < e && wordc((unsigned char)t[i]))
            i++;
        x.s[x.n] = a;
        x.e[x.n] = i;
        x.c[x.n] = class_of(t + a, i - a);
        x.n++;
    }
    /* every rule needs an anchor: an instruction object, a safety or persona word, or
     * one of a few words; ordinary sentences stop here */
    bool anchor = false;
    for (int k = 0; k < x.n && !anchor; k++)
        anchor = x.c[k] == C_OBJ || x.c[k] == C_SAFETY || x.c[k] == C_PERSONA ||
                 iwin(&x, k, (const char *const[]){"text", "everything", "whatever", "refuse",
                      "refusing", "decline", "preamble", "free", "told", NULL});
    return anchor ? rules_sentence(&x, hs, he, type) : 0;
}
