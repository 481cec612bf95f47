/* tests/fuzz/fuzz_parse.c — bench/cli/parse.c, the strict number and size
 * parsers behind every flag and profile value. The input is one string
 * (inputs holding a NUL are skipped: the parsers take C strings). Beyond
 * "no crash", each accepted value must satisfy its contract: in range,
 * finite, the whole string consumed (checked against strtol/strtod/strtoull
 * on the same text), and a rejected one must leave a reason that quotes it. */
#include "fuzz.h"
#include "parse.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* strtod over the whole of s: 0 and *v, or -1 when it stops early or fails */
static int whole_strtod(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && !*end ? 0 : -1;
}

static void check_reason(int rc, const char *why, const char *s)
{
    if (rc == 0) return;
    FUZZ_CHECK(why[0] != '\0', "rejected '%s' without a reason", s);
    /* the reason quotes the input when it fits in the buffer */
    if (strlen(s) < 64) FUZZ_CHECK(strstr(why, s) != NULL, "reason '%s' does not quote '%s'", why, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstring(data, size);
    if (!s) return 0;
    char why[512], tiny[8];
    int rc;

    static const long ranges[][2] = {{1, 64}, {0, 100000}, {LONG_MIN, LONG_MAX}, {-5, 5}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        long v = 12345;
        why[0] = '\0';
        rc = parse_int(s, ranges[i][0], ranges[i][1], &v, why, sizeof why);
        check_reason(rc, why, s);
        if (rc == 0) {
            FUZZ_CHECK(v >= ranges[i][0] && v <= ranges[i][1], "parse_int('%s') = %ld out of range", s, v);
            char *end;
            errno = 0;
            long ref = strtol(s, &end, 10);
            FUZZ_CHECK(!*end && !errno && ref == v, "parse_int('%s') = %ld, strtol says %ld", s, v, ref);
        }
    }
    /* a reason cut to a tiny buffer is still a terminated string */
    rc = parse_int(s, 1, 64, &(long){0}, tiny, sizeof tiny);
    if (rc) FUZZ_CHECK(memchr(tiny, '\0', sizeof tiny) != NULL, "reason not terminated");

    uint64_t u = 0;
    why[0] = '\0';
    rc = parse_u64(s, &u, why, sizeof why);
    check_reason(rc, why, s);
    if (rc == 0) {
        FUZZ_CHECK(s[0] >= '0' && s[0] <= '9', "parse_u64 accepted '%s'", s);
        char *end;
        errno = 0;
        unsigned long long ref = strtoull(s, &end, 10);
        FUZZ_CHECK(!*end && !errno && ref == u, "parse_u64('%s') = %llu", s, (unsigned long long)u);
    }

    double d = 0, ref;
    why[0] = '\0';
    rc = parse_double(s, 0.0, 1e7, &d, why, sizeof why);
    check_reason(rc, why, s);
    if (rc == 0) {
        FUZZ_CHECK(isfinite(d) && d > 0.0 && d <= 1e7, "parse_double('%s') = %g out of (0, 1e7]", s, d);
        FUZZ_CHECK(whole_strtod(s, &ref) == 0 && ref == d, "parse_double('%s') = %g, strtod disagrees", s, d);
    }

    why[0] = '\0';
    rc = parse_fraction(s, 0.0, 1.0, &d, why, sizeof why);
    check_reason(rc, why, s);
    if (rc == 0) {
        FUZZ_CHECK(isfinite(d) && d > 0.0 && d <= 1.0, "parse_fraction('%s') = %g out of (0, 1]", s, d);
        /* the whole string is the number, or the number and one '%' */
        size_t n = strlen(s);
        char *num = strdup(s);
        if (!num) abort();
        int percent = n > 0 && num[n - 1] == '%';
        if (percent) num[n - 1] = '\0';
        int whole = whole_strtod(num, &ref) == 0;
        FUZZ_CHECK(whole, "parse_fraction accepted '%s' (trailing text)", s);
        FUZZ_CHECK(d == (percent ? ref / 100.0 : ref), "parse_fraction('%s') = %g", s, d);
        free(num);
    }

    why[0] = '\0';
    rc = parse_size(s, &u, why, sizeof why);
    check_reason(rc, why, s);
    if (rc == 0) {
        FUZZ_CHECK(u > 0, "parse_size('%s') = 0", s);
        FUZZ_CHECK(s[0] >= '0' && s[0] <= '9', "parse_size accepted '%s' (not a digit first)", s);
        /* a plain integer is exact */
        if (strspn(s, "0123456789") == strlen(s))
            FUZZ_CHECK(u == strtoull(s, NULL, 10), "parse_size('%s') = %llu inexact", s, (unsigned long long)u);
    }
    free(s);
    return 0;
}
