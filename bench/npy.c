/* bench/npy.c — see npy.h. The header is the magic, version 1.0, a
 * little-endian u16 header length and a Python dict literal padded with
 * spaces so the data starts on a 64-byte boundary (NumPy's NEP 1). */
#include "npy.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int write_all_then_rename(const char *path, const void *head, size_t head_len, const void *body,
                                 size_t body_len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -1;
    FILE *f = fopen(tmp, "wb");
    if (!f) return -1;
    int ok = fwrite(head, 1, head_len, f) == head_len && (body_len == 0 || fwrite(body, 1, body_len, f) == body_len);
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int file_write_atomic(const char *path, const char *text, size_t len)
{
    return write_all_then_rename(path, text, len, NULL, 0);
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
    return write_all_then_rename(path, head, padded, data, count * elem_bytes);
}
