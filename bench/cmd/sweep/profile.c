/* bench/cmd/sweep/profile.c — see profile.h. The key table below names the keys and
 * which models or backends each applies to (so which MODEL.KEY lines are
 * valid, and which axes multiply a model's product); what a value may be is never
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
    K_MODELS = N_RUN_KEYS, K_STRATEGIES, K_ENGINES, K_REPEAT, K_REPEAT_MAX, K_TIMEOUT, K_SHUFFLE, K_CALM_WAIT,
    K_TIME_BUDGET,
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
    [K_CALM_WAIT] = {"calm_wait", FOR_SWEEP, -1},
    [K_TIME_BUDGET] = {"time_budget", FOR_SWEEP, -1},
};

static int key_base(int k) { return keys[k].alias_of >= 0 ? keys[k].alias_of : k; }

/* the models a MODEL.KEY prefix may name; a model added to model.h gets its line here */
static const model_kind model_kinds[] = {MODEL_MLP, MODEL_CNN, MODEL_GPT};
#define N_MODELS ((int)(sizeof model_kinds / sizeof model_kinds[0]))

/* the model_kind named by the len bytes at name, or -1 */
static int model_of(const char *name, size_t len)
{
    for (int i = 0; i < N_MODELS; i++) {
        const char *n = model_name(model_kinds[i]);
        if (strlen(n) == len && !strncmp(n, name, len)) return (int)model_kinds[i];
    }
    return -1;
}

static model_kind default_model(void)
{
    run_config d;
    cli_defaults(&d);
    return d.model.kind;
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

static int key_applies(int k, int m)
{
    unsigned mask = scope_models(keys[k].scope);
    return !mask || (mask & 1u << m);
}

/* the names of the models in mask, ", "-separated */
static const char *models_text(unsigned mask, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < N_MODELS; i++)
        if (mask & 1u << model_kinds[i] && at < len)
            at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "", model_name(model_kinds[i]));
    return buf;
}

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

/* The run key `base`'s entry for model m: its MODEL.KEY line, else the
 * flat one (m = -1: the flat one); NULL when neither is given. */
static const profile_entry *entry_for(const profile *p, int base, int m)
{
    const profile_entry *flat = NULL;
    for (int i = 0; i < p->n_entries; i++) {
        const profile_entry *e = &p->entries[i];
        if (key_base(e->key) != base) continue;
        if (m >= 0 && e->model == m) return e;
        if (e->model < 0) flat = e;
    }
    return flat;
}

/* the model_kind of models' item i (checked when parsed), or run's default without `models` */
static int model_at(const profile_entry *models, int i)
{
    return models ? model_of(models->items[i], strlen(models->items[i])) : (int)default_model();
}

/* The models the profile runs, a bit per model_kind. */
static unsigned models_run(const profile *p)
{
    const profile_entry *models = entry_for(p, K_MODEL, -1);
    unsigned used = 0;
    for (int i = 0; i < (models ? models->n_items : 1); i++) used |= 1u << model_at(models, i);
    return used;
}

/* The seed of the profile's first configuration: its first model's first
 * `seed` value, else run's default. Values were checked when parsed, so this
 * parses. */
static uint64_t first_seed(const profile *p)
{
    arg_list a = {0};
    const profile_entry *seed = entry_for(p, K_SEED, model_at(entry_for(p, K_MODEL, -1), 0));
    if (seed) args_add(&a, "--seed", seed->items[0]);
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
        } else if (k == K_REPEAT || k == K_REPEAT_MAX || k == K_TIMEOUT || k == K_SHUFFLE || k == K_CALM_WAIT ||
                   k == K_TIME_BUDGET) {
            long n;
            double d;
            int seconds = k == K_TIMEOUT || k == K_CALM_WAIT || k == K_TIME_BUDGET;
            int rc = seconds ? parse_double(v, 0.0, 1e7, &d, why, sizeof why)
                             : parse_int(v, k == K_SHUFFLE ? 0 : 1, k == K_SHUFFLE ? 1 : 100000, &n, why, sizeof why);
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
    if (e->key == K_CALM_WAIT) p->calm_wait_s = strtod(e->items[0], NULL);
    if (e->key == K_TIME_BUDGET) p->time_budget_s = strtod(e->items[0], NULL);
    if (e->key == K_ENGINES) {
        p->engines = 0;
        for (int i = 0; i < e->n_items; i++)
            p->engines |= strcmp(e->items[i], "torch") ? PROFILE_ENGINE_ACCUMBENCH : PROFILE_ENGINE_TORCH;
    }
}

