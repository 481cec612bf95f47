/* bench/cli/print_config.c — `run --print-config`: the configuration as run
 * would use it, in JSON (see cli.h). The config and extras objects come from
 * walking the flag table, so a new flag appears here with no edit; the key
 * columns and the row template come from results.h, so the PyTorch peer
 * writes exactly accumbench's columns. */
#include "cli.h"
#include "flags.h"
#include "jsonwrite.h"
#include "results.h"

#include <stdint.h>
#include <stdio.h>

/* "--loss-norm" -> "loss_norm" */
static void snake_key(const char *flag, char *buf, size_t n)
{
    size_t i = 0;
    for (const char *p = flag + 2; *p && i + 1 < n; p++) buf[i++] = *p == '-' ? '_' : *p;
    buf[i] = '\0';
}

static void print_flag_value(FILE *f, const flag_spec *fs, const void *field)
{
    switch (fs->kind) {
    case F_INT: fprintf(f, "%d", *(const int *)field); break;
    case F_U64:
    case F_SIZE: fprintf(f, "%llu", (unsigned long long)*(const uint64_t *)field); break;
    case F_DOUBLE: jsonw_double(f, *(const double *)field); break;
    case F_CHOICE: {
        const flag_choice *ch = fs->choices;
        while (ch->name && ch->value != *(const int *)field) ch++;
        if (ch->name) jsonw_string(f, ch->name);
        else fputs("null", f);
        break;
    }
    case F_NAME: jsonw_string(f, (const char *)field); break;
    case F_PATH:
        if (*(const char *const *)field) jsonw_string(f, *(const char *const *)field);
        else fputs("null", f);
        break;
    case F_SWITCH: fputs(*(const int *)field ? "true" : "false", f); break;
    }
}

/* run's flags kept in `place`, as "key": value pairs */
static void print_flags(FILE *f, flag_place place, const run_config *c, const cli_extras *x)
{
    int n = 0;
    for (size_t i = 0; i < cli_flag_count; i++) {
        const flag_spec *fs = &cli_flags[i];
        if (fs->place != place || !(fs->commands & (1 << CLI_CMD_RUN))) continue;
        char key[64];
        snake_key(fs->name, key, sizeof key);
        fputs(n++ ? ", " : "", f);
        jsonw_key(f, key);
        print_flag_value(f, fs, flag_field(fs, c, x));
    }
}

typedef struct { FILE *f; int n; } column_list;

static void list_column(void *user, const char *column, const char *text, int is_text)
{
    (void)text;
    (void)is_text;
    column_list *l = user;
    fputs(l->n++ ? ", " : "", l->f);
    jsonw_string(l->f, column);
}

void cli_print_config(const run_config *c, const cli_extras *x, FILE *f)
{
    fputs("{\n  \"config\": {", f);
    print_flags(f, IN_CONFIG, c, x);
    fprintf(f, ", \"last_micro_batch\": %d},\n  \"micro_batches\": [", c->last_micro_batch);
    for (int i = 0; i < c->iter_size; i++) fprintf(f, "%s%d", i ? ", " : "", config_micro_batch_size(c, i));
    fputs("],\n  \"extras\": {", f);
    print_flags(f, IN_EXTRAS, c, x);
    result_row r;
    result_init(&r, c, c->backend);
    column_list keys = {f, 0};
    fputs("},\n  \"key_columns\": [", f);
    result_key_columns(&r, list_column, &keys);
    fputs("],\n  \"row\": ", f);
    result_print_json(&r, f);
    fputs("}\n", f);
}
