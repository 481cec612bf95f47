/* tests/test_csv.c — the RFC 4180 reader (bench/util/csv.c): exact field values
 * of valid inputs (quoted commas, quotes and line breaks, CRLF, no final
 * line end, a byte-order mark), a table of malformed inputs with the line
 * each error must name, the streaming reader against the table, files, and
 * the strict number parser. */
#include "check.h"
#include "csv.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// ----------------------------------------------------------------------------
// valid inputs: cells listed row-major, header first

typedef struct {
    const char *what;
    const char *data;
    size_t len;                 /* 0: strlen(data) */
    size_t ncols, nrows;
    const char *cells[16];
    size_t lines[4];            /* line of each data row */
} valid_case;

static const valid_case valid[] = {
    {"LF", "a,b\n1,2\n3,4\n", 0, 2, 2, {"a", "b", "1", "2", "3", "4"}, {2, 3}},
    {"CRLF", "a,b\r\n1,2\r\n3,4\r\n", 0, 2, 2, {"a", "b", "1", "2", "3", "4"}, {2, 3}},
    {"no final line end", "a,b\r\n1,2\r\n3,4", 0, 2, 2, {"a", "b", "1", "2", "3", "4"}, {2, 3}},
    {"mixed line ends", "a,b\n1,2\r\n3,4\n", 0, 2, 2, {"a", "b", "1", "2", "3", "4"}, {2, 3}},
    {"header only", "x,y,z\n", 0, 3, 0, {"x", "y", "z"}, {0}},
    {"header only, no line end", "x", 0, 1, 0, {"x"}, {0}},
    {"empty cells", "a,b,c\n,,\n1,,3\n", 0, 3, 2, {"a", "b", "c", "", "", "", "1", "", "3"}, {2, 3}},
    {"empty last cell, no line end", "a,b\n1,", 0, 2, 1, {"a", "b", "1", ""}, {2}},
    {"quoted comma", "k,name\n1,\"f(a, b)\"\n", 0, 2, 1, {"k", "name", "1", "f(a, b)"}, {2}},
    {"escaped quote", "k,name\n1,\"say \"\"hi\"\"\"\n", 0, 2, 1, {"k", "name", "1", "say \"hi\""}, {2}},
    {"quoted line breaks", "k,name\n1,\"two\nlines\"\n2,\"crlf\r\ninside\"\r\n3,x\n", 0, 2, 3,
     {"k", "name", "1", "two\nlines", "2", "crlf\r\ninside", "3", "x"}, {2, 4, 6}},
    {"quoted empty and quote-only", "a,b\n\"\",\"\"\"\"\n", 0, 2, 1, {"a", "b", "", "\""}, {2}},
    {"quoted header", "\"a,1\",b\n1,2\n", 0, 2, 1, {"a,1", "b", "1", "2"}, {2}},
    {"byte-order mark", "\xEF\xBB\xBF" "a,b\n1,2\n", 0, 2, 1, {"a", "b", "1", "2"}, {2}},
    {"UTF-8 that is not a mark", "\xEF\xBC\x8C" ",b\n1,2\n", 0, 2, 1, {"\xEF\xBC\x8C", "b", "1", "2"}, {2}},
    {"spaces kept", "a,b\n 1 , x y \n", 0, 2, 1, {"a", "b", " 1 ", " x y "}, {2}},
    {"one column, empty row", "a\n\nz\n", 0, 1, 2, {"a", "", "z"}, {2, 3}},
    {"repeated column names", "micro_batch,time_ns,micro_batch\n8,5,1\n", 0, 3, 1,
     {"micro_batch", "time_ns", "micro_batch", "8", "5", "1"}, {2}},
};

