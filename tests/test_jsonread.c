/* tests/test_jsonread.c — the meta.json reader (jsonread.h): values, paths,
 * leaves, escapes, errors with their line, the depth bound and a fuzz loop
 * (mutated and random documents must parse or fail cleanly); the JSON
 * writer's strings and doubles read back through it; the string map. */
#include "check.h"
#include "jsonread.h"
#include "jsonwrite.h"
#include "strmap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char sample[] =
    "\xEF\xBB\xBF{\"schema_version\": 1,\n"
    " \"device\": {\"name\": \"NVIDIA H100\", \"driver\": \"550.54.15\", \"clocks\": {\"sm_mhz\": 1980}},\n"
    " \"git\": {\"commit\": \"abc123\", \"dirty\": false},\n"
    " \"list\": [1, \"two\", null, true, -2.5e-3],\n"
    " \"esc\": \"a\\\"b\\\\c\\/\\n\\u00e9\\ud83d\\ude00\\udc00\",\n"
    " \"nan\": NaN, \"inf\": -Infinity, \"empty\": {}, \"arr\": []}\n";

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

typedef struct {
    int n;
    char paths[32][64];
} leaves_seen;

static void on_leaf(void *user, const char *path, const jsonr_node *leaf)
{
    leaves_seen *s = user;
    (void)leaf;
    if (s->n < 32) snprintf(s->paths[s->n], sizeof s->paths[0], "%s", path);
    s->n++;
}

static void count_leaf(void *user, const char *path, const jsonr_node *leaf)
{
    (void)path;
    (void)leaf;
    (*(int *)user)++;
}

static void expect_error(const char *text, const char *want_prefix, const char *what)
{
    jsonr_doc d;
    char err[256] = "";
    int rc = jsonr_parse(&d, "t.json", text, strlen(text), err, sizeof err);
    CHECK(rc == -1, "%s: parsed", what);
    CHECK(!strncmp(err, want_prefix, strlen(want_prefix)), "%s: error '%s', want prefix '%s'", what, err, want_prefix);
    CHECK(d.nodes == NULL && d.strings == NULL, "%s: doc left empty", what);
}

static void test_values(void)
{
    jsonr_doc d;
    char err[256];
    CHECK(jsonr_parse(&d, "t.json", sample, strlen(sample), err, sizeof err) == 0, "sample: %s", err);
    CHECK(!strcmp(jsonr_text(&d, jsonr_path(&d, "device.driver")), "550.54.15"), "device.driver");
    int clk = jsonr_path(&d, "device.clocks.sm_mhz");
    CHECK(clk >= 0 && d.nodes[clk].type == JSONR_NUMBER && d.nodes[clk].num == 1980, "sm_mhz");
    CHECK(!strcmp(jsonr_text(&d, jsonr_path(&d, "list.1")), "two"), "list.1");
    int nul = jsonr_path(&d, "list.2");
    CHECK(nul >= 0 && d.nodes[nul].type == JSONR_NULL && jsonr_text(&d, nul) == NULL, "list.2 null");
    int dirty = jsonr_path(&d, "git.dirty");
    CHECK(dirty >= 0 && d.nodes[dirty].type == JSONR_BOOL && !d.nodes[dirty].boolean, "git.dirty");
    CHECK(!strcmp(jsonr_text(&d, dirty), "false"), "bool text");
    int num = jsonr_path(&d, "list.4");
    CHECK(num >= 0 && d.nodes[num].num == -2.5e-3 && !strcmp(d.nodes[num].text, "-2.5e-3"), "number text kept");
    CHECK(!strcmp(jsonr_text(&d, jsonr_path(&d, "esc")), "a\"b\\c/\n\xC3\xA9\xF0\x9F\x98\x80\xEF\xBF\xBD"),
          "escapes, surrogate pair, lone surrogate as U+FFFD");
    CHECK(isnan(d.nodes[jsonr_path(&d, "nan")].num), "NaN");
    CHECK(isinf(d.nodes[jsonr_path(&d, "inf")].num) && d.nodes[jsonr_path(&d, "inf")].num < 0, "-Infinity");
    CHECK(jsonr_path(&d, "device.missing") == -1 && jsonr_path(&d, "device.name.x") == -1 &&
              jsonr_path(&d, "list.9") == -1 && jsonr_path(&d, "list.x") == -1,
          "missing paths");
    CHECK(jsonr_text(&d, jsonr_path(&d, "device")) == NULL, "objects have no text");
    leaves_seen s = {0};
    jsonr_leaves(&d, on_leaf, &s);
    static const char *const want[] = {"schema_version", "device.name", "device.driver", "device.clocks.sm_mhz",
                                       "git.commit", "git.dirty", "list.0", "list.1", "list.2", "list.3",
                                       "list.4", "esc", "nan", "inf"};
    CHECK(s.n == 14, "leaves: %d", s.n);
    for (int i = 0; i < 14 && i < s.n; i++) CHECK(!strcmp(s.paths[i], want[i]), "leaf %d: %s", i, s.paths[i]);
    jsonr_free(&d);
}

