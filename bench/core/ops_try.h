/* bench/core/ops_try.h — the two helpers the core's calls into ops.h share
 * (model.c, engine.c): TRY returns the first failed ops_status to the caller,
 * so an OOM travels up as a value (exit 3 in the command), never an abort;
 * alloc_floats takes n floats from the backend's tracked sub-allocator. */
#ifndef ACCUMBENCH_OPS_TRY_H
#define ACCUMBENCH_OPS_TRY_H

#include "ops.h"

#define TRY(x) do { ops_status st_ = (x); if (st_ != OPS_OK) return st_; } while (0)

static inline ops_status alloc_floats(ops_backend *b, size_t n, float **out)
{
    return ops_alloc(b, n * sizeof(float), (void **)out);
}

#endif
