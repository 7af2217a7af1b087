/*
 * The lexical false-hit guard: a second check between a query's prompt and a cached
 * prompt whose embedding matched. Embeddings (hashed ones above all) score prompts that
 * share most of their words as near-identical even when one word flips the meaning:
 * "how do I open a file" / "how do I close a file", "... in Python" / "... in Java",
 * "with" / "without", "3 days" / "5 days". The guard refuses a candidate when:
 *  - negation differs (counts of not/no/never/without/n't... differ);
 *  - numbers differ (digit runs and number words, as multisets);
 *  - an antonym pair is split between the two prompts (open/close, add/remove...);
 *  - content words were substituted: each side has content words (after stop-word
 *    removal and light stemming) that the other lacks and that no synonym pairs up,
 *    which is how "capital of France" / "capital of Germany" differ.
 * Paraphrases that reorder, drop function words, inflect or use listed synonyms pass.
 */
#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 256
#define WORD_MAX 32

typedef struct words {
    char w[MAX_WORDS][WORD_MAX];
    char st[MAX_WORDS][WORD_MAX]; /* stems, computed once per word */
    bool content[MAX_WORDS];      /* not a stop word, negation or number */
    uint16_t occ[MAX_WORDS];      /* this is the occ-th word with its stem (1-based) */
    uint16_t slot_word[1024];     /* stem hash table: index + 1 of the first such word */
    uint16_t slot_count[1024];    /* how many words have that stem */
    int n;
} words;

#define SLOTS 1024

static const char *const stop_words[] = {
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does",
    "did", "i", "me", "my", "mine", "you", "your", "we", "our", "us", "it", "its", "this",
    "that", "these", "those", "there", "here", "to", "of", "in", "on", "at", "for", "from",
    "by", "with", "about", "into", "onto", "as", "and", "or", "so", "if", "then", "than",
    "what", "whats", "which", "who", "whom", "how", "why", "when", "where", "can", "could",
    "would", "should", "will", "shall", "may", "might", "must", "please", "tell", "explain",
    "describe", "give", "show", "help", "want", "need", "like", "know", "some", "any",
    "way", "ways", "best", "good", "correct", "proper", "right", "properly", "just", "really",
    "exactly", "actually", "one", "thing", "things", "get", "go", "going", "use", "using",
    "let", "lets", "i'm", "im", "i'd", "id", "it's", "what's", "how's", "s", "t",
    "hey", "hi", "hello", "thanks", "thank", "quick", "quickly", "simple", "simply", "easy",
    "easiest", "possible", "have", "has", "had", "he", "she", "they", "them", "their",
    "his", "her", "mean", "meaning", "step", "steps", "guide", "tutorial", "example",
    "method", "approach", "someone", "somebody", "anyone", "via", "through", "up", "out",
    "also", "too", "very", "much", "many", "more", "most", "own", "other", "another",
    "does", "doing", "done", "work", "works", "am", "say", "said", "is", "tip", "tips",
    "per", "each", "every", "all", "gives", "getting", "got", "anything", "something",
    NULL,
};

static const char *const negations[] = {
    "not", "no", "never", "without", "cannot", "can't", "cant", "don't", "dont", "doesn't",
    "doesnt", "didn't", "didnt", "isn't", "isnt", "aren't", "arent", "wasn't", "wasnt",
    "weren't", "werent", "won't", "wont", "wouldn't", "wouldnt", "shouldn't", "shouldnt",
    "couldn't", "couldnt", "hasn't", "hasnt", "haven't", "havent", "nor", "neither", "none",
    "nobody", "nothing", "nowhere", "except", "excluding", "exclude", "unless", "lack",
    "lacking", "non", NULL,
};

static const char *const number_words[] = {
    "zero", "0", "one", "1", "two", "2", "three", "3", "four", "4", "five", "5", "six", "6",
    "seven", "7", "eight", "8", "nine", "9", "ten", "10", "eleven", "11", "twelve", "12",
    "twenty", "20", "thirty", "30", "forty", "40", "fifty", "50", "hundred", "100",
    "thousand", "1000", "million", "1000000", "billion", "1000000000", "first", "1st",
    "second", "2nd", "third", "3rd", "fourth", "4th", "fifth", "5th", "half", "0.5",
    "twice", "2x", "double", "2x", "triple", "3x", "dozen", "12", NULL,
};

