/* bench/cmd/report/doc.c — see doc.h. */
#include "doc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ----------------------------------------------------------------------------
// building

static char *vformat(const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, again);
    va_end(again);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

/* grows *v (of *cap elements of size sz) to hold n + 1; 0, or -1 */
static int grow(void **v, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap) return 0;
    size_t c = *cap ? 2 * *cap : 8;
    void *x = realloc(*v, c * sz);
    if (!x) return -1;
    *v = x;
    *cap = c;
    return 0;
}

static doc_block *add_block(doc *d, block_kind kind)
{
    if (d->failed || grow((void **)&d->v, &d->cap, d->n, sizeof *d->v)) {
        d->failed = 1;
        return NULL;
    }
    doc_block *b = &d->v[d->n++];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    return b;
}

static void add_text_block(doc *d, block_kind kind, const char *fmt, va_list ap)
{
    doc_block *b = add_block(d, kind);
    if (b && !(b->text = vformat(fmt, ap))) d->failed = 1;
}

void doc_heading(doc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_text_block(d, BLOCK_HEADING, fmt, ap);
    va_end(ap);
}

void doc_text(doc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_text_block(d, BLOCK_TEXT, fmt, ap);
    va_end(ap);
}

void doc_table_begin(doc *d, const char *id, const char *cls, int wide)
{
    doc_block *b = add_block(d, BLOCK_TABLE);
    if (b) b->table = (doc_table){.id = id, .cls = cls, .wide = wide};
}

/* the table being built, or NULL after a failure */
static doc_table *last_table(doc *d)
{
    return !d->failed && d->n && d->v[d->n - 1].kind == BLOCK_TABLE ? &d->v[d->n - 1].table : NULL;
}

void doc_col_add(doc *d, col_kind kind, const char *fmt, ...)
{
    doc_table *t = last_table(d);
    if (!t) return;
    if (grow((void **)&t->cols, &t->cols_cap, t->ncols, sizeof *t->cols)) {
        d->failed = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    t->cols[t->ncols] = (doc_col){vformat(fmt, ap), kind};
    va_end(ap);
    if (!t->cols[t->ncols++].title) d->failed = 1;
}

void doc_columns(doc *d, const col_spec *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) doc_col_add(d, cols[i].kind, "%s", cols[i].title);
}

void doc_row_begin(doc *d, const char *cls)
{
    doc_table *t = last_table(d);
    if (!t) return;
    if (grow((void **)&t->rows, &t->rows_cap, t->nrows, sizeof *t->rows)) {
        d->failed = 1;
        return;
    }
    doc_row *r = &t->rows[t->nrows++];
    r->cells = calloc(t->ncols ? t->ncols : 1, sizeof *r->cells);
    r->ncells = 0;
    r->cls = cls;
    if (!r->cells) d->failed = 1;
}

static void add_cell(doc *d, char *text)
{
    doc_table *t = last_table(d);
    doc_row *r = t && t->nrows ? &t->rows[t->nrows - 1] : NULL;
    if (!r || !r->cells || r->ncells >= t->ncols || !text) {
        free(text);
        d->failed = 1;
        return;
    }
    r->cells[r->ncells++] = text;
}

void doc_cell(doc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_cell(d, vformat(fmt, ap));
    va_end(ap);
}

void doc_num(doc *d, double v, const char *fmt)
{
    if (isnan(v)) {
        doc_cell(d, "%s", "");
        return;
    }
    char buf[64];
    snprintf(buf, sizeof buf, fmt, v);
    doc_cell(d, "%s", buf);
}

static void table_free(doc_table *t)
{
    for (size_t c = 0; c < t->ncols; c++) free(t->cols[c].title);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->rows[r].ncells; c++) free(t->rows[r].cells[c]);
        free(t->rows[r].cells);
    }
    free(t->cols);
    free(t->rows);
}

void doc_free(doc *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].text);
        table_free(&d->v[i].table);
    }
    free(d->v);
    memset(d, 0, sizeof *d);
}

