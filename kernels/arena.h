/* kernels/arena.h — sub-allocator over one reservation (see ops.h). */
#ifndef ACCUMBENCH_ARENA_H
#define ACCUMBENCH_ARENA_H

#include "ops.h"

ops_status arena_init(ops_arena *a, void *base, size_t capacity_bytes, size_t cap_bytes);
void arena_destroy(ops_arena *a);
ops_status arena_alloc(ops_arena *a, size_t bytes, void **out);
size_t arena_free(ops_arena *a, void *p);

#endif
