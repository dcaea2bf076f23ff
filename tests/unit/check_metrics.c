/* check_metrics.c — the Prometheus registry of metrics.h and its text format. */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/metrics.h"

Suite *metrics_suite(void);

static struct metric_family *reg_family(struct metrics *reg, enum metric_type t, const char *name,
                                        const char *help, const char *const *labels)
{
    struct metric_family *f = NULL;
    struct metric_opts o = {.type = t, .name = name, .help = help, .labels = labels};
    ck_assert_int_eq(metrics_register(reg, &o, &f), 0);
    ck_assert_ptr_nonnull(f);
    return f;
}

START_TEST(test_counter_renders_help_type_and_value)
{
    struct metrics *reg = metrics_new();
    struct metric_family *c = reg_family(reg, METRIC_COUNTER, "jobs_total", "Jobs done.", NULL);
    ck_assert_int_eq(metrics_add(c, NULL, 1), 0);
    ck_assert_int_eq(metrics_add(c, NULL, 2.5), 0);
    char *out = metrics_render(reg);
    ck_assert_str_eq(out, "# HELP jobs_total Jobs done.\n"
                          "# TYPE jobs_total counter\n"
                          "jobs_total 3.5\n");
    free(out);
    metrics_free(reg);
}
END_TEST

START_TEST(test_touch_exports_a_series_at_zero_and_keeps_its_value)
{
    struct metrics *reg = metrics_new();
    static const char *const l[] = {"outcome", NULL};
    struct metric_family *c = reg_family(reg, METRIC_COUNTER, "acts_total", "Acts.", l);
    ck_assert_int_eq(metrics_touch(c, (const char *const[]){"started"}), 0);
    char *out = metrics_render(reg);
    ck_assert_ptr_nonnull(strstr(out, "acts_total{outcome=\"started\"} 0\n"));
    free(out);
    ck_assert_int_eq(metrics_add(c, (const char *const[]){"started"}, 1), 0);
    ck_assert_int_eq(metrics_touch(c, (const char *const[]){"started"}), 0);
    out = metrics_render(reg);
    ck_assert_ptr_nonnull(strstr(out, "acts_total{outcome=\"started\"} 1\n"));
    free(out);
    struct metric_opts ho = {.type = METRIC_HISTOGRAM, .name = "t_seconds", .help = "T.",
                             .buckets = (const double[]){1}, .nbuckets = 1};
    struct metric_family *h = NULL;
    ck_assert_int_eq(metrics_register(reg, &ho, &h), 0);
    ck_assert_int_eq(metrics_touch(h, NULL), 0);
    out = metrics_render(reg);
    ck_assert_ptr_nonnull(strstr(out, "t_seconds_count 0\n"));
    free(out);
    metrics_free(reg);
}
END_TEST

START_TEST(test_register_rejects_bad_families_and_updates)
{
    struct metrics *reg = metrics_new();
    struct metric_family *f = NULL;
    struct metric_opts o = {.type = METRIC_COUNTER, .name = "jobs", .help = "x"};
    ck_assert_int_eq(metrics_register(reg, &o, &f), SH_EINVAL); /* counter without _total */
    o.name = "9lives_total";
    ck_assert_int_eq(metrics_register(reg, &o, &f), SH_EINVAL);
    o.name = "bad-name_total";
    ck_assert_int_eq(metrics_register(reg, &o, &f), SH_EINVAL);
    static const char *const dup_labels[] = {"a", "a", NULL};
    o.name = "ok_total";
    o.labels = dup_labels;
    ck_assert_int_eq(metrics_register(reg, &o, &f), SH_EINVAL);
    static const char *const reserved[] = {"__x", NULL};
    o.labels = reserved;
    ck_assert_int_eq(metrics_register(reg, &o, &f), SH_EINVAL);
    o.labels = NULL;
    ck_assert_int_eq(metrics_register(reg, &o, &f), 0);
    ck_assert_int_eq(metrics_register(reg, &o, NULL), SH_EEXISTS);

    ck_assert_int_eq(metrics_add(f, NULL, -1), SH_EINVAL);
    ck_assert_int_eq(metrics_set(f, NULL, 1), SH_EINVAL);
    ck_assert_int_eq(metrics_observe(f, NULL, 1), SH_EINVAL);
    ck_assert_int_eq(metrics_add(NULL, NULL, 1), SH_EINVAL);

    static const char *const le[] = {"le", NULL};
    const double unsorted[] = {1, 0.5};
    struct metric_opts h = {.type = METRIC_HISTOGRAM, .name = "h_seconds", .help = "h",
                            .buckets = unsorted, .nbuckets = 2};
    ck_assert_int_eq(metrics_register(reg, &h, NULL), SH_EINVAL);
    h.buckets = NULL;
    h.nbuckets = 0;
    h.labels = le;
    ck_assert_int_eq(metrics_register(reg, &h, NULL), SH_EINVAL);

    static const char *const one[] = {"kind", NULL};
    struct metric_family *g = reg_family(reg, METRIC_GAUGE, "g", "g", one);
    ck_assert_int_eq(metrics_set(g, NULL, 1), SH_EINVAL); /* missing label values */
    const char *const nullval[] = {NULL};
    ck_assert_int_eq(metrics_set(g, nullval, 1), SH_EINVAL);
    metrics_free(reg);
}
END_TEST

