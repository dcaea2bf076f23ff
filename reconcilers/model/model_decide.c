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

static void ledger_note_reading(struct model_state *s, size_t idx, double metric)
{
    if (s->nversions == 0 || idx >= MODEL_METRICS_MAX)
        return;
    struct model_evidence *e = &s->versions[s->nversions - 1].ev[idx];
    e->metric = model_round3(metric);
    e->has_metric = true;
    e->observed = true;
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
    if (has_metric)
        ledger_note_reading(s, 0, metric);
}

static size_t nmetrics_of(const struct model_state *s)
{
    return s->nmetrics ? s->nmetrics : 1;
}

void model_ledger_note_records(struct model_state *s, const struct model_observation *obs)
{
    for (size_t i = 0; i < obs->nversions; i++) {
        const struct model_version *v = &obs->versions[i];
        struct model_version_record *e = ledger_find(s, v->name);
        if (!e)
            continue;
        for (size_t k = 0; k < nmetrics_of(s); k++) {
            if (!v->values[k].has_metric)
                continue;
            struct model_evidence *ev = &e->ev[k];
            double rec = model_round3(v->values[k].metric);
            if (ev->has_recorded && ev->recorded == rec)
                continue;
            ev->recorded = rec;
            ev->has_recorded = true;
            ev->metric = rec;
            ev->has_metric = true;
            ev->observed = false;
        }
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

void model_state_note_rollback(struct model_state *s, const char *to, int64_t at_ms)
{
    add_rollback_time(s, at_ms);
    s->last_rollback_ms = at_ms;
    snprintf(s->version, sizeof s->version, "%s", to);
    s->has_metric = false; /* a reading of the version rolled back from */
    s->below_count = 0;
    for (size_t k = 0; k < MODEL_METRICS_MAX; k++)
        s->ms[k].below_count = 0;
    model_ledger_note_active(s, to, false, 0, at_ms);
}

/* The evidence of version v for metric k: the ledger's (what the controller
 * saw, or the newest external record), else the external record alone. */
static bool evidence_of(const struct model_state *s, const struct model_version *v, size_t k,
                        double *ret)
{
    const struct model_version_record *e = model_ledger_find(s, v->name);
    if (e && e->ev[k].has_metric) {
        *ret = e->ev[k].metric;
        return true;
    }
    if (v->values[k].has_metric) {
        *ret = v->values[k].metric;
        return true;
    }
    return false;
}

const char *model_fmt(double v, char *buf, size_t size)
{
    if (fabs(v) < 1000)
        snprintf(buf, size, "%.3f", v);
    else if (fabs(v) < 1e6 && v != floor(v))
        snprintf(buf, size, "%.1f", v);
    else
        snprintf(buf, size, "%.6g", v);
    return buf;
}

bool model_within(const struct spec_model_metric *m, double v)
{
    return (!m->has_min || v >= m->min) && (!m->has_max || v <= m->max);
}

/* A version is good when its evidence passes every metric; the deciding
 * metric's evidence in *ret_metric. */
static bool version_good(const struct model_state *s, const struct model_version *v,
                         const struct spec_model_metric *defs, size_t n, size_t deciding,
                         double *ret_metric)
{
    for (size_t k = 0; k < n; k++) {
        double m;
        if (!evidence_of(s, v, k, &m) || !model_within(&defs[k], m))
            return false;
        if (k == deciding)
            *ret_metric = m;
    }
    return true;
}

/* The newest version older than the current one whose evidence passes. */
static const struct model_version *pick_target(const struct model_observation *obs,
                                               const struct model_state *s,
                                               const struct spec_model_metric *defs, size_t n,
                                               size_t deciding, double *ret_metric)
{
    size_t idx;
    if (!obs->current[0] || !find_version(obs, obs->current, &idx))
        return NULL;
    for (size_t i = idx; i-- > 0;)
        if (version_good(s, &obs->versions[i], defs, n, deciding, ret_metric))
            return &obs->versions[i];
    return NULL;
}

/* "rmse 41250.0 > 40000.0", "accuracy 0.650 < 0.700", "accuracy 0.812 ≥ 0.700". */
static void describe(const struct spec_model_metric *m, double v, char *buf, size_t size)
{
    char a[40], b[40], c[40];
    model_fmt(v, a, sizeof a);
    if (m->has_min && v < m->min)
        snprintf(buf, size, "%s %s < %s", m->name, a, model_fmt(m->min, b, sizeof b));
    else if (m->has_max && v > m->max)
        snprintf(buf, size, "%s %s > %s", m->name, a, model_fmt(m->max, b, sizeof b));
    else if (m->has_min && m->has_max)
        snprintf(buf, size, "%s %s within [%s, %s]", m->name, a, model_fmt(m->min, b, sizeof b),
                 model_fmt(m->max, c, sizeof c));
    else if (m->has_min)
        snprintf(buf, size, "%s %s ≥ %s", m->name, a, model_fmt(m->min, b, sizeof b));
    else
        snprintf(buf, size, "%s %s ≤ %s", m->name, a, model_fmt(m->max, b, sizeof b));
}

/* "(rmse 38000.0 ≤ 40000.0)" for the other metrics, appended to a message. */
static void others(const struct model_state *s, const struct spec_model_metric *defs, size_t n,
                   size_t skip, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t len = 0;
    for (size_t k = 0; k < n && len < size; k++) {
        if (k == skip)
            continue;
        char d[160];
        if (s->ms[k].has_value)
            describe(&defs[k], s->ms[k].value, d, sizeof d);
        else
            snprintf(d, sizeof d, "%s: no reading yet", defs[k].name);
        len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "; " : " (", d);
    }
    if (len && len < size)
        snprintf(buf + len, size - len, ")");
}

/* One decision's working set: the spec's metrics, this check's readings and
 * which metric decides. */
struct judging {
    const struct spec_model *spec;
    const struct model_observation *obs;
    struct model_state *s;
    struct spec_model_metric defs[MODEL_METRICS_MAX];
    size_t n;
    int64_t now;
    struct model_reading legacy; /* the shorthand's one reading */
    bool read0;                  /* the first metric was read this check */
    int failed, unavailable, below; /* metric indexes, -1: none */
};

/* The state carried over, the metrics' names and the ledger's current
 * version; returns the shortest metric interval. */
static int64_t begin(struct judging *j, bool reset)
{
    struct model_state *s = j->s;
    j->n = spec_model_metric_list(j->spec, j->defs);
    /* the first metric lives in the legacy fields too */
    s->ms[0].value = s->metric;
    s->ms[0].has_value = s->has_metric;
    s->ms[0].below_count = s->below_count;
    s->nmetrics = j->n;
    s->list_form = j->spec->nmetrics > 0;
    for (size_t k = 0; k < j->n; k++)
        snprintf(s->names[k], sizeof s->names[k], "%s", j->defs[k].name);
    int64_t interval = j->defs[0].interval_ms;
    for (size_t k = 1; k < j->n; k++)
        if (j->defs[k].interval_ms < interval)
            interval = j->defs[k].interval_ms;
    if (reset) {
        s->nrollback_times = 0;
        for (size_t k = 0; k < j->n; k++)
            s->ms[k].below_count = 0;
    }
    note_version(s, j->obs, j->now);
    if (j->obs->current[0])
        snprintf(s->version, sizeof s->version, "%s", j->obs->current);
    return interval;
}

static const struct model_reading *reading_of(const struct judging *j, size_t k)
{
    if (j->obs->nreadings)
        return k < j->obs->nreadings ? &j->obs->readings[k] : NULL;
    return k == 0 ? &j->legacy : NULL;
}

/* Takes this check's readings: counts, evidence for the serving version,
 * and which metric failed (failureLimit readings out of bounds), is
 * unavailable (inconclusiveLimit) or is below its bound. */
static void take_readings(struct judging *j)
{
    const struct model_observation *obs = j->obs;
    struct model_state *s = j->s;
    j->legacy = (struct model_reading){.read = true, .ok = obs->metric_ok, .value = obs->metric};
    if (obs->nreadings == 0)
        snprintf(j->legacy.error, sizeof j->legacy.error, "%s", obs->metric_error);
    j->failed = j->unavailable = j->below = -1;
    for (size_t k = 0; k < j->n; k++) {
        const struct model_reading *rd = reading_of(j, k);
        struct model_metric_state *m = &s->ms[k];
        if (k == 0)
            j->read0 = rd && rd->read && rd->ok;
        if (rd && rd->read) {
            if (!rd->ok) {
                m->unavailable_count++;
            } else {
                m->unavailable_count = 0;
                m->value = model_round3(rd->value);
                m->has_value = true;
                /* what the controller itself saw while this version served: evidence */
                if (obs->current[0]) {
                    model_ledger_note_active(s, obs->current, false, 0, j->now);
                    ledger_note_reading(s, k, rd->value);
                }
                if (model_within(&j->defs[k], rd->value)) {
                    m->below_count = 0;
                } else {
                    m->below_count++;
                    if (m->below_count >= j->defs[k].failure_limit && j->failed < 0)
                        j->failed = (int)k;
                }
            }
        }
        if (m->unavailable_count >= j->defs[k].inconclusive_limit && j->unavailable < 0)
            j->unavailable = (int)k;
        if (m->below_count > 0 && j->below < 0 && !(rd && rd->read && !rd->ok))
            j->below = (int)k;
    }
}

/* A metric unreadable for inconclusiveLimit checks: MetricUnavailable. */
static void judge_unavailable(const struct judging *j, struct model_decision *out)
{
    int u = j->unavailable;
    const struct model_reading *rd = j->obs->nreadings ? &j->obs->readings[u] : &j->legacy;
    bool named = j->n > 1 || j->spec->nmetrics;
    out->verdict = MODEL_UNAVAILABLE;
    out->metric_index = u;
    snprintf(j->s->deciding, sizeof j->s->deciding, "%s unavailable", j->defs[u].name);
    set_reason(out, "MetricUnavailable", "%s%s%s (inconclusive: no rollback on a missing reading)",
               named ? j->defs[u].name : "", named ? ": " : "",
               rd->error[0] ? rd->error : "no reading");
}

/* Every metric within its bounds (or not read yet). */
static void judge_within(const struct judging *j, struct model_decision *out)
{
    struct model_state *s = j->s;
    bool all = true;
    for (size_t k = 0; k < j->n; k++)
        all = all && s->ms[k].has_value;
    if (all && j->obs->current[0])
        snprintf(s->last_good_version, sizeof s->last_good_version, "%s", j->obs->current);
    size_t k0 = 0;
    while (k0 < j->n && !s->ms[k0].has_value)
        k0++;
    if (k0 == j->n || (!all && !s->ms[0].has_value && j->n == 1)) {
        out->verdict = MODEL_UNAVAILABLE;
        set_reason(out, "MetricUnavailable", "no reading yet");
        return;
    }
    char desc[200], rest[600];
    out->verdict = MODEL_ABOVE;
    out->metric_index = (int)k0;
    describe(&j->defs[k0], s->ms[k0].value, desc, sizeof desc);
    others(s, j->defs, j->n, k0, rest, sizeof rest);
    snprintf(s->deciding, sizeof s->deciding, "%s", desc);
    set_reason(out, "AboveThreshold", "%s%s%s%s", desc, j->obs->current[0] ? " with model " : "",
               j->obs->current, rest);
}

/* A metric out of bounds, not yet failureLimit readings. */
static void judge_below(const struct judging *j, struct model_decision *out)
{
    const struct model_metric_state *m = &j->s->ms[j->below];
    char desc[200];
    out->verdict = MODEL_BELOW;
    out->metric_index = j->below;
    describe(&j->defs[j->below], m->value, desc, sizeof desc);
    snprintf(j->s->deciding, sizeof j->s->deciding, "%s", desc);
    set_reason(out, "BelowThreshold", "%s (%d of %d readings before a rollback)", desc,
               m->below_count, j->defs[j->below].failure_limit);
}

/* "accuracy ≥ 0.7, rmse in [0, 40000]": every metric's bounds. */
static void bounds_text(const struct spec_model_metric *defs, size_t n, char *buf, size_t size)
{
    size_t bl = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < n && bl < size; k++) {
        char a[40], b[40];
        if (defs[k].has_min && defs[k].has_max)
            bl += (size_t)snprintf(buf + bl, size - bl, "%s%s in [%s, %s]", k ? ", " : "",
                                   defs[k].name, model_fmt(defs[k].min, a, sizeof a),
                                   model_fmt(defs[k].max, b, sizeof b));
        else if (defs[k].has_min)
            bl += (size_t)snprintf(buf + bl, size - bl, "%s%s ≥ %s", k ? ", " : "", defs[k].name,
                                   model_fmt(defs[k].min, a, sizeof a));
        else
            bl += (size_t)snprintf(buf + bl, size - bl, "%s%s ≤ %s", k ? ", " : "", defs[k].name,
                                   model_fmt(defs[k].max, a, sizeof a));
    }
}

