/*
 * drift_stats.h — the per-feature drift statistics (DESIGN.md "Drift"), on
 * plain arrays, exact to the reference tools:
 *
 *   PSI          10 bins at the reference quantiles q = k/10, k = 1..9,
 *                computed as numpy.quantile(ref, np.arange(1, 10) / 10)
 *                (method "linear", numpy's lerp); bins (-inf, e1), [e1, e2),
 *                ..., [e9, +inf): a value goes to the bin numbered by how
 *                many edges are ≤ it (numpy.searchsorted(edges, x, "right")).
 *                Proportions p = count / n are floored at 1e-4
 *                (numpy.maximum(p, 1e-4), no renormalising);
 *                PSI = Σ (p_cur − p_ref) · ln(p_cur / p_ref), natural log.
 *   KS           the two-sample Kolmogorov–Smirnov statistic, exactly
 *                scipy.stats.ks_2samp(ref, cur).statistic (two-sided):
 *                max |F_ref(x) − F_cur(x)| over every data value x.
 *   Wasserstein  Wasserstein-1, exactly scipy.stats.wasserstein_distance
 *                (∫ |F_ref − F_cur|); drift_wasserstein_normalise divides it
 *                by the reference's population standard deviation (ddof 0,
 *                numpy.std's default). A constant reference column has no
 *                spread: its distance is divided by max(1, |value|) instead
 *                (a relative change for large values, absolute for small
 *                ones), never by zero.
 *   JS           the Jensen–Shannon distance with base 2 (so in [0, 1]),
 *                exactly scipy.spatial.distance.jensenshannon(p, q, base=2)
 *                on the category counts of the two samples.
 *
 * Inputs never contain NaN (missing values are excluded by the caller, see
 * drift_values). Sorting is an LSD radix sort on the IEEE bit patterns
 * (O(n), 4 passes of 16 bits, passes where every key agrees skipped).
 * Stateless; any thread.
 */
#ifndef SH_DRIFT_STATS_H
#define SH_DRIFT_STATS_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DRIFT_PSI_BINS 10
#define DRIFT_PSI_FLOOR 1e-4

/*
 * Copies the non-NaN values of x[0..n) into a new array, sorted ascending.
 * Returns 0 with *ret (owned, free(); NULL when there are none) and *ret_n,
 * or SH_ENOMEM.
 */
int drift_values(const double *x, size_t n, double **ret, size_t *ret_n);

/* Sorts v[0..n) ascending (no NaN). 0 or SH_ENOMEM (v unchanged then). */
int drift_sort(double *v, size_t n);

/* The order-preserving unsigned key of a double (negatives flipped) and back. */
static inline uint64_t drift_key(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return (u >> 63) ? ~u : u | 0x8000000000000000ull;
}

static inline double drift_unkey(uint64_t k)
{
    uint64_t u = (k >> 63) ? k & 0x7fffffffffffffffull : ~k;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* numpy.quantile(v, q) with the default "linear" method, on sorted v (n ≥ 1). */
double drift_quantile(const double *sorted, size_t n, double q);

/* The two ranks drift_quantile reads (equal at the ends), and its value
 * from the values a and b at those ranks: for callers that never hold the
 * whole sorted sample. */
void drift_quantile_ranks(size_t n, double q, size_t *ret_lo, size_t *ret_hi);
double drift_quantile_lerp(size_t n, double q, double a, double b);

/* Number of elements of sorted x that are < e. */
size_t drift_lower_bound(const double *x, size_t n, double e);

/* Bin counts from below[k] = how many of the n values are < edge k. */
void drift_bins_from_below(const size_t below[DRIFT_PSI_BINS - 1], size_t n,
                           size_t counts[DRIFT_PSI_BINS]);

/* PSI from the bin counts of n reference and m current values. */
double drift_psi_counts(const size_t cr[DRIFT_PSI_BINS], size_t n, const size_t cc[DRIFT_PSI_BINS],
                        size_t m);

/* JS distance (base 2) of two bin count vectors. */
double drift_js_bins(const size_t cr[DRIFT_PSI_BINS], const size_t cc[DRIFT_PSI_BINS]);

/* Neumaier's compensated sum (what every sum here uses; the same terms in
 * the same order give the same bits). */
struct drift_ksum {
    double s, c;
};

static inline void drift_ksum_add(struct drift_ksum *k, double x)
{
    double t = k->s + x;
    if (fabs(k->s) >= fabs(x))
        k->c += (k->s - t) + x;
    else
        k->c += (x - t) + k->s;
    k->s = t;
}

static inline double drift_ksum_get(const struct drift_ksum *k)
{
    return k->s + k->c;
}

/* The 9 inner PSI edges of a sorted reference (n ≥ 1). */
void drift_psi_edges(const double *ref, size_t n, double edges[DRIFT_PSI_BINS - 1]);

/* Counts of sorted x in the 10 bins of `edges` (see above). */
void drift_bin_counts(const double *sorted, size_t n, const double edges[DRIFT_PSI_BINS - 1],
                      size_t counts[DRIFT_PSI_BINS]);

/* PSI of sorted cur against sorted ref (both non-empty). */
double drift_psi(const double *ref, size_t n, const double *cur, size_t m);

/* KS statistic of two sorted, non-empty samples. */
double drift_ks(const double *a, size_t n, const double *b, size_t m);

/* Wasserstein-1 distance of two sorted, non-empty samples (not normalised). */
double drift_wasserstein(const double *a, size_t n, const double *b, size_t m);

/* Mean and population standard deviation (ddof 0) of x (n ≥ 1). */
void drift_mean_sd(const double *x, size_t n, double *ret_mean, double *ret_sd);

/* Normalises a Wasserstein distance by the reference's spread (see above). */
double drift_wasserstein_normalise(double w, double ref_mean, double ref_sd);

/* JS distance (base 2) between two count vectors of k categories, each with a
 * positive total. */
double drift_js_counts(const double *p, const double *q, size_t k);

/* JS distance (base 2) of the 10 PSI-bin proportions, for numeric features
 * when the method is jensenshannon. Both non-empty and sorted. */
double drift_js_binned(const double *ref, size_t n, const double *cur, size_t m);

/*
 * JS distance (base 2) between the category distributions of two string
 * samples; NULL entries are missing and skipped. Returns 0 with *ret and the
 * numbers of values used, SH_EINVAL when either side has none (*ret NaN),
 * or SH_ENOMEM.
 */
int drift_js_strings(const char *const *a, size_t n, const char *const *b, size_t m, double *ret,
                     size_t *ret_na, size_t *ret_nb);

#endif
