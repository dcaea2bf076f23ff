/* service_status.c — status.service <-> struct service_state. */
#include "service/service_status.h"

#include <string.h>

#include "base/errors.h"
#include "runtime/status.h"

void service_state_read(const cJSON *sec, struct service_state *s)
{
    memset(s, 0, sizeof *s);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(sec, "healthy");
    s->healthy = cJSON_IsTrue(h);
    s->consecutive_failures = (int)status_num(sec, "consecutiveFailures", 0);
    s->recovery_attempts = (int)status_num(sec, "recoveryAttempts", 0);
    s->last_recovery_ms = status_time(sec, "lastRecoveryTime", 0);
    if (s->last_recovery_ms == 0) {
        s->last_recovery_ms = status_time(sec, "lastStartTime", 0);
        s->last_action_start = s->last_recovery_ms != 0;
    }
    s->last_recovery_seconds = status_num(sec, "lastRecoverySeconds", -1);
    s->failing_since_ms = status_time(sec, "failingSince", 0);
    s->healthy_since_ms = status_time(sec, "healthySince", 0);
    s->exhausted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sec, "exhausted"));
    s->exhausted_generation = (int64_t)status_num(sec, "exhaustedGeneration", 0);
    s->incidents = (int64_t)status_num(sec, "incidents", 0);
}

int service_state_write(const struct service_state *s, cJSON *sec)
{
    while (sec->child)
        cJSON_Delete(cJSON_DetachItemViaPointer(sec, sec->child));
    int r = status_put_bool(sec, "healthy", s->healthy);
    if (s->consecutive_failures)
        r |= status_put_num(sec, "consecutiveFailures", s->consecutive_failures);
    if (s->recovery_attempts)
        r |= status_put_num(sec, "recoveryAttempts", s->recovery_attempts);
    r |= status_put_time_ms(sec, s->last_action_start ? "lastStartTime" : "lastRecoveryTime",
                            s->last_recovery_ms);
    if (s->last_recovery_seconds >= 0)
        r |= status_put_num(sec, "lastRecoverySeconds",
                            (double)(int64_t)(s->last_recovery_seconds * 1000 + 0.5) / 1000);
    r |= status_put_time_ms(sec, "failingSince", s->failing_since_ms);
    r |= status_put_time_ms(sec, "healthySince", s->healthy_since_ms);
    if (s->exhausted) {
        r |= status_put_bool(sec, "exhausted", true);
        r |= status_put_num(sec, "exhaustedGeneration", (double)s->exhausted_generation);
    }
    if (s->incidents)
        r |= status_put_num(sec, "incidents", (double)s->incidents);
    return r ? SH_ENOMEM : 0;
}
