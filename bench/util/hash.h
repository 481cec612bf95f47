/* bench/util/hash.h — FNV-1a 64 (Fowler, Noll, Vo): the string hash of
 * bench/, for hash maps and for a configuration's stable id. Changing it
 * changes every fragment id, so sweeps made before could not be resumed. */
#ifndef ACCUMBENCH_HASH_H
#define ACCUMBENCH_HASH_H

#include <stdint.h>

static inline uint64_t hash_fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;        /* offset basis */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

#endif
