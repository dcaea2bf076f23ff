/* model_reconciler.c — the model loop: observe, decide, act (model_reconciler.h). */
#include "model/model_reconciler.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"
#include "model/metric_source.h"
#include "model/model_actuators.h"
#include "model/model_decide.h"
#include "model/model_status.h"
#include "model/rollback_log.h"
#include "model/rollback_note.h"
#include "runtime/status.h"
#include "base/strmap.h"

#include "service/service_actuators.h"

#define DEFAULT_TIMEOUT_MS 5000
#define LOOP "model"

/* When to read the metric of a pipeline next (the only in-memory state). */
struct memo {
    int64_t next_check_ms;                 /* the soonest of next_ms */
    int64_t next_ms[MODEL_METRICS_MAX];    /* per metric (spec order) */
    int64_t generation;
    unsigned phase_requests; /* of the last decision, repeated between checks */
};

struct model_reconciler {
    struct model_reconciler_options o;
    char *rollback_log;
    pthread_mutex_t mu;
    struct strmap *memos; /* key → struct memo */
};

static bool memo_get(struct model_reconciler *mr, const char *key, struct memo *ret)
{
    pthread_mutex_lock(&mr->mu);
    struct memo *m = strmap_get(mr->memos, key);
    if (m)
        *ret = *m;
    pthread_mutex_unlock(&mr->mu);
    return m != NULL;
}

static void memo_put(struct model_reconciler *mr, const char *key, const struct memo *v)
{
    pthread_mutex_lock(&mr->mu);
    struct memo *m = strmap_get(mr->memos, key);
    if (!m && (m = malloc(sizeof *m)) != NULL && strmap_put(mr->memos, key, m, NULL) != 0) {
        free(m);
        m = NULL;
    }
    if (m)
        *m = *v;
    pthread_mutex_unlock(&mr->mu);
}

static void memo_forget(struct model_reconciler *mr, const char *key)
{
    pthread_mutex_lock(&mr->mu);
    free(strmap_remove(mr->memos, key));
    pthread_mutex_unlock(&mr->mu);
}

static const char *registry_path(const struct spec_model *sm)
{
    return sm->rollback.registry_path && *sm->rollback.registry_path ? sm->rollback.registry_path
                                                                      : "models";
}

/* Reloads the serving process after a swap; says what happened in note. */
static void reload_service(struct reconcile_ctx *ctx, const struct spec_model *sm, char *note,
                           size_t size)
{
    enum reload_method how = sm->rollback.reload;
    if (how == RELOAD_NONE) {
        snprintf(note, size, "not reloaded (reload: none)");
        return;
    }
    if (!ctx->spec->service.present) {
        snprintf(note, size, "not reloaded: the pipeline has no service section");
        return;
    }
    struct platform *pf = ctx->platform;
    const struct service_actuators *sa =
        pf->actuators ? (const struct service_actuators *)pf->actuators(pf, "service") : NULL;
    const char *what = how == RELOAD_SIGNAL ? "SIGHUP" : "restart";
    if (!sa || (how == RELOAD_SIGNAL ? !sa->signal_process : !sa->restart_process)) {
        snprintf(note, size, "not reloaded: the %s platform cannot %s the service",
                 pf->name ? pf->name : "", how == RELOAD_SIGNAL ? "signal" : "restart");
        return;
    }
    char *err = NULL;
    int r = how == RELOAD_SIGNAL ? sa->signal_process(sa, ctx->p->key, SIGHUP)
                                 : sa->restart_process(sa, ctx->p->key, &err);
    if (r == 0) {
        snprintf(note, size, how == RELOAD_SIGNAL ? "sent SIGHUP to the service" : "restarted the service");
    } else if (r == SH_ENOTFOUND) {
        snprintf(note, size, "not reloaded: no supervised service process to %s",
                 how == RELOAD_SIGNAL ? "signal" : "restart");
    } else {
        snprintf(note, size, "%s of the service failed: %s", what, err ? err : sh_strerror(r));
        pf->record_event(pf, ctx->p, EVENT_WARNING, "ReloadFailed", note);
    }
    free(err);
}