/* Antonym pairs (stems after light stemming are compared). */
static const char *const antonyms[][2] = {
    {"open", "close"}, {"add", "remove"}, {"add", "delete"}, {"increase", "decrease"},
    {"enable", "disable"}, {"start", "stop"}, {"create", "delete"}, {"create", "destroy"},
    {"upload", "download"}, {"encrypt", "decrypt"}, {"install", "uninstall"},
    {"min", "max"}, {"minimum", "maximum"}, {"before", "after"}, {"import", "export"},
    {"push", "pull"}, {"read", "write"}, {"buy", "sell"}, {"first", "last"},
    {"lock", "unlock"}, {"show", "hide"}, {"compress", "decompress"},
    {"connect", "disconnect"}, {"left", "right"}, {"up", "down"}, {"true", "false"},
    {"best", "worst"}, {"more", "less"}, {"higher", "lower"}, {"high", "low"},
    {"fast", "slow"}, {"faster", "slower"}, {"largest", "smallest"}, {"biggest", "smallest"},
    {"large", "small"}, {"big", "small"}, {"ascending", "descending"},
    {"serialize", "deserialize"}, {"encode", "decode"}, {"zip", "unzip"},
    {"allow", "deny"}, {"allow", "block"}, {"accept", "reject"}, {"win", "lose"},
    {"hot", "cold"}, {"input", "output"}, {"send", "receive"}, {"get", "set"},
    {"append", "prepend"}, {"mount", "unmount"}, {"login", "logout"}, {"sign", "unsign"},
    {"subscribe", "unsubscribe"}, {"follow", "unfollow"}, {"merge", "split"},
    {"join", "split"}, {"lowercase", "uppercase"}, {"upper", "lower"}, {"inner", "outer"},
    {"import", "export"}, {"public", "private"}, {"static", "dynamic"},
    {"synchronous", "asynchronous"}, {"sync", "async"}, {"client", "server"},
    {"positive", "negative"}, {"include", "exclude"}, {"above", "below"},
    {"inside", "outside"}, {"internal", "external"}, {"early", "late"},
    {"earliest", "latest"}, {"oldest", "newest"}, {"old", "new"}, {"cheap", "expensive"},
    {"cheapest", "expensive"}, {"light", "dark"}, {"long", "short"}, {"longest", "shortest"},
    {"wide", "narrow"}, {"heavy", "light"}, {"strong", "weak"}, {"safe", "unsafe"},
    {"valid", "invalid"}, {"legal", "illegal"}, {"possible", "impossible"},
    {"visible", "invisible"}, {"mutable", "immutable"}, {"expand", "collapse"},
    {"attach", "detach"}, {"enter", "exit"}, {"arrive", "depart"}, {"borrow", "lend"},
    {"lend", "borrow"}, {"gain", "lose"}, {"profit", "loss"}, {"import", "export"},
    {"forward", "backward"}, {"north", "south"}, {"east", "west"}, {"male", "female"},
    {"day", "night"}, {"morning", "evening"}, {"summer", "winter"}, {"yes", "no"},
    {"row", "column"}, {"horizontal", "vertical"}, {"horizontally", "vertically"},
    {"vertical", "horizontal"}, {"width", "height"}, {"sum", "product"},
    {"mean", "median"}, {"plus", "minus"}, {"multiply", "divide"}, {"add", "subtract"},
    {"undo", "redo"}, {"stage", "unstage"}, {"freeze", "unfreeze"}, {"pause", "resume"},
    {"zoom", "unzoom"}, {"shallow", "deep"}, {"wake", "sleep"}, {"celsius", "fahrenheit"},
    {"kilometer", "mile"}, {"km", "mile"}, {"pound", "kilogram"}, {"lb", "kg"},
    {"for", "while"}, {"log in", "log out"}, {"sign in", "sign out"}, {"sign up", "sign out"},
    {"zoom in", "zoom out"}, {"check in", "check out"}, {"opt in", "opt out"},
    {"scale up", "scale down"}, {"turn on", "turn off"}, {"switch on", "switch off"},
    {"power on", "power off"}, {"speed up", "slow down"}, {"back up", "restore"},
    {"set up", "tear down"}, {"spin up", "shut down"}, {"zoom in", "zoom out"},
    {"clock in", "clock out"}, {"plug in", "unplug"}, {"log in", "logout"},
    {"increase", "reduce"}, {"increase", "lower"}, {"raise", "lower"}, {"grow", "shrink"},
    {"expand", "shrink"}, {"maximize", "minimize"}, {"insert", "delete"}, {"insert", "remove"},
    {"install", "remove"}, {"start", "end"}, {"start", "finish"}, {"start", "kill"},
    {"create", "remove"}, {"create", "drop"}, {"open", "shut"}, {"success", "failure"},
    {"pass", "fail"}, {"accept", "decline"}, {"approve", "reject"}, {"include", "omit"},
    {"yesterday", "tomorrow"}, {"today", "tomorrow"}, {"today", "yesterday"},
    {"past", "future"}, {"rise", "fall"}, {"top", "bottom"}, {"front", "back"},
    {"beginning", "end"}, {"easy", "hard"}, {"easy", "difficult"}, {"beginner", "advanced"},
    {"senior", "junior"}, {"buy", "rent"}, {"love", "hate"}, {"like", "dislike"},
    {"agree", "disagree"}, {"even", "odd"}, {"singular", "plural"}, {"frontend", "backend"},
    {"get", "post"}, {"put", "patch"}, {"import", "remove"}, {"encrypt", "hash"},
    {"inbound", "outbound"}, {"incoming", "outgoing"}, {"upstream", "downstream"},
    {"parent", "child"}, {"source", "destination"}, {"sender", "recipient"},
    {"request", "response"}, {"min", "max"}, {"ceil", "floor"}, {"round up", "round down"},
    {NULL, NULL},
};

