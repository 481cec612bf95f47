/* bench/util/jsonread.c — see jsonread.h. A recursive-descent parser, one call
 * level per nesting level (bounded by JSONR_MAX_DEPTH), writing nodes into a
 * growing array addressed by index and strings into one block sized from the
 * input, so no input can make it overflow, loop or recurse without bound. */
#include "jsonread.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t len, pos, line;
    const char *name;
    jsonr_doc *d;
    char *err;
    size_t err_len;
} parser;

static int perr(parser *p, const char *fmt, ...)
{
    if (!p->err || !p->err_len) return -1;
    int n = snprintf(p->err, p->err_len, "%s:%zu: ", p->name, p->line);
    if (n < 0 || (size_t)n >= p->err_len) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->err_len - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == '\n') p->line++;
        else if (c != ' ' && c != '\t' && c != '\r') return;
        p->pos++;
    }
}

static int peek(const parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static int new_node(parser *p, jsonr_type type, const char *key)
{
    jsonr_doc *d = p->d;
    if (d->n >= JSONR_MAX_NODES) return perr(p, "more than %zu values", JSONR_MAX_NODES);
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 64;
        jsonr_node *v = realloc(d->nodes, cap * sizeof *v);
        if (!v) return perr(p, "out of memory");
        d->nodes = v;
        d->cap = cap;
    }
    jsonr_node *nd = &d->nodes[d->n];
    memset(nd, 0, sizeof *nd);
    nd->type = type;
    nd->key = key;
    nd->first_child = nd->next_sibling = -1;
    return (int)d->n++;
}

/* appends bytes to the string block (sized so that it cannot run out) */
static char *str_begin(parser *p) { return p->d->strings + p->d->strings_len; }
static void str_put(parser *p, char c) { p->d->strings[p->d->strings_len++] = c; }

static int hex4(parser *p, unsigned *out)
{
    if (p->len - p->pos < 4) return perr(p, "\\u needs four hex digits");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return perr(p, "\\u needs four hex digits");
    }
    *out = v;
    return 0;
}