/* The condition, phase and coordination outputs of a decision. */
static void report(struct reconcile_ctx *ctx, const struct model_decision *d, const char *message,
                   unsigned *ret_phase)
{
    enum cond_status cs = COND_FALSE;
    unsigned phase = 0;
    switch (d->verdict) {
    case MODEL_ABOVE:
        cs = COND_TRUE;
        break;
    case MODEL_UNAVAILABLE:
        cs = COND_UNKNOWN;
        phase = PHASE_REQ(PHASE_DEGRADED);
        break;
    case MODEL_BELOW:
        phase = PHASE_REQ(PHASE_DEGRADED);
        break;
    case MODEL_ROLLING_BACK:
    case MODEL_WAITING:
        phase = PHASE_REQ(PHASE_ROLLING_BACK);
        break;
    case MODEL_NO_GOOD_VERSION:
    case MODEL_LIMIT:
        phase = PHASE_REQ(PHASE_NEEDS_ATTENTION);
        break;
    }
    status_set_condition(ctx->status, COND_MODEL_VALID, cs, d->reason, message, ctx->p->generation,
                         ctx->now_ms);
    ctx->phase_requests |= phase;
    *ret_phase = phase;
}

/* The first conclusive reading after a rollback's grace period verifies it. */
static void verify_previous(struct reconcile_ctx *ctx, const struct model_state *prev,
                            const struct model_decision *d)
{
    if (d->verdict == MODEL_UNAVAILABLE || d->verdict == MODEL_WAITING || prev->last_rollback_ms <= 0)
        return;
    double secs = (double)(ctx->now_ms - prev->last_rollback_ms) / 1000.0;
    const char *outcome = d->verdict == MODEL_ABOVE ? "succeeded" : "failed";
    if (status_history_finish(ctx->status, LOOP, outcome, secs) == 0 && d->verdict != MODEL_ABOVE)
        ctx->platform->record_event(ctx->platform, ctx->p, EVENT_WARNING, "RollbackIneffective",
                                    d->message);
}

/* Makes the target current; fills msg. Returns 0 or the actuator's error. */
static int act(struct model_reconciler *mr, struct reconcile_ctx *ctx,
               const struct model_actuators *ma, const struct model_observation *obs,
               const struct model_state *prev, struct model_decision *d, char *msg, size_t size)
{
    const struct spec_model *sm = &ctx->spec->model;
    struct platform *pf = ctx->platform;
    char trigger[340];
    snprintf(trigger, sizeof trigger, "BelowThreshold: %s", d->trigger);
    struct spec_model_metric defs[MODEL_METRICS_MAX];
    size_t n = spec_model_metric_list(sm, defs);
    const struct spec_model_metric *fm = &defs[d->metric_index >= 0 && (size_t)d->metric_index < n
                                                   ? (size_t)d->metric_index : 0];
    double value = d->next.ms[fm - defs].value;
    bool over = fm->has_max && value > fm->max;
    struct history_entry h = {.time_ms = ctx->now_ms,
                              .loop = LOOP,
                              .action = "rollback",
                              .trigger = trigger,
                              .from = obs->current[0] ? obs->current : NULL,
                              .to = d->target,
                              .outcome = "started",
                              .duration_seconds = -1};
    /* the record a successor finds if this controller stops before its
     * status write (rollback_note.h) */
    struct rollback_note rn = {.basis_ms = prev->last_rollback_ms, .at_ms = ctx->now_ms};
    snprintf(rn.uid, sizeof rn.uid, "%s", ctx->p->uid ? ctx->p->uid : "");
    snprintf(rn.from, sizeof rn.from, "%s", obs->current);
    snprintf(rn.to, sizeof rn.to, "%s", d->target);
    char note_text[MODEL_MADE_MAX];
    bool noted = rn.uid[0] && rollback_note_format(&rn, note_text, sizeof note_text) == 0;
    char *err = NULL;
    int r = ma ? ma->activate(ma, ctx->p, d->target, noted ? note_text : NULL, &err) : SH_EUNAVAIL;
    if (r != 0) {
        snprintf(msg, size, "%s: rollback %s → %s failed: %s", d->trigger, obs->current, d->target,
                 err ? err : (ma ? sh_strerror(r) : "the platform has no model actuators"));
        free(err);
        h.outcome = "failed";
        status_history_add(ctx->status, &h);
        pf->record_event(pf, ctx->p, EVENT_WARNING, "RollbackFailed", msg);
        /* not a rollback made: the next check tries again */
        struct model_state *s = &d->next;
        s->last_rollback_ms = prev->last_rollback_ms;
        s->nrollback_times = prev->nrollback_times;
        memcpy(s->rollback_times, prev->rollback_times, sizeof s->rollback_times);
        for (size_t k = 0; k < n; k++)
            s->ms[k].below_count = d->next.ms[k].below_count;
        s->ms[fm - defs].below_count = fm->failure_limit;
        s->below_count = s->ms[0].below_count;
        d->verdict = MODEL_BELOW;
        d->action_in_flight = false;
        snprintf(d->reason, sizeof d->reason, "BelowThreshold");
        return r;
    }
    snprintf(d->next.version, sizeof d->next.version, "%s", d->target);
    d->next.has_metric = false; /* the reading was of the version rolled back from */
    model_ledger_note_active(&d->next, d->target, false, 0, ctx->now_ms);
    model_ledger_note_records(&d->next, obs);
    status_history_add(ctx->status, &h);
    char note[300];
    if (ma->activate_reloads && sm->rollback.reload != RELOAD_NONE)
        snprintf(note, sizeof note, "activating it rolls the serving pods: no separate reload");
    else
        reload_service(ctx, sm, note, sizeof note);
    snprintf(msg, size, "%s; %s", d->message, note);

    struct rollback_record rec = {.time_ms = ctx->now_ms,
                                  .trigger = "controller",
                                  .pipeline = ctx->p->key,
                                  .metric_name = fm->name,
                                  .current_metric = value,
                                  .threshold = over ? fm->max : fm->min,
                                  .from_version = obs->current,
                                  .to_version = d->target,
                                  .to_metric = d->target_metric,
                                  .reason = trigger + strlen("BelowThreshold: "),
                                  .reload = sm->rollback.reload == RELOAD_NONE     ? "none"
                                            : sm->rollback.reload == RELOAD_SIGNAL ? "signal"
                                                                                   : "restart",
                                  .reload_result = note};
    char path[4096];
    if (mr->rollback_log)
        snprintf(path, sizeof path, "%s", mr->rollback_log);
    else
        snprintf(path, sizeof path, "%s/%s", registry_path(sm), ROLLBACK_LOG_NAME);
    char *lerr = NULL;
    if (rollback_log_append(path, &rec, &lerr) != 0) {
        char m[600];
        snprintf(m, sizeof m, "rollback log %s: %s", path, lerr ? lerr : "cannot append");
        pf->record_event(pf, ctx->p, EVENT_WARNING, "AuditLogFailed", m);
    }
    free(lerr);
    pf->record_event(pf, ctx->p, EVENT_NORMAL, "RolledBack", msg);
    return 0;
}