/* Synonym groups: words in one group may replace each other (stems compared). */
static const char *const synonyms[][8] = {
    {"delete", "remove", "erase", "rm", "drop", "get rid", NULL},
    {"create", "make", "generate", "build", "new", NULL},
    {"start", "begin", "launch", "commence", "initiate", NULL},
    {"stop", "halt", "terminate", "kill", "end", NULL},
    {"big", "large", "huge", "giant", NULL},
    {"small", "little", "tiny", NULL},
    {"biggest", "largest", NULL},
    {"fast", "quick", "rapid", "speedy", NULL},
    {"faster", "quicker", "speed", NULL},
    {"fix", "repair", "resolve", "solve", "troubleshoot", "debug", NULL},
    {"error", "exception", "failure", "issue", "problem", "bug", NULL},
    {"learn", "study", NULL},
    {"write", "wrote", "written", "author", NULL},
    {"update", "upgrade", NULL},
    {"read", "load", NULL},
    {"capitalize", "capitalise", "uppercase", NULL},
    {"exit", "quit", "leave", NULL},
    {"summarize", "summarise", "summary", "recap", NULL},
    {"prevent", "protect", "avoid", NULL},
    {"backup", "back", NULL},
    {"buy", "purchase", NULL},
    {"display", "print", "output", "show", NULL},
    {"obtain", "fetch", "retrieve", "get", "read", NULL},
    {"find", "locate", "search", "look", "lookup", "detect", NULL},
    {"use", "utilize", "utilise", "employ", NULL},
    {"change", "modify", "alter", "edit", "update", "adjust", NULL},
    {"combine", "merge", "concatenate", "concat", "join", NULL},
    {"check", "verify", "test", "determine", "tell", "validate", NULL},
    {"convert", "transform", "turn", "cast", "change", NULL},
    {"reverse", "invert", "flip", NULL},
    {"picture", "image", "photo", "pic", NULL},
    {"folder", "directory", "dir", NULL},
    {"computer", "pc", "laptop", "machine", NULL},
    {"cost", "price", "charge", NULL},
    {"job", "work", "career", NULL},
    {"answer", "reply", "respond", "response", NULL},
    {"mistake", "error", NULL},
    {"run", "execute", "invoke", NULL},
    {"program", "code", "script", "app", "application", NULL},
    {"function", "method", "routine", NULL},
    {"string", "text", "str", NULL},
    {"list", "array", NULL},
    {"dictionary", "dict", "map", "hashmap", NULL},
    {"count", "number", "amount", "total", NULL},
    {"length", "size", "len", NULL},
    {"car", "automobile", "vehicle", NULL},
    {"doctor", "physician", NULL},
    {"sick", "ill", NULL},
    {"happy", "glad", "joyful", NULL},
    {"sad", "unhappy", "depressed", NULL},
    {"smart", "intelligent", "clever", NULL},
    {"rich", "wealthy", NULL},
    {"house", "home", NULL},
    {"kid", "child", "children", "kids", NULL},
    {"movie", "film", NULL},
    {"choose", "pick", "select", NULL},
    {"install", "setup", "set", NULL},
    {"configure", "config", "setup", "set", NULL},
    {"benefit", "advantage", "pro", NULL},
    {"drawback", "disadvantage", "con", "downside", NULL},
    {"difference", "differ", "compare", "versus", "vs", "comparison", NULL},
    {"explain", "describe", "define", "definition", NULL},
    {"reason", "cause", "why", NULL},
    {"lose", "loss", "shed", "reduce", NULL},
    {"weight", "fat", NULL},
    {"improve", "boost", "enhance", "increase", "better", NULL},
    {"reduce", "lower", "decrease", "cut", "minimize", NULL},
    {"write", "compose", "draft", NULL},
    {"email", "mail", "e-mail", NULL},
    {"phone", "smartphone", "mobile", "cellphone", NULL},
    {"password", "passcode", "pwd", NULL},
    {"reset", "recover", "restore", NULL},
    {"website", "site", "webpage", "page", NULL},
    {"recipe", "cook", "cooking", "prepare", "bake", NULL},
    {"go", "travel", "get", NULL},
    {"city", "town", NULL},
    {"sort", "order", "arrange", NULL},
    {"duplicate", "duplicated", "repeated", "dupe", NULL},
    {"unique", "distinct", NULL},
    {"element", "item", "entry", NULL},
    {"first", "initial", NULL},
    {"copy", "duplicate", "clone", NULL},
    {"file", "document", NULL},
    {"timezone", "time zone", NULL},
    {"current", "today", "now", "present", NULL},
    {"capital", "capital city", NULL},
    {"sleep", "rest", NULL},
    {"exercise", "workout", "train", NULL},
    {"healthy", "health", NULL},
    {"tired", "exhausted", "fatigue", NULL},
    {"stress", "anxiety", "anxious", "stressed", NULL},
    {"meaning", "mean", "definition", NULL},
    {"table", "dataframe", NULL},
    {"column", "field", "col", NULL},
    {"row", "record", "line", NULL},
    {"split", "divide", "separate", "break", NULL},
    {"trim", "strip", NULL},
    {"last", "final", "end", NULL},
    {"replace", "substitute", "swap", NULL},
    {"container", "docker", NULL},
    {"log", "logging", NULL},
    {"kubernetes", "k8s", NULL},
    {"javascript", "js", NULL},
    {"typescript", "ts", NULL},
    {"python", "py", "python3", NULL},
    {"regex", "regular expression", "regexp", NULL},
    {"environment", "env", NULL},
    {"variable", "var", NULL},
    {"database", "db", NULL},
    {"repository", "repo", NULL},
    {"branch", "branches", NULL},
    {"commit", "commits", NULL},
    {NULL},
};

