/* bench/util/jsonread.h — a small JSON reader for meta.json and the like.
 *
 * Parses RFC 8259 JSON (objects, arrays, strings with every escape including
 * surrogate pairs, numbers, true/false/null) into a tree of nodes, and also
 * takes the non-standard NaN, Infinity and -Infinity that Python's json
 * module writes by default. Tolerant of content (callers look fields up and
 * treat a missing field or null alike), strict about syntax: anything else is
 * an error "name:line: reason".
 *
 * Bounded: at most JSONR_MAX_BYTES of input, JSONR_MAX_DEPTH levels of
 * nesting (the parser recurses once per level) and JSONR_MAX_NODES values;
 * strings are stored unescaped and NUL-terminated in one block allocated up
 * front (an unescaped string is never longer than its source). Nodes are
 * addressed by index; -1 means none. With duplicate keys, lookups find the
 * first. */
#ifndef ACCUMBENCH_JSONREAD_H
#define ACCUMBENCH_JSONREAD_H

#include <stddef.h>

#define JSONR_MAX_BYTES ((size_t)4 << 20)
#define JSONR_MAX_DEPTH 64
#define JSONR_MAX_NODES ((size_t)1 << 20)

typedef enum { JSONR_NULL, JSONR_BOOL, JSONR_NUMBER, JSONR_STRING, JSONR_ARRAY, JSONR_OBJECT } jsonr_type;

typedef struct {
    jsonr_type type;
    const char *key;            /* member name when the parent is an object, else NULL */
    const char *text;           /* strings unescaped; numbers as written; "true", "false", "null" */
    double num;                 /* numbers (NaN/±Inf for the Python literals) */
    int boolean;
    int first_child, next_sibling;
} jsonr_node;

typedef struct {
    jsonr_node *nodes;
    size_t n, cap;
    char *strings;              /* unescaped text, NUL-terminated pieces */
    size_t strings_len;
} jsonr_doc;

/* 0, or -1 with "name:line: reason" in err and *d empty. The root is node 0. */
int jsonr_parse(jsonr_doc *d, const char *name, const char *text, size_t len, char *err, size_t err_len);
/* Reads PATH whole (up to JSONR_MAX_BYTES); 0, or -1 with the reason in err. */
int jsonr_read_file(jsonr_doc *d, const char *path, char *err, size_t err_len);
void jsonr_free(jsonr_doc *d);

/* member `key` of object node obj, or -1 */
int jsonr_get(const jsonr_doc *d, int obj, const char *key);
/* dotted path from the root ("device.driver"; array elements by index,
 * "gpus.0.name"), or -1 */
int jsonr_path(const jsonr_doc *d, const char *path);
/* a scalar's text (strings, numbers, true/false); NULL for null, objects,
 * arrays and node -1 */
const char *jsonr_text(const jsonr_doc *d, int node);

/* Calls fn for every scalar (null included) with its dotted path, in
 * document order. Paths longer than 512 bytes are cut. */
typedef void (*jsonr_leaf_fn)(void *user, const char *path, const jsonr_node *leaf);
void jsonr_leaves(const jsonr_doc *d, jsonr_leaf_fn fn, void *user);

#endif
