/* bench/util/files.h — directories and atomic file writes: every results file is
 * written to a temporary name, flushed, fsynced and renamed, so a reader sees
 * either the old file or the whole new one. */
#ifndef ACCUMBENCH_FILES_H
#define ACCUMBENCH_FILES_H

#include <stdio.h>

/* mkdir -p; 0 ok, -1 with errno set (ENOTDIR when a component is a file) */
int files_mkdir_p(const char *dir);
/* Calls write(f, user) on PATH.tmp, then renames it to PATH. write returns 0
 * on success; 0 ok, -1 on any failure (the temporary is removed). */
int files_write_atomic(const char *path, int (*write)(FILE *f, void *user), void *user);

#endif
