/* kernels/cuda/cuda_nvml.c — device state through NVML, loaded at run time
 * with dlopen("libnvidia-ml.so.1") (the driver ships it; nothing to link).
 *
 * The CUDA 13 toolkit here has no nvml.h, so the few functions and constants
 * used are declared below from the NVML API reference (docs.nvidia.com/deploy/
 * nvml-api, "Device Queries" and "Initialization and Cleanup"; nvml.h of the
 * nvidia-nvml-dev 13.x wheel). When CMake finds an nvml.h
 * (ACCUMBENCH_NVML_HEADER), these declarations are checked against it at
 * compile time: constants by _Static_assert, signatures by _Generic.
 *
 * The CUDA device is matched to its NVML device by PCI bus id, so
 * CUDA_VISIBLE_DEVICES renumbering does not matter. */
#define _POSIX_C_SOURCE 200809L /* dlopen, getpid */
#include "cuda_internal.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// ----------------------------------------------------------------------------
// declarations (NVML API reference; values as in nvml.h)

#ifdef ACCUMBENCH_NVML_HEADER
#include <nvml.h>
typedef nvmlReturn_t ab_nvml_return;
typedef nvmlDevice_t ab_nvml_device;
typedef nvmlClockType_t ab_nvml_clock_type;
typedef nvmlTemperatureSensors_t ab_nvml_temp_sensor;
typedef nvmlProcessInfo_t ab_nvml_process_info;
#else
typedef int ab_nvml_return;                 /* nvmlReturn_t: a C enum, int-sized */
typedef struct nvmlDevice_st *ab_nvml_device;
typedef int ab_nvml_clock_type;             /* nvmlClockType_t */
typedef int ab_nvml_temp_sensor;            /* nvmlTemperatureSensors_t */
typedef struct {                            /* nvmlProcessInfo_t (= nvmlProcessInfo_v2_t) */
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} ab_nvml_process_info;
#endif

#define AB_NVML_SUCCESS 0                   /* nvmlReturn_t */
#define AB_NVML_ERROR_INSUFFICIENT_SIZE 7
#define AB_NVML_CLOCK_SM 1                  /* nvmlClockType_t */
#define AB_NVML_TEMPERATURE_GPU 0           /* nvmlTemperatureSensors_t */
#define AB_NVML_CLOCKS_EVENT_REASON_GPU_IDLE 0x0000000000000001ULL   /* nvmlClocksEventReasonGpuIdle */

/* nvmlInit_v2, nvmlShutdown */
typedef ab_nvml_return (*ab_nvml_init_fn)(void);
/* nvmlErrorString */
typedef const char *(*ab_nvml_error_string_fn)(ab_nvml_return);
/* nvmlSystemGetDriverVersion */
typedef ab_nvml_return (*ab_nvml_driver_version_fn)(char *, unsigned int);
/* nvmlDeviceGetHandleByPciBusId_v2 */
typedef ab_nvml_return (*ab_nvml_handle_by_pci_fn)(const char *, ab_nvml_device *);
/* nvmlDeviceGetClockInfo, nvmlDeviceGetMaxClockInfo (MHz) */
typedef ab_nvml_return (*ab_nvml_clock_fn)(ab_nvml_device, ab_nvml_clock_type, unsigned int *);
/* nvmlDeviceGetTemperature (degrees C) */
typedef ab_nvml_return (*ab_nvml_temperature_fn)(ab_nvml_device, ab_nvml_temp_sensor, unsigned int *);
/* nvmlDeviceGetPowerUsage (mW) */
typedef ab_nvml_return (*ab_nvml_power_fn)(ab_nvml_device, unsigned int *);
/* nvmlDeviceGetCurrentClocksEventReasons (bit mask) */
typedef ab_nvml_return (*ab_nvml_reasons_fn)(ab_nvml_device, unsigned long long *);
/* nvmlDeviceGetComputeRunningProcesses_v3 */
typedef ab_nvml_return (*ab_nvml_processes_fn)(ab_nvml_device, unsigned int *, ab_nvml_process_info *);

#ifdef ACCUMBENCH_NVML_HEADER
_Static_assert(AB_NVML_SUCCESS == NVML_SUCCESS && AB_NVML_ERROR_INSUFFICIENT_SIZE == NVML_ERROR_INSUFFICIENT_SIZE &&
                   AB_NVML_CLOCK_SM == NVML_CLOCK_SM && AB_NVML_TEMPERATURE_GPU == NVML_TEMPERATURE_GPU &&
                   AB_NVML_CLOCKS_EVENT_REASON_GPU_IDLE == nvmlClocksEventReasonGpuIdle,
               "NVML constants differ from nvml.h");
