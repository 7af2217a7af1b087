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
    O("ignore"), O("disregard"), O("forget"), O("override"), O("bypass"), O("skip"), O("drop"),
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

static void add(float *x, int dim, uint64_t key, float v)
{
    uint64_t h = key * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    x[h % (uint64_t)dim] += (h >> 63) ? -v : v;
}

void mlops__ginj_features(int dim, const char *text, size_t len, float *out)
{
    pthread_once(&ctab_once, ctab_build);
    mlops__glinear_features(dim, text, len, out);
    /* class sequence; a sentence end breaks the pair window */
    int recent[IW];
    int nr = 0;
    float extra = 0;
    float cx[2048];
    int cd = dim < 2048 ? dim : 2048;
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
        return;
    for (int k = 0; k < cd; k++)
        extra += cx[k] * cx[k];
    if (extra <= 0)
        return;
    float sc = 1.0f / sqrtf(extra); /* the class group weighs as much as the n-grams */
    for (int k = 0; k < cd; k++)
        out[k] += cx[k] * sc;
    mlops__vec_normalize(out, dim);
}
