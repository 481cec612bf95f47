/* bench/cli/flags.h — the shape of cli.c's flag table, for the code that walks
 * it besides the parser (print_config.c). Each entry names a flag, what it
 * accepts and the field it sets, by offset into run_config or cli_extras. */
#ifndef ACCUMBENCH_FLAGS_H
#define ACCUMBENCH_FLAGS_H

#include "cli.h"

#include <stddef.h>

typedef enum {
    F_INT,          /* int in lo..hi */
    F_U64,          /* uint64_t */
    F_DOUBLE,       /* double in (lo, hi], or [lo, hi] with lo_closed */
    F_SIZE,         /* uint64_t bytes: parse_size */
    F_CHOICE,       /* int (or an enum): the chosen entry's value */
    F_NAME,         /* char[]: the chosen entry's name */
    F_PATH,         /* const char *: a non-empty argument, kept in argv */
    F_SWITCH,       /* int set to 1; takes no value */
} flag_kind;

typedef enum { IN_CONFIG, IN_EXTRAS } flag_place;

typedef struct {
    const char *name;
    int value;
} flag_choice;

typedef struct {
    const char *name;               /* --flag; its key in --print-config is the name in snake_case */
    flag_kind kind;
    flag_place place;
    size_t offset, size;            /* the field it sets */
    double lo, hi;
    int lo_closed;
    const flag_choice *choices;     /* F_CHOICE, F_NAME: ends with {NULL, 0} */
    int commands;                   /* bit per cli_command */
} flag_spec;

extern const flag_spec cli_flags[];
extern const size_t cli_flag_count;

/* the field flag f sets, in c or x */
const void *flag_field(const flag_spec *f, const run_config *c, const cli_extras *x);

#endif
