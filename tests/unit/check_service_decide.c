/*
 * check_service_decide.c — the service loop's rules (service_decide.h),
 * driven with plain numbers for time: thresholds, backoff doubling, the
 * grace period, exhaustion, resetAfter, spec changes, the reset annotation,
 * dry runs, supervised processes, MTTR, and the startup window.
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
    ck_assert_int_eq(d.requeue_after_ms, 10 * SEC); /* the restarted service is watched at every probe */
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
    ck_assert_ptr_nonnull(strstr(d.message, "starting: waiting up to 30s for the first healthy probe"));
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

/* ---- the startup window (issue 21, item 6) ---- */

#define MIN (60 * SEC)

/* The service: probes every 200 ms, failureThreshold 2, a model
 * server that loads for a while; the default startupTimeout (5m). */
static void slow_start_spec(void)
{
    spec.health_check.interval_ms = 200;
    spec.health_check.timeout_ms = 150;
    spec.health_check.failure_threshold = 2;
    spec.health_check.startup_timeout_ms = 5 * MIN;
    spec.recovery.backoff_ms = 200;
}

/* A live supervised process started at `started`, every probe refused since
 * `first_failure`. */
static struct service_observation starting_proc(int64_t started, int failures,
                                                int64_t first_failure)
{
    struct service_observation o = failing(failures, first_failure);
    o.supervised = o.process_ever_started = o.process_running = true;
    o.process_started_ms = started;
    return o;
}

START_TEST(test_failures_of_a_live_process_while_starting_do_not_count)
{
    slow_start_spec();
    struct service_state s = {.last_recovery_ms = T0}; /* the controller started it at T0 */
    struct service_decision d;
    /* 400 ms in: the restart; 1 s, 1 min, 4 min 59 s: still starting */
    const int64_t at[] = {400, SEC, MIN, 5 * MIN - SEC, 5 * MIN - 50};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        struct service_observation o = starting_proc(T0, (int)(at[i] / 200), T0 + 200);
        service_decide(&spec, &o, &s, T0 + at[i], 1, false, false, &d);
        ck_assert_int_eq(d.verdict, SERVICE_STARTING);
        ck_assert_int_eq(d.action, SERVICE_ACT_NONE);
        ck_assert(d.action_in_flight); /* no accuracy verdict on a starting service */
        /* every probe, and the window's end */
        ck_assert_int_eq(d.requeue_after_ms, at[i] == 5 * MIN - 50 ? 50 : 200);
        ck_assert_str_eq(d.reason, "Starting");
        ck_assert_ptr_nonnull(strstr(d.message, "starting: waiting up to 5m for the first healthy probe"));
        ck_assert_ptr_nonnull(strstr(d.message, "connection refused"));
        ck_assert_int_eq(d.next.recovery_attempts, 0);
        ck_assert_int_eq(d.next.failing_since_ms, 0);
        s = d.next;
    }
    /* the first answer ends it: healthy, and no incident was opened */
    struct service_observation o = healthy_at(T0 + 5 * MIN - 500);
    o.supervised = o.process_ever_started = o.process_running = true;
    o.process_started_ms = T0;
    service_decide(&spec, &o, &s, T0 + 5 * MIN - 400, 1, false, false, &d);
    ck_assert_int_eq(d.verdict, SERVICE_HEALTHY);
    ck_assert(!d.healed);
    ck_assert(!d.action_in_flight);
    ck_assert_int_eq(d.next.incidents, 0);
}
END_TEST

