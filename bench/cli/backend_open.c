/* bench/cli/backend_open.c — see backend_open.h. */
#include "backend_open.h"
#include "cli.h"

#include <stdio.h>


int backend_open(ops_backend *b, const run_config *c)
{
    char why[256];
    ops_status st = ops_open(b, c->backend, why, sizeof why);
    if (st != OPS_OK) {
        cli_error("--backend: %s cannot be used: %s", c->backend, why[0] ? why : ops_last_error());
        return CLI_EXIT_USAGE;
    }
    /* ops_open leaves a reason only when auto fell back from the GPU */
    if (why[0]) fprintf(stderr, "accumbench: note: running on the %s backend (%s)\n", b->i->name, why);
    if (c->math_tf32 && !b->i->set_math)
        fprintf(stderr, "accumbench: note: --math tf32 has no effect on the %s backend (always fp32)\n",
                b->i->name);
    /* the allocator is fixed before the first allocation: a device pool
     * where the backend has one, else its one reservation */
    ops_allocator want = c->allocator;
    if (want == OPS_ALLOCATOR_POOL && !b->i->pool_alloc) {
        fprintf(stderr, "accumbench: note: --allocator pool has no effect on the %s backend (one reservation)\n",
                b->i->name);
        want = OPS_ALLOCATOR_DEFAULT;
    }
    if (want == OPS_ALLOCATOR_DEFAULT) want = b->i->pool_alloc ? OPS_ALLOCATOR_POOL : OPS_ALLOCATOR_ARENA;
    if (ops_set_allocator(b, want) != OPS_OK) {
        cli_error("--allocator: %s", ops_last_error());
        ops_close(b);
        return CLI_EXIT_USAGE;
    }
    if (c->conv_algo_find && !ops_can_find_conv(b))
        fprintf(stderr, "accumbench: note: --conv-algo find has no effect on the %s backend (one algorithm)\n",
                b->i->name);
    return 0;
}

void backend_oom_message(const ops_backend *b, char *buf, size_t n)
{
    const ops_arena *a = &b->arena;
    if (a->reserve_failed) snprintf(buf, n, "out of memory: could not reserve %zu bytes", a->failed_request_bytes);
    else
        snprintf(buf, n, "out of memory: asked %zu bytes with %zu in use (cap %zu)", a->failed_request_bytes,
                 a->failed_live_bytes, a->cap_bytes);
}

int backend_fail(ops_backend *b, ops_status st, const char *during)
{
    if (st == OPS_ERR_OOM) {
        char msg[256];
        backend_oom_message(b, msg, sizeof msg);
        cli_error("%s %s", msg, during);
        return CLI_EXIT_OOM;
    }
    cli_error("backend error %s: %s", during, ops_last_error()[0] ? ops_last_error() : "unknown");
    return CLI_EXIT_CHECK;
}