/* A metric failed: the rollback limit, no good version, a dry-run plan or
 * the rollback itself. */
static void judge_failed(const struct judging *j, struct model_decision *out, bool dry_run)
{
    struct model_state *s = j->s;
    const struct spec_model_metric *fm = &j->defs[j->failed];
    char desc[200];
    out->metric_index = j->failed;
    describe(fm, s->ms[j->failed].value, desc, sizeof desc);
    snprintf(s->deciding, sizeof s->deciding, "%s", desc);
    snprintf(out->trigger, sizeof out->trigger, "%s", desc);
    size_t recent = model_rollbacks_in_window(s, j->spec->rollback.window_ms, j->now);
    if (recent >= (size_t)j->spec->rollback.max_rollbacks) {
        out->verdict = MODEL_LIMIT;
        set_reason(out, "BelowThreshold",
                   "%s, but %zu rollbacks within the window already: a systemic "
                   "problem needs a person; set the annotation selfheal.dev/reset to resume",
                   desc, recent);
        return;
    }
    double target_metric = 0;
    const struct model_version *target =
        pick_target(j->obs, s, j->defs, j->n, (size_t)j->failed, &target_metric);
    if (!target) {
        char bounds[300];
        bounds_text(j->defs, j->n, bounds, sizeof bounds);
        out->verdict = MODEL_NO_GOOD_VERSION;
        set_reason(out, "NoGoodVersion",
                   "%s and no version older than %s has a recorded or observed %s", desc,
                   j->obs->current[0] ? j->obs->current : "the current one", bounds);
        return;
    }
    out->rollback = true;
    snprintf(out->target, sizeof out->target, "%s", target->name);
    out->target_metric = target_metric;
    char tm[40];
    model_fmt(target_metric, tm, sizeof tm);
    if (dry_run) {
        out->planned_only = true;
        out->verdict = MODEL_BELOW;
        set_reason(out, "BelowThreshold", "%s; dry run: would roll back %s → %s (%s)", desc,
                   j->obs->current, target->name, tm);
        return;
    }
    for (size_t k = 0; k < j->n; k++)
        s->ms[k].below_count = 0;
    s->last_rollback_ms = j->now;
    add_rollback_time(s, j->now);
    out->verdict = MODEL_ROLLING_BACK;
    out->action_in_flight = true;
    set_reason(out, "RolledBack", "%s: rolled back %s → %s (evidence %s%s%s)", desc,
               j->obs->current, target->name, j->n > 1 ? fm->name : "", j->n > 1 ? " " : "", tm);
}

