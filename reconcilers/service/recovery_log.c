/* recovery_log.c — records of the recovery audit log (recovery_log.h). */
#include "service/recovery_log.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base/auditlog.h"
#include "base/clock.h"
#include "base/errors.h"

#define RECOVERY_LOG_MAX_ENTRIES 10000

static void add_str(cJSON *o, const char *name, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, name, v);
}

int recovery_log_append(const char *path, const struct recovery_record *r, char **ret_err,
                        char **ret_warn)
{
    cJSON *e = cJSON_CreateObject();
    if (!e)
        return SH_ENOMEM;
    char when[40];
    clock_format_rfc3339_ms(r->time_ms, when, sizeof when);
    add_str(e, "timestamp", when);
    add_str(e, "source", r->source);
    add_str(e, "pipeline", r->pipeline);
    add_str(e, "service_url", r->service_url);
    add_str(e, "method", r->method);
    add_str(e, "action", r->action);
    if (r->attempt > 0) {
        cJSON_AddNumberToObject(e, "attempt", r->attempt);
        cJSON_AddNumberToObject(e, "max_attempts", r->max_attempts);
    }
    add_str(e, "outcome", r->outcome);
    add_str(e, "trigger", r->trigger);
    add_str(e, "error", r->error);
    if (r->mttr_seconds >= 0)
        cJSON_AddNumberToObject(e, "mttr_seconds",
                                (double)(int64_t)(r->mttr_seconds * 1000 + 0.5) / 1000);
    int err = auditlog_append(path, e, RECOVERY_LOG_MAX_ENTRIES, ret_err, ret_warn);
    cJSON_Delete(e);
    return err;
}
