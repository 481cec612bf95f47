/* tests/test_cupti_records.c — the CUDA backend's CUPTI record parsing and
 * aggregation (kernels/cuda/cupti_records.c), checked without a GPU: activity
 * buffers are packed by hand as CUPTI lays them out (8-byte aligned records,
 * back to back, each the size of its kind's struct: CUpti_ActivityKernel10,
 * Memcpy6, Memset4, Memory4, Overhead3, ExternalCorrelation, API for
 * RUNTIME, DRIVER and INTERNAL_LAUNCH_API) and read back through the real
 * cuptiActivityGetNextRecord, which needs no driver. Long kernel names are
 * delivered cut with a hash of the full name, so variants stay apart.
 * Every expected value is written out by hand; all checks are exact. */
#include "check.h"
#include "ops.h"
#include "cuda/cupti_records.h"

#include <cupti.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ----------------------------------------------------------------------------
// packing records

#define BUF_BYTES 65536

typedef struct {
    _Alignas(8) uint8_t data[BUF_BYTES];
    size_t used;
} buffer;

static void put(buffer *b, const void *rec, size_t bytes)
{
    if (b->used + bytes > BUF_BYTES) {
        CHECK(0, "test buffer full");
        return;
    }
    memcpy(b->data + b->used, rec, bytes);
    b->used += bytes;
}

static void put_external(buffer *b, uint32_t correlation, uint64_t phase)
{
    CUpti_ActivityExternalCorrelation r;
    memset(&r, 0, sizeof r);
    r.kind = CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION;
    r.externalKind = CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0;
    r.externalId = phase;
    r.correlationId = correlation;
    put(b, &r, sizeof r);
}

static void put_api(buffer *b, CUpti_ActivityKind kind, uint32_t correlation)
{
    CUpti_ActivityAPI r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.correlationId = correlation;
    r.start = 1;
    r.end = 2;
    put(b, &r, sizeof r);
}

static void put_kernel(buffer *b, uint32_t correlation, uint32_t stream, const char *name, uint64_t start,
                       uint64_t end)
{
    CUpti_ActivityKernel10 r;
    memset(&r, 0, sizeof r);
    r.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
    r.correlationId = correlation;
    r.streamId = stream;
    r.name = name;
    r.start = start;
    r.end = end;
    r.gridX = r.gridY = r.gridZ = 1;
    r.blockX = 128;
    r.blockY = r.blockZ = 1;
    put(b, &r, sizeof r);
}

static void put_memcpy(buffer *b, uint32_t correlation, uint64_t bytes, uint64_t start, uint64_t end)
{
    CUpti_ActivityMemcpy6 r;
    memset(&r, 0, sizeof r);
    r.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
    r.correlationId = correlation;
    r.bytes = bytes;
    r.start = start;
    r.end = end;
    put(b, &r, sizeof r);
}

static void put_memset(buffer *b, uint32_t correlation, uint64_t bytes, uint64_t start, uint64_t end)
{
    CUpti_ActivityMemset4 r;
    memset(&r, 0, sizeof r);
    r.kind = CUPTI_ACTIVITY_KIND_MEMSET;
    r.correlationId = correlation;
    r.bytes = bytes;
    r.start = start;
    r.end = end;
    put(b, &r, sizeof r);
}

static void put_memory(buffer *b, CUpti_ActivityMemoryOperationType op, CUpti_ActivityMemoryKind where,
                       uint64_t address, uint64_t bytes)
{
    CUpti_ActivityMemory4 r;
    memset(&r, 0, sizeof r);
    r.kind = CUPTI_ACTIVITY_KIND_MEMORY2;
    r.memoryOperationType = op;
    r.memoryKind = where;
    r.bytes = bytes;
    r.address = address;
    put(b, &r, sizeof r);
}

#define ALLOC CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION
#define RELEASE CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE
#define DEVICE CUPTI_ACTIVITY_MEMORY_KIND_DEVICE

static void put_overhead(buffer *b, uint64_t start, uint64_t end)
{
    CUpti_ActivityOverhead3 r;
    memset(&r, 0, sizeof r);
    r.kind = CUPTI_ACTIVITY_KIND_OVERHEAD;
    r.overheadKind = CUPTI_ACTIVITY_OVERHEAD_CUPTI_BUFFER_FLUSH;
    r.start = start;
    r.end = end;
    put(b, &r, sizeof r);
}

static size_t parse(cupti_rec_state *s, buffer *b) { return cupti_records_parse(s, b->data, b->used); }

// ----------------------------------------------------------------------------
// a sink that keeps everything it is given

#define SINK_CAP 8192

typedef struct {
    ops_phase phase;
    const char *name;
    uint64_t start, end;
} got_kernel;

