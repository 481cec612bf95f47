/* kernels/arena.c — the sub-allocator behind ops_alloc/ops_free.
 *
 * One reservation per run is split into address-ordered blocks; allocation is
 * first fit, free coalesces with free neighbours. Training steps allocate and
 * free mostly LIFO (activations of a micro-batch, backward temporaries), so
 * first fit keeps fragmentation negligible. Live bytes count rounded sizes,
 * which is what the analytic memory model counts too. */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

size_t ops_align(size_t bytes)
{
    return (bytes + OPS_ALIGN_BYTES - 1) / OPS_ALIGN_BYTES * OPS_ALIGN_BYTES;
}

static int blocks_insert(ops_arena *a, size_t at, ops_block blk)
{
    if (a->n_blocks == a->blocks_cap) {
        size_t cap = a->blocks_cap ? a->blocks_cap * 2 : 64;
        ops_block *nb = realloc(a->blocks, cap * sizeof *nb);
        if (!nb) return -1;
        a->blocks = nb;
        a->blocks_cap = cap;
    }
    memmove(a->blocks + at + 1, a->blocks + at, (a->n_blocks - at) * sizeof *a->blocks);
    a->blocks[at] = blk;
    a->n_blocks++;
    return 0;
}

static void blocks_remove(ops_arena *a, size_t at)
{
    memmove(a->blocks + at, a->blocks + at + 1, (a->n_blocks - at - 1) * sizeof *a->blocks);
    a->n_blocks--;
}

ops_status arena_init(ops_arena *a, void *base, size_t capacity_bytes, size_t cap_bytes)
{
    memset(a, 0, sizeof *a);
    a->base = base;
    a->capacity_bytes = capacity_bytes;
    a->cap_bytes = cap_bytes < capacity_bytes ? cap_bytes : capacity_bytes;
    if (capacity_bytes && blocks_insert(a, 0, (ops_block){0, capacity_bytes, 0}) != 0)
        return OPS_ERR_OOM;
    return OPS_OK;
}

void arena_destroy(ops_arena *a)
{
    free(a->blocks);
    memset(a, 0, sizeof *a);
}

static ops_status oom(ops_arena *a, size_t bytes)
{
    a->failed_request_bytes = bytes;
    a->failed_live_bytes = a->live_bytes;
    return OPS_ERR_OOM;
}

ops_status arena_alloc(ops_arena *a, size_t bytes, void **out)
{
    *out = NULL;
    if (bytes == 0) return OPS_OK;
    size_t need = ops_align(bytes);
    if (need < bytes || a->live_bytes + need > a->cap_bytes) return oom(a, bytes);
    for (size_t i = 0; i < a->n_blocks; i++) {
        ops_block *b = &a->blocks[i];
        if (b->used || b->bytes < need) continue;
        if (b->bytes > need) {
            ops_block rest = {b->offset + need, b->bytes - need, 0};
            b->bytes = need;
            if (blocks_insert(a, i + 1, rest) != 0) {
                a->blocks[i].bytes += rest.bytes;
                return oom(a, bytes);
            }
            b = &a->blocks[i];
        }
        b->used = 1;
        a->live_bytes += need;
        if (a->live_bytes > a->high_water_bytes) a->high_water_bytes = a->live_bytes;
        *out = a->base + b->offset;
        return OPS_OK;
    }
    return oom(a, bytes);
}

/* Returns the bytes freed (0 for NULL or a pointer the arena does not own). */
size_t arena_free(ops_arena *a, void *p)
{
    if (!p) return 0;
    size_t off = (size_t)((char *)p - a->base);
    size_t lo = 0, hi = a->n_blocks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->blocks[mid].offset < off) lo = mid + 1;
        else hi = mid;
    }
    if (lo == a->n_blocks || a->blocks[lo].offset != off || !a->blocks[lo].used) return 0;
    size_t freed = a->blocks[lo].bytes;
    a->blocks[lo].used = 0;
    a->live_bytes -= freed;
    if (lo + 1 < a->n_blocks && !a->blocks[lo + 1].used) {
        a->blocks[lo].bytes += a->blocks[lo + 1].bytes;
        blocks_remove(a, lo + 1);
    }
    if (lo > 0 && !a->blocks[lo - 1].used) {
        a->blocks[lo - 1].bytes += a->blocks[lo].bytes;
        blocks_remove(a, lo);
    }
    return freed;
}
