/*
 * datafix.h — the data fix of DESIGN.md on one CSV file, in this order:
 *
 *  1. the fill value of each column from its ORIGINAL non-missing values
 *     (numeric: median | mean | mode; text columns always their mode), and
 *     missing cells imputed with it — or, with drop-row, their rows dropped;
 *  2. Q1 and Q3 (numpy's linear interpolation) of each numeric column AS
 *     IMPUTED (the values of the rows that stay, fills included);
 *  3. numeric values outside [Q1 − k·IQR, Q3 + k·IQR] capped to the bound
 *     (a filled cell too: pandas' fillna, then clip), or their rows
 *     dropped, or left (outliers cap | drop-row | none).
 *
 * The fix converges: run again on its own output it changes nothing. Capping
 * never moves Q1 or Q3, because a bound never cuts into the values they are
 * interpolated from: where a tie-heavy column would put Q1 − k·IQR above the
 * sorted value Q1 is interpolated from (num_stats.q1_below) the bound is that
 * value, and likewise for the upper bound (this never happens with k ≥ 3
 * except by rounding). Capping is skipped, with the reason in the report, for
 * a column whose IQR is 0 (a 0/1 flag with 10% ones, a sparse count: capping
 * would erase every minority value) and for a column with fewer than
 * DATAFIX_MIN_DISTINCT distinct values (a code or a small count: its values
 * are categories, not measurements), both judged on the imputed column.
 * Dropping outlier rows changes the quartiles of the rows that stay, so with
 * outliers drop-row steps 2–3 repeat on the remaining rows until no row
 * goes (at most DATAFIX_MAX_DROP_ROUNDS rounds, else refused with
 * SH_EREFUSED). Cells that do not change keep their exact bytes; written
 * numbers are the shortest text that reads back to the same double (so a
 * capped value reads back as exactly the bound, not outside it).
 *
 * Two streaming passes over the file: the first parses, types columns and
 * keeps the numeric values (8 bytes a cell); the second writes a backup
 * first (backup.h), then the new file through atomicfile.h (temporary file,
 * flush, rename). Refused, with
 * the file untouched: broken CSV (SH_EPARSE, "file:line: reason"), or more
 * than max_fixed_fraction of the cells would change (SH_EREFUSED: the
 * DataUnfixable case; the report says how many). The file is checked not to
 * have changed between the passes (SH_ECONFLICT).
 *
 * Any thread; runs are independent (two runs on the same file at once are
 * the caller's business).
 */
#ifndef SH_DATAFIX_H
#define SH_DATAFIX_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/stats.h"
#include "runtime/spec.h"

/* A numeric column with fewer distinct values than this (after imputation)
 * is not capped: with so few values an "outlier" is a category. */
#define DATAFIX_MIN_DISTINCT 10

/* outliers drop-row: rounds of "quartiles of the rows that stay, drop the
 * rows outside" before giving up (refused) on data that does not settle. */
#define DATAFIX_MAX_DROP_ROUNDS 64

struct datafix_options {
    enum missing_strategy missing;      /* default median */
    double iqr_multiplier;              /* k, default 3.0 */
    enum outlier_action outliers;       /* default cap */
    const char *const *missing_tokens;  /* NULL: the defaults */
    size_t ntokens;
    double max_fixed_fraction;          /* default 0.2 */
    int backup_keep;                    /* default 5; 0: no backup */
    bool dry_run;                       /* analyse only */
    int64_t now_ms;                     /* names the backup */
    /* Called now and then with bytes processed out of total (two passes). */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
};

/* The defaults of DESIGN.md (now_ms 0: set it). */
void datafix_options_default(struct datafix_options *o);

struct datafix_column {
    char *name;
    bool numeric;
    size_t missing;  /* missing cells in the input */
    size_t filled;   /* missing cells given the fill value */
    size_t outliers; /* numeric values outside the bounds (non-missing ones) */
    size_t capped;   /* of those, set to the bound */
    bool has_fill;
    double fill_num; /* numeric columns: the value written (clipped to the bounds) */
    char *fill_text; /* text columns (owned) */
    bool has_bounds;
    double lower, upper;
    double q1, q3;   /* of the imputed column: the bounds come from these */
    /* Why outliers were not looked for (static text, e.g. "IQR is 0"), or NULL. */
    const char *capping_skipped;
    struct num_stats stats; /* numeric columns: on the original non-missing values */
};

struct datafix_report {
    char *path;
    size_t rows;         /* data rows read (blank lines not counted) */
    size_t rows_dropped; /* drop-row */
    size_t ncols;
    struct datafix_column *cols;
    size_t cells_changed; /* filled + capped + every cell of a dropped row */
    double fixed_fraction; /* cells_changed / (rows · ncols); 0 without rows */
    bool refused;          /* more than max_fixed_fraction */
    bool written;          /* the file was replaced */
    char *backup;          /* the backup made, or NULL */
    uint64_t bytes_in, bytes_out;
};

/*
 * Analyses path and, unless dry_run or nothing changes or refused, fixes it.
 * Returns 0 (clean, fixed, or analysed), SH_EREFUSED (too much would change;
 * *rep is filled), SH_EPARSE (broken CSV), SH_EIO, SH_ECONFLICT, SH_ENOMEM;
 * *ret_err says why on every error. *rep must be freed in every case.
 */
int datafix_run(const char *path, const struct datafix_options *o, struct datafix_report *rep,
                char **ret_err);

void datafix_report_free(struct datafix_report *rep);

/* The report as JSON (owned), for `fix-data --report`; NULL on ENOMEM. */
cJSON *datafix_report_json(const struct datafix_report *rep);

/* Identifies a file's current content cheaply ("dev:ino:size:mtime_ns") so a
 * caller can tell a file it already fixed from new data. 0 or SH_EIO. */
int datafix_fingerprint(const char *path, char *buf, size_t size);

#endif
