/* tests/test_parse.c — the strict number and size parsers: accepted forms
 * give exact values, everything else is rejected with a reason; the flag
 * table: every flag lands in its own field, checked field by field by name
 * here (not through the table's offsets); and run --print-config's JSON. */
#include "check.h"
#include "cli.h"
#include "flags.h"
#include "jsonread.h"
#include "parse.h"
#include "results.h"

#include <stdlib.h>
#include <string.h>

static void test_sizes(void)
{
    static const struct { const char *s; uint64_t want; } good[] = {
        {"1", 1}, {"4096", 4096}, {"1K", 1024}, {"1KiB", 1024}, {"1KB", 1000}, {"2M", 2097152},
        {"2MiB", 2097152}, {"2MB", 2000000}, {"3G", 3221225472ull}, {"3GiB", 3221225472ull}, {"3GB", 3000000000ull},
        {"1T", 1099511627776ull}, {"1TB", 1000000000000ull}, {"1.5G", 1610612736ull}, {"0.5K", 512},
        {"18446744073709551615", 18446744073709551615ull},
    };
    static const char *bad[] = {"", "0", "-1", "12Q", "K", "1.5.5G", " 1G", "1G ", "1g", "1kb", "0.0001", "1e3",
                                "18446744073709551616", "99999999999T", "0x10", "+5", "1 G", "nan", "inf"};
    char why[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t v = 0;
        int rc = parse_size(good[i].s, &v, why, sizeof why);
        CHECK(rc == 0 && v == good[i].want, "parse_size('%s') = %d, %llu; want %llu", good[i].s, rc,
              (unsigned long long)v, (unsigned long long)good[i].want);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 0;
        why[0] = '\0';
        CHECK(parse_size(bad[i], &v, why, sizeof why) != 0 && strstr(why, bad[i]), "parse_size('%s') accepted or no reason", bad[i]);
    }
}

