/*
 * check_model_decide.c — the model loop's rules (model_decide.h): threshold,
 * failureLimit, the rollback target, NoGoodVersion, inconclusive readings,
 * the rollback limit within the window, grace, blocking, dry run, reset.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_decide.h"

Suite *model_decide_suite(void);

#define T0 1795888800000LL
#define SEC 1000LL

static struct spec_model spec;
static struct model_version versions[4];
static struct model_observation obs;

static void setup(void)
{
    memset(&spec, 0, sizeof spec);
    spec.present = spec.enabled = true;
    spec.metric.name = "accuracy";
    spec.metric.interval_ms = 60 * SEC;
    spec.min_accuracy = 0.70;
    spec.failure_limit = 1;
    spec.rollback.max_rollbacks = 3;
    spec.rollback.window_ms = 24 * 3600 * SEC;
    /* v1 = 0.82, v2 = 0.91, v3 = 0.65 (current) — the brief's example */
    memset(versions, 0, sizeof versions);
    const char *names[] = {"v1", "v2", "v3", "v10"};
    double metrics[] = {0.82, 0.91, 0.65, 0.50};
    for (int i = 0; i < 4; i++) {
        snprintf(versions[i].name, sizeof versions[i].name, "%s", names[i]);
        versions[i].metric = metrics[i];
        versions[i].has_metric = true;
    }
    memset(&obs, 0, sizeof obs);
    obs.versions = versions;
    obs.nversions = 3;
    snprintf(obs.current, sizeof obs.current, "v3");
    obs.metric_ok = true;
    obs.metric = 0.65;
}

START_TEST(test_below_threshold_rolls_back_to_newest_older_good_version)
{
    struct model_state prev = {0};
    struct model_decision d;
    model_decide(&spec, &obs, &prev, T0, false, false, false, &d);
    ck_assert(d.rollback);
    ck_assert_str_eq(d.target, "v2");
    ck_assert_int_eq(d.verdict, MODEL_ROLLING_BACK);
    ck_assert_str_eq(d.reason, "RolledBack");
    ck_assert(d.action_in_flight);
    ck_assert_int_eq(d.next.last_rollback_ms, T0);
    ck_assert_uint_eq(model_rollbacks_in_window(&d.next, spec.rollback.window_ms, T0), 1);
}
END_TEST

START_TEST(test_above_threshold_does_nothing_and_remembers_the_good_version)
{
    obs.metric = 0.75;
    struct model_state prev = {0};
    struct model_decision d;
    model_decide(&spec, &obs, &prev, T0, false, false, false, &d);
    ck_assert(!d.rollback);
    ck_assert_int_eq(d.verdict, MODEL_ABOVE);
    ck_assert_str_eq(d.reason, "AboveThreshold");
    ck_assert_str_eq(d.next.last_good_version, "v3");
    ck_assert_double_eq(d.next.metric, 0.75);
}
END_TEST

START_TEST(test_failure_limit_needs_consecutive_low_readings)
{
    spec.failure_limit = 3;
    struct model_state s = {0};
    struct model_decision d;
    for (int i = 1; i <= 2; i++) {
        model_decide(&spec, &obs, &s, T0 + i * 60 * SEC, false, false, false, &d);
        ck_assert(!d.rollback);
        ck_assert_int_eq(d.next.below_count, i);
        s = d.next;
    }
    /* a good reading in between starts the count again */
    obs.metric = 0.9;
    model_decide(&spec, &obs, &s, T0 + 180 * SEC, false, false, false, &d);
    s = d.next;
    ck_assert_int_eq(s.below_count, 0);
    obs.metric = 0.6;
    for (int i = 0; i < 3; i++) {
        model_decide(&spec, &obs, &s, T0 + (240 + i * 60) * SEC, false, false, false, &d);
        s = d.next;
    }
    ck_assert(d.rollback);
}
END_TEST

START_TEST(test_inconclusive_reading_never_rolls_back_nor_counts)
{
    spec.failure_limit = 2;
    struct model_state s = {.below_count = 1};
    obs.metric_ok = false;
    snprintf(obs.metric_error, sizeof obs.metric_error, "prometheus: empty result");
    struct model_decision d;
    for (int i = 0; i < 10; i++) {
        model_decide(&spec, &obs, &s, T0 + i * 60 * SEC, false, false, false, &d);
        ck_assert(!d.rollback);
        ck_assert_int_eq(d.verdict, MODEL_UNAVAILABLE);
        s = d.next;
    }
    ck_assert_int_eq(s.below_count, 1);
    ck_assert_str_eq(d.reason, "MetricUnavailable");
    ck_assert_ptr_nonnull(strstr(d.message, "empty result"));
}
END_TEST

