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

static void write_flag_value(jsonw *w, const char *key, const flag_spec *fs, const void *field)
{
    switch (fs->kind) {
    case F_INT: jsonw_int(w, key, *(const int *)field); break;
    case F_U64:
    case F_SIZE: {
        char digits[24];    /* a u64 exactly, not through a double */
        snprintf(digits, sizeof digits, "%llu", (unsigned long long)*(const uint64_t *)field);
        jsonw_raw(w, key, digits);
        break;
    }
    case F_DOUBLE: jsonw_num(w, key, *(const double *)field); break;
    case F_CHOICE: {
        const flag_choice *ch = fs->choices;
        while (ch->name && ch->value != *(const int *)field) ch++;
        jsonw_str(w, key, ch->name);
        break;
    }
    case F_NAME: jsonw_str(w, key, (const char *)field); break;
    case F_PATH: jsonw_str(w, key, *(const char *const *)field); break;
    case F_SWITCH: jsonw_bool(w, key, *(const int *)field); break;
    }
}

/* run's flags kept in `place`, as "key": value members */
static void write_flags(jsonw *w, flag_place place, const run_config *c, const cli_extras *x)
{
    for (size_t i = 0; i < cli_flag_count; i++) {
        const flag_spec *fs = &cli_flags[i];
        if (fs->place != place || !(fs->commands & (1 << CLI_CMD_RUN))) continue;
        char key[64];
        snake_key(fs->name, key, sizeof key);
        write_flag_value(w, key, fs, flag_field(fs, c, x));
    }
}

static void list_column(void *user, const char *column, const char *text, int is_text)
{
    (void)text;
    (void)is_text;
    jsonw_str(user, NULL, column);
}

void cli_print_config(const run_config *c, const cli_extras *x, FILE *f)
{
    jsonw w;
    jsonw_init(&w, f, 1);
    jsonw_object(&w, NULL);
    jsonw_object(&w, "config");
    write_flags(&w, IN_CONFIG, c, x);
    jsonw_int(&w, "last_micro_batch", c->last_micro_batch);
    jsonw_end(&w, '}');
    jsonw_array(&w, "micro_batches");
    for (int i = 0; i < c->iter_size; i++) jsonw_int(&w, NULL, config_micro_batch_size(c, i));
    jsonw_end(&w, ']');
    jsonw_object(&w, "extras");
    write_flags(&w, IN_EXTRAS, c, x);
    jsonw_end(&w, '}');
    result_row r;
    result_init(&r, c, c->backend);
    jsonw_array(&w, "key_columns");
    result_key_columns(&r, list_column, &w);
    jsonw_end(&w, ']');
    result_write_json(&r, &w, "row");
    jsonw_end(&w, '}');
}
