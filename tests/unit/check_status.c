/* check_status.c — conditions, phase, history and planned actions (status.h). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/errors.h"
#include "runtime/status.h"

Suite *status_suite(void);

#define T0 1795888800000LL /* 2026-11-28T18:00:00Z */

START_TEST(test_condition_keeps_transition_time_while_status_is_unchanged)
{
    cJSON *st = status_new();
    ck_assert_int_eq(status_set_condition(st, COND_SERVICE_HEALTHY, COND_TRUE, "ProbeSucceeded",
                                          "ok", 1, T0),
                     0);
    ck_assert_int_eq(status_set_condition(st, COND_SERVICE_HEALTHY, COND_TRUE, "ProbeSucceeded",
                                          "still ok", 2, T0 + 60000),
                     0);
    const cJSON *c = status_get_condition(st, COND_SERVICE_HEALTHY);
    ck_assert_str_eq(status_str(c, "lastTransitionTime"), "2026-11-28T18:00:00Z");
    ck_assert_str_eq(status_str(c, "message"), "still ok");
    ck_assert_int_eq((int)status_num(c, "observedGeneration", 0), 2);
    cJSON_Delete(st);
}
END_TEST

START_TEST(test_condition_transition_time_moves_when_status_changes)
{
    cJSON *st = status_new();
    status_set_condition(st, COND_SERVICE_HEALTHY, COND_TRUE, "ProbeSucceeded", "", 1, T0);
    status_set_condition(st, COND_SERVICE_HEALTHY, COND_FALSE, "ProbeFailed", "refused", 1,
                         T0 + 5000);
    const cJSON *c = status_get_condition(st, COND_SERVICE_HEALTHY);
    ck_assert_str_eq(status_str(c, "lastTransitionTime"), "2026-11-28T18:00:05Z");
    ck_assert_str_eq(status_str(c, "status"), "False");
    ck_assert_int_eq(status_condition_status(st, COND_SERVICE_HEALTHY), COND_FALSE);
    ck_assert_str_eq(status_condition_reason(st, COND_SERVICE_HEALTHY), "ProbeFailed");
    ck_assert_int_eq(status_condition_status(st, COND_MODEL_VALID), COND_UNKNOWN);
    cJSON_Delete(st);
}
END_TEST

START_TEST(test_conditions_are_ordered_ready_first_then_loops_by_priority)
{
    cJSON *st = status_new();
    status_set_condition(st, COND_MODEL_FRESH, COND_TRUE, "NoDrift", "", 1, T0);
    status_set_condition(st, COND_SERVICE_HEALTHY, COND_TRUE, "ProbeSucceeded", "", 1, T0);
    status_set_condition(st, COND_READY, COND_TRUE, "AllHealthy", "", 1, T0);
    status_set_condition(st, COND_MODEL_VALID, COND_TRUE, "AboveThreshold", "", 1, T0);
    const cJSON *arr = cJSON_GetObjectItem(st, "conditions");
    const char *want[] = {COND_READY, COND_SERVICE_HEALTHY, COND_MODEL_VALID, COND_MODEL_FRESH};
    ck_assert_int_eq(cJSON_GetArraySize(arr), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(status_str(cJSON_GetArrayItem(arr, i), "type"), want[i]);
    status_remove_condition(st, COND_MODEL_VALID);
    ck_assert_ptr_null(status_get_condition(st, COND_MODEL_VALID));
    ck_assert_int_eq(cJSON_GetArraySize(arr), 3);
    cJSON_Delete(st);
}
END_TEST

START_TEST(test_history_keeps_the_newest_twenty)
{
    cJSON *st = status_new();
    for (int i = 0; i < 25; i++) {
        char to[16];
        snprintf(to, sizeof to, "v%d", i);
        struct history_entry e = {.time_ms = T0 + i * 1000, .loop = "model", .action = "rollback",
                                  .to = to, .outcome = "succeeded", .duration_seconds = -1};
        ck_assert_int_eq(status_history_add(st, &e), 0);
    }
    const cJSON *h = cJSON_GetObjectItem(st, "history");
    ck_assert_int_eq(cJSON_GetArraySize(h), STATUS_HISTORY_MAX);
    ck_assert_str_eq(status_str(cJSON_GetArrayItem(h, 0), "to"), "v5");
    ck_assert_str_eq(status_str(cJSON_GetArrayItem(h, 19), "to"), "v24");
    ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetArrayItem(h, 0), "durationSeconds"));
    cJSON_Delete(st);
}
END_TEST

