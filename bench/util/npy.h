/* bench/util/npy.h — writing NumPy .npy files (format 1.0, little-endian), each
 * through a temporary file and rename so none is ever half-written. */
#ifndef ACCUMBENCH_NPY_H
#define ACCUMBENCH_NPY_H

#include <stddef.h>

/* descr: "<f4" or "<i8"; returns 0 or -1 with errno set */
int npy_write(const char *path, const char *descr, const void *data, size_t elem_bytes, const int *shape, int ndim);
/* writes text to path via temporary + rename */
int file_write_atomic(const char *path, const char *text, size_t len);

#endif