START_TEST(test_labels_are_sorted_and_escaped)
{
    struct metrics *reg = metrics_new();
    static const char *const labels[] = {"pipeline", "result", NULL};
    struct metric_family *c =
        reg_family(reg, METRIC_COUNTER, "runs_total", "Runs with \\ and\nnewline.", labels);
    ck_assert_int_eq(metrics_add(c, (const char *const[]){"ns/zeta", "ok"}, 1), 0);
    ck_assert_int_eq(metrics_add(c, (const char *const[]){"ns/alpha", "error"}, 2), 0);
    ck_assert_int_eq(metrics_add(c, (const char *const[]){"a\\b\"c\nd", "ok"}, 1), 0);
    ck_assert_int_eq(metrics_add(c, (const char *const[]){"ns/zeta", "ok"}, 1), 0);
    char *out = metrics_render(reg);
    ck_assert_str_eq(out, "# HELP runs_total Runs with \\\\ and\\nnewline.\n"
                          "# TYPE runs_total counter\n"
                          "runs_total{pipeline=\"a\\\\b\\\"c\\nd\",result=\"ok\"} 1\n"
                          "runs_total{pipeline=\"ns/alpha\",result=\"error\"} 2\n"
                          "runs_total{pipeline=\"ns/zeta\",result=\"ok\"} 2\n");
    free(out);
    metrics_free(reg);
}
END_TEST

START_TEST(test_gauge_set_add_and_special_values)
{
    struct metrics *reg = metrics_new();
    struct metric_family *g = reg_family(reg, METRIC_GAUGE, "temp_celsius", "T.", NULL);
    ck_assert_int_eq(metrics_set(g, NULL, 10), 0);
    ck_assert_int_eq(metrics_add(g, NULL, -0.25), 0);
    char *out = metrics_render(reg);
    ck_assert_ptr_nonnull(strstr(out, "\ntemp_celsius 9.75\n"));
    free(out);
    ck_assert_int_eq(metrics_set(g, NULL, 0.1), 0);
    out = metrics_render(reg);
    ck_assert_ptr_nonnull(strstr(out, "\ntemp_celsius 0.1\n"));
    free(out);
    ck_assert_int_eq(metrics_set(g, NULL, 1.0 / 0.0), 0);
    out = metrics_render(reg);
    ck_assert_ptr_nonnull(strstr(out, "\ntemp_celsius +Inf\n"));
    free(out);
    ck_assert_int_eq(metrics_set(g, NULL, 1e21), 0);
    out = metrics_render(reg);
    ck_assert_ptr_nonnull(strstr(out, "\ntemp_celsius 1e+21\n"));
    free(out);
    metrics_free(reg);
}
END_TEST

START_TEST(test_histogram_buckets_are_cumulative)
{
    struct metrics *reg = metrics_new();
    static const char *const labels[] = {"op", NULL};
    const double buckets[] = {0.1, 0.5, 1};
    struct metric_opts o = {.type = METRIC_HISTOGRAM, .name = "op_duration_seconds",
                            .help = "Op time.", .labels = labels, .buckets = buckets,
                            .nbuckets = 3};
    struct metric_family *h = NULL;
    ck_assert_int_eq(metrics_register(reg, &o, &h), 0);
    const char *const read[] = {"read"};
    ck_assert_int_eq(metrics_observe(h, read, 0.05), 0);
    ck_assert_int_eq(metrics_observe(h, read, 0.1), 0); /* le is inclusive */
    ck_assert_int_eq(metrics_observe(h, read, 0.7), 0);
    ck_assert_int_eq(metrics_observe(h, read, 3), 0);
    ck_assert_int_eq(metrics_add(h, read, 1), SH_EINVAL);
    char *out = metrics_render(reg);
    ck_assert_str_eq(out, "# HELP op_duration_seconds Op time.\n"
                          "# TYPE op_duration_seconds histogram\n"
                          "op_duration_seconds_bucket{op=\"read\",le=\"0.1\"} 2\n"
                          "op_duration_seconds_bucket{op=\"read\",le=\"0.5\"} 2\n"
                          "op_duration_seconds_bucket{op=\"read\",le=\"1\"} 3\n"
                          "op_duration_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n"
                          "op_duration_seconds_sum{op=\"read\"} 3.85\n"
                          "op_duration_seconds_count{op=\"read\"} 4\n");
    free(out);
    metrics_free(reg);
}
END_TEST

