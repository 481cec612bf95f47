/* tests/test_engine.h — an engine on the CPU backend for the engine tests
 * (test_strategies, test_recompute): opened and prepared with a CHECK that
 * names the step that failed, so a setup failure reads as one. */
#ifndef ACCUMBENCH_TESTS_ENGINE_H
#define ACCUMBENCH_TESTS_ENGINE_H

#include "check.h"
#include "engine.h"

static inline const char *status_text(ops_status st)
{
    return st == OPS_ERR_OOM ? "out of memory" : st == OPS_ERR_INVALID ? "invalid arguments" : ops_last_error();
}

/* Opens the CPU backend and an engine for c prepared for strategy s; 0 ok,
 * else -1 after a failed CHECK naming the step and its status. On failure
 * nothing is left open. */
static inline int open_prepared(const run_config *c, strategy_kind s, ops_backend *b, engine *e, const char *what)
{
    char why[256];
    ops_status st = ops_open(b, "cpu", why, sizeof why);
    if (st != OPS_OK) {
        CHECK(0, "%s: ops_open(cpu) failed: %s", what, why);
        return -1;
    }
    st = engine_open(e, c, b);
    if (st == OPS_OK) st = engine_prepare(e, &s, 1);
    if (st != OPS_OK) {
        CHECK(0, "%s: engine setup failed: %s", what, status_text(st));
        engine_close(e);
        ops_close(b);
        return -1;
    }
    return 0;
}

#endif