static void put_utf8(parser *p, unsigned cp)
{
    if (cp < 0x80) {
        str_put(p, (char)cp);
    } else if (cp < 0x800) {
        str_put(p, (char)(0xC0 | (cp >> 6)));
        str_put(p, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        str_put(p, (char)(0xE0 | (cp >> 12)));
        str_put(p, (char)(0x80 | ((cp >> 6) & 0x3F)));
        str_put(p, (char)(0x80 | (cp & 0x3F)));
    } else {
        str_put(p, (char)(0xF0 | (cp >> 18)));
        str_put(p, (char)(0x80 | ((cp >> 12) & 0x3F)));
        str_put(p, (char)(0x80 | ((cp >> 6) & 0x3F)));
        str_put(p, (char)(0x80 | (cp & 0x3F)));
    }
}

/* at '"'; returns the unescaped, NUL-terminated text, or NULL */
static const char *parse_string(parser *p)
{
    size_t open_line = p->line;
    p->pos++;
    char *out = str_begin(p);
    for (;;) {
        if (p->pos >= p->len) {
            p->line = open_line;
            perr(p, "unterminated string (it opens on this line)");
            return NULL;
        }
        unsigned char c = (unsigned char)p->s[p->pos++];
        if (c == '"') break;
        if (c < 0x20) {
            perr(p, "control character 0x%02x in a string (write it as \\u%04x)", c, c);
            return NULL;
        }
        if (c != '\\') {
            str_put(p, (char)c);
            continue;
        }
        if (p->pos >= p->len) continue;     /* reported as unterminated */
        char e = p->s[p->pos++];
        switch (e) {
        case '"': str_put(p, '"'); break;
        case '\\': str_put(p, '\\'); break;
        case '/': str_put(p, '/'); break;
        case 'b': str_put(p, '\b'); break;
        case 'f': str_put(p, '\f'); break;
        case 'n': str_put(p, '\n'); break;
        case 'r': str_put(p, '\r'); break;
        case 't': str_put(p, '\t'); break;
        case 'u': {
            unsigned cp;
            if (hex4(p, &cp)) return NULL;
            if (cp >= 0xD800 && cp <= 0xDBFF && p->len - p->pos >= 6 && p->s[p->pos] == '\\' &&
                p->s[p->pos + 1] == 'u') {
                size_t save = p->pos;
                unsigned lo;
                p->pos += 2;
                if (hex4(p, &lo)) return NULL;
                if (lo >= 0xDC00 && lo <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                else p->pos = save;
            }
            if (cp == 0) {
                perr(p, "\\u0000 in a string is not supported");
                return NULL;
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;   /* a lone surrogate, as Python allows */
            put_utf8(p, cp);
            break;
        }
        default:
            perr(p, "unknown escape '\\%c' in a string", e >= 0x20 && e < 0x7f ? e : '?');
            return NULL;
        }
    }
    str_put(p, '\0');
    return out;
}

static int match(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) return 0;
    p->pos += n;
    return 1;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *p, int node)
{
    size_t start = p->pos;
    int special = 1;
    double value = 0;
    if (match(p, "NaN")) value = NAN;
    else if (match(p, "Infinity")) value = INFINITY;
    else if (match(p, "-Infinity")) value = -INFINITY;
    else {
        special = 0;
        if (peek(p) == '-') p->pos++;
        if (peek(p) == '0') p->pos++;
        else if (is_digit(peek(p))) while (is_digit(peek(p))) p->pos++;
        else return perr(p, "expected a value");
        if (peek(p) == '.') {
            p->pos++;
            if (!is_digit(peek(p))) return perr(p, "a digit must follow '.' in a number");
            while (is_digit(peek(p))) p->pos++;
        }
        if (peek(p) == 'e' || peek(p) == 'E') {
            p->pos++;
            if (peek(p) == '+' || peek(p) == '-') p->pos++;
            if (!is_digit(peek(p))) return perr(p, "a digit must follow the exponent in a number");
            while (is_digit(peek(p))) p->pos++;
        }
    }
    char *text = str_begin(p);
    for (size_t i = start; i < p->pos; i++) str_put(p, p->s[i]);
    str_put(p, '\0');
    jsonr_node *nd = &p->d->nodes[node];
    nd->text = text;
    nd->num = special ? value : strtod(text, NULL);   /* 1e999 reads as inf */
    return 0;
}

static int parse_value(parser *p, int depth, const char *key);

static int parse_container(parser *p, int node, int depth, int object)
{
    char close = object ? '}' : ']';
    p->pos++;
    skip_ws(p);
    if (peek(p) == close) {
        p->pos++;
        return 0;
    }
    int last = -1;
    for (;;) {
        const char *key = NULL;
        if (object) {
            skip_ws(p);
            if (peek(p) != '"') return perr(p, "expected a member name in quotes");
            key = parse_string(p);
            if (!key) return -1;
            skip_ws(p);
            if (peek(p) != ':') return perr(p, "expected ':' after the member name \"%.40s\"", key);
            p->pos++;
        }
        int child = parse_value(p, depth + 1, key);
        if (child < 0) return -1;
        if (last < 0) p->d->nodes[node].first_child = child;
        else p->d->nodes[last].next_sibling = child;
        last = child;
        skip_ws(p);
        int c = peek(p);
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (c == close) {
            p->pos++;
            return 0;
        }
        if (c < 0) return perr(p, "unexpected end of input inside %s", object ? "an object" : "an array");
        return perr(p, "expected ',' or '%c'", close);
    }
}

static int parse_value(parser *p, int depth, const char *key)
{
    skip_ws(p);
    int c = peek(p);
    if (c < 0) return perr(p, "unexpected end of input (expected a value)");
    int node;
    if (c == '{' || c == '[') {
        if (depth >= JSONR_MAX_DEPTH) return perr(p, "nested deeper than %d levels", JSONR_MAX_DEPTH);
        node = new_node(p, c == '{' ? JSONR_OBJECT : JSONR_ARRAY, key);
        if (node < 0 || parse_container(p, node, depth, c == '{')) return -1;
        return node;
    }
    if (c == '"') {
        node = new_node(p, JSONR_STRING, key);
        if (node < 0) return -1;
        const char *s = parse_string(p);
        if (!s) return -1;
        p->d->nodes[node].text = s;
        return node;
    }
    int t = match(p, "true");
    if (t || match(p, "false")) {
        node = new_node(p, JSONR_BOOL, key);
        if (node < 0) return -1;
        p->d->nodes[node].boolean = t;
        p->d->nodes[node].text = t ? "true" : "false";
        return node;
    }
    if (match(p, "null")) return new_node(p, JSONR_NULL, key);
    node = new_node(p, JSONR_NUMBER, key);
    if (node < 0 || parse_number(p, node)) return -1;
    return node;
}

int jsonr_parse(jsonr_doc *d, const char *name, const char *text, size_t len, char *err, size_t err_len)
{
    memset(d, 0, sizeof *d);
    parser p = {text, len, 0, 1, name, d, err, err_len};
    if (len > JSONR_MAX_BYTES) {
        perr(&p, "larger than %zu bytes", JSONR_MAX_BYTES);
        return -1;
    }
    /* each string or number adds at most its source bytes plus a NUL */
    d->strings = malloc(2 * len + 16);
    if (!d->strings) {
        perr(&p, "out of memory");
        return -1;
    }
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) p.pos = 3;
    if (parse_value(&p, 0, NULL) < 0) {
        jsonr_free(d);
        return -1;
    }
    skip_ws(&p);
    if (p.pos != p.len) {
        perr(&p, "text after the end of the document");
        jsonr_free(d);
        return -1;
    }
    return 0;
}

int jsonr_read_file(jsonr_doc *d, const char *path, char *err, size_t err_len)
{
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(JSONR_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, JSONR_MAX_BYTES + 1, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err, err_len, "%s: %s", path, buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    int rc = jsonr_parse(d, path, buf, n, err, err_len);
    free(buf);  /* nodes point into d->strings only */
    return rc;
}

void jsonr_free(jsonr_doc *d)
{
    free(d->nodes);
    free(d->strings);
    memset(d, 0, sizeof *d);
}

int jsonr_get(const jsonr_doc *d, int obj, const char *key)
{
    if (obj < 0 || (size_t)obj >= d->n || d->nodes[obj].type != JSONR_OBJECT) return -1;
    for (int c = d->nodes[obj].first_child; c >= 0; c = d->nodes[c].next_sibling)
        if (!strcmp(d->nodes[c].key, key)) return c;
    return -1;
}

int jsonr_path(const jsonr_doc *d, const char *path)
{
    if (d->n == 0) return -1;
    int node = 0;
    char part[256];
    while (*path && node >= 0) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof part) return -1;
        memcpy(part, path, n);
        part[n] = '\0';
        path += n + (path[n] == '.');
        if (d->nodes[node].type == JSONR_ARRAY) {
            char *end;
            long idx = strtol(part, &end, 10);
            if (!n || *end || idx < 0) return -1;
            int c = d->nodes[node].first_child;
            while (c >= 0 && idx-- > 0) c = d->nodes[c].next_sibling;
            node = c;
        } else {
            node = jsonr_get(d, node, part);
        }
    }
    return node;
}