struct collect_state {
    int calls;
    int fail;
};

static int collect_depth(void *ctx, struct metrics *scratch)
{
    struct collect_state *st = ctx;
    st->calls++;
    if (st->fail)
        return SH_EIO;
    struct metric_family *g = NULL;
    struct metric_opts o = {.type = METRIC_GAUGE, .name = "queue_depth", .help = "Depth."};
    if (metrics_register(scratch, &o, &g) != 0)
        return SH_ENOMEM;
    metrics_set(g, NULL, 7 + st->calls);
    /* a family the registry already has is skipped, not repeated */
    struct metric_family *dup = NULL;
    struct metric_opts d = {.type = METRIC_COUNTER, .name = "jobs_total", .help = "Again."};
    if (metrics_register(scratch, &d, &dup) == 0)
        metrics_add(dup, NULL, 100);
    return 0;
}

START_TEST(test_collectors_append_families_at_render)
{
    struct metrics *reg = metrics_new();
    struct metric_family *c = reg_family(reg, METRIC_COUNTER, "jobs_total", "Jobs.", NULL);
    metrics_add(c, NULL, 1);
    struct collect_state st = {0};
    ck_assert_int_eq(metrics_add_collector(reg, collect_depth, &st), 0);
    char *out = metrics_render(reg);
    ck_assert_str_eq(out, "# HELP jobs_total Jobs.\n"
                          "# TYPE jobs_total counter\n"
                          "jobs_total 1\n"
                          "# HELP queue_depth Depth.\n"
                          "# TYPE queue_depth gauge\n"
                          "queue_depth 8\n");
    free(out);
    out = metrics_render(reg);
    ck_assert_ptr_nonnull(strstr(out, "\nqueue_depth 9\n"));
    ck_assert_int_eq(st.calls, 2);
    free(out);

    st.fail = 1; /* a failing collector drops only its own output */
    out = metrics_render(reg);
    ck_assert_ptr_null(strstr(out, "queue_depth"));
    ck_assert_ptr_nonnull(strstr(out, "jobs_total 1\n"));
    free(out);

    st.fail = 0;
    metrics_remove_collector(reg, collect_depth, &st);
    out = metrics_render(reg);
    ck_assert_ptr_null(strstr(out, "queue_depth"));
    ck_assert_int_eq(st.calls, 3);
    free(out);
    metrics_free(reg);
}
END_TEST

START_TEST(test_render_order_is_stable)
{
    struct metrics *reg = metrics_new();
    static const char *const labels[] = {"k", NULL};
    struct metric_family *b = reg_family(reg, METRIC_GAUGE, "b_gauge", "B.", labels);
    struct metric_family *a = reg_family(reg, METRIC_GAUGE, "a_gauge", "A.", NULL);
    const char *keys[] = {"m", "c", "x", "a"};
    for (int i = 0; i < 4; i++)
        metrics_set(b, (const char *const[]){keys[i]}, i);
    metrics_set(a, NULL, 1);
    char *first = metrics_render(reg);
    char *second = metrics_render(reg);
    ck_assert_str_eq(first, second);
    ck_assert_str_eq(first, "# HELP b_gauge B.\n# TYPE b_gauge gauge\n"
                            "b_gauge{k=\"a\"} 3\nb_gauge{k=\"c\"} 1\nb_gauge{k=\"m\"} 0\n"
                            "b_gauge{k=\"x\"} 2\n"
                            "# HELP a_gauge A.\n# TYPE a_gauge gauge\na_gauge 1\n");
    free(first);
    free(second);

    struct metrics *empty = metrics_new();
    char *none = metrics_render(empty);
    ck_assert_str_eq(none, "");
    free(none);
    metrics_free(empty);
    metrics_free(reg);
}
END_TEST

struct adder {
    struct metric_family *f;
};

static void *add_many(void *arg)
{
    struct adder *a = arg;
    static const char *const keys[] = {"a", "b", "c"};
    for (int i = 0; i < 3000; i++)
        metrics_add(a->f, (const char *const[]){keys[i % 3]}, 1);
    return NULL;
}

