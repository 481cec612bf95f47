/* bench/cmd/sweep/profile.c — see profile.h. The key table below names the keys and
 * which models or backends each applies to; what a value may be is never
 * restated here: each value, and then each whole configuration, goes through
 * cli_parse as the argv `run` would get. A value is checked alone (with a
 * neutral partner flag where run checks it against another, e.g.
 * --min-steps against --max-steps), so a bad value is a file:line error,
 * while a combination run rejects (effective batch below the micro-batch,
 * GroupNorm widths) is a configuration kept as skipped with run's reason. */
#include "profile.h"
#include "cli.h"
#include "hash.h"
#include "ops.h"
#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* more than this many combinations is certainly a mistake in a profile */
#define PROFILE_MAX_PRODUCT 100000L

typedef enum { FOR_ALL, FOR_MLP, FOR_CNN, FOR_GPT, FOR_MLP_GPT, FOR_GPU, FOR_SWEEP } key_scope;

typedef struct {
    const char *name;
    key_scope scope;
    int alias_of;               /* -1, or the key this plural names */
} key_spec;

/* run's config flags in the order they appear in a configuration's argv,
 * then the aliases and the sweep's own keys. A run flag added to cli.c gets
 * its id here before N_RUN_KEYS and its line in the table. */
enum {
    K_BACKEND, K_MODEL, K_INPUT_DIM, K_HIDDEN, K_LAYERS, K_WIDTH, K_STAGES, K_BLOCKS, K_NORM, K_VOCAB, K_SEQ,
    K_D_MODEL, K_HEADS, K_STRATEGY, K_RECOMPUTE,
    K_LOSS_NORM, K_MICRO, K_ITER, K_EFFECTIVE, K_OPTIMIZER, K_MATH, K_CONV_ALGO, K_ALLOCATOR, K_SEED, K_MEM_LIMIT, K_NOISE,
    K_MIN_STEPS, K_MAX_STEPS, K_MAX_TIME, K_WARMUP, K_MIN_TIME,
    N_RUN_KEYS,
    K_MODELS = N_RUN_KEYS, K_STRATEGIES, K_ENGINES, K_REPEAT, K_REPEAT_MAX, K_TIMEOUT, K_SHUFFLE,
    N_KEYS
};

static const key_spec keys[N_KEYS] = {
    [K_BACKEND] = {"backend", FOR_ALL, -1},
    [K_MODEL] = {"model", FOR_ALL, -1},
    [K_INPUT_DIM] = {"input_dim", FOR_MLP, -1},
    [K_HIDDEN] = {"hidden", FOR_MLP, -1},
    [K_LAYERS] = {"layers", FOR_MLP_GPT, -1},
    [K_WIDTH] = {"width", FOR_CNN, -1},
    [K_STAGES] = {"stages", FOR_CNN, -1},
    [K_BLOCKS] = {"blocks", FOR_CNN, -1},
    [K_NORM] = {"norm", FOR_CNN, -1},
    [K_VOCAB] = {"vocab", FOR_GPT, -1},
    [K_SEQ] = {"seq", FOR_GPT, -1},
    [K_D_MODEL] = {"d_model", FOR_GPT, -1},
    [K_HEADS] = {"heads", FOR_GPT, -1},
    [K_STRATEGY] = {"strategy", FOR_ALL, -1},
    [K_RECOMPUTE] = {"recompute", FOR_ALL, -1},
    [K_LOSS_NORM] = {"loss_norm", FOR_ALL, -1},
    [K_MICRO] = {"micro_batch", FOR_ALL, -1},
    [K_ITER] = {"iter_size", FOR_ALL, -1},
    [K_EFFECTIVE] = {"effective_batch", FOR_ALL, -1},
    [K_OPTIMIZER] = {"optimizer", FOR_ALL, -1},
    [K_MATH] = {"math", FOR_GPU, -1},
    [K_CONV_ALGO] = {"conv_algo", FOR_GPU, -1},
    [K_ALLOCATOR] = {"allocator", FOR_GPU, -1},
    [K_SEED] = {"seed", FOR_ALL, -1},
    [K_MEM_LIMIT] = {"mem_limit", FOR_ALL, -1},
    [K_NOISE] = {"noise", FOR_ALL, -1},
    [K_MIN_STEPS] = {"min_steps", FOR_ALL, -1},
    [K_MAX_STEPS] = {"max_steps", FOR_ALL, -1},
    [K_MAX_TIME] = {"max_time", FOR_ALL, -1},
    [K_WARMUP] = {"warmup", FOR_ALL, -1},
    [K_MIN_TIME] = {"min_time", FOR_ALL, -1},
    [K_MODELS] = {"models", FOR_ALL, K_MODEL},
    [K_STRATEGIES] = {"strategies", FOR_ALL, K_STRATEGY},
    [K_ENGINES] = {"engines", FOR_SWEEP, -1},
    [K_REPEAT] = {"repeat", FOR_SWEEP, -1},
    [K_REPEAT_MAX] = {"repeat_max", FOR_SWEEP, -1},
    [K_TIMEOUT] = {"timeout", FOR_SWEEP, -1},
    [K_SHUFFLE] = {"shuffle", FOR_SWEEP, -1},
};

