/*
 * check_drift_stream.c — drift statistics in bounded memory: the category
 * counts (drift_cats.h), the radix sort (drift_radix.h), the spill file
 * (drift_spill.h), the range sweep
 * (drift_sweep.h) against the in-memory statistics of drift_stats.h at
 * budgets that force many ranges (bit for bit), and drift_compare_files
 * against drift_compare_columns on the same files (same report, bit for
 * bit), leaving no temporary file behind, on success or error.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "data/csv_columns.h"
#include "drift/drift_cats.h"
#include "drift/drift_engine.h"
#include "drift/drift_radix.h"
#include "drift/drift_spill.h"
#include "drift/drift_stats.h"
#include "drift/drift_sweep.h"

Suite *drift_stream_suite(void);

static char *make_dir(void)
{
    char tmpl[] = "/tmp/check_drift_stream-XXXXXX";
    char *d = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(d);
    return strdup(d);
}

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void remove_dir(char *dir, const char *const *files, size_t n)
{
    char path[512];
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    ck_assert_int_eq(rmdir(dir), 0); /* fails if anything else was left */
    free(dir);
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* --- categories ------------------------------------------------------------- */

START_TEST(test_cats_first_seen_order_and_counts)
{
    struct drift_cats c = {0};
    const char *v[] = {"b", "a", "b", "c", "a", "b", "ab"};
    for (size_t i = 0; i < 7; i++)
        ck_assert_int_eq(drift_cats_add(&c, v[i], strlen(v[i]), 1), 0);
    ck_assert_uint_eq(c.n, 4);
    ck_assert_uint_eq(c.total, 7);
    ck_assert_str_eq(c.keys[0], "b");
    ck_assert_str_eq(c.keys[1], "a");
    ck_assert_str_eq(c.keys[2], "c");
    ck_assert_str_eq(c.keys[3], "ab");
    ck_assert(c.counts[0] == 3 && c.counts[1] == 2 && c.counts[2] == 1 && c.counts[3] == 1);
    ck_assert_int_eq(drift_cats_find(&c, "ab", 2), 3);
    ck_assert_int_eq(drift_cats_find(&c, "abc", 2), 3); /* length-bounded */
    ck_assert_int_eq(drift_cats_find(&c, "z", 1), -1);
    /* many categories: the table grows and keeps every count */
    char buf[32];
    for (int i = 0; i < 5000; i++) {
        int len = snprintf(buf, sizeof buf, "k%d", i % 1000);
        ck_assert_int_eq(drift_cats_add(&c, buf, (size_t)len, 1), 0);
    }
    ck_assert_uint_eq(c.n, 1004);
    long k = drift_cats_find(&c, "k999", 4);
    ck_assert(k >= 0 && c.counts[k] == 5);
    drift_cats_free(&c);
}
END_TEST

/* --- radix sort --------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

START_TEST(test_radix_sorts_like_qsort)
{
    /* sizes below and above the insertion-sort cut; keys over all 64 bits,
     * over a few middle bits only, all equal, and over 14, 16 (counted, with
     * bits every key shares) and 17 bits */
    const size_t sizes[] = {0, 1, 63, 64, 5000};
    struct drift_radix_hist *h = malloc(sizeof *h);
    uint64_t st = 7;
    for (size_t z = 0; z < 5; z++) {
        for (int kind = 0; kind < 6; kind++) {
            size_t n = sizes[z];
            uint64_t *k = malloc((n + 1) * sizeof *k), *t = malloc((n + 1) * sizeof *t),
                     *want = malloc((n + 1) * sizeof *want);
            for (size_t i = 0; i < n; i++) {
                st = st * 6364136223846793005ull + 1442695040888963407ull;
                k[i] = kind == 0   ? st
                       : kind == 1 ? (st >> 40) << 20
                       : kind == 2 ? 12345
                       : kind == 3 ? (st >> 50) << 7
                       : kind == 4 ? UINT64_C(0xABC0000000000005) | ((st >> 48) << 3)
                                   : st >> 47;
                want[i] = k[i];
            }
            uint64_t *k2 = malloc((n + 1) * sizeof *k2), kor = 0, kand = ~(uint64_t)0;
            for (size_t i = 0; i < n; i++) {
                k2[i] = k[i];
                kor |= k[i];
                kand &= k[i];
            }
            qsort(want, n, sizeof *want, cmp_u64);
            drift_radix_sort(k, t, n, h);
            drift_radix_sort_diff(k2, t, n, h, kor & ~kand);
            for (size_t i = 0; i < n; i++) {
                ck_assert_msg(k[i] == want[i], "n %zu kind %d at %zu", n, kind, i);
                ck_assert_msg(k2[i] == want[i], "diff: n %zu kind %d at %zu", n, kind, i);
            }
            free(k2);
            free(k);
            free(t);
            free(want);
        }
    }
    free(h);
}
END_TEST

