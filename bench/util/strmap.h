/* bench/util/strmap.h — a string → index hash map (open addressing, FNV-1a,
 * linear probing, grown at half full). Keys are copied. */
#ifndef ACCUMBENCH_STRMAP_H
#define ACCUMBENCH_STRMAP_H

#include <stddef.h>

typedef struct {
    char **keys;                /* NULL: empty slot */
    size_t *values;
    size_t cap, n;
} strmap;

void strmap_init(strmap *m);
void strmap_free(strmap *m);
/* 1 found (*value set), 0 not */
int strmap_get(const strmap *m, const char *key, size_t *value);
/* inserts or replaces; 0 ok, -1 out of memory */
int strmap_put(strmap *m, const char *key, size_t value);

#endif
