/*
 * check_drift.c — the drift statistics (drift_stats.h) on hand-computed
 * cases, and the engine's features, score and verdicts (drift_engine.h) on
 * in-memory data sets. Exactness against numpy/scipy on generated data is
 * checked by tests/integration/test_drift_reference.sh.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift_engine.h"
#include "drift/drift_stats.h"
#include "base/errors.h"

Suite *drift_suite(void);

#define EPS 1e-12

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

START_TEST(test_sort_matches_qsort)
{
    static const size_t sizes[] = {0, 1, 7, 511, 512, 5000, 70000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        double *a = malloc((n + 1) * sizeof *a), *b = malloc((n + 1) * sizeof *b);
        unsigned x = 12345u + (unsigned)n;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            double v = ((double)(x >> 8) / 16777216.0 - 0.5) * 1e6;
            if (i % 97 == 0)
                v = -0.0;
            if (i % 101 == 0)
                v = 0.0;
            if (i % 89 == 0)
                v = (i % 2) ? INFINITY : -INFINITY;
            if (i % 13 == 0)
                v = 42.0; /* ties */
            if (i % 17 == 0)
                v = 1e-310; /* subnormal */
            a[i] = b[i] = v;
        }
        ck_assert_int_eq(drift_sort(a, n), 0);
        for (size_t i = 1; i < n; i++)
            ck_assert_msg(a[i - 1] <= a[i], "n=%zu: not sorted at %zu: %g > %g", n, i, a[i - 1], a[i]);
        /* the same as qsort, element by element (-0 == 0) */
        qsort(b, n, sizeof *b, cmp_double);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(a[i] == b[i], "n=%zu: differs from qsort at %zu", n, i);
        free(a);
        free(b);
    }
}
END_TEST

