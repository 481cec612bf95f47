/* bench/cmd/report/text.h — growable text for the report's outputs: every
 * file the report writes is built whole in memory, then written atomically
 * (files_write_atomic), so a reader never sees half a page. An allocation
 * failure marks the text `failed` and later appends do nothing: one check at
 * the end instead of one per append. */
#ifndef ACCUMBENCH_REPORT_TEXT_H
#define ACCUMBENCH_REPORT_TEXT_H

#include <stddef.h>

typedef struct {
    char *s;                    /* NUL-terminated once anything was appended */
    size_t n, cap;
    int failed;                 /* an allocation failed: the text is incomplete */
} sbuf;

void sb_put(sbuf *b, const char *s, size_t n);
void sb_str(sbuf *b, const char *s);
void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s with HTML's five special characters escaped */
void sb_html(sbuf *b, const char *s);
void sb_free(sbuf *b);
/* 0, or -1 with errno (ENOMEM when the text is incomplete) */
int sb_write_file(const sbuf *b, const char *path);

/* snprintf for paths and messages: 0, or -1 with errno ENAMETOOLONG when the
 * text did not fit (it is then truncated, never unterminated) */
int fmt_into(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
