/* bench/cli/parse.h — strict parsers for numbers and sizes. Each returns 0 on
 * success, else -1 with a short reason ("must be an integer in 1..64"). */
#ifndef ACCUMBENCH_PARSE_H
#define ACCUMBENCH_PARSE_H

#include <stddef.h>
#include <stdint.h>

int parse_int(const char *s, long lo, long hi, long *out, char *why, size_t why_len);
int parse_u64(const char *s, uint64_t *out, char *why, size_t why_len);
/* finite, lo < x <= hi (lo exclusive, so "> 0" is lo = 0) */
int parse_double(const char *s, double lo, double hi, double *out, char *why, size_t why_len);
/* finite, lo <= x <= hi (for settings where lo itself means "off", e.g. --min-time 0) */
int parse_double_closed(const char *s, double lo, double hi, double *out, char *why, size_t why_len);
/* bytes, K/M/G/T or KiB/MiB/GiB/TiB (1024^n), KB/MB/GB/TB (1000^n); may have a
 * fraction ("1.5GiB"); must be > 0 */
int parse_size(const char *s, uint64_t *out, char *why, size_t why_len);
/* "12.5%" or "0.125" → fraction; lo < x <= hi */
int parse_fraction(const char *s, double lo, double hi, double *out, char *why, size_t why_len);

#endif
