/* bench/cmd/sweep/profile.h — sweep profiles: flat `key = value` files (the design's
 * Profiles section), parsed once and validated whole, then expanded into the
 * configurations a sweep runs.
 *
 * Keys are run's config flags in snake_case (micro_batch = --micro-batch),
 * the plural aliases `models` and `strategies`, and the sweep's own keys
 * `engines`, `repeat`, `repeat_max`, `timeout`, `shuffle`, `calm_wait`,
 * `time_budget`. A value may be a comma-separated list; the lists of run flags form a cartesian product per model. A run
 * flag's key prefixed by a model, `MODEL.KEY` (gpt.micro_batch = 1, 2),
 * replaces KEY for that model only. Every value is checked by run's own
 * parser (cli_parse), so a profile accepts exactly what the command line
 * does. Errors are one line, "FILE:LINE: key: reason". */
#ifndef ACCUMBENCH_PROFILE_H
#define ACCUMBENCH_PROFILE_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

#define PROFILE_MAX_ITEMS 64        /* values in one list */
#define PROFILE_VALUE_LEN 64        /* one value, with its terminator */
#define PROFILE_MAX_ARGS 64         /* argv of one configuration: flags and values */
#define PROFILE_DEFAULT_TIMEOUT_S 600.0

typedef struct {
    int key;                    /* index into the key table (profile.c) */
    int model;                  /* -1, or the model_kind of a `MODEL.KEY` line */
    int line;
    int n_items;
    char items[PROFILE_MAX_ITEMS][PROFILE_VALUE_LEN];
} profile_entry;

typedef struct {
    char path[4096];
    char name[256];             /* file name without directory and ".profile" */
    char *text;                 /* the file as read (saved with the results) */
    profile_entry *entries;
    int n_entries;
    int repeat;                 /* runs of each configuration (1) */
    /* up to this many when the first `repeat` disagree (sweep.c's extra
     * rounds; default: repeat, none) */
    int repeat_max;
    double timeout_s;           /* per configuration and repeat (600) */
    double calm_wait_s;         /* the most a run waits for a calm machine (calm.c; 0: never) */
    /* past this many seconds of the sweep, no extra repeat and no run again
     * after a spell starts (extra.c); 0 when not set: no budget */
    double time_budget_s;
    int shuffle;                /* shuffle each round of repeats (default: repeat > 1) */
    uint64_t seed;              /* the first configuration's run seed: seeds the shuffle */
    int engines;                /* PROFILE_ENGINE_* bits (accumbench when not given) */
} profile;

/* `engines`: accumbench runs `accumbench run`, torch the PyTorch peer
 * (bench/peer/torch_peer.py run) with the same flags */
#define PROFILE_ENGINE_ACCUMBENCH 1
#define PROFILE_ENGINE_TORCH 2

/* One configuration: the flags passed to `accumbench run`, canonical (the
 * split always as --micro-batch M --iter-size K --effective-batch B, taken
 * from the parsed config), and the config they parse to. A configuration
 * that run would reject is kept with skipped = 1 and run's message. */
typedef struct {
    int argc;
    char **argv;                /* argc strings and a NULL, in one allocation */
    char *flags;                /* argv joined by spaces */
    uint64_t hash;              /* hash_fnv1a of flags: the configuration's id (util/hash.h) */
    run_config cfg;
    int skipped;
    char reason[512];
} profile_config;

/* Reads and validates PATH (name: what the results call the profile).
 * 0 ok; -1 with "PATH:LINE: key: reason" (or "PATH: reason") in err. */
int profile_load(profile *p, const char *path, const char *name, char *err, size_t err_len);
/* Same, for text already in memory (the copy a sweep directory keeps). */
int profile_parse(profile *p, const char *path, const char *name, const char *text, char *err, size_t err_len);
void profile_free(profile *p);

/* Expands each model's product into *out (malloc'ed, *n entries, in profile
 * order: backend, then model, then the other keys in argv order, the last
 * fastest; duplicates removed: among them strategy full's splits of one
 * effective batch). Warns on stderr, once per key, about a key that applies
 * to none of the profile's models or backends, or that every model it
 * applies to overrides. 0 ok, -1 out of host memory. */
int profile_expand(const profile *p, profile_config **out, int *n);
void profile_configs_free(profile_config *v, int n);

/* Finds a profile by name (profile_find.c): $ACCUMBENCH_PROFILES/NAME.profile,
 * else <directory of the executable>/../profiles/NAME.profile, else the
 * source tree's profiles/, else ./profiles/NAME.profile. An argument holding
 * '/' or ending in ".profile", or naming an existing file, is a path. 0 ok
 * (path, name filled); -1 with the places looked in, in err. */
int profile_resolve(const char *arg, char *path, size_t path_len, char *name, size_t name_len, char *err,
                    size_t err_len);

#endif
