/*
 * cmd_drift.c — `selfheal drift` (cmd_drift.h): parses the flags, runs
 * drift_compare_files, prints a table or the JSON report.
 */
#include "cli/cmd_drift.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "drift/drift_engine.h"
#include "drift/drift_isolated.h"
#include "base/errors.h"

#define CMD "drift"

static void drift_help(FILE *out)
{
    fputs("Usage: selfheal drift --reference R --current C [--method M]\n"
          "                      [--feature-threshold X] [--threshold T] [--min-samples N]\n"
          "                      [--threads N] [-o table|json]\n"
          "\n"
          "Compares the current data set with the reference (two CSV files with a header\n"
          "row), feature by feature, and prints each feature's statistics and the drift\n"
          "score: the share of features whose statistic is at or above the feature\n"
          "threshold. Drift when the score is at or above the threshold.\n"
          "\n"
          "Features are the columns present in both files. Numeric columns get every\n"
          "statistic; the method picks the one that decides. Text columns are compared by\n"
          "the Jensen-Shannon distance of their categories whatever the method. Missing\n"
          "cells (\"\", NA, NaN, null, None, ?) are left out.\n"
          "\n"
          "  --reference R          the reference (training-time) CSV\n"
          "  --current C            the current (live) CSV\n"
          "  --method M             psi | ks | wasserstein | jensenshannon (default psi):\n"
          "                           psi          10 bins at reference deciles, empty bins\n"
          "                                        floored at 1e-4, natural log\n"
          "                           ks           two-sample Kolmogorov-Smirnov statistic\n"
          "                           wasserstein  Wasserstein-1 / reference std (ddof 0)\n"
          "                           jensenshannon  JS distance (base 2) of the PSI bins\n"
          "  --feature-threshold X  per-feature cut-off (default psi 0.2, others 0.1)\n"
          "  --threshold T          share of drifted features for drift, 0..1 (default 0.5)\n"
          "  --min-samples N        fewer rows in either file: verdict unknown (default 100)\n"
          "  --threads N            scoring threads (default: one per CPU)\n"
          "  -o, --output FORMAT    table (default) or json\n"
          "  --memory-budget SIZE   score in a child process that may use at most SIZE of\n"
          "                         memory (64Mi, 512M, 1Gi; 0: no limit); over it: \"out of\n"
          "                         memory\" (exit 2). Default: in this process, the work\n"
          "                         planned to fit 64Mi, not enforced\n"
          "  -h, --help             this help\n"
          "\n"
          "Exit status:\n"
          "  0  no drift, or unknown (too few rows, no comparable feature)\n"
          "  1  drift\n"
          "  2  usage error, or a file that cannot be read or parsed\n",
          out);
}

struct drift_flags {
    const char *reference, *current;
    bool json;
    bool has_feature_threshold;
    int64_t memory_budget; /* 0: in this process, no limit; -1: isolated, no limit */
    struct drift_params p;
};

static int parse_method(const char *s, void *dest, char **ret_err)
{
    static const struct {
        const char *name;
        enum drift_method m;
    } names[] = {{"psi", DRIFT_PSI},
                 {"ks", DRIFT_KS},
                 {"wasserstein", DRIFT_WASSERSTEIN},
                 {"jensenshannon", DRIFT_JENSENSHANNON}};
    (void)ret_err;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *(enum drift_method *)dest = names[i].m;
            return 0;
        }
    return -1;
}

static int parse_output(const char *s, void *dest, char **ret_err)
{
    (void)ret_err;
    if (strcmp(s, "json") != 0 && strcmp(s, "table") != 0)
        return -1;
    *(bool *)dest = strcmp(s, "json") == 0;
    return 0;
}

