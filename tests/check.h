/* tests/check.h — minimal assertions for the C tests: each failed check
 * prints where and what, the test's main returns check_failures != 0. */
#ifndef ACCUMBENCH_CHECK_H
#define ACCUMBENCH_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_failures;

#define CHECK(cond, ...)                                                         \
    do {                                                                         \
        if (!(cond)) {                                                           \
            check_failures++;                                                    \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
        }                                                                        \
    } while (0)

/* |got - want| <= atol + rtol * |want| (llm.c dev/cuda/common.h) */
#define CHECK_CLOSE(got, want, atol, rtol, what)                                  \
    CHECK(fabs((double)(got) - (double)(want)) <= (atol) + (rtol) * fabs((double)(want)), \
          "%s: got %.9g want %.9g", (what), (double)(got), (double)(want))

#define CHECK_DONE() (check_failures ? (fprintf(stderr, "%d check(s) failed\n", check_failures), 1) : 0)

#endif
