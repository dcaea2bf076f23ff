/*
 * cmd_fix_data.c — `selfheal fix-data` (cmd_fix_data.h): flags, the brief's
 * config for the IQR multiplier, a progress bar on a terminal, the summary
 * per column and the JSON report.
 */
#include "cli/cmd_fix_data.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "cli/brief_config.h"
#include "cli/cli.h"
#include "base/clock.h"
#include "data/datafix.h"
#include "data/datafix_isolated.h"
#include "base/errors.h"

#define CMD "fix-data"
#define DEFAULT_DATA "data/raw/housing.csv"
#define PROGRESS_MIN_BYTES (16u << 20)
#define MAX_TOKENS 64

struct fix_flags {
    const char *path;
    const char *report;
    const char *config;
    bool dry_run;
    bool quiet;
    bool has_iqr;
    int64_t memory_budget; /* 0: in this process, no limit; -1: isolated, no limit */
    struct datafix_options o;
    char *tokens_buf;
    const char *tokens[MAX_TOKENS];
};

static void fix_help(FILE *out)
{
    fputs("Usage: selfheal fix-data [--data-path FILE] [--dry-run] [--report FILE.json]\n"
          "                         [--missing median|mean|mode|drop-row]\n"
          "                         [--outliers cap|drop-row|none] [--iqr-multiplier K]\n"
          "                         [--max-fixed-fraction F] [--missing-tokens LIST]\n"
          "                         [--backup-keep N] [--config FILE] [--quiet]\n"
          "\n"
          "Fixes the data quality of a CSV file (the brief's auto_fix_data_issues.py), as\n"
          "the controller's dataQuality loop does. Missing cells are filled with a value\n"
          "computed on the column's original non-missing values (numeric columns: the\n"
          "median, mean or mode; text columns: their mode), or their rows are dropped;\n"
          "then Q1 and Q3 of the filled column (interpolated linearly, as numpy) are\n"
          "computed and numeric values outside [Q1 - K*IQR, Q3 + K*IQR] are capped to\n"
          "the bound, so a second run changes nothing. A column whose IQR is 0 or with\n"
          "fewer than 10 distinct values is not capped. Cells that do not change keep\n"
          "their exact bytes. The original is backed up first to FILE.bak.<UTC time>\n"
          "(the newest N backups are kept), the result is written to a temporary file\n"
          "in the same folder, flushed and renamed over FILE. Broken CSV (a wrong number\n"
          "of fields, an unterminated quote, a NUL byte, an empty file, no header) is\n"
          "refused with the file, line and reason, and the file is not touched.\n"
          "\n"
          "  --data-path FILE         the CSV file (default " DEFAULT_DATA ")\n"
          "  --dry-run                analyse and say what would change; write nothing\n"
          "  --report FILE.json       also write the per-column report as JSON\n"
          "  --missing STRATEGY       median (default), mean, mode or drop-row\n"
          "  --outliers ACTION        cap (default), drop-row or none\n"
          "  --iqr-multiplier K       the IQR multiplier (default: data_quality.\n"
          "                           outlier_threshold_iqr in the config file, else 3.0)\n"
          "  --max-fixed-fraction F   refuse when more than this share of the cells would\n"
          "                           change (default 0.2)\n"
          "  --missing-tokens LIST    comma-separated texts that mean missing (default\n"
          "                           \",NA,NaN,null,None,?\": the empty text first)\n"
          "  --backup-keep N          backups kept (default 5; 0: no backup)\n"
          "  --config FILE            the brief's config (default " BRIEF_CONFIG_PATH ";\n"
          "                           a missing file is fine)\n"
          "  --memory-budget SIZE     run the fix in a child process that may use at most\n"
          "                           SIZE of memory (64Mi, 512M, 1Gi; 0: no limit); over\n"
          "                           it the fix fails with \"out of memory\" (exit 1).\n"
          "                           Default: in this process, no limit, with progress bar\n"
          "  -q, --quiet              no summary, no progress bar\n"
          "  -h, --help               this help\n"
          "\n"
          "A progress bar is drawn on standard error when it is a terminal and the file\n"
          "is larger than 16 MB.\n"
          "\n"
          "Exit status:\n"
          "  0  the file was clean, or it was fixed (with --dry-run: it was analysed)\n"
          "  1  could not fix: broken CSV, more than --max-fixed-fraction would change\n"
          "     (DataUnfixable), or an I/O error; the file is unchanged\n"
          "  2  usage error, unreadable config file, or a --data-path that cannot be\n"
          "     opened\n",
          out);
}