START_TEST(test_concurrent_updates_are_counted)
{
    struct metrics *reg = metrics_new();
    static const char *const labels[] = {"k", NULL};
    struct adder a = {reg_family(reg, METRIC_COUNTER, "hits_total", "Hits.", labels)};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, add_many, &a), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    char *out = metrics_render(reg);
    ck_assert_ptr_nonnull(strstr(out, "hits_total{k=\"a\"} 4000\n"));
    ck_assert_ptr_nonnull(strstr(out, "hits_total{k=\"c\"} 4000\n"));
    free(out);
    metrics_free(reg);
}
END_TEST

/* Finds an executable in $PATH (no strtok: the list is walked by hand). */
static int in_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        char buf[4096];
        if (n > 0 && n + strlen(prog) + 2 < sizeof buf) {
            snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, prog);
            if (access(buf, X_OK) == 0)
                return 1;
        }
        if (!colon)
            break;
        path = colon + 1;
    }
    return 0;
}

START_TEST(test_promtool_accepts_the_output)
{
    if (!in_path("promtool")) {
        fprintf(stderr, "check_metrics: promtool not installed, skipping the promtool check\n");
        return;
    }
    struct metrics *reg = metrics_new();
    static const char *const labels[] = {"reconciler", "result", NULL};
    struct metric_family *c =
        reg_family(reg, METRIC_COUNTER, "demo_reconcile_total", "Reconciles \"by\" result.", labels);
    metrics_add(c, (const char *const[]){"svc\\x", "err\"or\nline"}, 2);
    metrics_add(c, (const char *const[]){"model", "success"}, 1);
    struct metric_family *g = reg_family(reg, METRIC_GAUGE, "demo_queue_depth", "Depth.", NULL);
    metrics_set(g, NULL, 3);
    static const char *const hl[] = {"reconciler", NULL};
    const double buckets[] = {.001, .005, .01, .05, .1, .5, 1, 5, 10};
    struct metric_opts ho = {.type = METRIC_HISTOGRAM, .name = "demo_duration_seconds",
                             .help = "Durations.", .labels = hl, .buckets = buckets, .nbuckets = 9};
    struct metric_family *h = NULL;
    ck_assert_int_eq(metrics_register(reg, &ho, &h), 0);
    metrics_observe(h, (const char *const[]){"model"}, 0.02);
    metrics_observe(h, (const char *const[]){"model"}, 20);
    struct collect_state st = {0};
    metrics_add_collector(reg, collect_depth, &st);
    char *out = metrics_render(reg);
    ck_assert_ptr_nonnull(out);

    char in_path_[] = "/tmp/check_metrics_in_XXXXXX";
    char out_path[] = "/tmp/check_metrics_out_XXXXXX";
    int in_fd = mkstemp(in_path_);
    int out_fd = mkstemp(out_path);
    ck_assert_int_ge(in_fd, 0);
    ck_assert_int_ge(out_fd, 0);
    ck_assert_int_eq(write(in_fd, out, strlen(out)), (ssize_t)strlen(out));
    lseek(in_fd, 0, SEEK_SET);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in_fd, 0);
        dup2(out_fd, 1);
        dup2(out_fd, 2);
        char *argv[] = {"promtool", "check", "metrics", NULL};
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    char msg[4096] = "";
    lseek(out_fd, 0, SEEK_SET);
    ssize_t n = read(out_fd, msg, sizeof msg - 1);
    if (n > 0)
        msg[n] = '\0';
    close(in_fd);
    close(out_fd);
    unlink(in_path_);
    unlink(out_path);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "promtool rejects:\n%s\n---\n%s", msg,
                  out);
    free(out);
    metrics_free(reg);
}
END_TEST

Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_counter_renders_help_type_and_value);
    tcase_add_test(tc, test_touch_exports_a_series_at_zero_and_keeps_its_value);
    tcase_add_test(tc, test_register_rejects_bad_families_and_updates);
    tcase_add_test(tc, test_labels_are_sorted_and_escaped);
    tcase_add_test(tc, test_gauge_set_add_and_special_values);
    tcase_add_test(tc, test_histogram_buckets_are_cumulative);
    tcase_add_test(tc, test_collectors_append_families_at_render);
    tcase_add_test(tc, test_render_order_is_stable);
    tcase_add_test(tc, test_concurrent_updates_are_counted);
    tcase_add_test(tc, test_promtool_accepts_the_output);
    suite_add_tcase(s, tc);
    return s;
}
