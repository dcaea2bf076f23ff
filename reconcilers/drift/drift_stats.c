/* drift_stats.c — PSI, KS, Wasserstein-1 and Jensen–Shannon on sorted arrays (drift_stats.h). */
#include "drift/drift_stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

#define RADIX_MIN 512 /* below this, qsort */

/* --- sorting -------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* LSD radix sort of the keys: 11-bit digits (6 passes; the histograms fit
 * in L1), one counting pass for all digits, passes where every key has the
 * same digit skipped. */
#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_PASSES ((64 + RADIX_BITS - 1) / RADIX_BITS)

int drift_sort(double *v, size_t n)
{
    if (n < RADIX_MIN || n > UINT32_MAX) {
        qsort(v, n, sizeof *v, cmp_double);
        return 0;
    }
    uint64_t *k = malloc(n * sizeof *k);
    uint64_t *t = malloc(n * sizeof *t);
    uint32_t(*hist)[RADIX_SIZE] = calloc(RADIX_PASSES, sizeof *hist);
    if (!k || !t || !hist) {
        free(k);
        free(t);
        free(hist);
        return SH_ENOMEM;
    }
    const uint64_t mask = RADIX_SIZE - 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t key = drift_key(v[i]);
        k[i] = key;
        for (unsigned pass = 0; pass < RADIX_PASSES; pass++)
            hist[pass][(key >> (pass * RADIX_BITS)) & mask]++;
    }
    for (unsigned pass = 0; pass < RADIX_PASSES; pass++) {
        unsigned shift = pass * RADIX_BITS;
        uint32_t *h = hist[pass];
        if (h[(k[0] >> shift) & mask] == n)
            continue; /* every key has this digit: nothing moves */
        uint32_t sum = 0;
        for (size_t d = 0; d < RADIX_SIZE; d++) {
            uint32_t c = h[d];
            h[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            t[h[(k[i] >> shift) & mask]++] = k[i];
        uint64_t *sw = k;
        k = t;
        t = sw;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = drift_unkey(k[i]);
    free(k);
    free(t);
    free(hist);
    return 0;
}

int drift_values(const double *x, size_t n, double **ret, size_t *ret_n)
{
    *ret = NULL;
    *ret_n = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += !isnan(x[i]);
    if (m == 0)
        return 0;
    double *v = malloc(m * sizeof *v);
    if (!v)
        return SH_ENOMEM;
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]))
            v[j++] = x[i];
    if (drift_sort(v, m) != 0) {
        free(v);
        return SH_ENOMEM;
    }
    *ret = v;
    *ret_n = m;
    return 0;
}

/* --- sums ------------------------------------------------------------------ */

/* --- quantiles and bins ------------------------------------------------------ */

void drift_quantile_ranks(size_t n, double q, size_t *ret_lo, size_t *ret_hi)
{
    /* numpy 1.22+ "linear": virtual index (n-1)·q between two ranks */
    double vi = (double)(n - 1) * q;
    if (!(vi < (double)(n - 1))) {
        *ret_lo = *ret_hi = n - 1;
    } else if (vi < 0) {
        *ret_lo = *ret_hi = 0;
    } else {
        *ret_lo = (size_t)floor(vi);
        *ret_hi = *ret_lo + 1;
    }
}

double drift_quantile_lerp(size_t n, double q, double a, double b)
{
    /* numpy's _lerp(a, b, gamma) */
    double vi = (double)(n - 1) * q;
    if (!(vi < (double)(n - 1)) || vi < 0)
        return a;
    double fl = floor(vi);
    double g = vi - fl;
    double d = b - a;
    return g >= 0.5 ? b - d * (1 - g) : a + d * g;
}

double drift_quantile(const double *sorted, size_t n, double q)
{
    size_t lo, hi;
    drift_quantile_ranks(n, q, &lo, &hi);
    return drift_quantile_lerp(n, q, sorted[lo], sorted[hi]);
}

void drift_psi_edges(const double *ref, size_t n, double edges[DRIFT_PSI_BINS - 1])
{
    for (int k = 1; k < DRIFT_PSI_BINS; k++)
        edges[k - 1] = drift_quantile(ref, n, (double)k / (double)DRIFT_PSI_BINS);
}

/* Number of elements of sorted x that are < e. */
size_t drift_lower_bound(const double *x, size_t n, double e)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x[mid] < e)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void drift_bins_from_below(const size_t below[DRIFT_PSI_BINS - 1], size_t n,
                           size_t counts[DRIFT_PSI_BINS])
{
    /* bin b holds e[b-1] <= x < e[b]: the count is lb(e[b]) - lb(e[b-1]) */
    size_t prev = 0;
    for (int b = 0; b < DRIFT_PSI_BINS; b++) {
        size_t pos = b < DRIFT_PSI_BINS - 1 ? below[b] : n;
        if (pos < prev)
            pos = prev;
        counts[b] = pos - prev;
        prev = pos;
    }
}

