/*
 * check_why.c — `why`'s paragraph (controller/cli/plugin_why.h): for each
 * phase, the condition that holds it and the next step with its wait, from
 * the object alone (spec limits with their defaults, the loops' status
 * sections), at a fixed time.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cli/plugin_why.h"

Suite *why_suite(void);

#define NOW 1700000000000LL

/* An RFC 3339 time ago_ms before NOW, in a static buffer (one per slot). */
static const char *ago(int slot, int64_t ago_ms)
{
    static char bufs[4][40];
    return clock_format_rfc3339_ms(NOW - ago_ms, bufs[slot], sizeof bufs[slot]);
}

/* why() of a pipeline "p" with the given spec and status bodies (JSON). */
static char *why(const char *spec, const char *status)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"selfheal.dev/v1alpha1\",\"kind\":\"SelfHealingPipeline\","
             "\"metadata\":{\"name\":\"p\",\"namespace\":\"ml\",\"generation\":1},"
             "\"spec\":%s%s%s}",
             spec, status ? ",\"status\":" : "", status ? status : "");
    cJSON *doc = cJSON_Parse(text);
    ck_assert_msg(doc != NULL, "bad test JSON: %s", text);
    char *out = plugin_why(doc, NOW);
    cJSON_Delete(doc);
    ck_assert_ptr_nonnull(out);
    return out;
}

#define ASSERT_HAS(text, part) ck_assert_msg(strstr((text), (part)) != NULL, "\"%s\" not in: %s", (part), (text))

static const char *fast_service =
    "{\"service\":{\"healthCheck\":{\"url\":\"http://x/h\",\"interval\":\"1s\",\"failureThreshold\":2},"
    "\"recovery\":{\"method\":\"command\",\"command\":[\"true\"],\"maxAttempts\":3,\"backoff\":\"10s\"}}}";

START_TEST(test_why_names_the_backoff_left_before_the_next_recovery_attempt)
{
    char st[1024];
    snprintf(st, sizeof st,
             "{\"phase\":\"Recovering\",\"observedGeneration\":1,\"conditions\":["
             "{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"ServiceUnhealthy\"},"
             "{\"type\":\"ServiceHealthy\",\"status\":\"False\",\"reason\":\"ProbeFailed\","
             "\"message\":\"2 consecutive probe failures\"}],"
             "\"service\":{\"healthy\":false,\"recoveryAttempts\":1,\"lastRecoveryTime\":\"%s\"}}",
             ago(0, 2000));
    char *w = why(fast_service, st);
    ASSERT_HAS(w, "p is Recovering.");
    ASSERT_HAS(w, "ServiceHealthy is False (ProbeFailed): 2 consecutive probe failures.");
    ASSERT_HAS(w, "waiting 8 s of backoff before recovery attempt 2 of 3.");
    free(w);
}
END_TEST

START_TEST(test_why_says_an_attempt_is_being_judged_during_its_grace)
{
    char st[1024];
    snprintf(st, sizeof st,
             "{\"phase\":\"Recovering\",\"conditions\":[{\"type\":\"ServiceHealthy\",\"status\":"
             "\"False\",\"reason\":\"Recovering\",\"message\":\"attempt 3 of 3\"}],"
             "\"service\":{\"recoveryAttempts\":3,\"lastRecoveryTime\":\"%s\"}}",
             ago(0, 500));
    char *w = why(fast_service, st);
    ASSERT_HAS(w, "judging recovery attempt 3 of 3 in 2 s");
    ASSERT_HAS(w, "it was the last attempt");
    free(w);
}
END_TEST

