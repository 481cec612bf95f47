/* tests/fuzz/fuzz_csv.c — bench/util/csv.c, the RFC 4180 reader that report,
 * compare and plan read every results CSV with. One input, four readers:
 *   - csv_table_parse with a limit far above the input, and with one below
 *     it (the size check must fail cleanly or not at all);
 *   - the streaming csv_reader over the same bytes: same verdict, same
 *     records, same error message;
 *   - csv_table_read of the bytes written to a file (the buffered FILE
 *     path): same records;
 *   - a round trip: the table written back with every field quoted parses
 *     to the same cells.
 * Every cell is NUL-terminated with its length and number parsing agrees
 * between csv_parse_int and csv_parse_double. */
#include "fuzz.h"
#include "csv.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#define NAME "fuzz.csv"

static void check_table(const csv_table *t)
{
    FUZZ_CHECK(t->ncols >= 1, "table without columns");
    for (size_t c = 0; c < t->ncols; c++) {
        const char *h = t->text + t->off[c];
        FUZZ_CHECK(t->len[c] > 0 && strlen(h) == t->len[c], "header cell %zu", c);
        long found = csv_column(t, h, 0);
        FUZZ_CHECK(found >= 0 && (size_t)found <= c && !strcmp(t->text + t->off[found], h), "csv_column('%s')", h);
    }
    size_t prev_line = 1;
    for (size_t r = 0; r < t->nrows; r++) {
        size_t line = csv_row_line(t, r);
        FUZZ_CHECK(line > prev_line, "row %zu starts on line %zu after line %zu", r, line, prev_line);
        prev_line = line;
        for (size_t c = 0; c < t->ncols; c++) {
            size_t len = 0;
            const char *s = csv_get(t, r, c, &len);
            FUZZ_CHECK(s && strlen(s) == len, "cell (%zu, %zu)", r, c);
            double d = 0;
            long long ll = 0;
            char err[CSV_ERR_LEN];
            int rd = csv_get_double(t, r, (long)c, &d, err, sizeof err);
            FUZZ_CHECK(rd == csv_parse_double(s, len, &d), "csv_get_double vs csv_parse_double");
            FUZZ_CHECK(rd != 0 || isfinite(d), "a non-finite number accepted: '%s'", s);
            FUZZ_CHECK(rd != 1 || len == 0, "a non-empty cell read as empty");
            if (rd < 0) FUZZ_CHECK(!strncmp(err, NAME ":", strlen(NAME ":")), "message '%s'", err);
            int ri = csv_parse_int(s, len, &ll);
            if (ri == 0) FUZZ_CHECK(rd == 0 && (double)ll == d, "csv_parse_int('%s') = %lld, double %g", s, ll, d);
            if (rd != 0) FUZZ_CHECK(ri == rd, "csv_parse_int accepted what csv_parse_double did not");
        }
        FUZZ_CHECK(csv_get(t, r, t->ncols, NULL) == NULL, "column out of range");
    }
    FUZZ_CHECK(csv_get(t, t->nrows, 0, NULL) == NULL, "row out of range");
    FUZZ_CHECK(csv_get_double(t, 0, -1, &(double){0}, NULL, 0) == 1, "column -1 reads as empty");
}

/* t and u hold the same cells */
static void check_same(const csv_table *t, const csv_table *u, const char *what)
{
    FUZZ_CHECK(t->ncols == u->ncols && t->nrows == u->nrows, "%s: %zux%zu vs %zux%zu", what, t->nrows, t->ncols,
               u->nrows, u->ncols);
    for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
        FUZZ_CHECK(t->len[i] == u->len[i] && !memcmp(t->text + t->off[i], u->text + u->off[i], t->len[i]),
                   "%s: cell %zu differs", what, i);
}

