/* tests/test_arena.c — tracked memory (kernels/arena.c).
 * Through ops_alloc/ops_free on the cpu backend (one reservation): exact live
 * and high-water bytes (blocks rounded to OPS_ALIGN_BYTES), first fit,
 * coalescing in any free order, the --mem-limit cap as OOM, zero-size and
 * NULL handling, and a randomized sequence against a shadow count; that the
 * cpu backend's reservation costs no resident memory until it is touched.
 * The accounting against both sources (--allocator arena and pool): the same
 * requests give the same live, high-water and failure figures whether the
 * bytes come from one reservation or from a fake per-allocation source,
 * which also fails like a device OOM; and ops_set_allocator, ops_reserve and
 * the untracked path through a backend table with pool slots. */
#include "check.h"
#include "arena.h"
#include "ops.h"
#include "cpu/cpu_backend.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define A OPS_ALIGN_BYTES
#define KIB ((size_t)1024)
#define MIB (KIB * KIB)

static void open_reserved(ops_backend *b, size_t capacity, size_t cap)
{
    char why[256];
    if (ops_open(b, "cpu", why, sizeof why) != OPS_OK) {
        fprintf(stderr, "test_arena: cannot open the cpu backend: %s\n", why);
        exit(1);
    }
    if (ops_reserve(b, capacity, cap) != OPS_OK) {
        fprintf(stderr, "test_arena: cannot reserve %zu bytes: %s\n", capacity, ops_last_error());
        exit(1);
    }
}

static void *alloc_ok(ops_backend *b, size_t bytes)
{
    void *p = NULL;
    ops_status st = ops_alloc(b, bytes, &p);
    CHECK(st == OPS_OK && p, "alloc of %zu bytes: status %d", bytes, (int)st);
    return p;
}

static size_t offset_of(const ops_backend *b, const void *p) { return (size_t)((const char *)p - b->arena.base); }

// ----------------------------------------------------------------------------

/* live and high-water bytes after a fixed sequence, all rounded to 256 */
static void test_accounting(void)
{
    printf("accounting\n");
    ops_backend b;
    open_reserved(&b, MIB, MIB);
    CHECK(b.arena.capacity_bytes == MIB && b.arena.cap_bytes == MIB, "capacity %zu cap %zu", b.arena.capacity_bytes,
          b.arena.cap_bytes);
    void *p1 = alloc_ok(&b, 1);
    CHECK(b.arena.live_bytes == A, "1 byte counts as %zu, want %zu", b.arena.live_bytes, A);
    void *p2 = alloc_ok(&b, A);
    CHECK(b.arena.live_bytes == 2 * A, "live %zu", b.arena.live_bytes);
    void *p3 = alloc_ok(&b, A + 1);
    CHECK(b.arena.live_bytes == 4 * A, "A+1 bytes round to 2A: live %zu", b.arena.live_bytes);
    CHECK(b.arena.high_water_bytes == 4 * A, "high water %zu", b.arena.high_water_bytes);
    CHECK(offset_of(&b, p1) == 0 && offset_of(&b, p2) == A && offset_of(&b, p3) == 2 * A,
          "first fit from the base: offsets %zu %zu %zu", offset_of(&b, p1), offset_of(&b, p2), offset_of(&b, p3));
    CHECK((uintptr_t)p1 % A == 0, "base not %zu-aligned", A);

    ops_free(&b, p2);
    CHECK(b.arena.live_bytes == 3 * A && b.arena.high_water_bytes == 4 * A, "after free: live %zu high %zu",
          b.arena.live_bytes, b.arena.high_water_bytes);
    /* first fit reuses the hole */
    void *p4 = alloc_ok(&b, 100);
    CHECK(p4 == p2, "100 bytes did not reuse the freed 256-byte hole");
    void *p5 = alloc_ok(&b, 10 * A - 3);
    CHECK(b.arena.live_bytes == 14 * A && b.arena.high_water_bytes == 14 * A, "live %zu high %zu",
          b.arena.live_bytes, b.arena.high_water_bytes);

    /* zero size is NULL and OK, freeing NULL is a no-op */
    void *z = (void *)&b;
    ops_status st = ops_alloc(&b, 0, &z);
    CHECK(st == OPS_OK && z == NULL, "zero-size alloc: status %d ptr %p", (int)st, z);
    ops_free(&b, NULL);
    CHECK(b.arena.live_bytes == 14 * A, "zero-size alloc or NULL free changed live bytes to %zu", b.arena.live_bytes);

    ops_free(&b, p5);
    ops_reset_high_water(&b);
    CHECK(b.arena.high_water_bytes == 4 * A, "reset high water: %zu, want live %zu", b.arena.high_water_bytes,
          b.arena.live_bytes);
    /* freeing twice, or a pointer the arena did not hand out, changes nothing */
    ops_free(&b, p5);
    ops_free(&b, (char *)p3 + A);
    CHECK(b.arena.live_bytes == 4 * A, "double or foreign free changed live bytes to %zu", b.arena.live_bytes);
    ops_free(&b, p1);
    ops_free(&b, p3);
    ops_free(&b, p4);
    CHECK(b.arena.live_bytes == 0 && b.arena.n_blocks == 1, "live %zu blocks %zu after freeing all",
          b.arena.live_bytes, b.arena.n_blocks);
    ops_close(&b);
}

