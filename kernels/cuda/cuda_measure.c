/* kernels/cuda/cuda_measure.c — the CUDA backend's measurement slots: NVTX
 * ranges and CUPTI external correlation per phase, step timers (CUDA
 * events), profiling with the CUPTI activity API, the device memory figures
 * of the design's Memory section, and the NVML device state.
 *
 * CUPTI's activity API is per process (one set of buffer callbacks, one
 * set of enabled kinds), so one backend context at a time owns the session;
 * another context gets CUPTI "unavailable" and otherwise works. Records go
 * to cupti_records.c under a lock, because CUPTI may complete buffers on its
 * own thread; records of one kind arrive only when a buffer completes, so
 * whatever reads them flushes first (cuptiActivityFlushAll, which calls the
 * completion callback on the calling thread: never flush holding the lock).
 *
 * Memory figures (ops_device_memory):
 * - device_high_water_bytes: with the pool (--allocator pool), the pool's
 *   own count of bytes in use, cudaMemPoolAttrUsedMemHigh; else the live sum
 *   of CUPTI MEMORY2 DEVICE records, allocation +bytes, release -bytes, from
 *   create on (MEMORY2 is enabled before the context's first allocation, so
 *   cuBLAS/cuDNN handle memory counts); its high-water since
 *   device_memory_reset.
 * - reserved_high_water_bytes: the pool's cudaMemPoolAttrReservedMemHigh
 *   (what it holds from the driver); 0 without a pool.
 * - driver_high_water_bytes: max of (total - free) from cudaMemGetInfo minus
 *   the level right after the context and library handles were created.
 *   cudaMemGetInfo is a driver call (microseconds), so it is sampled at every
 *   phase change only outside timed steps (no timer running), at timer_stop
 *   (after the step's synchronisation) and when read. Timed steps allocate
 *   nothing (design, Memory), so their level is the one at their end;
 *   warm-up and profiled steps are sampled at every phase change. */
#include "cuda_check.h"
#include "cuda_internal.h"
#include "cupti_records.h"

#include <cupti.h>
#include <nvtx3/nvToolsExt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

/* Activity buffers handed to CUPTI: 8 MiB holds ~30k kernels with their
 * API and external-correlation records (216 + 40 + 24 bytes each, CUDA 13
 * struct sizes); CUPTI asks for more when one fills. */
#define CUPTI_BUFFER_BYTES ((size_t)8 << 20)

/* What profile_begin enables and profile_end disables. RUNTIME and DRIVER
 * make CUPTI write the external-correlation records (cuDNN and cuBLAS may
 * launch through the driver API). */
static const CUpti_ActivityKind profile_kinds[] = {
    CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY,  CUPTI_ACTIVITY_KIND_MEMSET,
    CUPTI_ACTIVITY_KIND_OVERHEAD,          CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_ACTIVITY_KIND_DRIVER,
    CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION,
};
#define N_PROFILE_KINDS (sizeof profile_kinds / sizeof profile_kinds[0])
/* Kernels the driver launches outside any public API call get their
 * external correlation through this kind's API records (cupti_activity.h);
 * enabled when CUPTI takes it, since without it those kernels only land in
 * phase "other", which shows. */
#define PROFILE_KIND_BEST_EFFORT CUPTI_ACTIVITY_KIND_INTERNAL_LAUNCH_API

struct cuda_measure {
    int cupti_owner;                /* this context runs the process's CUPTI session */
    char cupti_why[112];            /* why not, when !cupti_owner */
    int profiling;
    ops_phase phase;
    int micro_batch;
    nvtxDomainHandle_t nvtx;
    int nvtx_open;                  /* a phase range is pushed */
    cudaEvent_t ev_start, ev_stop;
    int timing;                     /* between timer_start and timer_stop */
    size_t driver_base_bytes, driver_high_bytes;  /* levels of total - free */
    int driver_ok;
    cuda_nvml *nvml;
};

// ----------------------------------------------------------------------------
// the process's CUPTI session

static once_flag g_cupti_once = ONCE_FLAG_INIT;
static struct {
    int lock_ok;
    mtx_t lock;
    int registered;                 /* buffer callbacks given to CUPTI */
    const cuda_ctx *owner;
    cupti_rec_state rec;
} g_cupti;

static void cupti_lock_init(void) { g_cupti.lock_ok = mtx_init(&g_cupti.lock, mtx_plain) == thrd_success; }

static void CUPTIAPI buffer_requested(uint8_t **buf, size_t *size, size_t *max_records)
{
    /* 8-byte alignment is what CUPTI requires (cupti_common.h,
     * ACTIVITY_RECORD_ALIGNMENT); NULL makes CUPTI drop (and count) records */
    *buf = aligned_alloc(8, CUPTI_BUFFER_BYTES);
    *size = *buf ? CUPTI_BUFFER_BYTES : 0;
    *max_records = 0;
}

