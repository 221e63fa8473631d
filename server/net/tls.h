/* TLS with OpenSSL: the server's context (certificate, key, and the CA
 * that signs client certificates), built once at start-up from the files
 * the flags name, and a bufferevent per connection that accepts a TLS
 * session over it. The protocol port's TLS listener (tls_port.h) and the
 * HTTP port (http.h) both serve with it. TLS 1.2 is the oldest spoken. */
#ifndef NET_TLS_H
#define NET_TLS_H

#include <stddef.h>

struct bufferevent;
struct event_base;
struct tls_context;

/* Whether a client must present a certificate signed by the CA file
 * (Redis's tls-auth-clients). */
enum tls_auth_clients {
    TLS_AUTH_DEFAULT,    /* yes with a CA file, no without */
    TLS_AUTH_NO,         /* not asked for */
    TLS_AUTH_YES,        /* asked for, and required */
    TLS_AUTH_OPTIONAL,   /* asked for; checked when given */
};

struct tls_config {
    int port;                  /* the protocol port over TLS: -1 none; 0 any free one */
    const char *cert_file;     /* PEM: the server's certificate, then its chain */
    const char *key_file;      /* PEM: its private key (not encrypted) */
    const char *ca_cert_file;  /* PEM: the CA of client certificates, or NULL */
    enum tls_auth_clients auth_clients;
};

/* Handshakes that have not finished in this long are given up. */
#define TLS_HANDSHAKE_MS 10000

void tls_config_default(struct tls_config *cfg);

/* Reads the files. NULL with err naming the file and OpenSSL's reason
 * ("cannot load --tls-key-file k.pem: No such file or directory", "--tls-key-file
 * k.pem does not match --tls-cert-file c.pem: key values mismatch"). */
struct tls_context *tls_context_new(const struct tls_config *cfg, char *err, size_t errlen);
void tls_context_free(struct tls_context *t);

/* A bufferevent that accepts a TLS session on fd (-1: evhttp sets it
 * later), and owns fd and the session. A TCP close without TLS's
 * close_notify is an EOF, not an error: clients do that. NULL if out of
 * memory (fd is then the caller's). */
struct bufferevent *tls_accept_bufferevent(struct tls_context *t, struct event_base *base,
                                           int fd);

/* Why the TLS session of bev failed, as OpenSSL says ("wrong version
 * number"), or fallback when it said nothing. */
void tls_bufferevent_error(struct bufferevent *bev, const char *fallback, char *out,
                           size_t outlen);

#endif
