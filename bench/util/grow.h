/* bench/util/grow.h — the one doubling array of bench/: room for one more
 * element, so every list that grows by appending (kernel stats, step
 * samples, plan points, a configuration's steps) grows the same way. */
#ifndef ACCUMBENCH_GROW_H
#define ACCUMBENCH_GROW_H

#include <stdlib.h>

/* v (n used of *cap elements of elem bytes) with room for n + 1: v itself
 * when it has it, else the array moved to twice the capacity (first when
 * empty). NULL when memory is short: v is then unchanged and still owned. */
static inline void *grow_for_one(void *v, size_t n, size_t *cap, size_t elem, size_t first)
{
    if (n < *cap) return v;
    size_t c = *cap ? 2 * *cap : first;
    void *nv = realloc(v, c * elem);
    if (nv) *cap = c;
    return nv;
}

#endif
