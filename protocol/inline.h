/* The inline tokenizer: one text line (line ending already removed) into
 * arguments, split on spaces and tabs, with shell-like quoting:
 *   "double quotes"  with the escapes \n \r \t \\ \" \xHH
 *   'single quotes'  taken literally
 * A quoted part joins the unquoted text around it, so note="two words" is
 * one argument: note=two words. */
#ifndef PROTOCOL_INLINE_H
#define PROTOCOL_INLINE_H

#include <stddef.h>

#include "argv.h"

enum inline_status {
    INLINE_OK,
    INLINE_UNTERMINATED,  /* a quote that never closes */
    INLINE_BAD_ESCAPE,    /* \ followed by something not listed above */
    INLINE_TOO_MANY,      /* more than max_args arguments */
};

enum inline_status inline_split(const char *line, size_t len, size_t max_args,
                                struct argv_builder *out);

#endif
