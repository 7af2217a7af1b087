/* Listing prompts (filtered by name prefix, tag, label) and a prompt's history. */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

static json_t *time_json(int64_t ms)
{
    char when[32];
    mlops__format_time(ms, when);
    return json_string(when);
}

/* Current labels of a prompt as {"label": version | {"split": [...]}}. Lock held. */
static int labels_json(mlops__store *st, int64_t id, json_t **out)
{
    *out = json_object();
    if (!*out)
        return mlops__error_oom("labels");
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(st,
                                  "SELECT label, version, split FROM prompt_labels WHERE "
                                  "prompt_id = ?1 ORDER BY label",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *label = (const char *)sqlite3_column_text(s, 0);
        const char *split = (const char *)sqlite3_column_text(s, 2);
        json_t *target = split ? mlops__prompt_target_json(split)
                               : json_integer(sqlite3_column_int64(s, 1));
        json_object_set_new(*out, label, target);
    }
    sqlite3_reset(s);
    if (step != SQLITE_DONE)
        return mlops__store_error(st, step, "labels");
    return MLOPS_OK;
}

static bool tag_matches(const char *tags_text, const char *filter)
{
    if (!filter)
        return true;
    json_error_t err;
    json_t *tags = json_loads(tags_text, 0, &err);
    const char *eq = strchr(filter, '=');
    bool ok = false;
    if (json_is_object(tags)) {
        if (!eq) {
            ok = json_object_get(tags, filter) != NULL;
        } else {
            json_t *v = json_object_getn(tags, filter, (size_t)(eq - filter));
            ok = json_is_string(v) && strcmp(json_string_value(v), eq + 1) == 0;
        }
    }
    json_decref(tags);
    return ok;
}

int mlops__prompts_list(mlops__prompts *p, const json_t *filter, char **out)
{
    static const mlops__json_field fields[] = {
        {"prefix", MLOPS__J_STRING, false},
        {"tag", MLOPS__J_STRING, false},
        {"label", MLOPS__J_STRING, false},
        {NULL, 0, false},
    };
    int rc = filter ? mlops__json_check_fields(filter, "filter", fields, MLOPS_EINVAL) : MLOPS_OK;
    if (rc != MLOPS_OK)
        return rc;
    const char *prefix = filter ? mlops__json_str(filter, "prefix", "") : "";
    const char *tag = filter ? mlops__json_str(filter, "tag", NULL) : NULL;
    const char *label = filter ? mlops__json_str(filter, "label", NULL) : NULL;
    json_t *list = json_array();
    if (!list)
        return mlops__error_oom("list");
    mlops__store_lock(p->st);
    sqlite3_stmt *s = NULL;
    rc = mlops__store_prepare(p->st,
                              "SELECT p.id, p.name, v.version, v.type, v.tags, v.created_ms, "
                              "v.message FROM prompts p JOIN prompt_versions v ON v.prompt_id = "
                              "p.id AND v.version = (SELECT MAX(version) FROM prompt_versions "
                              "WHERE prompt_id = p.id) WHERE substr(p.name, 1, length(?1)) = ?1 "
                              "ORDER BY p.name",
                              &s);
    if (rc == MLOPS_OK) {
        mlops__sql_bind_text(s, 1, prefix);
        int step;
        while (rc == MLOPS_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
            const char *tags = (const char *)sqlite3_column_text(s, 4);
            if (!tag_matches(tags, tag))
                continue;
            json_t *labels = NULL;
            rc = labels_json(p->st, sqlite3_column_int64(s, 0), &labels);
            if (rc == MLOPS_OK && label && !json_object_get(labels, label) &&
                strcmp(label, "latest") != 0) {
                json_decref(labels);
                continue;
            }
            if (rc != MLOPS_OK) {
                json_decref(labels);
                break;
            }
            json_object_set_new(labels, "latest", json_integer(sqlite3_column_int64(s, 2)));
            json_error_t err;
            json_t *tj = json_loads(tags, 0, &err);
            json_t *item = json_pack(
                "{s:s, s:I, s:s, s:o, s:o, s:o, s:s}", "name", (const char *)sqlite3_column_text(s, 1),
                "latest", (json_int_t)sqlite3_column_int64(s, 2), "type",
                (const char *)sqlite3_column_text(s, 3), "labels", labels, "tags",
                tj ? tj : json_object(), "updated_at", time_json(sqlite3_column_int64(s, 5)),
                "message", (const char *)sqlite3_column_text(s, 6));
            if (!item || json_array_append_new(list, item))
                rc = mlops__error_oom("list");
        }
        if (rc == MLOPS_OK && step != SQLITE_DONE)
            rc = mlops__store_error(p->st, step, "list");
        sqlite3_reset(s);
    }
    mlops__store_unlock(p->st);
    if (rc != MLOPS_OK) {
        json_decref(list);
        return rc;
    }
    return mlops__json_dump_steal(json_pack("{s:o}", "prompts", list), out);
}

