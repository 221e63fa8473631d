/* What an address to listen on reaches. */
#ifndef LIB_ADDR_H
#define LIB_ADDR_H

#include <stdbool.h>

/* Whether addr (an IPv4 or IPv6 literal, or "localhost") is reachable only
 * from this machine: 127.0.0.0/8, ::1, or ::ffff:127.x.y.z. Anything else,
 * 0.0.0.0 and :: included, is not. */
bool addr_is_loopback(const char *addr);

#endif
