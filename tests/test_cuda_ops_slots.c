/* tests/test_cuda_ops_slots.c — the second half of test_cuda_ops (one
 * executable): the optional slots that need a device, run after the ops by
 * test_cuda_ops.c's main: the library workspace, set_math,
 * conv_find/conv_choice, timers, profiling (a kernel record in every phase),
 * device memory high-water, the pool allocator and device state. A slot the
 * backend leaves NULL is reported "n/a" (the CPU stand-in). check.h counts
 * failures per file: slot_check_failures() hands this file's count to main. */
#include "check.h"
#include "cuda_ops_harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int slot_check_failures(void) { return check_failures; }

static int slot_na(int filled, const char *name)
{
    if (filled) return 0;
    printf("     %s: n/a on the %s backend\n", name, G->i->name);
    return 1;
}

/* the cuBLAS workspace comes from the tracked arena; GEMMs still match */
static void case_library_workspace(void)
{
    if (slot_na(G->i->library_workspace_bytes != NULL, "library workspace")) return;
    size_t bytes = G->i->library_workspace_bytes(G->ctx);
    CHECK(bytes >= 4 * MIB, "library workspace %zu bytes", bytes);
    void *ws = NULL;
    if (ops_alloc(G, bytes, &ws) != OPS_OK) die("library workspace alloc");
    CHECK(G->i->set_library_workspace(G->ctx, (char *)ws + 4, bytes - 4) == OPS_ERR_INVALID, "misaligned accepted");
    CHECK(G->i->set_library_workspace(G->ctx, ws, bytes) == OPS_OK, "set: %s", ops_last_error());
    ops_gemm_desc d = {0, 1, 257, 129, 300, 300, 300, 129, 1.0f, 0.0f};
    run_gemm(&d, "gemm with the library workspace");
    CHECK(G->i->set_library_workspace(G->ctx, NULL, 0) == OPS_OK, "detach: %s", ops_last_error());
    run_gemm(&d, "gemm without a workspace");
    ops_free(G, ws);
}

/* tf32 and back: the fp32 results are those of the CPU again */
static void case_set_math(void)
{
    if (slot_na(G->i->set_math != NULL, "set_math")) return;
    CHECK(ops_set_math(G, 1) == OPS_OK, "tf32: %s", ops_last_error());
    CHECK(ops_set_math(G, 0) == OPS_OK, "fp32: %s", ops_last_error());
    ops_gemm_desc d = {0, 0, 64, 64, 256, 256, 64, 64, 1.0f, 0.0f};
    run_gemm(&d, "gemm after tf32 and back");
}

/* conv_find keeps a timed algorithm within the workspace it was given;
 * conv_choice and conv_workspace_bytes then agree with it, and the ops
 * still match the CPU */
static void case_conv_find(void)
{
    if (slot_na(G->i->conv_find != NULL, "conv_find")) return;
    size_t n;
    const ops_conv_shape *shapes = conv_shapes(&n);
    const size_t limit = 64 * MIB;
    void *ws = NULL;
    if (ops_alloc(G, limit, &ws) != OPS_OK) die("find workspace");
    for (size_t i = 0; i < n; i++) {
        const ops_conv_shape *s = &shapes[i];
        ten x = ten_rand(xsize(s), 0, -1, 1), w = ten_rand(wsize(s), 0, -1, 1), y = ten_rand(ysize(s), 0, -1, 1);
        for (int dir = 0; dir < OPS_CONV_DIR_COUNT; dir++) {
            char heur[48] = "", found[48] = "";
            size_t heur_ws = 0, found_ws = 0;
            CHECK(G->i->conv_choice(G->ctx, s, (ops_conv_dir)dir, heur, sizeof heur, &heur_ws) == OPS_OK,
                  "heuristic choice: %s", ops_last_error());
            CHECK(G->i->conv_find(G->ctx, s, (ops_conv_dir)dir, x.g, w.g, y.g, ws, limit) == OPS_OK,
                  "shape %zu dir %d: find: %s", i, dir, ops_last_error());
            CHECK(G->i->conv_choice(G->ctx, s, (ops_conv_dir)dir, found, sizeof found, &found_ws) == OPS_OK,
                  "found choice: %s", ops_last_error());
            CHECK(strcmp(found, "?") != 0 && found[0] && found_ws <= limit, "shape %zu dir %d: %s, %zu bytes", i,
                  dir, found, found_ws);
            CHECK(ops_conv_workspace_bytes(G, s, (ops_conv_dir)dir) == found_ws, "workspace bytes disagree");
            if (i == 0) printf("     shape 0 dir %d: heuristic %s (%zu B), found %s (%zu B)\n", dir, heur, heur_ws,
                               found, found_ws);
        }
        ten_free(&y);
        ten_free(&w);
        ten_free(&x);
    }
    ops_free(G, ws);
    /* the found algorithms compute what the CPU computes */
    case_conv2d_fwd();
    case_conv2d_bwd_data();
    case_conv2d_bwd_filter();
    /* set_math forgets them: the heuristics choose again */
    CHECK(ops_set_math(G, 0) == OPS_OK, "set_math: %s", ops_last_error());
}

