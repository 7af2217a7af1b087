/*
 * PII recognizers, Presidio-style: a candidate found by a hand-written scanner keyed on
 * its trigger character (a digit, '@', an upper-case letter, a scheme), validated where
 * a checksum exists (Luhn for cards, ISO 7064 mod 97-10 for IBAN, NHS mod 11,
 * Base58Check and BIP-173/350 Bech32 for wallets), scored, and boosted by context
 * words nearby. One pass over the text; no regex engine on this path.
 *
 * Scores: a validated checksum or a strict format scores >= 0.85; weak patterns (a bare
 * run of nine digits) score below the default threshold 0.5 unless a context word is
 * within ~64 bytes before or ~32 after.
 */
#include "guard.h"

#include <string.h>

const char *const mlops__gpii_entity_names[] = {
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "US_ITIN",
    "US_PASSPORT", "US_DRIVER_LICENSE", "IP_ADDRESS", "MAC_ADDRESS", "URL", "DATE_TIME",
    "CRYPTO", "UK_NHS", "UK_NINO", "PERSON", "LOCATION", "ORGANIZATION", "CUSTOM",
};
const size_t mlops__gpii_entity_count = MLOPS__ARRAY_LEN(mlops__gpii_entity_names);

enum { E_EMAIL, E_PHONE, E_CARD, E_IBAN, E_SSN, E_ITIN, E_PASSPORT, E_DL, E_IP, E_MAC,
       E_URL, E_DATE, E_CRYPTO, E_NHS, E_NINO };

uint64_t mlops__gpii_entity_bit(const char *name)
{
    for (size_t i = 0; i < mlops__gpii_entity_count; i++)
        if (strcmp(name, mlops__gpii_entity_names[i]) == 0)
            return 1ull << i;
    return 0;
}

/* ------------------------------------------------------------ character classes */

/* One table lookup per byte instead of range compares: the scanner's inner loops test
 * every byte of the text. */
enum { C_DIGIT = 1, C_UPPER = 2, C_LOWER = 4, C_HEX = 8 };
static const uint8_t cls[256] = {
    ['0' ... '9'] = C_DIGIT | C_HEX,
    ['A' ... 'F'] = C_UPPER | C_HEX, ['G' ... 'Z'] = C_UPPER,
    ['a' ... 'f'] = C_LOWER | C_HEX, ['g' ... 'z'] = C_LOWER,
};
static inline bool is_digit(unsigned char c) { return cls[c] & C_DIGIT; }
static inline bool is_upper(unsigned char c) { return cls[c] & C_UPPER; }
static inline bool is_lower(unsigned char c) { return cls[c] & C_LOWER; }
static inline bool is_alpha(unsigned char c) { return cls[c] & (C_UPPER | C_LOWER); }
static inline bool is_alnum(unsigned char c) { return cls[c] & (C_UPPER | C_LOWER | C_DIGIT); }
static inline bool is_hex(unsigned char c) { return cls[c] & C_HEX; }
static inline unsigned char lower(unsigned char c) { return is_upper(c) ? c + 32 : c; }

typedef struct ctx {
    mlops__gscan *sc;
    const unsigned char *t;
    size_t n;
    uint64_t on;
    bool context_words;
} ctx;

static bool enabled(const ctx *c, int e) { return (c->on >> e) & 1; }

static void add(ctx *c, int e, size_t s, size_t end, double score)
{
    if (score > 1.0)
        score = 1.0;
    mlops__gscan_add(c->sc, "pii", mlops__gpii_entity_names[e], s, end, score, NULL);
}

/*
 * Distance in bytes from [s, e) to the nearest of `words` (case-insensitive) within ~64
 * bytes before or ~32 after, or -1 when none is there. A word must start a word ("age"
 * is not in "page"); words after the candidate count 8 bytes farther than words before
 * it, so "passport 123456789, driver's licence 987654321" gives each number its own
 * label.
 */
static int ctx_dist(const ctx *c, size_t s, size_t e, const char *const *words)
{
    if (!c->context_words)
        return -1;
    size_t a = s > 64 ? s - 64 : 0;
    size_t b = e + 32 < c->n ? e + 32 : c->n;
    char buf[200];
    size_t k = 0;
    for (size_t i = a; i < b && k < sizeof buf - 1; i++)
        buf[k++] = (char)lower(c->t[i]);
    buf[k] = '\0';
    int best = -1;
    for (; *words; words++) {
        size_t wl = strlen(*words);
        for (const char *m = strstr(buf, *words); m; m = strstr(m + 1, *words)) {
            size_t ms = a + (size_t)(m - buf), me = ms + wl;
            if (ms > 0 && is_alpha(c->t[ms - 1]))
                continue;
            int d = me <= s ? (int)(s - me) : ms >= e ? (int)(ms - e) + 8 : 0;
            if (best < 0 || d < best)
                best = d;
        }
    }
    return best;
}

static bool near(const ctx *c, size_t s, size_t e, const char *const *words)
{
    return ctx_dist(c, s, e, words) >= 0;
}

/* True when context `a` is present and no nearer than any other given distance. */
static bool ctx_wins(int a, int b, int cc, int d)
{
    return a >= 0 && (b < 0 || a <= b) && (cc < 0 || a <= cc) && (d < 0 || a <= d);
}

static const char *const ctx_phone[] = {"phone", "call", "tel", "mobile", "cell", "fax",
                                        "contact", "number", "whatsapp", "sms", "dial",
                                        "ring", "handy", "portable", "movil", NULL};
/* phone words that are not also said of other numbers ("NHS number", "card number") */
static const char *const ctx_phone_strong[] = {"phone", "call", "tel", "mobile", "cell",
                                               "fax", "contact", "whatsapp", "sms", "dial",
                                               "ring", "voicemail", "handy", "portable",
                                               "movil", NULL};
static const char *const ctx_ssn[] = {"ssn", "social security", "social sec", "ss#", NULL};
static const char *const ctx_itin[] = {"itin", "taxpayer", "tax id", NULL};
static const char *const ctx_passport[] = {"passport", "travel document", "passeport",
                                           "pasaporte", "reisepass", NULL};
static const char *const ctx_dl[] = {"driver", "driving", "licen", "dl#", "dl:", "dl ",
                                     "dln", "permis de conduire", "fuhrerschein", "f\xc3\xbchrerschein",
                                     NULL};
static const char *const ctx_dob[] = {"born", "birth", "dob", "d.o.b", "birthday", "age ",
                                      "age:", "aged", "geburt", "naissance", "nacimiento",
                                      "nascita", "ne le", "nee le", "n\xc3\xa9 le", "n\xc3\xa9" "e le",
                                      NULL};
static const char *const ctx_nhs[] = {"nhs", "health", "patient", NULL};
static const char *const ctx_card[] = {"card", "visa", "mastercard", "amex", "credit", NULL};

/* Bound check: the candidate must not run into more word characters. */
static bool word_end(const ctx *c, size_t e) { return e >= c->n || !is_alnum(c->t[e]); }
static bool word_start(const ctx *c, size_t s) { return s == 0 || !is_alnum(c->t[s - 1]); }

/* ------------------------------------------------------------ email ------------ */

/* Generic TLDs seen in practice plus every ISO 3166 country code TLD. */
static const char *const gtlds[] = {
    "com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "name", "pro", "mobi",
    "aero", "coop", "museum", "jobs", "travel", "tel", "asia", "cat", "io", "ai", "app",
    "dev", "site", "online", "store", "tech", "xyz", "club", "shop", "blog", "cloud",
    "email", "live", "life", "world", "news", "media", "agency", "company", "group",
    "solutions", "services", "systems", "network", "digital", "email", "global", "today",
    "website", "space", "design", "studio", "webcam", "vlaanderen", "berlin", "london",
    "nyc", "paris", "tokyo", "amsterdam", "page", "art", "health", "bank", "law", "money",
    "finance", "capital", "ventures", "partners", "consulting", "academy", "school",
    "university", "science", "social", "team", "zone", "works", "center", "support",
    "software", "codes", "host", "hosting", "link", "top", "win", "vip", "icu", "fun",
    "one", "run", "new", "local", "test", "example", "invalid", NULL};
static const char cctlds[] =
    "ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo "
    "br bs bt bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm "
    "do dz ec ee eg er es et eu fi fj fk fm fo fr ga gd ge gf gg gh gi gl gm gn gp gq gr gs "
    "gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km "
    "kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo mp "
    "mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk "
    "pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sk sl sm sn so sr ss "
    "st sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc "
    "ve vg vi vn vu wf ws ye yt za zm zw ";