START_TEST(test_no_good_older_version_means_no_action)
{
    versions[0].metric = 0.60;
    versions[1].has_metric = false; /* a broken metrics.json is never "good" */
    struct model_state prev = {0};
    struct model_decision d;
    model_decide(&spec, &obs, &prev, T0, false, false, false, &d);
    ck_assert(!d.rollback);
    ck_assert_int_eq(d.verdict, MODEL_NO_GOOD_VERSION);
    ck_assert_str_eq(d.reason, "NoGoodVersion");
}
END_TEST

START_TEST(test_only_older_versions_are_targets)
{
    /* current v2 (0.91 recorded but reading 0.6); v3 is newer and must not be picked */
    snprintf(obs.current, sizeof obs.current, "v2");
    obs.metric = 0.6;
    versions[2].metric = 0.95;
    struct model_state prev = {0};
    struct model_decision d;
    model_decide(&spec, &obs, &prev, T0, false, false, false, &d);
    ck_assert(d.rollback);
    ck_assert_str_eq(d.target, "v1");
}
END_TEST

START_TEST(test_rollback_limit_within_window_needs_attention)
{
    struct model_state s = {.nrollback_times = 3,
                            .rollback_times = {T0 - 3600 * SEC, T0 - 1800 * SEC, T0 - 600 * SEC}};
    struct model_decision d;
    model_decide(&spec, &obs, &s, T0, false, false, false, &d);
    ck_assert(!d.rollback);
    ck_assert_int_eq(d.verdict, MODEL_LIMIT);
    /* a day later the old rollbacks left the window */
    model_decide(&spec, &obs, &s, T0 + 24 * 3600 * SEC, false, false, false, &d);
    ck_assert(d.rollback);
    /* or a person resets */
    model_decide(&spec, &obs, &s, T0, false, true, false, &d);
    ck_assert(d.rollback);
}
END_TEST

START_TEST(test_grace_after_rollback_and_blocking_by_a_higher_loop)
{
    struct model_state s = {.last_rollback_ms = T0};
    struct model_decision d;
    model_decide(&spec, &obs, &s, T0 + 30 * SEC, false, false, false, &d);
    ck_assert(!d.rollback);
    ck_assert_int_eq(d.verdict, MODEL_WAITING);
    ck_assert(d.action_in_flight);
    ck_assert_int_eq(d.requeue_after_ms, 30 * SEC);
    s.last_rollback_ms = 0;
    model_decide(&spec, &obs, &s, T0 + 30 * SEC, false, false, true, &d);
    ck_assert(!d.rollback);
    ck_assert_int_eq(d.verdict, MODEL_WAITING);
}
END_TEST

START_TEST(test_dry_run_plans_without_counting_a_rollback)
{
    struct model_state prev = {0};
    struct model_decision d;
    model_decide(&spec, &obs, &prev, T0, true, false, false, &d);
    ck_assert(d.rollback);
    ck_assert(d.planned_only);
    ck_assert_str_eq(d.target, "v2");
    ck_assert_uint_eq(d.next.nrollback_times, 0);
    ck_assert_int_eq(d.next.last_rollback_ms, 0);
    ck_assert_ptr_nonnull(strstr(d.message, "dry run: would roll back v3 → v2"));
}
END_TEST

START_TEST(test_version_ledger_records_each_change_of_current)
{
    struct model_state s = {0};
    struct model_decision d;
    obs.metric = 0.9;
    model_decide(&spec, &obs, &s, T0, false, false, false, &d);
    s = d.next;
    model_decide(&spec, &obs, &s, T0 + 60 * SEC, false, false, false, &d);
    s = d.next;
    ck_assert_uint_eq(s.nversions, 1);
    snprintf(obs.current, sizeof obs.current, "v2");
    model_decide(&spec, &obs, &s, T0 + 120 * SEC, false, false, false, &d);
    s = d.next;
    ck_assert_uint_eq(s.nversions, 2);
    ck_assert_str_eq(s.versions[1].version, "v2");
    /* v2's evidence: the controller's own reading while it served (0.9) is
     * newer than its external record (0.91, kept as `recorded`) */
    ck_assert_double_eq(s.versions[1].metric, 0.9);
    ck_assert(s.versions[1].observed);
    ck_assert(s.versions[1].has_recorded);
    ck_assert_double_eq(s.versions[1].recorded, 0.91);
    ck_assert_int_eq(s.versions[1].since_ms, T0 + 120 * SEC);
    ck_assert_str_eq(s.version, "v2");
}
END_TEST

