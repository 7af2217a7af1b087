/*
 * Prompts as files. The export tree, meant to be committed to git and reviewed:
 *
 *   DIR/<name>/v<N>.txt        a text template, byte for byte
 *   DIR/<name>/v<N>.json       a chat template (messages, indented)
 *   DIR/<name>/v<N>.meta.json  {"type", "message", "tags", "config", "created_at", "created_by"}
 *   DIR/<name>/labels.json     {"production": 2, "ab": {"split": [...]}}
 *
 * A name with '/' becomes nested directories. JSON files are indented with sorted keys
 * so that diffs stay small. Import reads such a tree back in one transaction:
 * versions are matched by content (first to the same number, then to any version not
 * yet matched), unmatched ones are pushed in order, and labels are moved only where they
 * differ. Importing the same tree twice therefore changes nothing.
 */
#include "registry.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TREE_MAX_DEPTH 64

static int write_json_file(const char *path, json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(16));
    if (!text)
        return mlops__error_oom(path);
    size_t n = strlen(text);
    char *withnl = mlops__sprintf("%s\n", text);
    free(text);
    if (!withnl)
        return mlops__error_oom(path);
    int rc = mlops__file_write_atomic(path, withnl, n + 1);
    free(withnl);
    return rc;
}

static int export_version(const char *pdir, sqlite3_stmt *s)
{
    int64_t v = sqlite3_column_int64(s, 0);
    const char *type = (const char *)sqlite3_column_text(s, 1);
    const char *text = (const char *)sqlite3_column_text(s, 2);
    size_t tlen = (size_t)sqlite3_column_bytes(s, 2);
    bool chat = strcmp(type, "chat") == 0;
    char *path = mlops__sprintf("%s/v%lld.%s", pdir, (long long)v, chat ? "json" : "txt");
    char *meta_path = mlops__sprintf("%s/v%lld.meta.json", pdir, (long long)v);
    int rc = path && meta_path ? MLOPS_OK : mlops__error_oom("export");
    if (rc == MLOPS_OK && chat) {
        json_error_t err;
        json_t *msgs = json_loads(text, 0, &err);
        char *pretty = msgs ? json_dumps(msgs, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        char *withnl = pretty ? mlops__sprintf("%s\n", pretty) : NULL;
        rc = withnl ? mlops__file_write_atomic(path, withnl, strlen(withnl))
                    : mlops__error(MLOPS_ECORRUPT, "export: stored chat template of v%lld", (long long)v);
        json_decref(msgs);
        free(pretty);
        free(withnl);
    } else if (rc == MLOPS_OK) {
        rc = mlops__file_write_atomic(path, text, tlen);
    }
    if (rc == MLOPS_OK) {
        char when[32];
        mlops__format_time(sqlite3_column_int64(s, 6), when);
        const char *by = (const char *)sqlite3_column_text(s, 7);
        json_error_t err;
        json_t *config = json_loads((const char *)sqlite3_column_text(s, 3), 0, &err);
        json_t *tags = json_loads((const char *)sqlite3_column_text(s, 5), 0, &err);
        json_t *meta = json_pack("{s:s, s:s, s:o, s:o, s:s, s:o}", "type", type, "message",
                                 (const char *)sqlite3_column_text(s, 4), "tags",
                                 tags ? tags : json_object(), "config",
                                 config ? config : json_object(), "created_at", when,
                                 "created_by", by ? json_string(by) : json_null());
        rc = meta ? write_json_file(meta_path, meta) : mlops__error_oom("export");
        json_decref(meta);
    }
    free(path);
    free(meta_path);
    return rc;
}

/* Exports one prompt; store lock held. */
static int export_prompt(mlops__prompts *p, const char *dir, int64_t id, const char *name)
{
    char *pdir = mlops__sprintf("%s/%s", dir, name);
    if (!pdir)
        return mlops__error_oom("export");
    int rc = mlops__mkdirs(pdir);
    sqlite3_stmt *s = NULL;
    if (rc == MLOPS_OK)
        rc = mlops__store_prepare(p->st,
                                  "SELECT version, type, template, config, message, tags, "
                                  "created_ms, created_by FROM prompt_versions WHERE prompt_id = "
                                  "?1 ORDER BY version",
                                  &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_int64(s, 1, id);
        int step;
        while (rc == MLOPS_OK && (step = sqlite3_step(s)) == SQLITE_ROW)
            rc = export_version(pdir, s);
        if (rc == MLOPS_OK && step != SQLITE_DONE)
            rc = mlops__store_error(p->st, step, "export");
        sqlite3_reset(s);
    }
    if (rc == MLOPS_OK) {
        rc = mlops__store_prepare(p->st,
                                  "SELECT label, version, split FROM prompt_labels WHERE "
                                  "prompt_id = ?1",
                                  &s);
    }
    if (rc == MLOPS_OK) {
        json_t *labels = json_object();
        sqlite3_bind_int64(s, 1, id);
        int step;
        while ((step = sqlite3_step(s)) == SQLITE_ROW) {
            const char *split = (const char *)sqlite3_column_text(s, 2);
            json_object_set_new(labels, (const char *)sqlite3_column_text(s, 0),
                                split ? mlops__prompt_target_json(split)
                                      : json_integer(sqlite3_column_int64(s, 1)));
        }
        sqlite3_reset(s);
        char *path = mlops__sprintf("%s/labels.json", pdir);
        if (step != SQLITE_DONE)
            rc = mlops__store_error(p->st, step, "export");
        else
            rc = path && labels ? write_json_file(path, labels) : mlops__error_oom("export");
        free(path);
        json_decref(labels);
    }
    free(pdir);
    return rc;
}

int mlops__prompts_export(mlops__prompts *p, const char *dir, const char *name)
{
    if (name) {
        int rc = mlops__prompt_name_check(name);
        if (rc != MLOPS_OK)
            return rc;
    }
    int rc = mlops__mkdirs(dir);
    if (rc != MLOPS_OK)
        return rc;
    /* A read transaction keeps the snapshot consistent across the queries. */
    mlops__store_lock(p->st);
    rc = mlops__store_exec(p->st, "BEGIN");
    if (rc != MLOPS_OK) {
        mlops__store_unlock(p->st);
        return rc;
    }
    if (name) {
        int64_t id = 0;
        rc = mlops__prompt_db_id(p->st, name, &id);
        if (rc == MLOPS_OK)
            rc = export_prompt(p, dir, id, name);
    } else {
        sqlite3_stmt *s = NULL;
        rc = mlops__store_prepare(p->st, "SELECT id, name FROM prompts ORDER BY name", &s);
        /* collect first: export_prompt uses other statements */
        json_t *all = json_array();
        int step = SQLITE_DONE;
        while (rc == MLOPS_OK && (step = sqlite3_step(s)) == SQLITE_ROW)
            json_array_append_new(all, json_pack("[I, s]", (json_int_t)sqlite3_column_int64(s, 0),
                                                 (const char *)sqlite3_column_text(s, 1)));
        if (s)
            sqlite3_reset(s);
        if (rc == MLOPS_OK && step != SQLITE_DONE)
            rc = mlops__store_error(p->st, step, "export");
        size_t i;
        json_t *row;
        json_array_foreach(all, i, row) {
            if (rc != MLOPS_OK)
                break;
            rc = export_prompt(p, dir, json_integer_value(json_array_get(row, 0)),
                               json_string_value(json_array_get(row, 1)));
        }
        json_decref(all);
    }
    mlops__store_exec(p->st, "COMMIT");
    mlops__store_unlock(p->st);
    return rc;
}

/* ---------------------------------------------------------------- import ---- */

typedef struct imp_version {
    int64_t n;
    int type;
    char *canonical, *config, *message, *tags, *actor;
    char hash[33];
    char *file;
} imp_version;

typedef struct imp_prompt {
    char *name;
    imp_version *v;
    size_t nv;
    json_t *labels;
} imp_prompt;

typedef struct imp_tree {
    imp_prompt *p;
    size_t n;
    const char *actor;
} imp_tree;

static void prompt_free(imp_prompt *p)
{
    for (size_t k = 0; k < p->nv; k++) {
        imp_version *v = &p->v[k];
        free(v->canonical);
        free(v->config);
        free(v->message);
        free(v->tags);
        free(v->actor);
        free(v->file);
    }
    free(p->v);
    free(p->name);
    json_decref(p->labels);
}

static void tree_free(imp_tree *t)
{
    for (size_t i = 0; i < t->n; i++)
        prompt_free(&t->p[i]);
    free(t->p);
}

/* "v12.txt" -> 12, kind 't'; "v3.json" -> 'j'; "v3.meta.json" -> 'm'. */
static int64_t version_file(const char *f, char *kind)
{
    if (f[0] != 'v' || f[1] < '1' || f[1] > '9')
        return 0;
    int64_t n = 0;
    const char *q = f + 1;
    while (*q >= '0' && *q <= '9' && n < 1000000000000LL)
        n = n * 10 + (*q++ - '0');
    if (strcmp(q, ".txt") == 0)
        *kind = 't';
    else if (strcmp(q, ".json") == 0)
        *kind = 'j';
    else if (strcmp(q, ".meta.json") == 0)
        *kind = 'm';
    else
        return 0;
    return n;
}

static int cmp_version(const void *a, const void *b)
{
    const imp_version *x = a, *y = b;
    return x->n < y->n ? -1 : x->n > y->n;
}

static int read_meta(const char *path, imp_version *v, const char *actor)
{
    static const mlops__json_field fields[] = {
        {"type", MLOPS__J_STRING, false},
        {"message", MLOPS__J_STRING, false},
        {"tags", MLOPS__J_OBJECT, false},
        {"config", MLOPS__J_OBJECT, false},
        {"created_at", MLOPS__J_STRING, false},
        {"created_by", MLOPS__J_NULLABLE_STRING, false},
        {NULL, 0, false},
    };
    char *text = NULL;
    json_t *meta = NULL;
    struct stat sb;
    int rc = MLOPS_OK;
    if (stat(path, &sb) == 0) {
        rc = mlops__file_read(path, 1u << 20, &text, NULL);
        if (rc == MLOPS_OK)
            rc = mlops__json_parse_object(text, path, &meta);
        if (rc == MLOPS_OK)
            rc = mlops__json_check_fields(meta, path, fields, MLOPS_EFORMAT);
        json_t *tags = json_object_get(meta, "tags");
        const char *k;
        json_t *val;
        json_object_foreach(tags, k, val)
            if (rc == MLOPS_OK && !json_is_string(val))
                rc = mlops__error(MLOPS_EFORMAT, "%s: tags.%s: expected string", path, k);
    }
    if (rc == MLOPS_OK) {
        json_t *tags = json_object_get(meta, "tags"), *config = json_object_get(meta, "config");
        v->tags = tags ? json_dumps(tags, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(16)) : mlops__strdup("{}");
        v->config = config ? json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(16)) : mlops__strdup("{}");
        v->message = mlops__strdup(meta ? mlops__json_str(meta, "message", "") : "");
        const char *by = meta ? mlops__json_str(meta, "created_by", NULL) : NULL;
        v->actor = by ? mlops__strdup(by) : actor ? mlops__strdup(actor) : NULL;
        if (!v->tags || !v->config || !v->message)
            rc = mlops__error_oom("import");
        const char *type = meta ? mlops__json_str(meta, "type", NULL) : NULL;
        if (rc == MLOPS_OK && type &&
            strcmp(type, v->type == MLOPS__PROMPT_CHAT ? "chat" : "text") != 0)
            rc = mlops__error(MLOPS_EFORMAT, "%s: type '%s' does not match the template file", path,
                              type);
    }
    free(text);
    json_decref(meta);
    return rc;
}

