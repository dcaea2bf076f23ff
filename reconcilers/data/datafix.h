/*
 * datafix.h — the data fix of DESIGN.md on one CSV file: statistics of each
 * column's original non-missing values, missing cells imputed (median |
 * mean | mode | drop-row; text columns always take their mode unless
 * drop-row), numeric values outside [Q1 − k·IQR, Q3 + k·IQR] capped to the
 * bound (or their rows dropped, or left), the fill value itself clipped to
 * the bounds when capping (pandas: fillna, then clip). Cells that do not
 * change keep their exact bytes; written numbers are the shortest text
 * that reads back to the same double.
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
    size_t outliers; /* numeric values outside the bounds */
    size_t capped;   /* of those, set to the bound */
    bool has_fill;
    double fill_num; /* numeric columns */
    char *fill_text; /* text columns (owned) */
    bool has_bounds;
    double lower, upper;
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
