/*
 * check_service_decide.c — the service loop's rules (service_decide.h),
 * driven with plain numbers for time: thresholds, backoff doubling, the
 * grace period, exhaustion, resetAfter, spec changes, the reset annotation,
 * dry runs, supervised processes, and MTTR.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "service/service_decide.h"

Suite *service_decide_suite(void);

#define T0 1795888800000LL
#define SEC 1000LL

static struct spec_service spec;

static void setup(void)
{
    memset(&spec, 0, sizeof spec);
    spec.present = spec.enabled = true;
    spec.health_check.url = "http://127.0.0.1:8000/health";
    spec.health_check.interval_ms = 10 * SEC;
    spec.health_check.timeout_ms = 2 * SEC;
    spec.health_check.failure_threshold = 3;
    spec.recovery.method = RECOVERY_PROCESS;
    spec.recovery.max_attempts = 3;
    spec.recovery.backoff_ms = 10 * SEC;
    spec.recovery.reset_after_ms = 600 * SEC;
}

static struct service_observation failing(int failures, int64_t first_failure)
{
    struct service_observation o = {.probe_known = true, .consecutive_failures = failures,
                                    .first_failure_ms = first_failure};
    snprintf(o.last_error, sizeof o.last_error, "GET http://127.0.0.1:8000/health: connection refused");
    return o;
}

static struct service_observation healthy_at(int64_t success)
{
    struct service_observation o = {.probe_known = true, .consecutive_successes = 1,
                                    .last_success_ms = success};
    return o;
}

START_TEST(test_below_failure_threshold_is_still_healthy)
{
    struct service_state prev = {.healthy = true, .healthy_since_ms = T0};
    struct service_observation o = failing(2, T0);
    struct service_decision d;
    service_decide(&spec, &o, &prev, T0 + 20 * SEC, 1, false, false, &d);
    ck_assert_int_eq(d.verdict, SERVICE_HEALTHY);
    ck_assert_int_eq(d.action, SERVICE_ACT_NONE);
    ck_assert_str_eq(d.reason, "ProbeFailing" /* never a success (issue 22) */);
    ck_assert_ptr_nonnull(strstr(d.message, "2 of 3 allowed probe failures"));
}
END_TEST

START_TEST(test_reaching_failure_threshold_recovers_at_once)
{
    struct service_state prev = {.healthy = true};
    struct service_observation o = failing(3, T0);
    struct service_decision d;
    service_decide(&spec, &o, &prev, T0 + 20 * SEC, 1, false, false, &d);
    ck_assert_int_eq(d.verdict, SERVICE_RECOVERING);
    ck_assert_int_eq(d.action, SERVICE_ACT_RECOVER);
    ck_assert_int_eq(d.next.recovery_attempts, 1);
    ck_assert_int_eq(d.next.last_recovery_ms, T0 + 20 * SEC);
    ck_assert_int_eq(d.next.failing_since_ms, T0);
    ck_assert(d.action_in_flight);
    ck_assert_int_eq(d.requeue_after_ms, 30 * SEC); /* grace = 3 × 10 s */
    ck_assert_str_eq(d.reason, "Recovering");
    ck_assert_ptr_nonnull(strstr(d.message, "connection refused"));
}
END_TEST

START_TEST(test_no_attempt_inside_the_grace_period)
{
    struct service_state prev = {.recovery_attempts = 1, .last_recovery_ms = T0,
                                 .failing_since_ms = T0 - 30 * SEC};
    struct service_observation o = failing(5, T0 - 30 * SEC);
    struct service_decision d;
    service_decide(&spec, &o, &prev, T0 + 29 * SEC, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_NONE);
    ck_assert_int_eq(d.verdict, SERVICE_UNHEALTHY);
    ck_assert(d.action_in_flight);
    ck_assert_int_eq(d.requeue_after_ms, 1 * SEC);
}
END_TEST

START_TEST(test_attempts_are_spaced_by_doubling_backoff)
{
    spec.health_check.failure_threshold = 1;
    spec.health_check.interval_ms = 1 * SEC; /* grace 1 s, shorter than the backoff */
    struct service_state s = {0};
    struct service_observation o = failing(1, T0);
    struct service_decision d;
    int64_t now = T0;
    int64_t attempt_times[3];
    int made = 0;
    /* step the clock one second at a time for 2 minutes */
    for (int i = 0; i < 120 && made < 4; i++, now += SEC) {
        service_decide(&spec, &o, &s, now, 1, false, false, &d);
        if (d.action == SERVICE_ACT_RECOVER) {
            ck_assert_int_lt(made, 3);
            attempt_times[made++] = now;
        }
        s = d.next;
    }
    ck_assert_int_eq(made, 3);
    ck_assert_int_eq(attempt_times[1] - attempt_times[0], 10 * SEC); /* backoff·2^0 */
    ck_assert_int_eq(attempt_times[2] - attempt_times[1], 20 * SEC); /* backoff·2^1 */
    ck_assert(s.exhausted);
    ck_assert_int_eq(d.verdict, SERVICE_EXHAUSTED);
}
END_TEST