/* the key as the profile wrote it: KEY or MODEL.KEY */
static const char *entry_name(const profile_entry *e, char *buf, size_t len)
{
    if (e->model < 0) return keys[e->key].name;
    snprintf(buf, len, "%s.%s", model_name((model_kind)e->model), keys[e->key].name);
    return buf;
}

/* KEY or MODEL.KEY → *k (its index) and *m (the model; -1: every model) */
static int parse_key(const char *path, int lineno, const char *key, int *k, int *m, char *err, size_t err_len)
{
    const char *dot = strchr(key, '.'), *name = dot ? dot + 1 : key;
    char all[64];
    *m = dot ? model_of(key, (size_t)(dot - key)) : -1;
    if (dot && *m < 0)
        FAIL("%s: '%.*s' is not a model (a per-model key is MODEL.KEY, MODEL one of %s)", key, (int)(dot - key), key,
             models_text(~0u, all, sizeof all));
    *k = find_key(name);
    if (*k < 0)
        FAIL("%s: unknown key (keys are run's flags in snake_case, e.g. micro_batch, and models, strategies, "
             "engines, repeat, repeat_max, timeout, shuffle, calm_wait, time_budget; MODEL.KEY for one model)", key);
    int base = key_base(*k);
    if (*m >= 0 && (base >= N_RUN_KEYS || base == K_MODEL || base == K_BACKEND))
        FAIL("%s: %s is set for the whole profile, not per model", key, name);
    if (*m >= 0 && !key_applies(*k, *m)) FAIL("%s: %s does not apply to model %s", key, name, model_name(*m));
    return 0;
fail:
    return -1;
}

/* One line (comment stripped) into the next entry. line_of: by model + 1
 * and base key, 1 + the entry that gave it. */
static int parse_line(profile *p, int (*line_of)[N_KEYS], const char *path, int lineno, char *line, char *err,
                      size_t err_len)
{
    char *eq = strchr(line, '=');
    if (!eq) FAIL("expected 'key = value' (got '%.60s')", line);
    *eq = '\0';
    char *key = trim(line), *value = trim(eq + 1), buf[64];
    if (!*key) FAIL("expected a key before '='");
    int k, m;
    if (parse_key(path, lineno, key, &k, &m, err, err_len)) return -1;
    int *given = &line_of[m + 1][key_base(k)];
    if (*given) {
        const profile_entry *first = &p->entries[*given - 1];
        if (first->key != k)
            FAIL("%s: names the same axis as '%s' on line %d; give one of them", key,
                 entry_name(first, buf, sizeof buf), first->line);
        FAIL("%s: given more than once (first on line %d)", key, first->line);
    }
    profile_entry *e = &p->entries[p->n_entries];
    memset(e, 0, sizeof *e);
    e->key = k;
    e->model = m;
    e->line = lineno;
    if (parse_entry(e, path, lineno, key, value, err, err_len)) return -1;
    *given = ++p->n_entries;
    apply_sweep_key(p, e);
    return 0;
fail:
    return -1;
}

/* Each MODEL.KEY names one of the models the profile runs. */
static int check_models(const profile *p, const char *path, char *err, size_t err_len)
{
    unsigned used = models_run(p);
    const char *none_given = entry_for(p, K_MODEL, -1) ? "" : ", run's default: the profile gives no models";
    char buf[64], names[64];
    for (int i = 0; i < p->n_entries; i++) {
        const profile_entry *e = &p->entries[i];
        int lineno = e->line;
        if (e->model >= 0 && !(used & 1u << e->model))
            FAIL("%s: model %s is not among the profile's models (%s%s)", entry_name(e, buf, sizeof buf),
                 model_name((model_kind)e->model), models_text(used, names, sizeof names), none_given);
    }
    return 0;
fail:
    return -1;
}