/* 0: not a TLD, 1: country code, 2: generic. */
static int tld_kind(const unsigned char *s, size_t n)
{
    char low[32];
    if (n < 2 || n >= sizeof low)
        return 0;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)lower(s[i]);
    low[n] = '\0';
    if (n >= 4 && memcmp(low, "xn--", 4) == 0)
        return 2; /* internationalised TLD in punycode */
    for (size_t i = 0; i < n; i++)
        if (!is_lower((unsigned char)low[i]))
            return 0;
    if (n == 2) {
        char key[4] = {low[0], low[1], ' ', 0};
        return strstr(cctlds, key) && (strstr(cctlds, key) - cctlds) % 3 == 0 ? 1 : 0;
    }
    for (const char *const *g = gtlds; *g; g++)
        if (strcmp(*g, low) == 0)
            return 2;
    return 0;
}

static bool email_local(unsigned char c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' ||
           c == '\'';
}

/*
 * Parses a domain at t[i..): labels of [A-Za-z0-9-] joined by dots, at least two,
 * ending in a known TLD. Returns the end (0 when none) and the TLD kind.
 */
static size_t parse_domain(const ctx *c, size_t i, int *kind, size_t *labels)
{
    size_t p = i, last_label = i, end = 0;
    *labels = 0;
    *kind = 0;
    for (;;) {
        size_t ls = p;
        while (p < c->n && (is_alnum(c->t[p]) || c->t[p] == '-') && p - ls < 63)
            p++;
        if (p == ls || c->t[ls] == '-' || c->t[p - 1] == '-')
            break;
        (*labels)++;
        last_label = ls;
        end = p;
        if (p + 1 < c->n && c->t[p] == '.' && is_alnum(c->t[p + 1]))
            p++;
        else
            break;
    }
    if (*labels < 2)
        return 0;
    *kind = tld_kind(c->t + last_label, end - last_label);
    return *kind ? end : 0;
}

static __attribute__((noinline)) size_t scan_email(ctx *c, size_t at)
{
    size_t s = at;
    while (s > 0 && email_local(c->t[s - 1]) && at - s < 64)
        s--;
    while (s < at && (c->t[s] == '.' || c->t[s] == '\''))
        s++;
    if (s == at)
        return at + 1;
    int kind;
    size_t labels;
    size_t e = parse_domain(c, at + 1, &kind, &labels);
    if (!e)
        return at + 1;
    add(c, E_EMAIL, s, e, 1.0);
    return e;
}

/* ------------------------------------------------------------ URLs ------------- */

static bool url_char(unsigned char c)
{
    return c > ' ' && c != '"' && c != '\'' && c != '<' && c != '>' && c != '`' && c < 0x7f;
}

static bool prefix_ci(const ctx *c, size_t i, const char *p)
{
    size_t k = strlen(p);
    if (i + k > c->n)
        return false;
    for (size_t j = 0; j < k; j++)
        if (lower(c->t[i + j]) != (unsigned char)p[j])
            return false;
    return true;
}

static size_t url_tail(const ctx *c, size_t p)
{
    size_t s = p;
    int open = 0; /* '(' minus ')' in the path: a balanced ')' is kept ("Foo_(bar)") */
    while (p < c->n && url_char(c->t[p])) {
        open += c->t[p] == '(' ? 1 : c->t[p] == ')' ? -1 : 0;
        p++;
    }
    while (p > s && strchr(".,;:!?)]}", c->t[p - 1])) {
        if (c->t[p - 1] == ')' && open >= 0)
            break;
        open += c->t[p - 1] == ')';
        p--;
    }
    return p;
}

/* Country-code TLDs that are more often file name extensions (setup.py, README.md). */
static bool cc_file_ext(const unsigned char *t2)
{
    static const char ext[] = "md py rs sh pl pm so ps mk ml in am ac cc ai la ms sv mo ";
    char key[4] = {(char)lower(t2[0]), (char)lower(t2[1]), ' ', 0};
    const char *m = strstr(ext, key);
    return m && (m - ext) % 3 == 0;
}

/* The generic TLDs common enough that a bare "name.tld" is a domain (not "user.name"). */
static bool gtld_common(const unsigned char *s, size_t n)
{
    static const char *const common[] = {"com", "org", "net", "edu", "gov", "mil", "int",
                                         "info", "biz", "app", "dev", "xyz", NULL};
    for (const char *const *g = common; *g; g++) {
        size_t k = 0;
        while (k < n && (*g)[k] && lower(s[k]) == (unsigned char)(*g)[k])
            k++;
        if (k == n && !(*g)[k])
            return true;
    }
    return false;
}

/* At a word start: scheme URLs, www. hosts and bare domain names. */
static __attribute__((noinline)) size_t scan_url(ctx *c, size_t i)
{
    size_t p = i;
    bool scheme = false;
    if (prefix_ci(c, i, "https://"))
        p = i + 8, scheme = true;
    else if (prefix_ci(c, i, "http://"))
        p = i + 7, scheme = true;
    else if (prefix_ci(c, i, "ftp://"))
        p = i + 6, scheme = true;
    int kind;
    size_t labels;
    size_t host = parse_domain(c, p, &kind, &labels);
    if (!host) {
        /* a scheme followed by an IP address */
        if (!scheme)
            return 0;
        return 0;
    }
    if (host < c->n && c->t[host] == '@')
        return 0; /* an email's local part was a domain-like word */
    size_t e = host;
    if (e < c->n && (c->t[e] == '/' || c->t[e] == ':' || c->t[e] == '?' || c->t[e] == '#'))
        e = url_tail(c, e);
    double score;
    if (scheme)
        score = 0.85;
    else if (prefix_ci(c, i, "www."))
        score = 0.75;
    else {
        /* bare domain: file names (report.pdf, main.py) must not look like URLs */
        if (!word_end(c, host) && c->t[host] != '/' && c->t[host] != ':')
            return 0;
        if (host < c->n && c->t[host] == '.' && host + 1 < c->n && is_alnum(c->t[host + 1]))
            return 0;
        size_t tl = 0; /* the TLD is t[host - tl, host) */
        while (host - tl > i && c->t[host - tl - 1] != '.')
            tl++;
        score = kind == 2 ? 0.6 : 0.3;
        if (kind == 2 && labels < 3 && e <= host + 1 &&
            (!gtld_common(c->t + host - tl, tl) || is_upper(c->t[host - tl])))
            score = 0.4; /* user.name, tags.team, model.Info: code more than domains */
        else if (kind == 1 && labels >= 3)
            score = 0.6; /* google.co.il */
        else if (kind == 1 && e > host + 1)
            score = 0.6; /* a path after the host: bmw.de/models */
        else if (kind == 1 && !cc_file_ext(c->t + host - 2) && !is_upper(c->t[host - 2]))
            score = 0.5; /* bmw.de, but not setup.py, README.md, "works.It is" */
    }
    add(c, E_URL, i, e, score);
    return e;
}

/* ------------------------------------------------------------ checksums -------- */