/* --- spill ------------------------------------------------------------------ */

START_TEST(test_spill_round_trip_leaves_no_file)
{
    char *dir = make_dir();
    struct drift_spill s;
    char *err = NULL;
    ck_assert_int_eq(drift_spill_open(&s, dir, 3, 7, &err), 0);
    ck_assert_uint_eq(dir_entries(dir), 0); /* unnamed from the start */
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(drift_spill_put(&s, 0, i * 0.5), 0);
        if (i % 3 == 0)
            ck_assert_int_eq(drift_spill_put(&s, 2, -i), 0);
        ck_assert_int_eq(drift_spill_put(&s, 1, 1), 0);
    }
    drift_spill_drop(&s, 1);
    ck_assert_int_eq(drift_spill_finish(&s), 0);
    ck_assert_uint_eq(s.cols[0].count, 100);
    ck_assert_uint_eq(s.cols[2].count, 34);
    ck_assert_uint_eq(s.cols[1].nblocks, 0);
    ck_assert_uint_eq(drift_spill_max_block(&s, 0), 7);
    double buf[7];
    size_t seen = 0;
    for (size_t b = 0; b < s.cols[0].nblocks; b++) {
        ck_assert_int_eq(drift_spill_read(&s, 0, b, buf), 0);
        for (size_t i = 0; i < s.cols[0].blocks[b].n; i++, seen++)
            ck_assert(buf[i] == (double)seen * 0.5);
    }
    ck_assert_uint_eq(seen, 100);
    seen = 0;
    for (size_t b = 0; b < s.cols[2].nblocks; b++) {
        ck_assert_int_eq(drift_spill_read(&s, 2, b, buf), 0);
        for (size_t i = 0; i < s.cols[2].blocks[b].n; i++, seen++)
            ck_assert(buf[i] == -(double)(seen * 3));
    }
    ck_assert_uint_eq(seen, 34);
    ck_assert_uint_eq(dir_entries(dir), 0);
    drift_spill_close(&s);
    remove_dir(dir, NULL, 0);
}
END_TEST

START_TEST(test_spill_unusable_dir_is_a_clear_error)
{
    struct drift_spill s;
    char *err = NULL;
    ck_assert_int_eq(drift_spill_open(&s, "/nonexistent/selfheal-tmp", 2, 8, &err), SH_EIO);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/selfheal-tmp: cannot create a temporary file"));
    free(err);
    drift_spill_close(&s);
}
END_TEST

/* --- the sweep against the in-memory statistics ------------------------------- */

static uint64_t rng_state;

static double uniform(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* n values of a kind: 0 continuous, 1 integers (ties), 2 one value most of the
 * time (a range of one value bigger than the budget), 3 signs and zeros */
static double *gen(int kind, size_t n, double shift)
{
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        double u = uniform();
        switch (kind) {
        case 0:
            v[i] = (u - 0.5) * 1000 + shift + uniform();
            break;
        case 1:
            v[i] = floor(u * 40 + shift);
            break;
        case 2:
            v[i] = u < 0.8 ? 7.25 : floor(u * 100 + shift) / 4;
            break;
        case 3:
            v[i] = u < 0.3 ? 0.0 : u < 0.4 ? -0.0 : (u - 0.6) * 1e-3 * (1 + shift);
            break;
        default: /* decimals of 2 digits, as num_parse reads them */
            v[i] = (double)(int64_t)floor((u - 0.5) * 200000 + shift * 100) / 100;
            break;
        }
        if (v[i] == 0)
            v[i] = 0; /* as drift_scan stores them */
    }
    return v;
}

/* Columns vouched decimal (dec = 1 + frac) are written as integers when
 * they fit: read back bit for bit, or as doubles when they do not fit. */
