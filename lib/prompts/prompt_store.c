/*
 * The registry's SQL. Every function here runs with the store lock held; writers run
 * inside the caller's BEGIN IMMEDIATE transaction, so reading the newest version and
 * inserting the next one cannot interleave with another connection's push (that is
 * what keeps version numbers gap-free and unique across threads and processes).
 */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

int mlops__prompt_db_id(mlops__store *st, const char *name, int64_t *id)
{
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(st, "SELECT id FROM prompts WHERE name = ?1", &s);
    if (rc != MLOPS_OK)
        return rc;
    mlops__sql_bind_text(s, 1, name);
    bool found;
    if ((rc = mlops__store_query_int(st, s, "prompt lookup", id, &found)) != MLOPS_OK)
        return rc;
    return found ? MLOPS_OK : mlops__error(MLOPS_ENOTFOUND, "prompt '%s' not found", name);
}

int mlops__prompt_db_latest(mlops__store *st, int64_t prompt_id, int64_t *version, char hash[33])
{
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(st,
                                  "SELECT version, hash FROM prompt_versions WHERE prompt_id = ?1 "
                                  "ORDER BY version DESC LIMIT 1",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, prompt_id);
    int step = sqlite3_step(s);
    *version = 0;
    if (hash)
        hash[0] = '\0';
    if (step == SQLITE_ROW) {
        *version = sqlite3_column_int64(s, 0);
        if (hash)
            snprintf(hash, 33, "%s", (const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_reset(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mlops__store_error(st, step, "prompt latest version");
    return MLOPS_OK;
}

int mlops__prompt_db_label(mlops__store *st, int64_t prompt_id, const char *label,
                           label_target *out, bool *found)
{
    memset(out, 0, sizeof *out);
    *found = false;
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(st,
                                  "SELECT version, split FROM prompt_labels WHERE prompt_id = ?1 "
                                  "AND label = ?2",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, prompt_id);
    mlops__sql_bind_text(s, 2, label);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        *found = true;
        rc = mlops__prompt_target_from_row(sqlite3_column_int64(s, 0),
                                           (const char *)sqlite3_column_text(s, 1), out);
    } else if (step != SQLITE_DONE) {
        rc = mlops__store_error(st, step, "prompt label lookup");
    }
    sqlite3_reset(s);
    return rc;
}

int mlops__prompt_db_version_row(mlops__store *st, int64_t prompt_id, const char *name,
                                 int64_t version, int *type, char **text, char **config,
                                 char **message, char **tags, char **created_by,
                                 int64_t *created_ms, char hash[33])
{
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(st,
                                  "SELECT type, template, config, message, tags, created_by, "
                                  "created_ms, hash FROM prompt_versions WHERE prompt_id = ?1 "
                                  "AND version = ?2",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, prompt_id);
    sqlite3_bind_int64(s, 2, version);
    int step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        sqlite3_reset(s);
        return mlops__error(MLOPS_ENOTFOUND, "prompt '%s' has no version %lld (%s:%lld)", name,
                            (long long)version, name, (long long)version);
    }
    if (step != SQLITE_ROW) {
        sqlite3_reset(s);
        return mlops__store_error(st, step, "prompt version lookup");
    }
    *type = strcmp((const char *)sqlite3_column_text(s, 0), "chat") == 0 ? MLOPS__PROMPT_CHAT
                                                                         : MLOPS__PROMPT_TEXT;
    *text = mlops__sql_column_dup(s, 1);
    *config = mlops__sql_column_dup(s, 2);
    *message = mlops__sql_column_dup(s, 3);
    *tags = mlops__sql_column_dup(s, 4);
    *created_by = mlops__sql_column_dup(s, 5);
    *created_ms = sqlite3_column_int64(s, 6);
    snprintf(hash, 33, "%s", (const char *)sqlite3_column_text(s, 7));
    sqlite3_reset(s);
    if (!*text || !*config || !*message || !*tags) {
        free(*text);
        free(*config);
        free(*message);
        free(*tags);
        free(*created_by);
        return mlops__error_oom("prompt version");
    }
    return MLOPS_OK;
}

int mlops__prompt_db_push(mlops__store *st, const char *name, int type, const char *canonical,
                          const char *config, const char *message, const char *tags,
                          const char *actor, int64_t *out_version, bool *out_created)
{
    *out_created = false;
    int64_t now = mlops__wall_ms(), id = 0;
    int rc = mlops__prompt_db_id(st, name, &id);
    if (rc == MLOPS_ENOTFOUND) {
        sqlite3_stmt *s = NULL;
        if ((rc = mlops__store_prepare(st, "INSERT INTO prompts(name, created_ms) VALUES(?1, ?2)",
                                       &s)) != MLOPS_OK)
            return rc;
        mlops__sql_bind_text(s, 1, name);
        sqlite3_bind_int64(s, 2, now);
        int step = sqlite3_step(s);
        sqlite3_reset(s);
        if (step != SQLITE_DONE)
            return mlops__store_error(st, step, "prompt insert");
        id = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
    } else if (rc != MLOPS_OK) {
        return rc;
    }
    char hash[33], latest_hash[33];
    int64_t latest = 0;
    mlops__prompt_content_hash(type, canonical, config, hash);
    if ((rc = mlops__prompt_db_latest(st, id, &latest, latest_hash)) != MLOPS_OK)
        return rc;
    if (latest > 0 && strcmp(hash, latest_hash) == 0) {
        *out_version = latest;
        return MLOPS_OK;
    }
    sqlite3_stmt *s = NULL;
    if ((rc = mlops__store_prepare(st,
                                   "INSERT INTO prompt_versions(prompt_id, version, type, "
                                   "template, config, message, tags, hash, created_ms, "
                                   "created_by) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                                   &s)) != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, latest + 1);
    mlops__sql_bind_text(s, 3, type == MLOPS__PROMPT_CHAT ? "chat" : "text");
    mlops__sql_bind_text(s, 4, canonical);
    mlops__sql_bind_text(s, 5, config);
    mlops__sql_bind_text(s, 6, message ? message : "");
    mlops__sql_bind_text(s, 7, tags);
    mlops__sql_bind_text(s, 8, hash);
    sqlite3_bind_int64(s, 9, now);
    mlops__sql_bind_text(s, 10, actor);
    int step = sqlite3_step(s);
    sqlite3_reset(s);
    if (step != SQLITE_DONE)
        return mlops__store_error(st, step, "prompt version insert");
    *out_version = latest + 1;
    *out_created = true;
    return MLOPS_OK;
}

static int version_exists(mlops__store *st, int64_t id, const char *name, int64_t version)
{
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(st,
                                  "SELECT 1 FROM prompt_versions WHERE prompt_id = ?1 AND "
                                  "version = ?2",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, version);
    int64_t one;
    bool found;
    if ((rc = mlops__store_query_int(st, s, "prompt version lookup", &one, &found)) != MLOPS_OK)
        return rc;
    return found ? MLOPS_OK
                 : mlops__error(MLOPS_ENOTFOUND, "prompt '%s' has no version %lld (%s:%lld)",
                                name, (long long)version, name, (long long)version);
}

int mlops__prompt_db_move_label(mlops__store *st, const char *name, const char *label,
                                const label_target *target, const char *actor,
                                const char *reason, bool *out_changed)
{
    *out_changed = false;
    int64_t id = 0;
    int rc = mlops__prompt_db_id(st, name, &id);
    if (rc != MLOPS_OK)
        return rc;
    if (target) {
        if (target->narms == 0)
            rc = version_exists(st, id, name, target->version);
        for (size_t i = 0; rc == MLOPS_OK && i < target->narms; i++)
            rc = version_exists(st, id, name, target->arms[i].version);
        if (rc != MLOPS_OK)
            return rc;
    }
    label_target old;
    bool found = false;
    if ((rc = mlops__prompt_db_label(st, id, label, &old, &found)) != MLOPS_OK)
        return rc;
    char *from = found ? mlops__prompt_target_text(&old) : NULL;
    char *to = target ? mlops__prompt_target_text(target) : NULL;
    mlops__prompt_target_clear(&old);
    if ((found && !from) || (target && !to)) {
        rc = mlops__error_oom("label");
        goto out;
    }
    if (!found && !target) {
        rc = mlops__error(MLOPS_ENOTFOUND, "prompt '%s' has no label '%s'", name, label);
        goto out;
    }
    if (from && to && strcmp(from, to) == 0)
        goto out; /* already there: nothing to record */
    int64_t now = mlops__wall_ms();
    sqlite3_stmt *s = NULL;
    if (target) {
        rc = mlops__store_prepare(st,
                                  "INSERT INTO prompt_labels(prompt_id, label, version, split, "
                                  "updated_ms) VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(prompt_id, "
                                  "label) DO UPDATE SET version = excluded.version, split = "
                                  "excluded.split, updated_ms = excluded.updated_ms",
                                  &s);
        if (rc != MLOPS_OK)
            goto out;
        sqlite3_bind_int64(s, 1, id);
        mlops__sql_bind_text(s, 2, label);
        if (target->narms)
            sqlite3_bind_null(s, 3);
        else
            sqlite3_bind_int64(s, 3, target->version);
        mlops__sql_bind_text(s, 4, target->narms ? to : NULL);
        sqlite3_bind_int64(s, 5, now);
    } else {
        rc = mlops__store_prepare(st,
                                  "DELETE FROM prompt_labels WHERE prompt_id = ?1 AND label = ?2",
                                  &s);
        if (rc != MLOPS_OK)
            goto out;
        sqlite3_bind_int64(s, 1, id);
        mlops__sql_bind_text(s, 2, label);
    }
    int step = sqlite3_step(s);
    sqlite3_reset(s);
    if (step != SQLITE_DONE) {
        rc = mlops__store_error(st, step, "label update");
        goto out;
    }
    rc = mlops__store_prepare(st,
                              "INSERT INTO prompt_label_history(prompt_id, label, from_target, "
                              "to_target, actor, reason, at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                              &s);
    if (rc != MLOPS_OK)
        goto out;
    sqlite3_bind_int64(s, 1, id);
    mlops__sql_bind_text(s, 2, label);
    mlops__sql_bind_text(s, 3, from);
    mlops__sql_bind_text(s, 4, to);
    mlops__sql_bind_text(s, 5, actor);
    mlops__sql_bind_text(s, 6, reason);
    sqlite3_bind_int64(s, 7, now);
    step = sqlite3_step(s);
    sqlite3_reset(s);
    if (step != SQLITE_DONE) {
        rc = mlops__store_error(st, step, "label history");
        goto out;
    }
    *out_changed = true;
out:
    free(from);
    free(to);
    return rc;
}

int mlops__prompt_db_generation(mlops__store *st, int64_t *gen)
{
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(st, "SELECT value FROM prompt_generation WHERE id = 1", &s);
    if (rc != MLOPS_OK)
        return rc;
    bool found;
    *gen = -1;
    return mlops__store_query_int(st, s, "prompt generation", gen, &found);
}