static int load_prompt_dir(imp_tree *t, const char *path, const char *name, char **files,
                           size_t nfiles)
{
    imp_prompt pr = {0};
    int rc = mlops__prompt_name_check(name);
    if (rc != MLOPS_OK)
        return mlops__error_wrap(MLOPS_EFORMAT, "%s", path);
    pr.name = mlops__strdup(name);
    pr.v = calloc(nfiles, sizeof *pr.v);
    if (!pr.name || !pr.v) {
        free(pr.name);
        free(pr.v);
        return mlops__error_oom("import");
    }
    for (size_t i = 0; i < nfiles && rc == MLOPS_OK; i++) {
        char kind = 0;
        int64_t n = version_file(files[i], &kind);
        if (n <= 0 || kind == 'm')
            continue;
        imp_version *v = &pr.v[pr.nv++];
        v->n = n;
        v->type = kind == 'j' ? MLOPS__PROMPT_CHAT : MLOPS__PROMPT_TEXT;
        v->file = mlops__sprintf("%s/%s", path, files[i]);
        char *meta = mlops__sprintf("%s/v%lld.meta.json", path, (long long)n);
        char *text = NULL;
        if (!v->file || !meta)
            rc = mlops__error_oom("import");
        for (size_t k = 0; rc == MLOPS_OK && k + 1 < pr.nv; k++)
            if (pr.v[k].n == n)
                rc = mlops__error(MLOPS_EFORMAT, "%s: version %lld appears twice", path,
                                  (long long)n);
        if (rc == MLOPS_OK)
            rc = mlops__file_read(v->file, MLOPS__PROMPT_MAX_TEMPLATE, &text, NULL);
        if (rc == MLOPS_OK)
            rc = mlops__prompt_normalise(v->type, text, v->file, &v->canonical);
        if (rc == MLOPS_OK)
            rc = read_meta(meta, v, t->actor);
        if (rc == MLOPS_OK)
            mlops__prompt_content_hash(v->type, v->canonical, v->config, v->hash);
        free(text);
        free(meta);
    }
    if (rc == MLOPS_OK) {
        qsort(pr.v, pr.nv, sizeof *pr.v, cmp_version);
        char *lpath = mlops__sprintf("%s/labels.json", path);
        struct stat sb;
        if (!lpath) {
            rc = mlops__error_oom("import");
        } else if (stat(lpath, &sb) == 0) {
            char *text = NULL;
            rc = mlops__file_read(lpath, 1u << 20, &text, NULL);
            if (rc == MLOPS_OK)
                rc = mlops__json_parse_object(text, lpath, &pr.labels);
            const char *label;
            json_t *target;
            json_object_foreach(pr.labels, label, target) {
                if (rc != MLOPS_OK)
                    break;
                if (mlops__prompt_label_check(label, true) != MLOPS_OK) {
                    rc = mlops__error_wrap(MLOPS_EFORMAT, "%s", lpath);
                    break;
                }
                label_target lt;
                if (json_is_integer(target)) {
                    lt.version = json_integer_value(target);
                    lt.narms = 0;
                    lt.arms = NULL;
                } else if (mlops__prompt_split_parse(target, &lt) != MLOPS_OK) {
                    rc = mlops__error_wrap(MLOPS_EFORMAT, "%s: label '%s'", lpath, label);
                    break;
                }
                /* every version a label names must be in the tree */
                for (size_t a = 0; rc == MLOPS_OK && a < (lt.narms ? lt.narms : 1); a++) {
                    int64_t want = lt.narms ? lt.arms[a].version : lt.version;
                    bool have = false;
                    for (size_t k = 0; k < pr.nv && !have; k++)
                        have = pr.v[k].n == want;
                    if (!have)
                        rc = mlops__error(MLOPS_EFORMAT, "%s: label '%s' names version %lld, "
                                          "which has no file",
                                          lpath, label, (long long)want);
                }
                mlops__prompt_target_clear(&lt);
            }
            free(text);
        }
        free(lpath);
    }
    void *grown = rc == MLOPS_OK ? realloc(t->p, (t->n + 1) * sizeof *t->p) : NULL;
    if (rc == MLOPS_OK && !grown)
        rc = mlops__error_oom("import");
    if (rc != MLOPS_OK) {
        prompt_free(&pr);
        return rc;
    }
    t->p = grown;
    t->p[t->n++] = pr;
    return MLOPS_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(imp_tree *t, const char *path, const char *name, int depth)
{
    if (depth > TREE_MAX_DEPTH)
        return mlops__error(MLOPS_EFORMAT, "%s: directories nested too deeply", path);
    DIR *d = opendir(path);
    if (!d)
        return mlops__error(MLOPS_EIO, "%s: cannot open directory: %s", path, strerror(errno));
    char **files = NULL, **dirs = NULL;
    size_t nf = 0, nd = 0;
    int rc = MLOPS_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && rc == MLOPS_OK) {
        if (e->d_name[0] == '.')
            continue; /* ".", "..", ".git", editors' dot files */
        char *full = mlops__sprintf("%s/%s", path, e->d_name);
        struct stat sb;
        if (!full) {
            rc = mlops__error_oom("import");
            break;
        }
        bool is_dir = stat(full, &sb) == 0 && S_ISDIR(sb.st_mode);
        free(full);
        char ***list = is_dir ? &dirs : &files;
        size_t *cnt = is_dir ? &nd : &nf;
        char **grown = realloc(*list, (*cnt + 1) * sizeof **list);
        char *copy = mlops__strdup(e->d_name);
        if (!grown || !copy) {
            free(copy);
            if (grown)
                *list = grown;
            rc = mlops__error_oom("import");
            break;
        }
        *list = grown;
        (*list)[(*cnt)++] = copy;
    }
    closedir(d);
    if (rc == MLOPS_OK) {
        if (nf)
            qsort(files, nf, sizeof *files, cmp_str);
        if (nd)
            qsort(dirs, nd, sizeof *dirs, cmp_str);
        bool has_versions = false;
        for (size_t i = 0; i < nf && !has_versions; i++) {
            char kind = 0;
            has_versions = version_file(files[i], &kind) > 0 && kind != 'm';
        }
        if (has_versions) {
            if (!name)
                rc = mlops__error(MLOPS_EFORMAT,
                                  "%s: version files belong in a directory named after the prompt",
                                  path);
            else
                rc = load_prompt_dir(t, path, name, files, nf);
        }
    }
    for (size_t i = 0; i < nd && rc == MLOPS_OK; i++) {
        char *sub = mlops__sprintf("%s/%s", path, dirs[i]);
        char *subname = name ? mlops__sprintf("%s/%s", name, dirs[i]) : mlops__strdup(dirs[i]);
        rc = sub && subname ? walk(t, sub, subname, depth + 1) : mlops__error_oom("import");
        free(sub);
        free(subname);
    }
    for (size_t i = 0; i < nf; i++)
        free(files[i]);
    for (size_t i = 0; i < nd; i++)
        free(dirs[i]);
    free(files);
    free(dirs);
    return rc;
}

