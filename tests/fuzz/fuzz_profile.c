/* tests/fuzz/fuzz_profile.c — bench/cmd/sweep/profile.c, the sweep profile parser
 * (profile_parse, the in-memory entry point profile_load and a sweep's
 * --resume use), then profile_expand when the product is small. A rejected
 * profile gives "fuzz.profile:LINE: ..." (or "fuzz.profile: ...") and frees
 * everything; an accepted one holds only values within its limits, and
 * every configuration it expands to is canonical: argv NULL-terminated,
 * flags == argv joined by spaces, hash == hash_fnv1a of flags, no two alike,
 * and a configuration not marked skipped parses again with run's own parser
 * to the config stored beside it. Inputs holding a NUL are skipped
 * (profile_load rejects them before parsing). */
#include "fuzz.h"
#include "cli.h"
#include "hash.h"
#include "profile.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define PATH "fuzz.profile"
/* expanding calls run's parser three times per point: keep runs fast */
#define MAX_EXPAND 256

static void check_configs(const profile_config *v, int n)
{
    for (int i = 0; i < n; i++) {
        const profile_config *pc = &v[i];
        FUZZ_CHECK(pc->argc >= 0 && pc->argc % 2 == 0 && pc->argc <= PROFILE_MAX_ARGS, "argc %d", pc->argc);
        FUZZ_CHECK(pc->argv[pc->argc] == NULL, "argv not NULL-terminated");
        size_t at = 0;
        for (int a = 0; a < pc->argc; a++) {
            size_t len = strlen(pc->argv[a]);
            if (a) FUZZ_CHECK(pc->flags[at++] == ' ', "flags separator");
            FUZZ_CHECK(!strncmp(pc->flags + at, pc->argv[a], len), "flags != argv joined");
            at += len;
            if (a % 2 == 0) FUZZ_CHECK(!strncmp(pc->argv[a], "--", 2), "argv[%d] = '%s' is not a flag", a, pc->argv[a]);
        }
        FUZZ_CHECK(pc->flags[at] == '\0', "flags longer than argv");
        FUZZ_CHECK(pc->hash == hash_fnv1a(pc->flags), "hash");
        for (int j = 0; j < i; j++) FUZZ_CHECK(strcmp(v[j].flags, pc->flags) != 0, "duplicate '%s'", pc->flags);
        if (pc->skipped) {
            FUZZ_CHECK(pc->reason[0] != '\0', "skipped without a reason");
            continue;
        }
        /* run accepts the canonical argv and gets the same config */
        char **argv = malloc((size_t)(pc->argc + 1) * sizeof *argv);
        if (!argv) abort();
        for (int a = 0; a <= pc->argc; a++) argv[a] = pc->argv[a] ? strdup(pc->argv[a]) : NULL;
        run_config c;
        cli_extras x;
        int help = 0;
        char err[512];
        cli_defaults(&c);
        int rc = cli_parse(CLI_CMD_RUN, pc->argc, argv, 0, &c, &x, &help, err, sizeof err);
        FUZZ_CHECK(rc == 0 && !help, "run rejects '%s': %s", pc->flags, err);
        FUZZ_CHECK(c.micro_batch == pc->cfg.micro_batch && c.iter_size == pc->cfg.iter_size &&
                   c.effective_batch == pc->cfg.effective_batch && c.strategy == pc->cfg.strategy &&
                   c.model.kind == pc->cfg.model.kind && c.mem_limit_bytes == pc->cfg.mem_limit_bytes,
                   "config of '%s' differs", pc->flags);
        for (int a = 0; a < pc->argc; a++) free(argv[a]);
        free(argv);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    if (!text) return 0;
    profile p;
    char err[1024] = "";
    int rc = profile_parse(&p, PATH, "fuzz", text, err, sizeof err);
    if (rc != 0) {
        FUZZ_CHECK(!strncmp(err, PATH ":", strlen(PATH ":")), "message '%s'", err);
        FUZZ_CHECK(p.text == NULL && p.entries == NULL, "a failed parse frees the profile");
        free(text);
        return 0;
    }
    FUZZ_CHECK(!strcmp(p.text, text), "the profile keeps its text");
    FUZZ_CHECK(p.repeat >= 1 && p.timeout_s > 0 && (p.shuffle == 0 || p.shuffle == 1), "sweep settings");
    long product = 1;
    for (int i = 0; i < p.n_entries; i++) {
        const profile_entry *e = &p.entries[i];
        FUZZ_CHECK(e->n_items >= 1 && e->n_items <= PROFILE_MAX_ITEMS && e->line >= 1, "entry %d", i);
        for (int j = 0; j < e->n_items; j++) {
            size_t len = strnlen(e->items[j], PROFILE_VALUE_LEN);
            FUZZ_CHECK(len > 0 && len < PROFILE_VALUE_LEN, "item length");
        }
        if (product <= MAX_EXPAND) product *= e->n_items;
    }
    if (product <= MAX_EXPAND) {
        profile_config *v = NULL;
        int n = 0;
        /* profile_expand warns on stderr about keys no model uses: at
         * libFuzzer's rate that drowns its output, so it goes to /dev/null
         * unless ACCUMBENCH_FUZZ_VERBOSE is set (a crash input is saved
         * either way; rerun it with the variable set to see the report) */
        static int devnull = -2;
        if (devnull == -2) devnull = getenv("ACCUMBENCH_FUZZ_VERBOSE") ? -1 : open("/dev/null", O_WRONLY);
        int saved = -1;
        if (devnull >= 0) {
            fflush(stderr);
            saved = dup(2);
            dup2(devnull, 2);
        }
        rc = profile_expand(&p, &v, &n);
        if (saved >= 0) {
            fflush(stderr);
            dup2(saved, 2);
            close(saved);
        }
        FUZZ_CHECK(rc == 0, "profile_expand failed");
        FUZZ_CHECK(n >= 1 && n <= product, "%d configurations from a product of %ld", n, product);
        check_configs(v, n);
        profile_configs_free(v, n);
    }
    profile_free(&p);
    free(text);
    return 0;
}