static int parse_missing(const char *s, void *dest, char **ret_err)
{
    static const char *const names[] = {"median", "mean", "mode", "drop-row"};
    static const enum missing_strategy vals[] = {MISSING_MEDIAN, MISSING_MEAN, MISSING_MODE,
                                                 MISSING_DROP_ROW};
    (void)ret_err;
    for (size_t i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *(enum missing_strategy *)dest = vals[i];
            return 0;
        }
    return -1;
}

static int parse_outliers(const char *s, void *dest, char **ret_err)
{
    enum outlier_action *ret = dest;
    (void)ret_err;
    if (strcmp(s, "cap") == 0)
        *ret = OUTLIER_CAP;
    else if (strcmp(s, "drop-row") == 0)
        *ret = OUTLIER_DROP_ROW;
    else if (strcmp(s, "none") == 0)
        *ret = OUTLIER_NONE;
    else
        return -1;
    return 0;
}

/* Splits LIST at commas into f->tokens (an empty LIST is the one token ""). */
static int parse_tokens(const char *list, void *dest, char **ret_err)
{
    struct fix_flags *f = dest;
    free(f->tokens_buf);
    if (!(f->tokens_buf = strdup(list)))
        return -1;
    size_t n = 0;
    for (char *p = f->tokens_buf; p; n++) {
        if (n == MAX_TOKENS) {
            if (asprintf(ret_err, "--missing-tokens: at most %d tokens", MAX_TOKENS) < 0)
                *ret_err = NULL;
            return -1;
        }
        f->tokens[n] = p;
        if ((p = strchr(p, ',')))
            *p++ = '\0';
    }
    f->o.missing_tokens = f->tokens;
    f->o.ntokens = n;
    return 0;
}

/* The IQR multiplier: the flag, else the brief's config, else 3.0. */
static int resolve_iqr(struct fix_flags *f)
{
    static const struct brief_number iqr = {"data_quality.outlier_threshold_iqr", 3.0, 0,
                                            HUGE_VAL, false, "be a number >= 0"};
    if (f->has_iqr || brief_config_load_number(CMD, f->config, &iqr, &f->o.iqr_multiplier) == 0)
        return 0;
    return CLI_EXIT_USAGE;
}

