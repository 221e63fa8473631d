/* The OpenAPI document of the HTTP API (docs/openapi.json), as GET
 * /openapi.json serves it: its bytes, built into the binary by the
 * Makefile (a source it generates under build/ from the file). */
#ifndef NET_OPENAPI_DOC_H
#define NET_OPENAPI_DOC_H

#include <stddef.h>

extern const unsigned char openapi_doc[];
extern const size_t openapi_doc_len;

#endif
