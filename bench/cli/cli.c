/* bench/cli/cli.c — the config flags of run and verify. One table names each
 * flag, what it accepts and the field it sets (offsetof into run_config or
 * cli_extras), so a flag is one table line plus its field; the parser, the
 * usage check and --print-config walk that table. Each flag is parsed
 * strictly and given at most once; then one finishing step derives the split
 * (--micro-batch, --iter-size, --effective-batch) and checks what single
 * flags cannot, including the model at the batch sizes that will run. */
#include "cli.h"
#include "flags.h"
#include "parse.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define MAX_MICRO_BATCH 65536
#define MAX_ITER_SIZE 65536
#define MAX_EFFECTIVE_BATCH (1 << 22)
/* nvbench's --min-time default: timed seconds before the noise test may stop */
#define DEFAULT_MIN_TIME_S 0.5

void cli_defaults(run_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->backend, sizeof c->backend, "auto");
    c->model = (model_config){MODEL_MLP, 3072, 1024, 3, 16, 3, 3, NORM_BATCH, 8192, 128, 256, 4, RECOMPUTE_NONE};
    c->strategy = STRATEGY_ACCUMULATE;
    c->loss_norm = LOSS_NORM_MEAN;
    c->micro_batch = 32;
    c->iter_size = 1;
    c->optimizer = OPTIMIZER_SGD;
    c->seed = 1;
    c->noise = 0.01;
    c->min_steps = 10;
    c->min_time_s = DEFAULT_MIN_TIME_S;
    c->max_steps = 1000;
    c->max_time_s = 30.0;
    c->warmup = 3;
}

// ----------------------------------------------------------------------------
// the flag table

/* F_CHOICE stores an int into enum fields */
_Static_assert(sizeof(model_kind) == sizeof(int) && sizeof(norm_kind) == sizeof(int) &&
                   sizeof(strategy_kind) == sizeof(int) && sizeof(loss_norm_kind) == sizeof(int) &&
                   sizeof(optimizer_kind) == sizeof(int),
               "enum fields must be int-sized");

#define CFG(f) .place = IN_CONFIG, .offset = offsetof(run_config, f), .size = sizeof(((run_config *)0)->f)
#define EXT(f) .place = IN_EXTRAS, .offset = offsetof(cli_extras, f), .size = sizeof(((cli_extras *)0)->f)
#define RUN (1 << CLI_CMD_RUN)
#define VERIFY (1 << CLI_CMD_VERIFY)
#define BOTH (RUN | VERIFY)

static const flag_choice backends[] = {{"auto", 0}, {"cpu", 0}, {"cuda", 0}, {NULL, 0}};
static const flag_choice models[] = {{"mlp", MODEL_MLP}, {"cnn", MODEL_CNN}, {"gpt", MODEL_GPT}, {NULL, 0}};
static const flag_choice norms[] = {{"batch", NORM_BATCH}, {"group", NORM_GROUP}, {"none", NORM_NONE}, {NULL, 0}};
static const flag_choice strategies[] = {
    {"full", STRATEGY_FULL}, {"retain", STRATEGY_RETAIN}, {"accumulate", STRATEGY_ACCUMULATE}, {NULL, 0}};
static const flag_choice loss_norms[] = {
    {"mean", LOSS_NORM_MEAN}, {"global", LOSS_NORM_GLOBAL}, {"sum", LOSS_NORM_SUM}, {NULL, 0}};
static const flag_choice optimizers[] = {{"sgd", OPTIMIZER_SGD}, {"adamw", OPTIMIZER_ADAMW}, {NULL, 0}};
static const flag_choice maths[] = {{"fp32", 0}, {"tf32", 1}, {NULL, 0}};
static const flag_choice conv_algos[] = {{"heuristic", 0}, {"find", 1}, {NULL, 0}};
static const flag_choice recomputes[] = {{"none", RECOMPUTE_NONE}, {"blocks", RECOMPUTE_BLOCKS}, {NULL, 0}};
static const flag_choice allocators[] = {{"pool", OPS_ALLOCATOR_POOL}, {"arena", OPS_ALLOCATOR_ARENA}, {NULL, 0}};

