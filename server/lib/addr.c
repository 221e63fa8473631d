/* Loopback addresses (see addr.h). */
#include "addr.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

bool addr_is_loopback(const char *addr)
{
    if (strcasecmp(addr, "localhost") == 0)
        return true;
    struct in_addr v4;
    if (inet_pton(AF_INET, addr, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    struct in6_addr v6;
    if (inet_pton(AF_INET6, addr, &v6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&v6))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
    }
    return false;
}