static int parse_flags(int argc, char **argv, struct drift_flags *f)
{
    memset(f, 0, sizeof *f);
    drift_params_default(&f->p, DRIFT_PSI);
    double ft = 0;
    long min_samples = (long)f->p.min_samples, threads = f->p.threads;
    const struct cli_flag flags[] = {
        {.name = "reference", .kind = CLI_STRING, .dest = &f->reference},
        {.name = "current", .kind = CLI_STRING, .dest = &f->current},
        {.name = "method", .kind = CLI_CUSTOM, .dest = &f->p.method, .parse = parse_method,
         .must = "be psi, ks, wasserstein or jensenshannon"},
        {.name = "feature-threshold", .kind = CLI_DOUBLE, .dest = &ft, .min = 0, .max = HUGE_VAL,
         .opts = CLI_ABOVE_MIN, .given = &f->has_feature_threshold, .must = "be a number above 0"},
        {.name = "threshold", .kind = CLI_DOUBLE, .dest = &f->p.threshold, .min = 0, .max = 1,
         .must = "be a number from 0 to 1"},
        {.name = "min-samples", .kind = CLI_INT, .dest = &min_samples, .min = 1, .max = 1000000000,
         .must = "be a whole number ≥ 1"},
        {.name = "threads", .kind = CLI_INT, .dest = &threads, .min = 1, .max = 64,
         .must = "be from 1 to 64"},
        {.name = "memory-budget", .kind = CLI_CUSTOM, .dest = &f->memory_budget,
         .parse = cli_parse_memory_budget, .must = CLI_MEMORY_BUDGET_MUST},
        {.name = "output", .short_name = 'o', .kind = CLI_CUSTOM, .dest = &f->json,
         .parse = parse_output, .must = "be table or json"},
    };
    const struct cli_command cmd = {.name = CMD, .flags = flags, .nflags = CLI_NFLAGS(flags),
                                    .help = drift_help};
    int r = cli_parse(&cmd, argc, argv);
    if (r != 0)
        return r;
    f->p.min_samples = (size_t)min_samples;
    f->p.threads = (int)threads;
    if (!f->reference)
        return cli_usage_error(CMD, "--reference is required");
    if (!f->current)
        return cli_usage_error(CMD, "--current is required");
    f->p.feature_threshold = f->has_feature_threshold ? ft
                             : f->p.method == DRIFT_PSI ? 0.2
                                                        : 0.1;
    return 0;
}

static void cell(double v)
{
    if (isnan(v))
        printf(" %11s", "-");
    else
        printf(" %11.4f", v);
}

static void print_table(const struct drift_report *r, const struct drift_params *p)
{
    size_t w = 7;
    for (size_t i = 0; i < r->nfeatures; i++)
        if (strlen(r->features[i].name) > w)
            w = strlen(r->features[i].name);
    if (w > 40)
        w = 40;
    if (r->nfeatures) {
        printf("%-*s %-11s %11s %11s %11s %11s %11s  %s\n", (int)w, "FEATURE", "TYPE", "PSI", "KS",
               "WASSERSTEIN", "W/SD", "JS", "DRIFTED");
        for (size_t i = 0; i < r->nfeatures; i++) {
            const struct drift_feature *f = &r->features[i];
            printf("%-*.*s %-11s", (int)w, (int)w, f->name,
                   f->kind == DRIFT_FEATURE_NUMERIC ? "numeric" : "categorical");
            if (!f->scored) {
                printf(" skipped: %s\n", f->skip);
                continue;
            }
            cell(f->psi);
            cell(f->ks);
            cell(f->wasserstein);
            cell(f->wasserstein_norm);
            cell(f->js);
            printf("  %s\n", f->drifted ? "yes" : "no");
        }
        printf("\n");
    }
    printf("%zu reference rows, %zu current rows; method %s, feature threshold %g\n", r->ref_rows,
           r->cur_rows, spec_drift_method_name(p->method), p->feature_threshold);
    if (r->verdict == DRIFT_VERDICT_UNKNOWN)
        printf("Drift unknown: %s\n", r->message);
    else
        printf("Drift score %.3f (%zu of %zu features drifted), threshold %.3f: %s\n", r->score,
               r->ndrifted, r->nscored, p->threshold,
               r->verdict == DRIFT_VERDICT_DRIFT ? "DRIFT" : "no drift");
}

int cmd_drift(int argc, char **argv)
{
    struct drift_flags f;
    int r = parse_flags(argc, argv, &f);
    if (r != 0)
        return r < 0 ? CLI_EXIT_OK : r;
    struct drift_report rep;
    char *err = NULL;
    if (f.memory_budget)
        r = drift_compare_files_isolated(f.reference, f.current, NULL, 0, &f.p,
                                         f.memory_budget > 0 ? (uint64_t)f.memory_budget : 0,
                                         &rep, &err);
    else
        r = drift_compare_files(f.reference, f.current, NULL, 0, &f.p, &rep, &err);
    if (r != 0) {
        fprintf(stderr, "selfheal %s: %s\n", CMD, err ? err : sh_strerror(r));
        free(err);
        return CLI_EXIT_USAGE;
    }
    if (f.json) {
        cJSON *j = drift_report_json(&rep, &f.p);
        char *s = j ? cJSON_Print(j) : NULL;
        cJSON_Delete(j);
        if (!s) {
            drift_report_free(&rep);
            fprintf(stderr, "selfheal %s: out of memory\n", CMD);
            return CLI_EXIT_USAGE;
        }
        puts(s);
        free(s);
    } else {
        print_table(&rep, &f.p);
    }
    int rc = rep.verdict == DRIFT_VERDICT_DRIFT ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    drift_report_free(&rep);
    return rc;
}
