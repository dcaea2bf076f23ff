/* retrain_log.c — the retraining log's object format, on the audit-file
 * mechanism of base/auditlog.h (retrain_log.h). */
#include "drift/retrain_log.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/auditlog.h"
#include "base/clock.h"
#include "base/errors.h"

void retrain_event_init(struct retrain_event *e)
{
    memset(e, 0, sizeof *e);
    e->drift_score = NAN;
    e->threshold = NAN;
    e->exit_code = -1;
    e->duration_seconds = -1;
}

/* {"last_retrain_time": string | null, "events": [...]}, both optional. */
static bool log_valid(const cJSON *o)
{
    const cJSON *ev = o ? cJSON_GetObjectItemCaseSensitive(o, "events") : NULL;
    const cJSON *lt = o ? cJSON_GetObjectItemCaseSensitive(o, "last_retrain_time") : NULL;
    return cJSON_IsObject(o) && (!ev || cJSON_IsArray(ev)) &&
           (!lt || cJSON_IsString(lt) || cJSON_IsNull(lt));
}

static cJSON *log_create(void)
{
    return cJSON_CreateObject();
}

static const struct auditlog_format retrain_log_format = {
    .valid = log_valid,
    .create = log_create,
    .invalid = "not a retraining log (an object with last_retrain_time and events)",
    .aside_unreadable = false,
};

int retrain_log_last(const char *path, int64_t *ret_ms, char **ret_err)
{
    *ret_ms = 0;
    cJSON *o = NULL;
    int r = auditlog_load(path, &retrain_log_format, &o, ret_err);
    if (r != 0)
        return r;
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(o, "last_retrain_time");
    if (cJSON_IsString(lt) && clock_parse_rfc3339(lt->valuestring, ret_ms) != 0) {
        if (ret_err && asprintf(ret_err, "%s: last_retrain_time is not an RFC 3339 time", path) < 0)
            *ret_err = NULL;
        cJSON_Delete(o);
        return SH_EPARSE;
    }
    cJSON_Delete(o);
    return 0;
}

static cJSON *event_json(const struct retrain_event *e)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char ts[40];
    cJSON_AddStringToObject(o, "timestamp", clock_format_rfc3339_ms(e->time_ms, ts, sizeof ts));
    if (e->trigger)
        cJSON_AddStringToObject(o, "trigger", e->trigger);
    if (e->pipeline)
        cJSON_AddStringToObject(o, "pipeline", e->pipeline);
    if (!isnan(e->drift_score))
        cJSON_AddNumberToObject(o, "drift_score", e->drift_score);
    if (!isnan(e->threshold))
        cJSON_AddNumberToObject(o, "threshold", e->threshold);
    cJSON_AddStringToObject(o, "status", e->status ? e->status : "unknown");
    if (e->reason)
        cJSON_AddStringToObject(o, "reason", e->reason);
    if (e->drifted_features) {
        cJSON *a = cJSON_AddArrayToObject(o, "drifted_features");
        for (size_t i = 0; a && i < e->ndrifted; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(e->drifted_features[i]));
    }
    if (e->command) {
        cJSON *a = cJSON_AddArrayToObject(o, "command");
        for (size_t i = 0; a && e->command[i]; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(e->command[i]));
    }
    if (e->exit_code >= 0)
        cJSON_AddNumberToObject(o, "exit_code", e->exit_code);
    if (e->duration_seconds >= 0)
        cJSON_AddNumberToObject(o, "duration_seconds", round(e->duration_seconds * 1000) / 1000);
    if (e->model_version)
        cJSON_AddStringToObject(o, "model_version", e->model_version);
    if (e->model_note)
        cJSON_AddStringToObject(o, "model", e->model_note);
    if (e->log)
        cJSON_AddStringToObject(o, "log", e->log);
    return o;
}

struct append_arg {
    const struct retrain_event *e;
    cJSON *ev; /* taken by the log once added */
    bool set_last;
};

/* Adds the event (keeping the newest RETRAIN_LOG_MAX_EVENTS) and, when asked,
 * sets last_retrain_time. */
static int add_event(cJSON *o, void *arg)
{
    struct append_arg *a = arg;
    cJSON *events = cJSON_GetObjectItemCaseSensitive(o, "events");
    if (!events)
        events = cJSON_AddArrayToObject(o, "events");
    cJSON *lt = cJSON_GetObjectItemCaseSensitive(o, "last_retrain_time");
    if (!lt)
        lt = cJSON_AddNullToObject(o, "last_retrain_time");
    if (!events || !lt)
        return SH_ENOMEM;
    cJSON_AddItemToArray(events, a->ev);
    a->ev = NULL;
    while (cJSON_GetArraySize(events) > RETRAIN_LOG_MAX_EVENTS)
        cJSON_DeleteItemFromArray(events, 0);
    if (!a->set_last)
        return 0;
    char ts[32];
    cJSON *nt = cJSON_CreateString(clock_format_rfc3339(a->e->time_ms, ts, sizeof ts));
    if (!nt || !cJSON_ReplaceItemInObjectCaseSensitive(o, "last_retrain_time", nt)) {
        cJSON_Delete(nt);
        return SH_ENOMEM;
    }
    return 0;
}

int retrain_log_append(const char *path, const struct retrain_event *e, bool set_last,
                       char **ret_err, char **ret_warn)
{
    struct append_arg a = {e, event_json(e), set_last};
    if (!a.ev)
        return SH_ENOMEM;
    int r = auditlog_update(path, &retrain_log_format, add_event, &a, ret_err, ret_warn);
    cJSON_Delete(a.ev);
    return r;
}