/* The configurations before duplicates are removed, summed over the models
 * (each the product of the lists that apply to it), checked as the entries
 * come: the error names the line that takes the sum past the limit. */
static int check_product(const profile *p, const char *path, char *err, size_t err_len)
{
    const profile_entry *models = entry_for(p, K_MODEL, -1), *backends = entry_for(p, K_BACKEND, -1);
    long per_model[N_MODELS];
    for (int j = 0; j < N_MODELS; j++) per_model[j] = backends ? backends->n_items : 1;
    unsigned used = models_run(p);
    char buf[64];
    for (int i = 0; i < p->n_entries; i++) {
        const profile_entry *e = &p->entries[i];
        int base = key_base(e->key), lineno = e->line;
        if (base >= N_RUN_KEYS || e == models || e == backends) continue;
        long total = 0;
        for (int j = 0; j < N_MODELS; j++) {
            int m = (int)model_kinds[j];
            if (!(used & 1u << m)) continue;
            if (key_applies(base, m) && entry_for(p, base, m) == e) per_model[j] *= e->n_items;
            total += per_model[j];
        }
        if (total > PROFILE_MAX_PRODUCT)
            FAIL("%s: the lists' product exceeds %ld configurations", entry_name(e, buf, sizeof buf),
                 PROFILE_MAX_PRODUCT);
    }
    return 0;
fail:
    return -1;
}

