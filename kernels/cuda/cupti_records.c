/* kernels/cuda/cupti_records.c — see cupti_records.h. Record layouts:
 * cupti_activity.h of CUDA 13 (CUpti_ActivityKernel10, Memcpy6, Memset4,
 * Memory4, Overhead3, ExternalCorrelation, API for RUNTIME, DRIVER and
 * INTERNAL_LAUNCH_API); cuptiActivityGetNextRecord
 * steps over each record by the size of its kind's struct. */
#include "cupti_records.h"

#include <cupti.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The C++ ABI's demangler (libstdc++, cxxabi.h), declared here because this
 * file is C: status 0 = demangled into a malloc'd string, -2 = not a
 * mangled name. */
char *__cxa_demangle(const char *mangled_name, char *output_buffer, size_t *length, int *status);

void cupti_records_init(cupti_rec_state *s) { memset(s, 0, sizeof *s); }

static void map_clear(cupti_rec_state *s)
{
    if (s->map_phase) memset(s->map_phase, 0, s->map_cap);
    s->map_len = 0;
}

void cupti_records_free(cupti_rec_state *s)
{
    free(s->alloc_addr);
    free(s->alloc_bytes);
    free(s->map_key);
    free(s->map_phase);
    free(s->kernels);
    free(s->transfers);
    for (size_t i = 0; i < s->names_cap; i++) {
        free(s->names[i].raw);
        free(s->names[i].demangled);
        free(s->names[i].shown);
    }
    free(s->names);
    memset(s, 0, sizeof *s);
}

void cupti_records_begin(cupti_rec_state *s)
{
    s->n_kernels = 0;
    s->n_transfers = 0;
    map_clear(s);
    s->window = 1;
}

void cupti_records_memory_reset(cupti_rec_state *s) { s->high_water_bytes = s->live_bytes; }

void cupti_records_add_dropped(cupti_rec_state *s, uint64_t dropped) { s->counts.dropped += dropped; }

char *cupti_demangle(const char *name)
{
    if (!name) name = "(unnamed)";
    int status = -1;
    char *out = name[0] == '_' && name[1] == 'Z' ? __cxa_demangle(name, NULL, NULL, &status) : NULL;
    if (out && status == 0) return out;
    free(out);
    size_t n = strlen(name) + 1;
    out = malloc(n);
    if (out) memcpy(out, name, n);
    return out;
}