/*
 * Qualifiers and key entities: one of these on one side only is never a harmless extra
 * word ("sort a list" / "sort a list in descending order", "open a file" / "open a file
 * in Python").
 */
static const char *const salient[] = {
    "ascending", "descending", "reverse", "reversed", "recursive", "recursively", "async",
    "asynchronous", "parallel", "concurrent", "insensitive", "sensitive", "permanently",
    "temporarily", "remote", "local", "global", "nested", "empty", "multiple", "hidden",
    "python", "java", "javascript", "typescript", "c", "c++", "c#", "go", "golang", "rust",
    "ruby", "php", "swift", "kotlin", "scala", "haskell", "perl", "r", "matlab", "julia",
    "linux", "windows", "mac", "macos", "ubuntu", "debian", "android", "ios", "iphone",
    "bash", "zsh", "powershell", "sql", "mysql", "postgresql", "postgres", "sqlite",
    "excel", "docker", "kubernetes", "aws", "azure", "gcp", "react", "vue", "angular",
    "node", "node.js", "django", "flask", "pandas", "numpy", NULL,
};

static void stem(const char *w, char *out);

/*
 * Stems of the synonym and antonym tables, computed once per process (a documented
 * read-only singleton after initialisation) so that a check costs O(words x table)
 * string compares, not stemming inside nested loops.
 */