typedef struct {
    got_kernel k[SINK_CAP];
    size_t n;
    uint64_t phase_ns[OPS_PHASE_COUNT], phase_calls[OPS_PHASE_COUNT];
    uint64_t copy_bytes, set_bytes, copy_ns, set_ns, copies, sets;
} sink_data;

static void on_kernel(void *user, ops_phase phase, const char *name, uint64_t start, uint64_t end)
{
    sink_data *d = user;
    if (d->n < SINK_CAP) d->k[d->n++] = (got_kernel){phase, name, start, end};
    if ((unsigned)phase < OPS_PHASE_COUNT) {
        d->phase_ns[phase] += end - start;
        d->phase_calls[phase]++;
    }
}

static void on_transfer(void *user, int is_memset, uint64_t bytes, uint64_t start, uint64_t end)
{
    sink_data *d = user;
    if (is_memset) {
        d->sets++;
        d->set_bytes += bytes;
        d->set_ns += end - start;
    } else {
        d->copies++;
        d->copy_bytes += bytes;
        d->copy_ns += end - start;
    }
}

static sink_data *sink_new(ops_profile_sink *s)
{
    sink_data *d = calloc(1, sizeof *d);
    if (!d) {
        fprintf(stderr, "out of host memory\n");
        exit(1);
    }
    *s = (ops_profile_sink){d, on_kernel, on_transfer};
    return d;
}

static int kernel_is(const got_kernel *k, ops_phase phase, const char *name, uint64_t start, uint64_t end)
{
    return k->phase == phase && k->name && strcmp(k->name, name) == 0 && k->start == start && k->end == end;
}

// ----------------------------------------------------------------------------
// (1) the packed layout walks as CUPTI walks its own buffers

static void test_layout(void)
{
    CHECK(sizeof(CUpti_ActivityKernel10) % 8 == 0 && sizeof(CUpti_ActivityMemcpy6) % 8 == 0 &&
              sizeof(CUpti_ActivityMemset4) % 8 == 0 && sizeof(CUpti_ActivityMemory4) % 8 == 0 &&
              sizeof(CUpti_ActivityOverhead3) % 8 == 0 && sizeof(CUpti_ActivityExternalCorrelation) % 8 == 0 &&
              sizeof(CUpti_ActivityAPI) % 8 == 0,
          "a record struct is not a multiple of 8 bytes");
    static buffer b;
    b.used = 0;
    size_t offsets[8];
    int n = 0;
    offsets[n++] = b.used, put_external(&b, 1, OPS_PHASE_FORWARD);
    offsets[n++] = b.used, put_api(&b, CUPTI_ACTIVITY_KIND_RUNTIME, 1);
    offsets[n++] = b.used, put_kernel(&b, 1, 7, "k", 10, 20);
    offsets[n++] = b.used, put_memcpy(&b, 2, 64, 30, 40);
    offsets[n++] = b.used, put_memset(&b, 3, 32, 50, 60);
    offsets[n++] = b.used, put_memory(&b, ALLOC, DEVICE, 0x7f0000000000ull, 256);
    offsets[n++] = b.used, put_overhead(&b, 70, 75);
    offsets[n++] = b.used, put_api(&b, CUPTI_ACTIVITY_KIND_DRIVER, 4);
    static const CUpti_ActivityKind kinds[8] = {
        CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION, CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL,
        CUPTI_ACTIVITY_KIND_MEMCPY, CUPTI_ACTIVITY_KIND_MEMSET, CUPTI_ACTIVITY_KIND_MEMORY2,
        CUPTI_ACTIVITY_KIND_OVERHEAD, CUPTI_ACTIVITY_KIND_DRIVER};
    CUpti_Activity *rec = NULL;
    int seen = 0;
    CUptiResult st;
    while ((st = cuptiActivityGetNextRecord(b.data, b.used, &rec)) == CUPTI_SUCCESS) {
        if (seen < 8) {
            CHECK(rec->kind == kinds[seen], "record %d: kind %d, want %d", seen, (int)rec->kind, (int)kinds[seen]);
            CHECK((size_t)((uint8_t *)rec - b.data) == offsets[seen], "record %d at %td, packed at %zu", seen,
                  (uint8_t *)rec - b.data, offsets[seen]);
        }
        seen++;
    }
    CHECK(seen == 8 && st == CUPTI_ERROR_MAX_LIMIT_REACHED, "walked %d records, ended with %d", seen, (int)st);

    /* the parser reads the same buffer: everything counted by kind */
    cupti_rec_state s;
    cupti_records_init(&s);
    cupti_records_begin(&s);
    CHECK(parse(&s, &b) == 8, "parse count");
    CHECK(s.counts.external == 1 && s.counts.api == 2 && s.counts.kernels == 1 && s.counts.memcpys == 1 &&
              s.counts.memsets == 1 && s.counts.memory == 1 && s.counts.overhead == 1 && s.counts.other_kinds == 0 &&
              s.counts.lost == 0,
          "counts by kind");
    CHECK(s.counts.overhead_ns == 5, "overhead ns %llu", (unsigned long long)s.counts.overhead_ns);
    cupti_records_end(&s, NULL);
    cupti_records_free(&s);
    printf("(1) layout: %zu-byte kernel, %zu-byte memory records walk as packed\n", sizeof(CUpti_ActivityKernel10),
           sizeof(CUpti_ActivityMemory4));
}

