/*
 * ols.h — the housing demo's least-squares fit: standardise the feature
 * columns, solve the ridge-stabilised normal equations
 * (ZᵀZ + λ·n·I) β = Zᵀ(y − ȳ) by Cholesky, and score predictions (R², RMSE).
 * The intercept is ȳ and is not penalised; a constant column gets std 1 and
 * a zero coefficient.
 *
 * Header-only (static inline) so the programs and the unit tests share it.
 */
#ifndef HOUSING_OLS_H
#define HOUSING_OLS_H

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct hols {
    size_t p;        /* number of features */
    double *mean;    /* p: feature means on the training rows */
    double *std;     /* p: population standard deviations (1 when constant) */
    double *coef;    /* p: coefficients on standardised features */
    double intercept;
};

static inline void hols_free(struct hols *m)
{
    free(m->mean);
    free(m->std);
    free(m->coef);
    memset(m, 0, sizeof *m);
}

/* Prediction for one row x (p raw feature values). */
static inline double hols_predict(const struct hols *m, const double *x)
{
    double y = m->intercept;
    for (size_t j = 0; j < m->p; j++)
        y += m->coef[j] * (x[j] - m->mean[j]) / m->std[j];
    return y;
}

/* In-place Cholesky of the p×p SPD matrix a (lower triangle), then solves a·x = b into b. Returns 0 or -1. */
static inline int hols_cholesky_solve_(double *a, double *b, size_t p)
{
    for (size_t j = 0; j < p; j++) {
        double d = a[j * p + j], diag = d;
        for (size_t k = 0; k < j; k++)
            d -= a[j * p + k] * a[j * p + k];
        if (!(d > 1e-10 * diag)) /* (numerically) singular */
            return -1;
        d = sqrt(d);
        a[j * p + j] = d;
        for (size_t i = j + 1; i < p; i++) {
            double s = a[i * p + j];
            for (size_t k = 0; k < j; k++)
                s -= a[i * p + k] * a[j * p + k];
            a[i * p + j] = s / d;
        }
    }
    for (size_t i = 0; i < p; i++) { /* L z = b */
        double s = b[i];
        for (size_t k = 0; k < i; k++)
            s -= a[i * p + k] * b[k];
        b[i] = s / a[i * p + i];
    }
    for (size_t i = p; i-- > 0;) { /* Lᵀ x = z */
        double s = b[i];
        for (size_t k = i + 1; k < p; k++)
            s -= a[k * p + i] * b[k];
        b[i] = s / a[i * p + i];
    }
    return 0;
}

/*
 * Fits y ≈ intercept + Σ coef_j·(x_j − mean_j)/std_j over the n rows listed
 * in rows (indices into x, row-major n_all × p, and y). ridge ≥ 0 is λ.
 * Returns 0, or -1 when there are no rows, no memory or the system is
 * singular (ridge 0 with collinear features).
 */
static inline int hols_fit(struct hols *m, const double *x, const double *y, size_t p, const size_t *rows,
                           size_t n, double ridge)
{
    memset(m, 0, sizeof *m);
    if (n == 0)
        return -1;
    m->p = p;
    m->mean = calloc(p ? p : 1, sizeof(double));
    m->std = calloc(p ? p : 1, sizeof(double));
    m->coef = calloc(p ? p : 1, sizeof(double));
    double *a = calloc(p > 0 ? p * p : 1, sizeof(double));
    double *b = calloc(p ? p : 1, sizeof(double));
    double *z = calloc(p ? p : 1, sizeof(double));
    if (!m->mean || !m->std || !m->coef || !a || !b || !z)
        goto fail;
    double ymean = 0.0;
    for (size_t r = 0; r < n; r++) {
        const double *xr = x + rows[r] * p;
        for (size_t j = 0; j < p; j++)
            m->mean[j] += xr[j];
        ymean += y[rows[r]];
    }
    ymean /= (double)n;
    for (size_t j = 0; j < p; j++)
        m->mean[j] /= (double)n;
    for (size_t r = 0; r < n; r++) {
        const double *xr = x + rows[r] * p;
        for (size_t j = 0; j < p; j++) {
            double d = xr[j] - m->mean[j];
            m->std[j] += d * d;
        }
    }
    for (size_t j = 0; j < p; j++) {
        m->std[j] = sqrt(m->std[j] / (double)n);
        if (!(m->std[j] > 1e-12 * (fabs(m->mean[j]) + 1.0)))
            m->std[j] = 1.0;
    }
    for (size_t r = 0; r < n; r++) {
        const double *xr = x + rows[r] * p;
        double dy = y[rows[r]] - ymean;
        for (size_t j = 0; j < p; j++)
            z[j] = (xr[j] - m->mean[j]) / m->std[j];
        for (size_t i = 0; i < p; i++) {
            b[i] += z[i] * dy;
            for (size_t j = 0; j <= i; j++)
                a[i * p + j] += z[i] * z[j];
        }
    }
    for (size_t i = 0; i < p; i++) {
        /* a constant column is all zeros once centred: pin its coefficient at 0 */
        if (a[i * p + i] == 0.0)
            a[i * p + i] = 1.0;
        a[i * p + i] += ridge * (double)n;
        for (size_t j = 0; j < i; j++)
            a[j * p + i] = a[i * p + j];
    }
    if (hols_cholesky_solve_(a, b, p) < 0)
        goto fail;
    memcpy(m->coef, b, p * sizeof(double));
    m->intercept = ymean;
    free(a);
    free(b);
    free(z);
    return 0;
fail:
    free(a);
    free(b);
    free(z);
    hols_free(m);
    return -1;
}

/* R² (1 − SSE/SST, around the mean of these rows) and RMSE of m on the listed rows. */
static inline void hols_score(const struct hols *m, const double *x, const double *y, const size_t *rows, size_t n,
                              double *ret_r2, double *ret_rmse)
{
    double ymean = 0.0, sse = 0.0, sst = 0.0;
    for (size_t r = 0; r < n; r++)
        ymean += y[rows[r]];
    ymean = n ? ymean / (double)n : 0.0;
    for (size_t r = 0; r < n; r++) {
        double e = y[rows[r]] - hols_predict(m, x + rows[r] * m->p);
        double d = y[rows[r]] - ymean;
        sse += e * e;
        sst += d * d;
    }
    *ret_r2 = sst > 0.0 ? 1.0 - sse / sst : 0.0;
    *ret_rmse = n ? sqrt(sse / (double)n) : 0.0;
}

#endif