void drift_bin_counts(const double *sorted, size_t n, const double edges[DRIFT_PSI_BINS - 1],
                      size_t counts[DRIFT_PSI_BINS])
{
    size_t below[DRIFT_PSI_BINS - 1];
    for (int b = 0; b < DRIFT_PSI_BINS - 1; b++)
        below[b] = drift_lower_bound(sorted, n, edges[b]);
    drift_bins_from_below(below, n, counts);
}

double drift_psi_counts(const size_t cr[DRIFT_PSI_BINS], size_t n, const size_t cc[DRIFT_PSI_BINS],
                        size_t m)
{
    double psi = 0;
    for (int b = 0; b < DRIFT_PSI_BINS; b++) {
        double pr = (double)cr[b] / (double)n;
        double pc = (double)cc[b] / (double)m;
        if (pr < DRIFT_PSI_FLOOR)
            pr = DRIFT_PSI_FLOOR;
        if (pc < DRIFT_PSI_FLOOR)
            pc = DRIFT_PSI_FLOOR;
        psi += (pc - pr) * log(pc / pr);
    }
    return psi;
}

double drift_psi(const double *ref, size_t n, const double *cur, size_t m)
{
    double edges[DRIFT_PSI_BINS - 1];
    size_t cr[DRIFT_PSI_BINS], cc[DRIFT_PSI_BINS];
    drift_psi_edges(ref, n, edges);
    drift_bin_counts(ref, n, edges, cr);
    drift_bin_counts(cur, m, edges, cc);
    return drift_psi_counts(cr, n, cc, m);
}

/* --- KS and Wasserstein: one merge walk over the distinct values ------------- */

double drift_ks(const double *a, size_t n, const double *b, size_t m)
{
    size_t i = 0, j = 0;
    double dmax = 0, dmin = 0; /* max of F_a - F_b, max of F_b - F_a */
    double fn = (double)n, fm = (double)m;
    while (i < n || j < m) {
        double v = (j >= m || (i < n && a[i] <= b[j])) ? a[i] : b[j];
        while (i < n && a[i] <= v)
            i++;
        while (j < m && b[j] <= v)
            j++;
        double d = (double)i / fn - (double)j / fm;
        if (d > dmax)
            dmax = d;
        if (-d > dmin)
            dmin = -d;
    }
    return dmin > dmax ? dmin : dmax;
}

double drift_wasserstein(const double *a, size_t n, const double *b, size_t m)
{
    size_t i = 0, j = 0;
    double fn = (double)n, fm = (double)m;
    struct drift_ksum sum = {0, 0};
    double v = (j >= m || (i < n && a[i] <= b[j])) ? a[i] : b[j];
    while (i < n && a[i] <= v)
        i++;
    while (j < m && b[j] <= v)
        j++;
    while (i < n || j < m) {
        double nv = (j >= m || (i < n && a[i] <= b[j])) ? a[i] : b[j];
        double term = fabs((double)i / fn - (double)j / fm) * (nv - v);
        drift_ksum_add(&sum, term);
        while (i < n && a[i] <= nv)
            i++;
        while (j < m && b[j] <= nv)
            j++;
        v = nv;
    }
    return drift_ksum_get(&sum);
}

void drift_mean_sd(const double *x, size_t n, double *ret_mean, double *ret_sd)
{
    struct drift_ksum s = {0, 0};
    for (size_t i = 0; i < n; i++)
        drift_ksum_add(&s, x[i]);
    double mean = drift_ksum_get(&s) / (double)n;
    struct drift_ksum q = {0, 0};
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        drift_ksum_add(&q, d * d);
    }
    *ret_mean = mean;
    *ret_sd = sqrt(drift_ksum_get(&q) / (double)n);
}

double drift_wasserstein_normalise(double w, double ref_mean, double ref_sd)
{
    if (ref_sd > 0 && isfinite(ref_sd))
        return w / ref_sd;
    double scale = fabs(ref_mean);
    return w / (scale > 1 ? scale : 1);
}

/* --- Jensen–Shannon ------------------------------------------------------- */

double drift_js_counts(const double *p, const double *q, size_t k)
{
    double sp = 0, sq = 0;
    for (size_t i = 0; i < k; i++) {
        sp += p[i];
        sq += q[i];
    }
    struct drift_ksum left = {0, 0}, right = {0, 0};
    for (size_t i = 0; i < k; i++) {
        double pi = p[i] / sp, qi = q[i] / sq;
        double mi = (pi + qi) / 2.0;
        if (pi > 0)
            drift_ksum_add(&left, pi * log(pi / mi));
        if (qi > 0)
            drift_ksum_add(&right, qi * log(qi / mi));
    }
    double js = drift_ksum_get(&left) + drift_ksum_get(&right);
    js /= log(2.0);
    if (js < 0)
        js = 0; /* rounding on identical distributions */
    return sqrt(js / 2.0);
}