static int key_base(int k) { return keys[k].alias_of >= 0 ? keys[k].alias_of : k; }

static void key_flag(int k, char *flag, size_t len)
{
    const char *n = keys[key_base(k)].name;
    size_t i = 0;
    flag[i++] = '-';
    flag[i++] = '-';
    for (; *n && i + 1 < len; n++) flag[i++] = *n == '_' ? '-' : *n;
    flag[i] = '\0';
}

// ----------------------------------------------------------------------------
// run's parser as the validator

typedef struct {
    int argc;
    char argv[PROFILE_MAX_ARGS][PROFILE_VALUE_LEN];
} arg_list;

static void args_add(arg_list *a, const char *flag, const char *value)
{
    if (a->argc + 2 > PROFILE_MAX_ARGS) return;     /* cannot happen: one pair per run key */
    snprintf(a->argv[a->argc++], PROFILE_VALUE_LEN, "%s", flag);
    snprintf(a->argv[a->argc++], PROFILE_VALUE_LEN, "%s", value);
}

/* cli_parse over a copy of the list; 0 ok, else -1 with run's message */
static int args_parse(const arg_list *a, run_config *c, char *err, size_t err_len)
{
    char buf[PROFILE_MAX_ARGS][PROFILE_VALUE_LEN];
    char *argv[PROFILE_MAX_ARGS];
    for (int i = 0; i < a->argc; i++) {
        memcpy(buf[i], a->argv[i], PROFILE_VALUE_LEN);
        argv[i] = buf[i];
    }
    cli_extras x;
    int help;
    cli_defaults(c);
    if (cli_parse(CLI_CMD_RUN, a->argc, argv, 0, c, &x, &help, err, err_len) != 0) return -1;
    if (help) {
        snprintf(err, err_len, "'--help' is not a value");
        return -1;
    }
    return 0;
}

/* The seed of the profile's first configuration: its first `seed` value,
 * else run's default. Values were checked when parsed, so this parses. */
static uint64_t first_seed(const profile *p)
{
    arg_list a = {0};
    for (int i = 0; i < p->n_entries; i++)
        if (p->entries[i].key == K_SEED) args_add(&a, "--seed", p->entries[i].items[0]);
    run_config c;
    char err[512];
    return args_parse(&a, &c, err, sizeof err) == 0 ? c.seed : 0;
}

/* Checks one value of run key k on its own. */
static int check_value(int k, const char *v, char *why, size_t why_len)
{
    char flag[40], err[512];
    arg_list a = {0};
    key_flag(k, flag, sizeof flag);
    args_add(&a, flag, v);
    /* neutral partners for the checks run makes between flags */
    switch (key_base(k)) {
    case K_ITER: case K_EFFECTIVE: args_add(&a, "--micro-batch", "1"); break;
    default:
        if (!strcmp(flag, "--min-steps")) args_add(&a, "--max-steps", "1000000");
        if (!strcmp(flag, "--max-steps")) args_add(&a, "--min-steps", "1");
        break;
    }
    run_config c;
    if (args_parse(&a, &c, err, sizeof err) == 0) return 0;
    size_t n = strlen(flag);
    const char *msg = !strncmp(err, flag, n) && !strncmp(err + n, ": ", 2) ? err + n + 2 : err;
    snprintf(why, why_len, "%s", msg);
    return -1;
}

