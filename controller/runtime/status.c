/* status.c — the status document of status.h: conditions, phase, history. */
#include "runtime/status.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/errors.h"

static const char *const phase_names[PHASE__COUNT] = {
    [PHASE_INVALID] = "Invalid",
    [PHASE_PAUSED] = "Paused",
    [PHASE_NEEDS_ATTENTION] = "NeedsAttention",
    [PHASE_RECOVERING] = "Recovering",
    [PHASE_ROLLING_BACK] = "RollingBack",
    [PHASE_FIXING_DATA] = "FixingData",
    [PHASE_RETRAINING] = "Retraining",
    [PHASE_PENDING] = "Pending",
    [PHASE_DEGRADED] = "Degraded",
    [PHASE_HEALTHY] = "Healthy",
};

const char *status_phase_name(enum phase p)
{
    return (p >= 0 && p < PHASE__COUNT) ? phase_names[p] : "Unknown";
}

int status_phase_parse(const char *name)
{
    for (int i = 0; i < PHASE__COUNT; i++)
        if (name && strcmp(name, phase_names[i]) == 0)
            return i;
    return -1;
}

const char *status_cond_status_name(enum cond_status s)
{
    switch (s) {
    case COND_TRUE:
        return "True";
    case COND_FALSE:
        return "False";
    default:
        return "Unknown";
    }
}

cJSON *status_new(void)
{
    return cJSON_CreateObject();
}

/* Replaces obj[field] with item (taken). Returns 0 or SH_ENOMEM. */
static int put_item(cJSON *obj, const char *field, cJSON *item)
{
    if (!item)
        return SH_ENOMEM;
    if (cJSON_GetObjectItemCaseSensitive(obj, field))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, field, item);
    else
        cJSON_AddItemToObject(obj, field, item);
    return 0;
}

int status_put_num(cJSON *obj, const char *field, double v)
{
    return put_item(obj, field, cJSON_CreateNumber(v));
}

int status_put_bool(cJSON *obj, const char *field, bool v)
{
    return put_item(obj, field, cJSON_CreateBool(v));
}

int status_put_str(cJSON *obj, const char *field, const char *v)
{
    if (!v) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, field);
        return 0;
    }
    return put_item(obj, field, cJSON_CreateString(v));
}

int status_put_time(cJSON *obj, const char *field, int64_t ms)
{
    if (ms <= 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, field);
        return 0;
    }
    char buf[32];
    return put_item(obj, field, cJSON_CreateString(clock_format_rfc3339(ms, buf, sizeof buf)));
}

int status_put_time_ms(cJSON *obj, const char *field, int64_t ms)
{
    if (ms <= 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, field);
        return 0;
    }
    char buf[40];
    return put_item(obj, field, cJSON_CreateString(clock_format_rfc3339_ms(ms, buf, sizeof buf)));
}

double status_num(const cJSON *obj, const char *field, double def)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, field) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

const char *status_str(const cJSON *obj, const char *field)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, field) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t status_time(const cJSON *obj, const char *field, int64_t def)
{
    const char *s = status_str(obj, field);
    int64_t ms;
    if (!s || clock_parse_rfc3339(s, &ms) != 0)
        return def;
    return ms;
}

static cJSON *conditions(cJSON *status, bool create)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(status, "conditions");
    if (!c && create) {
        c = cJSON_AddArrayToObject(status, "conditions");
    }
    return cJSON_IsArray(c) ? c : NULL;
}