#define SYN_GROUPS MLOPS__ARRAY_LEN(synonyms)
#define ANT_PAIRS MLOPS__ARRAY_LEN(antonyms)
typedef struct phrase_stem {
    char first[WORD_MAX], second[WORD_MAX]; /* second is "" for one word */
} phrase_stem;
static phrase_stem syn_stems[SYN_GROUPS][8];
static phrase_stem ant_stems[ANT_PAIRS][2];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void filler_add(const char *const *list, int step);

static void phrase_to_stem(const char *phrase, phrase_stem *out)
{
    char a[WORD_MAX] = "", b[WORD_MAX] = "";
    const char *sp = strchr(phrase, ' ');
    size_t n = sp ? (size_t)(sp - phrase) : strlen(phrase);
    if (n >= WORD_MAX)
        n = WORD_MAX - 1;
    memcpy(a, phrase, n);
    a[n] = '\0';
    stem(a, out->first);
    if (sp) {
        snprintf(b, sizeof b, "%s", sp + 1);
        stem(b, out->second);
    } else {
        out->second[0] = '\0';
    }
}

static void tables_init(void)
{
    filler_add(stop_words, 1);
    filler_add(negations, 1);
    filler_add(number_words, 2);
    for (size_t g = 0; g < SYN_GROUPS && synonyms[g][0]; g++)
        for (int k = 0; k < 8 && synonyms[g][k]; k++)
            phrase_to_stem(synonyms[g][k], &syn_stems[g][k]);
    for (size_t i = 0; i < ANT_PAIRS && antonyms[i][0]; i++) {
        phrase_to_stem(antonyms[i][0], &ant_stems[i][0]);
        phrase_to_stem(antonyms[i][1], &ant_stems[i][1]);
    }
}

/* A set of the stop words, negations and number words (built once). */
#define FILLER_SLOTS 2048
static const char *filler_set[FILLER_SLOTS];

static size_t str_slot(const char *w, size_t mask)
{
    return (size_t)(mlops__hash_str(w, 0x51) & mask);
}

static void filler_add(const char *const *list, int step)
{
    for (int i = 0; list[i]; i += step) {
        size_t k = str_slot(list[i], FILLER_SLOTS - 1);
        while (filler_set[k] && strcmp(filler_set[k], list[i]) != 0)
            k = (k + 1) & (FILLER_SLOTS - 1);
        filler_set[k] = list[i];
    }
}

static bool is_filler(const char *w)
{
    size_t k = str_slot(w, FILLER_SLOTS - 1);
    while (filler_set[k]) {
        if (strcmp(filler_set[k], w) == 0)
            return true;
        k = (k + 1) & (FILLER_SLOTS - 1);
    }
    return false;
}