/* Inside the transaction: finds an existing version with this content not yet matched. */
static int match_version(mlops__store *st, int64_t id, const imp_version *v, int64_t *used,
                         size_t nused, int64_t *out)
{
    *out = 0;
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(st,
                                  "SELECT version FROM prompt_versions WHERE prompt_id = ?1 AND "
                                  "hash = ?2 ORDER BY version = ?3 DESC, version",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    mlops__sql_bind_text(s, 2, v->hash);
    sqlite3_bind_int64(s, 3, v->n);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t cand = sqlite3_column_int64(s, 0);
        bool taken = false;
        for (size_t k = 0; k < nused && !taken; k++)
            taken = used[k] == cand;
        if (!taken) {
            *out = cand;
            break;
        }
    }
    sqlite3_reset(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mlops__store_error(st, step, "import");
    return MLOPS_OK;
}

static int import_prompt(mlops__prompts *p, const imp_prompt *pr, const char *actor,
                         json_t *created, int *unchanged, json_t *moved)
{
    int64_t *map = calloc(pr->nv ? pr->nv : 1, sizeof *map);
    if (!map)
        return mlops__error_oom("import");
    int rc = MLOPS_OK;
    int64_t id = 0;
    for (size_t k = 0; k < pr->nv && rc == MLOPS_OK; k++) {
        const imp_version *v = &pr->v[k];
        rc = mlops__prompt_db_id(p->st, pr->name, &id);
        if (rc == MLOPS_OK)
            rc = match_version(p->st, id, v, map, k, &map[k]);
        else if (rc == MLOPS_ENOTFOUND)
            rc = MLOPS_OK;
        if (rc != MLOPS_OK || map[k] > 0) {
            *unchanged += rc == MLOPS_OK;
            continue;
        }
        bool made = false;
        rc = mlops__prompt_db_push(p->st, pr->name, v->type, v->canonical, v->config, v->message,
                                   v->tags, v->actor, &map[k], &made);
        if (rc == MLOPS_OK && made)
            json_array_append_new(created, json_pack("{s:s, s:I, s:s}", "name", pr->name,
                                                     "version", (json_int_t)map[k], "file",
                                                     v->file));
        else if (rc == MLOPS_OK)
            (*unchanged)++;
    }
    const char *label;
    json_t *target;
    json_object_foreach(pr->labels, label, target) {
        if (rc != MLOPS_OK)
            break;
        label_target lt = {0, NULL, 0};
        if (json_is_integer(target))
            lt.version = json_integer_value(target);
        else
            rc = mlops__prompt_split_parse(target, &lt);
        for (size_t a = 0; rc == MLOPS_OK && a < (lt.narms ? lt.narms : 1); a++) {
            int64_t *slot = lt.narms ? &lt.arms[a].version : &lt.version;
            for (size_t k = 0; k < pr->nv; k++)
                if (pr->v[k].n == *slot) {
                    *slot = map[k];
                    break;
                }
        }
        bool changed = false;
        if (rc == MLOPS_OK)
            rc = mlops__prompt_db_move_label(p->st, pr->name, label, &lt, actor, "import",
                                             &changed);
        if (rc == MLOPS_OK && changed)
            json_array_append_new(moved, json_pack("{s:s, s:s}", "name", pr->name, "label", label));
        mlops__prompt_target_clear(&lt);
    }
    free(map);
    return rc;
}

int mlops__prompts_import(mlops__prompts *p, const char *dir, const char *actor, char **out)
{
    *out = NULL;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return mlops__error(MLOPS_EIO, "import: '%s' is not a directory", dir);
    imp_tree t = {NULL, 0, actor};
    int rc = walk(&t, dir, NULL, 0);
    json_t *created = json_array(), *moved = json_array();
    int unchanged = 0;
    if (rc == MLOPS_OK && (!created || !moved))
        rc = mlops__error_oom("import");
    if (rc == MLOPS_OK && (rc = mlops__store_begin(p->st)) == MLOPS_OK) {
        for (size_t i = 0; i < t.n && rc == MLOPS_OK; i++)
            rc = import_prompt(p, &t.p[i], actor, created, &unchanged, moved);
        if (rc == MLOPS_OK)
            rc = mlops__store_commit(p->st);
        else
            mlops__store_rollback(p->st);
    }
    size_t nprompts = t.n;
    tree_free(&t);
    if (rc != MLOPS_OK) {
        json_decref(created);
        json_decref(moved);
        return rc;
    }
    return mlops__json_dump_steal(json_pack("{s:I, s:o, s:i, s:o}", "prompts",
                                            (json_int_t)nprompts, "created", created,
                                            "unchanged", unchanged, "labels_moved", moved),
                                  out);
}
