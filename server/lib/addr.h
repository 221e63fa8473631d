/* What an address to listen on reaches. */
#ifndef LIB_ADDR_H
#define LIB_ADDR_H

#include <stdbool.h>

/* Whether addr, an IPv4 or IPv6 literal, reaches beyond this machine:
 * anything but 127.0.0.0/8, ::1 and ::ffff:127.x.y.z (0.0.0.0 and ::
 * included). "localhost" does not; anything else that is no address is
 * for the listener to refuse, and is not judged here: false. */
bool addr_is_open(const char *addr);

#endif