// ----------------------------------------------------------------------------
// reading

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) *--e = '\0';
    return s;
}

static int find_key(const char *name)
{
    for (int i = 0; i < N_KEYS; i++)
        if (!strcmp(keys[i].name, name)) return i;
    return -1;
}

#define FAIL(...)                                                    \
    do {                                                             \
        int n_ = snprintf(err, err_len, "%s:%d: ", path, lineno);    \
        if (n_ > 0 && (size_t)n_ < err_len)                          \
            snprintf(err + n_, err_len - (size_t)n_, __VA_ARGS__);   \
        goto fail;                                                   \
    } while (0)

/* Parses one `key = value` line into *e (the key already found). */
static int parse_entry(profile_entry *e, const char *path, int lineno, const char *key, char *value, char *err,
                       size_t err_len)
{
    int k = e->key;
    if (!*value) FAIL("%s: empty value", key);
    char *save = value;
    for (;;) {
        char *comma = strchr(save, ',');
        if (comma) *comma = '\0';
        char *item = trim(save);
        if (!*item) FAIL("%s: empty item in the list", key);
        if (strlen(item) >= PROFILE_VALUE_LEN) FAIL("%s: value too long ('%.20s...')", key, item);
        if (e->n_items == PROFILE_MAX_ITEMS) FAIL("%s: more than %d values", key, PROFILE_MAX_ITEMS);
        snprintf(e->items[e->n_items++], PROFILE_VALUE_LEN, "%s", item);
        if (!comma) break;
        save = comma + 1;
    }
    if (keys[k].scope == FOR_SWEEP && k != K_ENGINES && e->n_items > 1) FAIL("%s: takes one value, not a list", key);
    char why[512];
    for (int i = 0; i < e->n_items; i++) {
        const char *v = e->items[i];
        if (k == K_ENGINES) {
            if (strcmp(v, "accumbench") != 0 && strcmp(v, "torch") != 0)
                FAIL("%s: engine '%s' is not available (available: accumbench, torch)", key, v);
        } else if (k == K_REPEAT || k == K_REPEAT_MAX || k == K_TIMEOUT || k == K_SHUFFLE) {
            long n;
            double d;
            int rc = k == K_TIMEOUT ? parse_double(v, 0.0, 1e7, &d, why, sizeof why)
                                    : parse_int(v, k == K_SHUFFLE ? 0 : 1, k == K_SHUFFLE ? 1 : 100000, &n, why,
                                                sizeof why);
            if (rc) FAIL("%s: %s", key, why);
        } else if (check_value(k, v, why, sizeof why)) {
            FAIL("%s: %s", key, why);
        }
    }
    return 0;
fail:
    return -1;
}

/* sweep settings from their entry (its values checked) */
static void apply_sweep_key(profile *p, const profile_entry *e)
{
    if (e->key == K_REPEAT) p->repeat = atoi(e->items[0]);
    if (e->key == K_REPEAT_MAX) p->repeat_max = atoi(e->items[0]);
    if (e->key == K_TIMEOUT) p->timeout_s = strtod(e->items[0], NULL);
    if (e->key == K_SHUFFLE) p->shuffle = atoi(e->items[0]);
    if (e->key == K_ENGINES) {
        p->engines = 0;
        for (int i = 0; i < e->n_items; i++)
            p->engines |= strcmp(e->items[i], "torch") ? PROFILE_ENGINE_ACCUMBENCH : PROFILE_ENGINE_TORCH;
    }
}

/* One line (comment stripped) into the next entry. line_of: by base key,
 * 1 + the entry that gave it. */
