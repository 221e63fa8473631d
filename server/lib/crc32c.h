/* CRC-32C (Castagnoli), the checksum of every journal record: it catches
 * torn writes and flipped bits, which is all the journal asks of it. */
#ifndef SERVER_CRC32C_H
#define SERVER_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over p[0..n); start with crc = 0. */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);
/* The same without the CPU's instruction: what other machines use. */
uint32_t crc32c_portable(uint32_t crc, const void *p, size_t n);

#endif