/* The flags, then what the config file adds: 0, CLI_PARSE_HELP, or an exit status. */
static int parse_flags(int argc, char **argv, struct fix_flags *f)
{
    long keep = f->o.backup_keep;
    const struct cli_flag flags[] = {
        {.name = "data-path", .kind = CLI_STRING, .dest = &f->path, .opts = CLI_NONEMPTY},
        {.name = "dry-run", .kind = CLI_BOOL, .dest = &f->dry_run},
        {.name = "report", .kind = CLI_STRING, .dest = &f->report},
        {.name = "missing", .kind = CLI_CUSTOM, .dest = &f->o.missing, .parse = parse_missing,
         .must = "be median, mean, mode or drop-row"},
        {.name = "outliers", .kind = CLI_CUSTOM, .dest = &f->o.outliers, .parse = parse_outliers,
         .must = "be cap, drop-row or none"},
        {.name = "iqr-multiplier", .kind = CLI_DOUBLE, .dest = &f->o.iqr_multiplier, .min = 0,
         .max = HUGE_VAL, .given = &f->has_iqr, .must = "be a number >= 0"},
        {.name = "max-fixed-fraction", .kind = CLI_DOUBLE, .dest = &f->o.max_fixed_fraction,
         .min = 0, .max = 1, .must = "be a number from 0 to 1"},
        {.name = "missing-tokens", .kind = CLI_CUSTOM, .dest = f, .parse = parse_tokens,
         .must = "be a comma-separated list"},
        {.name = "backup-keep", .kind = CLI_INT, .dest = &keep, .min = 0, .max = 10000,
         .must = "be a whole number from 0 to 10000"},
        {.name = "config", .kind = CLI_STRING, .dest = &f->config},
        {.name = "quiet", .short_name = 'q', .kind = CLI_BOOL, .dest = &f->quiet},
        {.name = "memory-budget", .kind = CLI_CUSTOM, .dest = &f->memory_budget,
         .parse = cli_parse_memory_budget, .must = CLI_MEMORY_BUDGET_MUST},
    };
    const struct cli_command cmd = {.name = CMD, .flags = flags, .nflags = CLI_NFLAGS(flags),
                                    .help = fix_help};
    int r = cli_parse(&cmd, argc, argv);
    f->o.backup_keep = (int)keep;
    return r != 0 ? r : resolve_iqr(f);
}

struct bar {
    int last; /* percent drawn, −1 none */
};

static void draw_bar(void *ctx, uint64_t done, uint64_t total)
{
    struct bar *b = ctx;
    int pct = total ? (int)(done * 100 / total) : 100;
    if (pct > 100)
        pct = 100;
    if (pct == b->last)
        return;
    b->last = pct;
    char cells[41];
    int fill = pct * 40 / 100;
    for (int i = 0; i < 40; i++)
        cells[i] = i < fill ? '#' : ' ';
    cells[40] = '\0';
    fprintf(stderr, "\rfix-data [%s] %3d%%", cells, pct);
    fflush(stderr);
}

static void print_number(double v)
{
    printf("%.6g", v);
}

static void print_summary(const struct fix_flags *f, const struct datafix_report *rep)
{
    bool dry = f->dry_run;
    for (size_t c = 0; c < rep->ncols; c++) {
        const struct datafix_column *rc = &rep->cols[c];
        if (rc->missing == 0 && rc->outliers == 0 && !rc->capping_skipped)
            continue;
        printf("  %-24s", rc->name);
        bool sep = false;
        if (rc->missing) {
            printf(" %zu missing", rc->missing);
            if (rc->filled) {
                printf(dry ? " -> would fill with %s " : " -> filled with %s ",
                       rc->numeric ? spec_missing_strategy_name(f->o.missing) : "mode");
                if (rc->numeric)
                    print_number(rc->fill_num);
                else
                    printf("'%s'", rc->fill_text);
            } else if (f->o.missing == MISSING_DROP_ROW) {
                printf(dry ? " -> rows would be dropped" : " -> rows dropped");
            } else {
                printf(" -> left (no values to compute a fill from)");
            }
            sep = true;
        }
        if (rc->capping_skipped && f->o.outliers != OUTLIER_NONE) {
            printf("%s %s: outlier capping skipped", sep ? ";" : "", rc->capping_skipped);
            sep = true;
        }
        if (rc->outliers) {
            printf("%s %zu outliers outside [", sep ? ";" : "", rc->outliers);
            print_number(rc->lower);
            printf(", ");
            print_number(rc->upper);
            printf("]");
            if (f->o.outliers == OUTLIER_CAP)
                printf(dry ? " -> would cap" : " -> capped");
            else if (f->o.outliers == OUTLIER_DROP_ROW)
                printf(dry ? " -> rows would be dropped" : " -> rows dropped");
            else
                printf(" -> left (outliers: none)");
        }
        printf("\n");
    }
}

