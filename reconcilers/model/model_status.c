/* model_status.c — status.model <-> struct model_state. */
#include "model/model_status.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/errors.h"
#include "runtime/status.h"

void model_state_read(const cJSON *sec, struct model_state *s)
{
    memset(s, 0, sizeof *s);
    const char *v = status_str(sec, "version");
    snprintf(s->version, sizeof s->version, "%s", v ? v : "");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(sec, "metric");
    s->has_metric = cJSON_IsNumber(m);
    s->metric = s->has_metric ? m->valuedouble : 0;
    v = status_str(sec, "lastGoodVersion");
    snprintf(s->last_good_version, sizeof s->last_good_version, "%s", v ? v : "");
    s->last_rollback_ms = status_time(sec, "lastRollbackTime", 0);
    s->below_count = (int)status_num(sec, "belowCount", 0);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(sec, "rollbackTimes"))
    {
        int64_t t;
        if (cJSON_IsString(it) && clock_parse_rfc3339(it->valuestring, &t) == 0 &&
            s->nrollback_times < MODEL_ROLLBACKS_KEPT)
            s->rollback_times[s->nrollback_times++] = t;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(sec, "versions"))
    {
        if (s->nversions >= MODEL_VERSIONS_KEPT)
            break;
        struct model_version_record *r = &s->versions[s->nversions];
        const char *name = status_str(it, "version");
        if (!name)
            continue;
        snprintf(r->version, sizeof r->version, "%s", name);
        const cJSON *rm = cJSON_GetObjectItemCaseSensitive(it, "metric");
        r->has_metric = cJSON_IsNumber(rm);
        r->metric = r->has_metric ? rm->valuedouble : 0;
        const cJSON *rec = cJSON_GetObjectItemCaseSensitive(it, "recorded");
        r->has_recorded = cJSON_IsNumber(rec);
        r->recorded = r->has_recorded ? rec->valuedouble : 0;
        const char *ev = status_str(it, "evidence");
        r->observed = ev && strcmp(ev, "observed") == 0;
        r->since_ms = status_time(it, "since", 0);
        s->nversions++;
    }
}

static bool num_in(const cJSON *obj, const char *map, const char *name, double *ret)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, map), name);
    if (!cJSON_IsNumber(m))
        return false;
    *ret = m->valuedouble;
    return true;
}

void model_state_read_metrics(const cJSON *sec, const struct spec_model_metric *defs, size_t n,
                              struct model_state *s)
{
    if (n > MODEL_METRICS_MAX)
        n = MODEL_METRICS_MAX;
    s->nmetrics = n;
    for (size_t k = 0; k < n; k++) {
        snprintf(s->names[k], sizeof s->names[k], "%s", defs[k].name);
        struct model_metric_state *m = &s->ms[k];
        double v;
        if (num_in(sec, "metrics", defs[k].name, &v)) {
            m->value = v;
            m->has_value = true;
        }
        if (num_in(sec, "belowCounts", defs[k].name, &v))
            m->below_count = (int)v;
        if (num_in(sec, "unavailableCounts", defs[k].name, &v))
            m->unavailable_count = (int)v;
    }
    if (n > 0 && cJSON_GetObjectItemCaseSensitive(sec, "metrics")) {
        /* the list form: the first metric's map entries are its truth */
        s->metric = s->ms[0].value;
        s->has_metric = s->ms[0].has_value;
        s->below_count = s->ms[0].below_count;
    }
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(sec, "versions"))
    {
        if (i >= s->nversions)
            break;
        const char *name = status_str(it, "version");
        if (!name)
            continue;
        struct model_version_record *r = &s->versions[i++];
        if (!cJSON_GetObjectItemCaseSensitive(it, "metrics"))
            continue;
        const cJSON *obs = cJSON_GetObjectItemCaseSensitive(it, "observedMetrics");
        for (size_t k = 0; k < n; k++) {
            struct model_evidence *e = &r->ev[k];
            double v;
            e->has_metric = num_in(it, "metrics", defs[k].name, &v);
            e->metric = e->has_metric ? v : 0;
            e->has_recorded = num_in(it, "recordedMetrics", defs[k].name, &v);
            e->recorded = e->has_recorded ? v : 0;
            e->observed = false;
            const cJSON *o;
            cJSON_ArrayForEach(o, obs)
                if (cJSON_IsString(o) && strcmp(o->valuestring, defs[k].name) == 0)
                    e->observed = true;
        }
    }
}