// ----------------------------------------------------------------------------
// (2) phases: overlapping kernels on several streams in every phase

static void test_phases(void)
{
    static buffer b;
    b.used = 0;
    /* correlation ids 1..8: two launches per phase, each preceded by its
     * external-correlation record and runtime/driver API record, as CUPTI
     * writes them */
    static const ops_phase phase_of[9] = {0, OPS_PHASE_OTHER, OPS_PHASE_OTHER, OPS_PHASE_FORWARD, OPS_PHASE_FORWARD,
                                          OPS_PHASE_BACKWARD, OPS_PHASE_BACKWARD, OPS_PHASE_OPTIMIZER,
                                          OPS_PHASE_OPTIMIZER};
    for (uint32_t id = 1; id <= 8; id++) {
        put_external(&b, id, phase_of[id]);
        put_api(&b, id % 2 ? CUPTI_ACTIVITY_KIND_RUNTIME : CUPTI_ACTIVITY_KIND_DRIVER, id);
    }
    /* kernels: in each phase one on stream 7 and one on stream 13 that
     * overlap; records arrive out of launch order, as streams complete */
    put_kernel(&b, 4, 13, "_Z11relu_kernelPKfPfm", 1500, 1900);
    put_kernel(&b, 3, 7, "conv_fwd_kernel", 1000, 1600);
    put_kernel(&b, 1, 7, "fill_kernel", 100, 200);
    put_kernel(&b, 2, 13, "fill_kernel", 150, 260);
    put_kernel(&b, 5, 7, "_Z11relu_kernelPKfPfm", 3000, 3300);
    put_kernel(&b, 6, 14, "_Z11fill_kernelIfEvPT_mS0_", 3100, 3150);
    put_kernel(&b, 7, 7, "adamw_kernel", 5000, 5070);
    put_kernel(&b, 8, 13, "adamw_kernel", 5010, 5090);

    cupti_rec_state s;
    cupti_records_init(&s);
    cupti_records_begin(&s);
    CHECK(parse(&s, &b) == 24, "records read");
    ops_profile_sink sink;
    sink_data *d = sink_new(&sink);
    cupti_records_end(&s, &sink);

    CHECK(d->n == 8, "%zu kernels delivered", d->n);
    if (d->n == 8) {
        CHECK(kernel_is(&d->k[0], OPS_PHASE_FORWARD, "relu_kernel(float const*, float*, unsigned long)", 1500, 1900),
              "kernel 0: %d %s", (int)d->k[0].phase, d->k[0].name);
        CHECK(kernel_is(&d->k[1], OPS_PHASE_FORWARD, "conv_fwd_kernel", 1000, 1600), "kernel 1: %s", d->k[1].name);
        CHECK(kernel_is(&d->k[2], OPS_PHASE_OTHER, "fill_kernel", 100, 200), "kernel 2");
        CHECK(kernel_is(&d->k[3], OPS_PHASE_OTHER, "fill_kernel", 150, 260), "kernel 3");
        CHECK(kernel_is(&d->k[4], OPS_PHASE_BACKWARD, "relu_kernel(float const*, float*, unsigned long)", 3000, 3300),
              "kernel 4");
        CHECK(kernel_is(&d->k[5], OPS_PHASE_BACKWARD, "void fill_kernel<float>(float*, unsigned long, float)", 3100,
                        3150),
              "kernel 5: %s", d->k[5].name);
        CHECK(kernel_is(&d->k[6], OPS_PHASE_OPTIMIZER, "adamw_kernel", 5000, 5070), "kernel 6");
        CHECK(kernel_is(&d->k[7], OPS_PHASE_OPTIMIZER, "adamw_kernel", 5010, 5090), "kernel 7");
        /* one mangled name, one interned copy */
        CHECK(d->k[0].name == d->k[4].name, "relu_kernel interned twice");
    }
    CHECK(d->phase_ns[OPS_PHASE_OTHER] == 210 && d->phase_ns[OPS_PHASE_FORWARD] == 1000 &&
              d->phase_ns[OPS_PHASE_BACKWARD] == 350 && d->phase_ns[OPS_PHASE_OPTIMIZER] == 150,
          "per-phase ns %llu %llu %llu %llu", (unsigned long long)d->phase_ns[0], (unsigned long long)d->phase_ns[1],
          (unsigned long long)d->phase_ns[2], (unsigned long long)d->phase_ns[3]);
    for (int p = 0; p < OPS_PHASE_COUNT; p++)   /* two kernels in each phase but recompute */
        CHECK(d->phase_calls[p] == (p == OPS_PHASE_RECOMPUTE ? 0u : 2u), "phase %d: %llu calls", p,
              (unsigned long long)d->phase_calls[p]);
    CHECK(s.counts.unknown_phase == 0 && s.counts.external == 8 && s.counts.api == 8, "counts");
    CHECK(s.window == 0 && s.n_kernels == 0 && s.map_len == 0, "window not closed");
    free(d);
    cupti_records_free(&s);
    printf("(2) phases: 8 overlapping kernels on 3 streams joined to 4 phases\n");
}