static void plan(struct reconcile_ctx *ctx, const struct model_observation *obs,
                 const struct model_decision *d)
{
    char text[400];
    snprintf(text, sizeof text, "roll back %s → %s (recorded %s %.3f)",
             obs->current[0] ? obs->current : "?", d->target,
             d->metric_index >= 0 ? d->next.names[d->metric_index] : "metric", d->target_metric);
    status_plan(ctx->status, LOOP, text);
}

/* A reading belongs to a version only if that version served before and
 * after it: a deployment that moved meanwhile (a CD system, a rollout) makes
 * the readings inconclusive, never evidence for the wrong version. */
static void same_version_after_reading(const struct model_actuators *ma, const struct pipeline *p,
                                       struct model_observation *obs)
{
    bool any = false;
    for (size_t k = 0; k < obs->nreadings; k++)
        any = any || (obs->readings[k].read && obs->readings[k].ok);
    if (!ma || !obs->current[0] || !any)
        return;
    struct model_registry_view after;
    memset(&after, 0, sizeof after);
    ma->observe(ma, p, &after);
    if (strcmp(after.current, obs->current) != 0) {
        for (size_t k = 0; k < obs->nreadings; k++) {
            struct model_reading *rd = &obs->readings[k];
            if (!rd->read || !rd->ok)
                continue;
            rd->ok = false;
            snprintf(rd->error, sizeof rd->error,
                     "the model version changed during the reading (%s → %s): reading discarded",
                     obs->current, after.current[0] ? after.current : "unknown");
        }
    }
    model_registry_view_free(&after);
}

/* The shortest interval of the spec's metrics (the grace after a rollback). */
static int64_t min_interval(const struct spec_model *sm)
{
    struct spec_model_metric defs[MODEL_METRICS_MAX];
    size_t n = spec_model_metric_list(sm, defs);
    int64_t iv = defs[0].interval_ms;
    for (size_t k = 1; k < n; k++)
        if (defs[k].interval_ms < iv)
            iv = defs[k].interval_ms;
    return iv > 0 ? iv : 60000;
}

/* The deployment the spec names does not exist: a configuration error, not
 * a verdict on the model — no reading is judged, nothing is counted; the
 * next check finds it when it appears. */