static int parse_line(profile *p, int *line_of, const char *path, int lineno, char *line, char *err,
                      size_t err_len)
{
    char *eq = strchr(line, '=');
    if (!eq) FAIL("expected 'key = value' (got '%.60s')", line);
    *eq = '\0';
    char *key = trim(line), *value = trim(eq + 1);
    if (!*key) FAIL("expected a key before '='");
    int k = find_key(key);
    if (k < 0)
        FAIL("%s: unknown key (keys are run's flags in snake_case, e.g. micro_batch, and models, strategies, "
             "engines, repeat, repeat_max, timeout, shuffle)", key);
    int base = key_base(k);
    if (line_of[base]) {
        const profile_entry *first = &p->entries[line_of[base] - 1];
        if (strcmp(keys[first->key].name, key) != 0)
            FAIL("%s: names the same axis as '%s' on line %d; give one of them", key, keys[first->key].name,
                 first->line);
        FAIL("%s: given more than once (first on line %d)", key, first->line);
    }
    profile_entry *e = &p->entries[p->n_entries];
    memset(e, 0, sizeof *e);
    e->key = k;
    e->line = lineno;
    if (parse_entry(e, path, lineno, key, value, err, err_len)) return -1;
    line_of[base] = ++p->n_entries;
    apply_sweep_key(p, e);
    return 0;
fail:
    return -1;
}

static int check_product(const profile *p, const char *path, char *err, size_t err_len)
{
    long product = 1;
    for (int i = 0; i < p->n_entries; i++) {
        int lineno = p->entries[i].line;
        if (key_base(p->entries[i].key) < N_RUN_KEYS && (product *= p->entries[i].n_items) > PROFILE_MAX_PRODUCT)
            FAIL("%s: the lists' product exceeds %ld configurations", keys[p->entries[i].key].name,
                 PROFILE_MAX_PRODUCT);
    }
    return 0;
fail:
    return -1;
}

/* the lines of copy (modified in place) */
static int parse_lines(profile *p, const char *path, char *copy, char *err, size_t err_len)
{
    int line_of[N_KEYS] = {0}, lineno = 0;
    for (char *next = copy; next;) {
        char *line = next, *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl) *nl = '\0';
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        line = trim(line);
        if (*line && parse_line(p, line_of, path, lineno, line, err, err_len)) return -1;
    }
    return 0;
}

int profile_parse(profile *p, const char *path, const char *name, const char *text, char *err, size_t err_len)
{
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", path);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->repeat = 1;
    p->timeout_s = PROFILE_DEFAULT_TIMEOUT_S;
    p->shuffle = -1;
    p->engines = PROFILE_ENGINE_ACCUMBENCH;
    size_t text_len = strlen(text);
    p->text = malloc(text_len + 1);
    p->entries = calloc(N_KEYS, sizeof *p->entries);
    char *copy = malloc(text_len + 1);
    int rc = -1;
    if (!p->text || !p->entries || !copy) snprintf(err, err_len, "%s: out of host memory", path);
    else {
        memcpy(p->text, text, text_len + 1);
        memcpy(copy, text, text_len + 1);
        rc = parse_lines(p, path, copy, err, err_len) || check_product(p, path, err, err_len) ? -1 : 0;
    }
    free(copy);
    if (rc) {
        profile_free(p);
        return -1;
    }
    if (p->shuffle < 0) p->shuffle = p->repeat > 1;
    if (!p->repeat_max) p->repeat_max = p->repeat;
    if (p->repeat_max < p->repeat) {
        int line = 0;
        for (int i = 0; i < p->n_entries; i++)
            if (p->entries[i].key == K_REPEAT_MAX) line = p->entries[i].line;
        snprintf(err, err_len, "%s:%d: repeat_max: %d is below repeat (%d)", path, line, p->repeat_max, p->repeat);
        profile_free(p);
        return -1;
    }
    p->seed = first_seed(p);
    return 0;
}
#undef FAIL

