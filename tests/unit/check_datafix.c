/*
 * check_datafix.c — the data fix: statistics against a sorted reference
 * (numpy's linear quantiles), exact output bytes of a fix (fills, caps,
 * text modes, untouched cells byte for byte, CRLF kept), each broken CSV
 * refused with its exact message and the file's bytes and folder unchanged,
 * refusal over maxFixedFraction, dry run, the other strategies, backups
 * kept to `keep` with the newest names, the temporary files of a killed
 * run cleaned up, and a write beyond RLIMIT_FSIZE failing with a clear
 * error (not SIGXFSZ) and the original, alone in its folder, unchanged;
 * a plain file of many blocks fixed on two threads (datafix_par.c) gives
 * the report and bytes of the one-thread reader (the same file with one
 * quoted cell), also when a column turns to text past the first lines;
 * num_parse_padded (eight bytes at a time) reads every text as num_parse;
 * num_side_padded (a number against bounds, from its text) tells what
 * parse-then-compare tells, or that it cannot, on 3 M random texts and
 * edge texts against bounds at, a ulp from and an integer beside them;
 * blockscan cuts a file into blocks of whole lines (one far longer than a
 * block too) whose in-order steps see the file in order, and a failure
 * stops the pass at the first failing block.
 */
#include <check.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/datafix.h"
#include "data/modecount.h"
#include "data/backup.h"
#include "data/stats.h"
#include "data/numtext.h"
#include "data/blockscan.h"
#include <fcntl.h>
#include <pthread.h>
#include "base/errors.h"

Suite *datafix_suite(void);

static char tmpdir[256];
static char path[400];

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_datafix.XXXXXX", base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(path, sizeof path, "%s/data.csv", tmpdir);
}

static void teardown(void)
{
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0))
                continue;
            char p[600];
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(tmpdir);
}

