/* tests/test_parse.c — the strict number and size parsers: accepted forms
 * give exact values, everything else is rejected with a reason. */
#include "check.h"
#include "parse.h"

#include <string.h>

static void test_sizes(void)
{
    static const struct { const char *s; uint64_t want; } good[] = {
        {"1", 1}, {"4096", 4096}, {"1K", 1024}, {"1KiB", 1024}, {"1KB", 1000}, {"2M", 2097152},
        {"2MiB", 2097152}, {"2MB", 2000000}, {"3G", 3221225472ull}, {"3GiB", 3221225472ull}, {"3GB", 3000000000ull},
        {"1T", 1099511627776ull}, {"1TB", 1000000000000ull}, {"1.5G", 1610612736ull}, {"0.5K", 512},
        {"18446744073709551615", 18446744073709551615ull},
    };
    static const char *bad[] = {"", "0", "-1", "12Q", "K", "1.5.5G", " 1G", "1G ", "1g", "1kb", "0.0001", "1e3",
                                "18446744073709551616", "99999999999T", "0x10", "+5", "1 G", "nan", "inf"};
    char why[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t v = 0;
        int rc = parse_size(good[i].s, &v, why, sizeof why);
        CHECK(rc == 0 && v == good[i].want, "parse_size('%s') = %d, %llu; want %llu", good[i].s, rc,
              (unsigned long long)v, (unsigned long long)good[i].want);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 0;
        why[0] = '\0';
        CHECK(parse_size(bad[i], &v, why, sizeof why) != 0 && strstr(why, bad[i]), "parse_size('%s') accepted or no reason", bad[i]);
    }
}

static void test_ints(void)
{
    char why[256];
    long v;
    CHECK(parse_int("42", 1, 100, &v, why, sizeof why) == 0 && v == 42, "42");
    CHECK(parse_int("1", 1, 100, &v, why, sizeof why) == 0 && v == 1, "lower bound");
    CHECK(parse_int("100", 1, 100, &v, why, sizeof why) == 0 && v == 100, "upper bound");
    static const char *bad[] = {"0", "101", "-5", "4x", "x", "", " 4", "4 ", "99999999999999999999", "1e2", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(parse_int(bad[i], 1, 100, &v, why, sizeof why) != 0 && strstr(why, "1..100"), "parse_int('%s') accepted", bad[i]);
    uint64_t u;
    CHECK(parse_u64("18446744073709551615", &u, why, sizeof why) == 0 && u == 18446744073709551615ull, "u64 max");
    CHECK(parse_u64("-1", &u, why, sizeof why) != 0, "u64 negative");
    CHECK(parse_u64("18446744073709551616", &u, why, sizeof why) != 0, "u64 overflow");
}

static void test_doubles(void)
{
    char why[256];
    double v;
    CHECK(parse_double("0.01", 0, 1, &v, why, sizeof why) == 0 && v == 0.01, "0.01");
    CHECK(parse_double("1", 0, 1, &v, why, sizeof why) == 0 && v == 1.0, "upper bound inclusive");
    static const char *bad[] = {"0", "-1", "1.5", "abc", "", "nan", "inf", "1e999", "0.5x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(parse_double(bad[i], 0, 1, &v, why, sizeof why) != 0, "parse_double('%s') accepted", bad[i]);
    CHECK(parse_fraction("5%", 0, 1, &v, why, sizeof why) == 0 && fabs(v - 0.05) < 1e-15, "5%%");
    CHECK(parse_fraction("0.05", 0, 1, &v, why, sizeof why) == 0 && v == 0.05, "0.05");
    CHECK(parse_fraction("150%", 0, 1, &v, why, sizeof why) != 0, "150%% over range");
    CHECK(parse_fraction("%", 0, 1, &v, why, sizeof why) != 0, "bare %%");
    /* found by tests/fuzz/fuzz_parse.c: text past 63 bytes was cut off, so
     * trailing garbage after a long number was accepted */
    CHECK(parse_fraction("0.44444444444444444444444444444444444444444444444444444444444444444-G01", 0, 1, &v, why,
                         sizeof why) != 0, "long fraction with trailing text");
    CHECK(parse_fraction("0.5000000000000000000000000000000000000000000000000000000000000%", 0, 1, &v, why,
                         sizeof why) != 0, "64 bytes with the '%%' is too long");
    CHECK(parse_fraction("0.5000000000000000000000000000000000000000000000000000000000000", 0, 1, &v, why,
                         sizeof why) == 0 && v == 0.5, "63 bytes still fit");
}

int main(void)
{
    test_sizes();
    test_ints();
    test_doubles();
    return CHECK_DONE();
}