static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buf, size_t size, size_t valid)
{
    (void)size;
    size_t dropped = 0;
    if (cuptiActivityGetNumDroppedRecords(ctx, stream, &dropped) != CUPTI_SUCCESS) dropped = 0;
    if (g_cupti.lock_ok) {
        mtx_lock(&g_cupti.lock);
        cupti_records_parse(&g_cupti.rec, buf, valid);
        cupti_records_add_dropped(&g_cupti.rec, dropped);
        mtx_unlock(&g_cupti.lock);
    }
    free(buf);
}

static void take_dropped(void)
{
    size_t dropped = 0;
    if (cuptiActivityGetNumDroppedRecords(NULL, 0, &dropped) != CUPTI_SUCCESS || !dropped) return;
    mtx_lock(&g_cupti.lock);
    cupti_records_add_dropped(&g_cupti.rec, dropped);
    mtx_unlock(&g_cupti.lock);
}

static void cupti_reason(char *why, size_t len, const char *call, CUptiResult r)
{
    const char *name = NULL;
    if (cuptiGetResultString(r, &name) != CUPTI_SUCCESS || !name) name = "unknown CUPTI result";
    const char *hint = r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED ? " (another profiler is attached)"
                       : r == CUPTI_ERROR_UNKNOWN                         ? " (no usable driver?)"
                       : r == CUPTI_ERROR_VIRTUALIZED_DEVICE_NOT_SUPPORTED ? " (virtualised GPU)"
                                                                           : "";
    snprintf(why, len, "%s: %s%s", call, name, hint);
}

/* Takes the session for c, or leaves m->cupti_why saying why not. */
static void cupti_start(cuda_ctx *c, struct cuda_measure *m)
{
    call_once(&g_cupti_once, cupti_lock_init);
    if (!g_cupti.lock_ok) {
        snprintf(m->cupti_why, sizeof m->cupti_why, "cannot create the CUPTI record lock");
        return;
    }
    if (g_cupti.owner) {
        snprintf(m->cupti_why, sizeof m->cupti_why, "another CUDA backend context of this process owns CUPTI");
        return;
    }
    CUptiResult r;
    if (!g_cupti.registered) {
        if ((r = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed)) != CUPTI_SUCCESS) {
            cupti_reason(m->cupti_why, sizeof m->cupti_why, "cuptiActivityRegisterCallbacks", r);
            return;
        }
        g_cupti.registered = 1;
    }
    mtx_lock(&g_cupti.lock);
    cupti_records_free(&g_cupti.rec);
    cupti_records_init(&g_cupti.rec);
    mtx_unlock(&g_cupti.lock);
    if ((r = cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMORY2)) != CUPTI_SUCCESS) {
        cupti_reason(m->cupti_why, sizeof m->cupti_why, "cuptiActivityEnable(MEMORY2)", r);
        return;
    }
    g_cupti.owner = c;
    m->cupti_owner = 1;
}

static void disable_profile_kinds(void)
{
    for (size_t i = 0; i < N_PROFILE_KINDS; i++) (void)cuptiActivityDisable(profile_kinds[i]);
    (void)cuptiActivityDisable(PROFILE_KIND_BEST_EFFORT);
}

static void cupti_stop(struct cuda_measure *m)
{
    if (!m->cupti_owner) return;
    if (m->profiling) {
        (void)cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, NULL);
        disable_profile_kinds();
        m->profiling = 0;
    }
    (void)cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    (void)cuptiActivityDisable(CUPTI_ACTIVITY_KIND_MEMORY2);
    mtx_lock(&g_cupti.lock);
    cupti_records_free(&g_cupti.rec);
    g_cupti.owner = NULL;
    mtx_unlock(&g_cupti.lock);
    m->cupti_owner = 0;
}

// ----------------------------------------------------------------------------
// create / destroy

ops_status cuda_measure_create(cuda_ctx *c)
{
    struct cuda_measure *m = calloc(1, sizeof *m);
    if (!m) {
        ops_set_error("out of host memory for the CUDA measurement state");
        return OPS_ERR_OOM;
    }
    c->measure = m;
    cupti_start(c, m);
    m->nvtx = nvtxDomainCreateA("accumbench");
    return OPS_OK;
}

static void sample_driver(struct cuda_measure *m)
{
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
        (void)cudaGetLastError();
        return;
    }
    size_t level = total_bytes - free_bytes;
    if (level > m->driver_high_bytes) m->driver_high_bytes = level;
}

