/* orderd's command line: flags into a server_config. */
#ifndef SERVER_CONFIG_H
#define SERVER_CONFIG_H

#include "config_file.h"
#include "server.h"

/* The command line as parsed: the settings of the --config file as flags
 * ("--port=7070"), then argv's own, so that a flag given overrides the
 * file. The strings the server_config points to (a conninfo, the data
 * directory) are in it or in argv: keep it as long as the config. */
struct config_args {
    char **argv;      /* argv[0], the file's settings, argv's flags; NULL-terminated */
    int argc;
    unsigned *line;   /* per element of argv: the line of the file it came from, or 0 */
    char **own;       /* the file's settings, allocated here */
    int nfile;
    char *path;       /* the --config file, or NULL */
};

/* Reads the flags over cfg (already holding the defaults), after the
 * settings of the file --config names, if any: the keys of the file are
 * the flags' names (config_file.h). --help and --version print and exit
 * (the file unread). Returns 0, or -1 after saying on stderr what is
 * wrong, and for the file at which line. log_level, log_file and the
 * strings in cfg point into argv or args. Either way, args is to be freed
 * with config_args_free. */
int config_parse_args(int argc, char **argv, struct server_config *cfg, const char **log_level,
                      const char **log_file, struct config_args *args);
void config_args_free(struct config_args *args);

#endif
