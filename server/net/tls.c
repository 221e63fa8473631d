/* The TLS context and per-connection sessions (see tls.h). */
#include "tls.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct tls_context {
    SSL_CTX *ctx;
};

void tls_config_default(struct tls_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->port = -1;
    cfg->auth_clients = TLS_AUTH_DEFAULT;
}

/* Why the last OpenSSL call failed, and the error queue emptied, so
 * nothing stale is blamed on the next call. A system error (the file is
 * missing or unreadable) says it all; otherwise each reason OpenSSL gave,
 * oldest first ("unsupported: no start line"). */
static void openssl_reason(char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    unsigned long e;
    const char *data;
    int flags;
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        if (ERR_SYSTEM_ERROR(e)) {
            snprintf(out, outlen, "%s", strerror((int)ERR_GET_REASON(e)));
            ERR_clear_error();
            return;
        }
        char code[256];
        const char *reason = ERR_reason_error_string(e);
        if (reason == NULL) {
            ERR_error_string_n(e, code, sizeof code);
            reason = code;
        }
        if (strstr(out, reason) != NULL || used + 1 >= outlen)
            continue;
        /* Some add what they found ("No supported data to decode"). */
        bool detail = (flags & ERR_TXT_STRING) && data && data[0];
        int n = snprintf(out + used, outlen - used, "%s%s%s%s%s", used ? ": " : "", reason,
                         detail ? " (" : "", detail ? data : "", detail ? ")" : "");
        if (n > 0)
            used += (size_t)n < outlen - used ? (size_t)n : outlen - used - 1;
    }
    if (used == 0)
        snprintf(out, outlen, "unknown OpenSSL error");
}

/* Keys that need a passphrase are refused instead of prompting on a
 * terminal nobody watches. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)arg;
    return -1;
}

static EVP_PKEY *read_key(const char *path)
{
    BIO *bio = BIO_new_file(path, "r");
    if (bio == NULL)
        return NULL;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    return key;
}

static int load_files(SSL_CTX *ctx, const struct tls_config *cfg, char *err, size_t errlen)
{
    char why[512];
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
        openssl_reason(why, sizeof why);
        snprintf(err, errlen, "cannot load --tls-cert-file %s: %s", cfg->cert_file, why);
        return -1;
    }
    EVP_PKEY *key = read_key(cfg->key_file);
    if (key == NULL) {
        openssl_reason(why, sizeof why);
        snprintf(err, errlen, "cannot load --tls-key-file %s: %s", cfg->key_file, why);
        return -1;
    }
    /* Checked apart from loading, so that the message says which two
     * files disagree rather than that the key is bad. */
    if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) != 1) {
        openssl_reason(why, sizeof why);
        snprintf(err, errlen, "--tls-key-file %s does not match --tls-cert-file %s: %s",
                 cfg->key_file, cfg->cert_file, why);
        EVP_PKEY_free(key);
        return -1;
    }
    int ok = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (ok != 1) {
        openssl_reason(why, sizeof why);
        snprintf(err, errlen, "cannot use --tls-key-file %s: %s", cfg->key_file, why);
        return -1;
    }
    if (cfg->ca_cert_file == NULL)
        return 0;
    STACK_OF(X509_NAME) *names = NULL;
    if (SSL_CTX_load_verify_locations(ctx, cfg->ca_cert_file, NULL) != 1 ||
        (names = SSL_load_client_CA_file(cfg->ca_cert_file)) == NULL) {
        openssl_reason(why, sizeof why);
        snprintf(err, errlen, "cannot load --tls-ca-cert-file %s: %s", cfg->ca_cert_file, why);
        return -1;
    }
    /* Named in the handshake, so a client with several certificates
     * picks one this CA signed. */
    SSL_CTX_set_client_CA_list(ctx, names);
    return 0;
}

struct tls_context *tls_context_new(const struct tls_config *cfg, char *err, size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        char why[256];
        openssl_reason(why, sizeof why);
        snprintf(err, errlen, "cannot set up TLS: %s", why);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* TLS 1.2 renegotiation started by a client costs the server a
     * handshake each time, for nothing it needs. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Most clients close TCP without close_notify. OpenSSL 3 calls that
     * an error of its own, which libevent cannot tell from a real one;
     * with this it is the plain EOF libevent then reports (a truncation
     * attack is no concern here: every request and reply is framed). */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Without it, a client that resumes a session while certificates are
     * verified fails its handshake. */
    static const unsigned char sid[] = "orderd";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    if (load_files(ctx, cfg, err, errlen) != 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    enum tls_auth_clients auth = cfg->auth_clients;
    if (auth == TLS_AUTH_DEFAULT)
        auth = cfg->ca_cert_file ? TLS_AUTH_YES : TLS_AUTH_NO;
    int mode = SSL_VERIFY_NONE;
    if (auth == TLS_AUTH_YES)
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else if (auth == TLS_AUTH_OPTIONAL)
        mode = SSL_VERIFY_PEER;
    SSL_CTX_set_verify(ctx, mode, NULL);
    struct tls_context *t = xcalloc(1, sizeof *t);
    t->ctx = ctx;
    return t;
}

void tls_context_free(struct tls_context *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

struct bufferevent *tls_accept_bufferevent(struct tls_context *t, struct event_base *base,
                                           int fd)
{
    SSL *ssl = SSL_new(t->ctx);
    if (ssl == NULL)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        return NULL;
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

void tls_bufferevent_error(struct bufferevent *bev, const char *fallback, char *out,
                           size_t outlen)
{
    /* libevent hands its errors back newest first: the first with a
     * reason is what the session ended on. (It also keeps OpenSSL's
     * SSL_ERROR_ code among them, which has none.) */
    const char *reason = NULL;
    unsigned long e;
    while ((e = bufferevent_get_openssl_error(bev)) != 0)
        if (reason == NULL)
            reason = ERR_reason_error_string(e);
    snprintf(out, outlen, "%s", reason ? reason : fallback);
}