// ----------------------------------------------------------------------------
// (3) records split across buffers, unknown ids, windows

static void test_split_and_unknown(void)
{
    static buffer b1, b2, b3;
    b1.used = b2.used = b3.used = 0;
    cupti_rec_state s;
    cupti_records_init(&s);

    /* a kernel before any window is not kept */
    put_kernel(&b3, 40, 7, "early_kernel", 1, 2);
    parse(&s, &b3);
    CHECK(s.counts.outside_window == 1 && s.counts.kernels == 0, "outside-window kernel kept");

    cupti_records_begin(&s);
    /* external correlation in the first buffer, its kernel in the second */
    put_external(&b1, 100, OPS_PHASE_BACKWARD);
    put_api(&b1, CUPTI_ACTIVITY_KIND_RUNTIME, 100);
    put_kernel(&b2, 100, 7, "dgrad_kernel", 700, 900);
    /* the other way round: the kernel first, its external id later */
    put_kernel(&b1, 101, 7, "wgrad_kernel", 900, 950);
    put_external(&b2, 101, OPS_PHASE_FORWARD);
    /* no external id at all (e.g. launched before the push) -> other */
    put_kernel(&b2, 102, 7, "stray_kernel", 960, 970);
    /* another kind's external id is not ours -> other */
    CUpti_ActivityExternalCorrelation foreign;
    memset(&foreign, 0, sizeof foreign);
    foreign.kind = CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION;
    foreign.externalKind = CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM1;
    foreign.externalId = OPS_PHASE_FORWARD;
    foreign.correlationId = 103;
    put(&b2, &foreign, sizeof foreign);
    put_kernel(&b2, 103, 7, "foreign_kernel", 980, 990);
    parse(&s, &b1);
    parse(&s, &b2);
    ops_profile_sink sink;
    sink_data *d = sink_new(&sink);
    cupti_records_end(&s, &sink);
    CHECK(d->n == 4, "%zu kernels", d->n);
    if (d->n == 4) {
        CHECK(kernel_is(&d->k[0], OPS_PHASE_FORWARD, "wgrad_kernel", 900, 950), "kernel before its id: %d",
              (int)d->k[0].phase);
        CHECK(kernel_is(&d->k[1], OPS_PHASE_BACKWARD, "dgrad_kernel", 700, 900), "split kernel: %d",
              (int)d->k[1].phase);
        CHECK(kernel_is(&d->k[2], OPS_PHASE_OTHER, "stray_kernel", 960, 970), "unknown id");
        CHECK(kernel_is(&d->k[3], OPS_PHASE_OTHER, "foreign_kernel", 980, 990), "foreign kind");
    }
    CHECK(s.counts.unknown_phase == 2, "unknown %llu", (unsigned long long)s.counts.unknown_phase);

    /* a new window forgets the last one's ids */
    cupti_records_begin(&s);
    b3.used = 0;
    put_kernel(&b3, 100, 7, "dgrad_kernel", 1700, 1900);
    parse(&s, &b3);
    memset(d, 0, sizeof *d);
    cupti_records_end(&s, &sink);
    CHECK(d->n == 1 && d->k[0].phase == OPS_PHASE_OTHER, "id from the last window reused");

    /* a record kind CUPTI does not know stops the walk and counts as lost */
    b3.used = 0;
    put_kernel(&b3, 1, 7, "k", 1, 2);
    uint32_t bogus[8] = {9999u, 0, 0, 0, 0, 0, 0, 0};
    put(&b3, bogus, sizeof bogus);
    cupti_records_begin(&s);
    CHECK(parse(&s, &b3) == 1 && s.counts.lost == 1, "bogus kind: lost %llu", (unsigned long long)s.counts.lost);
    cupti_records_end(&s, NULL);
    /* an empty completed buffer is nothing */
    CHECK(cupti_records_parse(&s, b3.data, 0) == 0 && cupti_records_parse(&s, NULL, 64) == 0, "empty buffer");

    free(d);
    cupti_records_free(&s);
    printf("(3) split buffers, unknown and foreign ids, window reset\n");
}

