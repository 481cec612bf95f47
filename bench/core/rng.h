/* bench/core/rng.h — deterministic seeded random numbers (splitmix64), so every
 * backend, strategy and split sees identical weights and data. */
#ifndef ACCUMBENCH_RNG_H
#define ACCUMBENCH_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct { uint64_t state; } rng;

static inline void rng_seed(rng *r, uint64_t seed) { r->state = seed; }

static inline uint64_t rng_next(rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [0, 1) with 24 random bits: exactly representable floats */
static inline float rng_unit(rng *r) { return (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f); }

static inline float rng_uniform(rng *r, float lo, float hi) { return lo + (hi - lo) * rng_unit(r); }

/* standard normal by Box-Muller (one value per call; simplicity over speed) */
static inline float rng_normal(rng *r)
{
    double u1 = ((double)(rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

#endif