static bool luhn(const int *d, size_t n)
{
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int v = d[n - 1 - i];
        if (i & 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

static bool card_prefix(const int *d, size_t n)
{
    int p2 = d[0] * 10 + d[1], p4 = p2 * 100 + d[2] * 10 + d[3];
    if (d[0] == 4)
        return n == 13 || n == 16 || n == 19;
    if (p4 == 2131 || p4 == 1800)
        return n == 15; /* JCB 15 */
    if (p4 >= 2200 && p4 <= 2204)
        return n >= 16; /* Mir */
    if (d[0] == 1)
        return n == 15; /* UATP */
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
        return n == 16;
    if (p2 == 34 || p2 == 37)
        return n == 15;
    if (p4 == 6011 || p2 == 65 || (p4 / 10 >= 644 && p4 / 10 <= 649))
        return n >= 16;
    if (p2 == 35)
        return n >= 16;
    if (p2 == 36 || p2 == 38 || p2 == 30)
        return n >= 14;
    if (p2 == 62 || p2 == 50 || (p2 >= 56 && p2 <= 69))
        return n >= 12;
    return false;
}

static bool nhs_valid(const int *d)
{
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += d[i] * (10 - i);
    int check = 11 - sum % 11;
    if (check == 11)
        check = 0;
    return check != 10 && check == d[9];
}

/* ------------------------------------------------------------ numbers ---------- */

/* A run of digits with single separators, as found from a word start. */
typedef struct numrun {
    int d[40];
    size_t nd;
    size_t start, end;
    char seps[40]; /* separator before each digit group after the first */
    int groups[40]; /* digits per group */
    size_t ng;
    bool plus, paren, closed;
} numrun;

static bool num_sep(unsigned char c) { return c == ' ' || c == '-' || c == '.' || c == '/'; }

static void read_run(const ctx *c, size_t i, numrun *r)
{
    memset(r, 0, sizeof *r);
    r->start = i;
    size_t p = i;
    if (c->t[p] == '+') {
        r->plus = true;
        p++;
    }
    if (p < c->n && c->t[p] == '(') {
        r->paren = true;
        p++;
    }
    char sep = 0;
    for (;;) {
        size_t gs = p;
        while (p < c->n && is_digit(c->t[p]) && r->nd < 40)
            r->d[r->nd++] = c->t[p++] - '0';
        if (p == gs)
            break;
        r->seps[r->ng] = sep;
        r->groups[r->ng++] = (int)(p - gs);
        r->end = p;
        if (r->ng >= 39 || r->nd >= 39)
            break;
        /* a separator of at most two bytes from " -./()" followed by a digit continues
         * the run: "555-0132", "(415) 555", "1 (415)", "12/03" */
        size_t q = p;
        sep = 0;
        int k = 0;
        while (q < c->n && k < 2 && (num_sep(c->t[q]) || c->t[q] == '(' || c->t[q] == ')')) {
            char ch = (char)c->t[q];
            if (ch == ')' && r->ng == 1)
                r->closed = true;
            if (ch == ' ' && r->groups[r->ng - 1] > 5 &&
                !(r->ng == 2 && r->groups[0] == 4 && r->groups[1] == 6))
                break; /* a space after a long group ends the number: "4111...1111 4012-..."
                          (but not Amex/Diners 4-6-5 and 4-6-4) */
            if (!sep || sep == '(' || sep == ')')
                sep = ch == '(' ? (sep ? sep : '(') : ch;
            q++;
            k++;
        }
        if (sep == '(')
            sep = ' ';
        /* a change of separator after the second group ends the number */
        if (sep && r->ng >= 4 && r->seps[r->ng - 1] && sep != r->seps[r->ng - 1])
            break;
        if (sep && q < c->n && is_digit(c->t[q]))
            p = q;
        else
            break;
    }
}

static bool all_seps(const numrun *r, char s)
{
    for (size_t g = 1; g < r->ng; g++)
        if (r->seps[g] != s)
            return false;
    return true;
}

static bool groups_are(const numrun *r, int a, int b, int cc)
{
    return r->ng == 3 && r->groups[0] == a && r->groups[1] == b && r->groups[2] == cc;
}

static int num_of(const int *d, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + d[i];
    return v;
}

static bool ssn_valid(const int *d)
{
    int area = num_of(d, 3), group = num_of(d + 3, 2), serial = num_of(d + 5, 4);
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
        return false;
    bool same = true;
    for (int i = 1; i < 9; i++)
        same = same && d[i] == d[0];
    if (same)
        return false;
    static const char *const bad[] = {"123456789", "078051120", "219099999", NULL};
    char s[10];
    for (int i = 0; i < 9; i++)
        s[i] = (char)('0' + d[i]);
    s[9] = 0;
    for (const char *const *b = bad; *b; b++)
        if (strcmp(*b, s) == 0)
            return false;
    return true;
}

static bool itin_valid(const int *d)
{
    int g = d[3] * 10 + d[4];
    return d[0] == 9 && ((g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) ||
                         (g >= 94 && g <= 99));
}

/* The 9-digit SSN/ITIN layouts: 3-2-4 with one separator kind, or partly separated. */
static bool ssn_layout(const numrun *r)
{
    if (r->nd != 9)
        return false;
    if (r->ng == 1)
        return true;
    if (groups_are(r, 3, 2, 4))
        return (all_seps(r, '-') || all_seps(r, '.') || all_seps(r, ' '));
    if (r->ng == 2 && ((r->groups[0] == 3 && r->groups[1] == 6) ||
                       (r->groups[0] == 5 && r->groups[1] == 4)))
        return r->seps[1] == '-' || r->seps[1] == ' ';
    return false;
}

static bool ipv4(const ctx *c, size_t i, size_t *end)
{
    size_t p = i;
    for (int part = 0; part < 4; part++) {
        size_t s = p;
        int v = 0;
        while (p < c->n && is_digit(c->t[p]) && p - s < 3)
            v = v * 10 + (c->t[p++] - '0');
        if (p == s || v > 255 || (p - s > 1 && c->t[s] == '0' && false))
            return false;
        if (part < 3) {
            if (p >= c->n || c->t[p] != '.')
                return false;
            p++;
        }
    }
    if (p < c->n && is_alnum(c->t[p]))
        return false;
    /* an optional CIDR suffix */
    if (p + 1 < c->n && c->t[p] == '/' && is_digit(c->t[p + 1])) {
        size_t q = p + 1;
        int v = 0;
        while (q < c->n && is_digit(c->t[q]) && q - p <= 2)
            v = v * 10 + (c->t[q++] - '0');
        if (v <= 32 && (q >= c->n || !is_alnum(c->t[q])))
            p = q;
    }
    *end = p;
    return true;
}

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                     "sep", "oct", "nov", "dec", NULL};

static size_t month_at(const ctx *c, size_t p)
{
    if (p + 3 > c->n)
        return 0;
    for (const char *const *m = months; *m; m++)
        if (lower(c->t[p]) == (*m)[0] && lower(c->t[p + 1]) == (*m)[1] &&
            lower(c->t[p + 2]) == (*m)[2]) {
            size_t q = p + 3;
            while (q < c->n && is_alpha(c->t[q]) && q - p < 9)
                q++;
            return q - p;
        }
    return 0;
}

/* An ISO 8601 time after a date ("T14:30", seconds, fraction, zone). */
static size_t iso_time(const ctx *c, size_t p)
{
    if (p + 5 >= c->n || c->t[p] != 'T' || !is_digit(c->t[p + 1]) || !is_digit(c->t[p + 2]) ||
        c->t[p + 3] != ':' || !is_digit(c->t[p + 4]) || !is_digit(c->t[p + 5]))
        return p;
    size_t q = p + 6;
    if (q + 2 < c->n && c->t[q] == ':' && is_digit(c->t[q + 1]) && is_digit(c->t[q + 2]))
        q += 3;
    if (q + 1 < c->n && c->t[q] == '.' && is_digit(c->t[q + 1])) {
        q++;
        while (q < c->n && is_digit(c->t[q]))
            q++;
    }
    if (q < c->n && c->t[q] == 'Z')
        q++;
    else if (q + 5 < c->n && (c->t[q] == '+' || c->t[q] == '-') && is_digit(c->t[q + 1]) &&
             is_digit(c->t[q + 2]) && c->t[q + 3] == ':' && is_digit(c->t[q + 4]) &&
             is_digit(c->t[q + 5]))
        q += 6;
    return q;
}

static bool date_like(const numrun *r, size_t *end_digits)
{
    (void)end_digits;
    if (r->ng == 3) {
        char s = r->seps[1];
        if (r->seps[2] != s || (s != '/' && s != '-' && s != '.'))
            return false;
        int a = r->groups[0], b = r->groups[1], cc = r->groups[2];
        if (a == 4 && b <= 2 && cc <= 2) { /* 2021-05-21 */
            int m = num_of(r->d + 4, (size_t)b), d = num_of(r->d + 4 + b, (size_t)cc);
            return m >= 1 && m <= 12 && d >= 1 && d <= 31;
        }
        if (a <= 2 && b <= 2 && (cc == 4 || cc == 2)) {
            int x = num_of(r->d, (size_t)a), y = num_of(r->d + a, (size_t)b);
            return x >= 1 && y >= 1 && ((x <= 12 && y <= 31) || (x <= 31 && y <= 12));
        }
        return false;
    }
    if (r->ng == 2 && r->seps[1] == '/') { /* 05/21, 5/2021 */
        int a = r->groups[0], b = r->groups[1];
        int x = num_of(r->d, (size_t)a);
        return a <= 2 && x >= 1 && x <= 12 && (b == 2 || b == 4);
    }
    return false;
}

/* A month name or its three-letter abbreviation ("Sept" too) as a whole word at p;
 * returns its length (an abbreviation's '.' included) or 0. */
static size_t month_word(const ctx *c, size_t p)
{
    static const char *const names[] = {"january", "february", "march", "april",
                                        "may", "june", "july", "august",
                                        "september", "october", "november", "december"};
    size_t q = p;
    while (q < c->n && is_alpha(c->t[q]) && q - p < 10)
        q++;
    size_t wl = q - p;
    if (wl < 3 || wl > 9 || (q < c->n && is_alnum(c->t[q])))
        return 0;
    for (int m = 0; m < 12; m++) {
        size_t nl = strlen(names[m]);
        if (wl != nl && wl != 3 && !(wl == 4 && m == 8))
            continue;
        size_t k = 0;
        while (k < wl && lower(c->t[p + k]) == (unsigned char)names[m][k])
            k++;
        if (k == wl) {
            if (wl < nl && q < c->n && c->t[q] == '.')
                q++;
            return q - p;
        }
    }
    return 0;
}

/* A day of the month at p ("7", "21", "21st"); returns its end or 0. */
static size_t day_at(const ctx *c, size_t p)
{
    size_t q = p;
    int v = 0;
    while (q < c->n && is_digit(c->t[q]) && q - p < 3)
        v = v * 10 + (c->t[q++] - '0');
    if (q == p || q - p > 2 || v < 1 || v > 31)
        return 0;
    if (q + 1 < c->n) {
        unsigned char x = lower(c->t[q]), y = lower(c->t[q + 1]);
        if ((x == 's' && y == 't') || (x == 'n' && y == 'd') || (x == 'r' && y == 'd') ||
            (x == 't' && y == 'h'))
            q += 2;
    }
    return word_end(c, q) ? q : 0;
}

/* A four-digit year 1900..2099 at p; returns its end or 0. */
static size_t year_at(const ctx *c, size_t p)
{
    if (p + 4 > c->n)
        return 0;
    int v = 0;
    for (size_t k = 0; k < 4; k++) {
        if (!is_digit(c->t[p + k]))
            return 0;
        v = v * 10 + (c->t[p + k] - '0');
    }
    return v >= 1900 && v <= 2099 && word_end(c, p + 4) ? p + 4 : 0;
}

/* After a day or a month: an optional ',' then one space; returns where the next part
 * starts or 0. */
static size_t date_gap(const ctx *c, size_t p)
{
    if (p < c->n && c->t[p] == ',')
        p++;
    return p < c->n && c->t[p] == ' ' ? p + 1 : 0;
}

/* Dates with a month name: "March 14, 1985", "Mar 14 1985", "14 March 1985",
 * "14th of March, 1985". At a word start; returns the end or 0. */
static size_t named_date(const ctx *c, size_t i)
{
    size_t p, q;
    if (is_digit(c->t[i])) {
        if (!(p = day_at(c, i)) || !(p = date_gap(c, p)))
            return 0;
        if (p + 3 < c->n && lower(c->t[p]) == 'o' && lower(c->t[p + 1]) == 'f' &&
            c->t[p + 2] == ' ')
            p += 3;
        if (!(q = month_word(c, p)) || !(p = date_gap(c, p + q)))
            return 0;
        return year_at(c, p);
    }
    if (!(q = month_word(c, i)) || !(p = date_gap(c, i + q)))
        return 0;
    size_t y = year_at(c, p);
    if (y) /* "March 1985": only as a date of birth */
        return near(c, i, y, ctx_dob) ? y : 0;
    if (!(p = day_at(c, p)) || !(p = date_gap(c, p)))
        return 0;
    return year_at(c, p);
}

/* The start of the word before "<word> <digit>" or "<word>. <digit>" at i, or i when
 * there is none: a month-first date is found from its day or year, so the scan of
 * ordinary words pays nothing for it. */
static size_t word_before(const ctx *c, size_t i)
{
    if (i < 4 || c->t[i - 1] != ' ')
        return i;
    size_t p = i - 1;
    if (c->t[p - 1] == '.')
        p--;
    size_t ws = p;
    while (ws > 0 && is_alpha(c->t[ws - 1]) && p - ws < 10)
        ws--;
    if (p - ws < 3 || p - ws > 9 || (ws > 0 && is_alnum(c->t[ws - 1])))
        return i;
    return ws;
}

/* A phone extension right after a number: "x123", " ext. 123", " ext 123". */
static size_t phone_ext(const ctx *c, size_t p)
{
    size_t q = p;
    if (q < c->n && lower(c->t[q]) == 'x')
        q++;
    else if (q + 4 < c->n && c->t[q] == ' ' && lower(c->t[q + 1]) == 'e' &&
             lower(c->t[q + 2]) == 'x' && lower(c->t[q + 3]) == 't') {
        q += 4;
        if (c->t[q] == '.')
            q++;
        if (q < c->n && c->t[q] == ' ')
            q++;
    } else
        return 0;
    size_t ds = q;
    while (q < c->n && is_digit(c->t[q]) && q - ds < 6)
        q++;
    return q > ds && q - ds <= 5 && word_end(c, q) ? q : 0;
}

/* At a word start on a digit, '+' or '('. Returns where scanning continues. */
static size_t scan_number(ctx *c, size_t i)
{
    size_t e;
    if (c->t[i] == '(' && i + 1 < c->n && ipv4(c, i + 1, &e)) {
        if (enabled(c, E_IP))
            add(c, E_IP, i + 1, e, 0.95);
        return e;
    }
    if (is_digit(c->t[i]) && ipv4(c, i, &e)) {
        if (enabled(c, E_IP))
            add(c, E_IP, i, e, 0.95);
        return e;
    }
    if (enabled(c, E_DATE) && is_digit(c->t[i])) {
        size_t ws = word_before(c, i); /* "March 14, 1985", "March 1985" */
        if ((ws < i && (e = named_date(c, ws)) > i) || (ws = i, e = named_date(c, i)) != 0) {
            add(c, E_DATE, ws, e, near(c, ws, e, ctx_dob) ? 0.85 : 0.3);
            return e;
        }
    }
    numrun r;
    read_run(c, i, &r);
    if (r.nd == 0)
        return i + 1;
    /* ISO 8601 date-times: 2024-03-15T14:30:00Z */
    if (enabled(c, E_DATE) && r.ng == 3 && r.groups[0] == 4 && r.seps[1] == '-' &&
        r.seps[2] == '-' && r.end < c->n && c->t[r.end] == 'T') {
        size_t de = iso_time(c, r.end);
        if (de > r.end && word_end(c, de)) {
            add(c, E_DATE, i, de, near(c, i, de, ctx_dob) ? 0.85 : 0.3);
            return de;
        }
    }
    /* the run must end at a word boundary (not "123abc"), or at a phone extension */
    size_t ext = r.end < c->n && (lower(c->t[r.end]) == 'x' || c->t[r.end] == ' ')
                     ? phone_ext(c, r.end)
                     : 0;
    if (!ext && !word_end(c, r.end)) {
        size_t p = r.end;
        while (p < c->n && is_alnum(c->t[p]))
            p++;
        return p;
    }
    e = r.end;
    /* "(4111 1111 1111 1111)", "(123456789)": the parenthesis is punctuation, not an
     * area code; scan again from the digit */
    if (r.paren && (!r.closed || r.ng == 1))
        return c->t[i] == '(' ? i + 1 : e;
    bool plain = !r.plus && !r.paren;

    /* dates (with an optional ISO time), and month-name dates "5-May-2021", "21-May" */
    if (enabled(c, E_DATE) && plain && !ext) {
        size_t de = e;
        bool is_date = date_like(&r, &de);
        if (is_date && r.ng == 3 && r.groups[0] == 4)
            de = iso_time(c, e);
        if (!is_date && r.ng == 1 && r.groups[0] <= 2 && e + 1 < c->n && c->t[e] == '-') {
            size_t m = month_at(c, e + 1);
            if (m) {
                de = e + 1 + m;
                if (de + 1 < c->n && c->t[de] == '-' && is_digit(c->t[de + 1])) {
                    size_t q = de + 1;
                    while (q < c->n && is_digit(c->t[q]) && q - de <= 4)
                        q++;
                    de = q;
                }
                is_date = word_end(c, de);
            }
        }
        if (is_date) {
            add(c, E_DATE, i, de, near(c, i, de, ctx_dob) ? 0.85 : 0.3);
            return de;
        }
    }

    /* payment cards: 13..19 digits, separators all spaces or all dashes, Luhn */
    if (enabled(c, E_CARD) && plain && !ext && r.nd >= 12 && r.nd <= 19 &&
        (r.ng == 1 || all_seps(&r, ' ') || all_seps(&r, '-')) && luhn(r.d, r.nd) &&
        card_prefix(r.d, r.nd)) {
        add(c, E_CARD, i, e, 1.0);
        return e;
    }
    if (plain && !ext && ssn_layout(&r)) {
        bool iv = itin_valid(r.d) && enabled(c, E_ITIN);
        bool sv = ssn_valid(r.d) && enabled(c, E_SSN);
        if (r.ng > 1) {
            if (iv) {
                /* 3-2-4 is the ITIN layout; 5-4 is also a ZIP+4 code */
                add(c, E_ITIN, i, e, (r.ng == 3 ? 0.85 : 0.3) + (near(c, i, e, ctx_itin) ? 0.3 : 0));
                return e;
            }
            if (sv) {
                add(c, E_SSN, i, e, (r.ng == 3 ? 0.85 : 0.3) + (near(c, i, e, ctx_ssn) ? 0.35 : 0));
                if (r.ng == 3)
                    return e;
            }
            if (sv)
                return e;
        } else {
            /* nine bare digits: an SSN, an ITIN, a passport or a licence number; the
             * nearest context word picks one label */
            bool pe = enabled(c, E_PASSPORT), de = enabled(c, E_DL);
            int dI = iv ? ctx_dist(c, i, e, ctx_itin) : -1;
            int dS = sv ? ctx_dist(c, i, e, ctx_ssn) : -1;
            int dP = pe ? ctx_dist(c, i, e, ctx_passport) : -1;
            int dD = de ? ctx_dist(c, i, e, ctx_dl) : -1;
            if (ctx_wins(dI, dS, dP, dD))
                add(c, E_ITIN, i, e, 0.6);
            else if (ctx_wins(dS, dI, dP, dD))
                add(c, E_SSN, i, e, 0.65);
            else if (ctx_wins(dP, dI, dS, dD))
                add(c, E_PASSPORT, i, e, 0.8);
            else if (ctx_wins(dD, dI, dS, dP))
                add(c, E_DL, i, e, 0.75);
            else {
                if (iv)
                    add(c, E_ITIN, i, e, 0.3);
                if (sv)
                    add(c, E_SSN, i, e, 0.3);
                if (pe)
                    add(c, E_PASSPORT, i, e, 0.1);
                if (de)
                    add(c, E_DL, i, e, 0.05);
            }
            return e;
        }
    }
    /* distance to a phone word, looked up once and only when needed */
    int d_tel = -2;
#define D_TEL() (d_tel == -2 ? (d_tel = enabled(c, E_PHONE) ? ctx_dist(c, i, e, ctx_phone_strong) : -1) : d_tel)
    /* US driver licences with only digits (7..14; TX, NY, WA...): by context only */
    if (enabled(c, E_DL) && plain && !ext && r.ng == 1 && r.nd >= 7 && r.nd <= 14) {
        int dD = ctx_dist(c, i, e, ctx_dl);
        if (dD >= 0 &&
            ctx_wins(dD, D_TEL(), enabled(c, E_NHS) ? ctx_dist(c, i, e, ctx_nhs) : -1, -1)) {
            add(c, E_DL, i, e, 0.75);
            return e;
        }
    }
    /* UK NHS numbers: 3-3-4 (spaces or dashes) or ten digits, mod 11. A US-style phone
     * number passes mod 11 one time in eleven: without an NHS word nearer than a phone
     * word, a number laid out like a phone number is left to the phone rules. */
    bool nhs_layout = plain && !ext && r.nd == 10 &&
                      (r.ng == 1 || (groups_are(&r, 3, 3, 4) && (all_seps(&r, ' ') || all_seps(&r, '-'))));
    int d_nhs = nhs_layout && (enabled(c, E_NHS) || enabled(c, E_PHONE))
                    ? ctx_dist(c, i, e, (const char *const[]){"nhs", NULL})
                    : -1;
    if (enabled(c, E_NHS) && nhs_layout && nhs_valid(r.d)) {
        bool phone_like = enabled(c, E_PHONE) && r.ng == 3 && r.d[0] >= 2 && r.d[3] >= 2;
        if ((D_TEL() < 0 && near(c, i, e, ctx_nhs)) || ctx_wins(d_nhs, D_TEL(), -1, -1)) {
            add(c, E_NHS, i, e, 1.0);
            return e;
        }
        if (D_TEL() < 0 && !phone_like) {
            add(c, E_NHS, i, e, r.ng == 1 ? 0.5 : 0.6);
            return e;
        }
    }
    /* US driver licences: digits-only states (7..14 digits) score low without context */
    if (enabled(c, E_DL) && r.ng == 1 && !r.plus && r.nd >= 9 && r.nd <= 13 &&
        !enabled(c, E_PHONE))
        add(c, E_DL, i, e, near(c, i, e, ctx_dl) ? 0.75 : 0.05);
    /* phone numbers (not a number an NHS word is nearer to: "NHS no. 943 476 5910") */
    if (enabled(c, E_PHONE) && !(nhs_layout && d_nhs >= 0 && ctx_wins(d_nhs, D_TEL(), -1, -1))) {
        double s = 0;
        if (r.plus && r.nd >= 8 && r.nd <= 15)
            s = r.ng > 1 ? 0.8 : 0.7; /* E.164 */
        else if (r.paren && r.nd == 10 && r.groups[0] == 3 && r.d[0] >= 2)
            s = 0.8; /* (555) 123-4567 */
        else if (r.nd == 10 && groups_are(&r, 3, 3, 4) && r.d[0] >= 2 &&
                 (all_seps(&r, '-') || all_seps(&r, '.') || all_seps(&r, ' ')))
            s = 0.75;
        else if (r.nd == 11 && r.d[0] == 1 && r.ng == 4 && r.groups[0] == 1)
            s = 0.75; /* 1-555-123-4567 */
        else if (r.d[0] == 0 && r.nd >= 10 && r.nd <= 11 && r.ng >= 2 && r.ng <= 3 &&
                 !all_seps(&r, '/') && !all_seps(&r, '.'))
            s = 0.6; /* national trunk prefix: 020 7946 0958, 07700 900123 */
        else if (r.d[0] == 0 && r.nd == 10 && r.ng == 5 && r.groups[0] == 2 &&
                 r.groups[1] == 2 && r.groups[2] == 2 && r.groups[3] == 2 &&
                 (all_seps(&r, ' ') || all_seps(&r, '.') || all_seps(&r, '-')))
            s = 0.6; /* French national: 06 12 34 56 78 */
        else if (r.d[0] == 0 && r.d[1] == 0 && r.nd >= 10 && r.nd <= 15)
            s = 0.6; /* 00 international prefix */
        else if (r.nd >= 10 && r.nd <= 11 && r.ng == 1)
            s = 0.3;
        else if (r.nd == 7 && r.ng == 2 && r.groups[0] == 3 && r.seps[1] == '-')
            s = 0.3;
        if (s > 0) {
            if (near(c, i, e, ctx_phone))
                s += 0.25;
            if (ext)
                e = ext;
            add(c, E_PHONE, i, e, s);
            return e;
        }
    }
#undef D_TEL
    if (ext)
        return ext;
    if (r.nd >= 13 && r.nd <= 19 && enabled(c, E_CARD) && luhn(r.d, r.nd) && near(c, i, e, ctx_card))
        add(c, E_CARD, i, e, 0.6);
    return e;
}

/* ------------------------------------------------------------ IBAN ------------- */

static const struct { char cc[3]; uint8_t len; } iban_lengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22},
    {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20},
    {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
    {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
    {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21},
    {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33},
    {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
    {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29},
    {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30}, {"DZ", 26}, {"AO", 25}, {"BF", 28},
    {"BJ", 28}, {"CI", 28}, {"CM", 27}, {"CV", 25}, {"GA", 27}, {"IR", 26}, {"MG", 27},
    {"ML", 28}, {"MZ", 25}, {"SN", 28},
};

static int iban_len(unsigned char a, unsigned char b)
{
    for (size_t k = 0; k < MLOPS__ARRAY_LEN(iban_lengths); k++)
        if (iban_lengths[k].cc[0] == a && iban_lengths[k].cc[1] == b)
            return iban_lengths[k].len;
    return 0;
}

static __attribute__((noinline)) size_t scan_iban(ctx *c, size_t i)
{
    unsigned char a = (unsigned char)(c->t[i] & ~32), b = (unsigned char)(c->t[i + 1] & ~32);
    int want = iban_len(a, b);
    if (!want || i + 4 > c->n || !is_digit(c->t[i + 2]) || !is_digit(c->t[i + 3]))
        return 0;
    char buf[40];
    size_t k = 0, p = i, end = i;
    char sep = 0;
    size_t since_sep = 0;
    while (p < c->n && k < (size_t)want) {
        unsigned char ch = c->t[p];
        if (is_alnum(ch)) {
            buf[k++] = (char)(is_lower(ch) ? ch - 32 : ch);
            p++;
            since_sep++;
            end = p;
        } else if ((ch == ' ' || ch == '-') && since_sep == 4 && (!sep || sep == ch) &&
                   p + 1 < c->n && is_alnum(c->t[p + 1])) {
            sep = (char)ch;
            since_sep = 0;
            p++;
        } else
            break;
    }
    if (k != (size_t)want || !word_end(c, end))
        return 0;
    bool lo = false;
    for (size_t j = i; j < end; j++)
        lo = lo || is_lower(c->t[j]);
    if (lo)
        return 0; /* IBANs are written in capitals; "LV80 bANK ..." is not one */
    /* ISO 13616: move the first four characters to the end, letters A=10..Z=35, mod 97 */
    unsigned rem = 0;
    for (size_t j = 0; j < k; j++) {
        char ch = buf[(j + 4) % k];
        if (is_digit((unsigned char)ch))
            rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
        else
            rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
    }
    if (rem != 1)
        return 0;
    add(c, E_IBAN, i, end, 1.0);
    return end;
}

/* ------------------------------------------------------------ UK NINO ---------- */

static size_t scan_nino(ctx *c, size_t i)
{
    unsigned char a = (unsigned char)(c->t[i] & ~32), b = (unsigned char)(c->t[i + 1] & ~32);
    if (strchr("DFIQUV", a) || strchr("DFIOQUV", b))
        return 0;
    static const char *const bad[] = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ", NULL};
    for (const char *const *x = bad; *x; x++)
        if ((*x)[0] == a && (*x)[1] == b)
            return 0;
    /* the letters must share a case */
    if (is_upper(c->t[i]) != is_upper(c->t[i + 1]))
        return 0;
    size_t p = i + 2;
    if (p < c->n && c->t[p] == ' ')
        p++;
    bool pairs = p + 2 < c->n && c->t[p + 2] == ' ';
    for (int digits = 0; digits < 6; digits++) {
        if (pairs && digits > 0 && digits % 2 == 0) {
            if (p >= c->n || c->t[p] != ' ')
                return 0;
            p++;
        }
        if (p >= c->n || !is_digit(c->t[p]))
            return 0;
        p++;
    }
    if (p < c->n && c->t[p] == ' ')
        p++;
    if (p >= c->n)
        return 0;
    unsigned char s = (unsigned char)(c->t[p] & ~32);
    if (s < 'A' || s > 'D' || !is_alpha(c->t[p]) || !word_end(c, p + 1))
        return 0;
    add(c, E_NINO, i, p + 1, 0.85);
    return p + 1;
}

/* ------------------------------------------------------------ passports, DL ---- */

static __attribute__((noinline)) size_t scan_letter_id(ctx *c, size_t i)
{
    /* one letter then 8 digits: US passport (next generation), or a state licence */
    size_t p = i + 1;
    while (p < c->n && is_digit(c->t[p]))
        p++;
    size_t nd = p - i - 1;
    if (nd == 3 && enabled(c, E_DL)) {
        /* Florida-style licence: L123-456-78-901-2 */
        static const int groups[4] = {3, 2, 3, 1};
        size_t q = p;
        for (int g = 0; g < 4 && q; g++) {
            if (q >= c->n || c->t[q] != '-')
                q = 0;
            else {
                size_t s = ++q;
                while (q < c->n && is_digit(c->t[q]))
                    q++;
                if (q - s != (size_t)groups[g])
                    q = 0;
            }
        }
        if (q && word_end(c, q)) {
            add(c, E_DL, i, q, near(c, i, q, ctx_dl) ? 0.8 : 0.4);
            return q;
        }
    }
    if (!word_end(c, p) || nd < 6 || nd > 14)
        return 0;
    /* one label: the one whose context word is nearest */
    int dP = nd == 8 && enabled(c, E_PASSPORT) ? ctx_dist(c, i, p, ctx_passport) : -1;
    int dD = enabled(c, E_DL) ? ctx_dist(c, i, p, ctx_dl) : -1;
    if (ctx_wins(dP, dD, -1, -1))
        add(c, E_PASSPORT, i, p, 0.8);
    else if (dD >= 0)
        add(c, E_DL, i, p, 0.75);
    else {
        if (nd == 8 && enabled(c, E_PASSPORT))
            add(c, E_PASSPORT, i, p, 0.1);
        if (enabled(c, E_DL))
            add(c, E_DL, i, p, 0.1);
    }
    return p;
}

/* ------------------------------------------------------------ MAC / IPv6 ------- */

static __attribute__((noinline)) size_t scan_mac(ctx *c, size_t i)
{
    const unsigned char *t = c->t;
    if (i + 14 <= c->n && is_hex(t[i]) && is_hex(t[i + 1]) && is_hex(t[i + 2]) &&
        is_hex(t[i + 3]) && t[i + 4] == '.') { /* Cisco 0012.3456.789a */
        for (int g = 0; g < 3; g++)
            for (int k = 0; k < 4; k++)
                if (!is_hex(t[i + (size_t)g * 5 + (size_t)k]))
                    return 0;
        if (t[i + 9] != '.' || !word_end(c, i + 14))
            return 0;
        add(c, E_MAC, i, i + 14, 0.85);
        return i + 14;
    }
    if (i + 17 > c->n)
        return 0;
    unsigned char sep = t[i + 2];
    if (sep != ':' && sep != '-')
        return 0;
    bool all_same = true, all_zero = true, all_f = true;
    for (int g = 0; g < 6; g++) {
        size_t p = i + (size_t)g * 3;
        if (!is_hex(t[p]) || !is_hex(t[p + 1]))
            return 0;
        if (g < 5 && t[p + 2] != sep)
            return 0;
        all_same = all_same && lower(t[p]) == lower(t[i]) && lower(t[p + 1]) == lower(t[i + 1]);
        all_zero = all_zero && t[p] == '0' && t[p + 1] == '0';
        all_f = all_f && lower(t[p]) == 'f' && lower(t[p + 1]) == 'f';
    }
    if (!word_end(c, i + 17) || (i + 17 < c->n && t[i + 17] == sep))
        return 0;
    if (all_zero || all_f)
        return i + 17; /* null and broadcast addresses identify no one */
    (void)all_same;
    add(c, E_MAC, i, i + 17, 0.85);
    return i + 17;
}

/* RFC 4291 section 2.2 text forms: 8 groups, "::" compression, an IPv4 tail. */
static __attribute__((noinline)) size_t scan_ipv6(ctx *c, size_t i)
{
    size_t p = i, groups = 0, end = i;
    bool dbl = false;
    if (i > 0 && c->t[i - 1] == ':')
        return 0; /* glued to a word by a colon ("foo:db8::1"): not an address start */
    if (p + 1 < c->n && c->t[p] == ':' && c->t[p + 1] == ':') {
        dbl = true;
        p += 2;
        end = p;
    }
    while (p < c->n) {
        size_t s = p;
        /* an embedded IPv4 address ends the address and counts as two groups */
        size_t v4e;
        if ((dbl || groups == 6) && is_digit(c->t[p]) && ipv4(c, p, &v4e)) {
            groups += 2;
            end = v4e;
            p = v4e;
            break;
        }
        while (p < c->n && is_hex(c->t[p]) && p - s < 5)
            p++;
        if (p == s)
            break;
        if (p - s > 4)
            return 0;
        groups++;
        end = p;
        if (p + 1 < c->n && c->t[p] == ':' && c->t[p + 1] == ':') {
            if (dbl)
                return 0;
            dbl = true;
            p += 2;
            end = p;
        } else if (p + 1 < c->n && c->t[p] == ':' && is_hex(c->t[p + 1]))
            p++;
        else
            break;
    }
    if (groups > 8 || (!dbl && groups != 8) || (dbl && groups > 7))
        return 0;
    if (end < c->n && (is_alnum(c->t[end]) || c->t[end] == ':' ||
                       (c->t[end] == '.' && end + 1 < c->n && is_digit(c->t[end + 1]))))
        return 0;
    /* a zone index: fe80::1%eth0 */
    if (end + 1 < c->n && c->t[end] == '%' && is_alnum(c->t[end + 1])) {
        end++;
        while (end < c->n && is_alnum(c->t[end]))
            end++;
    }
    if (enabled(c, E_IP))
        add(c, E_IP, i, end, groups == 0 ? 0.5 : dbl ? 0.75 : 0.9);
    return end;
}

/* ------------------------------------------------------------ crypto wallets --- */

static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static bool base58check(const unsigned char *s, size_t n)
{
    unsigned char out[32] = {0};
    for (size_t i = 0; i < n; i++) {
        const char *pos = strchr(b58, s[i]);
        if (!pos || !s[i])
            return false;
        unsigned carry = (unsigned)(pos - b58);
        for (int k = 24; k >= 0; k--) {
            carry += 58u * out[k];
            out[k] = (unsigned char)(carry & 0xff);
            carry >>= 8;
        }
        if (carry)
            return false;
    }
    unsigned char h1[32], h2[32];
    mlops__guard_sha256(out, 21, h1);
    mlops__guard_sha256(h1, 32, h2);
    return memcmp(h2, out + 21, 4) == 0;
}

static uint32_t bech32_polymod(const uint8_t *v, size_t n)
{
    static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    uint32_t chk = 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t top = (uint8_t)(chk >> 25);
        chk = ((chk & 0x1ffffff) << 5) ^ v[i];
        for (int k = 0; k < 5; k++)
            if ((top >> k) & 1)
                chk ^= gen[k];
    }
    return chk;
}

/* BIP-173 (bech32, constant 1) and BIP-350 (bech32m) checksums for a "bc1" address. */
static bool bech32_valid(const unsigned char *s, size_t n)
{
    static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    uint8_t v[100];
    size_t k = 0;
    v[k++] = 'b' >> 5, v[k++] = 'c' >> 5, v[k++] = 0, v[k++] = 'b' & 31, v[k++] = 'c' & 31;
    for (size_t i = 3; i < n; i++) {
        const char *pos = strchr(charset, lower(s[i]));
        if (!pos || !s[i])
            return false;
        v[k++] = (uint8_t)(pos - charset);
    }
    uint32_t pm = bech32_polymod(v, k);
    return pm == 1 || pm == 0x2bc830a3;
}

static __attribute__((noinline)) size_t scan_crypto(ctx *c, size_t i)
{
    size_t p = i;
    if (lower(c->t[i]) == 'b' && prefix_ci(c, i, "bc1")) {
        bool up = false, lo = false; /* all lower or all upper case (BIP-173) */
        while (p < c->n && is_alnum(c->t[p]) && p - i < 91) {
            up = up || is_upper(c->t[p]);
            lo = lo || is_lower(c->t[p]);
            p++;
        }
        if (p - i >= 14 && p - i <= 74 && !(up && lo) && word_end(c, p) &&
            bech32_valid(c->t + i, p - i)) {
            add(c, E_CRYPTO, i, p, 1.0);
            return p;
        }
        return 0;
    }
    while (p < c->n && is_alnum(c->t[p]) && p - i < 40)
        p++;
    if (p - i < 26 || p - i > 35 || !word_end(c, p) || !base58check(c->t + i, p - i))
        return 0;
    add(c, E_CRYPTO, i, p, 1.0);
    return p;
}

/* Keccak-256 (the pre-standard SHA-3 padding Ethereum uses) of at most 135 bytes. */
static void keccak256_short(const unsigned char *msg, size_t n, unsigned char out[32])
{
    static const uint64_t rc[24] = {
        0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808Aull,
        0x8000000080008000ull, 0x000000000000808Bull, 0x0000000080000001ull,
        0x8000000080008081ull, 0x8000000000008009ull, 0x000000000000008Aull,
        0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000Aull,
        0x000000008000808Bull, 0x800000000000008Bull, 0x8000000000008089ull,
        0x8000000000008003ull, 0x8000000000008002ull, 0x8000000000000080ull,
        0x000000000000800Aull, 0x800000008000000Aull, 0x8000000080008081ull,
        0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull};
    /* rotation of lane x + 5y */
    static const unsigned rot[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                                     25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};
    unsigned char block[136] = {0};
    memcpy(block, msg, n);
    block[n] ^= 0x01;
    block[135] ^= 0x80;
    uint64_t a[25] = {0}, b[25], cc[5];
    for (int k = 0; k < 17; k++)
        for (int j = 0; j < 8; j++)
            a[k] |= (uint64_t)block[8 * k + j] << (8 * j);
    for (int round = 0; round < 24; round++) {
        for (int x = 0; x < 5; x++)
            cc[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; x++) {
            uint64_t d = cc[(x + 4) % 5] ^ ((cc[(x + 1) % 5] << 1) | (cc[(x + 1) % 5] >> 63));
            for (int y = 0; y < 25; y += 5)
                a[x + y] ^= d;
        }
        for (int x = 0; x < 5; x++)
            for (int y = 0; y < 5; y++) {
                uint64_t v = a[x + 5 * y];
                unsigned r = rot[x + 5 * y];
                b[y + 5 * ((2 * x + 3 * y) % 5)] = r ? (v << r) | (v >> (64 - r)) : v;
            }
        for (int y = 0; y < 25; y += 5)
            for (int x = 0; x < 5; x++)
                a[x + y] = b[x + y] ^ (~b[(x + 1) % 5 + y] & b[(x + 2) % 5 + y]);
        a[0] ^= rc[round];
    }
    for (int j = 0; j < 32; j++)
        out[j] = (unsigned char)(a[j / 8] >> (8 * (j % 8)));
}

/* Ethereum: "0x" and 40 hex digits; mixed case must carry a valid EIP-55 checksum. */
static size_t scan_eth(ctx *c, size_t i)
{
    const unsigned char *h = c->t + i + 2;
    if (i + 42 > c->n || !word_end(c, i + 42))
        return 0;
    bool up = false, lo = false;
    unsigned char low[40];
    for (int k = 0; k < 40; k++) {
        if (!is_hex(h[k]))
            return 0;
        up = up || is_upper(h[k]);
        lo = lo || is_lower(h[k]);
        low[k] = lower(h[k]);
    }
    if (up && lo) {
        unsigned char hash[32];
        keccak256_short(low, 40, hash);
        for (int k = 0; k < 40; k++) {
            unsigned nib = k % 2 ? hash[k / 2] & 15 : hash[k / 2] >> 4;
            if (is_alpha(h[k]) && (nib >= 8) != is_upper(h[k]))
                return 0;
        }
    }
    add(c, E_CRYPTO, i, i + 42, up && lo ? 1.0 : 0.8);
    return i + 42;
}

/* ------------------------------------------------------------ month-name dates -- */

static __attribute__((noinline)) size_t scan_month_date(ctx *c, size_t i)
{
    size_t m = month_at(c, i);
    if (!m || i + m + 2 > c->n || c->t[i + m] != '-' || !is_digit(c->t[i + m + 1]))
        return 0;
    size_t p = i + m + 1, s = p;
    while (p < c->n && is_digit(c->t[p]))
        p++;
    if ((p - s != 2 && p - s != 4) || !word_end(c, p))
        return 0;
    add(c, E_DATE, i, p, near(c, i, p, ctx_dob) ? 0.85 : 0.3);
    return p;
}

/* ------------------------------------------------------------ the pass --------- */

static void scan_gazetteer(mlops__gscan *sc);
static void scan_custom(mlops__gscan *sc);

/* Bytes a pattern recognizer can start from. Every recognizer below needs one of them
 * in the word it starts at or in the word after (a digit, '@', ':', '-', '+', '(' or a
 * '.' inside a token), so stretches of prose without them are skipped eight bytes at a
 * time, which is most of ordinary text. */
static const bool may_start[256] = {
    ['0' ... '9'] = true, ['@'] = true, [':'] = true, ['-'] = true, ['+'] = true,
    ['('] = true, ['.'] = true,
};

/* The first byte at or after i that may start a match ('.' only when a token goes on). */
static size_t next_candidate(const unsigned char *t, size_t n, size_t i)
{
    for (;;) {
        while (i + 8 <= n && !(may_start[t[i]] | may_start[t[i + 1]] | may_start[t[i + 2]] |
                               may_start[t[i + 3]] | may_start[t[i + 4]] | may_start[t[i + 5]] |
                               may_start[t[i + 6]] | may_start[t[i + 7]]))
            i += 8;
        while (i < n && !may_start[t[i]])
            i++;
        if (i >= n || t[i] != '.' || (i + 1 < n && is_alnum(t[i + 1])))
            return i;
        i++;
    }
}

/* Where the main loop must resume to see a candidate at p: the start of the word before
 * p's word (a recognizer may start one word early: "AB 12 34 56 C"), never before lo. */
static size_t resume_before(const unsigned char *t, size_t p, size_t lo)
{
    while (p > lo && is_alnum(t[p - 1]))
        p--;
    while (p > lo && !is_alnum(t[p - 1]))
        p--;
    while (p > lo && is_alnum(t[p - 1]))
        p--;
    return p;
}

void mlops__scan_pii(mlops__gscan *sc)
{
    const mlops__gpolicy *pol = sc->pol;
    ctx c = {sc, (const unsigned char *)sc->norm->text, sc->norm->len, pol->entities,
             pol->context_words};
    const unsigned char *t = c.t;
    size_t n = c.n;
    size_t i = 0;
    bool want_num = (c.on & ((1ull << E_PHONE) | (1ull << E_CARD) | (1ull << E_SSN) |
                             (1ull << E_ITIN) | (1ull << E_IP) | (1ull << E_DATE) |
                             (1ull << E_NHS) | (1ull << E_PASSPORT) | (1ull << E_DL))) != 0;
    size_t known = 0; /* no candidate byte lies in [i, known) */
    while (i < n) {
        if (i >= known) {
            size_t p = next_candidate(t, n, i);
            known = p + 1;
            i = resume_before(t, p, i);
            if (i >= n)
                break;
        }
        unsigned char ch = t[i];
        if (ch == ' ' || (!is_alnum(ch) && ch != '@' && ch != '+' && ch != '(' && ch != ':')) {
            i++;
            continue;
        }
        if (ch == '@') {
            if (enabled(&c, E_EMAIL)) {
                i = scan_email(&c, i);
                continue;
            }
            i++;
            continue;
        }
        if (!word_start(&c, i)) {
            /* inside a word: skip to its end, but stop at '@' (emails); after a colon
             * a new word starts ("ip:10.0.0.1", "mac:00:1a:...") */
            if (ch == ':') {
                i++;
                continue;
            }
            if (!is_alnum(t[i]))
                i++;
            while (i < n && is_alnum(t[i]))
                i++;
            continue;
        }
        size_t e = 0;
        /* the word's extent and the byte after it decide which scanners can match */
        size_t we = i;
        while (we < n && is_alnum(t[we]))
            we++;
        size_t wl = we - i;
        unsigned char nc = we < n ? t[we] : 0;
        if (enabled(&c, E_MAC) && is_hex(ch) && i + 4 < n &&
            (t[i + 2] == ':' || t[i + 2] == '-' || t[i + 4] == '.'))
            e = scan_mac(&c, i);
        if (!e && enabled(&c, E_IP) && (is_hex(ch) || ch == ':') && (nc == ':' || ch == ':') &&
            wl <= 4) {
            e = scan_ipv6(&c, i);
            bool colon = ch == ':';
            for (size_t k = i + 1; k < n && k <= i + 4; k++)
                colon = colon || t[k] == ':';
            if (!e && colon) {
                /* not an address: skip the whole hex-and-colon run ("2001::db8::1") */
                size_t k = i, last = i;
                while (k < n && (is_hex(t[k]) || t[k] == ':'))
                    last = t[k++] == ':' ? k : last;
                if (k < n && is_alnum(t[k]))
                    k = i; /* "12:30pm" and the like: leave them to the other scanners */
                else if (k < n && t[k] == '.' && last > i)
                    k = last; /* "text::ffff:192.0.2.1": the IPv4 tail is scanned */
                e = k;
            }
        }
        if (!e && ch == ':') {
            i++;
            continue;
        }
        if (!e && is_upper(ch) && i + 3 < n && is_alpha(t[i + 1])) {
            if (enabled(&c, E_IBAN) && is_upper(t[i + 1]) && is_digit(t[i + 2]) &&
                is_digit(t[i + 3]) && i + 15 <= n)
                e = scan_iban(&c, i);
            if (!e && enabled(&c, E_NINO) && i + 8 < n && (is_digit(t[i + 2]) || (wl == 2 && nc == ' ')))
                e = scan_nino(&c, i);
        } else if (!e && is_lower(ch) && i + 8 < n && is_lower(t[i + 1]) && enabled(&c, E_NINO) &&
                   (is_digit(t[i + 2]) || (wl == 2 && nc == ' ' && is_digit(t[i + 3]))))
            e = scan_nino(&c, i);
        if (!e && wl >= 14 && (ch == '1' || ch == '3' || ch == 'b' || ch == 'B') &&
            enabled(&c, E_CRYPTO))
            e = scan_crypto(&c, i);
        if (!e && ch == '0' && wl == 42 && (t[i + 1] == 'x' || t[i + 1] == 'X') &&
            enabled(&c, E_CRYPTO))
            e = scan_eth(&c, i);
        if (!e && is_alpha(ch) && i + 1 < n && is_digit(t[i + 1]) &&
            (enabled(&c, E_PASSPORT) || enabled(&c, E_DL)))
            e = scan_letter_id(&c, i);
        if (!e && (is_digit(ch) || ch == '+' || ch == '(') && want_num) {
            if (ch == '(' && (i + 1 >= n || !is_digit(t[i + 1]))) {
                i++;
                continue;
            }
            if (ch == '+' && (i + 1 >= n || !is_digit(t[i + 1]))) {
                i++;
                continue;
            }
            e = scan_number(&c, i);
        }
        if (!e && nc == '-' && wl >= 3 && wl <= 9 && is_alpha(ch) && enabled(&c, E_DATE))
            e = scan_month_date(&c, i);
        if (!e && ((nc == '.' && we + 1 < n && is_alnum(t[we + 1])) ||
                   (nc == ':' && we + 1 < n && t[we + 1] == '/')) &&
            is_alpha(ch) && enabled(&c, E_URL))
            e = scan_url(&c, i);
        if (e > i) {
            i = e;
            continue;
        }
        if (!is_alnum(ch)) {
            i++;
            continue;
        }
        /* ch is alphanumeric, so the word runs to we (computed above) */
        i = we;
    }
    if (pol->ncustom)
        scan_custom(sc);
    if (pol->gazetteer.on && pol->ngaz)
        scan_gazetteer(sc);
}

/* ------------------------------------------------------------ custom, gazetteer -- */

static bool luhn_text(const char *s, size_t n)
{
    int d[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 64; i++)
        if (is_digit((unsigned char)s[i]))
            d[k++] = s[i] - '0';
    return k >= 2 && luhn(d, k);
}

static bool mod97_text(const char *s, size_t n)
{
    char buf[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 64; i++)
        if (is_alnum((unsigned char)s[i]))
            buf[k++] = (char)(is_lower((unsigned char)s[i]) ? s[i] - 32 : s[i]);
    if (k < 5)
        return false;
    unsigned rem = 0;
    for (size_t j = 0; j < k; j++) {
        char ch = buf[(j + 4) % k];
        rem = is_digit((unsigned char)ch) ? (rem * 10 + (unsigned)(ch - '0')) % 97
                                          : (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
    }
    return rem == 1;
}

static void scan_custom(mlops__gscan *sc)
{
    const char *t = sc->norm->text;
    size_t n = sc->norm->len;
    ctx c = {sc, (const unsigned char *)t, n, 0, true};
    for (size_t k = 0; k < sc->pol->ncustom; k++) {
        const mlops__gcustom *cu = &sc->pol->custom[k];
        size_t from = 0, ms, me;
        int guard = 0;
        while (from <= n && mlops__regex_search(cu->re, t, n, from, &ms, &me) && guard++ < 10000) {
            bool ok = me > ms;
            if (ok && cu->validator == 1)
                ok = luhn_text(t + ms, me - ms);
            if (ok && cu->validator == 2)
                ok = mod97_text(t + ms, me - ms);
            if (ok) {
                double score = cu->score;
                if (cu->ncontext) {
                    const char *words[17];
                    size_t w = 0;
                    for (; w < cu->ncontext && w < 16; w++)
                        words[w] = cu->context[w];
                    words[w] = NULL;
                    if (near(&c, ms, me, words))
                        score += 0.35;
                }
                if (score > 1)
                    score = 1;
                mlops__gscan_add(sc, "pii", cu->type, ms, me, score, "custom");
            }
            from = me > ms ? me : ms + 1;
        }
    }
}

static void scan_gazetteer(mlops__gscan *sc)
{
    const char *t = sc->norm->text;
    size_t n = sc->norm->len;
    for (size_t k = 0; k < sc->pol->ngaz; k++) {
        const mlops__ggaz *g = &sc->pol->gaz[k];
        if (!g->len)
            continue;
        unsigned char f0 = lower((unsigned char)g->phrase[0]);
        for (size_t s = 0; s + g->len <= n; s++) {
            if (lower((unsigned char)t[s]) != f0)
                continue;
            size_t j = 1;
            while (j < g->len && lower((unsigned char)t[s + j]) == (unsigned char)g->phrase[j])
                j++;
            if (j < g->len)
                continue;
            size_t e = s + g->len;
            if ((s == 0 || !is_alnum((unsigned char)t[s - 1])) &&
                (e >= n || !is_alnum((unsigned char)t[e])))
                mlops__gscan_add(sc, "gazetteer", g->type, s, e, 0.85, NULL);
            s = e - 1;
        }
    }
}