static void check_valid(const valid_case *v)
{
    char err[CSV_ERR_LEN] = "";
    csv_table t;
    size_t len = v->len ? v->len : strlen(v->data);
    int rc = csv_table_parse(&t, v->what, v->data, len, 1 << 20, err, sizeof err);
    CHECK(rc == 0, "%s: parse failed: %s", v->what, err);
    if (rc) return;
    CHECK(t.ncols == v->ncols && t.nrows == v->nrows, "%s: %zu x %zu, want %zu x %zu", v->what, t.nrows, t.ncols,
          v->nrows, v->ncols);
    if (t.ncols != v->ncols || t.nrows != v->nrows) {
        csv_table_free(&t);
        return;
    }
    for (size_t c = 0; c < t.ncols; c++) {
        const char *want = v->cells[c];
        CHECK(!strcmp(t.text + t.off[c], want), "%s: header %zu: '%s' want '%s'", v->what, c, t.text + t.off[c], want);
    }
    for (size_t r = 0; r < t.nrows; r++) {
        CHECK(csv_row_line(&t, r) == v->lines[r], "%s: row %zu on line %zu, want %zu", v->what, r,
              csv_row_line(&t, r), v->lines[r]);
        for (size_t c = 0; c < t.ncols; c++) {
            size_t n;
            const char *got = csv_get(&t, r, c, &n);
            const char *want = v->cells[(r + 1) * t.ncols + c];
            CHECK(got && n == strlen(want) && !memcmp(got, want, n) && got[n] == '\0',
                  "%s: cell (%zu, %zu): '%s' want '%s'", v->what, r, c, got ? got : "(null)", want);
        }
    }
    CHECK(csv_get(&t, t.nrows, 0, NULL) == NULL && csv_get(&t, 0, t.ncols, NULL) == NULL,
          "%s: out-of-range cells must be NULL", v->what);

    /* the streaming reader sees the same records */
    csv_reader r;
    CHECK(csv_reader_open_mem(&r, v->what, v->data, len) == 0, "%s: reader: %s", v->what, r.err);
    size_t rows = 0;
    int step;
    while ((step = csv_reader_next(&r)) == 1) {
        for (size_t c = 0; c < r.ncols && rows < t.nrows; c++) {
            size_t n, m;
            const char *a = csv_reader_field(&r, c, &n), *b = csv_get(&t, rows, c, &m);
            CHECK(a && b && n == m && !memcmp(a, b, n), "%s: reader row %zu col %zu differs", v->what, rows, c);
        }
        rows++;
    }
    CHECK(step == 0 && rows == t.nrows, "%s: reader: %d after %zu rows (%s)", v->what, step, rows, r.err);
    csv_reader_close(&r);
    csv_table_free(&t);
}

// ----------------------------------------------------------------------------
// malformed inputs: the message must start with "name:line: " and say why

typedef struct {
    const char *what;
    const char *data;
    size_t len;                 /* 0: strlen(data) */
    size_t line;
    const char *reason;         /* a substring of the message */
} bad_case;

static const bad_case bad[] = {
    {"empty file", "", 0, 1, "empty file"},
    {"too few fields", "a,b,c\n1,2,3\n4,5\n", 0, 3, "2 fields, the header has 3"},
    {"too many fields", "a,b\n1,2\n3,4\n5,6,7\n", 0, 4, "3 fields, the header has 2"},
    {"blank line", "a,b\n1,2\n\n3,4\n", 0, 3, "1 field, the header has 2"},
    {"trailing blank line", "a,b\r\n1,2\r\n\r\n", 0, 3, "1 field, the header has 2"},
    {"wrong count after a quoted line break", "a,b\n\"x\ny\",1\n2\n", 0, 4, "1 field"},
    {"unterminated quote", "a,b\n1,2\n3,\"open\n\n", 0, 3, "unterminated quoted field"},
    {"unterminated quote in header", "\"a,b\n1,2\n", 0, 1, "unterminated quoted field"},
    {"text after closing quote", "a,b\n1,\"x\"y\n", 0, 2, "text after a closing quote"},
    {"space after closing quote", "a,b\n\"x\" ,y\n", 0, 2, "text after a closing quote"},
    {"quote inside plain field", "a,b\n1,x\"y\n", 0, 2, "quote inside an unquoted field"},
    {"bare CR", "a,b\r1,2\n", 0, 1, "CR not followed by LF"},
    {"bare CR in a row", "a,b\n1,2\r3,4\n", 0, 2, "CR not followed by LF"},
    {"NUL byte", "a,b\n1,\0002\n", 9, 2, "NUL byte"},
    {"NUL byte quoted", "a,b\n1,\"\0\"\n", 10, 2, "NUL byte"},
    {"empty column name", "a,,c\n1,2,3\n", 0, 1, "empty column name"},
    {"empty header line", "\na\n", 0, 1, "empty column name"},
};