START_TEST(test_a_process_that_exits_while_starting_counts_at_once)
{
    slow_start_spec();
    struct service_state s = {.last_recovery_ms = T0};
    struct service_observation o = starting_proc(T0, 2, T0 + 200);
    o.process_running = false;
    o.process_started_ms = 0;
    snprintf(o.process_exit, sizeof o.process_exit, "exited with status 1");
    struct service_decision d;
    service_decide(&spec, &o, &s, T0 + 500, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_RECOVER);
    ck_assert_int_eq(d.verdict, SERVICE_RECOVERING);
    ck_assert_int_eq(d.next.recovery_attempts, 1);
    ck_assert_ptr_nonnull(strstr(d.message, "the service process exited with status 1"));
    /* the restarted one dies too: attempt 2 as soon as the backoff allows */
    s = d.next;
    snprintf(o.process_exit, sizeof o.process_exit, "exited with status 1");
    service_decide(&spec, &o, &s, T0 + 600, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_NONE); /* backoff 200 ms from T0 + 500 */
    ck_assert_int_eq(d.requeue_after_ms, 100);
    service_decide(&spec, &o, &s, T0 + 700, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_RECOVER);
    ck_assert_int_eq(d.next.recovery_attempts, 2);
}
END_TEST

START_TEST(test_after_the_startup_window_failures_count)
{
    slow_start_spec();
    struct service_state s = {.last_recovery_ms = T0};
    /* never answered in 5 minutes: unhealthy at the window's end */
    struct service_observation o = starting_proc(T0, 1500, T0 + 200);
    struct service_decision d;
    service_decide(&spec, &o, &s, T0 + 5 * MIN, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_RECOVER);
    ck_assert_int_eq(d.next.failing_since_ms, T0 + 200);
    ck_assert_ptr_nonnull(strstr(d.message, "1500 consecutive probe failures"));

    /* answered once at 3 s: the window is over, failureThreshold counts again */
    s = (struct service_state){.last_recovery_ms = T0, .healthy = true,
                               .healthy_since_ms = T0 + 3 * SEC};
    o = starting_proc(T0, 1, T0 + 3200);
    o.last_success_ms = T0 + 3 * SEC;
    service_decide(&spec, &o, &s, T0 + 3200, 1, false, false, &d);
    ck_assert_int_eq(d.verdict, SERVICE_HEALTHY); /* 1 of 2 allowed */
    o.consecutive_failures = 2;
    service_decide(&spec, &o, &s, T0 + 3400, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_RECOVER);
}
END_TEST

START_TEST(test_the_window_restarts_after_each_restart)
{
    slow_start_spec();
    spec.recovery.max_attempts = 3;
    /* attempt 1 at T0 + 5 min (the first start never answered) */
    struct service_state s = {.last_recovery_ms = T0};
    struct service_observation o = starting_proc(T0, 1500, T0 + 200);
    struct service_decision d;
    int64_t t1 = T0 + 5 * MIN;
    service_decide(&spec, &o, &s, t1, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_RECOVER);
    ck_assert_int_eq(d.requeue_after_ms, 200); /* watch the new start at every probe */
    s = d.next;
    /* the restarted process (started 20 ms later) is starting: the old
     * failure streak goes on, and still no attempt 2 for 5 minutes */
    for (int64_t t = t1 + 400; t < t1 + 20 + 5 * MIN; t += 30 * SEC) {
        o = starting_proc(t1 + 20, (int)((t - T0) / 200), T0 + 200);
        service_decide(&spec, &o, &s, t, 1, false, false, &d);
        ck_assert_int_eq(d.action, SERVICE_ACT_NONE);
        ck_assert_int_eq(d.verdict, SERVICE_UNHEALTHY); /* the incident is open */
        ck_assert_str_eq(d.reason, "Recovering");
        ck_assert(d.action_in_flight);
        ck_assert_ptr_nonnull(strstr(d.message, "attempt 1 of 3 made; starting: waiting up to 5m"));
        s = d.next;
    }
    /* the new one answers: healed, MTTR from the first failed probe */
    o = healthy_at(t1 + 40 * SEC);
    o.supervised = o.process_ever_started = o.process_running = true;
    o.process_started_ms = t1 + 20;
    s.failing_since_ms = T0 + 200;
    service_decide(&spec, &o, &s, t1 + 40 * SEC, 1, false, false, &d);
    ck_assert(d.healed);
    /* a restart the controller did not make (a model reload, a changed
     * command) starts a window too */
    s = d.next;
    o = starting_proc(t1 + 60 * SEC, 3, t1 + 60 * SEC + 200);
    o.last_success_ms = t1 + 59 * SEC;
    service_decide(&spec, &o, &s, t1 + 61 * SEC, 1, false, false, &d);
    ck_assert_int_eq(d.verdict, SERVICE_STARTING);
    ck_assert_int_eq(d.action, SERVICE_ACT_NONE);
}
END_TEST