/* the streaming reader gives the table's verdict and records */
static void check_stream(const uint8_t *data, size_t size, const csv_table *t, int table_rc, const char *table_err)
{
    csv_reader r;
    int rc = csv_reader_open_mem(&r, NAME, (const char *)data, size);
    size_t row = 0;
    while (rc == 0) {
        int n = csv_reader_next(&r);
        if (n == 0) break;
        if (n < 0) {
            rc = -1;
            break;
        }
        /* a failed table still streams the records before the bad one */
        if (table_rc != 0) {
            row++;
            continue;
        }
        FUZZ_CHECK(row < t->nrows, "reader has more records than the table");
        FUZZ_CHECK(r.nfields == t->ncols, "record width");
        for (size_t c = 0; c < r.nfields; c++) {
            size_t len = 0, tlen = 0;
            const char *s = csv_reader_field(&r, c, &len);
            const char *ts = csv_get(t, row, c, &tlen);
            FUZZ_CHECK(s && len == tlen && !memcmp(s, ts, len), "record %zu field %zu", row, c);
        }
        FUZZ_CHECK(csv_reader_field(&r, r.nfields, NULL) == NULL, "field out of range");
        row++;
    }
    FUZZ_CHECK((rc == 0) == (table_rc == 0), "reader %d, table %d", rc, table_rc);
    if (rc == 0) {
        FUZZ_CHECK(row == t->nrows, "reader %zu records, table %zu", row, t->nrows);
        for (size_t c = 0; c < r.ncols; c++)
            FUZZ_CHECK(!strcmp(csv_reader_header(&r, c), t->text + t->off[c]), "header %zu", c);
        FUZZ_CHECK(csv_reader_header(&r, r.ncols) == NULL, "header out of range");
    } else {
        FUZZ_CHECK(!strcmp(r.err, table_err), "reader '%s', table '%s'", r.err, table_err);
    }
    /* reading on after the end or an error stays there */
    if (rc == 0) FUZZ_CHECK(csv_reader_next(&r) == 0, "a record after the end");
    csv_reader_close(&r);
    csv_reader_close(&r);
}

/* the file path (a FILE read in chunks) reads what the memory path did */
static void check_file(const uint8_t *data, size_t size, const csv_table *t, int table_rc)
{
    static char path[64];
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/accumbench-fuzz-csv-%ld", (long)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f) return;
    int ok = fwrite(data, 1, size, f) == size;
    ok = fclose(f) == 0 && ok;
    if (!ok) return;
    csv_table u;
    char err[CSV_ERR_LEN];
    int rc = csv_table_read(&u, path, (size_t)1 << 24, err, sizeof err);
    unlink(path);
    FUZZ_CHECK((rc == 0) == (table_rc == 0), "file %d, memory %d: %s", rc, table_rc, rc ? err : "");
    if (rc == 0) check_same(t, &u, "file vs memory");
    csv_table_free(&u);
}

static void put_quoted(char **p, const char *s, size_t len)
{
    *(*p)++ = '"';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"') *(*p)++ = '"';
        *(*p)++ = s[i];
    }
    *(*p)++ = '"';
}

/* every field quoted, LF line ends: parses back to the same cells */
static void check_round_trip(const csv_table *t)
{
    size_t cells = (t->nrows + 1) * t->ncols, bytes = 0;
    for (size_t i = 0; i < cells; i++) bytes += 2 * t->len[i] + 3;
    char *out = malloc(bytes + 1), *p = out;
    if (!out) abort();
    for (size_t i = 0; i < cells; i++) {
        put_quoted(&p, t->text + t->off[i], t->len[i]);
        *p++ = (i + 1) % t->ncols ? ',' : '\n';
    }
    csv_table u;
    char err[CSV_ERR_LEN];
    int rc = csv_table_parse(&u, NAME, out, (size_t)(p - out), (size_t)1 << 24, err, sizeof err);
    FUZZ_CHECK(rc == 0, "quoted round trip rejected: %s", err);
    check_same(t, &u, "round trip");
    csv_table_free(&u);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    csv_table t;
    char err[CSV_ERR_LEN] = "";
    int rc = csv_table_parse(&t, NAME, (const char *)data, size, (size_t)1 << 24, err, sizeof err);
    if (rc == 0) {
        check_table(&t);
        check_round_trip(&t);
    } else {
        FUZZ_CHECK(!strncmp(err, NAME ":", strlen(NAME ":")), "message '%s'", err);
        FUZZ_CHECK(t.text == NULL && t.nrows == 0, "a failed parse leaves the table empty");
    }
    check_stream(data, size, &t, rc, err);
    check_file(data, size, &t, rc);

    /* a limit below the fields' size fails cleanly; one above it changes nothing */
    if (rc == 0) {
        csv_table u;
        size_t need = t.text_len;
        char err2[CSV_ERR_LEN];
        FUZZ_CHECK(csv_table_parse(&u, NAME, (const char *)data, size, need - 1, err2, sizeof err2) != 0 &&
                   strstr(err2, "larger than"), "limit %zu below %zu accepted", need - 1, need);
        FUZZ_CHECK(csv_table_parse(&u, NAME, (const char *)data, size, need, err2, sizeof err2) == 0,
                   "limit %zu == size rejected: %s", need, err2);
        check_same(&t, &u, "exact limit");
        csv_table_free(&u);
    }
    csv_table_free(&t);
    return 0;
}
