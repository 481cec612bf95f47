/* bench/util/jsonwrite.c — see jsonwrite.h. */
#include "jsonwrite.h"

#include <math.h>

/* length of the valid UTF-8 sequence at s, or 0 */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    int n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) n = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, min = 0x10000;
    else return 0;
    unsigned cp = c & (0x3Fu >> (n - 1));
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;    /* also stops at the NUL */
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

void jsonw_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    fputc('"', f);
    while (*s) {
        unsigned c = *s;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
            s++;
        } else if (c == '\n') {
            fputs("\\n", f);
            s++;
        } else if (c == '\t') {
            fputs("\\t", f);
            s++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
            s++;
        } else if (c < 0x80) {
            fputc((int)c, f);
            s++;
        } else {
            int n = utf8_len(s);
            if (n == 0) {
                fputs("\\ufffd", f);
                s++;
            } else {
                fwrite(s, 1, (size_t)n, f);
                s += n;
            }
        }
    }
    fputc('"', f);
}

void jsonw_double(FILE *f, double v)
{
    if (!isfinite(v)) fputs("null", f);
    else fprintf(f, "%.17g", v);
}

void jsonw_key(FILE *f, const char *key)
{
    jsonw_string(f, key);
    fputs(": ", f);
}

// ----------------------------------------------------------------------------
// the nesting writer

void jsonw_init(jsonw *w, FILE *f, int pretty_depth)
{
    w->f = f;
    w->depth = 0;
    w->pretty_depth = pretty_depth;
    w->count[0] = 0;
}

/* the separator, indentation and key before a value at the current level */
static void member(jsonw *w, const char *key)
{
    int d = w->depth;
    if (d > 0 && w->count[d]++) fputc(',', w->f);
    if (d > 0 && d <= w->pretty_depth) fprintf(w->f, "\n%*s", 2 * d, "");
    else if (d > 0 && w->count[d] > 1) fputc(' ', w->f);
    if (key) jsonw_key(w->f, key);
}

static void open_level(jsonw *w, const char *key, char open)
{
    member(w, key);
    fputc(open, w->f);
    if (w->depth + 1 < JSONW_MAX_DEPTH) w->count[++w->depth] = 0;
}

void jsonw_object(jsonw *w, const char *key) { open_level(w, key, '{'); }
void jsonw_array(jsonw *w, const char *key) { open_level(w, key, '['); }

void jsonw_end(jsonw *w, char close)
{
    int d = w->depth;
    if (d <= 0) return;
    if (d <= w->pretty_depth && w->count[d]) fprintf(w->f, "\n%*s", 2 * (d - 1), "");
    fputc(close, w->f);
    w->depth--;
    if (w->depth == 0) fputc('\n', w->f);
}

void jsonw_str(jsonw *w, const char *key, const char *v)
{
    member(w, key);
    if (v) jsonw_string(w->f, v);
    else fputs("null", w->f);
}

void jsonw_num(jsonw *w, const char *key, double v)
{
    member(w, key);
    jsonw_double(w->f, v);
}

void jsonw_int(jsonw *w, const char *key, long long v)
{
    member(w, key);
    fprintf(w->f, "%lld", v);
}

void jsonw_bool(jsonw *w, const char *key, int v)
{
    member(w, key);
    fputs(v ? "true" : "false", w->f);
}

void jsonw_null(jsonw *w, const char *key)
{
    member(w, key);
    fputs("null", w->f);
}

void jsonw_raw(jsonw *w, const char *key, const char *json)
{
    member(w, key);
    fputs(json, w->f);
}
