/* bench/cli/cli.c — the config flags of run and verify: a table of flags, each
 * parsed strictly and given at most once, then the split derived and the
 * model validated for the batch sizes that will run. */
#include "cli.h"
#include "parse.h"

#include <stdio.h>
#include <string.h>

#define MAX_MICRO_BATCH 65536
#define MAX_ITER_SIZE 65536
#define MAX_EFFECTIVE_BATCH (1 << 22)

void cli_defaults(run_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->backend, sizeof c->backend, "auto");
    c->model = (model_config){MODEL_MLP, 3072, 1024, 3, 16, 3, 3, NORM_BATCH};
    c->strategy = STRATEGY_ACCUMULATE;
    c->loss_norm = LOSS_NORM_MEAN;
    c->micro_batch = 32;
    c->iter_size = 1;
    c->optimizer = OPTIMIZER_SGD;
    c->seed = 1;
    c->noise = 0.01;
    c->min_steps = 10;
    c->max_steps = 1000;
    c->max_time_s = 30.0;
    c->warmup = 3;
}

// ----------------------------------------------------------------------------

typedef enum { F_INT, F_CHOICE, F_SIZE, F_DOUBLE, F_U64, F_BOOL, F_PATH } flag_type;

typedef struct {
    const char *name;
    flag_type type;
    long lo, hi;                /* F_INT range */
    const char *choices;        /* F_CHOICE: "a|b|c" */
    int commands;               /* bit per cli_command */
} flag_spec;

#define RUN (1 << CLI_CMD_RUN)
#define VERIFY (1 << CLI_CMD_VERIFY)
#define BOTH (RUN | VERIFY)

static const flag_spec flags[] = {
    {"--backend", F_CHOICE, 0, 0, "auto|cpu|cuda", BOTH},
    {"--model", F_CHOICE, 0, 0, "mlp|cnn", BOTH},
    {"--input-dim", F_INT, 1, 1 << 20, NULL, BOTH},
    {"--hidden", F_INT, 1, 1 << 16, NULL, BOTH},
    {"--layers", F_INT, 1, 64, NULL, BOTH},
    {"--width", F_INT, 1, 1024, NULL, BOTH},
    {"--stages", F_INT, 1, 6, NULL, BOTH},
    {"--blocks", F_INT, 1, 32, NULL, BOTH},
    {"--norm", F_CHOICE, 0, 0, "batch|group|none", BOTH},
    {"--strategy", F_CHOICE, 0, 0, "full|retain|accumulate", RUN},
    {"--loss-norm", F_CHOICE, 0, 0, "mean|global|sum", BOTH},
    {"--micro-batch", F_INT, 1, MAX_MICRO_BATCH, NULL, BOTH},
    {"--iter-size", F_INT, 1, MAX_ITER_SIZE, NULL, BOTH},
    {"--effective-batch", F_INT, 1, MAX_EFFECTIVE_BATCH, NULL, BOTH},
    {"--optimizer", F_CHOICE, 0, 0, "sgd|adamw", BOTH},
    {"--math", F_CHOICE, 0, 0, "fp32|tf32", BOTH},
    {"--conv-algo", F_CHOICE, 0, 0, "heuristic|find", BOTH},
    {"--seed", F_U64, 0, 0, NULL, BOTH},
    {"--mem-limit", F_SIZE, 0, 0, NULL, BOTH},
    {"--noise", F_DOUBLE, 0, 0, NULL, RUN},
    {"--min-steps", F_INT, 1, 1000000, NULL, RUN},
    {"--max-steps", F_INT, 1, 1000000, NULL, RUN},
    {"--max-time", F_DOUBLE, 0, 0, NULL, RUN},
    {"--warmup", F_INT, 0, 1000000, NULL, RUN},
    {"--json", F_BOOL, 0, 0, NULL, RUN},
    {"--kernels", F_INT, 1, 100000, NULL, RUN},
    {"--out", F_PATH, 0, 0, NULL, RUN},
    {"--dump", F_PATH, 0, 0, NULL, VERIFY},
};
#define N_FLAGS (sizeof flags / sizeof flags[0])