START_TEST(test_exhausted_after_max_attempts_and_no_more_actions)
{
    struct service_state prev = {.recovery_attempts = 3, .last_recovery_ms = T0,
                                 .failing_since_ms = T0 - 60 * SEC};
    struct service_observation o = failing(9, T0 - 60 * SEC);
    struct service_decision d;
    service_decide(&spec, &o, &prev, T0 + 31 * SEC, 4, false, false, &d);
    ck_assert_int_eq(d.verdict, SERVICE_EXHAUSTED);
    ck_assert(d.gave_up);
    ck_assert(d.next.exhausted);
    ck_assert_int_eq(d.next.exhausted_generation, 4);
    ck_assert_str_eq(d.reason, "RecoveryExhausted");
    struct service_state s = d.next;
    for (int i = 1; i < 100; i++) {
        service_decide(&spec, &o, &s, T0 + 31 * SEC + i * 60 * SEC, 4, false, false, &d);
        ck_assert_int_eq(d.action, SERVICE_ACT_NONE);
        ck_assert(!d.gave_up);
        s = d.next;
    }
}
END_TEST

START_TEST(test_spec_change_or_reset_clears_exhaustion)
{
    struct service_state prev = {.recovery_attempts = 3, .exhausted = true,
                                 .exhausted_generation = 4, .last_recovery_ms = T0};
    struct service_observation o = failing(9, T0 - 60 * SEC);
    struct service_decision d;
    service_decide(&spec, &o, &prev, T0 + 3600 * SEC, 5, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_RECOVER);
    ck_assert_int_eq(d.next.recovery_attempts, 1);
    service_decide(&spec, &o, &prev, T0 + 3600 * SEC, 4, false, true, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_RECOVER);
}
END_TEST

START_TEST(test_attempts_reset_only_after_healthy_for_reset_after)
{
    struct service_state prev = {.recovery_attempts = 2, .last_recovery_ms = T0,
                                 .failing_since_ms = T0 - 5 * SEC};
    struct service_observation o = healthy_at(T0 + 2 * SEC);
    struct service_decision d;
    service_decide(&spec, &o, &prev, T0 + 2 * SEC, 1, false, false, &d);
    ck_assert_int_eq(d.verdict, SERVICE_HEALTHY);
    ck_assert(d.healed);
    ck_assert_int_eq(d.next.recovery_attempts, 2);
    ck_assert_int_eq(d.requeue_after_ms, 600 * SEC);
    struct service_state s = d.next;
    service_decide(&spec, &o, &s, T0 + 2 * SEC + 599 * SEC, 1, false, false, &d);
    ck_assert_int_eq(d.next.recovery_attempts, 2);
    service_decide(&spec, &o, &s, T0 + 2 * SEC + 600 * SEC, 1, false, false, &d);
    ck_assert_int_eq(d.next.recovery_attempts, 0);
}
END_TEST

START_TEST(test_flapping_service_never_exceeds_max_attempts_before_reset_after)
{
    spec.health_check.failure_threshold = 1;
    spec.health_check.interval_ms = 1 * SEC;
    spec.recovery.backoff_ms = 1 * SEC;
    struct service_state s = {0};
    struct service_decision d;
    int actions = 0;
    /* healthy for 5 s, down for 5 s, for 10 minutes (shorter than resetAfter) */
    for (int64_t t = 0; t < 590; t++) {
        int64_t now = T0 + t * SEC;
        bool down = (t / 5) % 2 == 1;
        struct service_observation o = down ? failing(1, now) : healthy_at(now);
        service_decide(&spec, &o, &s, now, 1, false, false, &d);
        if (d.action == SERVICE_ACT_RECOVER)
            actions++;
        s = d.next;
    }
    ck_assert_int_eq(actions, 3);
}
END_TEST

START_TEST(test_mttr_runs_from_first_failed_probe_to_first_healthy_probe)
{
    struct service_state prev = {.recovery_attempts = 1, .last_recovery_ms = T0 + 400,
                                 .failing_since_ms = T0};
    struct service_observation o = healthy_at(T0 + 1700);
    struct service_decision d;
    service_decide(&spec, &o, &prev, T0 + 1750, 1, false, false, &d);
    ck_assert(d.healed);
    ck_assert_double_eq_tol(d.next.last_recovery_seconds, 1.7, 1e-9);
    ck_assert_int_eq(d.next.failing_since_ms, 0);
    ck_assert_int_eq(d.next.incidents, 1);
}
END_TEST

