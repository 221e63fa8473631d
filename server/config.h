/* orderd's command line: flags into a server_config. */
#ifndef SERVER_CONFIG_H
#define SERVER_CONFIG_H

#include "server.h"

/* Reads the flags over cfg (already holding the defaults). --help and
 * --version print and exit. Returns 0, or -1 after saying on stderr what
 * is wrong. log_level and log_file point into argv. */
int config_parse_args(int argc, char **argv, struct server_config *cfg, const char **log_level,
                      const char **log_file);

#endif