static int choice_index(const char *choices, const char *v)
{
    size_t len = strlen(v);
    int idx = 0;
    for (const char *p = choices; *p; idx++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && strncmp(p, v, n) == 0) return idx;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

static void apply_choice(const char *name, int idx, run_config *c)
{
    if (!strcmp(name, "--backend")) snprintf(c->backend, sizeof c->backend, "%s", idx == 0 ? "auto" : idx == 1 ? "cpu" : "cuda");
    else if (!strcmp(name, "--model")) c->model.kind = idx == 0 ? MODEL_MLP : MODEL_CNN;
    else if (!strcmp(name, "--norm")) c->model.norm = idx == 0 ? NORM_BATCH : idx == 1 ? NORM_GROUP : NORM_NONE;
    else if (!strcmp(name, "--strategy")) c->strategy = (strategy_kind)idx;
    else if (!strcmp(name, "--loss-norm")) c->loss_norm = (loss_norm_kind)idx;
    else if (!strcmp(name, "--optimizer")) c->optimizer = (optimizer_kind)idx;
    else if (!strcmp(name, "--math")) c->math_tf32 = idx;
    else if (!strcmp(name, "--conv-algo")) c->conv_algo_find = idx;
}

static int *int_target(const char *name, run_config *c)
{
    if (!strcmp(name, "--input-dim")) return &c->model.input_dim;
    if (!strcmp(name, "--hidden")) return &c->model.hidden;
    if (!strcmp(name, "--layers")) return &c->model.layers;
    if (!strcmp(name, "--width")) return &c->model.width;
    if (!strcmp(name, "--stages")) return &c->model.stages;
    if (!strcmp(name, "--blocks")) return &c->model.blocks;
    if (!strcmp(name, "--micro-batch")) return &c->micro_batch;
    if (!strcmp(name, "--iter-size")) return &c->iter_size;
    if (!strcmp(name, "--effective-batch")) return &c->effective_batch;
    if (!strcmp(name, "--min-steps")) return &c->min_steps;
    if (!strcmp(name, "--max-steps")) return &c->max_steps;
    if (!strcmp(name, "--warmup")) return &c->warmup;
    return NULL;
}

static int flag_index(const char *name)
{
    for (size_t i = 0; i < N_FLAGS; i++)
        if (!strcmp(flags[i].name, name)) return (int)i;
    return -1;
}

static int seen_flag(const unsigned char *seen, const char *name) { return seen[flag_index(name)]; }

/* Derives the split and checks what single flags cannot. */
static int finish(cli_command cmd, run_config *c, const unsigned char *seen, char *err, size_t err_len)
{
#define SEEN(name) seen_flag(seen, name)
    int m = c->micro_batch;
    if (SEEN("--effective-batch")) {
        int b = c->effective_batch;
        if (b < m) {
            snprintf(err, err_len, "--effective-batch: must be >= --micro-batch (%d), got %d", m, b);
            return -1;
        }
        int k = (b + m - 1) / m;
        if (SEEN("--iter-size") && c->iter_size != k) {
            snprintf(err, err_len, "--iter-size: %d disagrees with --effective-batch %d / --micro-batch %d "
                     "(which need %d micro-batches); give one of them", c->iter_size, b, m, k);
            return -1;
        }
        c->iter_size = k;
    } else {
        if ((long)m * c->iter_size > MAX_EFFECTIVE_BATCH) {
            snprintf(err, err_len, "--iter-size: micro-batch x iter-size must be <= %d (got %d x %d)",
                     MAX_EFFECTIVE_BATCH, m, c->iter_size);
            return -1;
        }
        c->effective_batch = m * c->iter_size;
    }
    c->last_micro_batch = c->effective_batch - (c->iter_size - 1) * m;
    if (c->strategy == STRATEGY_FULL) {
        c->micro_batch = c->last_micro_batch = c->effective_batch;
        c->iter_size = 1;
    }
    if (c->max_steps < c->min_steps) {
        snprintf(err, err_len, "--max-steps: must be >= --min-steps (%d), got %d", c->min_steps, c->max_steps);
        return -1;
    }
    /* verify also runs the whole effective batch as one (strategy full) */
    int sizes[3] = {c->micro_batch, c->last_micro_batch, c->effective_batch};
    if (model_validate(&c->model, sizes, cmd == CLI_CMD_VERIFY ? 3 : 2, err, err_len)) return -1;
    return 0;
#undef SEEN
}

int cli_parse(cli_command cmd, int argc, char **argv, int first, run_config *c, cli_extras *x, int *help,
              char *err, size_t err_len)
{
    unsigned char seen[N_FLAGS] = {0};
    char why[256];
    memset(x, 0, sizeof *x);
    *help = 0;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            *help = 1;
            return 0;
        }
        int fi = flag_index(arg);
        if (fi < 0 || !(flags[fi].commands & (1 << cmd))) {
            if (arg[0] == '-') snprintf(err, err_len, "%s: unknown flag for '%s' (see accumbench %s --help)",
                                        arg, cmd == CLI_CMD_RUN ? "run" : "verify", cmd == CLI_CMD_RUN ? "run" : "verify");
            else snprintf(err, err_len, "unexpected argument '%s' (flags take the form --name value)", arg);
            return -1;
        }
        const flag_spec *f = &flags[fi];
        if (seen[fi]) {
            snprintf(err, err_len, "%s: given more than once", f->name);
            return -1;
        }
        seen[fi] = 1;
        if (f->type == F_BOOL) {
            x->json = 1;
            continue;
        }
        if (i + 1 >= argc) {
            snprintf(err, err_len, "%s: needs a value", f->name);
            return -1;
        }
        const char *v = argv[++i];
        int rc = 0;
        switch (f->type) {
        case F_INT: {
            long n;
            rc = parse_int(v, f->lo, f->hi, &n, why, sizeof why);
            if (!rc) *(strcmp(f->name, "--kernels") ? int_target(f->name, c) : &x->kernels) = (int)n;
            break;
        }
        case F_CHOICE: {
            int idx = choice_index(f->choices, v);
            if (idx < 0) {
                snprintf(why, sizeof why, "must be one of %s (got '%s')", f->choices, v);
                rc = -1;
            } else apply_choice(f->name, idx, c);
            break;
        }
        case F_SIZE:
            rc = parse_size(v, &c->mem_limit_bytes, why, sizeof why);
            break;
        case F_DOUBLE:
            rc = parse_double(v, 0.0, !strcmp(f->name, "--noise") ? 1.0 : 1e7,
                              !strcmp(f->name, "--noise") ? &c->noise : &c->max_time_s, why, sizeof why);
            break;
        case F_U64:
            rc = parse_u64(v, &c->seed, why, sizeof why);
            break;
        case F_PATH:
            if (!*v) {
                snprintf(why, sizeof why, "must be a directory path (got '')");
                rc = -1;
            } else if (!strcmp(f->name, "--out")) x->out_dir = v;
            else x->dump_dir = v;
            break;
        case F_BOOL:
            break;
        }
        if (rc) {
            snprintf(err, err_len, "%s: %s", f->name, why);
            return -1;
        }
    }
    return finish(cmd, c, seen, err, err_len);
}