START_TEST(test_spill_decimal_blocks_read_back_exactly)
{
    char *dir = make_dir();
    struct drift_spill s;
    char *err = NULL;
    ck_assert_int_eq(drift_spill_open(&s, dir, 3, 64, &err), 0);
    s.cols[0].dec = 1 + 4; /* 4 digits after the point */
    s.cols[1].dec = 1 + 0; /* integers, some too big for int32 */
    s.cols[2].dec = 1 + 6; /* beyond 2^31 / 10^6 in one block only */
    double want[3][1000];
    rng_state = 11;
    for (int i = 0; i < 1000; i++) {
        int64_t m = (int64_t)floor((uniform() - 0.5) * 2e6);
        want[0][i] = (double)m / 1e4; /* as num_parse reads "-12.3456" */
        want[1][i] = i >= 640 && i < 704 ? 3e9 + i : (double)(m / 7);
        want[2][i] = i < 64 ? 5000.25 + i : (double)m / 1e6;
        for (int c = 0; c < 3; c++) {
            if (want[c][i] == 0)
                want[c][i] = 0;
            ck_assert_int_eq(drift_spill_put(&s, (size_t)c, want[c][i]), 0);
        }
    }
    ck_assert_int_eq(drift_spill_finish(&s), 0);
    ck_assert_int_eq(s.cols[0].blocks[0].frac, 4);
    ck_assert_int_eq(s.cols[1].blocks[10].frac, -1); /* 3e9: doubles */
    ck_assert_int_eq(s.cols[1].blocks[9].frac, 0);
    ck_assert_int_eq(s.cols[2].blocks[0].frac, -1);
    ck_assert_int_eq(s.cols[2].blocks[1].frac, 6);
    ck_assert_uint_lt(s.size, 3 * 1000 * sizeof(double)); /* integers: half the bytes */
    double buf[64];
    for (int c = 0; c < 3; c++) {
        size_t seen = 0;
        for (size_t b = 0; b < s.cols[c].nblocks; b++) {
            ck_assert_int_eq(drift_spill_read(&s, (size_t)c, b, buf), 0);
            for (size_t i = 0; i < s.cols[c].blocks[b].n; i++, seen++)
                ck_assert_msg(same_bits(buf[i], want[c][seen]), "column %d value %zu: %.17g != %.17g", c,
                              seen, buf[i], want[c][seen]);
        }
        ck_assert_uint_eq(seen, 1000);
    }
    drift_spill_close(&s);
    remove_dir(dir, NULL, 0);
}
END_TEST

static struct drift_sweep_side side_of(struct drift_spill *s, size_t col, const double *v, size_t n)
{
    struct drift_sweep_side sd = {.spill = s, .col = col, .n = n, .min = v[0], .max = v[0]};
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(drift_spill_put(s, col, v[i]), 0);
        if (v[i] < sd.min)
            sd.min = v[i];
        if (v[i] > sd.max)
            sd.max = v[i];
    }
    return sd;
}

START_TEST(test_sweep_matches_in_memory_at_any_budget)
{
    rng_state = 42 + (uint64_t)_i;
    int kind = _i;
    size_t n = 30000, m = 23000;
    double *a = gen(kind, n, 0), *b = gen(kind, m, 3);
    char *dir = make_dir();
    struct drift_spill s;
    char *err = NULL;
    ck_assert_int_eq(drift_spill_open(&s, dir, 2, 1000, &err), 0);
    struct drift_sweep_side sa = side_of(&s, 0, a, n), sb = side_of(&s, 1, b, m);
    ck_assert_int_eq(drift_spill_finish(&s), 0);

    double *sa_sorted, *sb_sorted;
    size_t n2, m2;
    ck_assert_int_eq(drift_values(a, n, &sa_sorted, &n2), 0);
    ck_assert_int_eq(drift_values(b, m, &sb_sorted, &m2), 0);
    double mean, sd;
    drift_mean_sd(sa_sorted, n, &mean, &sd);
    const double want[] = {drift_psi(sa_sorted, n, sb_sorted, m), drift_ks(sa_sorted, n, sb_sorted, m),
                           drift_wasserstein(sa_sorted, n, sb_sorted, m), mean, sd,
                           drift_js_binned(sa_sorted, n, sb_sorted, m)};

    const size_t budgets[] = {64u << 20, 1u << 20, 200000, 40000, 1};
    /* the decimal keys' hint: right (kinds 1, 2, 4) or wrong (0, 3: every
     * value checked, the doubles' keys then), and none */
    const int frac[] = {3, 0, 2, 6, 2};
    struct drift_sweep_buf buf = {0};
    for (size_t k = 0; k < 2 * sizeof budgets / sizeof budgets[0]; k++) {
        struct drift_sweep_result r;
        sa.decimal = sb.decimal = k % 2 == 1;
        sa.frac = sb.frac = frac[kind];
        ck_assert_int_eq(drift_sweep(&sa, &sb, budgets[k / 2], dir, &buf, &r), 0);
        ck_assert_uint_eq(dir_entries(dir), 0);
        const double got[] = {r.psi, r.ks, r.wasserstein, r.mean, r.sd, r.js};
        for (int x = 0; x < 6; x++)
            ck_assert_msg(same_bits(got[x], want[x]),
                          "kind %d budget %zu decimal %d statistic %d: %.17g != %.17g", kind,
                          budgets[k / 2], (int)sa.decimal, x, got[x], want[x]);
        if (k / 2 == 0)
            ck_assert_uint_eq(r.ranges, 1);
        if (budgets[k / 2] <= 200000 && kind != 2)
            ck_assert_uint_gt(r.ranges, 1); /* it did cut the values into ranges */
    }
    drift_sweep_buf_free(&buf);
    drift_spill_close(&s);
    remove_dir(dir, NULL, 0);
    free(a);
    free(b);
    free(sa_sorted);
    free(sb_sorted);
}
END_TEST

