/* Public gateway API: mlops_gateway_configure/load/status, mlops_chat, mlops_chat_stream. */
#include "api.h"

#include "../gateway/gateway.h"

#include <stdio.h>
#include <stdlib.h>

#define CONFIG_FILE_MAX (16u << 20)

static int check_config(const json_t *section)
{
    return mlops__gateway_check_config(section);
}

static int open_module(mlops_t *h, const json_t *section)
{
    return mlops__gateway_open(h, &h->logger, section, &h->gateway);
}

static void close_module(mlops_t *h)
{
    mlops__gateway_close(h->gateway);
    h->gateway = NULL;
}

const mlops__module mlops__api_gateway_module = {
    "gateway", NULL, check_config, open_module, close_module,
};

static int configure_text(mlops_t *h, const char *text, const char *what)
{
    json_t *cfg = NULL;
    int rc = mlops__json_parse(text, what, &cfg);
    if (rc != MLOPS_OK) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", mlops__error_text());
        return mlops__error(MLOPS_ECONFIG, "%s", detail);
    }
    if (!json_is_object(cfg)) {
        rc = mlops__error(MLOPS_ECONFIG, "%s: expected a JSON object, got %s", what,
                          mlops__json_type_name(cfg));
    } else {
        rc = mlops__gateway_configure(h->gateway, cfg, what);
    }
    json_decref(cfg);
    return rc;
}

MLOPS_API int mlops_gateway_configure(mlops_t *h, const char *config_json)
{
    int rc = mlops__api_check_handle(h, "mlops_gateway_configure");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(config_json, "mlops_gateway_configure", "config_json");
    if (rc != MLOPS_OK)
        return rc;
    return configure_text(h, config_json, "gateway config");
}

MLOPS_API int mlops_gateway_load(mlops_t *h, const char *path)
{
    int rc = mlops__api_check_handle(h, "mlops_gateway_load");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(path, "mlops_gateway_load", "path");
    if (rc != MLOPS_OK)
        return rc;
    char *text = NULL;
    size_t len = 0;
    if ((rc = mlops__file_read(path, CONFIG_FILE_MAX, &text, &len)) != MLOPS_OK)
        return rc;
    rc = configure_text(h, text, path);
    free(text);
    return rc;
}

MLOPS_API int mlops_chat(mlops_t *h, const char *request_json, char **out)
{
    int rc = mlops__api_check_handle(h, "mlops_chat");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(out, "mlops_chat", "out");
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    if ((rc = mlops__api_check_arg(request_json, "mlops_chat", "request_json")) != MLOPS_OK)
        return rc;
    return mlops__gateway_chat(h->gateway, h, request_json, NULL, NULL, out);
}

MLOPS_API int mlops_chat_stream(mlops_t *h, const char *request_json, mlops_chunk_fn fn, void *user_data, char **out_final_json)
{
    int rc = mlops__api_check_handle(h, "mlops_chat_stream");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(out_final_json, "mlops_chat_stream", "out_final_json");
    if (rc != MLOPS_OK)
        return rc;
    *out_final_json = NULL;
    if ((rc = mlops__api_check_arg(request_json, "mlops_chat_stream", "request_json")) != MLOPS_OK ||
        (rc = mlops__api_check_arg((const void *)(uintptr_t)fn, "mlops_chat_stream", "fn")) != MLOPS_OK)
        return rc;
    return mlops__gateway_chat(h->gateway, h, request_json, fn, user_data, out_final_json);
}

MLOPS_API int mlops_gateway_status(mlops_t *h, char **out)
{
    int rc = mlops__api_check_handle(h, "mlops_gateway_status");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(out, "mlops_gateway_status", "out");
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    json_t *st = NULL;
    if ((rc = mlops__gateway_status(h->gateway, &st)) != MLOPS_OK)
        return rc;
    return mlops__json_dump_steal(st, out);
}