static double host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* device time of a step lies within the host time around it */
static void case_timer(void)
{
    if (slot_na(G->i->timer_start != NULL, "timer")) return;
    double ns = -1.0;
    CHECK(G->i->timer_stop(G->ctx, &ns) == OPS_ERR_INVALID, "stop without start");
    const size_t len = (size_t)16 << 20;
    ten x = ten_new(len, 0);
    double t0 = host_ns();
    CHECK(ops_timer_start(G) == OPS_OK, "start: %s", ops_last_error());
    for (int i = 0; i < 20; i++) CHECK(ops_fill(G, len, x.g, (float)i) == OPS_OK, "fill");
    CHECK(ops_timer_stop(G, &ns) == OPS_OK, "stop: %s", ops_last_error());
    double host = host_ns() - t0;
    /* 20 fills of 64 MiB write 1.3 GB: well above the events' ~0.5 us resolution */
    CHECK(ns > 1e3 && ns <= host, "device %.0f ns, host %.0f ns", ns, host);
    printf("     20 fills of 64 MiB: %.3f ms on the device, %.3f ms on the host\n", ns / 1e6, host / 1e6);
    ten_free(&x);
}

typedef struct {
    uint64_t calls[OPS_PHASE_COUNT];
    uint64_t bad;                 /* end < start, or no name */
    uint64_t transfers, transfer_bytes;
    char relu_phase_name[96];
} profile_seen;

static void seen_kernel(void *user, ops_phase phase, const char *name, uint64_t start, uint64_t end)
{
    profile_seen *p = user;
    if ((unsigned)phase < OPS_PHASE_COUNT) p->calls[phase]++;
    if (!name || !name[0] || end < start || start == 0) p->bad++;
    if (phase == OPS_PHASE_FORWARD && name && strstr(name, "relu") && !p->relu_phase_name[0])
        snprintf(p->relu_phase_name, sizeof p->relu_phase_name, "%s", name);
}

static void seen_transfer(void *user, int is_memset, uint64_t bytes, uint64_t start, uint64_t end)
{
    (void)is_memset;
    profile_seen *p = user;
    p->transfers++;
    p->transfer_bytes += bytes;
    if (end < start) p->bad++;
}

/* one kernel (at least) in each phase, joined by the CUPTI external
 * correlation ids that phase changes push */