static void put_file(const char *p, const char *data, size_t len)
{
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static char *get_file(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    char *buf = malloc(1 << 20);
    ck_assert_ptr_nonnull(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Names in the folder, sorted, joined by spaces. */
static char *listing(void)
{
    static char out[4096];
    char *names[64];
    int n = 0;
    DIR *d = opendir(tmpdir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%s", i ? " " : "", names[i]);
        free(names[i]);
    }
    return out;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* numpy's linear quantile on a sorted copy: the reference. */
static double ref_quantile(const double *sorted, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

static void assert_close(double a, double b)
{
    ck_assert_msg(fabs(a - b) <= 1e-12 * fmax(1, fmax(fabs(a), fabs(b))), "%.17g != %.17g", a, b);
}

START_TEST(test_stats_known_values)
{
    double v[] = {4, 1, 3, 2};
    struct num_stats st;
    stats_numeric(v, 4, &st);
    ck_assert(st.q1 == 1.75 && st.median == 2.5 && st.q3 == 3.25 && st.mean == 2.5);
    ck_assert(st.min == 1 && st.max == 4);
    ck_assert(st.q1_below == 1 && st.q3_above == 4); /* h 0.75 and 2.25 */
    double z[] = {0.0, -0.0, NAN, 1, 0, 2};
    ck_assert_uint_eq(stats_distinct_upto(z, 6, 10), 3);
    ck_assert_uint_eq(stats_distinct_upto(z, 6, 2), 2);
    double one[] = {7.5};
    stats_numeric(one, 1, &st);
    ck_assert(st.q1 == 7.5 && st.median == 7.5 && st.q3 == 7.5);
    double nanv[] = {NAN, 5, NAN, 5, 5, NAN};
    ck_assert_int_eq(stats_numeric_skipnan(nanv, 6, &st), 0);
    ck_assert_uint_eq(st.n, 3);
    ck_assert(st.q1 == 5 && st.q3 == 5 && st.median == 5);
    double none[] = {NAN, NAN};
    ck_assert_int_eq(stats_numeric_skipnan(none, 2, &st), 0);
    ck_assert_uint_eq(st.n, 0);
    ck_assert(isnan(st.median) && isnan(st.q1));
}
END_TEST

/* Random columns with ties, negatives, NaNs: both selection paths equal the sort. */
START_TEST(test_stats_match_sorted_reference)
{
    uint64_t s = 42;
    for (int round = 0; round < 60; round++) {
        size_t n = 1 + (size_t)(round * round * 37 % 50000);
        double *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w), *sorted = malloc(n * sizeof *v);
        size_t m = 0;
        double sum = 0;
        for (size_t i = 0; i < n; i++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            int kind = round % 4;
            double x = kind == 0   ? (double)(s % 7)                       /* heavy ties */
                       : kind == 1 ? ((double)(s % 2000001) - 1e6) / 1000.0 /* negatives */
                       : kind == 2 ? exp((double)(s % 1000) / 50.0)         /* wide range */
                                   : 3.25;                                  /* constant */
            if (s % 11 == 0)
                x = NAN;
            v[i] = x;
            if (!isnan(x)) {
                sorted[m] = x;
                w[m++] = x;
                sum += x;
            }
        }
        struct num_stats a, b;
        ck_assert_int_eq(stats_numeric_skipnan(v, n, &a), 0);
        stats_numeric(w, m, &b);
        if (m == 0)
            continue;
        qsort(sorted, m, sizeof *sorted, cmp_d);
        double med = m % 2 ? sorted[m / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2;
        ck_assert_uint_eq(a.n, m);
        assert_close(a.q1, ref_quantile(sorted, m, 0.25));
        assert_close(a.q3, ref_quantile(sorted, m, 0.75));
        assert_close(a.median, med);
        assert_close(a.mean, sum / (double)m);
        ck_assert(a.min == sorted[0] && a.max == sorted[m - 1]);
        ck_assert(a.q1 == b.q1 && a.q3 == b.q3 && a.median == b.median);
        /* the values the quartiles are interpolated from, farthest out */
        double h1 = (double)(m - 1) * 0.25, h3 = (double)(m - 1) * 0.75;
        ck_assert(a.q1_below == sorted[(size_t)floor(h1)]);
        ck_assert(a.q3_above == sorted[(size_t)ceil(h3)]);
        ck_assert(b.q1_below == a.q1_below && b.q3_above == a.q3_above);
        size_t d = 1;
        for (size_t i = 1; i < m; i++)
            d += sorted[i] != sorted[i - 1];
        ck_assert_uint_eq(stats_distinct_upto(v, n, 10), d < 10 ? d : 10);
        free(v);
        free(w);
        free(sorted);
    }
}
END_TEST

START_TEST(test_mode_ties_first_seen)
{
    double v[] = {3, 1, NAN, 1, 3, 2, -0.0, 0.0};
    double m;
    ck_assert_int_eq(mode_of_doubles(v, 8, &m), 0);
    ck_assert(m == 3);
    double z[] = {NAN};
    ck_assert_int_eq(mode_of_doubles(z, 1, &m), SH_ENOTFOUND);
    struct modecount *mc = modecount_new();
    ck_assert_ptr_nonnull(mc);
    const char *words[] = {"b", "a", "a", "b", "c"};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(modecount_add(mc, words[i], 1), 0);
    for (int i = 0; i < 1000; i++) {
        char w[16];
        int n = snprintf(w, sizeof w, "w%d", i);
        ck_assert_int_eq(modecount_add(mc, w, (size_t)n), 0);
    }
    const char *best;
    size_t len, count;
    ck_assert(modecount_mode(mc, &best, &len, &count));
    ck_assert_str_eq(best, "b");
    ck_assert_uint_eq(count, 2);
    ck_assert_uint_eq(modecount_distinct(mc), 1003);
    modecount_free(mc);
}
END_TEST

static const char DIRTY[] = "id,price,city,score\r\n"
                            "1,10.0,\"Paris, FR\",1.50\r\n"
                            "2,,Lyon,2\r\n"
                            "3,12,\"Paris, FR\",NA\r\n"
                            "4,11,,3\r\n"
                            "5,1000,Lyon,2.5\r\n"
                            "6,13,Lyon,4\r\n"
                            "7,14,Nice,5\r\n"
                            "8,15,Lyon,6\r\n"
                            "9,16,Nice,7\r\n"
                            "10,17,Lyon,8\r\n"
                            "11,18,Nice,9\r\n"
                            "12,9,Lyon,10\r\n";

static struct datafix_options opts(void)
{
    struct datafix_options o;
    datafix_options_default(&o);
    o.iqr_multiplier = 1.5;
    o.now_ms = 1767225600000; /* 2026-01-01T00:00:00Z */
    return o;
}

START_TEST(test_fix_exact_bytes)
{
    put_file(path, DIRTY, sizeof DIRTY - 1);
    struct datafix_options o = opts();
    struct datafix_report rep;
    char *err = NULL;
    ck_assert_int_eq(datafix_run(path, &o, &rep, &err), 0);
    ck_assert_ptr_null(err);
    char *got = get_file(path, NULL);
    /* price: median 14 of the original values; Q1, Q3 of the imputed column
     * (9 10 11 12 13 14 14 15 16 17 18 1000) 11.75 and 16.25, so 1000 → 23
     * (the original values alone would give Q1 11.5, Q3 16.5, 24) */
    ck_assert_str_eq(got, "id,price,city,score\r\n"
                          "1,10.0,\"Paris, FR\",1.50\r\n"
                          "2,14,Lyon,2\r\n"
                          "3,12,\"Paris, FR\",5\r\n"
                          "4,11,Lyon,3\r\n"
                          "5,23,Lyon,2.5\r\n"
                          "6,13,Lyon,4\r\n"
                          "7,14,Nice,5\r\n"
                          "8,15,Lyon,6\r\n"
                          "9,16,Nice,7\r\n"
                          "10,17,Lyon,8\r\n"
                          "11,18,Nice,9\r\n"
                          "12,9,Lyon,10\r\n");
    free(got);
    ck_assert(rep.written && !rep.refused);
    ck_assert_uint_eq(rep.rows, 12);
    ck_assert_uint_eq(rep.cells_changed, 4);
    ck_assert_uint_eq(rep.cols[1].filled, 1);
    ck_assert_uint_eq(rep.cols[1].capped, 1);
    ck_assert(rep.cols[1].stats.q1 == 11.5 && rep.cols[1].stats.q3 == 16.5);
    ck_assert(rep.cols[1].q1 == 11.75 && rep.cols[1].q3 == 16.25);
    ck_assert(rep.cols[1].lower == 5 && rep.cols[1].upper == 23);
    ck_assert(rep.cols[1].fill_num == 14);
    ck_assert(!rep.cols[2].numeric);
    ck_assert_str_eq(rep.cols[2].fill_text, "Lyon");
    ck_assert_uint_eq(rep.cols[3].filled, 1);
    /* the backup is the original, named by the injected time */
    char want[600];
    snprintf(want, sizeof want, "%s.bak.20260101T000000Z", path);
    char *real = realpath(tmpdir, NULL);
    char want_real[600];
    snprintf(want_real, sizeof want_real, "%s/data.csv.bak.20260101T000000Z", real);
    free(real);
    ck_assert_str_eq(rep.backup, want_real);
    size_t blen;
    char *bak = get_file(want, &blen);
    ck_assert_uint_eq(blen, sizeof DIRTY - 1);
    ck_assert(memcmp(bak, DIRTY, blen) == 0);
    free(bak);
    ck_assert_str_eq(listing(), "data.csv data.csv.bak.20260101T000000Z");
    cJSON *j = datafix_report_json(&rep);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "columnReports")), 4);
    cJSON_Delete(j);
    datafix_report_free(&rep);
}
END_TEST

static void assert_refused_unchanged(const char *content, size_t len, const char *want_suffix)
{
    put_file(path, content, len);
    struct datafix_options o = opts();
    o.max_fixed_fraction = 1;
    struct datafix_report rep;
    char *err = NULL;
    int k = datafix_run(path, &o, &rep, &err);
    ck_assert_msg(k == SH_EPARSE, "got %d for %s", k, want_suffix);
    char want[700];
    snprintf(want, sizeof want, "%s%s", path, want_suffix);
    ck_assert_str_eq(err, want);
    free(err);
    size_t glen;
    char *got = get_file(path, &glen);
    ck_assert_uint_eq(glen, len);
    ck_assert(memcmp(got, content, len) == 0);
    free(got);
    ck_assert_str_eq(listing(), "data.csv");
    ck_assert(!rep.written);
    ck_assert_ptr_null(rep.backup);
    datafix_report_free(&rep);
}

START_TEST(test_broken_refused_untouched)
{
    assert_refused_unchanged("", 0, ":1: empty file");
    assert_refused_unchanged("\n1,2\n", 5, ":1: no header (the first line is empty)");
    assert_refused_unchanged("a,b\n1,\n2,3,4\n", 13, ":3: wrong number of fields: expected 2, got 3");
    assert_refused_unchanged("a,b\n1,\n\"2\n", 10, ":3: unterminated quoted field");
    assert_refused_unchanged("a,b\n1,\n2,\0003\n", 11, ":3: NUL byte");
    assert_refused_unchanged("a,\"b\"c\n1,\n", 10, ":1: unexpected character after a closing quote");
}
END_TEST

START_TEST(test_too_dirty_refused)
{
    const char data[] = "a,b\n1,x\n,y\n,z\n4,w\n";
    put_file(path, data, sizeof data - 1);
    struct datafix_options o = opts();
    o.max_fixed_fraction = 0.2; /* 2 of 8 cells = 0.25 */
    struct datafix_report rep;
    char *err = NULL;
    ck_assert_int_eq(datafix_run(path, &o, &rep, &err), SH_EREFUSED);
    ck_assert(rep.refused && !rep.written);
    ck_assert_uint_eq(rep.cells_changed, 2);
    char want[600];
    snprintf(want, sizeof want,
             "%s: 2 of 8 cells (25.0%%) would change, more than maxFixedFraction 0.2; nothing changed",
             path);
    ck_assert_str_eq(err, want);
    free(err);
    err = NULL;
    char *got = get_file(path, NULL);
    ck_assert_str_eq(got, data);
    free(got);
    ck_assert_str_eq(listing(), "data.csv");
    datafix_report_free(&rep);
    /* exactly at the limit is allowed */
    o.max_fixed_fraction = 0.25;
    ck_assert_int_eq(datafix_run(path, &o, &rep, &err), 0);
    ck_assert(rep.written);
    datafix_report_free(&rep);
    got = get_file(path, NULL);
    ck_assert_str_eq(got, "a,b\n1,x\n2.5,y\n2.5,z\n4,w\n");
    free(got);
}
END_TEST

START_TEST(test_dry_run_and_clean)
{
    put_file(path, DIRTY, sizeof DIRTY - 1);
    struct datafix_options o = opts();
    o.dry_run = true;
    struct datafix_report rep;
    char *err = NULL;
    ck_assert_int_eq(datafix_run(path, &o, &rep, &err), 0);
    ck_assert_uint_eq(rep.cells_changed, 4);
    ck_assert(!rep.written);
    datafix_report_free(&rep);
    ck_assert_str_eq(listing(), "data.csv");
    /* clean, one-row, header-only and all-missing-column files are left alone */
    const char *clean[] = {"a,b\n1,2\n3,4\n", "a,b\n1,x\n", "a,b\n", "a,b\n1,\n2,\n",
                           "a,b\r\n\"1\",\"x\"\r\n\r\n2,y"};
    o.dry_run = false;
    for (size_t i = 0; i < sizeof clean / sizeof clean[0]; i++) {
        put_file(path, clean[i], strlen(clean[i]));
        ck_assert_int_eq(datafix_run(path, &o, &rep, &err), 0);
        ck_assert_msg(rep.cells_changed == 0 && !rep.written, "case %zu", i);
        datafix_report_free(&rep);
        char *got = get_file(path, NULL);
        ck_assert_str_eq(got, clean[i]);
        free(got);
        ck_assert_str_eq(listing(), "data.csv");
    }
}
END_TEST

static char *fix_with(const char *data, struct datafix_options *o)
{
    put_file(path, data, strlen(data));
    struct datafix_report rep;
    char *err = NULL;
    ck_assert_int_eq(datafix_run(path, o, &rep, &err), 0);
    free(err);
    datafix_report_free(&rep);
    return get_file(path, NULL);
}

/* The shortest %.Ng text of v, computed here independently. */
static void shortest(double v, char *buf, size_t size)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, size, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

START_TEST(test_strategies)
{
    struct datafix_options o = opts();
    o.max_fixed_fraction = 1;
    o.backup_keep = 0;
    o.missing = MISSING_MEAN;
    char *got = fix_with("x,t\n1,a\n,\n2,b\n6,b\n", &o);
    ck_assert_str_eq(got, "x,t\n1,a\n3,b\n2,b\n6,b\n");
    free(got);
    o.missing = MISSING_MODE;
    got = fix_with("x\n3\n1\n\n1\n3\n2\n", &o);
    ck_assert_str_eq(got, "x\n3\n1\n\n1\n3\n2\n"); /* a blank line is not a row */
    free(got);
    got = fix_with("x,y\n3,\n1,1\n1,1\n3,1\nNA,1\n", &o);
    ck_assert_str_eq(got, "x,y\n3,1\n1,1\n1,1\n3,1\n3,1\n"); /* tie 3/1: 3 was first */
    free(got);
    o.missing = MISSING_DROP_ROW;
    got = fix_with("x,t\n1,a\n,b\n2,\n4,c", &o);
    ck_assert_str_eq(got, "x,t\n1,a\n4,c");
    free(got);
    /* outliers: drop their rows, or leave them */
    o.missing = MISSING_MEDIAN;
    o.outliers = OUTLIER_DROP_ROW;
    got = fix_with("x\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n100\n", &o);
    ck_assert_str_eq(got, "x\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n");
    free(got);
    o.outliers = OUTLIER_NONE;
    got = fix_with("x,y\n1,\n2,1\n3,1\n4,1\n100,1\n", &o);
    ck_assert_str_eq(got, "x,y\n1,1\n2,1\n3,1\n4,1\n100,1\n");
    free(got);
    /* capping both ends, written as the shortest round-trip text */
    o.outliers = OUTLIER_CAP;
    o.iqr_multiplier = 0.1;
    got = fix_with("x\n-9\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n50\n", &o);
    /* 13 values: q1 = the 4th (3), q3 = the 10th (9) */
    double lo = 3 - 0.1 * (9 - 3), hi = 9 + 0.1 * (9 - 3);
    char ls[40], hs[40], want[200];
    shortest(lo, ls, sizeof ls);
    shortest(hi, hs, sizeof hs);
    snprintf(want, sizeof want, "x\n%s\n%s\n%s\n3\n4\n5\n6\n7\n8\n9\n%s\n%s\n%s\n", ls, ls, ls, hs,
             hs, hs);
    ck_assert_str_eq(got, want);
    free(got);
    /* custom missing tokens: "-" is missing, "NA" is a text value */
    o.iqr_multiplier = 3;
    const char *tok[] = {"-"};
    o.missing_tokens = tok;
    o.ntokens = 1;
    got = fix_with("x,t\n1,NA\n-,NA\n3,b\n", &o);
    ck_assert_str_eq(got, "x,t\n1,NA\n2,NA\n3,b\n");
    free(got);
}
END_TEST

/* Fixes path with o (max_fixed_fraction 1, no backup); *ret_rep kept when asked. */
static void fix_path(struct datafix_options *o, struct datafix_report *ret_rep)
{
    struct datafix_report rep;
    char *err = NULL;
    int k = datafix_run(path, o, &rep, &err);
    ck_assert_msg(k == 0, "datafix_run: %d %s", k, err ? err : "");
    free(err);
    if (ret_rep)
        *ret_rep = rep;
    else
        datafix_report_free(&rep);
}

static size_t col_index(const struct datafix_report *rep, const char *name)
{
    for (size_t c = 0; c < rep->ncols; c++)
        if (strcmp(rep->cols[c].name, name) == 0)
            return c;
    ck_abort_msg("no column %s", name);
    return 0;
}

/* Issue 21: a 0/1 flag with 10% ones and a sparse count have Q1 = Q3: the
 * bounds would be [0, 0] and every minority value "capped" to 0. */
START_TEST(test_iqr_zero_not_capped)
{
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    len += (size_t)snprintf(buf + len, cap - len, "id,flag,count\n");
    for (int i = 0; i < 1000; i++) {
        const char *flag = i == 5 ? "" : i % 10 == 0 ? "1" : "0";
        int count = i % 25 == 0 ? i / 25 : 0;
        len += (size_t)snprintf(buf + len, cap - len, "%d,%s,%d\n", i, flag, count);
    }
    put_file(path, buf, len);
    struct datafix_options o = opts();
    o.iqr_multiplier = 3;
    struct datafix_report rep;
    fix_path(&o, &rep);
    ck_assert(rep.written);
    ck_assert_uint_eq(rep.cells_changed, 1); /* the missing flag, filled with 0 */
    size_t fc = col_index(&rep, "flag"), cc = col_index(&rep, "count");
    ck_assert_uint_eq(rep.cols[fc].outliers, 0);
    ck_assert_uint_eq(rep.cols[fc].capped, 0);
    ck_assert(!rep.cols[fc].has_bounds);
    ck_assert_str_eq(rep.cols[fc].capping_skipped, "IQR is 0");
    ck_assert_uint_eq(rep.cols[cc].capped, 0);
    ck_assert_str_eq(rep.cols[cc].capping_skipped, "IQR is 0");
    ck_assert_ptr_null(rep.cols[col_index(&rep, "id")].capping_skipped);
    cJSON *j = datafix_report_json(&rep);
    cJSON *fj = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "columnReports"), (int)fc);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(fj, "cappingSkipped")), "IQR is 0");
    cJSON_Delete(j);
    datafix_report_free(&rep);
    /* the file is the original but for the one filled cell */
    char *want = malloc(len + 2);
    ck_assert_ptr_nonnull(want);
    memcpy(want, buf, len + 1);
    char *row5 = strstr(want, "\n5,,0\n");
    ck_assert_ptr_nonnull(row5);
    memmove(row5 + 4, row5 + 3, strlen(row5 + 3) + 1);
    row5[3] = '0';
    char *got = get_file(path, NULL);
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
    free(buf);
}
END_TEST