#define AB_SIG(fn, type) _Static_assert(_Generic(fn, type: 1, default: 0), #fn ": signature differs from nvml.h")
AB_SIG(nvmlInit_v2, ab_nvml_init_fn);
AB_SIG(nvmlShutdown, ab_nvml_init_fn);
AB_SIG(nvmlErrorString, ab_nvml_error_string_fn);
AB_SIG(nvmlSystemGetDriverVersion, ab_nvml_driver_version_fn);
AB_SIG(nvmlDeviceGetHandleByPciBusId_v2, ab_nvml_handle_by_pci_fn);
AB_SIG(nvmlDeviceGetClockInfo, ab_nvml_clock_fn);
AB_SIG(nvmlDeviceGetMaxClockInfo, ab_nvml_clock_fn);
AB_SIG(nvmlDeviceGetPowerUsage, ab_nvml_power_fn);
AB_SIG(nvmlDeviceGetCurrentClocksEventReasons, ab_nvml_reasons_fn);
AB_SIG(nvmlDeviceGetComputeRunningProcesses_v3, ab_nvml_processes_fn);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
AB_SIG(nvmlDeviceGetTemperature, ab_nvml_temperature_fn);
AB_SIG(nvmlDeviceGetCurrentClocksThrottleReasons, ab_nvml_reasons_fn);
#pragma GCC diagnostic pop
#undef AB_SIG
#endif

// ----------------------------------------------------------------------------
// loading

struct cuda_nvml {
    void *lib;
    int initialised;
    ab_nvml_device dev;
    ab_nvml_init_fn shutdown;
    ab_nvml_error_string_fn error_string;
    ab_nvml_clock_fn clock, max_clock;
    ab_nvml_temperature_fn temperature;
    ab_nvml_power_fn power;
    ab_nvml_reasons_fn reasons;
    ab_nvml_processes_fn processes;
    char why[128];                          /* why unusable; empty when usable */
};

#define NVML_LIB "libnvidia-ml.so.1"

/* dlsym into a function pointer: POSIX guarantees the object/function
 * pointer conversion dlsym relies on; memcpy keeps -pedantic quiet */
static int load_sym(void *lib, const char *name, void *fn_ptr, size_t fn_size)
{
    void *sym = dlsym(lib, name);
    if (!sym) return 0;
    memcpy(fn_ptr, &sym, fn_size);
    return 1;
}
#define LOAD(lib, name, dst) load_sym((lib), (name), &(dst), sizeof(dst))

static const char *nvml_error(const cuda_nvml *n, ab_nvml_return r)
{
    const char *s = n->error_string ? n->error_string(r) : NULL;
    return s ? s : "unknown NVML error";
}

/* dlopen + nvmlInit_v2; on failure n->why says why and nothing stays open */
static int nvml_load(cuda_nvml *n)
{
    dlerror();
    n->lib = dlopen(NVML_LIB, RTLD_NOW | RTLD_LOCAL);
    if (!n->lib) {
        const char *e = dlerror();
        snprintf(n->why, sizeof n->why, "NVML unavailable: %s", e ? e : "dlopen(" NVML_LIB ") failed");
        return 0;
    }
    ab_nvml_init_fn init = NULL;
    if (!LOAD(n->lib, "nvmlInit_v2", init) || !LOAD(n->lib, "nvmlShutdown", n->shutdown)) {
        snprintf(n->why, sizeof n->why, "NVML unavailable: " NVML_LIB " lacks nvmlInit_v2");
        dlclose(n->lib);
        n->lib = NULL;
        return 0;
    }
    LOAD(n->lib, "nvmlErrorString", n->error_string);
    ab_nvml_return r = init();
    if (r != AB_NVML_SUCCESS) {
        snprintf(n->why, sizeof n->why, "NVML unavailable: nvmlInit_v2: %s (%d)", nvml_error(n, r), (int)r);
        dlclose(n->lib);
        n->lib = NULL;
        return 0;
    }
    n->initialised = 1;
    return 1;
}

static void nvml_unload(cuda_nvml *n)
{
    if (n->initialised && n->shutdown) n->shutdown();
    if (n->lib) dlclose(n->lib);
    n->lib = NULL;
    n->initialised = 0;
}

cuda_nvml *cuda_nvml_open(int cuda_device)
{
    cuda_nvml *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    if (!nvml_load(n)) return n;
    char bus[64];
    cudaError_t e = cudaDeviceGetPCIBusId(bus, (int)sizeof bus, cuda_device);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        snprintf(n->why, sizeof n->why, "NVML unusable: cudaDeviceGetPCIBusId: %s", cudaGetErrorName(e));
        nvml_unload(n);
        return n;
    }
    ab_nvml_handle_by_pci_fn by_pci = NULL;
    if (!LOAD(n->lib, "nvmlDeviceGetHandleByPciBusId_v2", by_pci)) {
        snprintf(n->why, sizeof n->why, "NVML unusable: no nvmlDeviceGetHandleByPciBusId_v2");
        nvml_unload(n);
        return n;
    }
    ab_nvml_return r = by_pci(bus, &n->dev);
    if (r != AB_NVML_SUCCESS) {
        snprintf(n->why, sizeof n->why, "NVML unusable: no NVML device at PCI %s: %s", bus, nvml_error(n, r));
        nvml_unload(n);
        return n;
    }
    LOAD(n->lib, "nvmlDeviceGetClockInfo", n->clock);
    LOAD(n->lib, "nvmlDeviceGetMaxClockInfo", n->max_clock);
    LOAD(n->lib, "nvmlDeviceGetTemperature", n->temperature);
    LOAD(n->lib, "nvmlDeviceGetPowerUsage", n->power);
    /* renamed in R535; the old name stays exported, deprecated */
    if (!LOAD(n->lib, "nvmlDeviceGetCurrentClocksEventReasons", n->reasons))
        LOAD(n->lib, "nvmlDeviceGetCurrentClocksThrottleReasons", n->reasons);
    LOAD(n->lib, "nvmlDeviceGetComputeRunningProcesses_v3", n->processes);
    return n;
}

