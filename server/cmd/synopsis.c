/* The synopsis grammar (synopsis.h), read by recursive descent: forms,
 * then sequences of words and [ ] groups, then the words themselves. */
#include "synopsis.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct parser {
    const char *text;   /* the whole synopsis, for positions in errors */
    const char *p;      /* the next byte to read */
    char *err;
    size_t errlen;
};

static int fail(struct parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *ps, const char *at, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->errlen, "%s at byte %td of '%s'", what, at - ps->text, ps->text);
    return -1;
}

static void free_args(struct syn_arg *args, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_args(args[i].sub, args[i].nsub);
    free(args);
}

void synopsis_free(struct synopsis *s)
{
    for (size_t i = 0; i < s->nforms; i++)
        free_args(s->forms[i].args, s->forms[i].nargs);
    free(s->forms);
    s->forms = NULL;
    s->nforms = 0;
}

/* Appends a to the vector *v of *n (the vectors are a few long). */
static void push_arg(struct syn_arg **v, size_t *n, const struct syn_arg *a)
{
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = *a;
}

static void skip_blanks(struct parser *ps)
{
    while (*ps->p == ' ')
        ps->p++;
}

/* A " | " between forms, at ps->p (blanks before it already skipped). */
static bool at_separator(const struct parser *ps)
{
    return ps->p[0] == '|' && (ps->p[1] == ' ' || ps->p[1] == '\0');
}

/* Where the word at p ends: at a blank, [ or ], except inside <...>, so
 * that <ISO 4217> is one word. */
static const char *word_end(const char *p)
{
    bool angle = false;
    for (; *p; p++) {
        if (*p == '<')
            angle = true;
        else if (*p == '>')
            angle = false;
        else if (!angle && (*p == ' ' || *p == '[' || *p == ']'))
            break;
    }
    return p;
}

/* The offset of c in w[0..len) outside <...>, or -1. */
static long find_outside(const char *w, size_t len, char c)
{
    bool angle = false;
    for (size_t i = 0; i < len; i++) {
        if (w[i] == '<')
            angle = true;
        else if (w[i] == '>')
            angle = false;
        else if (!angle && w[i] == c)
            return (long)i;
    }
    return -1;
}

static bool is_bare_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

/* A word of letters, digits, _ - and ., none of them lower case, some a letter. */
static bool is_upper_word(const char *w, size_t len)
{
    bool letter = false;
    for (size_t i = 0; i < len; i++) {
        if (!is_bare_char(w[i]) || (w[i] >= 'a' && w[i] <= 'z'))
            return false;
        letter |= w[i] >= 'A' && w[i] <= 'Z';
    }
    return letter;
}

/* Placeholders whose value is a number; every other one is a string.
 * The first word inside <> decides: <n, 1..1000, default 100> is an n. */
static enum syn_type placeholder_type(const char *inner, size_t len)
{
    static const char *const integers[] = {"id", "n", "ms", "s", "offset", "level"};
    static const char *const doubles[] = {"decimal", "0..1"};
    size_t k = 0;
    while (k < len && inner[k] != ',' && inner[k] != ' ')
        k++;
    for (size_t i = 0; i < sizeof integers / sizeof integers[0]; i++)
        if (strlen(integers[i]) == k && memcmp(integers[i], inner, k) == 0)
            return SYN_INTEGER;
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++)
        if (strlen(doubles[i]) == k && memcmp(doubles[i], inner, k) == 0)
            return SYN_DOUBLE;
    return SYN_STRING;
}

/* One alternative, or a whole word without | or =: <placeholder>, a
 * lower-case name, or a token (upper case, or any bare word inside a|b). */
static int parse_leaf(struct parser *ps, const char *w, size_t len, bool in_oneof,
                      struct syn_arg *out)
{
    *out = (struct syn_arg){.type = SYN_STRING, .text = w, .len = len};
    if (len == 0)
        return fail(ps, w, "an empty alternative");
    if (w[0] == '<') {
        if (len < 3 || w[len - 1] != '>')
            return fail(ps, w, "'<' without its '>'");
        for (size_t i = 1; i + 1 < len; i++)
            if (w[i] == '<' || w[i] == '>')
                return fail(ps, w + i, "'%c' inside <...>", w[i]);
        out->type = placeholder_type(w + 1, len - 2);
        return 0;
    }
    for (size_t i = 0; i < len; i++)
        if (!is_bare_char(w[i]))
            return fail(ps, w + i, "'%c' in a word", w[i]);
    if (in_oneof || is_upper_word(w, len))
        out->type = SYN_TOKEN;
    return 0;
}

/* One word at ps->p: a leaf, a key=value, or a|b|c; "..." after it makes
 * it multiple. */
