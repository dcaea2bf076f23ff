/*
 * drift_scan.h — one pass over a CSV for the drift statistics, in memory
 * that does not grow with the rows: the header, the row count, and per
 * column whether it is numeric (every non-missing cell a number, as
 * csv_columns.h decides), its numbers spilled to a temporary file
 * (drift_spill.h, -0 stored as 0: they compare equal) with their least and
 * greatest value, or, for a text column, its category counts
 * (drift_cats.h). A column that turns to text after numbers is read again
 * for its texts (a second pass, for those columns only).
 *
 * A plain regular file (no quotes, no CR) is read after its header in
 * 512 KiB blocks, lines split and short decimals parsed in one go; anything
 * else, met anywhere, starts the scan again with the CSV reader (same
 * results, the CSV reader's errors). Each column's most digits after the
 * point (frac) is noted: the spill may then write its numbers as integers
 * and drift_sweep sort them on decimal keys.
 *
 * Memory: the CSV reader's buffer, the 512 KiB block, the spill buffers
 * (about budget/8 in all) and the category tables (growing with the
 * distinct texts only).
 * One thread per scan; scans are independent.
 */
#ifndef SH_DRIFT_SCAN_H
#define SH_DRIFT_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "data/missing.h"
#include "drift/drift_cats.h"
#include "drift/drift_spill.h"

struct drift_scan_col {
    char *name;
    bool numeric;
    size_t nvalues;  /* non-missing cells */
    double min, max; /* of the numbers (numeric with nvalues > 0) */
    int frac;        /* most digits after the point of its numbers, or −1 when
                        one is not a plain decimal ([-]D+[.D*]): a hint for
                        drift_sweep's decimal keys, which check it */
    struct drift_cats cats; /* text columns */
};

struct drift_scan {
    size_t ncols, nrows;
    struct drift_scan_col *cols;
    struct drift_spill spill; /* numeric columns' values, column numbers as here */
};

/* Scans path. tmpdir: where the spill file goes (NULL: $TMPDIR or /tmp).
 * budget: the memory the whole comparison plans for (bytes). Returns 0, or
 * SH_EPARSE / SH_EIO / SH_ENOMEM with *ret_err ("path:LINE: reason"). */
int drift_scan_file(const char *path, const struct missing_set *ms, const char *tmpdir,
                    size_t budget, struct drift_scan *out, char **ret_err);

void drift_scan_free(struct drift_scan *s);

#endif