// ----------------------------------------------------------------------------
// (4) memcpy / memset

static void test_transfers(void)
{
    static buffer b;
    b.used = 0;
    put_memcpy(&b, 1, 4096, 100, 150);
    put_memset(&b, 2, 1024, 200, 210);
    put_memcpy(&b, 3, 1u << 20, 300, 1300);
    put_memset(&b, 4, 8, 1400, 1401);
    put_memcpy(&b, 5, 4, 1500, 1502);
    cupti_rec_state s;
    cupti_records_init(&s);
    cupti_records_begin(&s);
    parse(&s, &b);
    ops_profile_sink sink;
    sink_data *d = sink_new(&sink);
    cupti_records_end(&s, &sink);
    CHECK(d->copies == 3 && d->copy_bytes == 4096 + (1u << 20) + 4 && d->copy_ns == 50 + 1000 + 2,
          "memcpy: %llu calls, %llu bytes, %llu ns", (unsigned long long)d->copies,
          (unsigned long long)d->copy_bytes, (unsigned long long)d->copy_ns);
    CHECK(d->sets == 2 && d->set_bytes == 1032 && d->set_ns == 11, "memset: %llu calls, %llu bytes, %llu ns",
          (unsigned long long)d->sets, (unsigned long long)d->set_bytes, (unsigned long long)d->set_ns);
    CHECK(d->n == 0, "transfers delivered as kernels");
    CHECK(s.counts.memcpys == 3 && s.counts.memsets == 2, "counts");
    free(d);
    cupti_records_free(&s);
    printf("(4) memcpy/memset totals\n");
}

// ----------------------------------------------------------------------------
// (5) MEMORY2 live sum and high-water

#define A(i) (0x7f0000000000ull + ((uint64_t)(i) << 21))   /* device addresses, 2 MiB apart */

static void test_memory(void)
{
    static buffer b1, b2;
    b1.used = b2.used = 0;
    cupti_rec_state s;
    cupti_records_init(&s);
    /* live:                                100  150     50  250      200 */
    put_memory(&b1, ALLOC, DEVICE, A(1), 100);
    put_memory(&b1, ALLOC, DEVICE, A(2), 50);
    put_memory(&b1, RELEASE, DEVICE, A(1), 100);
    put_memory(&b1, ALLOC, CUPTI_ACTIVITY_MEMORY_KIND_PINNED, A(3), 1000); /* host memory: not counted */
    put_memory(&b1, ALLOC, DEVICE, A(4), 200);
    put_memory(&b2, RELEASE, DEVICE, A(2), 0); /* next buffer; the size comes from the allocation */
    parse(&s, &b1);
    CHECK(s.live_bytes == 250 && s.high_water_bytes == 250, "after b1: live %llu hw %llu",
          (unsigned long long)s.live_bytes, (unsigned long long)s.high_water_bytes);
    parse(&s, &b2);
    CHECK(s.live_bytes == 200 && s.high_water_bytes == 250, "after b2: live %llu hw %llu",
          (unsigned long long)s.live_bytes, (unsigned long long)s.high_water_bytes);
    CHECK(s.counts.memory == 6, "memory records %llu", (unsigned long long)s.counts.memory);

    /* reset: the high-water restarts from what is live */
    cupti_records_memory_reset(&s);
    CHECK(s.high_water_bytes == 200 && s.live_bytes == 200, "reset: hw %llu", (unsigned long long)s.high_water_bytes);
    b1.used = 0;
    put_memory(&b1, ALLOC, DEVICE, A(5), 30);   /* 230 */
    put_memory(&b1, RELEASE, DEVICE, A(5), 30); /* 200 */
    put_memory(&b1, ALLOC, DEVICE, A(5), 10);   /* 210: the address reused */
    parse(&s, &b1);
    CHECK(s.live_bytes == 210 && s.high_water_bytes == 230, "after reset: live %llu hw %llu",
          (unsigned long long)s.live_bytes, (unsigned long long)s.high_water_bytes);

    /* records count inside a profiling window too */
    cupti_records_begin(&s);
    b1.used = 0;
    put_memory(&b1, ALLOC, DEVICE, A(6), 1000); /* 1210 */
    parse(&s, &b1);
    cupti_records_end(&s, NULL);
    CHECK(s.live_bytes == 1210 && s.high_water_bytes == 1210, "in window: live %llu",
          (unsigned long long)s.live_bytes);

    /* a release of memory allocated before MEMORY2 was on changes nothing */
    b1.used = 0;
    put_memory(&b1, RELEASE, DEVICE, A(99), 5000);
    put_memory(&b1, RELEASE, DEVICE, A(6), 1000); /* 210 */
    put_memory(&b1, RELEASE, DEVICE, A(6), 1000); /* twice: unmatched */
    parse(&s, &b1);
    CHECK(s.live_bytes == 210 && s.high_water_bytes == 1210 && s.counts.unmatched_releases == 2,
          "unmatched releases: live %llu, %llu unmatched", (unsigned long long)s.live_bytes,
          (unsigned long long)s.counts.unmatched_releases);
    cupti_records_free(&s);

    /* many allocations and releases in shuffled order over many buffers,
     * against a plain list: the address table grows and deletes */
    enum { SLOTS = 700, OPS = 20000 };
    static uint64_t model_bytes[SLOTS]; /* 0 = not allocated */
    memset(model_bytes, 0, sizeof model_bytes);
    uint64_t model_live = 0, model_hw = 0, rng = 0x853c49e6748fea9bull;
    cupti_records_init(&s);
    b1.used = 0;
    for (int op = 0; op < OPS; op++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        unsigned slot = (unsigned)(rng % SLOTS);
        if (model_bytes[slot]) {
            put_memory(&b1, RELEASE, DEVICE, A(slot + 1000), 0);
            model_live -= model_bytes[slot];
            model_bytes[slot] = 0;
        } else {
            uint64_t bytes = 256 * (1 + (rng >> 32) % 4096);
            put_memory(&b1, ALLOC, DEVICE, A(slot + 1000), bytes);
            model_bytes[slot] = bytes;
            model_live += bytes;
            if (model_live > model_hw) model_hw = model_live;
        }
        if (b1.used + sizeof(CUpti_ActivityMemory4) > BUF_BYTES) {
            parse(&s, &b1);
            b1.used = 0;
        }
    }
    parse(&s, &b1);
    CHECK(s.live_bytes == model_live && s.high_water_bytes == model_hw && s.counts.unmatched_releases == 0 &&
              s.counts.lost == 0,
          "%d random operations: live %llu (want %llu), hw %llu (want %llu)", (int)OPS,
          (unsigned long long)s.live_bytes, (unsigned long long)model_live, (unsigned long long)s.high_water_bytes,
          (unsigned long long)model_hw);
    size_t model_len = 0;
    for (int i = 0; i < SLOTS; i++) model_len += model_bytes[i] != 0;
    CHECK(s.alloc_len == model_len, "%zu live allocations, want %zu", s.alloc_len, model_len);
    cupti_records_free(&s);
    printf("(5) MEMORY2: live sum and high-water across buffers, reset, %d random alloc/free\n", (int)OPS);
}