static int put_map_num(cJSON *obj, const char *map, const char *name, double v)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, map);
    if (!m && !(m = cJSON_AddObjectToObject(obj, map)))
        return SH_ENOMEM;
    return cJSON_AddNumberToObject(m, name, v) ? 0 : SH_ENOMEM;
}

int model_state_write(const struct model_state *s, int64_t window_ms, int64_t now_ms,
                      cJSON *sec)
{
    while (sec->child)
        cJSON_Delete(cJSON_DetachItemViaPointer(sec, sec->child));
    int r = 0;
    if (s->version[0])
        r |= status_put_str(sec, "version", s->version);
    if (s->has_metric)
        r |= status_put_num(sec, "metric", model_round3(s->metric));
    if (s->last_good_version[0])
        r |= status_put_str(sec, "lastGoodVersion", s->last_good_version);
    r |= status_put_time_ms(sec, "lastRollbackTime", s->last_rollback_ms);
    size_t recent = model_rollbacks_in_window(s, window_ms, now_ms);
    if (recent)
        r |= status_put_num(sec, "rollbacksInWindow", (double)recent);
    if (s->below_count)
        r |= status_put_num(sec, "belowCount", s->below_count);
    if (s->deciding[0])
        r |= status_put_str(sec, "deciding", s->deciding);
    if (s->list_form) {
        for (size_t k = 0; k < s->nmetrics; k++) {
            const struct model_metric_state *m = &s->ms[k];
            if (k == 0 && !cJSON_AddObjectToObject(sec, "metrics"))
                r |= SH_ENOMEM;
            if (m->has_value)
                r |= put_map_num(sec, "metrics", s->names[k], model_round3(m->value));
            if (m->below_count)
                r |= put_map_num(sec, "belowCounts", s->names[k], m->below_count);
            if (m->unavailable_count)
                r |= put_map_num(sec, "unavailableCounts", s->names[k], m->unavailable_count);
        }
    }
    if (s->nrollback_times) {
        cJSON *arr = cJSON_AddArrayToObject(sec, "rollbackTimes");
        for (size_t i = 0; arr && i < s->nrollback_times; i++) {
            char buf[40];
            cJSON_AddItemToArray(arr, cJSON_CreateString(
                                          clock_format_rfc3339_ms(s->rollback_times[i], buf, sizeof buf)));
        }
        r |= arr ? 0 : SH_ENOMEM;
    }
    if (s->nversions) {
        cJSON *arr = cJSON_AddArrayToObject(sec, "versions");
        for (size_t i = 0; arr && i < s->nversions; i++) {
            cJSON *o = cJSON_CreateObject();
            if (!o)
                return SH_ENOMEM;
            r |= status_put_str(o, "version", s->versions[i].version);
            if (s->versions[i].has_metric) {
                r |= status_put_num(o, "metric", model_round3(s->versions[i].metric));
                r |= status_put_str(o, "evidence", s->versions[i].observed ? "observed" : "recorded");
            }
            if (s->versions[i].has_recorded)
                r |= status_put_num(o, "recorded", model_round3(s->versions[i].recorded));
            r |= status_put_time(o, "since", s->versions[i].since_ms);
            if (s->list_form) {
                const struct model_version_record *v = &s->versions[i];
                if (!cJSON_AddObjectToObject(o, "metrics"))
                    r |= SH_ENOMEM;
                cJSON *obs = NULL;
                for (size_t k = 0; k < s->nmetrics; k++) {
                    if (v->ev[k].has_metric)
                        r |= put_map_num(o, "metrics", s->names[k], model_round3(v->ev[k].metric));
                    if (v->ev[k].has_recorded)
                        r |= put_map_num(o, "recordedMetrics", s->names[k],
                                         model_round3(v->ev[k].recorded));
                    if (v->ev[k].has_metric && v->ev[k].observed) {
                        if (!obs && !(obs = cJSON_AddArrayToObject(o, "observedMetrics")))
                            return SH_ENOMEM;
                        cJSON_AddItemToArray(obs, cJSON_CreateString(s->names[k]));
                    }
                }
            }
            cJSON_AddItemToArray(arr, o);
        }
        r |= arr ? 0 : SH_ENOMEM;
    }
    return r ? SH_ENOMEM : 0;
}
