/* bench/cli/backend_open.c — see backend_open.h. */
#include "backend_open.h"
#include "cli.h"


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
    if (c->conv_algo_find && !ops_can_find_conv(b))
        fprintf(stderr, "accumbench: note: --conv-algo find has no effect on the %s backend (one algorithm)\n",
                b->i->name);
    return 0;
}

int backend_fail(ops_backend *b, ops_status st, const char *during)
{
    const ops_arena *a = &b->arena;
    if (st == OPS_ERR_OOM) {
        if (a->reserve_failed)
            cli_error("out of memory %s: could not reserve %zu bytes", during, a->failed_request_bytes);
        else
            cli_error("out of memory %s: asked %zu bytes with %zu in use (cap %zu bytes)", during,
                      a->failed_request_bytes, a->failed_live_bytes, a->cap_bytes);
        return CLI_EXIT_OOM;
    }
    cli_error("backend error %s: %s", during, ops_last_error()[0] ? ops_last_error() : "unknown");
    return CLI_EXIT_CHECK;
}
