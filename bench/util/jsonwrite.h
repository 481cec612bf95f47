/* bench/util/jsonwrite.h — the pieces every JSON writer here shares: strings
 * escaped (control characters as \u00XX, bytes that are not valid UTF-8 as
 * \ufffd, so the output is always valid JSON in UTF-8) and doubles with 17
 * significant digits (google/benchmark's max_digits10), NaN and ±Inf as
 * null (gbench's bare NaN is not JSON). */
#ifndef ACCUMBENCH_JSONWRITE_H
#define ACCUMBENCH_JSONWRITE_H

#include <stdio.h>

void jsonw_string(FILE *f, const char *s);
void jsonw_double(FILE *f, double v);
/* "key": (a string key, then ": ") */
void jsonw_key(FILE *f, const char *key);

/* A nesting writer: objects and arrays opened and closed in order, commas
 * and indentation placed by the writer, so a document is written as its
 * structure reads instead of as a chain of punctuation. Every value takes a
 * key: pass NULL inside an array (and for the document itself). Objects are
 * written one member per line up to `pretty_depth` levels, then inline. */
#define JSONW_MAX_DEPTH 16
typedef struct {
    FILE *f;
    int depth;
    int pretty_depth;
    int count[JSONW_MAX_DEPTH];   /* values written so far at each level */
} jsonw;

void jsonw_init(jsonw *w, FILE *f, int pretty_depth);
void jsonw_object(jsonw *w, const char *key);
void jsonw_array(jsonw *w, const char *key);
void jsonw_end(jsonw *w, char close);      /* '}' or ']'; the last end adds a newline */
void jsonw_str(jsonw *w, const char *key, const char *v);     /* NULL -> null */
void jsonw_num(jsonw *w, const char *key, double v);          /* non-finite -> null */
void jsonw_int(jsonw *w, const char *key, long long v);
void jsonw_bool(jsonw *w, const char *key, int v);
void jsonw_null(jsonw *w, const char *key);
/* text that is already one JSON value (e.g. another program's --json) */
void jsonw_raw(jsonw *w, const char *key, const char *json);

#endif