void cli_usage(cli_command cmd, FILE *f)
{
    fprintf(f, "usage: accumbench %s [flags]\n\n", cmd == CLI_CMD_RUN ? "run" : "verify");
    fputs(cmd == CLI_CMD_RUN
              ? "Runs one configuration: warm-up steps, then timed optimizer steps until the median is\n"
                "stable; prints step time, throughput and memory.\n\n"
              : "Computes one optimizer step's gradients with each strategy from the same weights and data\n"
                "and compares them (exit 1 when gradients the maths says agree do not).\n\n",
          f);
    fputs("model:\n"
          "  --model mlp|cnn             (mlp)\n"
          "  --input-dim D --hidden H --layers L      mlp (3072, 1024, 3)\n"
          "  --width W --stages S --blocks B          cnn ResNet (16, 3, 3); S in 1..6\n"
          "  --norm batch|group|none     cnn normalisation (batch)\n"
          "split:\n"
          "  --micro-batch M (32)  --iter-size K (1)  --effective-batch B (M*K)\n"
          "  --loss-norm mean|global|sum (mean)\n",
          f);
    if (cmd == CLI_CMD_RUN) fputs("  --strategy full|retain|accumulate (accumulate)\n", f);
    fputs("training:\n"
          "  --optimizer sgd|adamw (sgd)  --seed N (1)\n"
          "backend:\n"
          "  --backend auto|cpu|cuda (auto)  --math fp32|tf32 (fp32)  --conv-algo heuristic|find\n"
          "  --mem-limit SIZE   cap on tracked memory: bytes, K/M/G/T (1024^n), KB/MB/GB/TB (1000^n)\n",
          f);
    if (cmd == CLI_CMD_RUN)
        fputs("measurement:\n"
              "  --warmup N (3)  --min-steps N (10)  --max-steps N (1000)  --max-time SECONDS (30)\n"
              "  --noise F (0.01)   stop when the median's 95% CI half-width / median < F\n"
              "  --json             print one JSON object with the results.csv columns\n"
              "  --kernels N        print the N ops/kernels with the most time in the profiled steps\n"
              "  --out DIR          write results.csv, steps.csv, kernels.csv, memory.csv to DIR\n",
              f);
    else fputs("  --dump DIR         write parameters, inputs, targets and gradients as .npy + manifest.json\n", f);
}