static void check_bad(const bad_case *b)
{
    char err[CSV_ERR_LEN] = "", prefix[128];
    csv_table t;
    size_t len = b->len ? b->len : strlen(b->data);
    int rc = csv_table_parse(&t, "in.csv", b->data, len, 1 << 20, err, sizeof err);
    CHECK(rc == -1, "%s: parsed, must fail", b->what);
    if (rc == 0) {
        csv_table_free(&t);
        return;
    }
    snprintf(prefix, sizeof prefix, "in.csv:%zu: ", b->line);
    CHECK(!strncmp(err, prefix, strlen(prefix)) && strstr(err, b->reason), "%s: message '%s', want '%s...%s'",
          b->what, err, prefix, b->reason);
    CHECK(t.text == NULL && t.nrows == 0, "%s: a failed parse leaves the table empty", b->what);
}

// ----------------------------------------------------------------------------
// limits, files, column lookup

static void check_limits(void)
{
    char err[CSV_ERR_LEN];
    csv_table t;
    /* a record over CSV_MAX_RECORD_BYTES */
    size_t big = CSV_MAX_RECORD_BYTES + 10;
    char *data = malloc(big + 8);
    CHECK(data != NULL, "malloc");
    if (!data) return;
    memcpy(data, "a\n", 2);
    memset(data + 2, 'x', big);
    CHECK(csv_table_parse(&t, "big.csv", data, big + 2, (size_t)1 << 30, err, sizeof err) == -1 &&
              strstr(err, "big.csv:2: record longer than"),
          "huge record: '%s'", err);
    /* too many fields */
    size_t n = 0;
    for (size_t i = 0; i <= CSV_MAX_FIELDS && n + 2 < big; i++) {
        data[n++] = 'c';
        data[n++] = ',';
    }
    data[n++] = 'c';
    CHECK(csv_table_parse(&t, "wide.csv", data, n, (size_t)1 << 30, err, sizeof err) == -1 &&
              strstr(err, "wide.csv:1: more than"),
          "too many fields: '%s'", err);
    /* the table's byte cap */
    CHECK(csv_table_parse(&t, "cap.csv", "a,b\n1,2\n3,4\n", 12, 8, err, sizeof err) == -1 &&
              strstr(err, "cap.csv:3: file larger than 8 bytes"),
          "table cap: '%s'", err);
    free(data);
}

static void check_file(void)
{
    char path[] = "/tmp/test_csv_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    FILE *f = fdopen(fd, "wb");
    fputs("engine,micro_batch,time_ns,micro_batch,name\r\n", f);
    /* enough rows to cross the reader's 64 KiB buffer */
    for (int i = 0; i < 5000; i++) fprintf(f, "ab,%d,%de3,%d,\"k<%d, float>\"\r\n", 8, i, i % 4, i);
    fclose(f);

    char err[CSV_ERR_LEN] = "";
    csv_table t;
    CHECK(csv_table_read(&t, path, (size_t)1 << 24, err, sizeof err) == 0, "read: %s", err);
    CHECK(t.nrows == 5000, "rows %zu", t.nrows);
    long mb_key = csv_column(&t, "micro_batch", 0), time = csv_column(&t, "time_ns", 0);
    long mb_idx = csv_column(&t, "micro_batch", (size_t)time), name = csv_column(&t, "name", 0);
    CHECK(mb_key == 1 && time == 2 && mb_idx == 3 && name == 4, "columns %ld %ld %ld %ld", mb_key, time, mb_idx, name);
    CHECK(csv_column(&t, "nope", 0) == -1, "missing column");
    double v = 0;
    CHECK(csv_get_double(&t, 4999, time, &v, err, sizeof err) == 0 && v == 4999e3, "time %g", v);
    CHECK(csv_get_double(&t, 10, mb_idx, &v, err, sizeof err) == 0 && v == 2, "micro_batch %g", v);
    CHECK(csv_get_double(&t, 0, -1, &v, err, sizeof err) == 1, "absent column reads as empty");
    size_t len;
    const char *s = csv_get(&t, 4999, (size_t)name, &len);
    CHECK(s && !strcmp(s, "k<4999, float>") && len == 14, "name '%s'", s ? s : "");
    CHECK(csv_row_line(&t, 4999) == 5001, "line %zu", csv_row_line(&t, 4999));
    int rc = csv_get_double(&t, 3, name, &v, err, sizeof err);
    char want[128];
    snprintf(want, sizeof want, "%s:5: column 'name': 'k<3, float>' is not a number", path);
    CHECK(rc == -1 && !strcmp(err, want), "message '%s' want '%s'", err, want);
    csv_table_free(&t);

    csv_reader r;
    CHECK(csv_reader_open_file(&r, path) == 0, "reader: %s", r.err);
    size_t rows = 0;
    while (csv_reader_next(&r) == 1) rows++;
    CHECK(rows == 5000 && csv_reader_column(&r, "micro_batch", 2) == 3 &&
              !strcmp(csv_reader_header(&r, 4), "name") && csv_reader_header(&r, 5) == NULL,
          "reader rows %zu", rows);
    csv_reader_close(&r);
    csv_reader_close(&r); /* twice is safe */
    unlink(path);

    CHECK(csv_table_read(&t, "/nonexistent/results.csv", 1 << 20, err, sizeof err) == -1 &&
              !strncmp(err, "/nonexistent/results.csv: cannot open: ", 39),
          "missing file: '%s'", err);
}

