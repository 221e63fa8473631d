/* Text escaping for the readable rendering: when a value is printed as is,
 * and how it is quoted otherwise. The quoted form uses exactly the escapes
 * the inline tokenizer reads (\n \r \t \\ \" \xHH), so whatever orderd
 * prints can be pasted back as an argument. */
#ifndef PROTOCOL_ESCAPE_H
#define PROTOCOL_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum text_ctx {
    TEXT_LINE,  /* the value is a whole line: a string reply */
    TEXT_WORD,  /* one word among others: a record value, a push word */
    TEXT_REST,  /* the rest of a line after other words: a push payload */
};

bool text_needs_quotes(const char *s, size_t n, enum text_ctx ctx);

/* A hex digit's value (either case), or -1: for \xHH, and for anything
 * else written in hex. */
int hex_digit(char c);

/* Always quotes: "..." with escapes. */
void text_append_quoted(struct buf *out, const char *s, size_t n);

/* As is when that reads unambiguously in ctx, quoted otherwise. */
void text_append(struct buf *out, const char *s, size_t n, enum text_ctx ctx);

/* Appends s with CR and LF replaced by spaces: for status and error text,
 * which must stay on one line in both renderings. */
void text_append_oneline(struct buf *out, const char *s, size_t n);

#endif
