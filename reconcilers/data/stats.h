/*
 * stats.h — statistics of a numeric column's non-missing values: mean
 * (compensated sum), median, Q1 and Q3 with linear interpolation exactly as
 * numpy's default (virtual index (n−1)·q, numpy's lerp), found by a
 * multi-index selection (quickselect with 3-way partitioning, after a radix
 * histogram for whole columns) instead of a sort. Stateless; any thread.
 */
#ifndef SH_DATA_STATS_H
#define SH_DATA_STATS_H

#include <stddef.h>

struct num_stats {
    size_t n; /* values */
    double mean, median, q1, q3, min, max;
    /* The sorted values Q1 and Q3 are interpolated from that lie farthest
     * out: rank floor((n−1)/4) and rank ceil(3(n−1)/4). Capping that leaves
     * these two (and so everything between them) alone cannot move Q1 or Q3. */
    double q1_below, q3_above;
};

/* Fills *out from v[0..n) (NaN-free). v is reordered. n == 0 gives NaNs. */
void stats_numeric(double *v, size_t n, struct num_stats *out);

/*
 * The same on the non-NaN values of vals[0..len), which is not modified: a
 * histogram of the top 16 bits of each value's order-preserving key finds the
 * few buckets holding the wanted ranks; only those are gathered and selected
 * (two passes, no copy of the column). 0 or SH_ENOMEM.
 */
int stats_numeric_skipnan(const double *vals, size_t len, struct num_stats *out);

/* The number of distinct non-NaN values of vals[0..len) (−0 equals 0),
 * counted up to `limit` (at most 64): the answer is min(distinct, limit). */
size_t stats_distinct_upto(const double *vals, size_t len, size_t limit);

/* The mean by Neumaier summation (NaN for n == 0). */
double stats_mean(const double *v, size_t n);

/* Reorders v[0..n) so that v[k] is the value a sort would put there, for
 * every k in ks[0..nk) (sorted ascending, each < n). */
void stats_select(double *v, size_t n, const size_t *ks, size_t nk);

/* numpy's linear quantile of v (reordered), q in [0, 1]; NaN for n == 0. */
double stats_quantile(double *v, size_t n, double q);

#endif
