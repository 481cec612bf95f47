/* bench/util/files.c — see files.h. */
#include "files.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int files_mkdir_p(const char *dir)
{
    char path[4096];
    if (!*dir || snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
    struct stat sb;
    if (stat(path, &sb) != 0) return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int keep_first(int ok, int call_ok, int *err)
{
    if (ok && !call_ok) *err = errno;
    return ok && call_ok;
}

int files_write_atomic(const char *path, int (*write)(FILE *f, void *user), void *user)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) return -1;
    /* every call runs (the stream is always closed); errno is the first
     * failure's, which later calls on a failed stream may overwrite (fsync
     * on /dev/full says EINVAL after fflush's ENOSPC) */
    int err = 0;
    errno = 0;
    int ok = write(f, user) == 0;
    if (!ok) err = errno;
    ok = keep_first(ok, fflush(f) == 0, &err);
    ok = keep_first(ok, !ferror(f), &err);
    ok = keep_first(ok, fsync(fileno(f)) == 0, &err);
    ok = keep_first(ok, fclose(f) == 0, &err);
    ok = keep_first(ok, ok && rename(tmp, path) == 0, &err);
    if (!ok) {
        unlink(tmp);
        errno = err ? err : EIO;
        return -1;
    }
    return 0;
}