START_TEST(test_values_exclude_nan)
{
    double x[] = {3, NAN, 1, 2, NAN};
    double *v = NULL;
    size_t n = 0;
    ck_assert_int_eq(drift_values(x, 5, &v, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert(v[0] == 1 && v[1] == 2 && v[2] == 3);
    free(v);
    double allnan[] = {NAN, NAN};
    ck_assert_int_eq(drift_values(allnan, 2, &v, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(v);
}
END_TEST

START_TEST(test_quantile_is_numpy_linear)
{
    double x[] = {1, 2, 3, 4};
    /* numpy.quantile([1,2,3,4], q): (n-1)q = 0.3 → 1.3; 1.5 → 2.5; 2.7 → 3.7 */
    ck_assert_double_eq_tol(drift_quantile(x, 4, 0.1), 1.3, EPS);
    ck_assert_double_eq_tol(drift_quantile(x, 4, 0.5), 2.5, EPS);
    ck_assert_double_eq_tol(drift_quantile(x, 4, 0.9), 3.7, EPS);
    ck_assert(drift_quantile(x, 4, 1.0) == 4);
    ck_assert(drift_quantile(x, 4, 0.0) == 1);
    double one[] = {7};
    ck_assert(drift_quantile(one, 1, 0.3) == 7);
    double edges[9];
    double ten[100];
    for (int i = 0; i < 100; i++)
        ten[i] = i;
    drift_psi_edges(ten, 100, edges);
    for (int k = 1; k <= 9; k++)
        ck_assert_double_eq_tol(edges[k - 1], 9.9 * k, 1e-9);
}
END_TEST

START_TEST(test_bins_right_closed_at_edges)
{
    /* a value equal to an edge goes to the bin above it (searchsorted right) */
    double edges[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    double x[] = {0.5, 1, 1, 2.5, 9, 10};
    size_t c[10];
    drift_bin_counts(x, 6, edges, c);
    size_t want[10] = {1, 2, 1, 0, 0, 0, 0, 0, 0, 2};
    for (int b = 0; b < 10; b++)
        ck_assert_uint_eq(c[b], want[b]);
}
END_TEST

START_TEST(test_psi_hand_computed)
{
    double ref[100], same[100], far[50];
    for (int i = 0; i < 100; i++)
        ref[i] = same[i] = i;
    for (int i = 0; i < 50; i++)
        far[i] = 1000;
    ck_assert_double_eq_tol(drift_psi(ref, 100, same, 100), 0.0, EPS);
    /* every current value in the last bin: nine empty bins floored at 1e-4 */
    double want = 9 * (1e-4 - 0.1) * log(1e-4 / 0.1) + (1.0 - 0.1) * log(1.0 / 0.1);
    ck_assert_double_eq_tol(drift_psi(ref, 100, far, 50), want, 1e-12);
    /* half the values moved from the first bin to the second */
    double cur[100];
    for (int i = 0; i < 100; i++)
        cur[i] = i < 5 ? 15 : i; /* 0..4 → 15 */
    ck_assert_int_eq(drift_sort(cur, 100), 0);
    want = (0.05 - 0.1) * log(0.05 / 0.1) + (0.15 - 0.1) * log(0.15 / 0.1);
    ck_assert_double_eq_tol(drift_psi(ref, 100, cur, 100), want, 1e-12);
}
END_TEST

START_TEST(test_psi_constant_reference)
{
    /* all edges equal 5: the reference is all in the last bin */
    double ref[10] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    double cur[4] = {1, 5, 5, 9};
    double want = (0.25 - 1e-4) * log(0.25 / 1e-4) + (0.75 - 1.0) * log(0.75 / 1.0);
    ck_assert_double_eq_tol(drift_psi(ref, 10, cur, 4), want, 1e-12);
}
END_TEST

START_TEST(test_ks_hand_computed)
{
    double a[] = {1, 2, 3}, b[] = {4, 5, 6};
    ck_assert_double_eq_tol(drift_ks(a, 3, b, 3), 1.0, EPS);
    ck_assert_double_eq_tol(drift_ks(a, 3, a, 3), 0.0, EPS);
    double c[] = {1, 2, 3, 4}, d[] = {3, 4, 5, 6};
    ck_assert_double_eq_tol(drift_ks(c, 4, d, 4), 0.5, EPS);
    /* ties across samples: F evaluated after every copy of a value */
    double e[] = {1, 1, 2}, f[] = {1, 2, 2};
    ck_assert_double_eq_tol(drift_ks(e, 3, f, 3), 1.0 / 3.0, EPS);
    /* the larger side negative: b below a */
    ck_assert_double_eq_tol(drift_ks(b, 3, a, 3), 1.0, EPS);
    double g[] = {0}, h[] = {0, 1};
    ck_assert_double_eq_tol(drift_ks(g, 1, h, 2), 0.5, EPS);
}
END_TEST

START_TEST(test_wasserstein_hand_computed)
{
    double a[] = {0, 1, 3}, b[] = {5, 6, 8};
    ck_assert_double_eq_tol(drift_wasserstein(a, 3, b, 3), 5.0, EPS);
    ck_assert_double_eq_tol(drift_wasserstein(a, 3, a, 3), 0.0, EPS);
    double c[] = {0}, d[] = {1, 3};
    /* F_c = 1 on [0, ∞); F_d: 0 on [0,1), .5 on [1,3) → 1·1 + .5·2 = 2 */
    ck_assert_double_eq_tol(drift_wasserstein(c, 1, d, 2), 2.0, EPS);
    double mean, sd;
    double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
    drift_mean_sd(x, 8, &mean, &sd);
    ck_assert_double_eq_tol(mean, 5.0, EPS);
    ck_assert_double_eq_tol(sd, 2.0, EPS); /* ddof 0 */
    ck_assert_double_eq_tol(drift_wasserstein_normalise(3.0, 5.0, 2.0), 1.5, EPS);
    /* constant reference: divided by max(1, |value|), never by zero */
    ck_assert_double_eq_tol(drift_wasserstein_normalise(3.0, 0.5, 0.0), 3.0, EPS);
    ck_assert_double_eq_tol(drift_wasserstein_normalise(3.0, -30.0, 0.0), 0.1, EPS);
}
END_TEST

START_TEST(test_js_hand_computed)
{
    double p[] = {1, 0, 0}, q[] = {0, 1, 0};
    ck_assert_double_eq_tol(drift_js_counts(p, q, 3), 1.0, EPS);
    ck_assert_double_eq_tol(drift_js_counts(p, p, 3), 0.0, EPS);
    double r[] = {2, 0}, s[] = {5, 5}; /* (1, 0) vs (.5, .5), unnormalised */
    double left = 1.0 * log(1.0 / 0.75);
    double right = 0.5 * log(0.5 / 0.75) + 0.5 * log(0.5 / 0.25);
    double want = sqrt((left + right) / log(2.0) / 2.0);
    ck_assert_double_eq_tol(drift_js_counts(r, s, 2), want, EPS);

    const char *a[] = {"x", "y", NULL, "x"};
    const char *b[] = {"y", "z", "y", NULL, NULL};
    double js;
    size_t na, nb;
    ck_assert_int_eq(drift_js_strings(a, 4, b, 5, &js, &na, &nb), 0);
    ck_assert_uint_eq(na, 3);
    ck_assert_uint_eq(nb, 3);
    /* categories x, y, z: p = (2/3, 1/3, 0), q = (0, 2/3, 1/3) */
    double pp[] = {2, 1, 0}, qq[] = {0, 2, 1};
    ck_assert_double_eq_tol(js, drift_js_counts(pp, qq, 3), EPS);
    const char *none[] = {NULL};
    ck_assert_int_eq(drift_js_strings(a, 4, none, 1, &js, NULL, NULL), SH_EINVAL);
    ck_assert(isnan(js));
}
END_TEST

START_TEST(test_js_many_categories)
{
    /* more categories than the table's first size: every one counted */
    enum { N = 3000 };
    static char buf[N][8];
    const char *a[N], *b[N];
    for (int i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], "c%d", i);
        a[i] = buf[i];
        b[i] = buf[(i + N / 2) % N];
    }
    double js;
    ck_assert_int_eq(drift_js_strings(a, N, b, N, &js, NULL, NULL), 0);
    ck_assert_double_eq_tol(js, 0.0, 1e-9); /* same categories, same counts */
    ck_assert_int_eq(drift_js_strings(a, N / 2, b, N / 2, &js, NULL, NULL), 0);
    ck_assert_double_eq_tol(js, 1.0, 1e-9); /* disjoint halves */
}
END_TEST

/* --- the engine on in-memory columns ------------------------------------- */

static struct csv_column numcol(const char *name, const double *v, size_t n)
{
    struct csv_column c = {.name = (char *)name, .numeric = true};
    c.num = malloc(n * sizeof *c.num);
    memcpy(c.num, v, n * sizeof *c.num);
    return c;
}

static struct csv_column strcol(const char *name, const char *const *v, size_t n)
{
    struct csv_column c = {.name = (char *)name, .numeric = false};
    c.str = malloc(n * sizeof *c.str);
    for (size_t i = 0; i < n; i++)
        c.str[i] = (char *)v[i];
    return c;
}

static void free_cols(struct csv_columns *c)
{
    for (size_t i = 0; i < c->ncols; i++) {
        free(c->cols[i].num);
        free(c->cols[i].str);
    }
}

#define ROWS 200

START_TEST(test_engine_score_and_verdict)
{
    double base[ROWS], shifted[ROWS], noise[ROWS];
    const char *cat_a[ROWS], *cat_b[ROWS];
    for (int i = 0; i < ROWS; i++) {
        base[i] = i % 50;
        shifted[i] = (i % 50) + 40; /* far away */
        noise[i] = (i % 50) + (i % 2 ? 0.01 : -0.01);
        cat_a[i] = i % 2 ? "inland" : "coast";
        cat_b[i] = i % 2 ? "inland" : "coast";
    }
    struct csv_column rc[4] = {numcol("a", base, ROWS), numcol("b", base, ROWS),
                               strcol("c", cat_a, ROWS), numcol("only_ref", base, ROWS)};
    struct csv_column cc[4] = {numcol("a", shifted, ROWS), numcol("b", noise, ROWS),
                               strcol("c", cat_b, ROWS), numcol("only_cur", base, ROWS)};
    struct csv_columns ref = {.ncols = 4, .nrows = ROWS, .cols = rc};
    struct csv_columns cur = {.ncols = 4, .nrows = ROWS, .cols = cc};
    struct drift_params p;
    drift_params_default(&p, DRIFT_PSI);
    p.threads = 2;
    struct drift_report r;
    ck_assert_int_eq(drift_compare_columns(&ref, &cur, &p, &r), 0);
    ck_assert_uint_eq(r.nfeatures, 5); /* a, b, c, only_ref, only_cur */
    ck_assert_uint_eq(r.nscored, 3);
    ck_assert_uint_eq(r.ndrifted, 1);
    ck_assert(r.features[0].drifted && !r.features[1].drifted && !r.features[2].drifted);
    ck_assert_int_eq(r.features[2].kind, DRIFT_FEATURE_CATEGORICAL);
    ck_assert_double_eq_tol(r.features[2].statistic, 0.0, 1e-12);
    ck_assert(!r.features[3].scored && strstr(r.features[3].skip, "current"));
    ck_assert(!r.features[4].scored && strstr(r.features[4].skip, "reference"));
    ck_assert_double_eq_tol(r.score, 1.0 / 3.0, EPS);
    ck_assert_int_eq(r.verdict, DRIFT_VERDICT_NONE); /* 0.333 < 0.5 */
    ck_assert_double_eq_tol(r.features[0].ks, 0.8, 1e-12); /* F_ref(39) = .8, F_cur(39) = 0 */
    drift_report_free(&r);

    p.threshold = 0.3;
    ck_assert_int_eq(drift_compare_columns(&ref, &cur, &p, &r), 0);
    ck_assert_int_eq(r.verdict, DRIFT_VERDICT_DRIFT); /* 0.333 ≥ 0.3 */
    cJSON *j = drift_report_json(&r, &p);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "verdict")->valuestring, "drift");
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "driftedFeatures"), 0)->valuestring, "a");
    cJSON_Delete(j);
    drift_report_free(&r);

    /* the method picks the deciding statistic: KS of a is 0.8 ≥ 0.1 */
    drift_params_default(&p, DRIFT_KS);
    ck_assert_int_eq(drift_compare_columns(&ref, &cur, &p, &r), 0);
    ck_assert(r.features[0].statistic == r.features[0].ks);
    ck_assert(r.features[0].drifted);
    drift_report_free(&r);

    free_cols(&ref);
    free_cols(&cur);
}
END_TEST