/* after freeing everything, in any order, one allocation takes it all */
static void test_coalescing(void)
{
    printf("coalescing\n");
    ops_backend b;
    const size_t capacity = 64 * KIB;
    open_reserved(&b, capacity, capacity);
    enum { N = 8 };
    static const size_t sizes[N] = {100, 5000, 256, 257, 3 * 1024, 1, 700, 9999};
    static const int orders[][N] = {
        {7, 6, 5, 4, 3, 2, 1, 0},   /* LIFO */
        {0, 1, 2, 3, 4, 5, 6, 7},   /* FIFO */
        {1, 3, 5, 7, 0, 2, 4, 6},   /* every other, then the gaps */
        {4, 2, 6, 0, 7, 3, 1, 5},
    };
    for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
        void *p[N];
        for (int i = 0; i < N; i++) p[i] = alloc_ok(&b, sizes[i]);
        for (int i = 0; i < N; i++) ops_free(&b, p[orders[o][i]]);
        CHECK(b.arena.live_bytes == 0 && b.arena.n_blocks == 1, "order %zu: live %zu, %zu blocks", o,
              b.arena.live_bytes, b.arena.n_blocks);
        void *all = alloc_ok(&b, capacity);
        CHECK(all == b.arena.base, "order %zu: the whole capacity is not one block", o);
        ops_free(&b, all);
    }
    ops_close(&b);
}

/* the cap fails like a device OOM; so does a fragmented arena */
static void test_cap(void)
{
    printf("cap and OOM\n");
    ops_backend b;
    open_reserved(&b, MIB, 4 * KIB);
    CHECK(b.arena.cap_bytes == 4 * KIB, "cap %zu", b.arena.cap_bytes);
    void *p = alloc_ok(&b, 3 * KIB);
    void *q = NULL;
    CHECK(ops_alloc(&b, KIB + 1, &q) == OPS_ERR_OOM && q == NULL, "alloc over the cap succeeded");
    CHECK(b.arena.failed_request_bytes == KIB + 1, "failed_request_bytes %zu, want %zu", b.arena.failed_request_bytes,
          KIB + 1);
    CHECK(b.arena.failed_live_bytes == 3 * KIB, "failed_live_bytes %zu, want %zu", b.arena.failed_live_bytes, 3 * KIB);
    CHECK(b.arena.live_bytes == 3 * KIB && b.arena.high_water_bytes == 3 * KIB, "failed alloc changed live %zu",
          b.arena.live_bytes);
    void *r = alloc_ok(&b, KIB); /* exactly up to the cap */
    CHECK(b.arena.live_bytes == 4 * KIB, "live %zu at the cap", b.arena.live_bytes);
    CHECK(ops_alloc(&b, 1, &q) == OPS_ERR_OOM && b.arena.failed_request_bytes == 1, "1 byte over a full cap");
    ops_free(&b, p);
    ops_free(&b, r);
    CHECK(ops_alloc(&b, 4 * KIB + 1, &q) == OPS_ERR_OOM && b.arena.failed_request_bytes == 4 * KIB + 1,
          "alloc bigger than the cap, arena empty");
    ops_close(&b);

    /* a cap above the reservation is clamped to it */
    open_reserved(&b, 8 * KIB, 64 * KIB);
    CHECK(b.arena.cap_bytes == 8 * KIB, "cap %zu above capacity not clamped", b.arena.cap_bytes);
    /* fragmentation: free every other 1 KiB block; 2 KiB fit the cap, not a hole */
    void *blk[8];
    for (int i = 0; i < 8; i++) blk[i] = alloc_ok(&b, KIB);
    for (int i = 0; i < 8; i += 2) ops_free(&b, blk[i]);
    CHECK(ops_alloc(&b, 2 * KIB, &q) == OPS_ERR_OOM && q == NULL, "2 KiB allocated with only 1 KiB holes");
    CHECK(b.arena.failed_request_bytes == 2 * KIB, "failed_request_bytes %zu", b.arena.failed_request_bytes);
    /* the live bytes of the failure stay after the caller frees what it
     * held: run reports them after the step has cleaned up (they read as
     * the setup's bytes before this field existed) */
    CHECK(b.arena.failed_live_bytes == 4 * KIB, "failed_live_bytes %zu, want %zu", b.arena.failed_live_bytes, 4 * KIB);
    for (int i = 1; i < 8; i += 2) ops_free(&b, blk[i]);
    CHECK(b.arena.live_bytes == 0 && b.arena.failed_live_bytes == 4 * KIB, "failed_live_bytes %zu after the frees",
          b.arena.failed_live_bytes);
    ops_close(&b);
}