static bool in_list(const char *w, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(w, list[i]) == 0)
            return true;
    return false;
}

/* Light suffix stripping: enough to pair "files"/"file", "deleting"/"delete". */
static void stem(const char *w, char *out)
{
    size_t n = strlen(w);
    if (n >= WORD_MAX)
        n = WORD_MAX - 1;
    memcpy(out, w, n);
    out[n] = '\0';
    if (n > 4 && strcmp(out + n - 3, "ies") == 0) {
        strcpy(out + n - 3, "y");
        return;
    }
    if (n > 5 && strcmp(out + n - 3, "ing") == 0)
        out[n -= 3] = '\0';
    else if (n > 4 && strcmp(out + n - 2, "ed") == 0)
        out[n -= 2] = '\0';
    else if (n > 4 && strcmp(out + n - 2, "es") == 0 && strchr("sxz", out[n - 3]))
        out[n -= 2] = '\0';
    else if (n > 3 && out[n - 1] == 's' && out[n - 2] != 's' && out[n - 2] != 'u' &&
             out[n - 2] != 'i')
        out[n -= 1] = '\0';
    if (n > 3 && out[n - 1] == 'e')
        out[n - 1] = '\0';
    /* doubled final consonant after -ing/-ed ("stopping" -> "stopp" -> "stop") */
    if (n > 3 && out[n - 1] == out[n - 2] && strchr("bdgklmnprt", out[n - 1]))
        out[n - 1] = '\0';
}

static bool is_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '\'' || c == '.' || c == '+' || c == '#' || c >= 0x80;
}

/* Lower-cased words; '.' kept inside numbers and dotted names (v1.2, os.path). */
static bool content_word(const char *w);

