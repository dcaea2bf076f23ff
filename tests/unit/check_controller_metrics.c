/* check_controller_metrics.c — the controller's metric set (without a manager). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/controller_metrics.h"
#include "base/errors.h"
#include "base/metrics.h"

Suite *controller_metrics_suite(void);

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

#define ck_assert_line(text, line) ck_assert_msg(has_line(text, line), "missing line '%s' in:\n%s", line, text)

START_TEST(test_build_info_and_family_types)
{
    struct metrics *reg = metrics_new();
    struct controller_metrics *cm = NULL;
    ck_assert_int_eq(controller_metrics_new(reg, "0.1.0", "abc123", &cm), 0);
    ck_assert_ptr_eq(controller_metrics_registry(cm), reg);
    char *out = metrics_render(reg);
    ck_assert_line(out, "selfheal_build_info{version=\"0.1.0\",commit=\"abc123\"} 1");
    ck_assert_line(out, "# TYPE selfheal_build_info gauge");
    ck_assert_line(out, "# TYPE selfheal_reconcile_total counter");
    ck_assert_line(out, "# TYPE selfheal_reconcile_duration_seconds histogram");
    ck_assert_line(out, "# TYPE selfheal_workqueue_depth gauge");
    ck_assert_line(out, "# TYPE selfheal_workqueue_adds_total counter");
    ck_assert_line(out, "# TYPE selfheal_workqueue_retries_total counter");
    ck_assert_line(out, "# TYPE selfheal_workqueue_oldest_item_age_seconds gauge");
    ck_assert_line(out, "# TYPE selfheal_workqueue_in_flight gauge");
    ck_assert_line(out, "# TYPE selfheal_pipelines gauge");
    free(out);

    /* the families exist once per registry */
    struct controller_metrics *again = NULL;
    ck_assert_int_eq(controller_metrics_new(reg, "0.1.0", "abc123", &again), SH_EEXISTS);
    controller_metrics_free(cm);
    metrics_free(reg);
}
END_TEST

START_TEST(test_queue_and_pipeline_families_are_zero_before_attach)
{
    struct metrics *reg = metrics_new();
    struct controller_metrics *cm = NULL;
    ck_assert_int_eq(controller_metrics_new(reg, NULL, NULL, &cm), 0);
    char *out = metrics_render(reg);
    ck_assert_line(out, "selfheal_build_info{version=\"unknown\",commit=\"unknown\"} 1");
    ck_assert_line(out, "selfheal_workqueue_depth 0");
    ck_assert_line(out, "selfheal_workqueue_adds_total 0");
    ck_assert_line(out, "selfheal_workqueue_retries_total 0");
    ck_assert_line(out, "selfheal_workqueue_oldest_item_age_seconds 0");
    ck_assert_line(out, "selfheal_workqueue_in_flight 0");
    ck_assert_line(out, "selfheal_pipelines{phase=\"Invalid\"} 0");
    ck_assert_line(out, "selfheal_pipelines{phase=\"Healthy\"} 0");
    ck_assert_line(out, "selfheal_pipelines{phase=\"NeedsAttention\"} 0");
    free(out);
    controller_metrics_free(cm);
    metrics_free(reg);
}
END_TEST

