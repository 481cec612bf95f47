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
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* more than this many combinations is certainly a mistake in a profile */
#define PROFILE_MAX_PRODUCT 100000L

typedef enum { FOR_ALL, FOR_MLP, FOR_CNN, FOR_GPU, FOR_SWEEP } key_scope;

typedef struct {
    const char *name;
    key_scope scope;
    int alias_of;               /* -1, or the key this plural names */
} key_spec;

/* run's config flags in the order they appear in a configuration's argv,
 * then the aliases and the sweep's own keys */
static const key_spec keys[] = {
    {"backend", FOR_ALL, -1},
    {"model", FOR_ALL, -1},
    {"input_dim", FOR_MLP, -1},
    {"hidden", FOR_MLP, -1},
    {"layers", FOR_MLP, -1},
    {"width", FOR_CNN, -1},
    {"stages", FOR_CNN, -1},
    {"blocks", FOR_CNN, -1},
    {"norm", FOR_CNN, -1},
    {"strategy", FOR_ALL, -1},
    {"loss_norm", FOR_ALL, -1},
    {"micro_batch", FOR_ALL, -1},
    {"iter_size", FOR_ALL, -1},
    {"effective_batch", FOR_ALL, -1},
    {"optimizer", FOR_ALL, -1},
    {"math", FOR_GPU, -1},
    {"conv_algo", FOR_GPU, -1},
    {"seed", FOR_ALL, -1},
    {"mem_limit", FOR_ALL, -1},
    {"noise", FOR_ALL, -1},
    {"min_steps", FOR_ALL, -1},
    {"max_steps", FOR_ALL, -1},
    {"max_time", FOR_ALL, -1},
    {"warmup", FOR_ALL, -1},
    {"min_time", FOR_ALL, -1},
    {"models", FOR_ALL, 1},
    {"strategies", FOR_ALL, 9},
    {"engines", FOR_SWEEP, -1},
    {"repeat", FOR_SWEEP, -1},
    {"timeout", FOR_SWEEP, -1},
    {"shuffle", FOR_SWEEP, -1},
};
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))
#define N_RUN_KEYS 25           /* backend .. min_time */
enum { K_BACKEND = 0, K_MODEL = 1, K_STRATEGY = 9, K_MICRO = 11, K_ITER = 12, K_EFFECTIVE = 13,
       K_ENGINES = 27, K_REPEAT, K_TIMEOUT, K_SHUFFLE };

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