void model_decide(const struct spec_model *spec, const struct model_observation *obs,
                  const struct model_state *prev, int64_t now, bool dry_run, bool reset,
                  bool blocked, struct model_decision *out)
{
    memset(out, 0, sizeof *out);
    out->next = *prev;
    out->metric_index = -1;
    struct model_state *s = &out->next;
    struct judging j = {.spec = spec, .obs = obs, .s = s, .now = now};
    int64_t interval = begin(&j, reset);
    out->requeue_after_ms = interval;
    if (blocked) {
        out->verdict = MODEL_WAITING;
        set_reason(out, "", "a higher-priority action is in flight");
    } else if (s->last_rollback_ms > 0 && now < s->last_rollback_ms + interval) {
        out->verdict = MODEL_WAITING;
        out->action_in_flight = true;
        out->requeue_after_ms = s->last_rollback_ms + interval - now;
        set_reason(out, "RolledBack", "rolled back to %s; verifying in %.1f s", s->version,
                   (double)out->requeue_after_ms / 1000.0);
    } else {
        take_readings(&j);
        if (j.failed < 0 && j.unavailable >= 0)
            judge_unavailable(&j, out);
        else if (j.failed < 0 && j.below < 0)
            judge_within(&j, out);
        else if (j.failed < 0)
            judge_below(&j, out);
        else
            judge_failed(&j, out, dry_run);
    }
    /* the first metric's state mirrored in the legacy fields; status.model.
     * metric is this check's reading of status.model.version: none
     * (unavailable, the grace after a rollback) is shown as none, and a
     * reading is never shown beside the version rolled back to (the versions
     * ledger keeps every version's evidence) */
    s->metric = s->ms[0].value;
    s->has_metric = s->ms[0].has_value && j.read0 && out->verdict != MODEL_ROLLING_BACK;
    s->below_count = s->ms[0].below_count;
}
