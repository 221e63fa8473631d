/* Open and loopback addresses (see addr.h). */
#include "addr.h"

#include <arpa/inet.h>
#include <string.h>

bool addr_is_open(const char *addr)
{
    struct in_addr v4;
    if (inet_pton(AF_INET, addr, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) != 127;
    struct in6_addr v6;
    if (inet_pton(AF_INET6, addr, &v6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&v6))
            return false;
        return !(IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
    }
    return false;
}