int profile_load(profile *p, const char *path, const char *name, char *err, size_t err_len)
{
    memset(p, 0, sizeof *p);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *text = malloc(cap);
    for (size_t got; text && (got = fread(text + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (n + 1 == cap) {
            char *t = realloc(text, cap *= 2);
            if (!t) free(text);
            text = t;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!text || bad) {
        snprintf(err, err_len, "%s: cannot read: %s", path, text ? "read error" : "out of host memory");
        free(text);
        return -1;
    }
    text[n] = '\0';
    if (memchr(text, '\0', n)) {
        snprintf(err, err_len, "%s: not a text file (holds a NUL byte)", path);
        free(text);
        return -1;
    }
    int rc = profile_parse(p, path, name, text, err, err_len);
    free(text);
    return rc;
}

void profile_free(profile *p)
{
    free(p->text);
    free(p->entries);
    p->text = NULL;
    p->entries = NULL;
    p->n_entries = 0;
}

// ----------------------------------------------------------------------------
// expansion

static const profile_entry *entry_for(const profile *p, int base)
{
    for (int i = 0; i < p->n_entries; i++)
        if (key_base(p->entries[i].key) == base) return &p->entries[i];
    return NULL;
}

/* values by run key (NULL: not given) → argv in key order */
static void build_args(const char *const *val, arg_list *a)
{
    char flag[40];
    a->argc = 0;
    for (int k = 0; k < N_RUN_KEYS; k++) {
        if (!val[k]) continue;
        key_flag(k, flag, sizeof flag);
        args_add(a, flag, val[k]);
    }
}

/* the models a key applies to, a bit per model_kind; 0 for keys of every model */
static unsigned scope_models(key_scope s)
{
    switch (s) {
    case FOR_MLP: return 1u << MODEL_MLP;
    case FOR_CNN: return 1u << MODEL_CNN;
    case FOR_GPT: return 1u << MODEL_GPT;
    case FOR_MLP_GPT: return 1u << MODEL_MLP | 1u << MODEL_GPT;
    default: return 0;
    }
}

static int key_applies(int k, model_kind m)
{
    unsigned mask = scope_models(keys[k].scope);
    return !mask || (mask & 1u << m);
}

static const char *scope_text(key_scope s)
{
    switch (s) {
    case FOR_MLP: return "applies to model mlp only, and no configuration uses mlp";
    case FOR_CNN: return "applies to model cnn only, and no configuration uses cnn";
    case FOR_GPT: return "applies to model gpt only, and no configuration uses gpt";
    default: return "applies to models mlp and gpt only, and no configuration uses either";
    }
}

/* Warns about keys that apply to none of the models (or, for GPU settings,
 * to none of the backends) the profile names. */
static void warn_unused(const profile *p)
{
    run_config d;
    cli_defaults(&d);
    const profile_entry *models = entry_for(p, K_MODEL), *backends = entry_for(p, K_BACKEND);
    unsigned used = models ? 0 : 1u << d.model.kind;
    int gpu_possible = !backends;
    for (int i = 0; models && i < models->n_items; i++) {
        static const model_kind kinds[] = {MODEL_MLP, MODEL_CNN, MODEL_GPT};
        for (size_t j = 0; j < sizeof kinds / sizeof kinds[0]; j++)
            if (!strcmp(models->items[i], model_name(kinds[j]))) used |= 1u << kinds[j];
    }
    /* a GPU backend: one this build lacks, or one whose tensors are not in host memory */
    for (int i = 0; backends && i < backends->n_items; i++) {
        const ops_backend_i *b = ops_backend_find(backends->items[i]);
        gpu_possible |= !b || !b->host_memory;
    }
    for (int i = 0; i < p->n_entries; i++) {
        const profile_entry *e = &p->entries[i];
        key_scope s = keys[e->key].scope;
        unsigned mask = scope_models(s);
        const char *what = NULL;
        if (mask && !(mask & used)) what = scope_text(s);
        if (s == FOR_GPU && !gpu_possible) what = "has no effect on backend cpu";
        if (what) fprintf(stderr, "accumbench: warning: %s:%d: %s: %s (ignored)\n", p->path, e->line,
                          keys[e->key].name, what);
    }
}

/* argv and flags of *pc from a (heap copies); 0 ok, -1 out of host memory */
static int pack_args(const arg_list *a, profile_config *pc)
{
    size_t bytes = 0;
    for (int i = 0; i < a->argc; i++) bytes += strlen(a->argv[i]) + 1;
    pc->argv = malloc((size_t)(a->argc + 1) * sizeof(char *) + bytes);
    pc->flags = malloc(bytes + 1);
    if (!pc->argv || !pc->flags) return -1;
    char *dst = (char *)(pc->argv + a->argc + 1), *f = pc->flags;
    *f = '\0';
    for (int i = 0; i < a->argc; i++) {
        size_t n = strlen(a->argv[i]);
        memcpy(dst, a->argv[i], n + 1);
        pc->argv[i] = dst;
        dst += n + 1;
        if (i) *f++ = ' ';
        memcpy(f, a->argv[i], n + 1);
        f += n;
    }
    pc->argv[a->argc] = NULL;
    pc->argc = a->argc;
    return 0;
}

/* One point of the product → *pc (its own argv and flags). */
static int expand_one(const char *const *val_all, profile_config *pc)
{
    const char *val[N_RUN_KEYS];
    arg_list a;
    run_config c0;
    char err[512], num[3][24];
    memset(pc, 0, sizeof *pc);
    /* which model and strategy this point is (all flags, whatever applies) */
    build_args(val_all, &a);
    args_parse(&a, &c0, err, sizeof err);
    for (int k = 0; k < N_RUN_KEYS; k++) val[k] = key_applies(k, c0.model.kind) ? val_all[k] : NULL;
    /* full runs the whole effective batch as one: the split given is moot */
    if (c0.strategy == STRATEGY_FULL && val[K_EFFECTIVE]) {
        val[K_MICRO] = val[K_EFFECTIVE];
        val[K_ITER] = NULL;
    }
    build_args(val, &a);
    if (args_parse(&a, &pc->cfg, pc->reason, sizeof pc->reason) == 0) {
        /* the split as run derived it, always all three */
        snprintf(num[0], sizeof num[0], "%d", pc->cfg.micro_batch);
        snprintf(num[1], sizeof num[1], "%d", pc->cfg.iter_size);
        snprintf(num[2], sizeof num[2], "%d", pc->cfg.effective_batch);
        val[K_MICRO] = num[0];
        val[K_ITER] = num[1];
        val[K_EFFECTIVE] = num[2];
        build_args(val, &a);
        if (args_parse(&a, &pc->cfg, pc->reason, sizeof pc->reason) != 0) pc->skipped = 1;
    } else {
        pc->skipped = 1;
    }
    if (pack_args(&a, pc) != 0) return -1;
    pc->hash = hash_fnv1a(pc->flags);
    return 0;
}

void profile_configs_free(profile_config *v, int n)
{
    for (int i = 0; v && i < n; i++) {
        free(v[i].argv);
        free(v[i].flags);
    }
    free(v);
}

int profile_expand(const profile *p, profile_config **out, int *n)
{
    const profile_entry *axis[N_RUN_KEYS];
    long total = 1;
    for (int k = 0; k < N_RUN_KEYS; k++) {
        axis[k] = entry_for(p, k);
        if (axis[k]) total *= axis[k]->n_items;
    }
    warn_unused(p);
    profile_config *v = NULL, pc;
    int count = 0, cap = 0, pos[N_RUN_KEYS] = {0};
    for (long t = 0; t < total; t++) {
        const char *val[N_RUN_KEYS];
        for (int k = 0; k < N_RUN_KEYS; k++) val[k] = axis[k] ? axis[k]->items[pos[k]] : NULL;
        if (expand_one(val, &pc) != 0) goto oom;
        int dup = 0;
        for (int j = 0; j < count && !dup; j++) dup = v[j].hash == pc.hash && !strcmp(v[j].flags, pc.flags);
        if (dup) {
            free(pc.argv);
            free(pc.flags);
        } else {
            if (count == cap) {
                cap = cap ? 2 * cap : 64;
                profile_config *nv = realloc(v, (size_t)cap * sizeof *nv);
                if (!nv) goto oom;
                v = nv;
            }
            v[count++] = pc;
        }
        /* odometer: the last key varies fastest */
        for (int k = N_RUN_KEYS - 1; k >= 0; k--) {
            if (!axis[k]) continue;
            if (++pos[k] < axis[k]->n_items) break;
            pos[k] = 0;
        }
    }
    *out = v;
    *n = count;
    return 0;
oom:
    free(pc.argv);
    free(pc.flags);
    profile_configs_free(v, count);
    return -1;
}