/* the lines of copy (modified in place) */
static int parse_lines(profile *p, const char *path, char *copy, char *err, size_t err_len)
{
    int line_of[N_MODELS + 1][N_KEYS] = {{0}}, lineno = 0;
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
    p->entries = calloc((size_t)(N_MODELS + 1) * N_KEYS, sizeof *p->entries);
    char *copy = malloc(text_len + 1);
    int rc = -1;
    if (!p->text || !p->entries || !copy) snprintf(err, err_len, "%s: out of host memory", path);
    else {
        memcpy(p->text, text, text_len + 1);
        memcpy(copy, text, text_len + 1);
        rc = parse_lines(p, path, copy, err, err_len) || check_models(p, path, err, err_len)
                     || check_product(p, path, err, err_len) ? -1 : 0;
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

static const char *scope_text(key_scope s)
{
    switch (s) {
    case FOR_MLP: return "applies to model mlp only, and no configuration uses mlp";
    case FOR_CNN: return "applies to model cnn only, and no configuration uses cnn";
    case FOR_GPT: return "applies to model gpt only, and no configuration uses gpt";
    default: return "applies to models mlp and gpt only, and no configuration uses either";
    }
}

/* 1 when each model the profile runs that flat entry e applies to has its
 * own MODEL.KEY for it */
static int overridden_everywhere(const profile *p, const profile_entry *e, unsigned used)
{
    for (int j = 0; j < N_MODELS; j++) {
        int m = (int)model_kinds[j];
        if (used & 1u << m && key_applies(e->key, m) && entry_for(p, key_base(e->key), m) == e) return 0;
    }
    return 1;
}

/* Warns about keys that apply to none of the models (or, for GPU settings,
 * to none of the backends) the profile names, and about flat keys every
 * model overrides. */
static void warn_unused(const profile *p)
{
    const profile_entry *backends = entry_for(p, K_BACKEND, -1);
    unsigned used = models_run(p);
    int gpu_possible = !backends;
    /* a GPU backend: one this build lacks, or one whose tensors are not in host memory */
    for (int i = 0; backends && i < backends->n_items; i++) {
        const ops_backend_i *b = ops_backend_find(backends->items[i]);
        gpu_possible |= !b || !b->host_memory;
    }
    char buf[64];
    for (int i = 0; i < p->n_entries; i++) {
        const profile_entry *e = &p->entries[i];
        key_scope s = keys[e->key].scope;
        unsigned mask = scope_models(s);
        const char *what = NULL;
        if (e->model < 0 && mask && !(mask & used)) what = scope_text(s);
        else if (e->model < 0 && key_base(e->key) < N_RUN_KEYS && overridden_everywhere(p, e, used))
            what = "every model it applies to has its own MODEL.KEY";
        if (s == FOR_GPU && !gpu_possible) what = "has no effect on backend cpu";
        if (what) fprintf(stderr, "accumbench: warning: %s:%d: %s: %s (ignored)\n", p->path, e->line,
                          entry_name(e, buf, sizeof buf), what);
    }
}

/* argv and flags of *pc from a (heap copies); 0 ok, -1 out of host memory */
static int pack_args(const arg_list *a, profile_config *pc)
{
    size_t bytes = 0;
    for (int i = 0; i < a->argc; i++) bytes += strlen(a->argv[i]) + 1;
    pc->argv = malloc((size_t)(a->argc + 1) * sizeof(char *) + bytes);
    pc->flags = malloc(bytes + 1);
    if (!pc->argv || !pc->flags) {
        free(pc->argv);
        free(pc->flags);
        return -1;
    }
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

/* One point of a model's product (values only of keys that apply to the
 * model) → *pc (its own argv and flags); 0 ok, -1 out of host memory. */
static int expand_one(const char *const *point, profile_config *pc)
{
    const char *val[N_RUN_KEYS];
    arg_list a;
    run_config c0;
    char err[512], num[3][24];
    memset(pc, 0, sizeof *pc);
    memcpy(val, point, sizeof val);
    /* which strategy this point is */
    build_args(val, &a);
    args_parse(&a, &c0, err, sizeof err);
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

typedef struct {
    profile_config *v;
    int n, cap;
} config_list;

/* Appends *pc to l, or frees it when l holds the same flags; 0 ok, -1 out of host memory. */
static int list_add(config_list *l, profile_config *pc)
{
    for (int j = 0; j < l->n; j++)
        if (l->v[j].hash == pc->hash && !strcmp(l->v[j].flags, pc->flags)) {
            free(pc->argv);
            free(pc->flags);
            return 0;
        }
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        profile_config *nv = realloc(l->v, (size_t)cap * sizeof *nv);
        if (!nv) {
            free(pc->argv);
            free(pc->flags);
            return -1;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = *pc;
    return 0;
}

/* Model m's product into l: point holds its backend and model values; the
 * keys that apply to m take m's MODEL.KEY list, else the flat one. */
static int expand_model(const profile *p, int m, const char **point, config_list *l)
{
    const profile_entry *axis[N_RUN_KEYS] = {0};
    long total = 1;
    for (int k = 0; k < N_RUN_KEYS; k++) {
        if (k == K_BACKEND || k == K_MODEL || !key_applies(k, m)) continue;
        axis[k] = entry_for(p, k, m);
        if (axis[k]) total *= axis[k]->n_items;
    }
    int pos[N_RUN_KEYS] = {0};
    for (long t = 0; t < total; t++) {
        for (int k = 0; k < N_RUN_KEYS; k++)
            if (axis[k]) point[k] = axis[k]->items[pos[k]];
        profile_config pc;
        if (expand_one(point, &pc) != 0 || list_add(l, &pc) != 0) return -1;
        /* odometer: the last key varies fastest */
        for (int k = N_RUN_KEYS - 1; k >= 0; k--) {
            if (!axis[k]) continue;
            if (++pos[k] < axis[k]->n_items) break;
            pos[k] = 0;
        }
    }
    return 0;
}

int profile_expand(const profile *p, profile_config **out, int *n)
{
    warn_unused(p);
    const profile_entry *backends = entry_for(p, K_BACKEND, -1), *models = entry_for(p, K_MODEL, -1);
    config_list l = {0};
    for (int b = 0; b < (backends ? backends->n_items : 1); b++)
        for (int i = 0; i < (models ? models->n_items : 1); i++) {
            const char *point[N_RUN_KEYS] = {0};
            point[K_BACKEND] = backends ? backends->items[b] : NULL;
            point[K_MODEL] = models ? models->items[i] : NULL;
            if (expand_model(p, model_at(models, i), point, &l) != 0) {
                profile_configs_free(l.v, l.n);
                return -1;
            }
        }
    *out = l.v;
    *n = l.n;
    return 0;
}