const char *jsonr_text(const jsonr_doc *d, int node)
{
    if (node < 0 || (size_t)node >= d->n) return NULL;
    jsonr_type t = d->nodes[node].type;
    return t == JSONR_STRING || t == JSONR_NUMBER || t == JSONR_BOOL ? d->nodes[node].text : NULL;
}

static void leaves(const jsonr_doc *d, int node, char *path, size_t len, size_t cap, jsonr_leaf_fn fn, void *user)
{
    const jsonr_node *nd = &d->nodes[node];
    if (nd->type != JSONR_OBJECT && nd->type != JSONR_ARRAY) {
        fn(user, path, nd);
        return;
    }
    size_t i = 0;
    for (int c = nd->first_child; c >= 0; c = d->nodes[c].next_sibling, i++) {
        char idx[32];
        const char *part = nd->type == JSONR_OBJECT ? d->nodes[c].key : (snprintf(idx, sizeof idx, "%zu", i), idx);
        int w = snprintf(path + len, cap - len, "%s%s", len ? "." : "", part);
        size_t nl = w < 0 ? len : len + (size_t)w;
        if (nl >= cap) nl = cap - 1;
        leaves(d, c, path, nl, cap, fn, user);
        path[len] = '\0';
    }
}

void jsonr_leaves(const jsonr_doc *d, jsonr_leaf_fn fn, void *user)
{
    if (d->n == 0) return;
    char path[513] = "";
    leaves(d, 0, path, 0, sizeof path, fn, user);
}