/* The real cluster case: nothing writes an external record; the controller
 * saw v1 at 0.82 and v2 at 0.91 while they served, v3 reads 0.65 → v2. */
START_TEST(test_rollback_target_from_the_controllers_own_readings)
{
    for (int i = 0; i < 3; i++)
        versions[i].has_metric = false;
    struct model_state s = {0};
    struct model_decision d;
    const char *seq[][2] = {{"v1", "0.82"}, {"v2", "0.91"}, {"v3", "0.65"}};
    for (int i = 0; i < 3; i++) {
        snprintf(obs.current, sizeof obs.current, "%s", seq[i][0]);
        obs.metric = strtod(seq[i][1], NULL);
        model_decide(&spec, &obs, &s, T0 + i * 60 * SEC, false, false, false, &d);
        s = d.next;
    }
    ck_assert(d.rollback);
    ck_assert_str_eq(d.target, "v2");
    ck_assert_double_eq(d.target_metric, 0.91);
    ck_assert_uint_eq(s.nversions, 3);
    ck_assert(s.versions[0].observed);
    ck_assert_double_eq(s.versions[0].metric, 0.82);
    ck_assert_double_eq(s.versions[2].metric, 0.65);
}
END_TEST

/* v2 served well, then went bad while it served: its newest evidence (the
 * bad reading) wins over the older good one; a later new external record
 * (CI re-validated it at 0.93) wins again. */
START_TEST(test_newest_evidence_of_a_version_wins)
{
    for (int i = 0; i < 3; i++)
        versions[i].has_metric = false;
    struct model_state s = {0};
    struct model_decision d;
    spec.failure_limit = 3; /* readings below the threshold, no rollback yet */
    const char *seq[][2] = {{"v1", "0.82"}, {"v2", "0.91"}, {"v2", "0.40"}, {"v3", "0.65"}};
    for (int i = 0; i < 4; i++) {
        snprintf(obs.current, sizeof obs.current, "%s", seq[i][0]);
        obs.metric = strtod(seq[i][1], NULL);
        model_decide(&spec, &obs, &s, T0 + i * 60 * SEC, false, false, false, &d);
        s = d.next;
    }
    spec.failure_limit = 1;
    model_decide(&spec, &obs, &s, T0 + 5 * 60 * SEC, false, false, false, &d);
    ck_assert(d.rollback);
    ck_assert_str_eq(d.target, "v1"); /* v2's newest evidence is 0.40 */
    s = d.next;
    s.last_rollback_ms = 0;
    s.nrollback_times = 0;
    versions[1].has_metric = true; /* CI writes a new record for v2 */
    versions[1].metric = 0.93;
    model_decide(&spec, &obs, &s, T0 + 6 * 60 * SEC, false, false, false, &d);
    ck_assert(d.rollback);
    ck_assert_str_eq(d.target, "v2");
    ck_assert_double_eq(d.target_metric, 0.93);
}
END_TEST

/* accuracy min 0.7 and rmse max 40000: rmse alone fails → a rollback to the
 * newest older version whose evidence passes both. */
static struct spec_model_metric two[2];

static void use_two_metrics(void)
{
    memset(two, 0, sizeof two);
    two[0] = (struct spec_model_metric){.name = "accuracy", .interval_ms = 60 * SEC,
                                        .has_min = true, .min = 0.70, .failure_limit = 1,
                                        .inconclusive_limit = 1};
    two[1] = (struct spec_model_metric){.name = "rmse", .interval_ms = 60 * SEC, .has_max = true,
                                        .max = 40000, .failure_limit = 1, .inconclusive_limit = 2};
    spec.metrics = two;
    spec.nmetrics = 2;
    /* v1: both good; v2: accuracy good, rmse bad; v3 current */
    versions[0].values[1] = (struct model_value){30000, true};
    versions[1].values[1] = (struct model_value){52000, true};
    versions[2].values[1] = (struct model_value){45000, true};
    obs.nreadings = 2;
    obs.readings[0] = (struct model_reading){.read = true, .ok = true, .value = 0.82};
    obs.readings[1] = (struct model_reading){.read = true, .ok = true, .value = 45210.5};
}