/* Fewer than DATAFIX_MIN_DISTINCT distinct values: categories, not capped;
 * exactly DATAFIX_MIN_DISTINCT: capped. */
START_TEST(test_few_distinct_not_capped)
{
    ck_assert_int_eq(DATAFIX_MIN_DISTINCT, 10);
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    len += (size_t)snprintf(buf + len, cap - len, "stars,code\n");
    for (int i = 0; i < 200; i++) /* stars 1..5 and a 40; code 1..9 and a 100 */
        len += (size_t)snprintf(buf + len, cap - len, "%d,%d\n", i % 50 == 7 ? 40 : i % 5 + 1,
                                i % 50 == 7 ? 100 : i % 9 + 1);
    put_file(path, buf, len);
    struct datafix_options o = opts();
    o.iqr_multiplier = 3;
    o.dry_run = true;
    struct datafix_report rep;
    fix_path(&o, &rep);
    ck_assert_uint_eq(rep.cols[0].outliers, 0);
    ck_assert_str_eq(rep.cols[0].capping_skipped, "fewer than 10 distinct values");
    ck_assert_ptr_null(rep.cols[1].capping_skipped);
    ck_assert_uint_eq(rep.cols[1].outliers, 4);
    ck_assert_uint_eq(rep.cells_changed, 4);
    datafix_report_free(&rep);
    free(buf);
}
END_TEST

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