/* random alloc/free: live bytes equal a shadow count, blocks never overlap
 * and keep their contents */
static void test_random(void)
{
    printf("randomized\n");
    ops_backend b;
    /* 16x the most that is ever live: first fit's fragmentation for sizes
     * within a factor 32 stays far below that (Robson's bound, ~log2(32) x) */
    enum { MAX_LIVE = 64, STEPS = 20000 };
    const size_t max_bytes = 8 * KIB, capacity = 16 * MAX_LIVE * max_bytes;
    open_reserved(&b, capacity, capacity);
    struct { unsigned char *p; size_t bytes; unsigned char tag; } live[MAX_LIVE];
    int n_live = 0;
    size_t shadow = 0, shadow_high = 0;
    uint64_t s = 12345;
    int overlaps = 0, corrupted = 0, mismatches = 0;
    for (int step = 0; step < STEPS; step++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t rnd = s >> 33;
        int do_alloc = n_live == 0 || (n_live < MAX_LIVE && (rnd & 1));
        if (do_alloc) {
            size_t bytes = (size_t)(rnd >> 1) % (max_bytes + 1);
            void *p = NULL;
            ops_status st = ops_alloc(&b, bytes, &p);
            CHECK(st == OPS_OK, "step %d: alloc of %zu failed with %zu live", step, bytes, shadow);
            if (st != OPS_OK) break;
            if (!bytes) {
                CHECK(p == NULL, "step %d: zero-size alloc gave %p", step, p);
                continue;
            }
            unsigned char *c = p;
            size_t off = offset_of(&b, c), need = ops_align(bytes);
            CHECK(off % A == 0 && off + need <= capacity, "step %d: block at %zu+%zu outside the arena", step, off,
                  need);
            for (int j = 0; j < n_live; j++) {
                size_t o2 = offset_of(&b, live[j].p), n2 = ops_align(live[j].bytes);
                if (off < o2 + n2 && o2 < off + need) overlaps++;
            }
            unsigned char tag = (unsigned char)(step * 31 + 7);
            memset(c, tag, bytes);
            live[n_live].p = c;
            live[n_live].bytes = bytes;
            live[n_live].tag = tag;
            n_live++;
            shadow += need;
        } else {
            int j = (int)((rnd >> 1) % (uint64_t)n_live);
            for (size_t e = 0; e < live[j].bytes; e++) corrupted += live[j].p[e] != live[j].tag;
            ops_free(&b, live[j].p);
            shadow -= ops_align(live[j].bytes);
            live[j] = live[--n_live];
        }
        if (shadow > shadow_high) shadow_high = shadow;
        mismatches += b.arena.live_bytes != shadow || b.arena.high_water_bytes != shadow_high;
    }
    CHECK(overlaps == 0, "%d overlapping blocks", overlaps);
    CHECK(corrupted == 0, "%d bytes overwritten by another block", corrupted);
    CHECK(mismatches == 0, "live/high-water differed from the shadow count at %d steps", mismatches);
    printf("  %d steps, high water %zu bytes (shadow %zu)\n", STEPS, b.arena.high_water_bytes, shadow_high);
    while (n_live) ops_free(&b, live[--n_live].p);
    CHECK(b.arena.live_bytes == 0 && b.arena.n_blocks == 1, "live %zu, %zu blocks at the end", b.arena.live_bytes,
          b.arena.n_blocks);
    ops_close(&b);
}