static void report_missing_workload(struct reconcile_ctx *ctx, const struct model_registry_view *view,
                                    struct memo *memo, int64_t interval)
{
    char msg[700];
    snprintf(msg, sizeof msg, "%s: nothing to roll back until it exists; checking again every %.0f s",
             view->error, (double)interval / 1000.0);
    status_plan_clear(ctx->status, LOOP);
    status_set_condition(ctx->status, COND_MODEL_VALID, COND_UNKNOWN, "DeploymentNotFound", msg,
                         ctx->p->generation, ctx->now_ms);
    memo->phase_requests = PHASE_REQ(PHASE_NEEDS_ATTENTION);
    ctx->phase_requests |= memo->phase_requests;
    memo->next_check_ms = ctx->now_ms + interval;
    reconcile_requeue_after(ctx, interval);
}

/* Reads metric k (due now) into rd, within its interval, with its
 * credentials; its next reading is due one interval later. */
static void read_metric(struct model_reconciler *mr, struct reconcile_ctx *ctx,
                        const struct spec_model_metric *defs, size_t k, struct model_reading *rd,
                        struct memo *memo)
{
    const struct spec_model *sm = &ctx->spec->model;
    int64_t iv = defs[k].interval_ms > 0 ? defs[k].interval_ms : 60000;
    int64_t timeout = mr->o.metric_timeout_ms > 0 ? mr->o.metric_timeout_ms : DEFAULT_TIMEOUT_MS;
    if (timeout > iv)
        timeout = iv;
    char field[64];
    if (sm->nmetrics > 0)
        snprintf(field, sizeof field, "spec.model.metrics[%zu].source", k);
    else
        snprintf(field, sizeof field, "spec.model.metric.source");
    credentials_warn_insecure(&defs[k].source.auth, ctx->p->key, field, ctx->p->generation);
    struct metric_source_env menv = {.ns = ctx->p->namespace_, .secrets = ctx->platform->secrets,
                                     .field = field};
    rd->read = true;
    rd->ok = metric_source_read_in(&defs[k].source, &menv, timeout, &rd->value, rd->error,
                                   sizeof rd->error) == 0;
    memo->next_ms[k] = ctx->now_ms + iv;
}

/* A rollback the workload's note says this pipeline made, which its status
 * lacks (the controller that made it stopped before its status write, or
 * the write failed): it is recorded now — history, the rollback budget, an
 * Event — and verified like any other, by the first conclusive reading
 * after its grace. Returns prev, or *copy with it. */
static const struct model_state *adopt_unrecorded(struct reconcile_ctx *ctx,
                                                  const struct model_registry_view *view,
                                                  const struct model_state *prev,
                                                  struct model_state *copy)
{
    struct rollback_note rn;
    /* a status with no model version is a loop that has not run (a new
     * pipeline, a model section removed and added again): nothing of its
     * own to complete, whatever an old note says */
    if (!prev->version[0] || !rollback_note_parse(view->made, &rn) ||
        !rollback_note_unrecorded(&rn, ctx->p->uid, prev->last_rollback_ms, view->current))
        return prev;
    *copy = *prev;
    model_state_note_rollback(copy, rn.to, rn.at_ms);
    char trigger[300];
    snprintf(trigger, sizeof trigger,
             "NotRecorded: made earlier, its status write lost (the controller stopped "
             "or the write failed); found in the note it left with the workload");
    struct history_entry h = {.time_ms = rn.at_ms, .loop = LOOP, .action = "rollback",
                              .trigger = trigger, .from = rn.from[0] ? rn.from : NULL,
                              .to = rn.to, .outcome = "started", .duration_seconds = -1};
    status_history_add(ctx->status, &h);
    char msg[600];
    snprintf(msg, sizeof msg,
             "rollback %s → %s was made %.1f s ago but not recorded (the controller "
             "stopped or its status write failed): recorded now, verified by the next "
             "conclusive reading",
             rn.from[0] ? rn.from : "?", rn.to, (double)(ctx->now_ms - rn.at_ms) / 1000.0);
    log_warn(ctx->p->key, "%s", msg);
    ctx->platform->record_event(ctx->platform, ctx->p, EVENT_NORMAL, "RolledBack", msg);
    return copy;
}