static void case_profile(void)
{
    if (!ops_can_profile(G)) {
        printf("     profiling: n/a on the %s backend\n", G->i->name);
        return;
    }
    const size_t n = 1 << 16;
    ten x = ten_rand(n, 0, -1, 1), y = ten_new(n, 0), g = ten_rand(n, 0, -1, 1), buf = ten_const(n, 0, 0.0f);
    float host[64];
    ops_status st = ops_profile_begin(G);
    CHECK(st == OPS_OK, "profile_begin: %s", ops_last_error());
    if (st != OPS_OK) {
        ten_free(&buf);
        ten_free(&g);
        ten_free(&y);
        ten_free(&x);
        return;
    }
    ops_set_phase(G, OPS_PHASE_OTHER, 0);
    CHECK(ops_fill(G, n, buf.g, 0.0f) == OPS_OK, "fill");
    ops_set_phase(G, OPS_PHASE_FORWARD, 1);
    CHECK(ops_relu_fwd(G, n, x.g, y.g) == OPS_OK, "relu");
    ops_gemm_desc d = {0, 1, 64, 64, 64, 64, 64, 64, 1.0f, 0.0f};
    CHECK(ops_gemm(G, &d, x.g, g.g, y.g) == OPS_OK, "gemm");
    ops_set_phase(G, OPS_PHASE_BACKWARD, 1);
    CHECK(ops_relu_bwd(G, n, y.g, g.g, 0.0f, x.g) == OPS_OK, "relu bwd");
    ops_set_phase(G, OPS_PHASE_OPTIMIZER, 0);
    ops_sgd_hparams h = {0.01f, 0.9f, 0.0f};
    CHECK(ops_sgd_step(G, n, x.g, g.g, buf.g, &h) == OPS_OK, "sgd");
    ops_set_phase(G, OPS_PHASE_OTHER, 0);
    CHECK(ops_download(G, host, y.g, sizeof host) == OPS_OK, "download");
    profile_seen seen;
    memset(&seen, 0, sizeof seen);
    ops_profile_sink sink = {&seen, seen_kernel, seen_transfer};
    CHECK(ops_profile_end(G, &sink) == OPS_OK, "profile_end: %s", ops_last_error());
    for (int p = 0; p < OPS_PHASE_COUNT; p++)
        CHECK(seen.calls[p] >= 1, "no kernel record in phase %s", ops_phase_name((ops_phase)p));
    CHECK(seen.calls[OPS_PHASE_FORWARD] >= 2, "forward: %llu kernels (relu + gemm)",
          (unsigned long long)seen.calls[OPS_PHASE_FORWARD]);
    CHECK(seen.bad == 0, "%llu records without name or with bad timestamps", (unsigned long long)seen.bad);
    CHECK(seen.transfers >= 1 && seen.transfer_bytes >= sizeof host, "download not recorded (%llu bytes)",
          (unsigned long long)seen.transfer_bytes);
    CHECK(seen.relu_phase_name[0], "no relu kernel in forward");
    printf("     kernels other/forward/backward/optimizer: %llu/%llu/%llu/%llu; e.g. %s\n",
           (unsigned long long)seen.calls[0], (unsigned long long)seen.calls[1], (unsigned long long)seen.calls[2],
           (unsigned long long)seen.calls[3], seen.relu_phase_name);
    ops_device_memory m;
    CHECK(ops_read_device_memory(G, &m) == OPS_OK && m.dropped_records == 0 && m.device_why[0] == '\0',
          "dropped %llu, why '%s'", (unsigned long long)m.dropped_records, m.device_why);
    ten_free(&buf);
    ten_free(&g);
    ten_free(&y);
    ten_free(&x);
}

/* a known device allocation shows in both the MEMORY2 and the driver
 * high-water, and a reset forgets it once it is freed */
