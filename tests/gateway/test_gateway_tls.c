/*
 * TLS verification is always on: a provider with a self-signed certificate is refused,
 * the same one is accepted once its certificate is given as the deployment's ca_file,
 * and a name the certificate does not cover is refused even then. The TLS stand-in
 * makes its key and certificate (ECDSA P-256, SAN IP 127.0.0.1) with OpenSSL at run time.
 */
#include "gw_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct tls_server {
    SSL_CTX *ctx;
    int fd, port;
    atomic_int stop, hits;
    pthread_t thread;
} tls_server;

static EVP_PKEY *make_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    return k;
}

static X509 *make_cert(EVP_PKEY *key)
{
    X509 *c = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
    X509_gmtime_adj(X509_getm_notBefore(c), -60);
    X509_gmtime_adj(X509_getm_notAfter(c), 3600);
    X509_set_pubkey(c, key);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1, 0);
    X509_set_issuer_name(c, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, c, c, NULL, NULL, 0);
    const char *exts[][2] = {{"subjectAltName", "IP:127.0.0.1"},
                             {"basicConstraints", "critical,CA:TRUE"},
                             {"keyUsage", "critical,digitalSignature,keyCertSign"}};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
        assert_non_null(e);
        X509_add_ext(c, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(c, key, EVP_sha256()) > 0);
    return c;
}

static void serve_one(tls_server *s, int c)
{
    SSL *ssl = SSL_new(s->ctx);
    SSL_set_fd(ssl, c);
    if (SSL_accept(ssl) == 1) {
        char buf[16384];
        size_t len = 0;
        char *end = NULL;
        while (!end && len < sizeof buf - 1) {
            int n = SSL_read(ssl, buf + len, (int)(sizeof buf - 1 - len));
            if (n <= 0)
                break;
            len += (size_t)n;
            buf[len] = '\0';
            end = strstr(buf, "\r\n\r\n");
        }
        if (end) {
            const char *cl = strcasestr(buf, "content-length:");
            size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
            while (len < want && len < sizeof buf - 1) {
                int n = SSL_read(ssl, buf + len, (int)(sizeof buf - 1 - len));
                if (n <= 0)
                    break;
                len += (size_t)n;
            }
            atomic_fetch_add(&s->hits, 1);
            const char *body = "{\"id\":\"t\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\","
                               "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
                               "\"hello over tls\"},\"finish_reason\":\"stop\"}],"
                               "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":3,\"total_tokens\":4}}";
            char head[200];
            int n = snprintf(head, sizeof head,
                             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\nConnection: close\r\n\r\n", strlen(body));
            SSL_write(ssl, head, n);
            SSL_write(ssl, body, (int)strlen(body));
        }
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    close(c);
}

static void *tls_main(void *p)
{
    tls_server *s = p;
    while (!atomic_load(&s->stop)) {
        struct pollfd pf = {s->fd, POLLIN, 0};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c >= 0)
            serve_one(s, c);
    }
    return NULL;
}

static void tls_start(tls_server *s, EVP_PKEY *key, X509 *cert)
{
    memset(s, 0, sizeof *s);
    s->ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(s->ctx);
    assert_int_equal(SSL_CTX_use_certificate(s->ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, key), 1);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    s->port = ntohs(a.sin_port);
    atomic_init(&s->stop, 0);
    atomic_init(&s->hits, 0);
    assert_int_equal(pthread_create(&s->thread, NULL, tls_main, s), 0);
}

static void tls_stop(tls_server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->fd);
    SSL_CTX_free(s->ctx);
}

static mlops_t *tls_gateway(const char *host, int port, const char *ca_file)
{
    char extra[512] = "";
    if (ca_file)
        snprintf(extra, sizeof extra, ", \"ca_file\": \"%s\"", ca_file);
    char *cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [{\"provider\": \"openai\", "
                          "\"base_url\": \"https://%s:%d/v1\", \"model\": \"m\", \"id\": \"tls\"%s}]}], "
                          "\"router\": {\"retries\": 0}}",
                          host, port, extra);
    mlops_t *h = open_with(cfg);
    free(cfg);
    return h;
}

static void tls_verification(void **state)
{
    (void)state;
    EVP_PKEY *key = make_key();
    X509 *cert = make_cert(key);
    char *dir = test_tmpdir();
    char *pem = test_path(dir, "ca.pem");
    FILE *f = fopen(pem, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, cert), 1);
    fclose(f);
    tls_server s;
    tls_start(&s, key, cert);

    /* not trusted: refused before any request is sent */
    mlops_t *h = tls_gateway("127.0.0.1", s.port, NULL);
    char *out = NULL;
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_EPROVIDER, "deployment 'tls'");
    assert_non_null(strstr(mlops_last_error(), "certificate"));
    print_message("untrusted: %s\n", mlops_last_error());
    assert_int_equal(atomic_load(&s.hits), 0);
    mlops_close(h);

    /* trusted through ca_file: answered */
    h = tls_gateway("127.0.0.1", s.port, pem);
    json_t *r = chat_ok(h, USER_REQ("chat"));
    assert_string_equal(resp_content(r), "hello over tls");
    json_decref(r);
    assert_int_equal(atomic_load(&s.hits), 1);
    mlops_close(h);

    /* trusted, but the name is not the certificate's: refused (host name checked) */
    h = tls_gateway("localhost", s.port, pem);
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_EPROVIDER, "deployment 'tls'");
    assert_int_equal(atomic_load(&s.hits), 1);
    mlops_close(h);

    tls_stop(&s);
    X509_free(cert);
    EVP_PKEY_free(key);
    free(pem);
    test_tmpdir_remove(dir);
}

int closed_port(void)
{
    return 1;
}

int main(void)
{
    /* the TLS stand-in writes close_notify to clients that already hung up */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tls_verification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