START_TEST(test_cluster_restart_starts_a_window_that_ends_at_the_first_success)
{
    slow_start_spec();
    spec.recovery.method = RECOVERY_RESTART;
    /* attempt 1 at T0 after a failure streak: nothing to watch, the window
     * runs from the controller's action */
    struct service_state s = {.recovery_attempts = 1, .last_recovery_ms = T0,
                              .failing_since_ms = T0 - SEC};
    struct service_decision d;
    struct service_observation o = failing(600, T0 - SEC);
    service_decide(&spec, &o, &s, T0 + 2 * MIN, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_NONE);
    ck_assert_int_eq(d.verdict, SERVICE_UNHEALTHY);
    ck_assert(d.action_in_flight);
    ck_assert_int_eq(d.requeue_after_ms, 200);
    ck_assert_ptr_nonnull(strstr(d.message, "starting: waiting up to 5m"));
    /* the new pods answer: healed; then failures count at failureThreshold */
    o = healthy_at(T0 + 3 * MIN);
    service_decide(&spec, &o, &s, T0 + 3 * MIN, 1, false, false, &d);
    ck_assert(d.healed);
    s = d.next;
    o = failing(2, T0 + 4 * MIN);
    o.last_success_ms = T0 + 3 * MIN;
    service_decide(&spec, &o, &s, T0 + 4 * MIN + 200, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_RECOVER);
    ck_assert_int_eq(d.next.recovery_attempts, 2);
    /* never answering: attempt 3 at the window's end, not before */
    s = d.next;
    int64_t t2 = T0 + 4 * MIN + 200;
    o = failing(900, T0 + 4 * MIN);
    o.last_success_ms = T0 + 3 * MIN;
    service_decide(&spec, &o, &s, t2 + 5 * MIN - 1, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_NONE);
    service_decide(&spec, &o, &s, t2 + 5 * MIN, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_RECOVER);
}
END_TEST

START_TEST(test_startup_timeout_zero_leaves_only_the_grace_period)
{
    slow_start_spec();
    spec.health_check.startup_timeout_ms = 0;
    ck_assert_int_eq(service_startup_window_ms(&spec), 400); /* 2 × 200 ms */
    struct service_state s = {.last_recovery_ms = T0};
    struct service_observation o = starting_proc(T0, 1, T0 + 200);
    struct service_decision d;
    service_decide(&spec, &o, &s, T0 + 300, 1, false, false, &d);
    ck_assert_int_eq(d.verdict, SERVICE_STARTING);
    o = starting_proc(T0, 2, T0 + 200);
    service_decide(&spec, &o, &s, T0 + 400, 1, false, false, &d);
    ck_assert_int_eq(d.action, SERVICE_ACT_RECOVER);
    spec.health_check.startup_timeout_ms = 2 * MIN;
    ck_assert_int_eq(service_startup_window_ms(&spec), 2 * MIN);
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
    tcase_add_test(tc, test_failures_of_a_live_process_while_starting_do_not_count);
    tcase_add_test(tc, test_a_process_that_exits_while_starting_counts_at_once);
    tcase_add_test(tc, test_after_the_startup_window_failures_count);
    tcase_add_test(tc, test_the_window_restarts_after_each_restart);
    tcase_add_test(tc, test_cluster_restart_starts_a_window_that_ends_at_the_first_success);
    tcase_add_test(tc, test_startup_timeout_zero_leaves_only_the_grace_period);
    suite_add_tcase(s, tc);
    return s;
}