/* A dirty file of `rows` rows: lognormal-ish prices with far outliers, a
 * tie-heavy column (half one value, a distinct tail below: the bound would
 * cut into the values Q1 is interpolated from when k < 3), small integers
 * with a tail, a flag, a text column; missing cells everywhere. */
static char *dirty_file(uint64_t seed, int rows, size_t *ret_len)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    size_t cap = (size_t)rows * 96 + 128, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    len += (size_t)snprintf(buf + len, cap - len, "price,ties,rooms,flag,city,score\n");
    const char *cities[] = {"Lyon", "\"Paris, FR\"", "Nice"};
    for (int i = 0; i < rows; i++) {
        char f[6][40];
        double price = exp(12 + 0.5 * (rng_unit(&s) + rng_unit(&s) + rng_unit(&s) - 1.5));
        if (rng_unit(&s) < 0.02)
            price *= rng_unit(&s) < 0.5 ? 40 : -30;
        snprintf(f[0], sizeof f[0], "%.2f", price);
        double u = rng_unit(&s);
        snprintf(f[1], sizeof f[1], "%d", u < 0.55 ? 100 : u < 0.98 ? (int)(u * 60) : 1000 + i);
        snprintf(f[2], sizeof f[2], "%d", rng_unit(&s) < 0.01 ? 250 : 1 + (int)(rng_unit(&s) * 14));
        snprintf(f[3], sizeof f[3], "%d", rng_unit(&s) < 0.1);
        snprintf(f[4], sizeof f[4], "%s", cities[rng_next(&s) % 3]);
        snprintf(f[5], sizeof f[5], "%.17g", rng_unit(&s) * 10 - 5 + (rng_unit(&s) < 0.01 ? 1e3 : 0));
        for (int c = 0; c < 6; c++)
            if (rng_unit(&s) < 0.05)
                f[c][0] = '\0';
        len += (size_t)snprintf(buf + len, cap - len, "%s,%s,%s,%s,%s,%s\n", f[0], f[1], f[2], f[3],
                                f[4], f[5]);
    }
    *ret_len = len;
    return buf;
}