static int write_report(const char *path, const struct datafix_report *rep, const char *outcome)
{
    cJSON *j = datafix_report_json(rep);
    if (!j)
        return SH_ENOMEM;
    cJSON_AddStringToObject(j, "outcome", outcome);
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    if (!s)
        return SH_ENOMEM;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return SH_ENOMEM;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    int r = atomic_file_write(path, t, n + 1);
    free(t);
    return r;
}

int cmd_fix_data(int argc, char **argv)
{
    struct fix_flags f = {.path = DEFAULT_DATA};
    datafix_options_default(&f.o);
    int r = parse_flags(argc, argv, &f);
    if (r != 0) {
        free(f.tokens_buf);
        return r < 0 ? CLI_EXIT_OK : r;
    }
    r = cli_check_input(CMD, f.path, false);
    if (r != 0) {
        free(f.tokens_buf);
        return r;
    }
    f.o.dry_run = f.dry_run;
    f.o.now_ms = clock_now_ms(NULL);
    struct bar bar = {.last = -1};
    bool show_bar = false;
    if (!f.quiet && isatty(STDERR_FILENO)) {
        struct stat st;
        show_bar = stat(f.path, &st) == 0 && st.st_size > (off_t)PROGRESS_MIN_BYTES;
    }
    if (show_bar) {
        f.o.progress = draw_bar;
        f.o.progress_ctx = &bar;
    }
    struct datafix_report rep;
    char *err = NULL;
    if (f.memory_budget)
        r = datafix_run_isolated(f.path, &f.o, f.memory_budget > 0 ? (uint64_t)f.memory_budget : 0,
                                 &rep, &err);
    else
        r = datafix_run(f.path, &f.o, &rep, &err);
    if (show_bar && bar.last >= 0)
        fputs("\r\033[K", stderr);
    const char *outcome;
    int code = CLI_EXIT_OK;
    if (r == 0 && rep.cells_changed == 0)
        outcome = "clean";
    else if (r == 0 && f.dry_run)
        outcome = "planned";
    else if (r == 0)
        outcome = "fixed";
    else if (r == SH_EREFUSED || r == SH_EPARSE)
        outcome = "unfixable";
    else
        outcome = "error";
    if (r != 0) {
        fprintf(stderr, "selfheal %s: %s\n", CMD, err ? err : sh_strerror(r));
        code = CLI_EXIT_FAIL;
    }
    if (!f.quiet && (r == 0 || r == SH_EREFUSED)) {
        double total = (double)rep.rows * (double)rep.ncols;
        if (rep.cells_changed == 0) {
            printf("%s: %zu rows, %zu columns: clean, nothing to fix\n", f.path, rep.rows, rep.ncols);
        } else {
            printf("%s: %zu rows, %zu columns: %zu cells %s (%.2f%%)%s\n", f.path, rep.rows,
                   rep.ncols, rep.cells_changed,
                   r == SH_EREFUSED ? "would change" : f.dry_run ? "would change" : "changed",
                   total > 0 ? 100.0 * rep.fixed_fraction : 0.0,
                   r == SH_EREFUSED ? ": refused (DataUnfixable)" : "");
            print_summary(&f, &rep);
            if (rep.rows_dropped)
                printf("  %zu rows %s\n", rep.rows_dropped, f.dry_run ? "would be dropped" : "dropped");
            if (rep.written) {
                if (rep.backup)
                    printf("backup: %s\n", rep.backup);
                printf("fixed %s\n", f.path);
            } else if (f.dry_run && r == 0) {
                printf("dry run: nothing written\n");
            }
        }
    }
    if (f.report && rep.path) {
        int w = write_report(f.report, &rep, outcome);
        if (w != 0) {
            fprintf(stderr, "selfheal %s: cannot write the report %s: %s\n", CMD, f.report,
                    sh_strerror(w));
            code = CLI_EXIT_FAIL;
        }
    }
    free(err);
    datafix_report_free(&rep);
    free(f.tokens_buf);
    return code;
}
