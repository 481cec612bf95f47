/* tests/fuzz/fuzz_jsonread.c — bench/util/jsonread.c, the JSON reader compare
 * uses for meta.json. On every input: a failure is "fuzz.json:LINE: ..."
 * and leaves the document empty; a success is a well-formed tree (indices in
 * range, children after their parent, object members keyed, array elements
 * not), every lookup (jsonr_get, jsonr_path, jsonr_leaves) stays inside it,
 * and writing the tree back as JSON parses to the same tree. */
#include "fuzz.h"
#include "jsonread.h"

#include <string.h>

#define NAME "fuzz.json"

static void check_tree(const jsonr_doc *d, int node, int depth)
{
    const jsonr_node *nd = &d->nodes[node];
    FUZZ_CHECK(depth <= JSONR_MAX_DEPTH + 1, "depth %d", depth);
    int container = nd->type == JSONR_OBJECT || nd->type == JSONR_ARRAY;
    if (!container) FUZZ_CHECK(nd->first_child == -1, "a scalar with children");
    if (nd->type == JSONR_STRING || nd->type == JSONR_NUMBER || nd->type == JSONR_BOOL)
        FUZZ_CHECK(nd->text && jsonr_text(d, node) == nd->text, "scalar text");
    else FUZZ_CHECK(jsonr_text(d, node) == NULL, "text of a null or container");
    for (int c = nd->first_child; c >= 0; c = d->nodes[c].next_sibling) {
        FUZZ_CHECK(c > node && (size_t)c < d->n, "child %d of %d (n %zu)", c, node, d->n);
        const jsonr_node *cn = &d->nodes[c];
        FUZZ_CHECK((nd->type == JSONR_OBJECT) == (cn->key != NULL), "member keys");
        FUZZ_CHECK(cn->next_sibling == -1 || (cn->next_sibling > c && (size_t)cn->next_sibling < d->n), "sibling");
        if (nd->type == JSONR_OBJECT) {
            /* lookups find the first member of a name */
            int first = jsonr_get(d, node, cn->key);
            FUZZ_CHECK(first >= 0 && first <= c && !strcmp(d->nodes[first].key, cn->key), "jsonr_get");
        }
        check_tree(d, c, depth + 1);
    }
}

typedef struct {
    size_t leaves;
} leaf_count;

static void on_leaf(void *user, const char *path, const jsonr_node *leaf)
{
    leaf_count *lc = user;
    FUZZ_CHECK(strlen(path) <= 512, "leaf path longer than 512");
    FUZZ_CHECK(leaf->type != JSONR_OBJECT && leaf->type != JSONR_ARRAY, "a container as a leaf");
    lc->leaves++;
}

// ----------------------------------------------------------------------------
// writing the tree back

typedef struct {
    char *s;
    size_t len, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap) b->cap = b->cap ? 2 * b->cap : 256;
        b->s = realloc(b->s, b->cap);
        if (!b->s) abort();
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void put_string(buf *b, const char *s)
{
    put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c < 0x20 && strchr("\b\f\n\r\t", c)) {
            /* the short escapes keep the text no longer than its source */
            esc[0] = '\\';
            esc[1] = "btnfr"[strchr("\b\t\n\f\r", c) - "\b\t\n\f\r"];
            put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(b, esc, 6);
        } else {
            put(b, (const char *)&c, 1);
        }
    }
    put(b, "\"", 1);
}

static void write_node(const jsonr_doc *d, int node, buf *b)
{
    const jsonr_node *nd = &d->nodes[node];
    switch (nd->type) {
    case JSONR_NULL: put(b, "null", 4); break;
    case JSONR_BOOL:
    case JSONR_NUMBER: put(b, nd->text, strlen(nd->text)); break;
    case JSONR_STRING: put_string(b, nd->text); break;
    case JSONR_ARRAY:
    case JSONR_OBJECT:
        put(b, nd->type == JSONR_OBJECT ? "{" : "[", 1);
        for (int c = nd->first_child; c >= 0; c = d->nodes[c].next_sibling) {
            if (c != nd->first_child) put(b, ",", 1);
            if (nd->type == JSONR_OBJECT) {
                put_string(b, d->nodes[c].key);
                put(b, ":", 1);
            }
            write_node(d, c, b);
        }
        put(b, nd->type == JSONR_OBJECT ? "}" : "]", 1);
        break;
    }
}

static void check_same(const jsonr_doc *a, const jsonr_doc *b)
{
    FUZZ_CHECK(a->n == b->n, "round trip: %zu nodes, then %zu", a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const jsonr_node *x = &a->nodes[i], *y = &b->nodes[i];
        FUZZ_CHECK(x->type == y->type && x->first_child == y->first_child && x->next_sibling == y->next_sibling,
                   "round trip: node %zu shape", i);
        FUZZ_CHECK((x->key == NULL) == (y->key == NULL) && (!x->key || !strcmp(x->key, y->key)), "node %zu key", i);
        FUZZ_CHECK((x->text == NULL) == (y->text == NULL) && (!x->text || !strcmp(x->text, y->text)),
                   "node %zu text", i);
        FUZZ_CHECK(x->boolean == y->boolean, "node %zu boolean", i);
        FUZZ_CHECK(x->num == y->num || (x->num != x->num && y->num != y->num), "node %zu number", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jsonr_doc d;
    char err[512] = "";
    int rc = jsonr_parse(&d, NAME, (const char *)data, size, err, sizeof err);
    if (rc != 0) {
        FUZZ_CHECK(!strncmp(err, NAME ":", strlen(NAME ":")), "message '%s'", err);
        FUZZ_CHECK(d.nodes == NULL && d.n == 0, "a failed parse leaves the document empty");
        FUZZ_CHECK(jsonr_path(&d, "a") == -1 && jsonr_get(&d, 0, "a") == -1, "lookups in an empty document");
        /* no error buffer: still no crash */
        FUZZ_CHECK(jsonr_parse(&d, NAME, (const char *)data, size, NULL, 0) != 0, "verdict depends on err");
        return 0;
    }
    FUZZ_CHECK(d.n >= 1 && d.nodes[0].key == NULL && d.nodes[0].next_sibling == -1, "root");
    check_tree(&d, 0, 0);
    leaf_count lc = {0};
    jsonr_leaves(&d, on_leaf, &lc);
    size_t scalars = 0;
    for (size_t i = 0; i < d.n; i++) scalars += d.nodes[i].type != JSONR_OBJECT && d.nodes[i].type != JSONR_ARRAY;
    FUZZ_CHECK(lc.leaves == scalars, "jsonr_leaves saw %zu of %zu scalars", lc.leaves, scalars);
    static const char *paths[] = {"", "a", "0", "0.0", "device.driver", "gpus.0.name", "a..b", ".", "-1", "99999999999999999999"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int n = jsonr_path(&d, paths[i]);
        FUZZ_CHECK(n >= -1 && n < (int)d.n, "jsonr_path('%s') = %d", paths[i], n);
        jsonr_text(&d, n);
    }
    FUZZ_CHECK(jsonr_text(&d, -1) == NULL && jsonr_text(&d, (int)d.n) == NULL, "jsonr_text out of range");

    buf b = {0};
    write_node(&d, 0, &b);
    jsonr_doc e;
    rc = jsonr_parse(&e, NAME, b.s, b.len, err, sizeof err);
    FUZZ_CHECK(rc == 0, "the tree written back does not parse: %s", err);
    check_same(&d, &e);
    jsonr_free(&e);
    free(b.s);
    jsonr_free(&d);
    return 0;
}