/* One prompt_versions row of the history query. */
static json_t *version_row_json(sqlite3_stmt *s)
{
    json_error_t err;
    json_t *tags = json_loads((const char *)sqlite3_column_text(s, 3), 0, &err);
    const char *by = (const char *)sqlite3_column_text(s, 6);
    return json_pack("{s:I, s:s, s:s, s:o, s:s, s:o, s:o}", "version",
                     (json_int_t)sqlite3_column_int64(s, 0), "type",
                     (const char *)sqlite3_column_text(s, 1), "message",
                     (const char *)sqlite3_column_text(s, 2), "tags", tags ? tags : json_object(),
                     "hash", (const char *)sqlite3_column_text(s, 4), "created_at",
                     time_json(sqlite3_column_int64(s, 5)), "created_by",
                     by ? json_string(by) : json_null());
}

/* One prompt_label_history row of the history query. */
static json_t *move_row_json(sqlite3_stmt *s)
{
    const char *actor = (const char *)sqlite3_column_text(s, 3);
    const char *reason = (const char *)sqlite3_column_text(s, 4);
    return json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o}", "label", (const char *)sqlite3_column_text(s, 0),
        "from", mlops__prompt_target_json((const char *)sqlite3_column_text(s, 1)), "to",
        mlops__prompt_target_json((const char *)sqlite3_column_text(s, 2)), "actor",
        actor ? json_string(actor) : json_null(), "reason",
        reason ? json_string(reason) : json_null(), "at", time_json(sqlite3_column_int64(s, 5)));
}

/* Appends row_json of each row of `sql` (a string literal; ?1 = the prompt id) to arr.
 * Lock held. */
static int history_rows(mlops__store *st, const char *sql, int64_t id,
                        mlops__store_row_fn row_json, json_t *arr)
{
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(st, sql, &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    rc = mlops__store_rows_json(st, s, row_json, arr, "history", "history");
    sqlite3_reset(s);
    return rc;
}

int mlops__prompts_history(mlops__prompts *p, const char *name, char **out)
{
    int rc = mlops__prompt_name_check(name);
    if (rc != MLOPS_OK)
        return rc;
    json_t *versions = json_array(), *moves = json_array(), *labels = NULL;
    int64_t id = 0, latest = 0;
    mlops__store_lock(p->st);
    rc = versions && moves ? mlops__prompt_db_id(p->st, name, &id) : mlops__error_oom("history");
    if (rc == MLOPS_OK)
        rc = history_rows(p->st,
                          "SELECT version, type, message, tags, hash, created_ms, created_by "
                          "FROM prompt_versions WHERE prompt_id = ?1 ORDER BY version",
                          id, version_row_json, versions);
    if (rc == MLOPS_OK)
        rc = history_rows(p->st,
                          "SELECT label, from_target, to_target, actor, reason, at_ms "
                          "FROM prompt_label_history WHERE prompt_id = ?1 ORDER BY id",
                          id, move_row_json, moves);
    if (rc == MLOPS_OK)
        rc = labels_json(p->st, id, &labels);
    if (rc == MLOPS_OK)
        rc = mlops__prompt_db_latest(p->st, id, &latest, NULL);
    mlops__store_unlock(p->st);
    if (rc != MLOPS_OK) {
        json_decref(versions);
        json_decref(moves);
        json_decref(labels);
        return rc;
    }
    json_object_set_new(labels, "latest", json_integer(latest));
    return mlops__json_dump_steal(json_pack("{s:s, s:o, s:o, s:o}", "name", name, "versions",
                                            versions, "labels", labels, "label_moves", moves),
                                  out);
}