static int check(struct model_reconciler *mr, struct reconcile_ctx *ctx, cJSON *sec,
                 const struct model_state *prev, struct memo *memo, bool all_due)
{
    const struct spec_model *sm = &ctx->spec->model;
    struct platform *pf = ctx->platform;
    int64_t interval = min_interval(sm);
    struct spec_model_metric defs[MODEL_METRICS_MAX];
    size_t n = spec_model_metric_list(sm, defs);

    const struct model_actuators *ma =
        pf->actuators ? (const struct model_actuators *)pf->actuators(pf, LOOP) : NULL;
    struct model_registry_view view;
    memset(&view, 0, sizeof view);
    if (ma)
        ma->observe(ma, ctx->p, &view);
    else
        snprintf(view.error, sizeof view.error, "the %s platform has no model actuators",
                 pf->name ? pf->name : "");

    if (view.workload_missing) {
        report_missing_workload(ctx, &view, memo, interval);
        model_registry_view_free(&view);
        return 0;
    }

    struct model_state adopted;
    prev = adopt_unrecorded(ctx, &view, prev, &adopted);

    struct model_observation obs;
    memset(&obs, 0, sizeof obs);
    obs.versions = view.versions;
    obs.nversions = view.count;
    snprintf(obs.current, sizeof obs.current, "%s", view.current);
    obs.nreadings = n;
    for (size_t k = 0; k < n; k++)
        if (all_due || ctx->now_ms >= memo->next_ms[k])
            read_metric(mr, ctx, defs, k, &obs.readings[k], memo);
    same_version_after_reading(ma, ctx->p, &obs);
    obs.metric_ok = obs.readings[0].read && obs.readings[0].ok;
    obs.metric = obs.readings[0].value;
    snprintf(obs.metric_error, sizeof obs.metric_error, "%s", obs.readings[0].error);

    struct model_decision *d = malloc(sizeof *d);
    if (!d) {
        model_registry_view_free(&view);
        return SH_ENOMEM;
    }
    model_decide(sm, &obs, prev, ctx->now_ms, ctx->paused || sm->dry_run, ctx->reset, false, d);
    /* a count past failureLimit means the same as failureLimit; capping it
     * keeps a pipeline stuck below the threshold from rewriting its status
     * at every reading */
    for (size_t k = 0; k < n; k++) {
        if (d->next.ms[k].below_count > defs[k].failure_limit)
            d->next.ms[k].below_count = defs[k].failure_limit;
        if (d->next.ms[k].unavailable_count > defs[k].inconclusive_limit)
            d->next.ms[k].unavailable_count = defs[k].inconclusive_limit;
    }
    d->next.below_count = d->next.ms[0].below_count;
    verify_previous(ctx, prev, d);
    status_plan_clear(ctx->status, LOOP);

    char msg[1024];
    snprintf(msg, sizeof msg, "%s", d->message);
    int err = 0;
    if (d->rollback && d->planned_only)
        plan(ctx, &obs, d);
    else if (d->rollback)
        err = act(mr, ctx, ma, &obs, prev, d, msg, sizeof msg);
    /* what could not be read explains a verdict that needed it (which
     * version to roll back to), never a passing or missing reading */
    if (view.error[0] &&
        (d->verdict == MODEL_NO_GOOD_VERSION ||
         (!view.current[0] && (d->verdict == MODEL_BELOW || d->verdict == MODEL_LIMIT)))) {
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, " (%s)", view.error);
    }
    report(ctx, d, msg, &memo->phase_requests);
    if (d->action_in_flight)
        ctx->action_in_flight = true;
    int wr = model_state_write(&d->next, sm->rollback.window_ms, ctx->now_ms, sec);
    /* a failed swap is retried on the manager's backoff, not a whole interval later */
    memo->next_check_ms = memo->next_ms[0];
    for (size_t k = 1; k < n; k++)
        if (memo->next_ms[k] < memo->next_check_ms)
            memo->next_check_ms = memo->next_ms[k];
    if (err) /* a failed swap is retried on the manager's backoff */
        for (size_t k = 0; k < n; k++)
            memo->next_check_ms = memo->next_ms[k] = ctx->now_ms;
    int64_t after = memo->next_check_ms - ctx->now_ms;
    if (d->requeue_after_ms > 0 && (d->action_in_flight || d->requeue_after_ms < after))
        after = d->requeue_after_ms;
    reconcile_requeue_after(ctx, after > 0 ? after : interval);
    free(d);
    model_registry_view_free(&view);
    return err ? err : wr;
}