START_TEST(test_engine_min_samples_unknown)
{
    double x[ROWS];
    for (int i = 0; i < ROWS; i++)
        x[i] = i;
    struct csv_column rc[1] = {numcol("a", x, ROWS)};
    struct csv_column cc[1] = {numcol("a", x, 99)};
    for (int i = 0; i < 99; i++)
        cc[0].num[i] = 1000 + i; /* would be drift */
    struct csv_columns ref = {.ncols = 1, .nrows = ROWS, .cols = rc};
    struct csv_columns cur = {.ncols = 1, .nrows = 99, .cols = cc};
    struct drift_params p;
    drift_params_default(&p, DRIFT_PSI);
    struct drift_report r;
    ck_assert_int_eq(drift_compare_columns(&ref, &cur, &p, &r), 0);
    ck_assert_int_eq(r.verdict, DRIFT_VERDICT_UNKNOWN);
    ck_assert(strstr(r.message, "minSamples 100"));
    drift_report_free(&r);
    p.min_samples = 99;
    ck_assert_int_eq(drift_compare_columns(&ref, &cur, &p, &r), 0);
    ck_assert_int_eq(r.verdict, DRIFT_VERDICT_DRIFT);
    drift_report_free(&r);
    free_cols(&ref);
    free_cols(&cur);
}
END_TEST