// ----------------------------------------------------------------------------
// Markdown

/* a cell's text with the pipe escaped (a pipe would split the cell) */
static void md_cell(sbuf *out, const char *s)
{
    sb_str(out, " ");
    for (; *s; s++) {
        if (*s == '|') sb_str(out, "\\|");
        else sb_put(out, s, 1);
    }
    sb_str(out, " |");
}

static void md_table(const doc_table *t, sbuf *out)
{
    sb_str(out, "|");
    for (size_t c = 0; c < t->ncols; c++) md_cell(out, t->cols[c].title);
    sb_str(out, "\n|");
    for (size_t c = 0; c < t->ncols; c++) sb_str(out, t->cols[c].kind == COL_NUM ? "---:|" : "---|");
    sb_str(out, "\n");
    for (size_t r = 0; r < t->nrows; r++) {
        sb_str(out, "|");
        for (size_t c = 0; c < t->ncols; c++) md_cell(out, c < t->rows[r].ncells ? t->rows[r].cells[c] : "");
        sb_str(out, "\n");
    }
    sb_str(out, "\n");
}

void doc_markdown(const doc *d, sbuf *out)
{
    if (d->failed) out->failed = 1;
    for (size_t i = 0; i < d->n; i++) {
        const doc_block *b = &d->v[i];
        if (b->kind == BLOCK_HEADING) sb_printf(out, "## %s\n\n", b->text);
        else if (b->kind == BLOCK_TEXT) sb_printf(out, "%s\n\n", b->text);
        else md_table(&b->table, out);
    }
}

// ----------------------------------------------------------------------------
// HTML

static void html_cell(sbuf *out, col_kind kind, const char *s)
{
    static const char *const open[] = {[COL_TEXT] = "<td>", [COL_NUM] = "<td class=\"n\">",
                                       [COL_CODE] = "<td><code>", [COL_ERR] = "<td class=\"err\">"};
    if (!*s && kind == COL_NUM) {
        sb_str(out, "<td></td>");
        return;
    }
    sb_str(out, open[kind]);
    sb_html(out, s);
    sb_str(out, kind == COL_CODE ? "</code></td>" : "</td>");
}

static void html_table(const doc_table *t, sbuf *out)
{
    if (t->wide) sb_str(out, "<div class=\"wide\">\n");
    sb_str(out, "<table");
    if (t->cls) sb_printf(out, " class=\"%s\"", t->cls);
    if (t->id) sb_printf(out, " id=\"%s\"", t->id);
    sb_str(out, ">\n<thead><tr>");
    for (size_t c = 0; c < t->ncols; c++) {
        sb_str(out, "<th>");
        sb_html(out, t->cols[c].title);
        sb_str(out, "</th>");
    }
    sb_str(out, "</tr></thead>\n<tbody>\n");
    for (size_t r = 0; r < t->nrows; r++) {
        const doc_row *row = &t->rows[r];
        if (row->cls) sb_printf(out, "<tr class=\"%s\">", row->cls);
        else sb_str(out, "<tr>");
        for (size_t c = 0; c < t->ncols; c++) html_cell(out, t->cols[c].kind, c < row->ncells ? row->cells[c] : "");
        sb_str(out, "</tr>\n");
    }
    sb_str(out, "</tbody>\n</table>\n");
    if (t->wide) sb_str(out, "</div>\n");
}

void doc_html(const doc *d, sbuf *out)
{
    if (d->failed) out->failed = 1;
    for (size_t i = 0; i < d->n; i++) {
        const doc_block *b = &d->v[i];
        if (b->kind == BLOCK_TABLE) {
            html_table(&b->table, out);
            continue;
        }
        sb_str(out, b->kind == BLOCK_HEADING ? "<h3>" : "<p>");
        sb_html(out, b->text);
        sb_str(out, b->kind == BLOCK_HEADING ? "</h3>\n" : "</p>\n");
    }
}