START_TEST(test_reconcile_counts_and_durations)
{
    struct metrics *reg = metrics_new();
    struct controller_metrics *cm = NULL;
    ck_assert_int_eq(controller_metrics_new(reg, "v", "c", &cm), 0);
    controller_metrics_reconcile(cm, "service", "success", 0.003);
    controller_metrics_reconcile(cm, "service", "success", 0.2);
    controller_metrics_reconcile(cm, "service", "error", 7);
    controller_metrics_reconcile(cm, "model", "success", 0.0005);
    controller_metrics_reconcile(NULL, "model", "success", 1); /* no-op */
    char *out = metrics_render(reg);
    ck_assert_line(out, "selfheal_reconcile_total{reconciler=\"service\",result=\"success\"} 2");
    ck_assert_line(out, "selfheal_reconcile_total{reconciler=\"service\",result=\"error\"} 1");
    ck_assert_line(out, "selfheal_reconcile_total{reconciler=\"model\",result=\"success\"} 1");
    ck_assert_line(out, "selfheal_reconcile_duration_seconds_bucket{reconciler=\"service\",le=\"0.001\"} 0");
    ck_assert_line(out, "selfheal_reconcile_duration_seconds_bucket{reconciler=\"service\",le=\"0.005\"} 1");
    ck_assert_line(out, "selfheal_reconcile_duration_seconds_bucket{reconciler=\"service\",le=\"0.5\"} 2");
    ck_assert_line(out, "selfheal_reconcile_duration_seconds_bucket{reconciler=\"service\",le=\"5\"} 2");
    ck_assert_line(out, "selfheal_reconcile_duration_seconds_bucket{reconciler=\"service\",le=\"10\"} 3");
    ck_assert_line(out, "selfheal_reconcile_duration_seconds_bucket{reconciler=\"service\",le=\"+Inf\"} 3");
    ck_assert_line(out, "selfheal_reconcile_duration_seconds_count{reconciler=\"service\"} 3");
    ck_assert_line(out, "selfheal_reconcile_duration_seconds_sum{reconciler=\"service\"} 7.203");
    ck_assert_line(out, "selfheal_reconcile_duration_seconds_bucket{reconciler=\"model\",le=\"0.001\"} 1");
    free(out);
    controller_metrics_free(cm);
    controller_metrics_free(NULL);
    metrics_free(reg);
}
END_TEST

static void fake_sampler(void *ctx, struct wq_stats *q, size_t phases[PHASE__COUNT])
{
    int *calls = ctx;
    (*calls)++;
    q->depth = 3;
    q->processing = 2;
    q->adds = 40;
    q->retries = 5;
    q->oldest_age_ms = 1500;
    phases[PHASE_INVALID] = 1;
    phases[PHASE_HEALTHY] = 4;
}

static const char *upper_phase_name(enum phase p)
{
    return p == PHASE_HEALTHY ? "HEALTHY" : NULL; /* NULL: the built-in name */
}

START_TEST(test_sampler_feeds_the_collector)
{
    struct metrics *reg = metrics_new();
    struct controller_metrics *cm = NULL;
    ck_assert_int_eq(controller_metrics_new(reg, "v", "c", &cm), 0);
    int calls = 0;
    controller_metrics_set_sampler(cm, fake_sampler, &calls, NULL);
    char *out = metrics_render(reg);
    ck_assert_int_eq(calls, 1);
    ck_assert_line(out, "selfheal_workqueue_depth 3");
    ck_assert_line(out, "selfheal_workqueue_in_flight 2");
    ck_assert_line(out, "selfheal_workqueue_adds_total 40");
    ck_assert_line(out, "selfheal_workqueue_retries_total 5");
    ck_assert_line(out, "selfheal_workqueue_oldest_item_age_seconds 1.5");
    ck_assert_line(out, "selfheal_pipelines{phase=\"Invalid\"} 1");
    ck_assert_line(out, "selfheal_pipelines{phase=\"Healthy\"} 4");
    ck_assert_line(out, "selfheal_pipelines{phase=\"Paused\"} 0");
    free(out);

    controller_metrics_set_sampler(cm, fake_sampler, &calls, upper_phase_name);
    out = metrics_render(reg);
    ck_assert_line(out, "selfheal_pipelines{phase=\"HEALTHY\"} 4");
    ck_assert_line(out, "selfheal_pipelines{phase=\"Invalid\"} 1");
    free(out);

    controller_metrics_set_sampler(cm, NULL, NULL, NULL);
    out = metrics_render(reg);
    ck_assert_int_eq(calls, 2);
    ck_assert_line(out, "selfheal_workqueue_depth 0");
    free(out);

    /* after free the registry renders without the collector */
    controller_metrics_free(cm);
    out = metrics_render(reg);
    ck_assert_ptr_null(strstr(out, "selfheal_workqueue_depth"));
    ck_assert_line(out, "# TYPE selfheal_reconcile_total counter");
    free(out);
    metrics_free(reg);
}
END_TEST

Suite *controller_metrics_suite(void)
{
    Suite *s = suite_create("controller_metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_build_info_and_family_types);
    tcase_add_test(tc, test_queue_and_pipeline_families_are_zero_before_attach);
    tcase_add_test(tc, test_reconcile_counts_and_durations);
    tcase_add_test(tc, test_sampler_feeds_the_collector);
    suite_add_tcase(s, tc);
    return s;
}
