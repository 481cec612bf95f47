/* kernels/arena.h — tracked memory behind ops_alloc/ops_free (see ops.h):
 * one accounting over two sources, one reservation or one allocation per
 * block from a backend's pool. */
#ifndef ACCUMBENCH_ARENA_H
#define ACCUMBENCH_ARENA_H

#include "ops.h"

/* One reservation [base, base + capacity_bytes); cap_bytes is clamped to it. */
ops_status arena_init_reservation(ops_arena *a, void *base, size_t capacity_bytes, size_t cap_bytes);
/* Every block from src (which must outlive the arena). */
ops_status arena_init_source(ops_arena *a, const ops_alloc_source *src, size_t cap_bytes);
/* Gives back to the source every block still live; the reservation itself
 * belongs to the caller. */
void arena_destroy(ops_arena *a);
/* 0 bytes -> NULL, OK. OPS_ERR_OOM over the cap or when the source cannot
 * serve the block, with failed_request_bytes and failed_live_bytes set. */
ops_status arena_alloc(ops_arena *a, size_t bytes, void **out);
/* Returns the bytes freed (rounded), 0 for NULL or a pointer the arena does
 * not own. */
size_t arena_free(ops_arena *a, void *p);
/* high-water := live */
void arena_reset_high_water(ops_arena *a);

#endif