START_TEST(test_dry_run_plans_and_never_counts_an_attempt)
{
    struct service_state prev = {0};
    struct service_observation o = failing(3, T0);
    struct service_decision d;
    service_decide(&spec, &o, &prev, T0 + 30 * SEC, 1, true, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_RECOVER);
    ck_assert(d.planned_only);
    ck_assert_int_eq(d.next.recovery_attempts, 0);
    ck_assert_ptr_nonnull(strstr(d.message, "dry run: would restart the service"));
}
END_TEST

START_TEST(test_supervised_process_is_started_then_its_exit_is_unhealthy)
{
    struct service_state prev = {0};
    struct service_observation o = {.supervised = true};
    struct service_decision d;
    service_decide(&spec, &o, &prev, T0, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_START);
    ck_assert_int_eq(d.next.recovery_attempts, 0);

    o = healthy_at(T0 + SEC);
    o.supervised = o.process_ever_started = true;
    o.process_running = false;
    snprintf(o.process_exit, sizeof o.process_exit, "was killed by signal 9");
    prev.healthy = true;
    service_decide(&spec, &o, &prev, T0 + 2 * SEC, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_RECOVER);
    ck_assert_int_eq(d.next.recovery_attempts, 1);
    ck_assert_ptr_nonnull(strstr(d.message, "the service process was killed by signal 9"));
}
END_TEST

START_TEST(test_a_success_seen_before_the_incident_does_not_heal_it)
{
    /* the process was killed at T0 + 5 s; the prober's newest result is
     * still the success from before: restarted, but not healed yet */
    struct service_state prev = {.recovery_attempts = 1, .last_recovery_ms = T0 + 5 * SEC,
                                 .failing_since_ms = T0 + 5 * SEC};
    struct service_observation o = healthy_at(T0 + 4 * SEC);
    o.supervised = o.process_ever_started = o.process_running = true;
    struct service_decision d;
    service_decide(&spec, &o, &prev, T0 + 6 * SEC, 1, false, false, &d);
    ck_assert(!d.healed);
    ck_assert_int_eq(d.verdict, SERVICE_UNHEALTHY);
    ck_assert_int_eq(d.action, SERVICE_ACT_NONE);
    ck_assert(d.action_in_flight);
    ck_assert_ptr_nonnull(strstr(d.message, "no healthy probe since the incident began"));
    o = healthy_at(T0 + 7 * SEC);
    o.supervised = o.process_ever_started = o.process_running = true;
    struct service_state s = d.next;
    service_decide(&spec, &o, &s, T0 + 7 * SEC, 1, false, false, &d);
    ck_assert(d.healed);
    ck_assert_double_eq_tol(d.next.last_recovery_seconds, 2.0, 1e-9);
}
END_TEST

START_TEST(test_no_probe_yet_is_unknown_not_unhealthy)
{
    struct service_state prev = {0};
    struct service_observation o = {0};
    struct service_decision d;
    service_decide(&spec, &o, &prev, T0, 1, false, false, &d);
    ck_assert_int_eq(d.verdict, SERVICE_UNKNOWN);
    ck_assert_int_eq(d.action, SERVICE_ACT_NONE);
    ck_assert_str_eq(d.reason, "Probing");
}
END_TEST

Suite *service_decide_suite(void)
{
    Suite *s = suite_create("service_decide");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_below_failure_threshold_is_still_healthy);
    tcase_add_test(tc, test_reaching_failure_threshold_recovers_at_once);
    tcase_add_test(tc, test_no_attempt_inside_the_grace_period);
    tcase_add_test(tc, test_attempts_are_spaced_by_doubling_backoff);
    tcase_add_test(tc, test_exhausted_after_max_attempts_and_no_more_actions);
    tcase_add_test(tc, test_spec_change_or_reset_clears_exhaustion);
    tcase_add_test(tc, test_attempts_reset_only_after_healthy_for_reset_after);
    tcase_add_test(tc, test_flapping_service_never_exceeds_max_attempts_before_reset_after);
    tcase_add_test(tc, test_mttr_runs_from_first_failed_probe_to_first_healthy_probe);
    tcase_add_test(tc, test_dry_run_plans_and_never_counts_an_attempt);
    tcase_add_test(tc, test_supervised_process_is_started_then_its_exit_is_unhealthy);
    tcase_add_test(tc, test_no_probe_yet_is_unknown_not_unhealthy);
    tcase_add_test(tc, test_a_success_seen_before_the_incident_does_not_heal_it);
    suite_add_tcase(s, tc);
    return s;
}
