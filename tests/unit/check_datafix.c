/*
 * check_datafix.c — the data fix: statistics against a sorted reference
 * (numpy's linear quantiles), exact output bytes of a fix (fills, caps,
 * text modes, untouched cells byte for byte, CRLF kept), each broken CSV
 * refused with its exact message and the file's bytes and folder unchanged,
 * refusal over maxFixedFraction, dry run, the other strategies, backups
 * kept to `keep` with the newest names, the temporary files of a killed
 * run cleaned up, and a write beyond RLIMIT_FSIZE failing with a clear
 * error (not SIGXFSZ) and the original, alone in its folder, unchanged.
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
                            "5,1000,Lyon,2.5\r\n";

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
    ck_assert_str_eq(got, "id,price,city,score\r\n"
                          "1,10.0,\"Paris, FR\",1.50\r\n"
                          "2,11.5,Lyon,2\r\n"
                          "3,12,\"Paris, FR\",2.25\r\n"
                          "4,11,\"Paris, FR\",3\r\n"
                          "5,631.375,Lyon,2.5\r\n");
    free(got);
    ck_assert(rep.written && !rep.refused);
    ck_assert_uint_eq(rep.rows, 5);
    ck_assert_uint_eq(rep.cells_changed, 4);
    ck_assert_uint_eq(rep.cols[1].filled, 1);
    ck_assert_uint_eq(rep.cols[1].capped, 1);
    ck_assert(rep.cols[1].stats.q1 == 10.75 && rep.cols[1].stats.q3 == 259);
    ck_assert(rep.cols[1].lower == -361.625 && rep.cols[1].upper == 631.375);
    ck_assert(rep.cols[1].fill_num == 11.5);
    ck_assert(!rep.cols[2].numeric);
    ck_assert_str_eq(rep.cols[2].fill_text, "Paris, FR");
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
    got = fix_with("x\n1\n2\n3\n4\n100\n", &o);
    ck_assert_str_eq(got, "x\n1\n2\n3\n4\n");
    free(got);
    o.outliers = OUTLIER_NONE;
    got = fix_with("x,y\n1,\n2,1\n3,1\n4,1\n100,1\n", &o);
    ck_assert_str_eq(got, "x,y\n1,1\n2,1\n3,1\n4,1\n100,1\n");
    free(got);
    /* capping both ends, written as the shortest round-trip text */
    o.outliers = OUTLIER_CAP;
    o.iqr_multiplier = 0.1;
    got = fix_with("x\n0.1\n0.2\n0.3\n0.45\n-9\n", &o);
    /* sorted -9 .1 .2 .3 .45: q1 .1, q3 .3 */
    double lo = 0.1 - 0.1 * (0.3 - 0.1), hi = 0.3 + 0.1 * (0.3 - 0.1);
    char ls[40], hs[40], want[200];
    shortest(lo, ls, sizeof ls);
    shortest(hi, hs, sizeof hs);
    snprintf(want, sizeof want, "x\n0.1\n0.2\n0.3\n%s\n%s\n", hs, ls);
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
    tcase_add_test(tc, test_backups_kept_newest);
    tcase_add_test(tc, test_stale_temporary_cleaned);
    tcase_add_test(tc, test_keeps_file_mode);
    suite_add_tcase(s, tc);
    return s;
}
