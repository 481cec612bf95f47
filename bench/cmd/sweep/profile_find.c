/* bench/cmd/sweep/profile_find.c — a profile named on the command line found on
 * disk (profile.h's profile_resolve). Apart from profile.c, which parses
 * text and touches no files but the one it is given. */
#include "profile.h"
#include "proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* ARG is a path: name = its file name without ".profile" */
static int as_path(const char *arg, char *path, size_t path_len, char *name, size_t name_len)
{
    const char *base = strrchr(arg, '/') ? strrchr(arg, '/') + 1 : arg;
    size_t bl = strlen(base);
    if (bl > 8 && !strcmp(base + bl - 8, ".profile")) bl -= 8;
    snprintf(name, name_len, "%.*s", (int)bl, base);
    snprintf(path, path_len, "%s", arg);
    return 0;
}

int profile_resolve(const char *arg, char *path, size_t path_len, char *name, size_t name_len, char *err,
                    size_t err_len)
{
    size_t len = strlen(arg);
    if (strchr(arg, '/') || (len > 8 && !strcmp(arg + len - 8, ".profile")) || is_file(arg))
        return as_path(arg, path, path_len, name, name_len);
    if (!*arg) {
        snprintf(err, err_len, "--profile: needs a profile name or file");
        return -1;
    }
    char dirs[4][4096], exe_dir[4096];
    int n_dirs = 0;
    const char *env = getenv("ACCUMBENCH_PROFILES");
    if (env && *env) snprintf(dirs[n_dirs++], sizeof dirs[0], "%s", env);
    if (proc_exe_dir(exe_dir, sizeof exe_dir) == 0)
        snprintf(dirs[n_dirs++], sizeof dirs[0], "%.4000s/../profiles", exe_dir);
    /* the source tree the binary was built from, for build dirs elsewhere */
    snprintf(dirs[n_dirs++], sizeof dirs[0], "%s/profiles", ACCUMBENCH_SOURCE_DIR);
    snprintf(dirs[n_dirs++], sizeof dirs[0], "profiles");
    char tried[4 * 4200];
    size_t t = 0;
    tried[0] = '\0';
    for (int i = 0; i < n_dirs; i++) {
        snprintf(path, path_len, "%s/%s.profile", dirs[i], arg);
        if (is_file(path)) {
            snprintf(name, name_len, "%s", arg);
            return 0;
        }
        t += (size_t)snprintf(tried + t, sizeof tried - t, "%s%s", i ? ", " : "", dirs[i]);
    }
    snprintf(err, err_len, "--profile: no profile named '%s' (looked for %s.profile in %s)", arg, arg, tried);
    return -1;
}