START_TEST(test_one_metric_over_its_max_rolls_back_to_a_version_good_on_every_metric)
{
    use_two_metrics();
    struct model_state prev = {0};
    struct model_decision d;
    model_decide(&spec, &obs, &prev, T0, false, false, false, &d);
    ck_assert(d.rollback);
    ck_assert_str_eq(d.target, "v1"); /* v2's rmse record fails */
    ck_assert_int_eq(d.metric_index, 1);
    ck_assert_double_eq(d.target_metric, 30000);
    ck_assert_str_eq(d.trigger, "rmse 45210.5 > 40000");
    ck_assert_msg(strstr(d.message, "rmse 45210.5 > 40000: rolled back v3 → v1") != NULL, "%s",
                  d.message);
    ck_assert_str_eq(d.next.deciding, "rmse 45210.5 > 40000");
    /* the reading is v3's evidence for both metrics */
    ck_assert_uint_eq(d.next.nversions, 1);
    ck_assert(d.next.versions[0].ev[1].observed);
    ck_assert_double_eq(d.next.versions[0].ev[1].metric, 45210.5);
    ck_assert_double_eq(d.next.metric, 0.82);
}
END_TEST

START_TEST(test_every_metric_within_is_above_and_inconclusive_has_its_limit)
{
    use_two_metrics();
    obs.readings[1].value = 35000;
    struct model_state s = {0};
    struct model_decision d;
    model_decide(&spec, &obs, &s, T0, false, false, false, &d);
    ck_assert_int_eq(d.verdict, MODEL_ABOVE);
    ck_assert_msg(strstr(d.message, "accuracy 0.820 ≥ 0.700 with model v3 (rmse 35000 ≤ 40000)") != NULL,
                  "%s", d.message);
    ck_assert_str_eq(d.next.last_good_version, "v3");
    s = d.next;
    /* rmse NaN once: tolerated (inconclusiveLimit 2), twice: MetricUnavailable */
    obs.readings[1] = (struct model_reading){.read = true, .ok = false, .error = "not a finite number"};
    model_decide(&spec, &obs, &s, T0 + 60 * SEC, false, false, false, &d);
    ck_assert_int_eq(d.verdict, MODEL_ABOVE);
    s = d.next;
    model_decide(&spec, &obs, &s, T0 + 120 * SEC, false, false, false, &d);
    ck_assert_int_eq(d.verdict, MODEL_UNAVAILABLE);
    ck_assert_str_eq(d.reason, "MetricUnavailable");
    ck_assert_msg(strstr(d.message, "rmse: not a finite number") != NULL, "%s", d.message);
    ck_assert(!d.rollback);
    s = d.next;
    /* a metric not due keeps its state; accuracy below alone rolls back */
    obs.readings[1].read = false;
    obs.readings[0].value = 0.5;
    model_decide(&spec, &obs, &s, T0 + 180 * SEC, false, false, false, &d);
    ck_assert(d.rollback); /* v2's rmse fails; v1: accuracy 0.82, rmse 30000 */
    ck_assert_str_eq(d.target, "v1");
    ck_assert_int_eq(d.metric_index, 0);
    ck_assert_str_eq(d.trigger, "accuracy 0.500 < 0.700");
}
END_TEST

Suite *model_decide_suite(void)
{
    Suite *s = suite_create("model_decide");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_below_threshold_rolls_back_to_newest_older_good_version);
    tcase_add_test(tc, test_rollback_target_from_the_controllers_own_readings);
    tcase_add_test(tc, test_newest_evidence_of_a_version_wins);
    tcase_add_test(tc, test_above_threshold_does_nothing_and_remembers_the_good_version);
    tcase_add_test(tc, test_failure_limit_needs_consecutive_low_readings);
    tcase_add_test(tc, test_inconclusive_reading_never_rolls_back_nor_counts);
    tcase_add_test(tc, test_no_good_older_version_means_no_action);
    tcase_add_test(tc, test_only_older_versions_are_targets);
    tcase_add_test(tc, test_rollback_limit_within_window_needs_attention);
    tcase_add_test(tc, test_grace_after_rollback_and_blocking_by_a_higher_loop);
    tcase_add_test(tc, test_dry_run_plans_without_counting_a_rollback);
    tcase_add_test(tc, test_version_ledger_records_each_change_of_current);
    tcase_add_test(tc, test_one_metric_over_its_max_rolls_back_to_a_version_good_on_every_metric);
    tcase_add_test(tc, test_every_metric_within_is_above_and_inconclusive_has_its_limit);
    suite_add_tcase(s, tc);
    return s;
}