/* Issue 21: a fix run again on its own output changes nothing, for every
 * strategy and action, with ties, at k below, at and above 3. */
START_TEST(test_second_fix_changes_nothing)
{
    const enum missing_strategy ms[] = {MISSING_MEDIAN, MISSING_MEAN, MISSING_MODE,
                                        MISSING_DROP_ROW};
    const enum outlier_action oa[] = {OUTLIER_CAP, OUTLIER_DROP_ROW, OUTLIER_NONE};
    const double ks[] = {0.5, 1.5, 3};
    int runs = 0;
    for (uint64_t seed = 1; seed <= 3; seed++)
        for (size_t a = 0; a < 4; a++)
            for (size_t b = 0; b < 3; b++)
                for (size_t c = 0; c < 3; c++) {
                    size_t len;
                    char *data = dirty_file(seed * 100 + a * 10 + b * 3 + c, 400 + (int)seed * 37, &len);
                    put_file(path, data, len);
                    free(data);
                    struct datafix_options o = opts();
                    o.missing = ms[a];
                    o.outliers = oa[b];
                    o.iqr_multiplier = ks[c];
                    o.max_fixed_fraction = 1;
                    o.backup_keep = 0;
                    struct datafix_report rep;
                    fix_path(&o, &rep);
                    ck_assert(rep.written);
                    datafix_report_free(&rep);
                    size_t l1, l2;
                    char *first = get_file(path, &l1);
                    fix_path(&o, &rep);
                    char *second = get_file(path, &l2);
                    ck_assert_msg(rep.cells_changed == 0 && !rep.written,
                                  "seed %d missing %zu outliers %zu k %g: the second fix changes %zu cells",
                                  (int)seed, a, b, ks[c], rep.cells_changed);
                    ck_assert(l1 == l2 && memcmp(first, second, l1) == 0);
                    datafix_report_free(&rep);
                    free(first);
                    free(second);
                    runs++;
                }
    ck_assert_int_eq(runs, 108);
}
END_TEST

/* Ties: 12 distinct low values then 36 equal ones (n 48, Q1 interpolated
 * between the 12th value and the tie, 3/4 of the way): with k 1.5,
 * Q1 − k·IQR = 45 lies above the 12th value, and capping to it would move Q1
 * on every run. The bound stops at that value (12): the values below are
 * capped to it, and the quartiles, the bounds and the file stay put. */