static int parse_word(struct parser *ps, struct syn_arg *out)
{
    const char *w = ps->p, *end = word_end(w);
    size_t len = (size_t)(end - w);
    unsigned flags = 0;
    ps->p = end;
    if (len > 3 && memcmp(end - 3, "...", 3) == 0) {
        flags = SYN_MULTIPLE;
        len -= 3;
    }
    if (len == 0 || (len == 3 && memcmp(w, "...", 3) == 0))
        return fail(ps, w, "'...' after nothing");
    long eq = find_outside(w, len, '='), bar = find_outside(w, len, '|');
    if (eq >= 0 && (bar < 0 || eq < bar)) {
        /* key=value: the key bare and lower case, the value anything
         * balanced, shown whole. */
        if (eq == 0)
            return fail(ps, w, "'=' without a key");
        for (long i = 0; i < eq; i++)
            if (!is_bare_char(w[i]) || (w[i] >= 'A' && w[i] <= 'Z'))
                return fail(ps, w + i, "'%c' in the key of a key=value", w[i]);
        if ((size_t)eq + 1 == len)
            return fail(ps, w, "'=' without a value");
        int depth = 0;
        for (size_t i = (size_t)eq + 1; i < len; i++) {
            depth += w[i] == '<' ? 1 : w[i] == '>' ? -1 : 0;
            if (depth < 0 || depth > 1)
                return fail(ps, w + i, "'%c' unbalanced in a key=value", w[i]);
        }
        if (depth != 0)
            return fail(ps, w, "'<' without its '>'");
        *out = (struct syn_arg){.type = SYN_STRING, .flags = flags, .text = w, .len = len};
        return 0;
    }
    if (bar >= 0) {
        *out = (struct syn_arg){.type = SYN_ONEOF, .flags = flags, .text = w, .len = len};
        size_t from = 0;
        for (;;) {
            long at = find_outside(w + from, len - from, '|');
            size_t alen = at < 0 ? len - from : (size_t)at;
            struct syn_arg alt;
            if (parse_leaf(ps, w + from, alen, true, &alt) != 0) {
                free_args(out->sub, out->nsub);
                out->sub = NULL;
                return -1;
            }
            push_arg(&out->sub, &out->nsub, &alt);
            if (at < 0)
                return 0;
            from += alen + 1;
        }
    }
    if (parse_leaf(ps, w, len, false, out) != 0)
        return -1;
    out->flags = flags;
    return 0;
}

/* Words and [ ] groups up to the end of the form, or up to the ] that
 * closes a group when in_group. Appends to *args, *n. */
static int parse_seq(struct parser *ps, struct syn_arg **args, size_t *n, bool in_group)
{
    for (;;) {
        skip_blanks(ps);
        const char *at = ps->p;
        if (*at == '\0')
            return in_group ? fail(ps, at, "'[' without its ']'") : 0;
        if (*at == ']') {
            if (!in_group)
                return fail(ps, at, "']' without its '['");
            ps->p++;
            return 0;
        }
        if (*at == '|') {
            if (in_group || !at_separator(ps))
                return fail(ps, at, "'|' %s",
                            in_group ? "inside [...]" : "without an alternative before it");
            return 0;
        }
        struct syn_arg a;
        if (*at == '[') {
            struct syn_arg *inner = NULL;
            size_t ninner = 0;
            ps->p++;
            if (parse_seq(ps, &inner, &ninner, true) != 0) {
                free_args(inner, ninner);
                return -1;
            }
            if (ninner == 0) {
                free(inner);
                return fail(ps, at, "an empty [ ]");
            }
            if (ninner == 1 && !(inner[0].flags & SYN_OPTIONAL)) {
                a = inner[0];
                free(inner);
            } else {
                /* The text between the brackets names the block. */
                const char *first = at + 1, *last = ps->p - 1;
                while (*first == ' ')
                    first++;
                while (last > first && last[-1] == ' ')
                    last--;
                a = (struct syn_arg){.type = SYN_BLOCK, .text = first,
                                     .len = (size_t)(last - first), .sub = inner,
                                     .nsub = ninner};
            }
            a.flags |= SYN_OPTIONAL;
            if (strncmp(ps->p, "...", 3) == 0) {
                a.flags |= SYN_MULTIPLE;
                ps->p += 3;
            }
            if (*ps->p != '\0' && *ps->p != ' ' && *ps->p != ']') {
                free_args(a.sub, a.nsub);
                return fail(ps, ps->p, "'%c' straight after ']'", *ps->p);
            }
        } else if (parse_word(ps, &a) != 0) {
            return -1;
        }
        push_arg(args, n, &a);
    }
}