const flag_spec cli_flags[] = {
    {.name = "--backend", .kind = F_NAME, CFG(backend), .choices = backends, .commands = BOTH},
    {.name = "--model", .kind = F_CHOICE, CFG(model.kind), .choices = models, .commands = BOTH},
    {.name = "--input-dim", .kind = F_INT, CFG(model.input_dim), .lo = 1, .hi = 1 << 20, .commands = BOTH},
    {.name = "--hidden", .kind = F_INT, CFG(model.hidden), .lo = 1, .hi = 1 << 16, .commands = BOTH},
    {.name = "--layers", .kind = F_INT, CFG(model.layers), .lo = 1, .hi = 64, .commands = BOTH},
    {.name = "--width", .kind = F_INT, CFG(model.width), .lo = 1, .hi = 1024, .commands = BOTH},
    {.name = "--stages", .kind = F_INT, CFG(model.stages), .lo = 1, .hi = 6, .commands = BOTH},
    {.name = "--blocks", .kind = F_INT, CFG(model.blocks), .lo = 1, .hi = 32, .commands = BOTH},
    {.name = "--norm", .kind = F_CHOICE, CFG(model.norm), .choices = norms, .commands = BOTH},
    {.name = "--vocab", .kind = F_INT, CFG(model.vocab), .lo = 2, .hi = 1 << 24, .commands = BOTH},
    {.name = "--seq", .kind = F_INT, CFG(model.seq), .lo = 1, .hi = 1 << 16, .commands = BOTH},
    {.name = "--d-model", .kind = F_INT, CFG(model.d_model), .lo = 1, .hi = 1 << 16, .commands = BOTH},
    {.name = "--heads", .kind = F_INT, CFG(model.heads), .lo = 1, .hi = 1024, .commands = BOTH},
    {.name = "--strategy", .kind = F_CHOICE, CFG(strategy), .choices = strategies, .commands = RUN},
    {.name = "--recompute", .kind = F_CHOICE, CFG(model.recompute), .choices = recomputes, .commands = BOTH},
    {.name = "--loss-norm", .kind = F_CHOICE, CFG(loss_norm), .choices = loss_norms, .commands = BOTH},
    {.name = "--micro-batch", .kind = F_INT, CFG(micro_batch), .lo = 1, .hi = MAX_MICRO_BATCH, .commands = BOTH},
    {.name = "--iter-size", .kind = F_INT, CFG(iter_size), .lo = 1, .hi = MAX_ITER_SIZE, .commands = BOTH},
    {.name = "--effective-batch", .kind = F_INT, CFG(effective_batch), .lo = 1, .hi = MAX_EFFECTIVE_BATCH,
     .commands = BOTH},
    {.name = "--optimizer", .kind = F_CHOICE, CFG(optimizer), .choices = optimizers, .commands = BOTH},
    {.name = "--math", .kind = F_CHOICE, CFG(math_tf32), .choices = maths, .commands = BOTH},
    {.name = "--conv-algo", .kind = F_CHOICE, CFG(conv_algo_find), .choices = conv_algos, .commands = BOTH},
    {.name = "--allocator", .kind = F_CHOICE, CFG(allocator), .choices = allocators, .commands = BOTH},
    {.name = "--seed", .kind = F_U64, CFG(seed), .commands = BOTH},
    {.name = "--mem-limit", .kind = F_SIZE, CFG(mem_limit_bytes), .commands = BOTH},
    {.name = "--noise", .kind = F_DOUBLE, CFG(noise), .lo = 0, .hi = 1, .commands = RUN},
    {.name = "--min-steps", .kind = F_INT, CFG(min_steps), .lo = 1, .hi = 1000000, .commands = RUN},
    {.name = "--min-time", .kind = F_DOUBLE, CFG(min_time_s), .lo = 0, .lo_closed = 1, .hi = 1e7, .commands = RUN},
    {.name = "--max-steps", .kind = F_INT, CFG(max_steps), .lo = 1, .hi = 1000000, .commands = RUN},
    {.name = "--max-time", .kind = F_DOUBLE, CFG(max_time_s), .lo = 0, .hi = 1e7, .commands = RUN},
    {.name = "--warmup", .kind = F_INT, CFG(warmup), .lo = 0, .hi = 1000000, .commands = RUN},
    {.name = "--json", .kind = F_SWITCH, EXT(json), .commands = RUN},
    {.name = "--kernels", .kind = F_INT, EXT(kernels), .lo = 1, .hi = 100000, .commands = RUN},
    {.name = "--out", .kind = F_PATH, EXT(out_dir), .commands = RUN},
    {.name = "--print-config", .kind = F_SWITCH, EXT(print_config), .commands = RUN},
    {.name = "--dump", .kind = F_PATH, EXT(dump_dir), .commands = VERIFY},
};
#define N_FLAGS (sizeof cli_flags / sizeof cli_flags[0])
const size_t cli_flag_count = N_FLAGS;