static void case_device_memory(void)
{
    if (slot_na(G->i->device_memory != NULL, "device_memory")) return;
    const size_t big = 256 * MIB;
    ops_device_memory before, during, after;
    ops_device_memory_reset(G);
    CHECK(ops_read_device_memory(G, &before) == OPS_OK, "read");
    void *p = NULL;
    if (ops_alloc_untracked(G, big, &p) != OPS_OK) die("untracked alloc");
    CHECK(ops_read_device_memory(G, &during) == OPS_OK, "read");
    ops_free_untracked(G, p, big);
    ops_device_memory_reset(G);
    CHECK(ops_read_device_memory(G, &after) == OPS_OK, "read");
    CHECK(before.device_why[0] == '\0', "MEMORY2: %s", before.device_why);
    /* the 512 MiB reservation of main() is live since create */
    CHECK(before.device_high_water_bytes >= 512 * MIB, "MEMORY2 before: %zu", before.device_high_water_bytes);
    CHECK(during.device_high_water_bytes >= before.device_high_water_bytes + big, "MEMORY2 during: %zu, before %zu",
          during.device_high_water_bytes, before.device_high_water_bytes);
    CHECK(after.device_high_water_bytes < during.device_high_water_bytes &&
              after.device_high_water_bytes >= 512 * MIB,
          "MEMORY2 after reset: %zu", after.device_high_water_bytes);
    /* the driver counts in pages: at least the allocation above the level after init */
    CHECK(during.driver_high_water_bytes >= big + 512 * MIB, "driver during: %zu", during.driver_high_water_bytes);
    CHECK(after.driver_high_water_bytes < during.driver_high_water_bytes, "driver after reset: %zu",
          after.driver_high_water_bytes);
    CHECK(during.dropped_records == 0, "dropped %llu", (unsigned long long)during.dropped_records);
    printf("     MEMORY2 high-water %.1f -> %.1f -> %.1f MiB, driver %.1f -> %.1f -> %.1f MiB\n",
           (double)before.device_high_water_bytes / MIB, (double)during.device_high_water_bytes / MIB,
           (double)after.device_high_water_bytes / MIB, (double)before.driver_high_water_bytes / MIB,
           (double)during.driver_high_water_bytes / MIB, (double)after.driver_high_water_bytes / MIB);
}

/* --allocator pool on a second CUDA backend: the accounting of the arena
 * (the same live bytes and cap for the same requests), and the pool's own
 * figures around it: used high-water >= tracked high-water (the pool never
 * hands out less than asked) and <= tracked + 2 MiB per block (the driver's
 * allocation granularity on current GPUs bounds any rounding), reserved >=
 * used, driver >= reserved (the pool's memory is in total - free); freed
 * blocks stay reserved (release threshold); a request the device cannot
 * serve is OPS_ERR_OOM with the request recorded, as over the cap. */
