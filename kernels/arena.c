/* kernels/arena.c — the tracked memory behind ops_alloc/ops_free.
 *
 * Two layers. The accounting (live bytes in OPS_ALIGN_BYTES units, their
 * high-water, the cap, the last failed request) decides whether a block may
 * be taken and counts it; it never looks at where the bytes come from. A
 * source then provides the bytes:
 * - one reservation, split into address-ordered blocks: first fit, free
 *   coalesces with free neighbours. Training steps allocate and free mostly
 *   LIFO (activations of a micro-batch, backward temporaries), so first fit
 *   keeps fragmentation negligible;
 * - a per-allocation source (the backend's pool): one call per block, and a
 *   table address -> rounded bytes so a free is counted exactly.
 * Live bytes count rounded sizes, which is what the analytic memory model
 * counts too, so both sources give the same figures for the same requests. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t ops_align(size_t bytes)
{
    return (bytes + OPS_ALIGN_BYTES - 1) / OPS_ALIGN_BYTES * OPS_ALIGN_BYTES;
}

// ----------------------------------------------------------------------------
// accounting

static ops_status account_fail(ops_arena *a, size_t asked)
{
    a->failed_request_bytes = asked;
    a->failed_live_bytes = a->live_bytes;
    return OPS_ERR_OOM;
}

/* OPS_OK when `need` rounded bytes fit under the cap (need < asked: the
 * rounding overflowed) */
static ops_status account_admit(ops_arena *a, size_t asked, size_t need)
{
    if (need < asked || need > a->cap_bytes || a->live_bytes > a->cap_bytes - need) return account_fail(a, asked);
    return OPS_OK;
}

static void account_take(ops_arena *a, size_t need)
{
    a->live_bytes += need;
    if (a->live_bytes > a->high_water_bytes) a->high_water_bytes = a->live_bytes;
}

static void account_give(ops_arena *a, size_t bytes) { a->live_bytes -= bytes; }

void arena_reset_high_water(ops_arena *a) { a->high_water_bytes = a->live_bytes; }

// ----------------------------------------------------------------------------
// source: one reservation

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

/* first fit; NULL when no free block is large enough */
static void *reservation_take(ops_arena *a, size_t need)
{
    for (size_t i = 0; i < a->n_blocks; i++) {
        ops_block *b = &a->blocks[i];
        if (b->used || b->bytes < need) continue;
        if (b->bytes > need) {
            ops_block rest = {b->offset + need, b->bytes - need, 0};
            b->bytes = need;
            if (blocks_insert(a, i + 1, rest) != 0) {
                a->blocks[i].bytes += rest.bytes;
                return NULL;
            }
            b = &a->blocks[i];
        }
        b->used = 1;
        return a->base + b->offset;
    }
    return NULL;
}

static size_t reservation_give(ops_arena *a, void *p)
{
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

// ----------------------------------------------------------------------------
// source: per allocation, live blocks in an open-addressing table

static size_t slot_home(const ops_arena *a, const void *p)
{
    return (size_t)(((uintptr_t)p >> 8) * 0x9e3779b97f4a7c15ull >> 16) & (a->live_cap - 1);
}

/* the slot of p, or the empty slot where it would go */
static size_t slot_find(const ops_arena *a, const void *p)
{
    size_t j = slot_home(a, p);
    while (a->live[j].ptr && a->live[j].ptr != p) j = (j + 1) & (a->live_cap - 1);
    return j;
}

static int live_grow(ops_arena *a)
{
    size_t cap = a->live_cap ? 2 * a->live_cap : 256;
    ops_live_block *old = a->live;
    size_t old_cap = a->live_cap;
    ops_live_block *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    a->live = t;
    a->live_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].ptr) a->live[slot_find(a, old[i].ptr)] = old[i];
    free(old);
    return 0;
}

/* empties slot j, moving later entries of its probe run back (linear probing
 * without tombstones) */
static void live_remove(ops_arena *a, size_t j)
{
    size_t mask = a->live_cap - 1, i = j;
    a->live[j].ptr = NULL;
    a->n_live--;
    for (;;) {
        i = (i + 1) & mask;
        if (!a->live[i].ptr) return;
        size_t home = slot_home(a, a->live[i].ptr);
        int stays = j <= i ? (home > j && home <= i) : (home > j || home <= i);
        if (stays) continue;
        a->live[j] = a->live[i];
        a->live[i].ptr = NULL;
        j = i;
    }
}

/* OPS_ERR_OOM when the source (or the host, for the table) is out of
 * memory; another status is the source's own failure */
static ops_status source_take(ops_arena *a, size_t need, void **out)
{
    if (2 * (a->n_live + 1) > a->live_cap && live_grow(a) != 0) return OPS_ERR_OOM;
    ops_status st = a->source.alloc(a->source.ctx, need, out);
    if (st != OPS_OK) return st;
    if (!*out) return OPS_ERR_OOM;
    a->live[slot_find(a, *out)] = (ops_live_block){*out, need};
    a->n_live++;
    return OPS_OK;
}

static size_t source_give(ops_arena *a, void *p)
{
    if (!a->live_cap) return 0;
    size_t j = slot_find(a, p);
    if (!a->live[j].ptr) return 0;
    size_t freed = a->live[j].bytes;
    live_remove(a, j);
    a->source.free(a->source.ctx, p);
    return freed;
}

// ----------------------------------------------------------------------------

ops_status arena_init_reservation(ops_arena *a, void *base, size_t capacity_bytes, size_t cap_bytes)
{
    memset(a, 0, sizeof *a);
    a->base = base;
    a->capacity_bytes = capacity_bytes;
    a->cap_bytes = cap_bytes < capacity_bytes ? cap_bytes : capacity_bytes;
    if (capacity_bytes && blocks_insert(a, 0, (ops_block){0, capacity_bytes, 0}) != 0) return OPS_ERR_OOM;
    return OPS_OK;
}

ops_status arena_init_source(ops_arena *a, const ops_alloc_source *src, size_t cap_bytes)
{
    memset(a, 0, sizeof *a);
    if (!src->alloc || !src->free) return OPS_ERR_INVALID;
    a->source = *src;
    a->cap_bytes = cap_bytes;
    return OPS_OK;
}

void arena_destroy(ops_arena *a)
{
    for (size_t i = 0; i < a->live_cap; i++)
        if (a->live[i].ptr) a->source.free(a->source.ctx, a->live[i].ptr);
    free(a->live);
    free(a->blocks);
    memset(a, 0, sizeof *a);
}

ops_status arena_alloc(ops_arena *a, size_t bytes, void **out)
{
    *out = NULL;
    if (bytes == 0) return OPS_OK;
    size_t need = ops_align(bytes);
    if (account_admit(a, bytes, need) != OPS_OK) return OPS_ERR_OOM;
    void *p = NULL;
    ops_status st = OPS_OK;
    if (a->source.alloc) st = source_take(a, need, &p);
    else if (!(p = reservation_take(a, need))) st = OPS_ERR_OOM;
    if (st == OPS_ERR_OOM) return account_fail(a, bytes);
    if (st != OPS_OK) return st;
    account_take(a, need);
    *out = p;
    return OPS_OK;
}

size_t arena_free(ops_arena *a, void *p)
{
    if (!p) return 0;
    size_t freed = a->source.alloc ? source_give(a, p) : reservation_give(a, p);
    account_give(a, freed);
    return freed;
}
