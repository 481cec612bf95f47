/* bench/cmd/sweep/peer.c — the Python that runs engine torch: $ACCUMBENCH_PYTHON,
 * else the first of /usr/bin/python3 and python3 on the PATH that imports
 * torch and numpy (Debian's torch is /usr/bin/python3's; a pyenv or venv
 * python3 first on the PATH often has none). Checked once, before any run:
 * without one the sweep is bad input (exit 2), not a row of errors. */
#include "sweep.h"
#include "proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* `import torch` takes seconds; one that takes minutes is not usable */
#define PROBE_TIMEOUT_S 120.0

/* Whether py imports torch and numpy: 0 yes; else -1 with why (the
 * ImportError's text, or the exit status) in why. */
static int python_has_torch(const char *py, char *why, size_t len)
{
    char flag[] = "-c",
         probe[] = "import sys\n"
                   "try:\n"
                   "    import torch, numpy\n"
                   "except Exception as e:\n"
                   "    print(type(e).__name__ + ': ' + str(e)); sys.exit(1)\n";
    char *argv[] = {(char *)py, flag, probe, NULL};
    proc_output r;
    if (proc_capture(argv, PROBE_TIMEOUT_S, &r) != 0) {
        snprintf(why, len, "cannot run it");
        return -1;
    }
    int rc = r.exit_code;
    r.out[strcspn(r.out, "\r\n")] = '\0';
    if (rc == 0) snprintf(why, len, "ok");
    else if (r.timed_out) snprintf(why, len, "no answer within %g s", PROBE_TIMEOUT_S);
    else if (r.out[0]) snprintf(why, len, "%.300s", r.out);
    else if (rc < 0 || rc == 127) snprintf(why, len, "cannot run it");
    else snprintf(why, len, "exit %d", rc);
    proc_output_free(&r);
    return rc == 0 ? 0 : -1;
}

int sweep_peer_python(sweep *s, char *err, size_t err_len)
{
    const char *env = getenv("ACCUMBENCH_PYTHON");
    char why[400];
    if (env && *env) {
        if (python_has_torch(env, why, sizeof why) == 0) {
            snprintf(s->python, sizeof s->python, "%s", env);
            return 0;
        }
        snprintf(err, err_len,
                 "sweep: engine torch: ACCUMBENCH_PYTHON=%.1000s cannot import torch and numpy (%s); set "
                 "ACCUMBENCH_PYTHON to a Python that can, or unset it to use /usr/bin/python3 or python3",
                 env, why);
        return -1;
    }
    static const char *const candidates[] = {"/usr/bin/python3", "python3"};
    char whys[2][400];
    for (int i = 0; i < 2; i++)
        if (python_has_torch(candidates[i], whys[i], sizeof whys[i]) == 0) {
            snprintf(s->python, sizeof s->python, "%s", candidates[i]);
            return 0;
        }
    snprintf(err, err_len,
             "sweep: engine torch needs a Python that imports torch and numpy: /usr/bin/python3 (%s) and python3 "
             "on the PATH (%s) cannot; set ACCUMBENCH_PYTHON to one that can (scripts/deps.sh installs Debian's)",
             whys[0], whys[1]);
    return -1;
}
