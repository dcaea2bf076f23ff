/*
 * check_isolate.c — forked, memory-budgeted work (base/isolate.h) and the
 * wire formats of the data fix and drift reports that travel back from it.
 */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/isolate.h"
#include "data/datafix_isolated.h"
#include "drift/drift_isolated.h"

Suite *isolate_suite(void);

/* Under AddressSanitizer a failed allocation or a SIGSEGV in the child is
 * ASan's report and exit status 1: the child still fails alone (SH_EIO). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_ASAN 1 /* (or ThreadSanitizer: its shadow memory meets the budget too) */
#else
#define UNDER_ASAN 0
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND RUNNING_ON_VALGRIND
#endif
#endif
#ifndef UNDER_VALGRIND
#define UNDER_VALGRIND 0
#endif

static int work_ok(void *arg, struct wbuf *out, char **ret_err)
{
    (void)ret_err;
    wbuf_str(out, arg);
    wbuf_f64(out, 0.1);
    return 0;
}

static int work_hungry(void *arg, struct wbuf *out, char **ret_err)
{
    (void)arg;
    (void)out;
    (void)ret_err;
    /* 256 MiB, touched: far over a 16 MiB budget */
    char *p = malloc(256u << 20);
    if (!p)
        return SH_ENOMEM;
    memset(p, 1, 256u << 20);
    wbuf_u64(out, (uint64_t)p[12345]);
    free(p);
    return 0;
}

static int work_crash(void *arg, struct wbuf *out, char **ret_err)
{
    (void)arg;
    (void)out;
    (void)ret_err;
    raise(SIGSEGV);
    return 0;
}

/* Writes its pid to the pipe named by arg, then waits to be killed. */
static int work_forever(void *arg, struct wbuf *out, char **ret_err)
{
    (void)out;
    (void)ret_err;
    pid_t me = getpid();
    (void)!write(*(int *)arg, &me, sizeof me);
    for (;;)
        pause();
    return 0;
}

static int work_refuses(void *arg, struct wbuf *out, char **ret_err)
{
    (void)arg;
    (void)out;
    *ret_err = strdup("data.csv:3: unterminated quote");
    return SH_EPARSE;
}

START_TEST(test_isolate_returns_the_work_s_result_code_and_message)
{
    char *data = NULL, *err = NULL;
    size_t len = 0;
    ck_assert_int_eq(isolate_run(ISOLATE_DEFAULT_BUDGET, work_ok, "hello", &data, &len, &err), 0);
    struct rbuf r = {.p = data, .left = len};
    char *s = rbuf_str(&r);
    ck_assert_str_eq(s, "hello");
    ck_assert(rbuf_f64(&r) == 0.1);
    ck_assert(!r.bad && r.left == 0);
    free(s);
    free(data);
    free(err);
    ck_assert_int_eq(isolate_run(0, work_refuses, NULL, &data, &len, &err), SH_EPARSE);
    ck_assert_str_eq(err, "data.csv:3: unterminated quote");
    free(data);
    free(err);
}
END_TEST

START_TEST(test_isolate_over_the_budget_is_out_of_memory_and_the_caller_goes_on)
{
    /* valgrind's allocator does not honour the child's RLIMIT_AS; under a
     * sanitizer the child's failure is the sanitizer's report (alarming
     * output in the logs of make test): the plain run tests this */
    if (UNDER_VALGRIND || UNDER_ASAN)
        return;
    char *data = NULL, *err = NULL;
    size_t len = 0;
    int rc = isolate_run(16u << 20, work_hungry, NULL, &data, &len, &err);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(rc, SH_ENOMEM);
    ck_assert_str_eq(err, "out of memory: the data work needs more than the budget of 16 MiB; "
                              "raise --memory-budget (selfheal run, fix-data, drift) or give it "
                              "more memory");
    free(data);
    free(err);
}
END_TEST

START_TEST(test_isolate_a_crash_is_reported_not_shared)
{
    if (UNDER_ASAN) /* the sanitizer reports the crash itself: the plain and valgrind runs test this */
        return;
    char *data = NULL, *err = NULL;
    size_t len = 0;
    ck_assert_int_eq(isolate_run(0, work_crash, NULL, &data, &len, &err), SH_EIO);
    ck_assert_ptr_nonnull(strstr(err, "the data work crashed (signal 11, SIGSEGV)"));
    free(data);
    free(err);
}
END_TEST

/* A controller SIGKILLed while its data work runs takes the work with it:
 * the work must not go on beside the one its successor starts. */
START_TEST(test_isolate_the_work_dies_with_its_controller)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t controller = fork();
    ck_assert_int_ge(controller, 0);
    if (controller == 0) {
        char *data = NULL, *err = NULL;
        size_t len = 0;
        close(fds[0]);
        (void)isolate_run(0, work_forever, &fds[1], &data, &len, &err);
        _exit(0);
    }
    close(fds[1]);
    pid_t work = 0;
    ck_assert_int_eq(read(fds[0], &work, sizeof work), (ssize_t)sizeof work);
    close(fds[0]);
    ck_assert_int_eq(kill(work, 0), 0);
    kill(controller, SIGKILL);
    ck_assert_int_eq(waitpid(controller, NULL, 0), controller);
    /* the orphan is reaped by init (or a subreaper): wait until it is gone */
    bool gone = false;
    for (int i = 0; i < 2000 && !gone; i++) {
        char path[64], st[256] = "";
        snprintf(path, sizeof path, "/proc/%d/stat", (int)work);
        FILE *f = fopen(path, "r");
        if (!f) {
            gone = true;
            break;
        }
        size_t n = fread(st, 1, sizeof st - 1, f);
        fclose(f);
        st[n] = '\0';
        const char *rp = strrchr(st, ')');
        gone = rp && (rp[2] == 'Z' || rp[2] == 'X'); /* dead, not yet reaped */
        struct timespec ts = {0, 5 * 1000 * 1000};
        if (!gone)
            nanosleep(&ts, NULL);
    }
    ck_assert_msg(gone, "the data work %d outlived its controller", (int)work);
}
END_TEST