static void tokenize(const char *s, words *out)
{
    out->n = 0;
    memset(out->slot_word, 0, sizeof out->slot_word);
    memset(out->slot_count, 0, sizeof out->slot_count);
    size_t i = 0, len = strlen(s);
    while (i < len && out->n < MAX_WORDS) {
        while (i < len && !is_word_char((unsigned char)s[i]))
            i++;
        size_t start = i;
        while (i < len && is_word_char((unsigned char)s[i]))
            i++;
        size_t end = i;
        /* trailing/leading punctuation that is not part of the word */
        while (end > start && (s[end - 1] == '.' || s[end - 1] == '\''))
            end--;
        while (start < end && (s[start] == '.' || s[start] == '\''))
            start++;
        if (end <= start)
            continue;
        size_t n = end - start < WORD_MAX - 1 ? end - start : WORD_MAX - 1;
        char *w = out->w[out->n];
        for (size_t k = 0; k < n; k++) {
            char c = s[start + k];
            w[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        w[n] = '\0';
        /* "file's" -> "file" */
        if (n > 2 && w[n - 2] == '\'' && w[n - 1] == 's')
            w[n - 2] = '\0';
        stem(w, out->st[out->n]);
        out->content[out->n] = content_word(w);
        size_t k = str_slot(out->st[out->n], SLOTS - 1);
        while (out->slot_word[k] && strcmp(out->st[out->slot_word[k] - 1], out->st[out->n]) != 0)
            k = (k + 1) & (SLOTS - 1);
        if (!out->slot_word[k])
            out->slot_word[k] = (uint16_t)(out->n + 1);
        out->occ[out->n] = ++out->slot_count[k];
        out->n++;
    }
}

static bool is_number(const char *w)
{
    bool digit = false;
    for (; *w; w++) {
        if (*w >= '0' && *w <= '9')
            digit = true;
        else if (*w != '.' && *w != ',')
            return false;
    }
    return digit;
}

/* The canonical number a word stands for, or NULL. */
static const char *number_of(const char *w)
{
    if (is_number(w))
        return w;
    for (int i = 0; number_words[i]; i += 2)
        if (strcmp(w, number_words[i]) == 0)
            return number_words[i + 1];
    return NULL;
}

static int negation_count(const words *ws)
{
    int n = 0;
    for (int i = 0; i < ws->n; i++) {
        const char *w = ws->w[i];
        size_t len = strlen(w);
        if (in_list(w, negations) || (len > 3 && strcmp(w + len - 3, "n't") == 0))
            n++;
    }
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool numbers_match(const words *a, const words *b, char *why, size_t cap)
{
    const char *na[MAX_WORDS], *nb[MAX_WORDS];
    int ca = 0, cb = 0;
    for (int i = 0; i < a->n; i++)
        if ((na[ca] = number_of(a->w[i])) != NULL)
            ca++;
    for (int i = 0; i < b->n; i++)
        if ((nb[cb] = number_of(b->w[i])) != NULL)
            cb++;
    qsort(na, (size_t)ca, sizeof na[0], cmp_str);
    qsort(nb, (size_t)cb, sizeof nb[0], cmp_str);
    if (ca != cb) {
        if (why)
            snprintf(why, cap, "number mismatch (%d vs %d numbers)", ca, cb);
        return false;
    }
    for (int i = 0; i < ca; i++) {
        if (strcmp(na[i], nb[i]) != 0) {
            if (why)
                snprintf(why, cap, "number mismatch ('%s' vs '%s')", na[i], nb[i]);
            return false;
        }
    }
    return true;
}

/* How many words of ws have stem st (hash table built by tokenize). */
static int stem_total(const words *ws, const char *st)
{
    size_t k = str_slot(st, SLOTS - 1);
    while (ws->slot_word[k]) {
        if (strcmp(ws->st[ws->slot_word[k] - 1], st) == 0)
            return ws->slot_count[k];
        k = (k + 1) & (SLOTS - 1);
    }
    return 0;
}

static bool has_stem_s(const words *ws, const char *st)
{
    return stem_total(ws, st) > 0;
}

/* A one- or two-word phrase, compared by stems ("get rid", "log in"). */
static bool has_phrase_s(const words *ws, const phrase_stem *p)
{
    if (!p->second[0])
        return has_stem_s(ws, p->first);
    for (int i = 0; i + 1 < ws->n; i++)
        if (strcmp(ws->st[i], p->first) == 0 && strcmp(ws->st[i + 1], p->second) == 0)
            return true;
    return false;
}

static bool antonyms_split(const words *a, const words *b, char *why, size_t cap)
{
    for (int i = 0; antonyms[i][0]; i++) {
        const char *x = antonyms[i][0], *y = antonyms[i][1];
        const phrase_stem *px = &ant_stems[i][0], *py = &ant_stems[i][1];
        bool ax = has_phrase_s(a, px), ay = has_phrase_s(a, py), bx = has_phrase_s(b, px),
             by = has_phrase_s(b, py);
        if ((ax && !ay && by && !bx) || (ay && !ax && bx && !by)) {
            if (why)
                snprintf(why, cap, "antonyms '%s' / '%s'", ax ? x : y, ax ? y : x);
            return true;
        }
    }
    return false;
}

static bool content_word(const char *w)
{
    return !is_filler(w) && !is_number(w);
}

/* True when the word with stem st (absent from `other`) has a synonym in `other`. */
static bool synonym_in(const char *st, const words *other)
{
    for (int g = 0; synonyms[g][0]; g++) {
        bool member = false;
        for (int k = 0; synonyms[g][k] && !member; k++)
            member = !syn_stems[g][k].second[0] && strcmp(st, syn_stems[g][k].first) == 0;
        if (!member)
            continue;
        for (int k = 0; synonyms[g][k]; k++)
            if (has_phrase_s(other, &syn_stems[g][k]))
                return true;
    }
    return false;
}


/*
 * Content words of `a` missing from `b` (as multisets: the k-th "rice" of a needs k in
 * b) with no synonym in b; returns the count.
 */
static int unmatched(const words *a, const words *b, const char **first, bool *salient_out)
{
    int n = 0;
    for (int i = 0; i < a->n; i++) {
        const char *w = a->w[i];
        if (!a->content[i])
            continue;
        int occ = a->occ[i];
        if (stem_total(b, a->st[i]) >= occ || (occ == 1 && synonym_in(a->st[i], b)))
            continue;
        if (in_list(w, salient))
            *salient_out = true;
        if (n++ == 0)
            *first = w;
    }
    return n;
}

/* Content words within 4 tokens before and after the first "to"/"into" of ws. */
static int around_to(const words *ws, int *left, int *nl, int *right, int *nr)
{
    *nl = *nr = 0;
    for (int i = 0; i < ws->n; i++) {
        if (strcmp(ws->w[i], "to") != 0 && strcmp(ws->w[i], "into") != 0)
            continue;
        for (int k = i - 1; k >= 0 && k >= i - 4; k--)
            if (ws->content[k])
                left[(*nl)++] = k;
        for (int k = i + 1; k < ws->n && k <= i + 4; k++)
            if (ws->content[k])
                right[(*nr)++] = k;
        return i;
    }
    return -1;
}

/* "convert X to Y" against "convert Y to X": the same words, the other direction. */
static bool direction_swapped(const words *a, const words *b, char *why, size_t cap)
{
    int la[4], ra[4], lb[4], rb[4], nla, nra, nlb, nrb;
    if (around_to(a, la, &nla, ra, &nra) < 0 || around_to(b, lb, &nlb, rb, &nrb) < 0)
        return false;
    bool x = false, y = false;
    const char *w1 = "", *w2 = "";
    for (int i = 0; i < nla && !x; i++)
        for (int j = 0; j < nrb && !x; j++)
            if (strcmp(a->st[la[i]], b->st[rb[j]]) == 0) {
                x = true;
                w1 = a->w[la[i]];
            }
    for (int i = 0; i < nra && !y; i++)
        for (int j = 0; j < nlb && !y; j++)
            if (strcmp(a->st[ra[i]], b->st[lb[j]]) == 0) {
                y = true;
                w2 = a->w[ra[i]];
            }
    if (x && y && strcmp(w1, w2) != 0) {
        if (why)
            snprintf(why, cap, "direction swapped ('%s to %s')", w1, w2);
        return true;
    }
    return false;
}

bool mlops__cache_guard_lexical(const char *query, const char *cached, char *why, size_t cap)
{
    pthread_once(&tables_once, tables_init);
    words *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        if (why)
            snprintf(why, cap, "out of memory");
        return false;
    }
    tokenize(query ? query : "", a);
    tokenize(cached ? cached : "", b);
    bool ok = true;
    int nq = negation_count(a), nc = negation_count(b);
    if (nq != nc) {
        ok = false;
        if (why)
            snprintf(why, cap, "negation mismatch (%d vs %d)", nq, nc);
    }
    if (ok)
        ok = numbers_match(a, b, why, cap);
    if (ok)
        ok = !antonyms_split(a, b, why, cap);
    if (ok)
        ok = !direction_swapped(a, b, why, cap);
    if (ok) {
        const char *wa = NULL, *wb = NULL;
        bool sal = false;
        int ua = unmatched(a, b, &wa, &sal), ub = unmatched(b, a, &wb, &sal);
        int shared = 0;
        for (int i = 0; i < a->n; i++)
            shared += a->content[i] &&
                      (has_stem_s(b, a->st[i]) || synonym_in(a->st[i], b));
        if (ua + ub >= 2 || (ua + ub == 1 && (shared < 3 || sal))) {
            /* One side adds qualifiers ("sort a list" / "sort a list in descending
               order", "population of China" / "population growth of China"): a more
               specific question. One extra word on a shared core of three or more
               content words ("write to a file in Python" / "write data to a file in
               Python") is still taken as a paraphrase. */
            ok = ua == 0 || ub == 0 ? false : ok;
            if (!ok && why)
                snprintf(why, cap, "extra key words ('%s')", ua ? wa : wb);
        }
        if (ua > 0 && ub > 0) {
            ok = false;
            if (why)
                snprintf(why, cap, "different key words ('%s' vs '%s')", wa, wb);
        }
    }
    free(a);
    free(b);
    return ok;
}
