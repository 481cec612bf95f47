/* bench/util/npy.c — see npy.h. The header is the magic, version 1.0, a
 * little-endian u16 header length and a Python dict literal padded with
 * spaces so the data starts on a 64-byte boundary (NumPy's NEP 1). */
#include "npy.h"
#include "files.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct { const void *head, *body; size_t head_len, body_len; } blob;

static int write_blob(FILE *f, void *user)
{
    const blob *b = user;
    if (fwrite(b->head, 1, b->head_len, f) != b->head_len) return -1;
    return b->body_len && fwrite(b->body, 1, b->body_len, f) != b->body_len ? -1 : 0;
}

int file_write_atomic(const char *path, const char *text, size_t len)
{
    blob b = {text, NULL, len, 0};
    return files_write_atomic(path, write_blob, &b);
}

int npy_write(const char *path, const char *descr, const void *data, size_t elem_bytes, const int *shape, int ndim)
{
    char dict[256], dims[160] = "";
    size_t count = 1, used = 0;
    for (int i = 0; i < ndim; i++) {
        used += (size_t)snprintf(dims + used, sizeof dims - used, "%d,%s", shape[i], i + 1 < ndim ? " " : "");
        count *= (size_t)shape[i];
    }
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    size_t total = 10 + (size_t)dl + 1;
    size_t padded = (total + 63) / 64 * 64;
    unsigned char head[320];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    uint16_t hlen = (uint16_t)(padded - 10);
    head[8] = (unsigned char)(hlen & 0xff);
    head[9] = (unsigned char)(hlen >> 8);
    memcpy(head + 10, dict, (size_t)dl);
    memset(head + 10 + dl, ' ', padded - 10 - (size_t)dl - 1);
    head[padded - 1] = '\n';
    blob b = {head, data, padded, count * elem_bytes};
    return files_write_atomic(path, write_blob, &b);
}