START_TEST(test_isolate_parses_and_formats_sizes)
{
    uint64_t v;
    ck_assert_int_eq(isolate_parse_bytes("64Mi", &v), 0);
    ck_assert_uint_eq(v, 64u << 20);
    ck_assert_int_eq(isolate_parse_bytes("512M", &v), 0);
    ck_assert_uint_eq(v, 512000000u);
    ck_assert_int_eq(isolate_parse_bytes("1Gi", &v), 0);
    ck_assert_uint_eq(v, 1u << 30);
    ck_assert_int_eq(isolate_parse_bytes("0", &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(isolate_parse_bytes("64 MB", &v), SH_EINVAL);
    ck_assert_int_eq(isolate_parse_bytes("-1Mi", &v), SH_EINVAL);
    char buf[32];
    isolate_format_bytes(64u << 20, buf, sizeof buf);
    ck_assert_str_eq(buf, "64 MiB");
    isolate_format_bytes(1536u << 20, buf, sizeof buf);
    ck_assert_str_eq(buf, "1.5 GiB");
}
END_TEST

START_TEST(test_reports_travel_exactly)
{
    struct datafix_column cols[2] = {
        {.name = "income", .numeric = true, .missing = 3, .filled = 3, .outliers = 2, .capped = 2,
         .has_fill = true, .fill_num = 3.0000000000000004, .has_bounds = true, .lower = -1.5,
         .upper = 9.25, .q1 = 1.125, .q3 = 4.5, .capping_skipped = NULL,
         .stats = {.n = 97, .mean = 0.1, .median = 3, .q1 = 1, .q3 = 5, .min = -2, .max = 1e300,
                   .q1_below = 1, .q3_above = 5}},
        {.name = "flag", .numeric = true, .capping_skipped = "IQR is 0", .fill_text = NULL}};
    struct datafix_report rep = {.path = "d.csv", .rows = 100, .ncols = 2, .cols = cols,
                                 .cells_changed = 5, .fixed_fraction = 0.025, .written = true,
                                 .backup = "d.csv.bak.1", .bytes_in = 1000, .bytes_out = 1001};
    struct wbuf b = {0};
    datafix_report_encode(&rep, &b);
    struct datafix_report back;
    ck_assert_int_eq(datafix_report_decode(b.data, b.len, &back), 0);
    ck_assert_str_eq(back.path, "d.csv");
    ck_assert_uint_eq(back.ncols, 2);
    ck_assert_str_eq(back.cols[0].name, "income");
    ck_assert(memcmp(&back.cols[0].stats, &cols[0].stats, sizeof cols[0].stats) == 0);
    ck_assert(back.cols[0].fill_num == 3.0000000000000004 && back.cols[0].upper == 9.25);
    ck_assert_str_eq(back.cols[1].capping_skipped, "IQR is 0");
    ck_assert(back.written && !back.refused);
    ck_assert_str_eq(back.backup, "d.csv.bak.1");
    datafix_report_free(&back);
    ck_assert_int_eq(datafix_report_decode(b.data, b.len - 1, &back) != 0, 1);
    datafix_report_free(&back);
    wbuf_free(&b);

    struct drift_feature f = {.name = "rooms", .kind = DRIFT_FEATURE_NUMERIC, .scored = true,
                              .nref = 10, .ncur = 12, .psi = 0.3, .ks = NAN, .wasserstein = 1e-9,
                              .wasserstein_norm = 2, .js = 0.125, .statistic = 0.3,
                              .drifted = true};
    struct drift_report dr = {.verdict = DRIFT_VERDICT_DRIFT, .score = 1, .nscored = 1,
                              .ndrifted = 1, .ref_rows = 10, .cur_rows = 12, .features = &f,
                              .nfeatures = 1, .message = "drift: 1 of 1"};
    datafix_report_encode(&(struct datafix_report){0}, &b); /* an empty one encodes too */
    wbuf_free(&b);
    drift_report_encode(&dr, &b);
    struct drift_report dback;
    ck_assert_int_eq(drift_report_decode(b.data, b.len, &dback), 0);
    ck_assert_str_eq(dback.features[0].name, "rooms");
    ck_assert(dback.features[0].psi == 0.3 && isnan(dback.features[0].ks) &&
              dback.features[0].wasserstein == 1e-9 && dback.features[0].drifted);
    ck_assert_str_eq(dback.message, "drift: 1 of 1");
    drift_report_free(&dback);
    wbuf_free(&b);
}
END_TEST

Suite *isolate_suite(void)
{
    Suite *s = suite_create("isolate");
    TCase *tc = tcase_create("isolate");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_isolate_returns_the_work_s_result_code_and_message);
    tcase_add_test(tc, test_isolate_over_the_budget_is_out_of_memory_and_the_caller_goes_on);
    tcase_add_test(tc, test_isolate_a_crash_is_reported_not_shared);
    tcase_add_test(tc, test_isolate_the_work_dies_with_its_controller);
    tcase_add_test(tc, test_isolate_parses_and_formats_sizes);
    tcase_add_test(tc, test_reports_travel_exactly);
    suite_add_tcase(s, tc);
    return s;
}