ops_status cuda_measure_ready(cuda_ctx *c)
{
    struct cuda_measure *m = c->measure;
    CUDA_CHECK(cudaEventCreate(&m->ev_start));
    CUDA_CHECK(cudaEventCreate(&m->ev_stop));
    size_t free_bytes = 0, total_bytes = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    m->driver_base_bytes = m->driver_high_bytes = total_bytes - free_bytes;
    m->driver_ok = 1;
    m->nvml = cuda_nvml_open(c->device);
    if (!m->nvml) {
        ops_set_error("out of host memory for the NVML state");
        return OPS_ERR_OOM;
    }
    return OPS_OK;
}

void cuda_measure_destroy(cuda_ctx *c)
{
    struct cuda_measure *m = c->measure;
    if (!m) return;
    cupti_stop(m);
    if (m->nvtx_open) nvtxDomainRangePop(m->nvtx);
    if (m->nvtx) nvtxDomainDestroy(m->nvtx);
    if (m->ev_start) (void)cudaEventDestroy(m->ev_start);
    if (m->ev_stop) (void)cudaEventDestroy(m->ev_stop);
    cuda_nvml_close(m->nvml);
    free(m);
    c->measure = NULL;
}

// ----------------------------------------------------------------------------
// phases: NVTX range, CUPTI external correlation id, driver memory sample

/* ARGB per phase, for Nsight Systems' timeline */
static const uint32_t phase_color[OPS_PHASE_COUNT] = {0xff9e9e9e, 0xff1f77b4, 0xffd62728, 0xff2ca02c,
                                                          0xffff7f0e};

void cuda_phase_changed(void *ctx, ops_phase phase, int micro_batch)
{
    cuda_ctx *c = ctx;
    struct cuda_measure *m = c->measure;
    m->phase = phase;
    m->micro_batch = micro_batch;

    if (m->nvtx_open) nvtxDomainRangePop(m->nvtx);
    char name[48];
    if (micro_batch > 0)
        snprintf(name, sizeof name, "%s mb %d", ops_phase_name(phase), micro_batch);
    else
        snprintf(name, sizeof name, "%s", ops_phase_name(phase));
    nvtxEventAttributes_t attr;
    memset(&attr, 0, sizeof attr);
    attr.version = NVTX_VERSION;
    attr.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    attr.colorType = NVTX_COLOR_ARGB;
    attr.color = (unsigned)phase < OPS_PHASE_COUNT ? phase_color[phase] : 0xff000000;
    attr.messageType = NVTX_MESSAGE_TYPE_ASCII;
    attr.message.ascii = name;
    nvtxDomainRangePushEx(m->nvtx, &attr);
    m->nvtx_open = 1;

    if (m->profiling) {
        /* a failure here sends the phase's kernels to "other", which shows */
        (void)cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, NULL);
        (void)cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, (uint64_t)phase);
    }
    if (!m->timing) sample_driver(m);
}

// ----------------------------------------------------------------------------
// step timers: events on the backend's stream

ops_status cuda_timer_start(void *ctx)
{
    cuda_ctx *c = ctx;
    struct cuda_measure *m = c->measure;
    CUDA_CHECK(cudaEventRecord(m->ev_start, c->stream));
    m->timing = 1;
    return OPS_OK;
}

ops_status cuda_timer_stop(void *ctx, double *ns)
{
    cuda_ctx *c = ctx;
    struct cuda_measure *m = c->measure;
    *ns = 0.0;
    if (!m->timing) {
        ops_set_error("timer_stop without timer_start");
        return OPS_ERR_INVALID;
    }
    m->timing = 0;
    float ms = 0.0f;
    CUDA_CHECK(cudaEventRecord(m->ev_stop, c->stream));
    CUDA_CHECK(cudaEventSynchronize(m->ev_stop));
    CUDA_CHECK(cudaEventElapsedTime(&ms, m->ev_start, m->ev_stop));
    *ns = (double)ms * 1e6;
    sample_driver(m);
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// profiling

static ops_status unavailable(const struct cuda_measure *m)
{
    ops_set_error("CUPTI unavailable: %s", m->cupti_why);
    return OPS_ERR_BACKEND;
}

ops_status cuda_profile_begin(void *ctx)
{
    cuda_ctx *c = ctx;
    struct cuda_measure *m = c->measure;
    if (!m->cupti_owner) return unavailable(m);
    if (m->profiling) {
        ops_set_error("profile_begin: already profiling");
        return OPS_ERR_INVALID;
    }
    /* earlier work completes first, so its kernels stay out of the window */
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    mtx_lock(&g_cupti.lock);
    cupti_records_begin(&g_cupti.rec);
    mtx_unlock(&g_cupti.lock);
    CUptiResult r = CUPTI_SUCCESS;
    size_t on = 0;
    while (on < N_PROFILE_KINDS && (r = cuptiActivityEnable(profile_kinds[on])) == CUPTI_SUCCESS) on++;
    if (r == CUPTI_SUCCESS) (void)cuptiActivityEnable(PROFILE_KIND_BEST_EFFORT);
    if (r == CUPTI_SUCCESS)
        r = cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, (uint64_t)m->phase);
    if (r != CUPTI_SUCCESS) {
        const char *call = on < N_PROFILE_KINDS ? "cuptiActivityEnable" : "cuptiActivityPushExternalCorrelationId";
        char why[160];
        cupti_reason(why, sizeof why, call, r);
        while (on > 0) (void)cuptiActivityDisable(profile_kinds[--on]);
        (void)cuptiActivityDisable(PROFILE_KIND_BEST_EFFORT);
        mtx_lock(&g_cupti.lock);
        cupti_records_end(&g_cupti.rec, NULL);
        mtx_unlock(&g_cupti.lock);
        ops_set_error("CUPTI unavailable: %s", why);
        return OPS_ERR_BACKEND;
    }
    m->profiling = 1;
    return OPS_OK;
}