// ----------------------------------------------------------------------------
// the accounting over both sources

/* A per-allocation source standing in for the GPU pool: 256-aligned host
 * blocks, every call counted, and a failure to inject on the next alloc. */
typedef struct {
    int allocs, frees, outstanding;
    ops_status fail_next;       /* OPS_OK: serve normally */
} fake_pool;

static ops_status fake_alloc(void *ctx, size_t bytes, void **p)
{
    fake_pool *f = ctx;
    *p = NULL;
    if (f->fail_next != OPS_OK) {
        ops_status st = f->fail_next;
        f->fail_next = OPS_OK;
        return st;
    }
    *p = aligned_alloc(A, ops_align(bytes));
    if (!*p) return OPS_ERR_OOM;
    f->allocs++;
    f->outstanding++;
    return OPS_OK;
}

static void fake_free(void *ctx, void *p)
{
    fake_pool *f = ctx;
    free(p);
    f->frees++;
    f->outstanding--;
}

/* as backend slots: the context is the cpu backend's, the pool this one */
static fake_pool g_pool;
static ops_status slot_alloc(void *ctx, size_t bytes, void **p) { (void)ctx; return fake_alloc(&g_pool, bytes, p); }
static void slot_free(void *ctx, void *p) { (void)ctx; fake_free(&g_pool, p); }

typedef struct {
    ops_arena reservation, pooled;
    void *base;
    fake_pool pool;
} two_arenas;

static void two_init(two_arenas *t, size_t capacity, size_t cap)
{
    memset(t, 0, sizeof *t);
    t->base = aligned_alloc(A, capacity);
    if (!t->base) {
        fprintf(stderr, "test_arena: out of host memory\n");
        exit(1);
    }
    ops_alloc_source src = {&t->pool, fake_alloc, fake_free};
    CHECK(arena_init_reservation(&t->reservation, t->base, capacity, cap) == OPS_OK, "init reservation");
    CHECK(arena_init_source(&t->pooled, &src, cap) == OPS_OK, "init source");
}

static void two_destroy(two_arenas *t)
{
    arena_destroy(&t->reservation);
    arena_destroy(&t->pooled);
    free(t->base);
}

/* the accounting fields of both arenas agree */
static int same_figures(const ops_arena *x, const ops_arena *y)
{
    return x->live_bytes == y->live_bytes && x->high_water_bytes == y->high_water_bytes &&
           x->cap_bytes == y->cap_bytes && x->failed_request_bytes == y->failed_request_bytes &&
           x->failed_live_bytes == y->failed_live_bytes;
}

/* the same scripted requests through both sources, figures compared after
 * every request and checked against hand-derived values at the end */