static void test_errors(void)
{
    expect_error("{\n\"a\": 1,\n}", "t.json:3: expected a member name", "trailing comma");
    expect_error("{\"a\": \"x\n", "t.json:1: control character", "raw newline in a string");
    expect_error("[1,\n 2,\n \"abc", "t.json:3: unterminated string", "unterminated string");
    expect_error("{} x", "t.json:1: text after the end", "trailing text");
    expect_error("01", "t.json:1: text after the end", "leading zero");
    expect_error("", "t.json:1: unexpected end of input", "empty");
    expect_error("[1 2]", "t.json:1: expected ','", "missing comma");
    expect_error("\"\\x\"", "t.json:1: unknown escape", "bad escape");
    expect_error("\"\\u12\"", "t.json:1: \\u needs four hex digits", "short \\u");
    expect_error("\"\\u0000\"", "t.json:1: \\u0000", "NUL escape");
    expect_error("[-]", "t.json:1: expected a value", "lone minus");
    expect_error("[1.]", "t.json:1: a digit must follow '.'", "1.");
    expect_error("[1e]", "t.json:1: a digit must follow the exponent", "1e");
    expect_error("{\"a\" 1}", "t.json:1: expected ':'", "missing colon");
    expect_error("[tru]", "t.json:1: expected a value", "tru");
    /* nesting: JSONR_MAX_DEPTH levels parse, one more does not */
    char deep[2 * (JSONR_MAX_DEPTH + 2) + 1];
    for (int extra = 0; extra <= 1; extra++) {
        int levels = JSONR_MAX_DEPTH + extra;
        size_t n = 0;
        for (int i = 0; i < levels; i++) deep[n++] = '[';
        for (int i = 0; i < levels; i++) deep[n++] = ']';
        deep[n] = '\0';
        jsonr_doc d;
        char err[256];
        int rc = jsonr_parse(&d, "t.json", deep, n, err, sizeof err);
        CHECK(rc == (extra ? -1 : 0), "%d levels: rc %d", levels, rc);
        jsonr_free(&d);
    }
}

static void test_fuzz(void)
{
    size_t base_len = strlen(sample);
    char buf[1024];
    for (int it = 0; it < 20000; it++) {
        size_t n;
        if (it % 4 == 3) {
            static const char alphabet[] = "{}[]\":,0123456789.eE+-truefalsnNaIfiy \\u\n\x01\xff";
            n = rnd() % 64;
            for (size_t i = 0; i < n; i++) buf[i] = alphabet[rnd() % (sizeof alphabet - 1)];
        } else {
            memcpy(buf, sample, base_len);
            n = base_len;
            int edits = 1 + (int)(rnd() % 4);
            for (int e = 0; e < edits; e++) {
                size_t at = rnd() % n;
                switch (rnd() % 4) {
                case 0: buf[at] = (char)(rnd() % 256); break;
                case 1: n = at; break;      /* truncate */
                case 2:
                    if (n + 1 < sizeof buf) {
                        memmove(buf + at + 1, buf + at, n - at);
                        buf[at] = "{[\",:]}\\"[rnd() % 8];
                        n++;
                    }
                    break;
                default:
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                }
                if (n == 0) break;
            }
        }
        /* not NUL-terminated: the parser must stay within n bytes */
        char *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        jsonr_doc d;
        char err[256] = "";
        int rc = jsonr_parse(&d, "t.json", exact, n, err, sizeof err);
        if (rc == 0) {
            int leaves = 0;
            jsonr_leaves(&d, count_leaf, &leaves);
            CHECK(d.n >= 1 && (size_t)leaves <= d.n, "fuzz %d: %d leaves of %zu nodes", it, leaves, d.n);
            jsonr_path(&d, "device.clocks.sm_mhz");
        } else {
            CHECK(rc == -1 && !strncmp(err, "t.json:", 7), "fuzz %d: rc %d err '%s'", it, rc, err);
        }
        jsonr_free(&d);
        free(exact);
    }
}