/* The sink's callbacks run under the CUPTI lock: they must not call the
 * backend. */
ops_status cuda_profile_end(void *ctx, const ops_profile_sink *sink)
{
    cuda_ctx *c = ctx;
    struct cuda_measure *m = c->measure;
    if (!m->profiling) {
        ops_set_error("profile_end without profile_begin");
        return OPS_ERR_INVALID;
    }
    (void)cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, NULL);
    /* kernel records are complete only once the work is: synchronise, then
     * force out the buffers CUPTI still fills */
    ops_status st = cuda_check_(cudaDeviceSynchronize(), "cudaDeviceSynchronize()", __func__, __FILE__, __LINE__);
    ops_status fst = cupti_check_(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED),
                                  "cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED)", __func__, __FILE__,
                                  __LINE__);
    disable_profile_kinds();
    m->profiling = 0;
    take_dropped();
    mtx_lock(&g_cupti.lock);
    cupti_records_end(&g_cupti.rec, sink);
    mtx_unlock(&g_cupti.lock);
    return st != OPS_OK ? st : fst;
}

// ----------------------------------------------------------------------------
// device memory, device state

/* the pool's high-water marks; "can only be reset to zero", which restarts
 * them from the current level (cudaMemPoolSetAttribute) */
static ops_status pool_high_water(cudaMemPool_t pool, ops_device_memory *out)
{
    uint64_t used = 0, reserved = 0;
    CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &used));
    CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemHigh, &reserved));
    out->device_high_water_bytes = (size_t)used;
    out->reserved_high_water_bytes = (size_t)reserved;
    return OPS_OK;
}

static ops_status pool_reset(cudaMemPool_t pool)
{
    uint64_t zero = 0;
    CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero));
    CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReservedMemHigh, &zero));
    return OPS_OK;
}

ops_status cuda_device_memory(void *ctx, ops_device_memory *out)
{
    cuda_ctx *c = ctx;
    struct cuda_measure *m = c->measure;
    memset(out, 0, sizeof *out);
    if (c->pool) {
        ops_status st = pool_high_water(c->pool, out);
        if (st != OPS_OK) return st;
        if (m->cupti_owner) {
            mtx_lock(&g_cupti.lock);
            out->dropped_records = g_cupti.rec.counts.dropped + g_cupti.rec.counts.lost;
            mtx_unlock(&g_cupti.lock);
        }
    } else if (m->cupti_owner) {
        (void)cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
        take_dropped();
        mtx_lock(&g_cupti.lock);
        out->device_high_water_bytes = (size_t)g_cupti.rec.high_water_bytes;
        out->dropped_records = g_cupti.rec.counts.dropped + g_cupti.rec.counts.lost;
        mtx_unlock(&g_cupti.lock);
    } else {
        snprintf(out->device_why, sizeof out->device_why, "unavailable: %s", m->cupti_why);
    }
    if (m->driver_ok) {
        sample_driver(m);
        out->driver_high_water_bytes =
            m->driver_high_bytes > m->driver_base_bytes ? m->driver_high_bytes - m->driver_base_bytes : 0;
    }
    return OPS_OK;
}

void cuda_device_memory_reset(void *ctx)
{
    cuda_ctx *c = ctx;
    struct cuda_measure *m = c->measure;
    if (m->cupti_owner) {
        /* records of allocations made so far must count before the reset */
        (void)cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
        mtx_lock(&g_cupti.lock);
        cupti_records_memory_reset(&g_cupti.rec);
        mtx_unlock(&g_cupti.lock);
    }
    if (m->driver_ok) {
        m->driver_high_bytes = 0;
        sample_driver(m);
    }
    /* a failure leaves the marks from before, which only overstates them */
    if (c->pool) (void)pool_reset(c->pool);
}

ops_status cuda_device_state(void *ctx, ops_device_state *s)
{
    cuda_ctx *c = ctx;
    return cuda_nvml_sample(c->measure->nvml, s);
}