static int flag_index(const char *name)
{
    for (size_t i = 0; i < N_FLAGS; i++)
        if (!strcmp(cli_flags[i].name, name)) return (int)i;
    return -1;
}

static void *flag_target(const flag_spec *f, run_config *c, cli_extras *x)
{
    return (char *)(f->place == IN_CONFIG ? (void *)c : (void *)x) + f->offset;
}

const void *flag_field(const flag_spec *f, const run_config *c, const cli_extras *x)
{
    return (const char *)(f->place == IN_CONFIG ? (const void *)c : (const void *)x) + f->offset;
}

static const flag_choice *choice_find(const flag_choice *ch, const char *v)
{
    for (; ch->name; ch++)
        if (!strcmp(ch->name, v)) return ch;
    return NULL;
}

static void choice_list(const flag_choice *ch, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; ch[i].name && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? "|" : "", ch[i].name);
}

/* Parses v for flag f into its field; 0 ok, else -1 with the reason in why. */
static int flag_set(const flag_spec *f, const char *v, void *field, char *why, size_t why_len)
{
    long n;
    double d;
    const flag_choice *ch;
    switch (f->kind) {
    case F_INT:
        if (parse_int(v, (long)f->lo, (long)f->hi, &n, why, why_len)) return -1;
        *(int *)field = (int)n;
        return 0;
    case F_U64:
        return parse_u64(v, (uint64_t *)field, why, why_len);
    case F_SIZE:
        return parse_size(v, (uint64_t *)field, why, why_len);
    case F_DOUBLE:
        if ((f->lo_closed ? parse_double_closed : parse_double)(v, f->lo, f->hi, &d, why, why_len)) return -1;
        *(double *)field = d;
        return 0;
    case F_CHOICE:
    case F_NAME:
        if (!(ch = choice_find(f->choices, v))) {
            char list[128];
            choice_list(f->choices, list, sizeof list);
            snprintf(why, why_len, "must be one of %s (got '%s')", list, v);
            return -1;
        }
        if (f->kind == F_CHOICE) *(int *)field = ch->value;
        else snprintf(field, f->size, "%s", ch->name);
        return 0;
    case F_PATH:
        if (!*v) {
            snprintf(why, why_len, "must be a directory path (got '')");
            return -1;
        }
        *(const char **)field = v;
        return 0;
    case F_SWITCH:
        *(int *)field = 1;
        return 0;
    }
    return -1;
}

// ----------------------------------------------------------------------------
// the finishing step: what single flags cannot decide

