/* model_decide.c — the model loop's pure decision (model_decide.h). */
#include "model/model_decide.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

double model_round3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

size_t model_rollbacks_in_window(const struct model_state *s, int64_t window_ms, int64_t now_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nrollback_times; i++)
        if (s->rollback_times[i] > now_ms - window_ms && s->rollback_times[i] <= now_ms)
            n++;
    return n;
}

static void set_reason(struct model_decision *out, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(struct model_decision *out, const char *reason, const char *fmt, ...)
{
    snprintf(out->reason, sizeof out->reason, "%s", reason);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
}

static const struct model_version *find_version(const struct model_observation *obs,
                                                const char *name, size_t *ret_idx)
{
    for (size_t i = 0; i < obs->nversions; i++) {
        if (strcmp(obs->versions[i].name, name) == 0) {
            if (ret_idx)
                *ret_idx = i;
            return &obs->versions[i];
        }
    }
    return NULL;
}

static struct model_version_record *ledger_find(struct model_state *s, const char *version)
{
    for (size_t i = s->nversions; i-- > 0;)
        if (strcmp(s->versions[i].version, version) == 0)
            return &s->versions[i];
    return NULL;
}

const struct model_version_record *model_ledger_find(const struct model_state *s,
                                                     const char *version)
{
    return ledger_find((struct model_state *)s, version);
}

void model_ledger_note_active(struct model_state *s, const char *version, bool has_metric,
                              double metric, int64_t now_ms)
{
    if (!version[0])
        return;
    struct model_version_record r;
    memset(&r, 0, sizeof r);
    if (s->nversions == 0 || strcmp(s->versions[s->nversions - 1].version, version) != 0) {
        struct model_version_record *old = ledger_find(s, version);
        if (old) { /* active again: it keeps its evidence and moves to the end */
            r = *old;
            size_t i = (size_t)(old - s->versions);
            memmove(&s->versions[i], &s->versions[i + 1],
                    (s->nversions - i - 1) * sizeof s->versions[0]);
            s->nversions--;
        }
        if (s->nversions == MODEL_VERSIONS_KEPT) {
            memmove(&s->versions[0], &s->versions[1],
                    (MODEL_VERSIONS_KEPT - 1) * sizeof s->versions[0]);
            s->nversions--;
        }
        snprintf(r.version, sizeof r.version, "%s", version);
        r.since_ms = now_ms;
        s->versions[s->nversions++] = r;
    }
    if (has_metric) {
        struct model_version_record *e = &s->versions[s->nversions - 1];
        e->metric = model_round3(metric);
        e->has_metric = true;
        e->observed = true;
    }
}

void model_ledger_note_records(struct model_state *s, const struct model_observation *obs)
{
    for (size_t i = 0; i < obs->nversions; i++) {
        const struct model_version *v = &obs->versions[i];
        struct model_version_record *e = ledger_find(s, v->name);
        if (!e || !v->has_metric)
            continue;
        double rec = model_round3(v->metric);
        if (e->has_recorded && e->recorded == rec)
            continue;
        e->recorded = rec;
        e->has_recorded = true;
        e->metric = rec;
        e->has_metric = true;
        e->observed = false;
    }
}

/* Records the current version in the versions ledger when it changed. */
static void note_version(struct model_state *s, const struct model_observation *obs, int64_t now)
{
    model_ledger_note_active(s, obs->current, false, 0, now);
    model_ledger_note_records(s, obs);
}

static void add_rollback_time(struct model_state *s, int64_t now)
{
    if (s->nrollback_times == MODEL_ROLLBACKS_KEPT) {
        memmove(&s->rollback_times[0], &s->rollback_times[1],
                (MODEL_ROLLBACKS_KEPT - 1) * sizeof s->rollback_times[0]);
        s->nrollback_times--;
    }
    s->rollback_times[s->nrollback_times++] = now;
}

/* The evidence of version v: the ledger's (what the controller saw, or the
 * newest external record), else the external record alone. */
static bool evidence_of(const struct model_state *s, const struct model_version *v, double *ret)
{
    const struct model_version_record *e = model_ledger_find(s, v->name);
    if (e && e->has_metric) {
        *ret = e->metric;
        return true;
    }
    if (v->has_metric) {
        *ret = v->metric;
        return true;
    }
    return false;
}

/* The newest version older than the current one whose evidence passes;
 * its evidence in *ret_metric. */
static const struct model_version *pick_target(const struct model_observation *obs,
                                               const struct model_state *s, double min,
                                               double *ret_metric)
{
    size_t idx;
    if (!obs->current[0] || !find_version(obs, obs->current, &idx))
        return NULL;
    for (size_t i = idx; i-- > 0;) {
        double m;
        if (evidence_of(s, &obs->versions[i], &m) && m >= min) {
            *ret_metric = m;
            return &obs->versions[i];
        }
    }
    return NULL;
}

void model_decide(const struct spec_model *spec, const struct model_observation *obs,
                  const struct model_state *prev, int64_t now, bool dry_run, bool reset,
                  bool blocked, struct model_decision *out)
{
    memset(out, 0, sizeof *out);
    out->next = *prev;
    struct model_state *s = &out->next;
    /* status.model.metric is this check's reading of status.model.version:
     * none (unavailable, grace after a rollback) is shown as none, never the
     * previous reading beside another version (the versions ledger keeps
     * every version's evidence) */
    s->has_metric = false;
    out->requeue_after_ms = spec->metric.interval_ms;
    if (reset) {
        s->nrollback_times = 0;
        s->below_count = 0;
    }
    note_version(s, obs, now);
    if (obs->current[0])
        snprintf(s->version, sizeof s->version, "%s", obs->current);

    if (blocked) {
        out->verdict = MODEL_WAITING;
        set_reason(out, "", "a higher-priority action is in flight");
        return;
    }
    if (s->last_rollback_ms > 0 && now < s->last_rollback_ms + spec->metric.interval_ms) {
        out->verdict = MODEL_WAITING;
        out->action_in_flight = true;
        out->requeue_after_ms = s->last_rollback_ms + spec->metric.interval_ms - now;
        set_reason(out, "RolledBack", "rolled back to %s; verifying in %.1f s", s->version,
                   (double)out->requeue_after_ms / 1000.0);
        return;
    }
    if (!obs->metric_ok) {
        out->verdict = MODEL_UNAVAILABLE;
        set_reason(out, "MetricUnavailable", "%s (inconclusive: no rollback on a missing reading)",
                   obs->metric_error[0] ? obs->metric_error : "no reading");
        return;
    }
    s->metric = model_round3(obs->metric);
    s->has_metric = true;
    /* what the controller itself saw while this version served: evidence */
    model_ledger_note_active(s, obs->current, true, obs->metric, now);
    const char *name = spec->metric.name ? spec->metric.name : "accuracy";
    if (obs->metric >= spec->min_accuracy) {
        s->below_count = 0;
        if (obs->current[0])
            snprintf(s->last_good_version, sizeof s->last_good_version, "%s", obs->current);
        out->verdict = MODEL_ABOVE;
        set_reason(out, "AboveThreshold", "%s %.3f ≥ %.3f%s%s", name, obs->metric,
                   spec->min_accuracy, obs->current[0] ? " with model " : "", obs->current);
        return;
    }
    s->below_count++;
    if (s->below_count < spec->failure_limit) {
        out->verdict = MODEL_BELOW;
        set_reason(out, "BelowThreshold", "%s %.3f < %.3f (%d of %d readings before a rollback)",
                   name, obs->metric, spec->min_accuracy, s->below_count, spec->failure_limit);
        return;
    }
    size_t recent = model_rollbacks_in_window(s, spec->rollback.window_ms, now);
    if (recent >= (size_t)spec->rollback.max_rollbacks) {
        out->verdict = MODEL_LIMIT;
        set_reason(out, "BelowThreshold",
                   "%s %.3f < %.3f, but %zu rollbacks within the window already: a systemic "
                   "problem needs a person; set the annotation selfheal.dev/reset to resume",
                   name, obs->metric, spec->min_accuracy, recent);
        return;
    }
    double target_metric = 0;
    const struct model_version *target = pick_target(obs, s, spec->min_accuracy, &target_metric);
    if (!target) {
        out->verdict = MODEL_NO_GOOD_VERSION;
        set_reason(out, "NoGoodVersion",
                   "%s %.3f < %.3f and no version older than %s has a recorded or observed %s ≥ %.3f", name,
                   obs->metric, spec->min_accuracy, obs->current[0] ? obs->current : "the current one",
                   name, spec->min_accuracy);
        return;
    }
    out->rollback = true;
    snprintf(out->target, sizeof out->target, "%s", target->name);
    out->target_metric = target_metric;
    if (dry_run) {
        out->planned_only = true;
        out->verdict = MODEL_BELOW;
        set_reason(out, "BelowThreshold", "%s %.3f < %.3f; dry run: would roll back %s → %s (%.3f)",
                   name, obs->metric, spec->min_accuracy, obs->current, target->name,
                   target_metric);
        return;
    }
    s->below_count = 0;
    s->last_rollback_ms = now;
    add_rollback_time(s, now);
    out->verdict = MODEL_ROLLING_BACK;
    out->action_in_flight = true;
    set_reason(out, "RolledBack", "%s %.3f < %.3f: rolled back %s → %s (evidence %.3f)", name,
               obs->metric, spec->min_accuracy, obs->current, target->name, target_metric);
}
