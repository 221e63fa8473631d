/* The reply model. A handler builds one reply value; only the renderers
 * (render.h) know what RESP or the text rendering look like. A reply owns
 * everything inside it: freeing the outermost value frees the whole tree. */
#ifndef PROTOCOL_REPLY_H
#define PROTOCOL_REPLY_H

#include <stddef.h>

/* Error codes: the first word of every error reply, documented in
 * docs/protocol.md. */
#define ERR_ERR "ERR"            /* unknown command, arity, protocol errors */
#define ERR_BADARG "BADARG"      /* an argument is missing, unknown or malformed */
#define ERR_NOTFOUND "NOTFOUND"  /* no such order (or other object) */
#define ERR_STATE "STATE"        /* not allowed in the object's current state */
#define ERR_CONFLICT "CONFLICT"  /* an idempotency key reused with other fields */
#define ERR_LIMIT "LIMIT"        /* a configured limit was hit */
#define ERR_STORE "STORE"        /* the store cannot record changes now */
#define ERR_UNAVAILABLE "UNAVAILABLE"  /* the database is down or too slow */
#define ERR_READONLY "READONLY"  /* a standby: another node holds the lease */
#define ERR_NOAUTH "NOAUTH"      /* authenticate first (AUTH) */
#define ERR_WRONGPASS "WRONGPASS"  /* AUTH with a wrong user or password */
#define ERR_NOPERM "NOPERM"      /* the user's roles do not allow the command */
#define ERR_OOM "OOM"            /* a change while memory is over --maxmemory */

enum reply_type {
    REPLY_STATUS,   /* +OK */
    REPLY_ERROR,    /* -CODE message */
    REPLY_INTEGER,  /* :42 */
    REPLY_STRING,   /* binary-safe bytes */
    REPLY_NIL,
    REPLY_RECORD,   /* ordered key/value pairs */
    REPLY_LIST,
    REPLY_PUSH,     /* an out-of-band message: a kind, then its words */
    REPLY_LINES,    /* lines of text (INFO) */
};

/* Strings this short live inside the reply node: most values in orderd's
 * replies (statuses, ids, times, amounts) fit, which saves an allocation
 * per field. */
#define REPLY_INLINE_STR 32

struct reply {
    enum reply_type type;
    long long integer;
    char *str;              /* status text, error message, string bytes
                               (NUL-terminated), push kind: points at inl
                               or at an owned allocation */
    size_t len;
    const char *code;       /* error code: one of the ERR_* literals; for a
                               push, its name in the text rendering */
    const char **keys;      /* record: borrowed, see reply_record_add; the
                               array lives after items, in its allocation */
    char **owned;           /* record keys it copied (reply_record_add_copy) */
    size_t nowned;
    struct reply **items;   /* record values, list and push elements */
    size_t n;
    size_t cap;
    char inl[REPLY_INLINE_STR];
};

struct reply *reply_status(const char *text);
struct reply *reply_error(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
struct reply *reply_integer(long long v);
struct reply *reply_string(const char *s, size_t n);
struct reply *reply_cstring(const char *s);
struct reply *reply_stringf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
struct reply *reply_nil(void);
struct reply *reply_record(void);
struct reply *reply_list(void);
/* A block of text lines (INFO): a bulk string in RESP, the lines as they
 * are in text. LF line ends become CRLF in text. */
struct reply *reply_lines(const char *s, size_t n);

/* A push: RESP renders [kind, items...]; text renders one line starting
 * with text_kind (reply_push uses kind for both). text_kind is borrowed. */
struct reply *reply_push(const char *kind);
struct reply *reply_push_as(const char *kind, const char *text_kind);

/* Appends to a record; takes ownership of val. The key is borrowed, not
 * copied: it must be a string literal or otherwise outlive the reply (field
 * names are fixed vocabulary, and copying them was most of a record's
 * allocations). */
void reply_record_add(struct reply *rec, const char *key, struct reply *val);
/* The same with a key made on the fly: copied, and freed with the reply. */
void reply_record_add_copy(struct reply *rec, const char *key, struct reply *val);
void reply_record_str(struct reply *rec, const char *key, const char *val);
void reply_record_int(struct reply *rec, const char *key, long long val);
void reply_record_strf(struct reply *rec, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends to a list or push; takes ownership of item. */
void reply_list_add(struct reply *list, struct reply *item);

/* A record's value for key, or NULL. */
const struct reply *reply_record_get(const struct reply *rec, const char *key);

void reply_free(struct reply *r);

#endif