// ----------------------------------------------------------------------------
// numbers

static void check_numbers(void)
{
    static const struct { const char *s; double v; } ok[] = {
        {"0", 0},           {"12", 12},           {"-3", -3},         {"+4", 4},          {"1e6", 1e6},
        {"1000000.0", 1e6}, {"1000000", 1e6},     {"1E6", 1e6},       {"2.5e-3", 2.5e-3}, {".5", 0.5},
        {"5.", 5},          {"-0.0", 0},          {"1e+2", 100},      {"123456789012345678", 123456789012345678.0},
        {"1e-400", 0},      {"0.31415926535897931e1", 3.1415926535897931},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v = -99;
        int rc = csv_parse_double(ok[i].s, strlen(ok[i].s), &v);
        CHECK(rc == 0 && v == ok[i].v, "'%s': rc %d value %.17g", ok[i].s, rc, v);
    }
    static const char *junk[] = {"12abc", "abc", "1e", "1e+", "e5", ".", "-", "+", "--1", "1.2.3", " 1", "1 ",
                                 "0x10", "inf", "nan", "NaN", "1e999", "-1e400000", "1,5", "1_000", "١", "\t1"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        double v = 7;
        CHECK(csv_parse_double(junk[i], strlen(junk[i]), &v) == -1 && v == 7, "'%s' must be rejected", junk[i]);
    }
    double v;
    CHECK(csv_parse_double("", 0, &v) == 1, "empty is 'not applicable'");
    CHECK(csv_parse_double("123", 2, &v) == 0 && v == 12, "explicit length: %g", v);
    char longnum[600];
    memset(longnum, '1', sizeof longnum);
    CHECK(csv_parse_double(longnum, sizeof longnum, &v) == -1, "over-long text is rejected, not truncated");

    long long n = 0;
    CHECK(csv_parse_int("1e6", 3, &n) == 0 && n == 1000000, "int 1e6: %lld", n);
    CHECK(csv_parse_int("64.0", 4, &n) == 0 && n == 64, "int 64.0: %lld", n);
    CHECK(csv_parse_int("-8", 2, &n) == 0 && n == -8, "int -8: %lld", n);
    CHECK(csv_parse_int("2.5", 3, &n) == -1, "2.5 is not an integer");
    CHECK(csv_parse_int("1e300", 5, &n) == -1, "1e300 is out of range");
    CHECK(csv_parse_int("12abc", 5, &n) == -1, "12abc");
    CHECK(csv_parse_int("", 0, &n) == 1, "empty int");
}

int main(void)
{
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) check_valid(&valid[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) check_bad(&bad[i]);
    check_limits();
    check_file();
    check_numbers();
    printf("test_csv: %zu valid, %zu malformed inputs\n", sizeof valid / sizeof valid[0], sizeof bad / sizeof bad[0]);
    return CHECK_DONE();
}