static void test_sources_agree(void)
{
    printf("accounting: reservation vs per-allocation source\n");
    two_arenas t;
    two_init(&t, MIB, 8 * KIB);
    /* sizes: rounded 256, 512, 256, 3072, 0 */
    static const size_t sizes[] = {1, 257, 256, 3000, 0};
    void *r[5], *q[5];
    int disagreements = 0;
    for (int i = 0; i < 5; i++) {
        ops_status a = arena_alloc(&t.reservation, sizes[i], &r[i]), b = arena_alloc(&t.pooled, sizes[i], &q[i]);
        CHECK(a == OPS_OK && b == OPS_OK && (r[i] == NULL) == (sizes[i] == 0) && (q[i] == NULL) == (sizes[i] == 0),
              "alloc %zu: %d %d", sizes[i], (int)a, (int)b);
        disagreements += !same_figures(&t.reservation, &t.pooled);
    }
    CHECK(t.pooled.live_bytes == 4096 && t.pooled.high_water_bytes == 4096, "live %zu high %zu",
          t.pooled.live_bytes, t.pooled.high_water_bytes);
    CHECK(t.pool.allocs == 4 && t.pooled.n_live == 4, "zero-size reached the source: %d allocs", t.pool.allocs);
    CHECK(t.reservation.capacity_bytes == MIB && t.pooled.capacity_bytes == 0, "capacity %zu / %zu",
          t.reservation.capacity_bytes, t.pooled.capacity_bytes);
    /* the cap: 4096 live + 4097 asked > 8 KiB, in both */
    void *x = &t, *y = &t;
    CHECK(arena_alloc(&t.reservation, 4097, &x) == OPS_ERR_OOM && arena_alloc(&t.pooled, 4097, &y) == OPS_ERR_OOM &&
              !x && !y,
          "over the cap");
    CHECK(t.pooled.failed_request_bytes == 4097 && t.pooled.failed_live_bytes == 4096 && t.pool.allocs == 4,
          "cap failure: asked %zu live %zu, source called %d times", t.pooled.failed_request_bytes,
          t.pooled.failed_live_bytes, t.pool.allocs);
    disagreements += !same_figures(&t.reservation, &t.pooled);
    /* free out of order, a double free and a foreign pointer change nothing extra */
    int order[4] = {1, 3, 0, 2};
    for (int i = 0; i < 4; i++) {
        size_t fr = arena_free(&t.reservation, r[order[i]]), fq = arena_free(&t.pooled, q[order[i]]);
        CHECK(fr == fq && fr == ops_align(sizes[order[i]]), "free %d: %zu / %zu", order[i], fr, fq);
        disagreements += !same_figures(&t.reservation, &t.pooled);
        if (i == 1) {
            arena_reset_high_water(&t.reservation);
            arena_reset_high_water(&t.pooled);
            CHECK(t.pooled.high_water_bytes == 512, "reset high water %zu", t.pooled.high_water_bytes);
        }
    }
    CHECK(arena_free(&t.pooled, q[0]) == 0 && arena_free(&t.pooled, &t) == 0 && t.pool.frees == 4,
          "double or foreign free reached the source (%d frees)", t.pool.frees);
    CHECK(disagreements == 0, "the sources disagreed at %d points", disagreements);
    CHECK(t.pooled.live_bytes == 0 && t.pooled.n_live == 0 && t.pool.outstanding == 0, "live %zu, %d outstanding",
          t.pooled.live_bytes, t.pool.outstanding);
    two_destroy(&t);
}

/* the source out of memory fails exactly as the cap does; another failure
 * of the source is passed on and counts nothing */
static void test_source_failures(void)
{
    printf("per-allocation source failures\n");
    two_arenas t;
    two_init(&t, MIB, MIB);
    void *p = NULL, *q = NULL;
    CHECK(arena_alloc(&t.pooled, 1000, &p) == OPS_OK, "first alloc");
    t.pool.fail_next = OPS_ERR_OOM;
    CHECK(arena_alloc(&t.pooled, 5000, &q) == OPS_ERR_OOM && q == NULL, "device OOM not an OOM");
    CHECK(t.pooled.failed_request_bytes == 5000 && t.pooled.failed_live_bytes == 1024 && t.pooled.live_bytes == 1024 &&
              t.pooled.high_water_bytes == 1024 && t.pooled.n_live == 1,
          "device OOM: asked %zu live %zu", t.pooled.failed_request_bytes, t.pooled.failed_live_bytes);
    t.pool.fail_next = OPS_ERR_BACKEND;
    CHECK(arena_alloc(&t.pooled, 7, &q) == OPS_ERR_BACKEND && q == NULL, "backend error not passed on");
    CHECK(t.pooled.failed_request_bytes == 5000 && t.pooled.live_bytes == 1024, "backend error counted as OOM");
    /* what is still live goes back to the source with the arena */
    CHECK(arena_alloc(&t.pooled, 3, &q) == OPS_OK && t.pool.outstanding == 2, "outstanding %d", t.pool.outstanding);
    two_destroy(&t);
    CHECK(t.pool.outstanding == 0 && t.pool.frees == 2, "destroy left %d blocks at the source", t.pool.outstanding);
    ops_alloc_source none = {NULL, NULL, NULL};
    ops_arena a;
    CHECK(arena_init_source(&a, &none, MIB) == OPS_ERR_INVALID, "a source without slots accepted");
}

