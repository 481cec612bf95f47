/* bench/util/strmap.c — see strmap.h. */
#include "strmap.h"
#include "hash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void strmap_init(strmap *m) { memset(m, 0, sizeof *m); }

void strmap_free(strmap *m)
{
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}

static size_t slot(const strmap *m, const char *key)
{
    size_t i = (size_t)hash_fnv1a(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key)) i = (i + 1) & (m->cap - 1);
    return i;
}

int strmap_get(const strmap *m, const char *key, size_t *value)
{
    if (!m->cap) return 0;
    size_t i = slot(m, key);
    if (!m->keys[i]) return 0;
    if (value) *value = m->values[i];
    return 1;
}

static int grow(strmap *m)
{
    size_t cap = m->cap ? 2 * m->cap : 64;
    strmap g = {calloc(cap, sizeof(char *)), calloc(cap, sizeof(size_t)), cap, m->n};
    if (!g.keys || !g.values) {
        free(g.keys);
        free(g.values);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = slot(&g, m->keys[i]);
        g.keys[j] = m->keys[i];
        g.values[j] = m->values[i];
    }
    free(m->keys);
    free(m->values);
    *m = g;
    return 0;
}

int strmap_put(strmap *m, const char *key, size_t value)
{
    if (2 * (m->n + 1) > m->cap && grow(m)) return -1;
    size_t i = slot(m, key);
    if (!m->keys[i]) {
        size_t len = strlen(key) + 1;
        m->keys[i] = malloc(len);
        if (!m->keys[i]) return -1;
        memcpy(m->keys[i], key, len);
        m->n++;
    }
    m->values[i] = value;
    return 0;
}