// ----------------------------------------------------------------------------
// (6) names, dropped records, many records

static void test_names_dropped_many(void)
{
    static const struct {
        const char *in, *out;
    } names[] = {
        {"_Z10relu_fwd_kPKfPfl", "relu_fwd_k(float const*, float*, long)"},
        {"_Z11fill_kernelIfEvPT_mS0_", "void fill_kernel<float>(float*, unsigned long, float)"},
        {"_ZN2ns6kernelEv", "ns::kernel()"},
        {"relu_fwd_kernel", "relu_fwd_kernel"},       /* extern "C" */
        {"_Zinvalid", "_Zinvalid"},                    /* looks mangled, is not */
        {"_", "_"},
        {"", ""},
        {NULL, "(unnamed)"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *got = cupti_demangle(names[i].in);
        CHECK(got && strcmp(got, names[i].out) == 0, "demangle '%s': '%s', want '%s'",
              names[i].in ? names[i].in : "NULL", got ? got : "NULL", names[i].out);
        free(got);
    }

    /* the name is copied: the record's string may go away after parsing */
    static buffer b;
    b.used = 0;
    char owned[32];
    snprintf(owned, sizeof owned, "%s", "_Z10relu_fwd_kPKfPfl");
    cupti_rec_state s;
    cupti_records_init(&s);
    cupti_records_begin(&s);
    put_external(&b, 9, OPS_PHASE_FORWARD);
    put_kernel(&b, 9, 7, owned, 10, 20);
    put_kernel(&b, 10, 7, NULL, 30, 40);
    parse(&s, &b);
    memset(owned, 'x', sizeof owned - 1);
    ops_profile_sink sink;
    sink_data *d = sink_new(&sink);
    cupti_records_end(&s, &sink);
    CHECK(d->n == 2 && kernel_is(&d->k[0], OPS_PHASE_FORWARD, "relu_fwd_k(float const*, float*, long)", 10, 20) &&
              kernel_is(&d->k[1], OPS_PHASE_OTHER, "(unnamed)", 30, 40),
          "copied names");

    /* dropped records: what the backend adds from
     * cuptiActivityGetNumDroppedRecords, which works without a driver */
    size_t dropped = 99;
    CHECK(cuptiActivityGetNumDroppedRecords(NULL, 0, &dropped) == CUPTI_SUCCESS && dropped == 0,
          "cuptiActivityGetNumDroppedRecords without a driver: %zu", dropped);
    cupti_records_add_dropped(&s, 3);
    cupti_records_add_dropped(&s, 0);
    cupti_records_add_dropped(&s, 4);
    CHECK(s.counts.dropped == 7, "dropped %llu", (unsigned long long)s.counts.dropped);

    /* many launches over many buffers: the tables grow, nothing is lost */
    enum { N = 6000, PER_BUFFER = 150 };
    static const char *const kn[3] = {"a_kernel", "b_kernel", "_Z10relu_fwd_kPKfPfl"};
    cupti_records_begin(&s);
    uint64_t want_ns[OPS_PHASE_COUNT] = {0};
    for (uint32_t first = 0; first < N; first += PER_BUFFER) {
        b.used = 0;
        for (uint32_t i = first; i < first + PER_BUFFER; i++) {
            uint32_t id = 1000 + i;
            ops_phase p = (ops_phase)(i % OPS_PHASE_COUNT);
            if (i % 5 != 4) put_external(&b, id, p); /* every fifth has none: other */
            put_kernel(&b, id, 7 + i % 3, kn[i % 3], 10ull * i, 10ull * i + 1 + i % 7);
            want_ns[i % 5 != 4 ? p : OPS_PHASE_OTHER] += 1 + i % 7;
        }
        parse(&s, &b);
    }
    memset(d, 0, sizeof *d);
    uint64_t unknown_before = s.counts.unknown_phase;
    cupti_records_end(&s, &sink);
    CHECK(d->n == N, "%zu of %d kernels", d->n, (int)N);
    for (int p = 0; p < OPS_PHASE_COUNT; p++)
        CHECK(d->phase_ns[p] == want_ns[p], "phase %d: %llu ns, want %llu", p, (unsigned long long)d->phase_ns[p],
              (unsigned long long)want_ns[p]);
    CHECK(s.counts.unknown_phase - unknown_before == N / 5 && s.counts.lost == 0, "unknown %llu, lost %llu",
          (unsigned long long)(s.counts.unknown_phase - unknown_before), (unsigned long long)s.counts.lost);
    CHECK(s.names_len == 4, "%zu interned names", s.names_len); /* 3 + the NULL one */
    free(d);
    cupti_records_free(&s);
    printf("(6) names demangled and copied, dropped count, %d kernels in %d buffers\n", (int)N, (int)(N / PER_BUFFER));
}

// ----------------------------------------------------------------------------
// (7) kernels launched outside a public API call; long names

static void test_internal_launch(void)
{
    static buffer b;
    b.used = 0;
    /* a library kernel the driver launched by itself: its API record is an
     * INTERNAL_LAUNCH_API one, preceded by the external correlation */
    put_external(&b, 50, OPS_PHASE_BACKWARD);
    put_api(&b, CUPTI_ACTIVITY_KIND_INTERNAL_LAUNCH_API, 50);
    put_kernel(&b, 50, 7, "bn_bw_1C11_kernel_new", 100, 180);
    put_external(&b, 51, OPS_PHASE_FORWARD);
    put_api(&b, CUPTI_ACTIVITY_KIND_RUNTIME, 51);
    put_kernel(&b, 51, 7, "bn_fw_tr_1C11_kernel_NCHW", 10, 30);
    CUpti_Activity *rec = NULL;
    int kinds_ok = 0, seen = 0;
    while (cuptiActivityGetNextRecord(b.data, b.used, &rec) == CUPTI_SUCCESS)
        kinds_ok += seen++ == 1 && rec->kind == CUPTI_ACTIVITY_KIND_INTERNAL_LAUNCH_API;
    CHECK(seen == 6 && kinds_ok == 1, "CUPTI walked %d records (internal launch seen: %d)", seen, kinds_ok);

    cupti_rec_state s;
    cupti_records_init(&s);
    cupti_records_begin(&s);
    CHECK(parse(&s, &b) == 6, "records read");
    CHECK(s.counts.api == 2 && s.counts.other_kinds == 0 && s.counts.lost == 0, "api %llu other %llu",
          (unsigned long long)s.counts.api, (unsigned long long)s.counts.other_kinds);
    ops_profile_sink sink;
    sink_data *d = sink_new(&sink);
    cupti_records_end(&s, &sink);
    CHECK(d->n == 2 && kernel_is(&d->k[0], OPS_PHASE_BACKWARD, "bn_bw_1C11_kernel_new", 100, 180) &&
              kernel_is(&d->k[1], OPS_PHASE_FORWARD, "bn_fw_tr_1C11_kernel_NCHW", 10, 30),
          "internal launch phase: %d", d->n ? (int)d->k[0].phase : -1);
    CHECK(s.counts.unknown_phase == 0, "unknown %llu", (unsigned long long)s.counts.unknown_phase);
    free(d);
    cupti_records_free(&s);
    printf("(7) an internally launched kernel keeps its phase\n");
}

/* "_ZN5cudnn3cnn<len><ident>ILi<v>EEEvPf" = "void cudnn::cnn::<ident><v>(float*)" */
static void mangled_variant(char *out, size_t len, const char *ident, int v)
{
    snprintf(out, len, "_ZN5cudnn3cnn%zu%sILi%dEEEvPf", strlen(ident), ident, v);
}

static void test_long_names(void)
{
    char ident[160], m1[256], m2[256], exact[OPS_KERNEL_NAME_MAX + 1], over[OPS_KERNEL_NAME_MAX + 2];
    snprintf(ident, sizeof ident, "implicit_convolve_sgemm_%0100d", 0);
    mangled_variant(m1, sizeof m1, ident, 1);
    mangled_variant(m2, sizeof m2, ident, 2);
    memset(exact, 'k', OPS_KERNEL_NAME_MAX);
    exact[OPS_KERNEL_NAME_MAX] = '\0';
    memset(over, 'k', OPS_KERNEL_NAME_MAX + 1);
    over[OPS_KERNEL_NAME_MAX + 1] = '\0';

    static buffer b;
    b.used = 0;
    put_kernel(&b, 1, 7, m1, 10, 20);
    put_kernel(&b, 2, 7, m2, 30, 50);
    put_kernel(&b, 3, 7, m1, 60, 65);
    put_kernel(&b, 4, 7, exact, 70, 71);
    put_kernel(&b, 5, 7, over, 80, 81);
    cupti_rec_state s;
    cupti_records_init(&s);
    cupti_records_begin(&s);
    parse(&s, &b);
    ops_profile_sink sink;
    sink_data *d = sink_new(&sink);
    cupti_records_end(&s, &sink);
    CHECK(d->n == 5, "%zu kernels", d->n);
    if (d->n == 5) {
        char *full1 = cupti_demangle(m1), *full2 = cupti_demangle(m2);
        /* the demangled names differ only at the template argument, past the cut */
        CHECK(full1 && full2 && strlen(full1) > OPS_KERNEL_NAME_MAX && strncmp(full1, "void cudnn::cnn::", 17) == 0 &&
                  strcmp(full1 + strlen(full1) - 11, "<1>(float*)") == 0,
              "demangled '%s'", full1 ? full1 : "NULL");
        const size_t keep = OPS_KERNEL_NAME_MAX - 17;
        for (int i = 0; i < 2; i++) {
            const char *got = d->k[i].name, *full = i ? full2 : full1;
            char hash[24];
            uint64_t h = 1469598103934665603ull;
            for (const char *p = full; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
            snprintf(hash, sizeof hash, "#%016llx", (unsigned long long)h);
            CHECK(strlen(got) == OPS_KERNEL_NAME_MAX && strncmp(got, full, keep) == 0 && !strcmp(got + keep, hash),
                  "variant %d shown as '%s'", i + 1, got);
        }
        CHECK(strcmp(d->k[0].name, d->k[1].name) != 0, "two template variants merged: '%s'", d->k[0].name);
        CHECK(d->k[0].name == d->k[2].name, "the same kernel interned twice");
        CHECK(strcmp(d->k[3].name, exact) == 0, "a name of exactly %d characters changed", OPS_KERNEL_NAME_MAX);
        CHECK(strlen(d->k[4].name) == OPS_KERNEL_NAME_MAX && d->k[4].name[keep] == '#',
              "a name one character too long: '%s'", d->k[4].name);
        /* the full names stay in the state */
        int full_kept = 0;
        for (size_t i = 0; i < s.names_cap; i++)
            full_kept += s.names[i].demangled && full1 && strcmp(s.names[i].demangled, full1) == 0;
        CHECK(full_kept == 1, "full name kept %d times", full_kept);
        free(full1);
        free(full2);
    }
    char *short_name = cupti_shown_name("relu_kernel");
    CHECK(short_name && strcmp(short_name, "relu_kernel") == 0, "short name '%s'", short_name ? short_name : "NULL");
    free(short_name);
    free(d);
    cupti_records_free(&s);
    printf("(7) long names: cut at %d characters with a hash of the full name, variants apart\n",
           OPS_KERNEL_NAME_MAX);
}

int main(void)
{
    test_layout();
    test_phases();
    test_split_and_unknown();
    test_transfers();
    test_memory();
    test_names_dropped_many();
    test_internal_launch();
    test_long_names();
    return CHECK_DONE();
}