/* --- files against in-memory columns ------------------------------------------ */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* A CSV of rows rows: numbers, ties, missing cells in several spellings, a
 * quoted text column, a column that turns to text after numbers, one that
 * is text here and numbers there, a column of its own. */
static void write_data(const char *path, size_t rows, int seed, bool ref)
{
    rng_state = (uint64_t)seed;
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "x,ties,city,late,changes,%s\n", ref ? "only_ref" : "only_cur");
    static const char *miss[] = {"", "NA", "?", "null"};
    static const char *cities[] = {"\"Paris, FR\"", "Lyon", "\"say \"\"hi\"\"\"", "Nice"};
    for (size_t i = 0; i < rows; i++) {
        double u = uniform();
        if (u < 0.03)
            fprintf(f, "%s,", miss[i % 4]);
        else
            fprintf(f, "%.6g,", (uniform() - 0.5) * 100 + (ref ? 0 : 4));
        fprintf(f, "%d,", (int)(uniform() * 12) - 3);
        fprintf(f, "%s,", cities[(size_t)(uniform() * (ref ? 3 : 4))]);
        if (i == rows - 5)
            fprintf(f, "late-text,");
        else
            fprintf(f, "%d,", (int)(uniform() * 9));
        if (ref)
            fprintf(f, "t%d,", (int)(uniform() * 3));
        else
            fprintf(f, "%d,", (int)(uniform() * 3));
        fprintf(f, "%g\n", uniform());
    }
    fclose(f);
}

static void assert_same_report(const struct drift_report *a, const struct drift_report *b)
{
    ck_assert_int_eq(a->verdict, b->verdict);
    ck_assert(same_bits(a->score, b->score));
    ck_assert_uint_eq(a->nscored, b->nscored);
    ck_assert_uint_eq(a->ndrifted, b->ndrifted);
    ck_assert_uint_eq(a->ref_rows, b->ref_rows);
    ck_assert_uint_eq(a->cur_rows, b->cur_rows);
    ck_assert_str_eq(a->message, b->message);
    ck_assert_uint_eq(a->nfeatures, b->nfeatures);
    for (size_t i = 0; i < a->nfeatures; i++) {
        const struct drift_feature *x = &a->features[i], *y = &b->features[i];
        ck_assert_str_eq(x->name, y->name);
        ck_assert_int_eq(x->kind, y->kind);
        ck_assert_int_eq(x->scored, y->scored);
        ck_assert_str_eq(x->skip, y->skip);
        ck_assert_uint_eq(x->nref, y->nref);
        ck_assert_uint_eq(x->ncur, y->ncur);
        const double vx[] = {x->psi, x->ks, x->wasserstein, x->wasserstein_norm, x->js, x->statistic};
        const double vy[] = {y->psi, y->ks, y->wasserstein, y->wasserstein_norm, y->js, y->statistic};
        for (int k = 0; k < 6; k++)
            ck_assert_msg(same_bits(vx[k], vy[k]), "%s statistic %d: %.17g != %.17g", x->name, k,
                          vx[k], vy[k]);
        ck_assert_int_eq(x->drifted, y->drifted);
    }
}