static void test_writer(void)
{
    for (int it = 0; it < 2000; it++) {
        char s[64];
        size_t n = rnd() % (sizeof s - 1);
        for (size_t i = 0; i < n; i++) s[i] = (char)(1 + rnd() % 255);
        s[n] = '\0';
        if (it == 0) snprintf(s, sizeof s, "h\xC3\xA9llo \"q\" \\ \t\x7f \xF0\x9F\x98\x80");
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        jsonw_string(f, s);
        fclose(f);
        jsonr_doc d;
        char err[256];
        int rc = jsonr_parse(&d, "w.json", text, len, err, sizeof err);
        CHECK(rc == 0, "writer output parses: %s (%s)", err, text);
        if (rc == 0 && it == 0) CHECK(!strcmp(d.nodes[0].text, s), "round trip '%s'", d.nodes[0].text);
        jsonr_free(&d);
        free(text);
    }
    static const double values[] = {0.1, 1e300, -2.5e-310, 123456789012345678.0, 1.0 / 3.0, 0.0};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        jsonw_double(f, values[i]);
        fclose(f);
        jsonr_doc d;
        char err[256];
        CHECK(jsonr_parse(&d, "w.json", text, len, err, sizeof err) == 0, "double %s: %s", text, err);
        if (d.n) CHECK(d.nodes[0].num == values[i], "17 digits round trip: %s", text);
        jsonr_free(&d);
        free(text);
    }
    const double bad[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        jsonw_double(f, bad[i]);
        fclose(f);
        CHECK(!strcmp(text, "null"), "non-finite as null: %s", text);
        free(text);
    }
}

/* the nesting writer: a document with every value kind, nested both pretty
 * and inline, parses back to the same values and paths */
static void test_nesting_writer(void)
{
    for (int pretty = 0; pretty <= 3; pretty++) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        jsonw w;
        jsonw_init(&w, f, pretty);
        jsonw_object(&w, NULL);
        jsonw_int(&w, "n", -42);
        jsonw_str(&w, "s", "a,\"b\"");
        jsonw_str(&w, "none", NULL);
        jsonw_object(&w, "empty");
        jsonw_end(&w, '}');
        jsonw_array(&w, "list");
        jsonw_num(&w, NULL, 0.5);
        jsonw_num(&w, NULL, NAN);
        jsonw_object(&w, NULL);
        jsonw_bool(&w, "t", 1);
        jsonw_raw(&w, "raw", "[1, {\"x\": 2}]");
        jsonw_end(&w, '}');
        jsonw_end(&w, ']');
        jsonw_null(&w, "last");
        jsonw_end(&w, '}');
        fclose(f);
        jsonr_doc d;
        char err[256];
        int rc = jsonr_parse(&d, "nest.json", text, len, err, sizeof err);
        CHECK(rc == 0, "pretty %d: parses: %s\n%s", pretty, err, text);
        if (rc == 0) {
            CHECK(!strcmp(jsonr_text(&d, jsonr_path(&d, "n")), "-42"), "pretty %d: n", pretty);
            CHECK(!strcmp(jsonr_text(&d, jsonr_path(&d, "s")), "a,\"b\""), "pretty %d: s", pretty);
            CHECK(d.nodes[jsonr_path(&d, "none")].type == JSONR_NULL, "pretty %d: null", pretty);
            CHECK(d.nodes[jsonr_path(&d, "empty")].first_child < 0, "pretty %d: empty object", pretty);
            CHECK(d.nodes[jsonr_path(&d, "list.0")].num == 0.5, "pretty %d: list.0", pretty);
            CHECK(d.nodes[jsonr_path(&d, "list.1")].type == JSONR_NULL, "pretty %d: NaN as null", pretty);
            CHECK(!strcmp(jsonr_text(&d, jsonr_path(&d, "list.2.t")), "true"), "pretty %d: bool", pretty);
            CHECK(d.nodes[jsonr_path(&d, "list.2.raw.1.x")].num == 2, "pretty %d: raw", pretty);
            CHECK(d.nodes[jsonr_path(&d, "last")].type == JSONR_NULL, "pretty %d: last", pretty);
        }
        CHECK(len > 0 && text[len - 1] == '\n', "pretty %d: the document ends its line", pretty);
        jsonr_free(&d);
        free(text);
    }
}

static void test_strmap(void)
{
    strmap m;
    strmap_init(&m);
    char key[32];
    for (size_t i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "k%zu", i * 7919);
        CHECK(strmap_put(&m, key, i) == 0, "put");
    }
    CHECK(m.n == 10000, "size %zu", m.n);
    size_t v = 0;
    for (size_t i = 0; i < 10000; i += 37) {
        snprintf(key, sizeof key, "k%zu", i * 7919);
        CHECK(strmap_get(&m, key, &v) && v == i, "get %s", key);
    }
    CHECK(!strmap_get(&m, "absent", &v), "absent key");
    strmap_put(&m, "k0", 42);
    CHECK(strmap_get(&m, "k0", &v) && v == 42 && m.n == 10000, "replace");
    strmap_free(&m);
}

int main(void)
{
    test_values();
    test_errors();
    test_fuzz();
    test_writer();
    test_nesting_writer();
    test_strmap();
    return CHECK_DONE();
}
