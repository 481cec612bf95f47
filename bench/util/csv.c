/* bench/util/csv.c — see csv.h. One state machine reads a record at a time from
 * a byte source (a buffered FILE or a memory block); the table is records
 * appended into one text block with (offset, length) per cell. Every size is
 * checked before it grows, so no input can overflow a size_t or make a
 * record use more than CSV_MAX_RECORD_BYTES. */
#include "csv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CSV_READ_CHUNK ((size_t)1 << 16)
#define CSV_EOF (-1)

static int fail(csv_reader *r, size_t line, const char *fmt, ...)
{
    int n = snprintf(r->err, sizeof r->err, "%s:%zu: ", r->name, line);
    if (n < 0 || (size_t)n >= sizeof r->err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

// ----------------------------------------------------------------------------
// byte source

static int src_get(csv_reader *r)
{
    if (r->nback > 0) return r->back[--r->nback];
    if (!r->f) return r->pos < r->mem_len ? r->mem[r->pos++] : CSV_EOF;
    if (r->pos == r->buf_len) {
        if (r->at_eof) return CSV_EOF;
        r->buf_len = fread(r->buf, 1, CSV_READ_CHUNK, r->f);
        r->pos = 0;
        if (r->buf_len == 0) {
            r->at_eof = 1;
            return CSV_EOF;
        }
    }
    return r->buf[r->pos++];
}

static int src_failed(const csv_reader *r) { return r->f && ferror(r->f); }

// ----------------------------------------------------------------------------
// one record

static int put(csv_reader *r, int c)
{
    if (r->text_len >= CSV_MAX_RECORD_BYTES)
        return fail(r, r->record_line, "record longer than %zu bytes", CSV_MAX_RECORD_BYTES);
    if (r->text_len == r->text_cap) {
        size_t cap = r->text_cap ? 2 * r->text_cap : 1024;
        if (cap > CSV_MAX_RECORD_BYTES) cap = CSV_MAX_RECORD_BYTES;
        char *t = realloc(r->text, cap);
        if (!t) return fail(r, r->record_line, "out of memory");
        r->text = t;
        r->text_cap = cap;
    }
    r->text[r->text_len++] = (char)c;
    return 0;
}

static int end_field(csv_reader *r, size_t start)
{
    if (r->nfields >= CSV_MAX_FIELDS) return fail(r, r->record_line, "more than %zu fields", CSV_MAX_FIELDS);
    if (r->nfields == r->fields_cap) {
        size_t cap = r->fields_cap ? 2 * r->fields_cap : 32;
        if (cap > CSV_MAX_FIELDS) cap = CSV_MAX_FIELDS;
        size_t *o = realloc(r->off, cap * sizeof *o);
        if (!o) return fail(r, r->record_line, "out of memory");
        r->off = o;
        size_t *l = realloc(r->len, cap * sizeof *l);
        if (!l) return fail(r, r->record_line, "out of memory");
        r->len = l;
        r->fields_cap = cap;
    }
    r->off[r->nfields] = start;
    r->len[r->nfields] = r->text_len - start;
    r->nfields++;
    return put(r, '\0');
}

/* 1 a record, 0 end of input, -1 error */
static int read_record(csv_reader *r)
{
    r->text_len = 0;
    r->nfields = 0;
    r->record_line = r->line;
    int c = src_get(r);
    if (c == CSV_EOF) return src_failed(r) ? fail(r, r->line, "read error") : 0;
    for (;;) {
        size_t start = r->text_len;
        if (c == '"') {
            size_t quote_line = r->line;
            for (;;) {
                c = src_get(r);
                if (c == CSV_EOF) {
                    if (src_failed(r)) return fail(r, r->line, "read error");
                    return fail(r, quote_line, "unterminated quoted field (its quote opens on this line)");
                }
                if (c == '"') {
                    c = src_get(r);
                    if (c != '"') break;
                } else if (c == '\0') {
                    return fail(r, r->line, "NUL byte");
                } else if (c == '\n') {
                    r->line++;
                }
                if (put(r, c)) return -1;
            }
            if (c != ',' && c != '\n' && c != '\r' && c != CSV_EOF)
                return fail(r, r->line, "text after a closing quote (a quote inside a field is written \"\")");
        } else {
            while (c != ',' && c != '\n' && c != '\r' && c != CSV_EOF) {
                if (c == '"') return fail(r, r->line, "quote inside an unquoted field (quote the whole field)");
                if (c == '\0') return fail(r, r->line, "NUL byte");
                if (put(r, c)) return -1;
                c = src_get(r);
            }
        }
        if (end_field(r, start)) return -1;
        if (c == ',') {
            c = src_get(r);
            continue;
        }
        if (c == '\r') {
            c = src_get(r);
            if (c != '\n') return fail(r, r->line, "CR not followed by LF (lines end with CRLF or LF)");
        }
        if (c == '\n') r->line++;
        if (c == CSV_EOF && src_failed(r)) return fail(r, r->line, "read error");
        return 1;
    }
}

// ----------------------------------------------------------------------------
// reader

static int reader_start(csv_reader *r)
{
    /* skip a UTF-8 byte-order mark; anything else is pushed back */
    static const int bom[3] = {0xEF, 0xBB, 0xBF};
    int got[3], n = 0;
    while (n < 3) {
        got[n] = src_get(r);
        if (got[n] != bom[n]) {
            n++;
            break;
        }
        n++;
    }
    if (!(n == 3 && got[2] == bom[2]))
        for (int i = n - 1; i >= 0; i--)
            if (got[i] != CSV_EOF) r->back[r->nback++] = got[i];
    int rc = read_record(r);
    if (rc == 0) return fail(r, 1, "empty file (no header row)");
    if (rc < 0) return -1;
    for (size_t i = 0; i < r->nfields; i++)
        if (r->len[i] == 0) return fail(r, r->record_line, "empty column name in the header (column %zu)", i + 1);
    r->head_text = malloc(r->text_len);
    r->head_off = malloc(r->nfields * sizeof *r->head_off);
    r->head_len = malloc(r->nfields * sizeof *r->head_len);
    if (!r->head_text || !r->head_off || !r->head_len) return fail(r, 1, "out of memory");
    memcpy(r->head_text, r->text, r->text_len);
    memcpy(r->head_off, r->off, r->nfields * sizeof *r->head_off);
    memcpy(r->head_len, r->len, r->nfields * sizeof *r->head_len);
    r->head_text_len = r->text_len;
    r->ncols = r->nfields;
    return 0;
}

static void reader_init(csv_reader *r, const char *name)
{
    memset(r, 0, sizeof *r);
    r->line = 1;
    snprintf(r->name, sizeof r->name, "%s", name);
}

int csv_reader_open_file(csv_reader *r, const char *path)
{
    reader_init(r, path);
    r->buf = malloc(CSV_READ_CHUNK);
    if (!r->buf) {
        snprintf(r->err, sizeof r->err, "%s: out of memory", r->name);
        return -1;
    }
    r->f = fopen(path, "rb");
    if (!r->f) {
        snprintf(r->err, sizeof r->err, "%s: cannot open: %s", r->name, strerror(errno));
        csv_reader_close(r);
        return -1;
    }
    if (reader_start(r)) {
        csv_reader_close(r);
        return -1;
    }
    return 0;
}

int csv_reader_open_mem(csv_reader *r, const char *name, const char *data, size_t len)
{
    reader_init(r, name);
    r->mem = (const unsigned char *)data;
    r->mem_len = data ? len : 0;
    if (reader_start(r)) {
        csv_reader_close(r);
        return -1;
    }
    return 0;
}

int csv_reader_next(csv_reader *r)
{
    if (!r->head_text) return -1;
    int rc = read_record(r);
    if (rc == 1 && r->nfields != r->ncols)
        return fail(r, r->record_line, "%zu field%s, the header has %zu", r->nfields, r->nfields == 1 ? "" : "s",
                    r->ncols);
    return rc;
}

void csv_reader_close(csv_reader *r)
{
    if (r->f) fclose(r->f);
    free(r->buf);
    free(r->text);
    free(r->off);
    free(r->len);
    free(r->head_text);
    free(r->head_off);
    free(r->head_len);
    r->f = NULL;
    r->buf = NULL;
    r->text = NULL;
    r->off = r->len = r->head_off = r->head_len = NULL;
    r->head_text = NULL;
    r->ncols = r->nfields = r->text_len = r->text_cap = r->fields_cap = 0;
}

long csv_reader_column(const csv_reader *r, const char *name, size_t from)
{
    for (size_t i = from; i < r->ncols; i++)
        if (!strcmp(r->head_text + r->head_off[i], name)) return (long)i;
    return -1;
}

const char *csv_reader_header(const csv_reader *r, size_t col)
{
    return col < r->ncols ? r->head_text + r->head_off[col] : NULL;
}

const char *csv_reader_field(const csv_reader *r, size_t col, size_t *len)
{
    if (col >= r->nfields) return NULL;
    if (len) *len = r->len[col];
    return r->text + r->off[col];
}

// ----------------------------------------------------------------------------
// table

/* appends one row (the header first) */
static int table_append(csv_table *t, const char *text, size_t text_len, const size_t *off, const size_t *len,
                        size_t line, size_t max_bytes, char *err, size_t err_len)
{
    size_t idx = t->text_len ? t->nrows + 1 : 0;    /* rows held now, the header included */
    if (text_len > max_bytes || t->text_len > max_bytes - text_len) {
        snprintf(err, err_len, "%s:%zu: file larger than %zu bytes of fields", t->name, line, max_bytes);
        return -1;
    }
    if (t->text_len + text_len > t->text_cap) {
        size_t cap = t->text_cap ? t->text_cap : 4096;
        while (cap < t->text_len + text_len) cap = cap > max_bytes / 2 ? max_bytes : 2 * cap;
        char *x = realloc(t->text, cap);
        if (!x) goto oom;
        t->text = x;
        t->text_cap = cap;
    }
    if ((idx + 1) * t->ncols > t->cells_cap) {
        /* every cell holds at least its NUL within max_bytes, so these
         * products stay far from overflowing */
        size_t cap_rows = idx < 32 ? 64 : 2 * (idx + 1);
        size_t *o = realloc(t->off, cap_rows * t->ncols * sizeof *o);
        if (!o) goto oom;
        t->off = o;
        size_t *l = realloc(t->len, cap_rows * t->ncols * sizeof *l);
        if (!l) goto oom;
        t->len = l;
        size_t *ln = realloc(t->line, cap_rows * sizeof *ln);
        if (!ln) goto oom;
        t->line = ln;
        t->cells_cap = cap_rows * t->ncols;
    }
    memcpy(t->text + t->text_len, text, text_len);
    for (size_t i = 0; i < t->ncols; i++) {
        t->off[idx * t->ncols + i] = t->text_len + off[i];
        t->len[idx * t->ncols + i] = len[i];
    }
    t->text_len += text_len;
    if (idx > 0) {
        t->line[idx - 1] = line;
        t->nrows++;
    }
    return 0;
oom:
    snprintf(err, err_len, "%s:%zu: out of memory", t->name, line);
    return -1;
}

static int table_from_reader(csv_table *t, csv_reader *r, size_t max_bytes, char *err, size_t err_len)
{
    snprintf(t->name, sizeof t->name, "%s", r->name);
    t->ncols = r->ncols;
    if (table_append(t, r->head_text, r->head_text_len, r->head_off, r->head_len, 1, max_bytes, err, err_len))
        return -1;
    for (;;) {
        int rc = csv_reader_next(r);
        if (rc == 0) return 0;
        if (rc < 0) {
            snprintf(err, err_len, "%s", r->err);
            return -1;
        }
        if (table_append(t, r->text, r->text_len, r->off, r->len, r->record_line, max_bytes, err, err_len))
            return -1;
    }
}

static int table_finish(csv_table *t, csv_reader *r, int rc)
{
    csv_reader_close(r);
    if (rc) csv_table_free(t);
    return rc;
}

int csv_table_read(csv_table *t, const char *path, size_t max_bytes, char *err, size_t err_len)
{
    memset(t, 0, sizeof *t);
    csv_reader r;
    if (csv_reader_open_file(&r, path)) {
        snprintf(err, err_len, "%s", r.err);
        return -1;
    }
    return table_finish(t, &r, table_from_reader(t, &r, max_bytes, err, err_len));
}

int csv_table_parse(csv_table *t, const char *name, const char *data, size_t len, size_t max_bytes, char *err,
                    size_t err_len)
{
    memset(t, 0, sizeof *t);
    csv_reader r;
    if (csv_reader_open_mem(&r, name, data, len)) {
        snprintf(err, err_len, "%s", r.err);
        return -1;
    }
    return table_finish(t, &r, table_from_reader(t, &r, max_bytes, err, err_len));
}

void csv_table_free(csv_table *t)
{
    free(t->text);
    free(t->off);
    free(t->len);
    free(t->line);
    memset(t, 0, sizeof *t);
}

long csv_column(const csv_table *t, const char *name, size_t from)
{
    for (size_t i = from; i < t->ncols; i++)
        if (!strcmp(t->text + t->off[i], name)) return (long)i;
    return -1;
}

const char *csv_get(const csv_table *t, size_t row, size_t col, size_t *len)
{
    if (row >= t->nrows || col >= t->ncols) return NULL;
    size_t cell = (row + 1) * t->ncols + col;
    if (len) *len = t->len[cell];
    return t->text + t->off[cell];
}

size_t csv_row_line(const csv_table *t, size_t row) { return row < t->nrows ? t->line[row] : 0; }

int csv_get_double(const csv_table *t, size_t row, long col, double *out, char *err, size_t err_len)
{
    size_t len = 0;
    const char *s = col >= 0 ? csv_get(t, row, (size_t)col, &len) : NULL;
    if (!s) return 1;
    int rc = csv_parse_double(s, len, out);
    if (rc < 0) {
        char shown[48];
        size_t n = len < sizeof shown - 1 ? len : sizeof shown - 1;
        for (size_t i = 0; i < n; i++) shown[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        shown[n] = '\0';
        snprintf(err, err_len, "%s:%zu: column '%s': '%s%s' is not a number", t->name, csv_row_line(t, row),
                 t->text + t->off[col], shown, len > n ? "..." : "");
    }
    return rc;
}

// ----------------------------------------------------------------------------
// numbers

static int is_digit(char c) { return c >= '0' && c <= '9'; }

int csv_parse_double(const char *s, size_t len, double *out)
{
    char buf[512];
    if (len == 0) return 1;
    if (len >= sizeof buf) return -1;
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-') i++;
    for (; i < len && is_digit(s[i]); i++) digits++;
    if (i < len && s[i] == '.')
        for (i++; i < len && is_digit(s[i]); i++) digits++;
    if (digits == 0) return -1;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) i++;
        for (; i < len && is_digit(s[i]); i++) exp_digits++;
        if (exp_digits == 0) return -1;
    }
    if (i != len) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + len || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int csv_parse_int(const char *s, size_t len, long long *out)
{
    double v;
    int rc = csv_parse_double(s, len, &v);
    if (rc) return rc;
    if (v != floor(v) || fabs(v) > 9007199254740992.0) return -1;
    *out = (long long)v;
    return 0;
}