START_TEST(test_files_match_columns_within_any_budget)
{
    char *dir = make_dir();
    char ref[512], cur[512];
    snprintf(ref, sizeof ref, "%s/ref.csv", dir);
    snprintf(cur, sizeof cur, "%s/cur.csv", dir);
    write_data(ref, 20000, 1, true);
    write_data(cur, 15000, 2, false);
    struct csv_columns rc, cc;
    char *err = NULL;
    ck_assert_int_eq(csv_load_columns(ref, NULL, 0, &rc, &err), 0);
    ck_assert_int_eq(csv_load_columns(cur, NULL, 0, &cc, &err), 0);
    for (int m = DRIFT_PSI; m <= DRIFT_JENSENSHANNON; m++) {
        struct drift_params p;
        drift_params_default(&p, (enum drift_method)m);
        p.tmp_dir = dir;
        struct drift_report want;
        ck_assert_int_eq(drift_compare_columns(&rc, &cc, &p, &want), 0);
        const size_t budgets[] = {0, 1u << 20, 200000};
        for (size_t k = 0; k < 3; k++) {
            p.memory_budget = budgets[k];
            struct drift_report got;
            ck_assert_int_eq(drift_compare_files(ref, cur, NULL, 0, &p, &got, &err), 0);
            assert_same_report(&got, &want);
            drift_report_free(&got);
        }
        drift_report_free(&want);
    }
    /* what the data exercises */
    struct drift_params p;
    drift_params_default(&p, DRIFT_PSI);
    p.tmp_dir = dir;
    struct drift_report r;
    ck_assert_int_eq(drift_compare_files(ref, cur, NULL, 0, &p, &r, &err), 0);
    ck_assert_uint_eq(r.nfeatures, 7);
    ck_assert_str_eq(r.features[2].name, "city");
    ck_assert(r.features[2].scored && r.features[2].kind == DRIFT_FEATURE_CATEGORICAL);
    ck_assert_str_eq(r.features[3].name, "late");
    ck_assert(r.features[3].scored && r.features[3].kind == DRIFT_FEATURE_CATEGORICAL);
    ck_assert_str_eq(r.features[4].skip, "text in the reference, numeric in the current data");
    ck_assert_str_eq(r.features[5].skip, "not in the current data");
    ck_assert_str_eq(r.features[6].skip, "not in the reference data");
    drift_report_free(&r);
    csv_columns_free(&rc);
    csv_columns_free(&cc);
    const char *files[] = {"ref.csv", "cur.csv"};
    ck_assert_uint_eq(dir_entries(dir), 2); /* no temporary file left */
    remove_dir(dir, files, 2);
}
END_TEST

START_TEST(test_files_errors_leave_nothing)
{
    char *dir = make_dir();
    char good[512], bad[512];
    snprintf(good, sizeof good, "%s/good.csv", dir);
    snprintf(bad, sizeof bad, "%s/bad.csv", dir);
    write_data(good, 500, 3, true);
    write_file(bad, "x,ties\n1,2\n3,4\n5\n");
    struct drift_params p;
    drift_params_default(&p, DRIFT_PSI);
    p.tmp_dir = dir;
    struct drift_report r;
    char *err = NULL;
    ck_assert_int_eq(drift_compare_files(good, bad, NULL, 0, &p, &r, &err), SH_EPARSE);
    ck_assert_ptr_nonnull(strstr(err, "bad.csv:4: wrong number of fields"));
    free(err);
    err = NULL;
    p.tmp_dir = "/nonexistent/tmp";
    ck_assert_int_ne(drift_compare_files(good, good, NULL, 0, &p, &r, &err), 0);
    ck_assert_ptr_nonnull(strstr(err, "cannot create a temporary file"));
    free(err);
    const char *files[] = {"good.csv", "bad.csv"};
    ck_assert_uint_eq(dir_entries(dir), 2);
    remove_dir(dir, files, 2);
}
END_TEST

Suite *drift_stream_suite(void)
{
    Suite *s = suite_create("drift_stream");
    TCase *tc = tcase_create("parts");
    tcase_add_test(tc, test_cats_first_seen_order_and_counts);
    tcase_add_test(tc, test_radix_sorts_like_qsort);
    tcase_add_test(tc, test_spill_round_trip_leaves_no_file);
    tcase_add_test(tc, test_spill_decimal_blocks_read_back_exactly);
    tcase_add_test(tc, test_spill_unusable_dir_is_a_clear_error);
    tcase_add_loop_test(tc, test_sweep_matches_in_memory_at_any_budget, 0, 5);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("files");
    tcase_set_timeout(tf, 60);
    tcase_add_test(tf, test_files_match_columns_within_any_budget);
    tcase_add_test(tf, test_files_errors_leave_nothing);
    suite_add_tcase(s, tf);
    return s;
}