const cJSON *status_get_condition(const cJSON *status, const char *type)
{
    const cJSON *arr = status ? cJSON_GetObjectItemCaseSensitive(status, "conditions") : NULL;
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        const char *t = status_str(c, "type");
        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

enum cond_status status_condition_status(const cJSON *status, const char *type)
{
    const char *s = status_str(status_get_condition(status, type), "status");
    if (!s)
        return COND_UNKNOWN;
    if (strcmp(s, "True") == 0)
        return COND_TRUE;
    if (strcmp(s, "False") == 0)
        return COND_FALSE;
    return COND_UNKNOWN;
}

const char *status_condition_reason(const cJSON *status, const char *type)
{
    const char *r = status_str(status_get_condition(status, type), "reason");
    return r ? r : "";
}

/* Condition order in the array: Ready first, then the loops in priority order. */
static int cond_rank(const char *type)
{
    static const char *const order[] = {COND_READY, COND_SERVICE_HEALTHY, COND_MODEL_VALID,
                                        COND_DATA_VALID, COND_MODEL_FRESH};
    for (int i = 0; i < 5; i++)
        if (strcmp(type, order[i]) == 0)
            return i;
    return 5;
}

/* Stable insertion sort of the (few) conditions by rank, by relinking. */
static void sort_conditions(cJSON *arr)
{
    cJSON *items[16];
    int n = 0;
    while (arr->child && n < 16)
        items[n++] = cJSON_DetachItemViaPointer(arr, arr->child);
    for (int i = 1; i < n; i++) {
        cJSON *x = items[i];
        int j = i - 1;
        while (j >= 0 && cond_rank(status_str(items[j], "type") ? status_str(items[j], "type") : "") >
                             cond_rank(status_str(x, "type") ? status_str(x, "type") : "")) {
            items[j + 1] = items[j];
            j--;
        }
        items[j + 1] = x;
    }
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, items[i]);
}

int status_set_condition(cJSON *status, const char *type, enum cond_status st, const char *reason,
                         const char *message, int64_t generation, int64_t now_ms)
{
    cJSON *arr = conditions(status, true);
    if (!arr)
        return SH_ENOMEM;
    const cJSON *old = status_get_condition(status, type);
    const char *st_name = status_cond_status_name(st);
    int64_t transition = now_ms;
    if (old) {
        const char *old_st = status_str(old, "status");
        if (old_st && strcmp(old_st, st_name) == 0)
            transition = status_time(old, "lastTransitionTime", now_ms);
    }
    cJSON *c = cJSON_CreateObject();
    if (!c)
        return SH_ENOMEM;
    int r = 0;
    r |= status_put_str(c, "type", type);
    r |= status_put_str(c, "status", st_name);
    r |= status_put_num(c, "observedGeneration", (double)generation);
    r |= status_put_time(c, "lastTransitionTime", transition);
    r |= status_put_str(c, "reason", reason ? reason : "");
    r |= status_put_str(c, "message", message ? message : "");
    if (r) {
        cJSON_Delete(c);
        return SH_ENOMEM;
    }
    /* replace in place, or append and restore the rank order */
    int idx = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const char *t = status_str(it, "type");
        if (t && strcmp(t, type) == 0) {
            cJSON_ReplaceItemInArray(arr, idx, c);
            return 0;
        }
        idx++;
    }
    cJSON_AddItemToArray(arr, c);
    sort_conditions(arr);
    return 0;
}

void status_remove_condition(cJSON *status, const char *type)
{
    cJSON *arr = conditions(status, false);
    int idx = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const char *t = status_str(it, "type");
        if (t && strcmp(t, type) == 0) {
            cJSON_DeleteItemFromArray(arr, idx);
            return;
        }
        idx++;
    }
}

void status_set_phase(cJSON *status, enum phase p)
{
    status_put_str(status, "phase", status_phase_name(p));
}

enum phase status_get_phase(const cJSON *status)
{
    int p = status_phase_parse(status_str(status, "phase"));
    return p < 0 ? PHASE_HEALTHY : (enum phase)p;
}

void status_set_observed_generation(cJSON *status, int64_t generation)
{
    status_put_num(status, "observedGeneration", (double)generation);
}

int64_t status_get_observed_generation(const cJSON *status)
{
    return (int64_t)status_num(status, "observedGeneration", 0);
}

cJSON *status_section(cJSON *status, const char *name)
{
    cJSON *s = cJSON_GetObjectItemCaseSensitive(status, name);
    if (cJSON_IsObject(s))
        return s;
    if (s)
        cJSON_DeleteItemFromObjectCaseSensitive(status, name);
    return cJSON_AddObjectToObject(status, name);
}