/* random requests through both sources at once, against a shadow count; the
 * address table grows and deletes in any order */
static void test_sources_random(void)
{
    printf("both sources, randomized\n");
    enum { MAX_LIVE = 600, STEPS = 30000 };
    const size_t max_bytes = 4 * KIB, capacity = 4 * MAX_LIVE * max_bytes;
    two_arenas t;
    two_init(&t, capacity, capacity);
    static void *r[MAX_LIVE], *q[MAX_LIVE];
    static size_t sz[MAX_LIVE];
    int n = 0, mismatches = 0, failures = 0;
    size_t shadow = 0, shadow_high = 0;
    uint64_t s = 987654321;
    for (int step = 0; step < STEPS; step++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t rnd = s >> 33;
        if (n == 0 || (n < MAX_LIVE && (rnd & 3) != 0 && (n < MAX_LIVE / 2 || (rnd & 4)))) {
            sz[n] = 1 + (size_t)(rnd >> 3) % max_bytes;
            failures += arena_alloc(&t.reservation, sz[n], &r[n]) != OPS_OK;
            failures += arena_alloc(&t.pooled, sz[n], &q[n]) != OPS_OK;
            shadow += ops_align(sz[n]);
            n++;
        } else {
            int j = (int)((rnd >> 3) % (uint64_t)n);
            arena_free(&t.reservation, r[j]);
            arena_free(&t.pooled, q[j]);
            shadow -= ops_align(sz[j]);
            n--;
            r[j] = r[n], q[j] = q[n], sz[j] = sz[n];
        }
        if (shadow > shadow_high) shadow_high = shadow;
        mismatches += !same_figures(&t.reservation, &t.pooled) || t.pooled.live_bytes != shadow ||
                      t.pooled.high_water_bytes != shadow_high || t.pooled.n_live != (size_t)n;
    }
    CHECK(failures == 0, "%d allocations failed", failures);
    CHECK(mismatches == 0, "figures differed from each other or the shadow count at %d steps", mismatches);
    printf("  %d steps, high water %zu bytes in both, %zu blocks live at the end\n", STEPS, shadow_high,
           t.pooled.n_live);
    two_destroy(&t);
    CHECK(t.pool.outstanding == 0, "%d blocks not given back", t.pool.outstanding);
}

// ----------------------------------------------------------------------------
// ops_set_allocator, ops_reserve and the untracked path

