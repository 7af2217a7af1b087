/*
 * References and the name rules: `name`, `name@label`, `name:version`. One parser for
 * the C API, the CLI (through the API) and {{> include}} tags.
 */
#include "prompts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mlops__prompt_name_check(const char *name)
{
    int rc = mlops__name_check(name, "prompt name");
    if (rc != MLOPS_OK)
        return rc;
    /* Names become directories on export: no empty, "." or ".." segment. */
    const char *seg = name;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return mlops__error(MLOPS_EINVAL,
                                "prompt name '%s': empty, '.' or '..' path segments are not allowed",
                                name);
        if (!slash)
            break;
        seg = slash + 1;
    }
    return MLOPS_OK;
}

static bool looks_like_version(const char *s)
{
    if (*s == 'v' || *s == 'V')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int mlops__prompt_label_check(const char *label, bool for_write)
{
    int rc = mlops__name_check(label, "label");
    if (rc != MLOPS_OK)
        return rc;
    if (strchr(label, '/'))
        return mlops__error(MLOPS_EINVAL, "label '%s': '/' is not allowed in labels", label);
    if (looks_like_version(label))
        return mlops__error(MLOPS_EINVAL,
                            "label '%s': looks like a version number; labels must not (use "
                            "name:N to name a version)",
                            label);
    if (for_write && strcmp(label, "latest") == 0)
        return mlops__error(MLOPS_EINVAL,
                            "label 'latest': reserved, it always points at the newest version");
    return MLOPS_OK;
}

int mlops__prompt_ref_parse(const char *text, size_t n, mlops__prompt_ref *out)
{
    memset(out, 0, sizeof *out);
    int shown = n > 200 ? 200 : (int)n;
    if (!text || n == 0)
        return mlops__error(MLOPS_EINVAL, "prompt reference: must not be empty");
    size_t cut = n;
    char sep = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '@' || text[i] == ':') {
            cut = i;
            sep = text[i];
            break;
        }
    }
    if (cut > MLOPS__NAME_MAX)
        return mlops__error(MLOPS_EINVAL, "prompt reference '%.*s': name longer than %d bytes",
                            shown, text, MLOPS__NAME_MAX);
    memcpy(out->name, text, cut);
    out->name[cut] = '\0';
    if (memchr(text, '\0', n) || mlops__prompt_name_check(out->name) != MLOPS_OK) {
        char why[300];
        snprintf(why, sizeof why, "%s", mlops__error_text());
        return mlops__error(MLOPS_EINVAL, "prompt reference '%.*s': %s", shown, text, why);
    }
    if (!sep) {
        out->kind = MLOPS__REF_DEFAULT;
        return MLOPS_OK;
    }
    const char *rest = text + cut + 1;
    size_t rn = n - cut - 1;
    if (rn == 0)
        return mlops__error(MLOPS_EINVAL, "prompt reference '%.*s': nothing after '%c'", shown,
                            text, sep);
    if (sep == ':') {
        int64_t v = 0;
        for (size_t i = 0; i < rn; i++) {
            if (rest[i] < '0' || rest[i] > '9' || v > (INT64_MAX - 9) / 10)
                return mlops__error(MLOPS_EINVAL,
                                    "prompt reference '%.*s': version must be a positive number",
                                    shown, text);
            v = v * 10 + (rest[i] - '0');
        }
        if (v <= 0)
            return mlops__error(MLOPS_EINVAL,
                                "prompt reference '%.*s': version must be a positive number",
                                shown, text);
        out->kind = MLOPS__REF_VERSION;
        out->version = v;
        return MLOPS_OK;
    }
    if (rn > MLOPS__NAME_MAX)
        return mlops__error(MLOPS_EINVAL, "prompt reference '%.*s': label longer than %d bytes",
                            shown, text, MLOPS__NAME_MAX);
    memcpy(out->label, rest, rn);
    out->label[rn] = '\0';
    if (mlops__prompt_label_check(out->label, false) != MLOPS_OK) {
        char why[300];
        snprintf(why, sizeof why, "%s", mlops__error_text());
        return mlops__error(MLOPS_EINVAL, "prompt reference '%.*s': %s", shown, text, why);
    }
    out->kind = MLOPS__REF_LABEL;
    return MLOPS_OK;
}

void mlops__prompt_json_str(mlops__buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    mlops__buf_reserve(b, n + 2);
    mlops__buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        mlops__buf_append(b, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
        }
        mlops__buf_puts(b, esc);
    }
    mlops__buf_append(b, s + run, n - run);
    mlops__buf_putc(b, '"');
}