static void case_pool_allocator(void)
{
    if (slot_na(G->i->pool_alloc != NULL, "pool allocator")) return;
    ops_backend pb;
    char why[256];
    if (ops_open(&pb, "cuda", why, sizeof why) != OPS_OK) {
        CHECK(0, "second cuda backend: %s", why);
        return;
    }
    CHECK(ops_set_allocator(&pb, OPS_ALLOCATOR_POOL) == OPS_OK, "pool: %s", ops_last_error());
    CHECK(ops_reserve(&pb, 0, 64 * MIB) == OPS_OK && pb.arena.capacity_bytes == 0, "pool reserve");
    static const size_t sizes[] = {1, 4097, 3 * MIB + 5, 256, 17 * MIB};
    enum { N = sizeof sizes / sizeof sizes[0] };
    void *p[N];
    size_t tracked = 0;
    for (int i = 0; i < N; i++) {
        CHECK(ops_alloc(&pb, sizes[i], &p[i]) == OPS_OK && p[i], "pool alloc %zu: %s", sizes[i], ops_last_error());
        tracked += ops_align(sizes[i]);
        CHECK(((uintptr_t)p[i] & 255u) == 0, "pool block %d not 256-byte aligned", i);
    }
    CHECK(pb.arena.live_bytes == tracked && pb.arena.high_water_bytes == tracked, "live %zu, want %zu",
          pb.arena.live_bytes, tracked);
    float ones[4] = {1, 1, 1, 1}, back[4] = {0};
    CHECK(ops_upload(&pb, p[4], ones, sizeof ones) == OPS_OK && ops_download(&pb, back, p[4], sizeof back) == OPS_OK &&
              back[3] == 1.0f,
          "a pool block does not hold data");
    ops_device_memory m;
    CHECK(ops_read_device_memory(&pb, &m) == OPS_OK, "read: %s", ops_last_error());
    CHECK(m.device_why[0] == '\0', "pool device figure: %s", m.device_why);
    CHECK(m.device_high_water_bytes >= tracked && m.device_high_water_bytes <= tracked + N * 2 * MIB,
          "pool used %zu for %zu tracked", m.device_high_water_bytes, tracked);
    CHECK(m.reserved_high_water_bytes >= m.device_high_water_bytes, "reserved %zu < used %zu",
          m.reserved_high_water_bytes, m.device_high_water_bytes);
    CHECK(m.driver_high_water_bytes >= m.reserved_high_water_bytes, "driver %zu < reserved %zu",
          m.driver_high_water_bytes, m.reserved_high_water_bytes);
    printf("     pool: tracked %.2f MiB, used %.2f MiB, reserved %.2f MiB, driver %.2f MiB\n", (double)tracked / MIB,
           (double)m.device_high_water_bytes / MIB, (double)m.reserved_high_water_bytes / MIB,
           (double)m.driver_high_water_bytes / MIB);
    for (int i = 0; i < N; i++) ops_free(&pb, p[i]);
    CHECK(ops_synchronize(&pb) == OPS_OK, "sync");
    ops_device_memory_reset(&pb);
    ops_device_memory after;
    CHECK(ops_read_device_memory(&pb, &after) == OPS_OK, "read");
    CHECK(pb.arena.live_bytes == 0 && after.device_high_water_bytes == 0, "after frees and reset: live %zu used %zu",
          pb.arena.live_bytes, after.device_high_water_bytes);
    CHECK(after.reserved_high_water_bytes >= m.device_high_water_bytes, "freed blocks released: reserved %zu",
          after.reserved_high_water_bytes);
    /* the cap, then the device itself */
    void *q = NULL;
    CHECK(ops_alloc(&pb, 65 * MIB, &q) == OPS_ERR_OOM && pb.arena.failed_request_bytes == 65 * MIB, "over the cap");
    ops_close(&pb);
    if (ops_open(&pb, "cuda", why, sizeof why) != OPS_OK) return;
    CHECK(ops_reserve(&pb, 0, SIZE_MAX) == OPS_OK && pb.allocator == OPS_ALLOCATOR_POOL, "pool is the default");
    const size_t huge = (size_t)1 << 50;
    CHECK(ops_alloc(&pb, huge, &q) == OPS_ERR_OOM && q == NULL && pb.arena.failed_request_bytes == huge &&
              pb.arena.live_bytes == 0,
          "1 PiB from the pool: %s", ops_last_error());
    ops_close(&pb);
}

/* NVML may be missing on a GPU machine (containers): then a reason */
static void case_device_state(void)
{
    if (slot_na(G->i->device_state != NULL, "device_state")) return;
    ops_device_state s;
    CHECK(ops_read_device_state(G, &s) == OPS_OK, "device_state");
    if (!s.valid) {
        CHECK(s.why[0], "invalid without a reason");
        printf("     NVML: %s\n", s.why);
        return;
    }
    CHECK(s.sm_clock_mhz > 0 && s.sm_clock_max_mhz >= s.sm_clock_mhz && s.temperature_c > 0 &&
              s.temperature_c < 120,
          "SM %u/%u MHz, %u C", s.sm_clock_mhz, s.sm_clock_max_mhz, s.temperature_c);
    CHECK((s.throttle_reasons & 1ull) == 0, "idle bit kept");
    printf("     SM %u/%u MHz, %u C, %.1f W, reasons 0x%llx, %u other processes%s%s\n", s.sm_clock_mhz,
           s.sm_clock_max_mhz, s.temperature_c, s.power_mw / 1000.0, s.throttle_reasons, s.other_processes,
           s.why[0] ? "; " : "", s.why);
}

const op_case slot_cases[N_SLOT_CASES] = {
    {"library workspace", case_library_workspace},
    {"set_math", case_set_math},
    {"conv_find / conv_choice", case_conv_find},
    {"timer", case_timer},
    {"profile (kernels per phase)", case_profile},
    {"device memory high-water", case_device_memory},
    {"pool allocator", case_pool_allocator},
    {"device state", case_device_state},
};