/* The word at ps->p, if it is exactly w (followed by a blank or the end). */
static bool next_word_is(const struct parser *ps, const char *w, size_t len)
{
    return strncmp(ps->p, w, len) == 0 && (ps->p[len] == ' ' || ps->p[len] == '\0');
}

static int parse_form(struct parser *ps, const char *name, bool first, struct syn_form *f)
{
    *f = (struct syn_form){0};
    skip_blanks(ps);
    const char *start = ps->p;
    size_t nlen = strlen(name);
    bool named = next_word_is(ps, name, nlen);
    if (named)
        ps->p += nlen;
    else if (first)
        return fail(ps, start, "a synopsis starts with its command's name, %s", name);
    skip_blanks(ps);
    /* An upper-case word first is a subcommand (SET, ABORT); a|b, X...
     * and the rest are arguments. */
    const char *w = ps->p, *end = word_end(w);
    if (end > w && *end != '[' && is_upper_word(w, (size_t)(end - w)) &&
        memchr(w, '.', (size_t)(end - w)) == NULL) {
        f->sub = w;
        f->sublen = (size_t)(end - w);
        ps->p = end;
        skip_blanks(ps);
    }
    f->text = ps->p;
    if (parse_seq(ps, &f->args, &f->nargs, false) != 0) {
        free_args(f->args, f->nargs);
        *f = (struct syn_form){0};
        return -1;
    }
    const char *last = ps->p;
    while (last > f->text && last[-1] == ' ')
        last--;
    f->len = (size_t)(last - f->text);
    if (!named && f->sub == NULL && f->nargs == 0)
        return fail(ps, start, "an empty form");
    return 0;
}

int synopsis_parse(struct synopsis *s, const char *name, const char *text, char *err,
                   size_t errlen)
{
    struct parser ps = {.text = text, .p = text, .err = err, .errlen = errlen};
    *s = (struct synopsis){0};
    for (;;) {
        struct syn_form f;
        if (parse_form(&ps, name, s->nforms == 0, &f) != 0)
            goto bad;
        for (size_t i = 0; i < s->nforms; i++)
            if (f.sub && s->forms[i].sub && f.sublen == s->forms[i].sublen &&
                memcmp(f.sub, s->forms[i].sub, f.sublen) == 0) {
                free_args(f.args, f.nargs);
                fail(&ps, f.sub, "subcommand %.*s twice", (int)f.sublen, f.sub);
                goto bad;
            }
        s->forms = xrealloc(s->forms, (s->nforms + 1) * sizeof *s->forms);
        s->forms[s->nforms++] = f;
        skip_blanks(&ps);
        if (*ps.p == '\0')
            return 0;
        ps.p++;  /* parse_seq stops only at the end or at a separator */
    }
bad:
    synopsis_free(s);
    return -1;
}

/* The fewest words a takes; *varies when it may take more or fewer. */
static int min_words(const struct syn_arg *a, bool *varies)
{
    if (a->flags & (SYN_OPTIONAL | SYN_MULTIPLE))
        *varies = true;
    int words = 0;
    switch (a->type) {
    case SYN_ONEOF:
        for (size_t i = 0; i < a->nsub; i++) {
            int w = min_words(&a->sub[i], varies);
            if (i > 0 && w != words)
                *varies = true;
            if (i == 0 || w < words)
                words = w;
        }
        break;
    case SYN_BLOCK:
        for (size_t i = 0; i < a->nsub; i++)
            words += min_words(&a->sub[i], varies);
        break;
    default:
        words = 1;
    }
    return (a->flags & SYN_OPTIONAL) ? 0 : words;
}

int synopsis_form_arity(const struct syn_form *f)
{
    bool varies = false;
    int words = 1 + (f->sub != NULL);
    for (size_t i = 0; i < f->nargs; i++)
        words += min_words(&f->args[i], &varies);
    return varies ? -words : words;
}

int synopsis_arity(const struct synopsis *s)
{
    bool varies = false;
    int fewest = 0;
    for (size_t i = 0; i < s->nforms; i++) {
        int a = synopsis_form_arity(&s->forms[i]);
        int words = a < 0 ? -a : a;
        if (a < 0 || (i > 0 && words != fewest))
            varies = true;
        if (i == 0 || words < fewest)
            fewest = words;
    }
    return varies ? -fewest : fewest;
}

const char *synopsis_type_name(enum syn_type t)
{
    switch (t) {
    case SYN_STRING: return "string";
    case SYN_INTEGER: return "integer";
    case SYN_DOUBLE: return "double";
    case SYN_TOKEN: return "pure-token";
    case SYN_ONEOF: return "oneof";
    case SYN_BLOCK: return "block";
    }
    return "string";
}
