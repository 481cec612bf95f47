/* bench/cmd/report/doc.h — a document as data: headings, paragraphs and
 * tables whose cells are text already formatted, so the Markdown printer
 * (summary.md) and the HTML printer (report.html) print the same figures
 * from one build (as nvbench's printers format one set of summaries).
 *
 * Tables are built in order: doc_table, then its columns, then rows, each
 * row's cells left to right. An allocation failure marks the document
 * `failed`; the printers then report it. */
#ifndef ACCUMBENCH_REPORT_DOC_H
#define ACCUMBENCH_REPORT_DOC_H

#include "text.h"

#include <stddef.h>

typedef enum {
    COL_TEXT,                   /* left-aligned */
    COL_NUM,                    /* right-aligned */
    COL_CODE,                   /* code (kernel names) */
    COL_ERR,                    /* a long message: a wide column in HTML */
} col_kind;

typedef struct {
    char *title;
    col_kind kind;
} doc_col;

typedef struct {
    char **cells;               /* ncols of them once complete */
    size_t ncells;
    const char *cls;            /* HTML row class ("ok", "bad") or NULL */
} doc_row;

typedef struct {
    const char *id, *cls;       /* HTML attributes, NULL for none */
    int wide;                   /* HTML: scrolls sideways inside the page */
    doc_col *cols;
    size_t ncols, cols_cap;
    doc_row *rows;
    size_t nrows, rows_cap;
} doc_table;

typedef enum { BLOCK_HEADING, BLOCK_TEXT, BLOCK_TABLE } block_kind;

typedef struct {
    block_kind kind;
    char *text;                 /* heading or paragraph */
    doc_table table;
} doc_block;

typedef struct {
    doc_block *v;
    size_t n, cap;
    int failed;
} doc;

void doc_heading(doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void doc_text(doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void doc_table_begin(doc *d, const char *id, const char *cls, int wide);
void doc_col_add(doc *d, col_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* n columns from a list */
typedef struct {
    col_kind kind;
    const char *title;
} col_spec;
void doc_columns(doc *d, const col_spec *cols, size_t n);
void doc_row_begin(doc *d, const char *cls);
void doc_cell(doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* a number cell; empty when v is NaN */
void doc_num(doc *d, double v, const char *fmt);
void doc_free(doc *d);

/* headings as level-2 Markdown headings; tables as pipe tables */
void doc_markdown(const doc *d, sbuf *out);
/* headings as <h3>, text as <p>, tables with <thead> and <tbody> */
void doc_html(const doc *d, sbuf *out);

#endif
