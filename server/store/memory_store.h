/* The memory store: records nothing, so every change is "durable" the
 * moment it is made and never refused. For throwaway servers, tests and
 * benchmarks that measure everything but the disk. */
#ifndef STORE_MEMORY_STORE_H
#define STORE_MEMORY_STORE_H

#include "store.h"

struct store *memory_store_open(const struct store_env *env);

#endif
