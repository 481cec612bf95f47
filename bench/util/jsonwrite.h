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

#endif