uint64_t profile_fnv1a(const char *s)
{
    /* FNV-1a, 64-bit offset basis and prime (Fowler, Noll, Vo) */
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
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
        } else if (k == K_REPEAT || k == K_TIMEOUT || k == K_SHUFFLE) {
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

int profile_parse(profile *p, const char *path, const char *name, const char *text, char *err, size_t err_len)
{
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", path);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->repeat = 1;
    p->timeout_s = PROFILE_DEFAULT_TIMEOUT_S;
    p->shuffle = -1;
    p->engines = PROFILE_ENGINE_ACCUMBENCH;
    int lineno = 0;
    size_t text_len = strlen(text);
    p->text = malloc(text_len + 1);
    p->entries = calloc(N_KEYS, sizeof *p->entries);
    char *copy = malloc(text_len + 1);
    if (!p->text || !p->entries || !copy) FAIL("out of host memory");
    memcpy(p->text, text, text_len + 1);
    memcpy(copy, text, text_len + 1);
    int line_of[N_KEYS] = {0};   /* by base key: where it was given */
    char *next = copy;
    while (next) {
        char *line = next;
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl) *nl = '\0';
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        line = trim(line);
        if (!*line) continue;
        char *eq = strchr(line, '=');
        if (!eq) FAIL("expected 'key = value' (got '%.60s')", line);
        *eq = '\0';
        char *key = trim(line), *value = trim(eq + 1);
        if (!*key) FAIL("expected a key before '='");
        int k = find_key(key);
        if (k < 0)
            FAIL("%s: unknown key (keys are run's flags in snake_case, e.g. micro_batch, and models, strategies, "
                 "engines, repeat, timeout, shuffle)", key);
        int base = key_base(k);
        if (line_of[base]) {
            if (strcmp(keys[p->entries[line_of[base] - 1].key].name, key) != 0)
                FAIL("%s: names the same axis as '%s' on line %d; give one of them", key,
                     keys[p->entries[line_of[base] - 1].key].name, p->entries[line_of[base] - 1].line);
            FAIL("%s: given more than once (first on line %d)", key, p->entries[line_of[base] - 1].line);
        }
        profile_entry *e = &p->entries[p->n_entries];
        memset(e, 0, sizeof *e);
        e->key = k;
        e->line = lineno;
        if (parse_entry(e, path, lineno, key, value, err, err_len)) goto fail_quiet;
        line_of[base] = ++p->n_entries;
        if (k == K_REPEAT) p->repeat = atoi(e->items[0]);
        if (k == K_TIMEOUT) p->timeout_s = strtod(e->items[0], NULL);
        if (k == K_SHUFFLE) p->shuffle = atoi(e->items[0]);
        if (k == K_ENGINES) {
            p->engines = 0;
            for (int i = 0; i < e->n_items; i++)
                p->engines |= strcmp(e->items[i], "torch") ? PROFILE_ENGINE_ACCUMBENCH : PROFILE_ENGINE_TORCH;
        }
    }
    if (p->shuffle < 0) p->shuffle = p->repeat > 1;
    long product = 1;
    for (int i = 0; i < p->n_entries; i++)
        if (key_base(p->entries[i].key) < N_RUN_KEYS && (product *= p->entries[i].n_items) > PROFILE_MAX_PRODUCT) {
            lineno = p->entries[i].line;
            FAIL("%s: the lists' product exceeds %ld configurations", keys[p->entries[i].key].name,
                 PROFILE_MAX_PRODUCT);
        }
    free(copy);
    return 0;
fail:
fail_quiet:
    free(copy);
    profile_free(p);
    return -1;
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

static int key_applies(int k, model_kind m)
{
    key_scope s = keys[k].scope;
    return !((s == FOR_MLP && m != MODEL_MLP) || (s == FOR_CNN && m != MODEL_CNN));
}

/* Warns about keys that apply to none of the models (or, for GPU settings,
 * to none of the backends) the profile names. */
static void warn_unused(const profile *p)
{
    run_config d;
    cli_defaults(&d);
    const profile_entry *models = entry_for(p, K_MODEL), *backends = entry_for(p, K_BACKEND);
    int has_mlp = !models && d.model.kind == MODEL_MLP, has_cnn = !models && d.model.kind == MODEL_CNN;
    int gpu_possible = !backends;
    for (int i = 0; models && i < models->n_items; i++) {
        has_mlp |= !strcmp(models->items[i], "mlp");
        has_cnn |= !strcmp(models->items[i], "cnn");
    }
    for (int i = 0; backends && i < backends->n_items; i++) gpu_possible |= strcmp(backends->items[i], "cpu") != 0;
    for (int i = 0; i < p->n_entries; i++) {
        const profile_entry *e = &p->entries[i];
        key_scope s = keys[e->key].scope;
        const char *what = NULL;
        if (s == FOR_MLP && !has_mlp) what = "applies to model mlp only, and no configuration uses mlp";
        if (s == FOR_CNN && !has_cnn) what = "applies to model cnn only, and no configuration uses cnn";
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
    pc->hash = profile_fnv1a(pc->flags);
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

// ----------------------------------------------------------------------------
// finding a profile by name

static int is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

int profile_resolve(const char *arg, char *path, size_t path_len, char *name, size_t name_len, char *err,
                    size_t err_len)
{
    size_t len = strlen(arg);
    int is_path = strchr(arg, '/') || (len > 8 && !strcmp(arg + len - 8, ".profile")) || is_file(arg);
    if (is_path) {
        const char *base = strrchr(arg, '/') ? strrchr(arg, '/') + 1 : arg;
        size_t bl = strlen(base);
        if (bl > 8 && !strcmp(base + bl - 8, ".profile")) bl -= 8;
        snprintf(name, name_len, "%.*s", (int)bl, base);
        snprintf(path, path_len, "%s", arg);
        return 0;
    }
    if (!*arg) {
        snprintf(err, err_len, "--profile: needs a profile name or file");
        return -1;
    }
    char dirs[4][4096];
    int n_dirs = 0;
    const char *env = getenv("ACCUMBENCH_PROFILES");
    if (env && *env) snprintf(dirs[n_dirs++], sizeof dirs[0], "%s", env);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        snprintf(dirs[n_dirs++], sizeof dirs[0], "%.4000s/../profiles", exe);
    }
    /* the source tree the binary was built from, for build dirs elsewhere */
    snprintf(dirs[n_dirs++], sizeof dirs[0], "%s/profiles", ACCUMBENCH_SOURCE_DIR);
    snprintf(dirs[n_dirs++], sizeof dirs[0], "profiles");
    char tried[4 * 4200];
    size_t t = 0;
    tried[0] = '\0';
    for (int i = 0; i < n_dirs; i++) {
        snprintf(path, path_len, "%s/%s.profile", dirs[i], arg);
        if (is_file(path)) {
            snprintf(name, name_len, "%s", arg);
            return 0;
        }
        t += (size_t)snprintf(tried + t, sizeof tried - t, "%s%s", i ? ", " : "", dirs[i]);
    }
    snprintf(err, err_len, "--profile: no profile named '%s' (looked for %s.profile in %s)", arg, arg, tried);
    return -1;
}
