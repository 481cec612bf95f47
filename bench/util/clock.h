/* bench/util/clock.h — the one monotonic clock of bench/ (nanoseconds as a
 * double: 2^53 ns is 104 days, so no precision is lost in a run). It lives in
 * util, the lowest layer, because proc's timeouts need it as much as the
 * measurement layer does. */
#ifndef ACCUMBENCH_CLOCK_H
#define ACCUMBENCH_CLOCK_H

#include <time.h>

static inline double clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#endif
