/* orderd's version, as --version, INFO and /metrics show it. */
#ifndef LIB_VERSION_H
#define LIB_VERSION_H

#define ORDERD_VERSION "0.1.0"

#endif