START_TEST(test_history_finish_updates_the_started_entry_of_its_loop)
{
    cJSON *st = status_new();
    struct history_entry a = {.time_ms = T0, .loop = "service", .action = "restart",
                              .outcome = "started", .duration_seconds = -1};
    struct history_entry b = {.time_ms = T0, .loop = "model", .action = "rollback",
                              .outcome = "started", .duration_seconds = -1};
    status_history_add(st, &a);
    status_history_add(st, &b);
    ck_assert_int_eq(status_history_finish(st, "service", "succeeded", 1.23456), 0);
    const cJSON *h = cJSON_GetObjectItem(st, "history");
    ck_assert_str_eq(status_str(cJSON_GetArrayItem(h, 0), "outcome"), "succeeded");
    ck_assert_double_eq_tol(status_num(cJSON_GetArrayItem(h, 0), "durationSeconds", 0), 1.235,
                            1e-9);
    ck_assert_str_eq(status_str(cJSON_GetArrayItem(h, 1), "outcome"), "started");
    ck_assert_int_eq(status_history_finish(st, "service", "failed", 1), SH_ENOTFOUND);
    cJSON_Delete(st);
}
END_TEST

START_TEST(test_planned_actions_are_deduplicated_and_cleared_per_loop)
{
    cJSON *st = status_new();
    status_plan(st, "service", "restart the process");
    status_plan(st, "service", "restart the process");
    status_plan(st, "model", "roll back to v2");
    const cJSON *p = cJSON_GetObjectItem(st, "plannedActions");
    ck_assert_int_eq(cJSON_GetArraySize(p), 2);
    ck_assert_str_eq(cJSON_GetArrayItem(p, 0)->valuestring, "service: restart the process");
    status_plan_clear(st, "service");
    ck_assert_int_eq(cJSON_GetArraySize(p), 1);
    status_plan_clear(st, "model");
    ck_assert_ptr_null(cJSON_GetObjectItem(st, "plannedActions"));
    cJSON_Delete(st);
}
END_TEST

START_TEST(test_phase_names_round_trip_and_equality_compares_content)
{
    for (int p = 0; p < PHASE__COUNT; p++)
        ck_assert_int_eq(status_phase_parse(status_phase_name((enum phase)p)), p);
    ck_assert_int_eq(status_phase_parse("Exploded"), -1);
    cJSON *a = status_new(), *b = status_new();
    status_set_phase(a, PHASE_NEEDS_ATTENTION);
    ck_assert(!status_equal(a, b));
    status_set_phase(b, PHASE_NEEDS_ATTENTION);
    ck_assert(status_equal(a, b));
    ck_assert_int_eq(status_get_phase(a), PHASE_NEEDS_ATTENTION);
    ck_assert(!status_equal(a, NULL));
    ck_assert(status_equal(NULL, NULL));
    cJSON_Delete(a);
    cJSON_Delete(b);
}
END_TEST

START_TEST(test_section_is_created_once_and_replaced_when_not_an_object)
{
    cJSON *st = status_new();
    cJSON *s1 = status_section(st, "service");
    status_put_num(s1, "recoveryAttempts", 2);
    ck_assert_ptr_eq(status_section(st, "service"), s1);
    cJSON_AddStringToObject(st, "model", "garbage");
    cJSON *m = status_section(st, "model");
    ck_assert(cJSON_IsObject(m));
    status_put_time(m, "lastRollbackTime", T0);
    ck_assert_int_eq(status_time(m, "lastRollbackTime", 0), T0);
    status_put_time(m, "lastRollbackTime", 0);
    ck_assert_int_eq(status_time(m, "lastRollbackTime", -1), -1);
    cJSON_Delete(st);
}
END_TEST

Suite *status_suite(void)
{
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_condition_keeps_transition_time_while_status_is_unchanged);
    tcase_add_test(tc, test_condition_transition_time_moves_when_status_changes);
    tcase_add_test(tc, test_conditions_are_ordered_ready_first_then_loops_by_priority);
    tcase_add_test(tc, test_history_keeps_the_newest_twenty);
    tcase_add_test(tc, test_history_finish_updates_the_started_entry_of_its_loop);
    tcase_add_test(tc, test_planned_actions_are_deduplicated_and_cleared_per_loop);
    tcase_add_test(tc, test_phase_names_round_trip_and_equality_compares_content);
    tcase_add_test(tc, test_section_is_created_once_and_replaced_when_not_an_object);
    suite_add_tcase(s, tc);
    return s;
}