double drift_js_bins(const size_t cr[DRIFT_PSI_BINS], const size_t cc[DRIFT_PSI_BINS])
{
    double p[DRIFT_PSI_BINS], q[DRIFT_PSI_BINS];
    for (int b = 0; b < DRIFT_PSI_BINS; b++) {
        p[b] = (double)cr[b];
        q[b] = (double)cc[b];
    }
    return drift_js_counts(p, q, DRIFT_PSI_BINS);
}

double drift_js_binned(const double *ref, size_t n, const double *cur, size_t m)
{
    double edges[DRIFT_PSI_BINS - 1];
    size_t cr[DRIFT_PSI_BINS], cc[DRIFT_PSI_BINS];
    drift_psi_edges(ref, n, edges);
    drift_bin_counts(ref, n, edges, cr);
    drift_bin_counts(cur, m, edges, cc);
    return drift_js_bins(cr, cc);
}

/* Category counting: open addressing on FNV-1a hashes; keys are borrowed. */
struct cat_table {
    const char **keys;
    uint64_t *hashes;
    size_t *index; /* slot → category number */
    size_t cap, count;
    double *ca, *cb; /* per category */
    size_t ccap;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static int cat_grow(struct cat_table *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 64;
    const char **keys = calloc(ncap, sizeof *keys);
    uint64_t *hashes = calloc(ncap, sizeof *hashes);
    size_t *index = calloc(ncap, sizeof *index);
    if (!keys || !hashes || !index) {
        free(keys);
        free(hashes);
        free(index);
        return SH_ENOMEM;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->keys[i])
            continue;
        size_t s = t->hashes[i] & (ncap - 1);
        while (keys[s])
            s = (s + 1) & (ncap - 1);
        keys[s] = t->keys[i];
        hashes[s] = t->hashes[i];
        index[s] = t->index[i];
    }
    free(t->keys);
    free(t->hashes);
    free(t->index);
    t->keys = keys;
    t->hashes = hashes;
    t->index = index;
    t->cap = ncap;
    return 0;
}

/* Counts one value on side 0 (a) or 1 (b). */
static int cat_add(struct cat_table *t, const char *s, int side)
{
    if ((t->count + 1) * 2 > t->cap && cat_grow(t) != 0)
        return SH_ENOMEM;
    uint64_t h = hash_str(s);
    size_t slot = h & (t->cap - 1);
    while (t->keys[slot]) {
        if (t->hashes[slot] == h && strcmp(t->keys[slot], s) == 0) {
            (side ? t->cb : t->ca)[t->index[slot]] += 1;
            return 0;
        }
        slot = (slot + 1) & (t->cap - 1);
    }
    if (t->count == t->ccap) {
        size_t nc = t->ccap ? t->ccap * 2 : 32;
        double *ca = realloc(t->ca, nc * sizeof *ca);
        if (!ca)
            return SH_ENOMEM;
        t->ca = ca;
        double *cb = realloc(t->cb, nc * sizeof *cb);
        if (!cb)
            return SH_ENOMEM;
        t->cb = cb;
        t->ccap = nc;
    }
    t->keys[slot] = s;
    t->hashes[slot] = h;
    t->index[slot] = t->count;
    t->ca[t->count] = side ? 0 : 1;
    t->cb[t->count] = side ? 1 : 0;
    t->count++;
    return 0;
}

int drift_js_strings(const char *const *a, size_t n, const char *const *b, size_t m, double *ret,
                     size_t *ret_na, size_t *ret_nb)
{
    *ret = NAN;
    struct cat_table t;
    memset(&t, 0, sizeof t);
    size_t na = 0, nb = 0;
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++)
        if (a[i]) {
            r = cat_add(&t, a[i], 0);
            na++;
        }
    for (size_t i = 0; i < m && r == 0; i++)
        if (b[i]) {
            r = cat_add(&t, b[i], 1);
            nb++;
        }
    if (ret_na)
        *ret_na = na;
    if (ret_nb)
        *ret_nb = nb;
    if (r == 0 && (na == 0 || nb == 0))
        r = SH_EINVAL;
    if (r == 0)
        *ret = drift_js_counts(t.ca, t.cb, t.count);
    free(t.keys);
    free(t.hashes);
    free(t.index);
    free(t.ca);
    free(t.cb);
    return r;
}
