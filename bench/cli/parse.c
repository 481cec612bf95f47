/* bench/cli/parse.c — strict number and size parsing: the whole string must be
 * consumed, ranges are checked, overflow is an error, never a wrap. */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int parse_int(const char *s, long lo, long hi, long *out, char *why, size_t why_len)
{
    char *end;
    errno = 0;
    long v = (*s && !isspace((unsigned char)*s)) ? strtol(s, &end, 10) : 0;
    if (!*s || isspace((unsigned char)*s) || *end || errno || v < lo || v > hi) {
        snprintf(why, why_len, "must be an integer in %ld..%ld (got '%s')", lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int parse_u64(const char *s, uint64_t *out, char *why, size_t why_len)
{
    char *end;
    errno = 0;
    unsigned long long v = isdigit((unsigned char)*s) ? strtoull(s, &end, 10) : 0;
    if (!isdigit((unsigned char)*s) || *end || errno) {
        snprintf(why, why_len, "must be a non-negative integer below 2^64 (got '%s')", s);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

static int parse_double_range(const char *s, double lo, int lo_closed, double hi, double *out, char *why,
                              size_t why_len)
{
    char *end;
    errno = 0;
    double v = (*s && !isspace((unsigned char)*s)) ? strtod(s, &end) : NAN;
    int above_lo = lo_closed ? v >= lo : v > lo;
    if (!*s || isspace((unsigned char)*s) || *end || errno || !isfinite(v) || !above_lo || v > hi) {
        snprintf(why, why_len, "must be a number %s %g and <= %g (got '%s')", lo_closed ? ">=" : ">", lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int parse_double(const char *s, double lo, double hi, double *out, char *why, size_t why_len)
{
    return parse_double_range(s, lo, 0, hi, out, why, why_len);
}

int parse_double_closed(const char *s, double lo, double hi, double *out, char *why, size_t why_len)
{
    return parse_double_range(s, lo, 1, hi, out, why, why_len);
}

int parse_fraction(const char *s, double lo, double hi, double *out, char *why, size_t why_len)
{
    size_t n = strlen(s);
    char buf[64];
    double v = 0;
    char inner[128];
    /* a string too long for buf is rejected, never cut short: the cut would
     * drop its trailing text and accept it */
    int ok = n < sizeof buf, percent = 0;
    if (ok) {
        memcpy(buf, s, n + 1);
        percent = n > 0 && buf[n - 1] == '%';
        if (percent) buf[n - 1] = '\0';
        ok = parse_double(buf, percent ? lo * 100 : lo, percent ? hi * 100 : hi, &v, inner, sizeof inner) == 0;
    }
    if (!ok) {
        snprintf(why, why_len, "must be a fraction > %g and <= %g, or a percentage like 5%% (got '%s')", lo, hi, s);
        return -1;
    }
    *out = percent ? v / 100.0 : v;
    return 0;
}

int parse_size(const char *s, uint64_t *out, char *why, size_t why_len)
{
    static const struct { const char *suffix; double mult; } units[] = {
        {"", 1.0},
        {"K", 1024.0}, {"M", 1048576.0}, {"G", 1073741824.0}, {"T", 1099511627776.0},
        {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
        {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
    };
    const char *p = s;
    while (isdigit((unsigned char)*p)) p++;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) p++;
    }
    size_t digits = (size_t)(p - s);
    double v = NAN;
    if (digits && isdigit((unsigned char)s[0])) {
        char num[64];
        if (digits < sizeof num) {
            memcpy(num, s, digits);
            num[digits] = '\0';
            v = strtod(num, NULL);
        }
    }
    /* plain integers exactly, beyond double's 53 bits */
    if (digits && !*p && !strchr(s, '.') && parse_u64(s, out, why, why_len) == 0 && *out > 0) return 0;
    for (size_t i = 0; isfinite(v) && i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].suffix) != 0) continue;
        double bytes = floor(v * units[i].mult);
        if (bytes >= 1.0 && bytes < 18446744073709551616.0) {
            *out = (uint64_t)bytes;
            return 0;
        }
        break;
    }
    snprintf(why, why_len, "must be a size > 0: bytes, or a number with K/M/G/T, KiB/MiB/GiB/TiB "
             "(powers of 1024) or KB/MB/GB/TB (powers of 1000) (got '%s')", s);
    return -1;
}