static void test_ints(void)
{
    char why[256];
    long v;
    CHECK(parse_int("42", 1, 100, &v, why, sizeof why) == 0 && v == 42, "42");
    CHECK(parse_int("1", 1, 100, &v, why, sizeof why) == 0 && v == 1, "lower bound");
    CHECK(parse_int("100", 1, 100, &v, why, sizeof why) == 0 && v == 100, "upper bound");
    static const char *bad[] = {"0", "101", "-5", "4x", "x", "", " 4", "4 ", "99999999999999999999", "1e2", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(parse_int(bad[i], 1, 100, &v, why, sizeof why) != 0 && strstr(why, "1..100"), "parse_int('%s') accepted", bad[i]);
    uint64_t u;
    CHECK(parse_u64("18446744073709551615", &u, why, sizeof why) == 0 && u == 18446744073709551615ull, "u64 max");
    CHECK(parse_u64("-1", &u, why, sizeof why) != 0, "u64 negative");
    CHECK(parse_u64("18446744073709551616", &u, why, sizeof why) != 0, "u64 overflow");
}

static void test_doubles(void)
{
    char why[256];
    double v;
    CHECK(parse_double("0.01", 0, 1, &v, why, sizeof why) == 0 && v == 0.01, "0.01");
    CHECK(parse_double("1", 0, 1, &v, why, sizeof why) == 0 && v == 1.0, "upper bound inclusive");
    CHECK(parse_double_closed("0", 0, 1, &v, why, sizeof why) == 0 && v == 0.0, "closed: lower bound inclusive");
    CHECK(parse_double_closed("-0.1", 0, 1, &v, why, sizeof why) != 0 && strstr(why, ">= 0"), "closed: below: %s", why);
    CHECK(parse_double_closed("1.5", 0, 1, &v, why, sizeof why) != 0, "closed: above");
    static const char *bad[] = {"0", "-1", "1.5", "abc", "", "nan", "inf", "1e999", "0.5x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(parse_double(bad[i], 0, 1, &v, why, sizeof why) != 0, "parse_double('%s') accepted", bad[i]);
    CHECK(parse_fraction("5%", 0, 1, &v, why, sizeof why) == 0 && fabs(v - 0.05) < 1e-15, "5%%");
    CHECK(parse_fraction("0.05", 0, 1, &v, why, sizeof why) == 0 && v == 0.05, "0.05");
    CHECK(parse_fraction("150%", 0, 1, &v, why, sizeof why) != 0, "150%% over range");
    CHECK(parse_fraction("%", 0, 1, &v, why, sizeof why) != 0, "bare %%");
    /* found by tests/fuzz/fuzz_parse.c: text past 63 bytes was cut off, so
     * trailing garbage after a long number was accepted */
    CHECK(parse_fraction("0.44444444444444444444444444444444444444444444444444444444444444444-G01", 0, 1, &v, why,
                         sizeof why) != 0, "long fraction with trailing text");
    CHECK(parse_fraction("0.5000000000000000000000000000000000000000000000000000000000000%", 0, 1, &v, why,
                         sizeof why) != 0, "64 bytes with the '%%' is too long");
    CHECK(parse_fraction("0.5000000000000000000000000000000000000000000000000000000000000", 0, 1, &v, why,
                         sizeof why) == 0 && v == 0.5, "63 bytes still fit");
}


// ----------------------------------------------------------------------------
// the flag table

#define MAX_ARGS 64

/* cli_parse over a space-separated command line after "accumbench CMD" */
static int parse_line(cli_command cmd, const char *line, run_config *c, cli_extras *x, char *err, size_t err_len)
{
    static char buf[1024];
    char *argv[MAX_ARGS];
    int argc = 0, help;
    snprintf(buf, sizeof buf, "%s", line);
    argv[argc++] = "accumbench";
    argv[argc++] = cmd == CLI_CMD_RUN ? "run" : "verify";
    for (char *t = strtok(buf, " "); t && argc < MAX_ARGS; t = strtok(NULL, " ")) argv[argc++] = t;
    cli_defaults(c);
    return cli_parse(cmd, argc, argv, 2, c, x, &help, err, err_len);
}

/* every flag of run given a value no default has, then each field by name */
static void test_every_flag(void)
{
    run_config c;
    cli_extras x;
    char err[512] = "";
    int rc = parse_line(CLI_CMD_RUN,
                        "--backend cpu --model cnn --input-dim 11 --hidden 12 --layers 13 --width 16 --stages 2 "
                        "--blocks 4 --norm group --strategy retain --loss-norm sum --micro-batch 5 --iter-size 3 "
                        "--optimizer adamw --math tf32 --conv-algo find --seed 99 --mem-limit 2K --noise 0.05 "
                        "--min-steps 7 --min-time 0 --max-steps 70 --max-time 9.5 --warmup 2 --json --kernels 4 "
                        "--out somewhere --print-config",
                        &c, &x, err, sizeof err);
    CHECK(rc == 0, "every run flag: %s", err);
    if (rc) return;
    CHECK(!strcmp(c.backend, "cpu") && c.model.kind == MODEL_CNN && c.model.input_dim == 11 && c.model.hidden == 12 &&
          c.model.layers == 13 && c.model.width == 16 && c.model.stages == 2 && c.model.blocks == 4 &&
          c.model.norm == NORM_GROUP, "model flags: %s %d %d %d %d %d %d %d %d", c.backend, c.model.kind,
          c.model.input_dim, c.model.hidden, c.model.layers, c.model.width, c.model.stages, c.model.blocks,
          c.model.norm);
    CHECK(c.strategy == STRATEGY_RETAIN && c.loss_norm == LOSS_NORM_SUM && c.micro_batch == 5 && c.iter_size == 3 &&
          c.effective_batch == 15 && c.last_micro_batch == 5, "split flags");
    CHECK(c.optimizer == OPTIMIZER_ADAMW && c.math_tf32 == 1 && c.conv_algo_find == 1 && c.seed == 99 &&
          c.mem_limit_bytes == 2048, "training and backend flags");
    CHECK(c.noise == 0.05 && c.min_steps == 7 && c.min_time_s == 0.0 && c.max_steps == 70 && c.max_time_s == 9.5 &&
          c.warmup == 2, "measurement flags: %g %d %g %d %g %d", c.noise, c.min_steps, c.min_time_s, c.max_steps,
          c.max_time_s, c.warmup);
    CHECK(x.json == 1 && x.kernels == 4 && x.out_dir && !strcmp(x.out_dir, "somewhere") && x.print_config == 1 &&
          !x.dump_dir, "run's extras");
    rc = parse_line(CLI_CMD_VERIFY, "--dump there --norm none --model cnn", &c, &x, err, sizeof err);
    CHECK(rc == 0 && x.dump_dir && !strcmp(x.dump_dir, "there") && c.model.norm == NORM_NONE && !x.json,
          "verify --dump: %s", err);
    rc = parse_line(CLI_CMD_RUN, "", &c, &x, err, sizeof err);
    CHECK(rc == 0 && c.min_time_s == 0.5 && c.noise == 0.01 && c.min_steps == 10, "defaults: min-time %g",
          c.min_time_s);
}

/* Each table entry's field has the size its kind writes (a line pointing a
 * double flag at an int field would corrupt the config), and --help names
 * every flag of its command. */
static void test_table_shape(void)
{
    char *text[2] = {NULL, NULL};
    size_t len[2];
    for (int cmd = 0; cmd < 2; cmd++) {
        FILE *f = open_memstream(&text[cmd], &len[cmd]);
        if (!f) return;
        cli_usage((cli_command)cmd, f);
        fclose(f);
    }
    for (size_t i = 0; i < cli_flag_count; i++) {
        const flag_spec *f = &cli_flags[i];
        size_t want = 0;
        switch (f->kind) {
        case F_INT: case F_CHOICE: case F_SWITCH: want = sizeof(int); break;
        case F_U64: case F_SIZE: want = sizeof(uint64_t); break;
        case F_DOUBLE: want = sizeof(double); break;
        case F_PATH: want = sizeof(const char *); break;
        case F_NAME:
            for (const flag_choice *ch = f->choices; ch->name; ch++)
                if (strlen(ch->name) + 1 > want) want = strlen(ch->name) + 1;
            break;
        }
        CHECK(f->kind == F_NAME ? f->size >= want : f->size == want, "%s: field of %zu bytes, its kind writes %zu",
              f->name, f->size, want);
        for (int cmd = 0; cmd < 2; cmd++) {
            char named[64];
            snprintf(named, sizeof named, "%s ", f->name);
            if (f->commands & (1 << cmd))
                CHECK(text[cmd] && strstr(text[cmd], named), "%s --help does not name %s",
                      cmd == CLI_CMD_RUN ? "run" : "verify", f->name);
        }
    }
    free(text[0]);
    free(text[1]);
}

/* bad values name their flag; flags of one command are unknown to the other */
static void test_flag_errors(void)
{
    static const struct { cli_command cmd; const char *line, *want; } cases[] = {
        {CLI_CMD_RUN, "--min-time -1", "--min-time: must be a number >= 0"},
        {CLI_CMD_RUN, "--min-time 1e8", "--min-time: must be a number >= 0 and <= 1e+07"},
        {CLI_CMD_RUN, "--noise 0", "--noise: must be a number > 0"},
        {CLI_CMD_RUN, "--norm layer", "--norm: must be one of batch|group|none (got 'layer')"},
        {CLI_CMD_RUN, "--backend tpu", "--backend: must be one of auto|cpu|cuda (got 'tpu')"},
        {CLI_CMD_RUN, "--out", "--out: needs a value"},
        {CLI_CMD_RUN, "--json --json", "--json: given more than once"},
        {CLI_CMD_RUN, "--dump d", "--dump: unknown flag for 'run'"},
        {CLI_CMD_VERIFY, "--print-config", "--print-config: unknown flag for 'verify'"},
        {CLI_CMD_VERIFY, "--min-time 1", "--min-time: unknown flag for 'verify'"},
        {CLI_CMD_RUN, "--effective-batch 10 --micro-batch 4 --iter-size 2", "--iter-size: 2 disagrees"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_config c;
        cli_extras x;
        char err[512] = "";
        int rc = parse_line(cases[i].cmd, cases[i].line, &c, &x, err, sizeof err);
        CHECK(rc != 0 && !strncmp(err, cases[i].want, strlen(cases[i].want)), "'%s': got '%s', want '%s...'",
              cases[i].line, err, cases[i].want);
    }
}

static const char *config_text(const jsonr_doc *d, const char *key)
{
    char path[64];
    snprintf(path, sizeof path, "config.%s", key);
    return jsonr_text(d, jsonr_path(d, path));
}

typedef struct { const jsonr_doc *d; int row; int n, mismatched; } column_walk;

static void expect_row_column(void *user, const char *column, const char *text, int is_text)
{
    (void)text;
    (void)is_text;
    column_walk *w = user;
    int node = w->row >= 0 ? w->d->nodes[w->row].first_child : -1;
    for (int i = 0; i < w->n && node >= 0; i++) node = w->d->nodes[node].next_sibling;
    if (node < 0 || strcmp(w->d->nodes[node].key, column) != 0) w->mismatched++;
    w->n++;
}

/* --print-config: valid JSON holding the derived split, the stopping
 * settings under their flags' snake_case names, and a row whose keys are
 * results.csv's columns in order */
static void test_print_config(void)
{
    run_config c;
    cli_extras x;
    char err[512] = "", *text = NULL;
    size_t len = 0;
    int rc = parse_line(CLI_CMD_RUN, "--model cnn --norm group --width 8 --micro-batch 4 --effective-batch 10 "
                        "--min-time 1.25 --mem-limit 1MB --conv-algo find --print-config", &c, &x, err, sizeof err);
    FILE *f = rc == 0 ? open_memstream(&text, &len) : NULL;
    CHECK(f, "print-config flags: %s", err);
    if (!f) return;
    cli_print_config(&c, &x, f);
    fclose(f);
    jsonr_doc d;
    rc = jsonr_parse(&d, "print-config", text, len, err, sizeof err);
    CHECK(rc == 0, "JSON: %s\n%s", err, text);
    if (rc) {
        free(text);
        return;
    }
    static const char *const want[][2] = {
        {"model", "cnn"}, {"norm", "group"}, {"micro_batch", "4"}, {"iter_size", "3"}, {"effective_batch", "10"},
        {"last_micro_batch", "2"}, {"min_time", "1.25"}, {"min_steps", "10"}, {"max_time", "30"}, {"noise", "0.01"},
        {"mem_limit", "1000000"}, {"conv_algo", "find"}, {"math", "fp32"}, {"strategy", "accumulate"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *got = config_text(&d, want[i][0]);
        CHECK(got && !strcmp(got, want[i][1]), "config.%s = %s, want %s", want[i][0], got ? got : "(none)",
              want[i][1]);
    }
    const char *mb[3] = {jsonr_text(&d, jsonr_path(&d, "micro_batches.0")),
                         jsonr_text(&d, jsonr_path(&d, "micro_batches.1")),
                         jsonr_text(&d, jsonr_path(&d, "micro_batches.2"))};
    CHECK(mb[0] && mb[1] && mb[2] && !strcmp(mb[0], "4") && !strcmp(mb[1], "4") && !strcmp(mb[2], "2") &&
          jsonr_path(&d, "micro_batches.3") < 0, "micro_batches 4, 4, 2");
    const char *out = jsonr_text(&d, jsonr_path(&d, "extras.print_config"));
    CHECK(out && !strcmp(out, "true") && jsonr_path(&d, "extras.out") >= 0, "extras");
    result_row r;
    result_init(&r, &c, "auto");
    column_walk w = {&d, jsonr_path(&d, "row"), 0, 0};
    result_columns(&r, expect_row_column, &w);
    CHECK(w.row >= 0 && w.mismatched == 0, "row keys are results.csv's columns in order (%d of %d differ)",
          w.mismatched, w.n);
    const char *width = jsonr_text(&d, jsonr_path(&d, "row.width")), *hidden = jsonr_text(&d, jsonr_path(&d, "row.hidden"));
    CHECK(width && !strcmp(width, "8") && !hidden, "row: cnn columns filled, mlp columns null");
    jsonr_free(&d);
    free(text);
}

int main(void)
{
    test_sizes();
    test_ints();
    test_doubles();
    test_every_flag();
    test_table_shape();
    test_flag_errors();
    test_print_config();
    return CHECK_DONE();
}