START_TEST(test_engine_type_change_and_all_missing_skipped)
{
    double x[ROWS], nan[ROWS];
    const char *s[ROWS];
    for (int i = 0; i < ROWS; i++) {
        x[i] = i;
        nan[i] = NAN;
        s[i] = "abc";
    }
    struct csv_column rc[2] = {numcol("a", x, ROWS), numcol("b", x, ROWS)};
    struct csv_column cc[2] = {strcol("a", s, ROWS), numcol("b", nan, ROWS)};
    struct csv_columns ref = {.ncols = 2, .nrows = ROWS, .cols = rc};
    struct csv_columns cur = {.ncols = 2, .nrows = ROWS, .cols = cc};
    struct drift_params p;
    drift_params_default(&p, DRIFT_WASSERSTEIN);
    struct drift_report r;
    ck_assert_int_eq(drift_compare_columns(&ref, &cur, &p, &r), 0);
    ck_assert(!r.features[0].scored);
    ck_assert_str_eq(r.features[0].skip, "numeric in the reference, text in the current data");
    ck_assert(!r.features[1].scored);
    ck_assert_str_eq(r.features[1].skip, "no values in the current data");
    ck_assert_int_eq(r.verdict, DRIFT_VERDICT_UNKNOWN);
    ck_assert(isnan(r.score));
    drift_report_free(&r);
    free_cols(&ref);
    free_cols(&cur);
}
END_TEST

Suite *drift_suite(void)
{
    Suite *s = suite_create("drift");
    TCase *tc = tcase_create("stats");
    tcase_add_test(tc, test_sort_matches_qsort);
    tcase_add_test(tc, test_values_exclude_nan);
    tcase_add_test(tc, test_quantile_is_numpy_linear);
    tcase_add_test(tc, test_bins_right_closed_at_edges);
    tcase_add_test(tc, test_psi_hand_computed);
    tcase_add_test(tc, test_psi_constant_reference);
    tcase_add_test(tc, test_ks_hand_computed);
    tcase_add_test(tc, test_wasserstein_hand_computed);
    tcase_add_test(tc, test_js_hand_computed);
    tcase_add_test(tc, test_js_many_categories);
    suite_add_tcase(s, tc);
    TCase *te = tcase_create("engine");
    tcase_add_test(te, test_engine_score_and_verdict);
    tcase_add_test(te, test_engine_min_samples_unknown);
    tcase_add_test(te, test_engine_type_change_and_all_missing_skipped);
    suite_add_tcase(s, te);
    return s;
}