START_TEST(test_ties_bound_stops_at_quartile_values)
{
    char buf[1024];
    size_t len = (size_t)snprintf(buf, sizeof buf, "x\n");
    for (int i = 1; i <= 48; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%d\n", i <= 12 ? i : 100);
    put_file(path, buf, len);
    struct datafix_options o = opts();
    o.iqr_multiplier = 1.5;
    o.max_fixed_fraction = 1;
    struct datafix_report rep, again;
    fix_path(&o, &rep);
    fix_path(&o, &again);
    ck_assert_uint_eq(again.cells_changed, 0);
    datafix_report_free(&again);
    ck_assert(rep.cols[0].q1 == 78 && rep.cols[0].q3 == 100);
    ck_assert(rep.cols[0].lower == 12 && rep.cols[0].upper == 133);
    ck_assert_uint_eq(rep.cols[0].capped, 11);
    datafix_report_free(&rep);
    char *got = get_file(path, NULL);
    for (int i = 0; i < 12; i++)
        ck_assert(strncmp(got + 2 + 3 * (size_t)i, "12\n", 3) == 0);
    free(got);
}
END_TEST

/* The mean fill lies far outside the bounds of the imputed column: the filled
 * cells are written clipped (fillna, then clip), and stay so. */
START_TEST(test_fill_outside_bounds_clipped)
{
    char buf[1024];
    size_t len = (size_t)snprintf(buf, sizeof buf, "x\n");
    for (int i = 1; i <= 20; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%d\n", i);
    len += (size_t)snprintf(buf + len, sizeof buf - len, "100000\nNA\n");
    put_file(path, buf, len);
    struct datafix_options o = opts();
    o.missing = MISSING_MEAN;
    o.iqr_multiplier = 3;
    o.max_fixed_fraction = 1;
    struct datafix_report rep, again;
    fix_path(&o, &rep);
    char *got = get_file(path, NULL);
    fix_path(&o, &again);
    ck_assert_uint_eq(again.cells_changed, 0);
    datafix_report_free(&again);
    /* mean (210 + 100000) / 21 ≈ 4771.9; imputed: 1..20, the mean, 100000:
     * q1 6.25, q3 16.75, upper 16.75 + 3 · 10.5 */
    ck_assert(rep.cols[0].q1 == 6.25 && rep.cols[0].q3 == 16.75);
    ck_assert(rep.cols[0].upper == 48.25);
    ck_assert(rep.cols[0].fill_num == 48.25);
    ck_assert_uint_eq(rep.cols[0].filled, 1);
    ck_assert_uint_eq(rep.cols[0].capped, 1);
    datafix_report_free(&rep);
    ck_assert_ptr_nonnull(strstr(got, "\n20\n48.25\n48.25\n"));
    free(got);
}
END_TEST

/* Writes content and fixes it at now_ms keeping `keep` backups. */
static void fix_at(int64_t now_ms, int keep, const char *content)
{
    put_file(path, content, strlen(content));
    struct datafix_options o = opts();
    o.now_ms = now_ms;
    o.backup_keep = keep;
    o.max_fixed_fraction = 1;
    struct datafix_report rep;
    char *err = NULL;
    ck_assert_int_eq(datafix_run(path, &o, &rep, &err), 0);
    ck_assert(rep.written);
    datafix_report_free(&rep);
}

START_TEST(test_backups_kept_newest)
{
    const int64_t t0 = 1767225600000; /* 2026-01-01T00:00:00Z */
    fix_at(t0, 2, "x\n1\nNA\n3\n");
    fix_at(t0 + 61000, 2, "x\n1\nNA\n5\n");
    fix_at(t0 + 61000, 2, "x\n2\nNA\n6\n"); /* the same second: a "-1" name */
    ck_assert_str_eq(listing(),
                     "data.csv data.csv.bak.20260101T000101Z data.csv.bak.20260101T000101Z-1");
    fix_at(t0 + 3600000, 2, "x\n7\nNA\n9\n");
    ck_assert_str_eq(listing(),
                     "data.csv data.csv.bak.20260101T000101Z-1 data.csv.bak.20260101T010000Z");
    char b[600];
    snprintf(b, sizeof b, "%s.bak.20260101T010000Z", path);
    char *got = get_file(b, NULL);
    ck_assert_str_eq(got, "x\n7\nNA\n9\n");
    free(got);
    snprintf(b, sizeof b, "%s.bak.20260101T000101Z-1", path);
    got = get_file(b, NULL);
    ck_assert_str_eq(got, "x\n2\nNA\n6\n");
    free(got);
    got = get_file(path, NULL);
    ck_assert_str_eq(got, "x\n7\n8\n9\n");
    free(got);
    /* pruning directly: keep 0 removes every backup */
    ck_assert_int_eq(data_backup_prune(path, 0), 2);
    ck_assert_str_eq(listing(), "data.csv");
}
END_TEST

START_TEST(test_stale_temporary_cleaned)
{
    char stale[600];
    /* a pid that cannot exist */
    snprintf(stale, sizeof stale, "%s/.data.csv.fixtmp.2147483646", tmpdir);
    put_file(stale, "half", 4);
    fix_at(1767225600000, 1, "x\n1\nNA\n3\n");
    ck_assert_str_eq(listing(), "data.csv data.csv.bak.20260101T000000Z");
}
END_TEST

/* In a child (the limit is per process): 0 when the fix failed as it should. */
static int fix_over_fsize_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 10;
    rl.rlim_cur = 64; /* the fixed file (about 100 bytes) does not fit */
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 11;
    struct datafix_options o = opts();
    struct datafix_report rep;
    char *err = NULL;
    int k = datafix_run(path, &o, &rep, &err);
    char want[600];
    snprintf(want, sizeof want, "%s: cannot write the fixed file: File too large", path);
    int rc = k != SH_EIO ? 12 : !err || !strstr(err, want) ? 13 : 0;
    if (rc)
        fprintf(stderr, "datafix_run: %d %s\n", k, err ? err : "(no message)");
    free(err);
    datafix_report_free(&rep);
    size_t len;
    char *now = get_file(path, &len);
    if (!rc && (len != sizeof DIRTY - 1 || memcmp(now, DIRTY, len) != 0))
        rc = 14;
    free(now);
    if (!rc && strcmp(listing(), "data.csv") != 0) {
        fprintf(stderr, "left: %s\n", listing());
        rc = 15;
    }
    return rc;
}

START_TEST(test_file_size_limit_fails_cleanly)
{
    put_file(path, DIRTY, sizeof DIRTY - 1);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(fix_over_fsize_limit());
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(!WIFSIGNALED(st), "killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

START_TEST(test_keeps_file_mode)
{
    put_file(path, "x\n1\nNA\n3\n", 9);
    ck_assert_int_eq(chmod(path, 0640), 0);
    struct datafix_options o = opts();
    o.max_fixed_fraction = 1;
    struct datafix_report rep;
    char *err = NULL;
    ck_assert_int_eq(datafix_run(path, &o, &rep, &err), 0);
    ck_assert(rep.written);
    datafix_report_free(&rep);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
}
END_TEST

/* A housing-like file of n rows (the same for the same arguments): 5%
 * missing numbers, 1% of column a times 50, blank lines; a quoted text cell at row
 * `quoted` (0: none) sends the fix to the one-thread reader; a text in the
 * numeric column b at row `late` (0: none) turns it to text past the first
 * lines. */
static char *gen_rows(size_t n, size_t quoted, size_t late, size_t *len)
{
    static const char *const towns[] = {"NEAR BAY", "INLAND", "ISLAND", "NEAR OCEAN", "<1H OCEAN"};
    uint64_t x = 88172645463325252ull;
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    ck_assert_ptr_nonnull(f);
    fputs("a,b,c,town,d\n", f);
    for (size_t r = 1; r <= n; r++) {
        uint64_t u[6];
        for (int i = 0; i < 6; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            u[i] = x;
        }
        if (u[5] % 997 == 0)
            fputs(u[5] % 2 ? "\n" : "\r\n", f); /* blank lines: kept, not rows */
        double a = (double)(u[0] % 100000) / 100.0 - 500.0;
        if (u[0] % 100 == 0)
            a *= 50;
        if (u[0] % 20 == 1)
            fputs("", f);
        else
            fprintf(f, "%.2f", a);
        if (late && r == late)
            fputs(",n/a", f);
        else if (u[1] % 20 == 1)
            fputs(",NA", f);
        else
            fprintf(f, ",%d", (int)(u[1] % 5000));
        if (u[2] % 20 == 1)
            fputs(",", f);
        else
            fprintf(f, ",%.6f", (double)(u[2] % 10000000) / 1e6);
        if (quoted && r == quoted)
            fprintf(f, ",\"%s\"", towns[u[3] % 5]);
        else
            fprintf(f, ",%s", u[3] % 100 == 1 ? "" : towns[u[3] % 5]);
        fprintf(f, ",%d\n", (int)(u[4] % 13) - 6);
    }
    fclose(f);
    return buf;
}

/* fix-data on data: its return code, report (JSON text) and the file after. */
static void fix_bytes(const char *data, size_t len, const struct datafix_options *o, int *rc,
                      char **json, char **out, size_t *olen)
{
    put_file(path, data, len);
    struct datafix_report rep;
    char *err = NULL;
    *rc = datafix_run(path, o, &rep, &err);
    free(err);
    cJSON *j = datafix_report_json(&rep);
    ck_assert_ptr_nonnull(j);
    *json = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    datafix_report_free(&rep);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    *out = NULL;
    FILE *m = open_memstream(out, olen);
    char b[65536];
    size_t k;
    while ((k = fread(b, 1, sizeof b, f)) > 0)
        fwrite(b, 1, k, m);
    fclose(f);
    fclose(m);
}

START_TEST(test_two_threads_as_one)
{
    size_t n = 60000; /* ~2.3 MB: several blocks for each worker */
    for (int late = 0; late < 2; late++) {
        size_t la, lb;
        char *a = gen_rows(n, 0, late ? n / 2 : 0, &la);
        char *b = gen_rows(n, n - 5, late ? n / 2 : 0, &lb);
        ck_assert_uint_eq(lb, la + 2);
        for (int v = 0; v < 5; v++) {
            struct datafix_options o = opts();
            o.backup_keep = 0;
            o.missing = v == 1 ? MISSING_MEAN : MISSING_MEDIAN;
            o.outliers = v == 2 ? OUTLIER_NONE : OUTLIER_CAP;
            o.dry_run = v == 3;
            o.max_fixed_fraction = v == 4 ? 0.01 : 0.2;
            int ra, rb;
            char *ja, *jb, *oa, *ob;
            size_t ola, olb;
            fix_bytes(a, la, &o, &ra, &ja, &oa, &ola);
            fix_bytes(b, lb, &o, &rb, &jb, &ob, &olb);
            ck_assert_int_eq(ra, v == 4 ? SH_EREFUSED : 0);
            ck_assert_int_eq(rb, ra);
            ck_assert_msg(strcmp(ja, jb) == 0, "late %d variant %d: reports differ:\n%s\n%s", late, v, ja, jb);
            /* the quoted cell is kept as it was: its quotes are the only difference */
            size_t w = 0;
            for (size_t i = 0; i < olb; i++)
                if (ob[i] != '"')
                    ob[w++] = ob[i];
            ck_assert_uint_eq(w, ola);
            ck_assert_msg(memcmp(oa, ob, ola) == 0, "late %d variant %d: the files differ", late, v);
            ck_assert(strstr(ja, v < 3 ? "\"written\":true" : "\"written\":false"));
            free(ja);
            free(jb);
            free(oa);
            free(ob);
        }
        free(a);
        free(b);
    }
}
END_TEST

START_TEST(test_parse_padded_as_parse)
{
    static const char alpha[] = "0123456789.-+eE x";
    uint64_t x = 0x9E3779B97F4A7C15ull;
    char buf[40];
    for (int i = 0; i < 2000000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t len = (size_t)(x % 20);
        for (size_t j = 0; j < len; j++) { /* mostly digits, some dots and signs */
            uint64_t r = (x >> (3 * j + 5)) % 64;
            buf[j] = r < 40 ? (char)('0' + r % 10) : alpha[r % (sizeof alpha - 1)];
        }
        memset(buf + len, (int)(x >> 60) * 3 + '0', 16); /* padding: not part of the text */
        double a = 0, b = 0;
        bool ka = num_parse(buf, len, &a), kb = num_parse_padded(buf, len, &b);
        ck_assert_msg(ka == kb && (!ka || memcmp(&a, &b, sizeof a) == 0), "'%.*s': %d %.17g vs %d %.17g",
                      (int)len, buf, ka, a, kb, b);
    }
}
END_TEST

/* The side parse-then-compare tells (numtext.h: x < lo first, then x > hi). */
static enum num_side side_parsed(double x, double lo, double hi)
{
    return x < lo ? NUM_BELOW : x > hi ? NUM_ABOVE : NUM_INSIDE;
}

/* num_side_padded on s[0..len) against [lo, hi] is parse-then-compare's
 * answer, or NUM_UNSURE; always NUM_UNSURE for a text that is no number. */
static bool side_ok(const char *s, size_t len, double lo, double hi, size_t *decided)
{
    char buf[64];
    memcpy(buf, s, len);
    memset(buf + len, '7', 16); /* padding: digits, not part of the text */
    double x;
    bool num = num_parse(buf, len, &x);
    enum num_side got = num_side_padded(buf, len, lo, hi);
    *decided += got != NUM_UNSURE;
    if (got == NUM_UNSURE)
        return true;
    return num && got == side_parsed(x, lo, hi);
}

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Bounds near x (or anywhere): x itself, a ulp off, its integer
 * neighbours, its tenths, random ones, infinite, NaN, -0, lo > hi. */
static double bound_near(double x, uint64_t r)
{
    double fl = floor(x);
    switch (r % 14) {
    case 0: return x;
    case 1: return nextafter(x, INFINITY);
    case 2: return nextafter(x, -INFINITY);
    case 3: return fl;
    case 4: return fl + 1;
    case 5: return fl - 1;
    case 6: return nextafter(fl + 1, -INFINITY);
    case 7: return nextafter(fl, INFINITY);
    case 8: return floor(x * 10) / 10;
    case 9: return (double)(int64_t)(r >> 20) / 1e6 - 4e6;
    case 10: return (r >> 8) % 2 ? INFINITY : -INFINITY;
    case 11: return (r >> 8) % 3 ? -0.0 : NAN;
    case 12: return -x;
    default: return x + (double)((int64_t)(r >> 40) - (1 << 23)) / (1 << 20);
    }
}

START_TEST(test_side_as_parse_then_compare)
{
    static const char *const edge[] = {
        "0", "-0", "0.0", "-0.0", "5.", "-5.", ".5", "-.5", "+5", "1e5", "-1e5", "1E-3", "007", "-007.50",
        "00000000", "99999999", "99999999.99999999", "-99999999.99999999", "100000000", "12345678.5",
        "12345678.123456789", "1.00000000", "9007199254740993", "9007199.254740993", "0.000000001",
        "3.14159265358979323846", "9419", "9419.0", "9418.99999999", "-4605.5", "-4605.50000001",
        "-4605.49999999", "33.2891", "33.28910000", "33.28909999", "21.31000000000001", "", "-", ".",
        "-.", "1.2.3", "1-2", "12a", " 1", "1 ", "--1", "0x10", "inf", "nan", "1,5"};
    uint64_t x = 0x2545F4914F6CDD1Dull;
    size_t decided = 0, all = 0;
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        double v = 0;
        num_parse(edge[i], strlen(edge[i]), &v);
        for (int j = 0; j < 400; j++, all++) {
            double lo = bound_near(v, xorshift(&x)), hi = bound_near(v, xorshift(&x));
            ck_assert_msg(side_ok(edge[i], strlen(edge[i]), lo, hi, &decided), "'%s' in [%.17g, %.17g]",
                          edge[i], lo, hi);
        }
    }
    static const char alpha[] = "0123456789.-+eE x";
    char buf[40];
    for (int i = 0; i < 3000000; i++, all++) {
        uint64_t r = xorshift(&x);
        size_t len = (size_t)(r % 20);
        for (size_t j = 0; j < len; j++) { /* mostly digits, a dot, a leading '-' */
            uint64_t d = (r >> (3 * j + 5)) % 64;
            buf[j] = d < 48 ? (char)('0' + d % 10) : alpha[d % (sizeof alpha - 1)];
        }
        if (len > 2 && (r >> 61) < 4) {
            buf[0] = (r >> 61) < 2 ? '-' : buf[0];
            buf[1 + (r >> 40) % (len - 1)] = '.';
        }
        double v = 0;
        num_parse(buf, len, &v);
        double lo = bound_near(v, xorshift(&x)), hi = bound_near(v, xorshift(&x));
        ck_assert_msg(side_ok(buf, len, lo, hi, &decided), "'%.*s' in [%.17g, %.17g]", (int)len, buf, lo, hi);
    }
    ck_assert_msg(decided > all / 8, "told from the text: %zu of %zu", decided, all);
}
END_TEST

struct scan_seen {
    pthread_mutex_t mu;
    char *copy;       /* the blocks put back at their offsets */
    uint64_t next;    /* the block expected in order */
    uint64_t next_off;
    bool bad;         /* a block not of whole lines, or out of order */
    uint64_t fail_at; /* work fails on this block (UINT64_MAX: none) */
    uint64_t ordered_max;
};

static int scan_work(void *ctx, unsigned w, uint64_t idx, const char *buf, size_t len, uint64_t off)
{
    (void)w;
    struct scan_seen *s = ctx;
    bool whole = len > 0 && (buf[len - 1] == '\n' || off + len == 300000 + 1);
    pthread_mutex_lock(&s->mu);
    memcpy(s->copy + off, buf, len);
    if (!whole)
        s->bad = true;
    pthread_mutex_unlock(&s->mu);
    return idx == s->fail_at ? SH_ECONFLICT : 0;
}

static int scan_ordered(void *ctx, unsigned w, uint64_t idx, uint64_t end)
{
    (void)w;
    struct scan_seen *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (idx != s->next || end <= s->next_off)
        s->bad = true;
    s->next = idx + 1;
    s->next_off = end;
    s->ordered_max = idx;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

START_TEST(test_blockscan_whole_lines_in_order)
{
    /* 300001 bytes: short lines, one of 40000 bytes, no newline at the end */
    size_t n = 300001;
    char *data = malloc(n);
    ck_assert_ptr_nonnull(data);
    uint64_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        data[i] = (i >= 100000 && i < 140000) || (x >> 60) ? (char)('a' + (x >> 59) % 26) : '\n';
    }
    data[n - 1] = 'z';
    put_file(path, data, n);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    static const struct bscan_ops ops = {scan_work, scan_ordered};
    for (int round = 0; round < 2; round++) {
        struct scan_seen s = {.fail_at = round ? 7 : UINT64_MAX};
        pthread_mutex_init(&s.mu, NULL);
        s.copy = calloc(n, 1);
        ck_assert_ptr_nonnull(s.copy);
        int k = bscan_run(fd, 0, n, 4096, 2, &ops, &s);
        if (!round) {
            ck_assert_int_eq(k, 0);
            ck_assert(!s.bad);
            ck_assert_uint_eq(s.next_off, n);
            ck_assert(memcmp(s.copy, data, n) == 0);
        } else {
            ck_assert_int_eq(k, SH_ECONFLICT);
            ck_assert(!s.bad);
            ck_assert_uint_eq(s.ordered_max, 6); /* none after the failed block */
        }
        free(s.copy);
        pthread_mutex_destroy(&s.mu);
    }
    close(fd);
    free(data);
}
END_TEST

Suite *datafix_suite(void)
{
    Suite *s = suite_create("datafix");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_stats_known_values);
    tcase_add_test(tc, test_stats_match_sorted_reference);
    tcase_add_test(tc, test_mode_ties_first_seen);
    tcase_add_test(tc, test_fix_exact_bytes);
    tcase_add_test(tc, test_file_size_limit_fails_cleanly);
    tcase_add_test(tc, test_broken_refused_untouched);
    tcase_add_test(tc, test_too_dirty_refused);
    tcase_add_test(tc, test_dry_run_and_clean);
    tcase_add_test(tc, test_strategies);
    tcase_add_test(tc, test_iqr_zero_not_capped);
    tcase_add_test(tc, test_few_distinct_not_capped);
    tcase_add_test(tc, test_second_fix_changes_nothing);
    tcase_add_test(tc, test_ties_bound_stops_at_quartile_values);
    tcase_add_test(tc, test_fill_outside_bounds_clipped);
    tcase_add_test(tc, test_backups_kept_newest);
    tcase_add_test(tc, test_stale_temporary_cleaned);
    tcase_add_test(tc, test_keeps_file_mode);
    tcase_add_test(tc, test_two_threads_as_one);
    tcase_add_test(tc, test_parse_padded_as_parse);
    tcase_add_test(tc, test_side_as_parse_then_compare);
    tcase_add_test(tc, test_blockscan_whole_lines_in_order);
    suite_add_tcase(s, tc);
    return s;
}