static int mr_reconcile(void *self, struct reconcile_ctx *ctx)
{
    struct model_reconciler *mr = self;
    const struct pipeline *p = ctx->p;
    const struct spec_model *sm = &ctx->spec->model;
    if (!sm->present || !sm->enabled) {
        status_remove_condition(ctx->status, COND_MODEL_VALID);
        status_plan_clear(ctx->status, LOOP);
        if (!sm->present)
            status_remove_section(ctx->status, LOOP);
        memo_forget(mr, p->key);
        return 0;
    }
    cJSON *sec = status_section(ctx->status, LOOP);
    if (!sec)
        return SH_ENOMEM;
    struct model_state prev;
    model_state_read(sec, &prev);
    struct spec_model_metric defs[MODEL_METRICS_MAX];
    size_t nm = spec_model_metric_list(sm, defs);
    model_state_read_metrics(sec, defs, nm, &prev);
    prev.list_form = sm->nmetrics > 0;
    int64_t now = ctx->now_ms;
    int64_t interval = min_interval(sm);
    bool any_below = prev.below_count;
    for (size_t k = 0; k < nm; k++)
        any_below = any_below || prev.ms[k].below_count;
    if (ctx->reset && (prev.nrollback_times || any_below)) {
        /* the reset is seen in this reconcile only: apply it now, whichever
         * path is taken below (grace, blocked, not due) */
        prev.nrollback_times = 0;
        prev.below_count = 0;
        for (size_t k = 0; k < nm; k++)
            prev.ms[k].below_count = 0;
        int r = model_state_write(&prev, sm->rollback.window_ms, now, sec);
        if (r != 0)
            return r;
    }

    /* a rollback of ours is being verified: one interval of grace */
    if (prev.last_rollback_ms > 0 && now < prev.last_rollback_ms + interval) {
        ctx->action_in_flight = true;
        ctx->phase_requests |= PHASE_REQ(PHASE_ROLLING_BACK);
        reconcile_requeue_after(ctx, prev.last_rollback_ms + interval - now);
        return 0;
    }
    struct memo memo = {0};
    bool known = memo_get(mr, p->key, &memo);
    if (ctx->action_in_flight) {
        /* a higher-priority loop acts: no verdict now, look again after it */
        ctx->phase_requests |= memo.phase_requests & ~PHASE_REQ(PHASE_ROLLING_BACK);
        reconcile_requeue_after(ctx, interval);
        return 0;
    }
    bool due = !known || ctx->reset || memo.generation != p->generation || now >= memo.next_check_ms;
    if (!due) {
        ctx->phase_requests |= memo.phase_requests & ~PHASE_REQ(PHASE_ROLLING_BACK);
        reconcile_requeue_after(ctx, memo.next_check_ms - now);
        return 0;
    }
    bool all_due = !known || ctx->reset || memo.generation != p->generation;
    memo.generation = p->generation;
    memo.phase_requests = 0;
    int r = check(mr, ctx, sec, &prev, &memo, all_due);
    memo_put(mr, p->key, &memo);
    return r;
}

static void mr_forget(void *self, const char *key)
{
    memo_forget(self, key);
}

static void free_memo(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    free(value);
}

void model_reconciler_free(void *self)
{
    struct model_reconciler *mr = self;
    if (!mr)
        return;
    if (mr->memos) {
        strmap_foreach(mr->memos, free_memo, NULL);
        strmap_free(mr->memos);
    }
    pthread_mutex_destroy(&mr->mu);
    free(mr->rollback_log);
    free(mr);
    curl_global_cleanup();
}

int model_reconciler_new(const struct model_reconciler_options *o, struct reconciler *ret,
                         char **ret_err)
{
    struct model_reconciler *mr = calloc(1, sizeof *mr);
    if (!mr || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(mr);
        if (ret_err)
            *ret_err = strdup("model reconciler: cannot initialise (out of memory or libcurl)");
        return SH_ENOMEM;
    }
    if (o)
        mr->o = *o;
    pthread_mutex_init(&mr->mu, NULL);
    mr->memos = strmap_new();
    if (!mr->memos || (mr->o.rollback_log && !(mr->rollback_log = strdup(mr->o.rollback_log)))) {
        model_reconciler_free(mr);
        if (ret_err)
            *ret_err = strdup("model reconciler: out of memory");
        return SH_ENOMEM;
    }
    mr->o.rollback_log = mr->rollback_log;
    *ret = (struct reconciler){.name = LOOP,
                               .reconcile = mr_reconcile,
                               .forget = mr_forget,
                               .shutdown = NULL,
                               .self = mr};
    return 0;
}