static uint64_t hash_str(const char *p) /* 64-bit FNV-1a */
{
    uint64_t h = 1469598103934665603ull;
    for (; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

/* '#' and 16 hex digits */
#define NAME_HASH_CHARS 17

char *cupti_shown_name(const char *name)
{
    size_t len = strlen(name);
    char *out = malloc((len < OPS_KERNEL_NAME_MAX ? len : OPS_KERNEL_NAME_MAX) + 1);
    if (!out) return NULL;
    if (len <= OPS_KERNEL_NAME_MAX) {
        memcpy(out, name, len + 1);
        return out;
    }
    size_t keep = OPS_KERNEL_NAME_MAX - NAME_HASH_CHARS;
    memcpy(out, name, keep);
    snprintf(out + keep, NAME_HASH_CHARS + 1, "#%016llx", (unsigned long long)hash_str(name));
    return out;
}

// ----------------------------------------------------------------------------
// hash tables: correlationId -> phase, kernel name -> demangled name

static size_t hash_u32(uint32_t k) { return (size_t)(k * 2654435761u); }

static int map_grow(cupti_rec_state *s)
{
    size_t cap = s->map_cap ? 2 * s->map_cap : 1024;
    uint32_t *key = calloc(cap, sizeof *key);
    uint8_t *phase = calloc(cap, 1);
    if (!key || !phase) {
        free(key);
        free(phase);
        return 0;
    }
    for (size_t i = 0; i < s->map_cap; i++) {
        if (!s->map_phase[i]) continue;
        size_t j = hash_u32(s->map_key[i]) & (cap - 1);
        while (phase[j]) j = (j + 1) & (cap - 1);
        key[j] = s->map_key[i];
        phase[j] = s->map_phase[i];
    }
    free(s->map_key);
    free(s->map_phase);
    s->map_key = key;
    s->map_phase = phase;
    s->map_cap = cap;
    return 1;
}

/* a later record for the same correlationId replaces the earlier one */
static int map_put(cupti_rec_state *s, uint32_t key, ops_phase phase)
{
    if (2 * (s->map_len + 1) > s->map_cap && !map_grow(s)) return 0;
    size_t j = hash_u32(key) & (s->map_cap - 1);
    while (s->map_phase[j] && s->map_key[j] != key) j = (j + 1) & (s->map_cap - 1);
    if (!s->map_phase[j]) s->map_len++;
    s->map_key[j] = key;
    s->map_phase[j] = (uint8_t)(phase + 1);
    return 1;
}

/* phase + 1, or 0 when the id is not in the map */
static int map_get(const cupti_rec_state *s, uint32_t key)
{
    if (!s->map_cap) return 0;
    size_t j = hash_u32(key) & (s->map_cap - 1);
    while (s->map_phase[j]) {
        if (s->map_key[j] == key) return s->map_phase[j];
        j = (j + 1) & (s->map_cap - 1);
    }
    return 0;
}

static size_t hash_u64(uint64_t k) { return (size_t)((k >> 8) * 0x9e3779b97f4a7c15ull >> 16); }

static int alloc_grow(cupti_rec_state *s)
{
    size_t cap = s->alloc_cap ? 2 * s->alloc_cap : 256;
    uint64_t *addr = calloc(cap, sizeof *addr), *bytes = calloc(cap, sizeof *bytes);
    if (!addr || !bytes) {
        free(addr);
        free(bytes);
        return 0;
    }
    for (size_t i = 0; i < s->alloc_cap; i++) {
        if (!s->alloc_addr[i]) continue;
        size_t j = hash_u64(s->alloc_addr[i]) & (cap - 1);
        while (addr[j]) j = (j + 1) & (cap - 1);
        addr[j] = s->alloc_addr[i];
        bytes[j] = s->alloc_bytes[i];
    }
    free(s->alloc_addr);
    free(s->alloc_bytes);
    s->alloc_addr = addr;
    s->alloc_bytes = bytes;
    s->alloc_cap = cap;
    return 1;
}

/* the slot of addr, or of the empty slot where it would go */
static size_t alloc_slot(const cupti_rec_state *s, uint64_t addr)
{
    size_t j = hash_u64(addr) & (s->alloc_cap - 1);
    while (s->alloc_addr[j] && s->alloc_addr[j] != addr) j = (j + 1) & (s->alloc_cap - 1);
    return j;
}

/* removes slot j, shifting later entries of its probe run back (linear
 * probing without tombstones) */
static void alloc_remove(cupti_rec_state *s, size_t j)
{
    size_t mask = s->alloc_cap - 1, i = j;
    s->alloc_addr[j] = 0;
    s->alloc_len--;
    for (;;) {
        i = (i + 1) & mask;
        if (!s->alloc_addr[i]) return;
        size_t home = hash_u64(s->alloc_addr[i]) & mask;
        /* entry i may move to the hole j unless its home lies in (j, i] */
        int stays = j <= i ? (home > j && home <= i) : (home > j || home <= i);
        if (stays) continue;
        s->alloc_addr[j] = s->alloc_addr[i];
        s->alloc_bytes[j] = s->alloc_bytes[i];
        s->alloc_addr[i] = 0;
        j = i;
    }
}

static int names_grow(cupti_rec_state *s)
{
    size_t cap = s->names_cap ? 2 * s->names_cap : 256;
    cupti_name *t = calloc(cap, sizeof *t);
    if (!t) return 0;
    for (size_t i = 0; i < s->names_cap; i++) {
        if (!s->names[i].raw) continue;
        size_t j = (size_t)hash_str(s->names[i].raw) & (cap - 1);
        while (t[j].raw) j = (j + 1) & (cap - 1);
        t[j] = s->names[i];
    }
    free(s->names);
    s->names = t;
    s->names_cap = cap;
    return 1;
}

/* the interned name as shown, NULL when out of memory */
static const char *name_intern(cupti_rec_state *s, const char *raw)
{
    if (!raw) raw = "(unnamed)";
    if (2 * (s->names_len + 1) > s->names_cap && !names_grow(s)) return NULL;
    size_t j = (size_t)hash_str(raw) & (s->names_cap - 1);
    while (s->names[j].raw) {
        if (strcmp(s->names[j].raw, raw) == 0) return s->names[j].shown;
        j = (j + 1) & (s->names_cap - 1);
    }
    size_t n = strlen(raw) + 1;
    char *copy = malloc(n), *dem = cupti_demangle(raw), *shown = dem ? cupti_shown_name(dem) : NULL;
    if (!copy || !dem || !shown) {
        free(copy);
        free(dem);
        free(shown);
        return NULL;
    }
    memcpy(copy, raw, n);
    s->names[j] = (cupti_name){copy, dem, shown};
    s->names_len++;
    return shown;
}

// ----------------------------------------------------------------------------
// records

/* the array with room for one more element, or NULL (arr still valid) */
static void *room_for_one(void *arr, size_t len, size_t *cap, size_t elem)
{
    if (len < *cap) return arr;
    size_t n = *cap ? 2 * *cap : 256;
    void *p = realloc(arr, n * elem);
    if (p) *cap = n;
    return p;
}

static void keep_kernel(cupti_rec_state *s, const CUpti_ActivityKernel10 *k)
{
    if (!s->window) {
        s->counts.outside_window++;
        return;
    }
    s->counts.kernels++;
    const char *name = name_intern(s, k->name);
    cupti_kernel_rec *arr = name ? room_for_one(s->kernels, s->n_kernels, &s->kernels_cap, sizeof *arr) : NULL;
    if (!arr) {
        s->counts.lost++;
        return;
    }
    s->kernels = arr;
    cupti_kernel_rec *r = &s->kernels[s->n_kernels++];
    r->correlation_id = k->correlationId;
    r->name = name;
    r->start_ns = k->start;
    r->end_ns = k->end;
}

static void keep_transfer(cupti_rec_state *s, int is_memset, uint64_t bytes, uint64_t start, uint64_t end)
{
    if (!s->window) {
        s->counts.outside_window++;
        return;
    }
    if (is_memset)
        s->counts.memsets++;
    else
        s->counts.memcpys++;
    cupti_transfer_rec *arr = room_for_one(s->transfers, s->n_transfers, &s->transfers_cap, sizeof *arr);
    if (!arr) {
        s->counts.lost++;
        return;
    }
    s->transfers = arr;
    cupti_transfer_rec *r = &s->transfers[s->n_transfers++];
    r->is_memset = is_memset;
    r->bytes = bytes;
    r->start_ns = start;
    r->end_ns = end;
}

static void memory_record(cupti_rec_state *s, const CUpti_ActivityMemory4 *m)
{
    s->counts.memory++;
    if (m->memoryKind != CUPTI_ACTIVITY_MEMORY_KIND_DEVICE || !m->address) return;
    if (m->memoryOperationType == CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION) {
        if (2 * (s->alloc_len + 1) > s->alloc_cap && !alloc_grow(s)) {
            s->counts.lost++;   /* counted, but its release will be unmatched */
        } else {
            size_t j = alloc_slot(s, m->address);
            if (s->alloc_addr[j])   /* allocated again, no release seen: the old one is gone */
                s->live_bytes -= s->alloc_bytes[j];
            else
                s->alloc_len++;
            s->alloc_addr[j] = m->address;
            s->alloc_bytes[j] = m->bytes;
        }
        s->live_bytes += m->bytes;
        if (s->live_bytes > s->high_water_bytes) s->high_water_bytes = s->live_bytes;
    } else if (m->memoryOperationType == CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE) {
        size_t j = s->alloc_cap ? alloc_slot(s, m->address) : 0;
        if (!s->alloc_cap || !s->alloc_addr[j]) {
            s->counts.unmatched_releases++;
            return;
        }
        s->live_bytes -= s->alloc_bytes[j];
        alloc_remove(s, j);
    }
}

static void external_record(cupti_rec_state *s, const CUpti_ActivityExternalCorrelation *e)
{
    s->counts.external++;
    if (e->externalKind != CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0 || e->externalId >= OPS_PHASE_COUNT) return;
    if (!map_put(s, e->correlationId, (ops_phase)e->externalId)) s->counts.lost++;
}

size_t cupti_records_parse(cupti_rec_state *s, uint8_t *buf, size_t valid_size)
{
    CUpti_Activity *rec = NULL;
    size_t n = 0;
    CUptiResult st;
    if (!buf || !valid_size) return 0;
    while ((st = cuptiActivityGetNextRecord(buf, valid_size, &rec)) == CUPTI_SUCCESS) {
        n++;
        switch (rec->kind) {
        case CUPTI_ACTIVITY_KIND_KERNEL:
        case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
            keep_kernel(s, (const CUpti_ActivityKernel10 *)rec);
            break;
        case CUPTI_ACTIVITY_KIND_MEMCPY: {
            const CUpti_ActivityMemcpy6 *m = (const CUpti_ActivityMemcpy6 *)rec;
            keep_transfer(s, 0, m->bytes, m->start, m->end);
            break;
        }
        case CUPTI_ACTIVITY_KIND_MEMSET: {
            const CUpti_ActivityMemset4 *m = (const CUpti_ActivityMemset4 *)rec;
            keep_transfer(s, 1, m->bytes, m->start, m->end);
            break;
        }
        case CUPTI_ACTIVITY_KIND_MEMORY2:
            memory_record(s, (const CUpti_ActivityMemory4 *)rec);
            break;
        case CUPTI_ACTIVITY_KIND_OVERHEAD: {
            const CUpti_ActivityOverhead3 *o = (const CUpti_ActivityOverhead3 *)rec;
            s->counts.overhead++;
            if (o->end > o->start) s->counts.overhead_ns += o->end - o->start;
            break;
        }
        case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION:
            external_record(s, (const CUpti_ActivityExternalCorrelation *)rec);
            break;
        case CUPTI_ACTIVITY_KIND_RUNTIME:
        case CUPTI_ACTIVITY_KIND_DRIVER:
        case CUPTI_ACTIVITY_KIND_INTERNAL_LAUNCH_API:
            s->counts.api++;
            break;
        default:
            s->counts.other_kinds++;
            break;
        }
    }
    /* anything but the normal end (MAX_LIMIT_REACHED) leaves records unread:
     * a truncated or unknown record; count the rest of the buffer as one */
    if (st != CUPTI_ERROR_MAX_LIMIT_REACHED) s->counts.lost++;
    return n;
}

void cupti_records_end(cupti_rec_state *s, const ops_profile_sink *sink)
{
    for (size_t i = 0; i < s->n_kernels; i++) {
        const cupti_kernel_rec *k = &s->kernels[i];
        int p = map_get(s, k->correlation_id);
        if (!p) s->counts.unknown_phase++;
        ops_phase phase = p ? (ops_phase)(p - 1) : OPS_PHASE_OTHER;
        if (sink && sink->kernel) sink->kernel(sink->user, phase, k->name, k->start_ns, k->end_ns);
    }
    for (size_t i = 0; i < s->n_transfers; i++) {
        const cupti_transfer_rec *t = &s->transfers[i];
        if (sink && sink->transfer) sink->transfer(sink->user, t->is_memset, t->bytes, t->start_ns, t->end_ns);
    }
    s->n_kernels = 0;
    s->n_transfers = 0;
    map_clear(s);
    s->window = 0;
}
