/* A command's synopsis (the table's grammar, as HELP shows it) read into
 * Redis's argument model, so that COMMAND and COMMAND DOCS describe each
 * command from the one line the table holds:
 *
 *     CREATE customer=<id> item=<sku> qty=<n> amount=<decimal> [currency=<ISO 4217>]
 *     DLQ LIST [channel=<ch>] [limit=<n>] | SHOW <id> | REPLAY <id>|ALL [channel=<ch>]
 *
 * Forms are separated by " | "; each may start with the command's name
 * (the first must). A form whose next word is an upper-case word (SET,
 * ABORT, LIST) is that subcommand's; the others are the command's own
 * (`SIM`, `SAGA <id>`). Inside a form:
 *
 *     <placeholder>       an argument; may hold blanks (<ISO 4217>)
 *     name=<value>        a key=value argument, one word shown whole
 *     name=0|1            (the same: a value written out)
 *     word                lower case: an argument named so (PING [message])
 *     WORD                upper case: a word to type as it is (a token)
 *     a|b|<c>             one of them (ok|fail|retry, <id>|ALL)
 *     [ ... ]             optional
 *     x...   [x...]       one or more; any number
 *
 * Pure: the result points into the synopsis text, which must outlive it
 * (the table's are literals). */
#ifndef CMD_SYNOPSIS_H
#define CMD_SYNOPSIS_H

#include <stddef.h>

/* Redis's argument types that orderd's grammar has. */
enum syn_type {
    SYN_STRING,
    SYN_INTEGER,   /* <id>, <n>, <ms>, ... */
    SYN_DOUBLE,    /* <decimal>, <0..1> */
    SYN_TOKEN,     /* a word typed as it is (Redis's pure-token) */
    SYN_ONEOF,     /* one of sub[] */
    SYN_BLOCK,     /* all of sub[], in order: [a b] */
};

#define SYN_OPTIONAL 1u
#define SYN_MULTIPLE 2u

struct syn_arg {
    enum syn_type type;
    unsigned flags;          /* SYN_OPTIONAL, SYN_MULTIPLE */
    const char *text;        /* as written, without [] and "...": "<id>",
                                "customer=<id>", "ALL", "ok|fail" */
    size_t len;
    struct syn_arg *sub;     /* SYN_ONEOF, SYN_BLOCK: owned */
    size_t nsub;
};

struct syn_form {
    const char *sub;         /* the subcommand's word, or NULL: the command's own form */
    size_t sublen;
    const char *text;        /* the arguments as written (after the name and subcommand) */
    size_t len;
    struct syn_arg *args;    /* owned */
    size_t nargs;
};

struct synopsis {
    struct syn_form *forms;  /* owned, in the order written */
    size_t nforms;
};

/* Reads text, the synopsis of the command called name. Returns 0, or -1
 * with err saying what is wrong and where (and s empty). */
int synopsis_parse(struct synopsis *s, const char *name, const char *text, char *err,
                   size_t errlen);
void synopsis_free(struct synopsis *s);

/* Redis's arity of a form: the fewest words a request of it has, its name
 * and subcommand included; negative when it may have more. */
int synopsis_form_arity(const struct syn_form *f);
/* The same over every form of the command. */
int synopsis_arity(const struct synopsis *s);

/* Redis's name of a type: "string", "integer", "double", "pure-token",
 * "oneof", "block". */
const char *synopsis_type_name(enum syn_type t);

#endif
