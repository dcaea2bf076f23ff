/* stats.c — mean, median, quartiles by selection (stats.h). */
#include "data/stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

#define SMALL 16

static void insertion(double *v, size_t lo, size_t hi)
{
    for (size_t i = lo + 1; i < hi; i++) {
        double x = v[i];
        size_t j = i;
        while (j > lo && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static double med3(double a, double b, double c)
{
    if (a < b)
        return b < c ? b : (a < c ? c : a);
    return a < c ? a : (b < c ? c : b);
}

static void msel(double *v, size_t lo, size_t hi, const size_t *ks, size_t nk, uint64_t *rng)
{
    while (nk > 0) {
        if (hi - lo <= SMALL) {
            insertion(v, lo, hi);
            return;
        }
        /* pivot: median of three pseudo-random positions */
        size_t span = hi - lo;
        double p[3];
        for (int i = 0; i < 3; i++) {
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            p[i] = v[lo + (size_t)(*rng % span)];
        }
        double piv = med3(p[0], p[1], p[2]);
        /* 3-way partition: [lo,lt) < piv, [lt,i) == piv, (gt,hi) > piv */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            double x = v[i];
            if (x < piv) {
                v[i] = v[lt];
                v[lt] = x;
                lt++;
                i++;
            } else if (x > piv) {
                gt--;
                v[i] = v[gt];
                v[gt] = x;
            } else {
                i++;
            }
        }
        /* ks below lt go left, ks at or above gt go right, the rest are in place */
        size_t nl = 0;
        while (nl < nk && ks[nl] < lt)
            nl++;
        size_t nr0 = nl;
        while (nr0 < nk && ks[nr0] < gt)
            nr0++;
        const size_t *kr = ks + nr0;
        size_t nr = nk - nr0;
        if (nl > 0 && nr > 0) {
            if (lt - lo < hi - gt) {
                msel(v, lo, lt, ks, nl, rng);
                lo = gt;
                ks = kr;
                nk = nr;
            } else {
                msel(v, gt, hi, kr, nr, rng);
                hi = lt;
                nk = nl;
            }
        } else if (nl > 0) {
            hi = lt;
            nk = nl;
        } else {
            lo = gt;
            ks = kr;
            nk = nr;
        }
    }
}

void stats_select(double *v, size_t n, const size_t *ks, size_t nk)
{
    uint64_t rng = 0x9E3779B97F4A7C15ull ^ n;
    if (n > 0)
        msel(v, 0, n, ks, nk, &rng);
}

double stats_mean(const double *v, size_t n)
{
    if (n == 0)
        return NAN;
    double s = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        double t = s + x;
        if (fabs(s) >= fabs(x))
            c += (s - t) + x;
        else
            c += (x - t) + s;
        s = t;
    }
    return (s + c) / (double)n;
}

/* numpy's _lerp */
static double lerp(double a, double b, double t)
{
    double d = b - a;
    return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/* The quantile from a selected array: v[lo] and v[lo+1] in place. */
static double quant_at(const double *v, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1)
        return v[n - 1];
    return lerp(v[lo], v[lo + 1], h - (double)lo);
}

/* The ranks a quantile is interpolated from: floor(h) and ceil(h). */
static size_t rank_below(size_t n, double q)
{
    return (size_t)floor((double)(n - 1) * q);
}

static size_t rank_above(size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    return h > (double)lo && lo + 1 < n ? lo + 1 : lo;
}

static size_t add_quant_idx(size_t *ks, size_t nk, size_t n, double q)
{
    size_t lo = (size_t)floor((double)(n - 1) * q);
    ks[nk++] = lo;
    if (lo + 1 < n)
        ks[nk++] = lo + 1;
    return nk;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static size_t sort_unique(size_t *ks, size_t nk)
{
    qsort(ks, nk, sizeof *ks, cmp_size);
    size_t m = 0;
    for (size_t i = 0; i < nk; i++)
        if (m == 0 || ks[m - 1] != ks[i])
            ks[m++] = ks[i];
    return m;
}

double stats_quantile(double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    size_t ks[2];
    size_t nk = add_quant_idx(ks, 0, n, q);
    stats_select(v, n, ks, nk);
    return quant_at(v, n, q);
}

void stats_numeric(double *v, size_t n, struct num_stats *out)
{
    out->n = n;
    if (n == 0) {
        out->mean = out->median = out->q1 = out->q3 = out->min = out->max = NAN;
        out->q1_below = out->q3_above = NAN;
        return;
    }
    out->mean = stats_mean(v, n);
    double mn = v[0], mx = v[0];
    for (size_t i = 1; i < n; i++) {
        if (v[i] < mn)
            mn = v[i];
        if (v[i] > mx)
            mx = v[i];
    }
    out->min = mn;
    out->max = mx;
    size_t ks[8], nk = 0;
    nk = add_quant_idx(ks, nk, n, 0.25);
    nk = add_quant_idx(ks, nk, n, 0.75);
    ks[nk++] = (n - 1) / 2;
    ks[nk++] = n / 2;
    nk = sort_unique(ks, nk);
    stats_select(v, n, ks, nk);
    out->q1 = quant_at(v, n, 0.25);
    out->q3 = quant_at(v, n, 0.75);
    out->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
    out->q1_below = v[rank_below(n, 0.25)];
    out->q3_above = v[rank_above(n, 0.75)];
}

static double valat(const size_t *ks, const double *sel, size_t nk, size_t idx)
{
    for (size_t i = 0; i < nk; i++)
        if (ks[i] == idx)
            return sel[i];
    return NAN;
}

static inline uint32_t bucket_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    u = (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
    return (uint32_t)(u >> 48);
}

#define NBUCKETS 65536u
#define MAXK 8

int stats_numeric_skipnan(const double *vals, size_t len, struct num_stats *out)
{
    uint32_t *cnt = calloc(NBUCKETS, sizeof *cnt);
    unsigned char *slot = calloc(NBUCKETS, 1);
    if (!cnt || !slot) {
        free(cnt);
        free(slot);
        return SH_ENOMEM;
    }
    size_t n = 0;
    double s = 0, c = 0, mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < len; i++) {
        double x = vals[i];
        if (x != x)
            continue;
        n++;
        double t = s + x;
        c += fabs(s) >= fabs(x) ? (s - t) + x : (x - t) + s;
        s = t;
        mn = x < mn ? x : mn;
        mx = x > mx ? x : mx;
        cnt[bucket_of(x)]++;
    }
    out->n = n;
    if (n == 0) {
        free(cnt);
        free(slot);
        stats_numeric(NULL, 0, out);
        return 0;
    }
    out->mean = (s + c) / (double)n;
    out->min = mn;
    out->max = mx;
    size_t ks[MAXK], nk = 0;
    nk = add_quant_idx(ks, nk, n, 0.25);
    nk = add_quant_idx(ks, nk, n, 0.75);
    ks[nk++] = (n - 1) / 2;
    ks[nk++] = n / 2;
    nk = sort_unique(ks, nk);
    /* the bucket and the rank inside it of every wanted index */
    uint32_t kb[MAXK];
    size_t kr[MAXK];
    uint32_t tb[MAXK];
    size_t ntb = 0, cum = 0, ki = 0;
    for (uint32_t b = 0; b < NBUCKETS && ki < nk; b++) {
        while (ki < nk && ks[ki] < cum + cnt[b]) {
            kb[ki] = b;
            kr[ki] = ks[ki] - cum;
            if (!slot[b]) {
                tb[ntb] = b;
                slot[b] = (unsigned char)++ntb;
            }
            ki++;
        }
        cum += cnt[b];
    }
    size_t off[MAXK], fill[MAXK], total = 0;
    for (size_t i = 0; i < ntb; i++) {
        off[i] = fill[i] = total;
        total += cnt[tb[i]];
    }
    double *g = malloc(total * sizeof *g);
    if (!g) {
        free(cnt);
        free(slot);
        return SH_ENOMEM;
    }
    for (size_t i = 0; i < len; i++) {
        double x = vals[i];
        if (x != x)
            continue;
        unsigned sl = slot[bucket_of(x)];
        if (sl)
            g[fill[sl - 1]++] = x;
    }
    /* select inside each gathered bucket; sel[i] is the value of rank ks[i] */
    double sel[MAXK];
    for (size_t t = 0; t < ntb; t++) {
        size_t loc[MAXK], nl = 0;
        for (size_t i = 0; i < nk; i++)
            if (kb[i] == tb[t])
                loc[nl++] = kr[i];
        double *seg = g + off[t];
        stats_select(seg, cnt[tb[t]], loc, nl);
        for (size_t i = 0; i < nk; i++)
            if (kb[i] == tb[t])
                sel[i] = seg[kr[i]];
    }
    free(g);
    free(cnt);
    free(slot);
#define VAL_AT(idx) valat(ks, sel, nk, (idx))
    double h1 = (double)(n - 1) * 0.25, h3 = (double)(n - 1) * 0.75;
    size_t l1 = (size_t)floor(h1), l3 = (size_t)floor(h3);
    out->q1 = l1 >= n - 1 ? VAL_AT(n - 1) : lerp(VAL_AT(l1), VAL_AT(l1 + 1), h1 - (double)l1);
    out->q3 = l3 >= n - 1 ? VAL_AT(n - 1) : lerp(VAL_AT(l3), VAL_AT(l3 + 1), h3 - (double)l3);
    out->median = n % 2 ? VAL_AT(n / 2) : (VAL_AT(n / 2 - 1) + VAL_AT(n / 2)) / 2.0;
    out->q1_below = VAL_AT(rank_below(n, 0.25));
    out->q3_above = VAL_AT(rank_above(n, 0.75));
#undef VAL_AT
    return 0;
}

size_t stats_distinct_upto(const double *vals, size_t len, size_t limit)
{
    double seen[64];
    size_t n = 0;
    if (limit > sizeof seen / sizeof seen[0])
        limit = sizeof seen / sizeof seen[0];
    for (size_t i = 0; i < len && n < limit; i++) {
        double x = vals[i];
        if (x != x)
            continue;
        size_t j = 0;
        while (j < n && seen[j] != x)
            j++;
        if (j == n)
            seen[n++] = x;
    }
    return n;
}