START_TEST(test_why_tells_how_to_resume_after_recovery_is_exhausted)
{
    char *w = why(fast_service,
                  "{\"phase\":\"NeedsAttention\",\"conditions\":[{\"type\":\"ServiceHealthy\","
                  "\"status\":\"False\",\"reason\":\"RecoveryExhausted\",\"message\":\"3 recovery "
                  "attempts did not heal it\"}],\"service\":{\"recoveryAttempts\":3,\"exhausted\":true}}");
    ASSERT_HAS(w, "p is NeedsAttention. It is held there by ServiceHealthy is False (RecoveryExhausted)");
    ASSERT_HAS(w, "no more recovery attempts (3 of 3 used)");
    ASSERT_HAS(w, "reset p");
    ck_assert_ptr_null(strstr(w, "NAME"));
    free(w);
}
END_TEST

START_TEST(test_why_counts_the_first_attempt_at_the_next_probe)
{
    char *w = why(fast_service, "{\"phase\":\"Recovering\",\"conditions\":[{\"type\":\"ServiceHealthy\","
                                "\"status\":\"False\",\"reason\":\"ProbeFailed\"}]}");
    ASSERT_HAS(w, "recovery attempt 1 of 3 at the next probe (within 1s)");
    free(w);
}
END_TEST

START_TEST(test_why_explains_a_paused_pipeline_and_how_to_resume)
{
    char *w = why("{\"paused\":true}", "{\"phase\":\"Paused\",\"conditions\":[]}");
    ASSERT_HAS(w, "p is Paused. spec.paused is true");
    ASSERT_HAS(w, "resume p");
    free(w);
}
END_TEST

START_TEST(test_why_without_status_asks_whether_a_controller_runs)
{
    char *w = why("{}", NULL);
    ASSERT_HAS(w, "p has no status yet");
    ASSERT_HAS(w, "namespace ml");
    free(w);
}
END_TEST

START_TEST(test_why_quotes_the_invalid_spec_message)
{
    char *w = why("{}", "{\"phase\":\"Invalid\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
                        "\"reason\":\"InvalidSpec\",\"message\":\"spec.model.minAccuracy: must be "
                        "between 0 and 1, got 1.5\"}]}");
    ASSERT_HAS(w, "The spec is invalid: spec.model.minAccuracy: must be between 0 and 1, got 1.5.");
    free(w);
}
END_TEST

START_TEST(test_why_names_the_rollback_limit_within_the_window)
{
    char *w = why("{\"model\":{\"metric\":{\"source\":{\"file\":{\"path\":\"m.json\",\"jsonPointer\":\"/a\"}}},"
                  "\"rollback\":{\"maxRollbacks\":2,\"window\":\"1h\"}}}",
                  "{\"phase\":\"NeedsAttention\",\"conditions\":[{\"type\":\"ServiceHealthy\",\"status\":"
                  "\"True\",\"reason\":\"ProbeSucceeded\"},{\"type\":\"ModelValid\",\"status\":\"False\","
                  "\"reason\":\"BelowThreshold\",\"message\":\"accuracy 0.5 < 0.7\"}],"
                  "\"model\":{\"rollbacksInWindow\":2}}");
    ASSERT_HAS(w, "ModelValid is False (BelowThreshold)");
    ASSERT_HAS(w, "no more rollbacks: 2 of 2 already made within 1h");
    free(w);
}
END_TEST

START_TEST(test_why_names_the_rollback_target_below_the_limit)
{
    char *w = why("{\"model\":{\"minAccuracy\":0.8,\"failureLimit\":2}}",
                  "{\"phase\":\"Degraded\",\"conditions\":[{\"type\":\"ModelValid\",\"status\":\"False\","
                  "\"reason\":\"BelowThreshold\"}],\"model\":{\"lastGoodVersion\":\"v2\",\"rollbacksInWindow\":1}}");
    ASSERT_HAS(w, "a rollback to v2 once accuracy has been below 0.800 for 2 readings (read every 1m); 1 of 3 rollbacks used within 24h");
    free(w);
}
END_TEST

