/* bench/util/csv.h — a strict RFC 4180 reader for the sweep's CSV files.
 *
 * Input: a header row, then records of exactly as many fields; fields are
 * separated by ',' and records end with CRLF or LF (the last one may have
 * no line end). A field is either plain (no '"', CR or LF in it) or quoted,
 * with '""' for a quote and commas and line breaks allowed inside. Anything
 * else — an unterminated quote, text after a closing quote, a quote inside a
 * plain field, a bare CR, a NUL byte, a row with the wrong number of fields,
 * an empty column name — is an error `name:line: reason`, line being the
 * physical line (1-based) where the offending record or quote starts. A
 * leading UTF-8 byte-order mark is skipped.
 *
 * Memory is bounded: a record holds at most CSV_MAX_RECORD_BYTES of field
 * text and CSV_MAX_FIELDS fields, and a whole table at most the max_bytes
 * its reader is given. Field text is stored unescaped, NUL-terminated, with
 * its length alongside (NUL bytes in the input are rejected, so the two
 * agree).
 *
 * Two ways in: csv_reader streams one record at a time (memory.csv of a big
 * sweep does not fit in memory), csv_table holds a whole file. Columns are
 * found by header name, never by position; numbers are parsed strictly
 * (csv_parse_double). */
#ifndef ACCUMBENCH_CSV_H
#define ACCUMBENCH_CSV_H

#include <stddef.h>
#include <stdio.h>

#define CSV_MAX_RECORD_BYTES ((size_t)1 << 20)
#define CSV_MAX_FIELDS ((size_t)4096)
#define CSV_ERR_LEN 512

// ----------------------------------------------------------------------------
// streaming reader

typedef struct {
    /* source: a FILE (buffered here) or a memory block */
    FILE *f;
    const unsigned char *mem;
    size_t mem_len, pos;
    unsigned char *buf;         /* file read buffer */
    size_t buf_len;
    int back[3];                /* bytes pushed back (a byte-order mark that was not one) */
    int nback;
    size_t line;                /* physical line of the next byte, 1-based */
    int at_eof;
    char name[256];             /* for messages: the path, or the caller's name */
    /* the current record: field i is text + off[i], len[i] bytes, NUL after */
    char *text;
    size_t text_len, text_cap;
    size_t *off, *len;
    size_t nfields, fields_cap;
    size_t record_line;
    /* the header, copied */
    char *head_text;
    size_t head_text_len;
    size_t *head_off, *head_len;
    size_t ncols;
    char err[CSV_ERR_LEN];
} csv_reader;

/* Open and read the header. 0, or -1 with the message in r->err (the reader
 * is then closed already; csv_reader_close is still safe). */
int csv_reader_open_file(csv_reader *r, const char *path);
/* data need not be NUL-terminated; it must outlive the reader */
int csv_reader_open_mem(csv_reader *r, const char *name, const char *data, size_t len);
/* 1 a record was read, 0 end of input, -1 error (r->err) */
int csv_reader_next(csv_reader *r);
void csv_reader_close(csv_reader *r);

/* first column at index >= from named `name`, or -1 (names may repeat:
 * memory.csv has micro_batch as a key column and again after time_ns) */
long csv_reader_column(const csv_reader *r, const char *name, size_t from);
const char *csv_reader_header(const csv_reader *r, size_t col);
/* field of the current record; NULL when col is out of range */
const char *csv_reader_field(const csv_reader *r, size_t col, size_t *len);

// ----------------------------------------------------------------------------
// whole table

typedef struct {
    char name[256];
    size_t ncols, nrows;        /* nrows excludes the header */
    char *text;                 /* every field's bytes, each NUL-terminated */
    size_t text_len, text_cap;
    size_t *off, *len;          /* (nrows + 1) * ncols entries; row 0 is the header */
    size_t cells_cap;
    size_t *line;               /* physical line each data row starts on */
} csv_table;

/* 0, or -1 with the message in err (and *t left empty) */
int csv_table_read(csv_table *t, const char *path, size_t max_bytes, char *err, size_t err_len);
int csv_table_parse(csv_table *t, const char *name, const char *data, size_t len, size_t max_bytes, char *err,
                    size_t err_len);
void csv_table_free(csv_table *t);

long csv_column(const csv_table *t, const char *name, size_t from);
/* row is 0-based over the data rows; NULL when row or col is out of range */
const char *csv_get(const csv_table *t, size_t row, size_t col, size_t *len);
size_t csv_row_line(const csv_table *t, size_t row);

/* A number cell: 0 ok, 1 empty (not applicable), -1 not a number, with
 * `name:line: column 'x': 'text' is not a number` in err. col < 0 (a column
 * the file does not have) reads as empty. */
int csv_get_double(const csv_table *t, size_t row, long col, double *out, char *err, size_t err_len);

// ----------------------------------------------------------------------------
// numbers

/* Decimal floating-point text as C writes it, nothing else: optional sign,
 * digits with an optional '.', optional exponent ("12", "-0.5", "1e6",
 * "1000000.0", ".5", "5."); no spaces, hex, inf or nan; finite (overflow is
 * rejected). 0 ok, 1 empty, -1 not a number. */
int csv_parse_double(const char *s, size_t len, double *out);
/* as csv_parse_double, and integral with |v| <= 2^53 ("1e6" is 1000000) */
int csv_parse_int(const char *s, size_t len, long long *out);

#endif
