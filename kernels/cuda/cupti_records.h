/* kernels/cuda/cupti_records.h — CUPTI activity records parsed and joined to
 * phases, without touching a device: the part of the CUDA backend's profiler
 * that the CPU tests check with hand-packed buffers read back through the
 * real cuptiActivityGetNextRecord (which needs no driver).
 *
 * Conventions:
 * - Phases travel as CUPTI external correlation ids of kind
 *   CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0 whose id is the ops_phase value.
 *   CUPTI writes an EXTERNAL_CORRELATION record (correlationId -> externalId)
 *   before the API record of every runtime/driver call made while an id is
 *   pushed (cupti_activity.h, cuptiActivityPushExternalCorrelationId); the
 *   kernel, memcpy or memset that call launched carries the same
 *   correlationId. Those records may arrive in different buffers, so kernels
 *   are kept until the profiling window ends and are joined then; a kernel
 *   whose correlationId has no external id goes to OPS_PHASE_OTHER.
 * - MEMORY2 (CUpti_ActivityMemory4) records of memoryKind DEVICE keep a live
 *   sum (allocation +bytes, release -bytes) and its high-water, in and out of
 *   profiling windows. A release subtracts what the allocation at its
 *   address added (kept by address); a release of an address never seen
 *   allocated (allocated before MEMORY2 was on) changes nothing and is
 *   counted.
 * - Kernels launched by the driver outside any public API call (as some
 *   library kernels are) have an INTERNAL_LAUNCH_API record, an API record
 *   like the others: their external correlation gives them their phase.
 * - Timestamps are CUPTI's (ns). Kernel names are copied (CUPTI owns the
 *   strings) and demangled: C++ symbols with the C++ ABI's __cxa_demangle,
 *   extern "C" names as they are. The full demangled name is kept; the sink
 *   gets it within OPS_KERNEL_NAME_MAX (cupti_shown_name).
 *
 * Not thread-safe: the backend calls it under its lock (CUPTI may complete
 * buffers on its own thread). */
#ifndef ACCUMBENCH_CUDA_CUPTI_RECORDS_H
#define ACCUMBENCH_CUDA_CUPTI_RECORDS_H

#include "ops.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the parser saw since cupti_records_init (counters never reset). */
typedef struct {
    uint64_t kernels, memcpys, memsets;     /* records inside profiling windows */
    uint64_t memory, overhead, api, external;
    uint64_t other_kinds;                   /* kinds this parser does not use */
    uint64_t outside_window;                /* kernel/memcpy/memset records outside a window, ignored */
    uint64_t unknown_phase;                 /* kernels with no external id: delivered as phase other */
    uint64_t unmatched_releases;            /* DEVICE releases of addresses never seen allocated */
    uint64_t lost;                          /* records not kept for want of host memory */
    uint64_t dropped;                       /* CUPTI's count, added with cupti_records_add_dropped */
    uint64_t overhead_ns;                   /* sum of OVERHEAD record durations */
} cupti_rec_counts;

typedef struct {
    uint32_t correlation_id;
    const char *name;                       /* interned, as shown; owned by the state */
    uint64_t start_ns, end_ns;
} cupti_kernel_rec;

typedef struct {
    int is_memset;
    uint64_t bytes, start_ns, end_ns;
} cupti_transfer_rec;

typedef struct {
    char *raw;                              /* the name as CUPTI gave it */
    char *demangled;                        /* in full */
    char *shown;                            /* what the sink gets: demangled, cut with a hash if long */
} cupti_name;

typedef struct {
    /* MEMORY2 live sum of DEVICE memory, bytes, and the live allocations:
     * address -> bytes, open addressing (address 0 = empty slot) */
    uint64_t live_bytes, high_water_bytes;
    uint64_t *alloc_addr, *alloc_bytes;
    size_t alloc_cap, alloc_len;
    int window;                             /* inside cupti_records_begin .. end */
    /* correlationId -> phase, open addressing (linear probing), this window */
    uint32_t *map_key;
    uint8_t *map_phase;                     /* 0 = empty slot, else phase + 1 */
    size_t map_cap, map_len;
    cupti_kernel_rec *kernels;
    size_t n_kernels, kernels_cap;
    cupti_transfer_rec *transfers;
    size_t n_transfers, transfers_cap;
    cupti_name *names;                      /* interned kernel names, open addressing */
    size_t names_cap, names_len;
    cupti_rec_counts counts;
} cupti_rec_state;

void cupti_records_init(cupti_rec_state *s);
void cupti_records_free(cupti_rec_state *s);

/* Opens a profiling window: kernel, memcpy and memset records are kept from
 * now on, and the correlation map starts empty. */
void cupti_records_begin(cupti_rec_state *s);

/* Walks one completed buffer (valid_size bytes of packed records) with
 * cuptiActivityGetNextRecord. Returns the number of records read; stops at
 * the first record CUPTI cannot walk past and counts the rest as lost. */
size_t cupti_records_parse(cupti_rec_state *s, uint8_t *buf, size_t valid_size);

/* Closes the window: joins every kept kernel to its phase and delivers it,
 * then every memcpy/memset, to the sink (either callback may be NULL), in
 * the order the records arrived. Empties what the window kept. */
void cupti_records_end(cupti_rec_state *s, const ops_profile_sink *sink);

/* High-water := current live sum (design: reset after warm-up). */
void cupti_records_memory_reset(cupti_rec_state *s);

void cupti_records_add_dropped(cupti_rec_state *s, uint64_t dropped);

/* The demangled form of a kernel symbol, malloc'd (NULL when out of memory):
 * "_Z10relu_fwd_kPKfPfl" -> "relu_fwd_k(float const*, float*, long)",
 * a name that is not a C++ symbol unchanged, NULL -> "(unnamed)". */
char *cupti_demangle(const char *name);

/* The name within OPS_KERNEL_NAME_MAX characters, malloc'd (NULL when out of
 * memory): unchanged when it fits, else its first OPS_KERNEL_NAME_MAX - 17
 * characters, '#' and the 16 hex digits of the 64-bit FNV-1a hash of the
 * whole name. */
char *cupti_shown_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif
