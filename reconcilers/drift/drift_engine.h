/*
 * drift_engine.h — the drift verdict of a pipeline (DESIGN.md "Drift"):
 * reference vs current data set, feature by feature (drift_stats.h), the
 * score as the share of drifted features.
 *
 *   features    the columns present in both data sets, in the reference's
 *               order. A column numeric in both (csv_columns.h: every
 *               non-missing cell is a number) is numeric; text in both is
 *               categorical. A column numeric in one set and text in the
 *               other is skipped, reported with the reason ("numeric in
 *               the reference, text in the current data") and left out of
 *               the score: a type change is a data-quality problem, not a
 *               distribution to compare. Columns in only one set are
 *               listed as skipped too. Missing cells are excluded; a
 *               feature without values on one side is skipped.
 *   statistic   numeric features: the method's (psi, ks, wasserstein
 *               normalised by the reference's standard deviation, or, for
 *               method jensenshannon, the JS distance of the 10 PSI-bin
 *               proportions); categorical features: always the JS distance
 *               of the category distributions (base 2). Every statistic is
 *               computed and reported; the method only picks the one that
 *               decides. A feature drifts when statistic ≥ featureThreshold.
 *   score       drifted / scored features; drift when score ≥ threshold.
 *   Unknown     fewer than minSamples rows in either set, or no feature to
 *               score: never drift.
 *
 * Features are scored in parallel (one thread per CPU, at most one per
 * feature). Any thread; the inputs are only read.
 *
 * drift_compare_columns works on data sets held in memory;
 * drift_compare_files streams files within a memory budget; both give the
 * same report on the same data.
 */
#ifndef SH_DRIFT_ENGINE_H
#define SH_DRIFT_ENGINE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "data/csv_columns.h"
#include "runtime/spec.h"

struct drift_params {
    enum drift_method method;
    double feature_threshold;
    double threshold;
    size_t min_samples;
    int threads; /* 0: one per CPU */
    size_t memory_budget; /* bytes drift_compare_files plans for; 0: DRIFT_DEFAULT_BUDGET */
    const char *tmp_dir;  /* its temporary files; NULL: $TMPDIR, else /tmp */
};

/* The memory drift_compare_files stays within by default (isolate.h's default). */
#define DRIFT_DEFAULT_BUDGET ((size_t)64 << 20)

/* p's memory budget in bytes (the default for 0). */
size_t drift_budget(const struct drift_params *p);

/* Fills the spec's defaults for method (featureThreshold by method). */
void drift_params_default(struct drift_params *p, enum drift_method method);

enum drift_feature_kind { DRIFT_FEATURE_NUMERIC, DRIFT_FEATURE_CATEGORICAL };

struct drift_feature {
    char *name;
    enum drift_feature_kind kind;
    bool scored;       /* false: skipped (see skip) */
    char skip[128];    /* why it was skipped */
    size_t nref, ncur; /* values used (missing excluded) */
    double psi, ks, wasserstein, wasserstein_norm, js; /* NAN when not applicable */
    double statistic;  /* the one compared with the feature threshold */
    bool drifted;
};

enum drift_verdict { DRIFT_VERDICT_UNKNOWN, DRIFT_VERDICT_NONE, DRIFT_VERDICT_DRIFT };

struct drift_report {
    enum drift_verdict verdict;
    double score;             /* NAN when Unknown */
    size_t nscored, ndrifted;
    size_t ref_rows, cur_rows;
    struct drift_feature *features;
    size_t nfeatures;
    char message[512];        /* one line for humans */
};

/* "unknown" | "no drift" | "drift" */
const char *drift_verdict_name(enum drift_verdict v);

/* The name of the statistic a feature is judged by ("psi", "ks",
 * "wasserstein", "jensenshannon"). */
const char *drift_feature_method(const struct drift_feature *f, enum drift_method m);

/*
 * Compares two data sets held in memory. Returns 0 with *out filled (free
 * with drift_report_free), or SH_ENOMEM / SH_EINVAL (bad params).
 */
int drift_compare_columns(const struct csv_columns *ref, const struct csv_columns *cur,
                          const struct drift_params *p, struct drift_report *out);

/* Compares two scanned files (drift_scan.h): the same report as
 * drift_compare_columns on the same data, bit for bit, with numeric
 * features scored in p's memory budget (drift_sweep.h). */
struct drift_scan;
int drift_compare_scans(const struct drift_scan *ref, const struct drift_scan *cur,
                        const struct drift_params *p, struct drift_report *out);

/*
 * Compares two CSV files in bounded memory: both are scanned at once, one
 * thread each (drift_scan.h: one pass; the numbers go to unnamed temporary
 * files in p->tmp_dir, gone when done or on any failure), then compared by
 * drift_compare_scans. Missing tokens: NULL/0 the defaults. Peak memory
 * stays about within drift_budget(p) whatever the files' sizes (the
 * category tables of text columns grow with their distinct values).
 * Returns 0, or SH_EIO / SH_EPARSE / SH_ENOMEM with *ret_err
 * ("path:LINE: reason").
 */
int drift_compare_files(const char *ref_path, const char *cur_path,
                        const char *const *missing_tokens, size_t ntokens,
                        const struct drift_params *p, struct drift_report *out, char **ret_err);

void drift_report_free(struct drift_report *r);

/* The report as JSON (every statistic at full precision; NaN omitted).
 * Owned, or NULL on allocation failure. */
cJSON *drift_report_json(const struct drift_report *r, const struct drift_params *p);

#endif