START_TEST(test_why_names_the_drift_cooldown_left)
{
    char st[1024];
    snprintf(st, sizeof st,
             "{\"phase\":\"Degraded\",\"conditions\":[{\"type\":\"ModelFresh\",\"status\":\"False\","
             "\"reason\":\"CooldownActive\"}],\"drift\":{\"lastRetrainTime\":\"%s\"}}",
             ago(0, 3600 * 1000LL));
    char *w = why("{\"drift\":{\"reference\":{\"path\":\"r.csv\"},\"current\":{\"path\":\"c.csv\"},"
                  "\"cooldown\":\"2h\",\"retrain\":{\"command\":[\"true\"]}}}", st);
    ASSERT_HAS(w, "ModelFresh is False (CooldownActive)");
    ASSERT_HAS(w, "waiting 1h of the 2h cooldown before it retrains again");
    free(w);
}
END_TEST

START_TEST(test_why_of_a_healthy_pipeline_says_nothing_is_to_be_done)
{
    char *w = why(fast_service, "{\"phase\":\"Healthy\",\"conditions\":[{\"type\":\"Ready\",\"status\":"
                                "\"True\",\"reason\":\"AllHealthy\",\"message\":\"every desired state of "
                                "the pipeline holds\"},{\"type\":\"ServiceHealthy\",\"status\":\"True\","
                                "\"reason\":\"ProbeSucceeded\"}],\"plannedActions\":[\"model: roll back to v1\"]}");
    ASSERT_HAS(w, "p is Healthy. Ready is True (AllHealthy): every desired state of the pipeline holds.");
    ASSERT_HAS(w, "Next: nothing to do; it keeps probing every 1s.");
    ASSERT_HAS(w, "Dry run: it would model: roll back to v1");
    free(w);
}
END_TEST

START_TEST(test_why_notes_a_spec_the_controller_has_not_seen_yet)
{
    cJSON *doc = cJSON_Parse("{\"metadata\":{\"name\":\"q\",\"generation\":3},\"spec\":{},"
                             "\"status\":{\"phase\":\"Healthy\",\"observedGeneration\":2}}");
    char *w = plugin_why(doc, NOW);
    cJSON_Delete(doc);
    ASSERT_HAS(w, "generation 3, it last saw 2");
    free(w);
}
END_TEST

START_TEST(test_format_wait_rounds_up_to_the_second)
{
    char b[32];
    ck_assert_str_eq(plugin_format_wait(7001, b, sizeof b), "8 s");
    ck_assert_str_eq(plugin_format_wait(-5, b, sizeof b), "0 s");
    ck_assert_str_eq(plugin_format_wait(90 * 60 * 1000LL, b, sizeof b), "1h30m");
}
END_TEST

Suite *why_suite(void)
{
    Suite *s = suite_create("why");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_why_names_the_backoff_left_before_the_next_recovery_attempt);
    tcase_add_test(tc, test_why_says_an_attempt_is_being_judged_during_its_grace);
    tcase_add_test(tc, test_why_tells_how_to_resume_after_recovery_is_exhausted);
    tcase_add_test(tc, test_why_counts_the_first_attempt_at_the_next_probe);
    tcase_add_test(tc, test_why_explains_a_paused_pipeline_and_how_to_resume);
    tcase_add_test(tc, test_why_without_status_asks_whether_a_controller_runs);
    tcase_add_test(tc, test_why_quotes_the_invalid_spec_message);
    tcase_add_test(tc, test_why_names_the_rollback_limit_within_the_window);
    tcase_add_test(tc, test_why_names_the_rollback_target_below_the_limit);
    tcase_add_test(tc, test_why_names_the_drift_cooldown_left);
    tcase_add_test(tc, test_why_of_a_healthy_pipeline_says_nothing_is_to_be_done);
    tcase_add_test(tc, test_why_notes_a_spec_the_controller_has_not_seen_yet);
    tcase_add_test(tc, test_format_wait_rounds_up_to_the_second);
    suite_add_tcase(s, tc);
    return s;
}
