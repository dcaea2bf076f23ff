/* rollback_log.c — entries of models/rollback_log.json (rollback_log.h). */
#include "model/rollback_log.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

#include "base/auditlog.h"
#include "base/clock.h"
#include "base/errors.h"
#include "base/log.h"
#include "model/model_decide.h"

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject(o, k, v);
}

int rollback_log_append(const char *path, const struct rollback_record *r, char **ret_err)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return SH_ENOMEM;
    char ts[40];
    cJSON_AddStringToObject(o, "timestamp", clock_format_rfc3339_ms(r->time_ms, ts, sizeof ts));
    cJSON_AddStringToObject(o, "action", "rollback");
    add_str(o, "trigger", r->trigger);
    add_str(o, "pipeline", r->pipeline);
    add_str(o, "metric", r->metric_name ? r->metric_name : "accuracy");
    cJSON_AddNumberToObject(o, "current_metric", model_round3(r->current_metric));
    cJSON_AddNumberToObject(o, "threshold", r->threshold);
    add_str(o, "from_version", r->from_version);
    add_str(o, "to_version", r->to_version);
    cJSON_AddNumberToObject(o, "to_version_metric", model_round3(r->to_metric));
    add_str(o, "reason", r->reason);
    add_str(o, "reload", r->reload);
    add_str(o, "reload_result", r->reload_result);
    char *warn = NULL;
    int rc = auditlog_append(path, o, 0, ret_err, &warn);
    if (warn) {
        log_warn(r->pipeline, "rollback log: %s", warn);
        free(warn);
    }
    cJSON_Delete(o);
    return rc;
}