void status_remove_section(cJSON *status, const char *name)
{
    cJSON_DeleteItemFromObjectCaseSensitive(status, name);
}

int status_history_add(cJSON *status, const struct history_entry *e)
{
    cJSON *h = cJSON_GetObjectItemCaseSensitive(status, "history");
    if (!cJSON_IsArray(h)) {
        cJSON_DeleteItemFromObjectCaseSensitive(status, "history");
        h = cJSON_AddArrayToObject(status, "history");
        if (!h)
            return SH_ENOMEM;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return SH_ENOMEM;
    int r = status_put_time(o, "time", e->time_ms);
    r |= status_put_str(o, "loop", e->loop);
    r |= status_put_str(o, "action", e->action);
    r |= status_put_str(o, "trigger", e->trigger);
    r |= status_put_str(o, "from", e->from);
    r |= status_put_str(o, "to", e->to);
    r |= status_put_str(o, "outcome", e->outcome);
    if (e->duration_seconds >= 0)
        r |= status_put_num(o, "durationSeconds", round(e->duration_seconds * 1000) / 1000);
    if (r) {
        cJSON_Delete(o);
        return SH_ENOMEM;
    }
    cJSON_AddItemToArray(h, o);
    while (cJSON_GetArraySize(h) > STATUS_HISTORY_MAX)
        cJSON_DeleteItemFromArray(h, 0);
    return 0;
}

int status_history_finish(cJSON *status, const char *loop, const char *outcome,
                          double duration_seconds)
{
    cJSON *h = cJSON_GetObjectItemCaseSensitive(status, "history");
    for (int i = cJSON_GetArraySize(h) - 1; i >= 0; i--) {
        cJSON *o = cJSON_GetArrayItem(h, i);
        const char *l = status_str(o, "loop");
        const char *oc = status_str(o, "outcome");
        if (l && oc && strcmp(l, loop) == 0 && strcmp(oc, "started") == 0) {
            int r = status_put_str(o, "outcome", outcome);
            if (duration_seconds >= 0)
                r |= status_put_num(o, "durationSeconds", round(duration_seconds * 1000) / 1000);
            return r ? SH_ENOMEM : 0;
        }
    }
    return SH_ENOTFOUND;
}

int status_plan(cJSON *status, const char *loop, const char *text)
{
    cJSON *p = cJSON_GetObjectItemCaseSensitive(status, "plannedActions");
    if (!cJSON_IsArray(p)) {
        cJSON_DeleteItemFromObjectCaseSensitive(status, "plannedActions");
        p = cJSON_AddArrayToObject(status, "plannedActions");
        if (!p)
            return SH_ENOMEM;
    }
    size_t ll = strlen(loop);
    char line[512];
    int n = snprintf(line, sizeof line, "%s: %s", loop, text);
    if (n < 0 || (size_t)n <= ll)
        return SH_EINVAL;
    cJSON *it;
    cJSON_ArrayForEach(it, p)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, line) == 0)
            return 0;
    }
    cJSON *s = cJSON_CreateString(line);
    if (!s)
        return SH_ENOMEM;
    cJSON_AddItemToArray(p, s);
    return 0;
}

void status_plan_clear(cJSON *status, const char *loop)
{
    cJSON *p = cJSON_GetObjectItemCaseSensitive(status, "plannedActions");
    size_t ll = strlen(loop);
    for (int i = cJSON_GetArraySize(p) - 1; i >= 0; i--) {
        cJSON *it = cJSON_GetArrayItem(p, i);
        if (cJSON_IsString(it) && strncmp(it->valuestring, loop, ll) == 0 &&
            it->valuestring[ll] == ':')
            cJSON_DeleteItemFromArray(p, i);
    }
    if (p && cJSON_GetArraySize(p) == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(status, "plannedActions");
}

bool status_equal(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    return cJSON_Compare(a, b, true);
}