static void test_allocator_choice(void)
{
    printf("allocator choice\n");
    ops_allocator a = OPS_ALLOCATOR_DEFAULT;
    CHECK(ops_allocator_parse("pool", &a) == 0 && a == OPS_ALLOCATOR_POOL, "parse pool");
    CHECK(ops_allocator_parse("arena", &a) == 0 && a == OPS_ALLOCATOR_ARENA, "parse arena");
    CHECK(ops_allocator_parse("Pool", &a) == -1 && ops_allocator_parse("", &a) == -1, "bad names parsed");
    CHECK(!strcmp(ops_allocator_name(OPS_ALLOCATOR_POOL), "pool") && !strcmp(ops_allocator_name(OPS_ALLOCATOR_ARENA),
                                                                                "arena"),
          "names");

    /* the cpu backend: one reservation whatever the default; pool refused */
    ops_backend b;
    char why[256];
    if (ops_open(&b, "cpu", why, sizeof why) != OPS_OK) {
        CHECK(0, "cpu backend: %s", why);
        return;
    }
    CHECK(ops_set_allocator(&b, OPS_ALLOCATOR_POOL) == OPS_ERR_INVALID && strstr(ops_last_error(), "no device pool"),
          "pool on the cpu: %s", ops_last_error());
    CHECK(ops_reserve(&b, MIB, MIB) == OPS_OK && b.allocator == OPS_ALLOCATOR_ARENA && b.arena.capacity_bytes == MIB,
          "cpu default is not one reservation");
    CHECK(ops_set_allocator(&b, OPS_ALLOCATOR_ARENA) == OPS_OK, "the same choice again");
    ops_close(&b);

    /* a backend with pool slots: the cpu table plus the fake pool */
    static ops_backend_i pooled_i;
    pooled_i = cpu_backend_i;
    pooled_i.name = "cpu+fake-pool";
    pooled_i.pool_alloc = slot_alloc;
    pooled_i.pool_free = slot_free;
    memset(&g_pool, 0, sizeof g_pool);
    if (ops_open(&b, "cpu", why, sizeof why) != OPS_OK) return;
    b.i = &pooled_i;
    void *data = NULL, *p = NULL, *q = NULL;
    CHECK(ops_alloc_untracked(&b, 1000, &data) == OPS_OK && data && b.allocator == OPS_ALLOCATOR_POOL &&
              g_pool.allocs == 1,
          "untracked memory did not come from the pool (allocator %s)", ops_allocator_name(b.allocator));
    CHECK(ops_set_allocator(&b, OPS_ALLOCATOR_ARENA) == OPS_ERR_INVALID && strstr(ops_last_error(), "after memory"),
          "allocator changed after memory was taken: %s", ops_last_error());
    CHECK(ops_reserve(&b, 64 * MIB, 2 * KIB) == OPS_OK && b.arena.capacity_bytes == 0 && b.arena.cap_bytes == 2 * KIB,
          "pool reserve: capacity %zu cap %zu", b.arena.capacity_bytes, b.arena.cap_bytes);
    CHECK(ops_alloc(&b, 1500, &p) == OPS_OK && b.arena.live_bytes == 1536 && g_pool.allocs == 2, "pool alloc");
    CHECK(ops_alloc(&b, 600, &q) == OPS_ERR_OOM && b.arena.failed_request_bytes == 600 &&
              b.arena.failed_live_bytes == 1536 && g_pool.allocs == 2,
          "pool cap: asked %zu with %zu live", b.arena.failed_request_bytes, b.arena.failed_live_bytes);
    CHECK(b.untracked_bytes == 1000 && b.arena.live_bytes == 1536, "untracked counted as tracked");
    ops_free_untracked(&b, data, 1000);
    CHECK(g_pool.frees == 1 && b.untracked_bytes == 0, "untracked free");
    ops_close(&b);      /* p is still live: the pool gets it back */
    CHECK(g_pool.outstanding == 0 && g_pool.frees == 2, "%d pool blocks left after close", g_pool.outstanding);
}

// ----------------------------------------------------------------------------

/* resident set size from /proc/self/statm; 0 when unavailable */
static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (!f) return 0;
    int got = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return got == 2 ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

/* The cpu reservation is MAP_NORESERVE: 1 GiB reserved costs nothing
 * resident until pages are written. */
static void test_reservation_rss(void)
{
    printf("reservation RSS\n");
    size_t before = rss_bytes();
    if (!before) {
        printf("  /proc/self/statm unreadable: skipped\n");
        return;
    }
    ops_backend b;
    open_reserved(&b, 1024 * MIB, 1024 * MIB);
    size_t reserved = rss_bytes();
    void *p = alloc_ok(&b, 64 * MIB);
    memset(p, 1, 64 * MIB);
    size_t touched = rss_bytes();
    printf("  RSS: %zu MiB before, +%zu MiB after reserving 1 GiB, +%zu MiB after writing 64 MiB\n", before / MIB,
           (reserved - before) / MIB, (touched - before) / MIB);
    /* 16 MiB of slack for the allocator's own bookkeeping and stdio */
    CHECK(reserved < before + 16 * MIB, "reserving 1 GiB made %zu MiB resident", (reserved - before) / MIB);
    CHECK(touched >= reserved + 60 * MIB, "writing 64 MiB added only %zu MiB", (touched - reserved) / MIB);
    ops_free(&b, p);
    ops_close(&b);
}

int main(void)
{
    test_accounting();
    test_coalescing();
    test_cap();
    test_random();
    test_reservation_rss();
    test_sources_agree();
    test_source_failures();
    test_sources_random();
    test_allocator_choice();
    return CHECK_DONE();
}
