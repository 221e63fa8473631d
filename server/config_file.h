/* A config file: the settings of orderd's flags, one a line, as
 *
 *     # a comment
 *     port 7070
 *     pg host=/run/postgresql dbname=orderd
 *     log-file "/var/log/orderd/orderd.log"
 *     repair yes
 *
 * This file only reads lines into keys and values. Which keys exist and
 * what their values mean is the flags' business (config.c), so that every
 * setting has one definition. */
#ifndef SERVER_CONFIG_FILE_H
#define SERVER_CONFIG_FILE_H

#include <stddef.h>

struct config_entry {
    unsigned line;   /* 1 for the first line of the file */
    char *key;
    char *value;     /* NULL when the line holds a key alone */
};

/* Owns its path, entries and their strings. */
struct config_file {
    char *path;
    struct config_entry *entries;
    size_t n;
};

/* Reads path. A line is a key, blanks, and a value: the rest of the line
 * without the blanks around it, and without the double quotes around it if
 * it has them (nothing inside is special, so a value may hold '#', blanks
 * or quotes). A line that is blank, or whose first non-blank character is
 * '#', is skipped: a '#' after a key is part of the value. Lines may be of
 * any length; CRLF endings are taken as LF. Returns 0, or -1 with f empty
 * and err holding "<path>: <why>" (the file cannot be read) or
 * "<path>:<line>: <what>" (a line is malformed). */
int config_file_read(const char *path, struct config_file *f, char *err, size_t errlen);

void config_file_free(struct config_file *f);

#endif