static int derive_split(run_config *c, const unsigned char *seen, char *err, size_t err_len)
{
    int m = c->micro_batch;
    if (seen[flag_index("--effective-batch")]) {
        int b = c->effective_batch;
        if (b < m) {
            snprintf(err, err_len, "--effective-batch: must be >= --micro-batch (%d), got %d", m, b);
            return -1;
        }
        int k = (b + m - 1) / m;
        if (seen[flag_index("--iter-size")] && c->iter_size != k) {
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
    return 0;
}

/* gpt's own default depth when --layers is not given (mlp's is 3) */
#define GPT_DEFAULT_LAYERS 4

static int finish(cli_command cmd, run_config *c, const unsigned char *seen, char *err, size_t err_len)
{
    if (c->model.kind == MODEL_GPT && !seen[flag_index("--layers")]) c->model.layers = GPT_DEFAULT_LAYERS;
    if (derive_split(c, seen, err, err_len)) return -1;
    if (c->max_steps < c->min_steps) {
        snprintf(err, err_len, "--max-steps: must be >= --min-steps (%d), got %d", c->min_steps, c->max_steps);
        return -1;
    }
    /* verify also runs the whole effective batch as one (strategy full) */
    int sizes[3] = {c->micro_batch, c->last_micro_batch, c->effective_batch};
    if (model_validate(&c->model, sizes, cmd == CLI_CMD_VERIFY ? 3 : 2, err, err_len)) return -1;
    return 0;
}

// ----------------------------------------------------------------------------

static const char *command_name(cli_command cmd) { return cmd == CLI_CMD_RUN ? "run" : "verify"; }

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
        if (fi < 0 || !(cli_flags[fi].commands & (1 << cmd))) {
            if (arg[0] == '-')
                snprintf(err, err_len, "%s: unknown flag for '%s' (see accumbench %s --help)", arg,
                         command_name(cmd), command_name(cmd));
            else snprintf(err, err_len, "unexpected argument '%s' (flags take the form --name value)", arg);
            return -1;
        }
        const flag_spec *f = &cli_flags[fi];
        if (seen[fi]) {
            snprintf(err, err_len, "%s: given more than once", f->name);
            return -1;
        }
        seen[fi] = 1;
        if (f->kind != F_SWITCH && i + 1 >= argc) {
            snprintf(err, err_len, "%s: needs a value", f->name);
            return -1;
        }
        const char *v = f->kind == F_SWITCH ? "" : argv[++i];
        if (flag_set(f, v, flag_target(f, c, x), why, sizeof why)) {
            snprintf(err, err_len, "%s: %s", f->name, why);
            return -1;
        }
    }
    return finish(cmd, c, seen, err, err_len);
}

// ----------------------------------------------------------------------------

void cli_usage(cli_command cmd, FILE *f)
{
    fprintf(f, "usage: accumbench %s [flags]\n\n", command_name(cmd));
    fputs(cmd == CLI_CMD_RUN
              ? "Runs one configuration: warm-up steps, then timed optimizer steps until the median is\n"
                "stable; prints step time, throughput and memory.\n\n"
              : "Computes one optimizer step's gradients with each strategy from the same weights and data\n"
                "and compares them (exit 1 when gradients the maths says agree do not).\n\n",
          f);
    fputs("model:\n"
          "  --model mlp|cnn|gpt         (mlp)\n"
          "  --input-dim D --hidden H --layers L      mlp (3072, 1024, 3)\n"
          "  --width W --stages S --blocks B          cnn ResNet (16, 3, 3); S in 1..6\n"
          "  --norm batch|group|none     cnn normalisation (batch)\n"
          "  --vocab V --seq T --d-model C --heads H  gpt (8192, 128, 256, 4), with --layers (4)\n"
          "split:\n"
          "  --micro-batch M (32)  --iter-size K (1)  --effective-batch B (M*K)\n"
          "  --loss-norm mean|global|sum (mean)\n"
          "  --recompute none|blocks (none)   blocks: keep each block's input, recompute it in backward\n",
          f);
    if (cmd == CLI_CMD_RUN) fputs("  --strategy full|retain|accumulate (accumulate)\n", f);
    fputs("training:\n"
          "  --optimizer sgd|adamw (sgd)  --seed N (1)\n"
          "backend:\n"
          "  --backend auto|cpu|cuda (auto)  --math fp32|tf32 (fp32)  --conv-algo heuristic|find\n"
          "  --allocator pool|arena   GPU memory: a stream-ordered pool (default) or one reservation\n"
          "  --mem-limit SIZE   cap on tracked memory: bytes, K/M/G/T (1024^n), KB/MB/GB/TB (1000^n)\n",
          f);
    if (cmd == CLI_CMD_RUN)
        fputs("measurement:\n"
              "  --warmup N (3)  --min-steps N (10)  --max-steps N (1000)  --max-time SECONDS (30)\n"
              "  --noise F (0.01)   stop when the median's 95% CI half-width / median < F ...\n"
              "  --min-time SECONDS (0.5)   ... and at least this much timed work ran (0: no minimum)\n"
              "  --json             print one JSON object with the results.csv columns\n"
              "  --kernels N        print the N ops/kernels with the most time in the profiled steps\n"
              "  --out DIR          write results.csv, steps.csv, kernels.csv, memory.csv to DIR\n"
              "  --print-config     print the derived configuration as JSON and exit (runs nothing)\n",
              f);
    else fputs("  --dump DIR         write parameters, inputs, targets and gradients as .npy + manifest.json\n", f);
}