void cuda_nvml_close(cuda_nvml *n)
{
    if (!n) return;
    nvml_unload(n);
    free(n);
}

// ----------------------------------------------------------------------------
// sampling

/* Appends "what: error" to why (first few only) and leaves the field 0. */
static void note(ops_device_state *s, const cuda_nvml *n, const char *what, ab_nvml_return r)
{
    size_t used = strlen(s->why);
    if (used + 2 >= sizeof s->why) return;
    snprintf(s->why + used, sizeof s->why - used, "%s%s: %s", used ? "; " : "", what, nvml_error(n, r));
}

/* Our own context makes us one of the GPU's compute processes. In a
 * container NVML may report host PIDs, so when our PID is not among them we
 * are taken to be one of the entries all the same. */
#define NVML_MAX_PROCESSES 64

static void count_processes(const cuda_nvml *n, ops_device_state *s)
{
    ab_nvml_process_info infos[NVML_MAX_PROCESSES];
    unsigned count = NVML_MAX_PROCESSES;
    ab_nvml_return r = n->processes(n->dev, &count, infos);
    if (r != AB_NVML_SUCCESS && r != AB_NVML_ERROR_INSUFFICIENT_SIZE) {
        note(s, n, "processes", r);
        return;
    }
    unsigned self = 0, listed = count < NVML_MAX_PROCESSES ? count : NVML_MAX_PROCESSES;
    unsigned pid = (unsigned)getpid();
    for (unsigned i = 0; i < listed; i++) self += infos[i].pid == pid;
    if (r == AB_NVML_ERROR_INSUFFICIENT_SIZE || self == 0) self = count ? 1 : 0;
    s->other_processes = count - self;
}

ops_status cuda_nvml_sample(const cuda_nvml *n, ops_device_state *s)
{
    memset(s, 0, sizeof *s);
    if (!n || !n->initialised) {
        snprintf(s->why, sizeof s->why, "%s", n ? n->why : "NVML unavailable: not opened");
        return OPS_OK;
    }
    ab_nvml_return r;
    if (!n->clock || (r = n->clock(n->dev, AB_NVML_CLOCK_SM, &s->sm_clock_mhz)) != AB_NVML_SUCCESS) {
        snprintf(s->why, sizeof s->why, "NVML: SM clock not readable%s%s", n->clock ? ": " : "",
                 n->clock ? nvml_error(n, r) : "");
        s->sm_clock_mhz = 0;
        return OPS_OK;
    }
    s->valid = 1;
    if (n->max_clock && (r = n->max_clock(n->dev, AB_NVML_CLOCK_SM, &s->sm_clock_max_mhz)) != AB_NVML_SUCCESS)
        note(s, n, "max SM clock", r);
    if (n->temperature &&
        (r = n->temperature(n->dev, AB_NVML_TEMPERATURE_GPU, &s->temperature_c)) != AB_NVML_SUCCESS)
        note(s, n, "temperature", r);
    if (n->power && (r = n->power(n->dev, &s->power_mw)) != AB_NVML_SUCCESS) note(s, n, "power", r);
    if (n->reasons) {
        if ((r = n->reasons(n->dev, &s->throttle_reasons)) != AB_NVML_SUCCESS) note(s, n, "clocks-event reasons", r);
        s->throttle_reasons &= ~AB_NVML_CLOCKS_EVENT_REASON_GPU_IDLE;
    }
    if (n->processes) count_processes(n, s);
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// `accumbench info`

void cuda_nvml_describe(char *out, size_t out_len)
{
    cuda_nvml n;
    memset(&n, 0, sizeof n);
    if (!nvml_load(&n)) {
        snprintf(out, out_len, "%s", n.why);
        return;
    }
    ab_nvml_driver_version_fn version = NULL;
    char v[96] = "";
    if (LOAD(n.lib, "nvmlSystemGetDriverVersion", version) && version(v, (unsigned)sizeof v) == AB_NVML_SUCCESS)
        snprintf(out, out_len, "NVML loads (driver %s)", v);
    else
        snprintf(out, out_len, "NVML loads");
    nvml_unload(&n);
}
