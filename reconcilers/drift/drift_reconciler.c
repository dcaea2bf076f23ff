/* drift_reconciler.c — the drift loop: observe, decide, act (drift_reconciler.h). */
#include "drift/drift_reconciler.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drift/drift_actions.h"
#include "drift/drift_decide.h"
#include "drift/drift_engine.h"
#include "drift/drift_isolated.h"
#include "drift/retrain_actuators.h"
#include "drift/retrain_log.h"
#include "base/errors.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "model/metric_source.h"
#include "runtime/status.h"
#include "base/strmap.h"

#define LOOP "drift"
#define DEFAULT_SCORE_TIMEOUT_MS 5000
#define BLOCKED_RETRY_MS 10000 /* look again while a higher-priority action runs */

/* Per pipeline: the running retrain and the last observation. Touched only
 * by the worker holding the key (the watcher reads dr and key). */
struct entry {
    struct drift_reconciler *dr;
    char key[PIPELINE_KEY_MAX];
    const struct retrain_actuators *ra; /* what made run */
    struct retrain_run *run;            /* the retrain in flight, or NULL */
    int64_t poll_ms;                    /* > 0: ask ra->poll this often while run */
    bool looked;                        /* looked for a run an earlier controller left */
    double job_score;
    bool have_obs;
    int64_t next_check_ms;
    int64_t generation;
    struct drift_observation obs;
    char drifted[DRIFT_FEATURES_KEPT][64];
    int ndrifted;
};

struct drift_reconciler {
    struct drift_reconciler_options o;
    char *state_dir;
    char *retrain_log;
    pthread_mutex_t mu; /* guards the map, not the entries */
    struct strmap *entries;
};

/* --- entries ------------------------------------------------------------- */

static struct entry *entry_get(struct drift_reconciler *dr, const char *key, bool create)
{
    pthread_mutex_lock(&dr->mu);
    struct entry *e = strmap_get(dr->entries, key);
    if (!e && create && (e = calloc(1, sizeof *e)) != NULL) {
        e->dr = dr;
        snprintf(e->key, sizeof e->key, "%s", key);
        if (strmap_put(dr->entries, key, e, NULL) != 0) {
            free(e);
            e = NULL;
        }
    }
    pthread_mutex_unlock(&dr->mu);
    return e;
}

static void entry_free(struct entry *e)
{
    if (!e)
        return;
    if (e->ra)
        e->ra->release(e->ra, e->run);
    free(e);
}

static void entry_forget(struct drift_reconciler *dr, const char *key)
{
    pthread_mutex_lock(&dr->mu);
    struct entry *e = strmap_remove(dr->entries, key);
    pthread_mutex_unlock(&dr->mu);
    entry_free(e);
}

/* The platform's way of running retrains, or NULL. */
static const struct retrain_actuators *actuators_of(struct platform *pf)
{
    return pf->actuators ? (const struct retrain_actuators *)pf->actuators(pf, "retrain") : NULL;
}

/* From the job's watcher thread. */
static void job_ended(void *ctx)
{
    struct entry *e = ctx;
    reconciler_notify_key(e->dr->o.notify, e->key);
}

/* --- observe ------------------------------------------------------------- */

static void observe_engine(struct drift_reconciler *dr, struct entry *e, const struct spec *spec)
{
    const struct spec_drift *sd = &spec->drift;
    struct drift_params p = {.method = sd->method,
                             .feature_threshold = sd->feature_threshold,
                             .threshold = sd->threshold,
                             .min_samples = sd->min_samples > 0 ? (size_t)sd->min_samples : 100,
                             .threads = dr->o.threads};
    /* the numbers' temporary files (unnamed, gone when done) in <state>/tmp
     * when there is a state folder; else $TMPDIR or /tmp */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/tmp", dr->state_dir);
    p.tmp_dir = dr->o.state_dir && fs_mkdir_p(tmp) == 0 ? tmp : NULL;
    const struct spec_data_quality *dq = &spec->data_quality;
    bool tokens = dq->present && dq->missing_tokens;
    struct drift_report rep;
    char *err = NULL;
    /* in a child under the budget: two files too big fail this loop, not the controller */
    uint64_t budget = dr->o.memory_budget > 0    ? (uint64_t)dr->o.memory_budget
                      : dr->o.memory_budget == 0 ? ISOLATE_DEFAULT_BUDGET
                                                 : 0;
    int r = drift_compare_files_isolated(sd->reference_path, sd->current_path,
                                         tokens ? (const char *const *)dq->missing_tokens : NULL,
                                         tokens ? dq->missing_token_count : 0, &p, budget, &rep,
                                         &err);
    if (r != 0) {
        e->obs.ok = false;
        snprintf(e->obs.message, sizeof e->obs.message, "cannot compute drift: %s",
                 err ? err : sh_strerror(r));
        free(err);
        return;
    }
    e->obs.ok = true;
    e->obs.verdict = rep.verdict;
    e->obs.score = rep.score;
    snprintf(e->obs.message, sizeof e->obs.message, "%s", rep.message);
    for (size_t i = 0; i < rep.nfeatures && e->ndrifted < DRIFT_FEATURES_KEPT; i++)
        if (rep.features[i].drifted)
            snprintf(e->drifted[e->ndrifted++], sizeof e->drifted[0], "%s", rep.features[i].name);
    drift_report_free(&rep);
}

static void observe_score(struct drift_reconciler *dr, struct entry *e, const struct spec_drift *sd,
                          const struct metric_source_env *menv)
{
    int64_t timeout = dr->o.score_timeout_ms > 0 ? dr->o.score_timeout_ms : DEFAULT_SCORE_TIMEOUT_MS;
    if (sd->interval_ms > 0 && timeout > sd->interval_ms)
        timeout = sd->interval_ms;
    double v = 0;
    char err[256] = "";
    if (metric_source_read_in(&sd->score_source, menv, timeout, &v, err, sizeof err) != 0) {
        e->obs.ok = false;
        snprintf(e->obs.message, sizeof e->obs.message, "cannot read the drift score: %s", err);
        return;
    }
    e->obs.ok = true;
    e->obs.score = v;
    e->obs.verdict = v >= sd->threshold ? DRIFT_VERDICT_DRIFT : DRIFT_VERDICT_NONE;
    snprintf(e->obs.message, sizeof e->obs.message, "%s: external score %.3f %s threshold %.3f",
             e->obs.verdict == DRIFT_VERDICT_DRIFT ? "drift" : "no drift", v,
             e->obs.verdict == DRIFT_VERDICT_DRIFT ? "≥" : "<", sd->threshold);
}

static void observe(struct drift_reconciler *dr, struct entry *e, const struct spec *spec, int64_t now,
                    const struct metric_source_env *menv)
{
    const struct spec_drift *sd = &spec->drift;
    memset(&e->obs, 0, sizeof e->obs);
    e->obs.score = NAN;
    e->ndrifted = 0;
    if (sd->score_source.kind != METRIC_SOURCE_NONE)
        observe_score(dr, e, sd, menv);
    else
        observe_engine(dr, e, spec);
    e->have_obs = true;
    e->next_check_ms = now + (sd->interval_ms > 0 ? sd->interval_ms : 300000);
}

/* --- act ----------------------------------------------------------------- */

static void log_path_for(struct drift_reconciler *dr, const struct pipeline *p, char *buf, size_t size)
{
    snprintf(buf, size, "%s/logs/retrain-%s-%s.log", dr->state_dir, p->namespace_, p->name);
}

static void append_log(struct drift_reconciler *dr, struct reconcile_ctx *ctx, struct retrain_event *ev,
                       bool set_last)
{
    char *err = NULL, *warn = NULL;
    if (retrain_log_append(dr->retrain_log, ev, set_last, &err, &warn) != 0) {
        char m[600];
        snprintf(m, sizeof m, "retraining log %s: %s", dr->retrain_log, err ? err : "cannot append");
        ctx->platform->record_event(ctx->platform, ctx->p, EVENT_WARNING, "AuditLogFailed", m);
    }
    if (warn)
        log_warn(ctx->p->key, "%s", warn);
    free(err);
    free(warn);
}

static void event_features(const struct entry *e, struct retrain_event *ev, const char **names)
{
    for (int i = 0; i < e->ndrifted; i++)
        names[i] = e->drifted[i];
    ev->drifted_features = names;
    ev->ndrifted = (size_t)e->ndrifted;
}

/* RetrainStarted's message: what runs, why, and where to follow it. */
static void started_message(const struct entry *e, const char *what,
                            const struct retrain_started *info, char *m, size_t size)
{
    char where[700];
    if (info->name[0])
        snprintf(where, sizeof where, "Job %s%s; output: %s", info->name,
                 info->adopted ? ", created before a restart and adopted" : "", info->log);
    else
        snprintf(where, sizeof where, "pid %d%s; output in %s", info->pid,
                 info->adopted ? ", started before a restart and adopted" : "", info->log);
    snprintf(m, size, "retraining: %s (%s; %s)", what, e->obs.message, where);
}

/* Starts the retrain; returns 0, or the start error (recorded as a failed attempt). */
static int start_retrain(struct drift_reconciler *dr, struct reconcile_ctx *ctx, struct entry *e,
                         const struct retrain_actuators *ra, struct drift_state *st,
                         struct drift_decision *d)
{
    const struct spec_drift *sd = &ctx->spec->drift;
    struct platform *pf = ctx->platform;
    char logp[1024], what[512], score[32], header[1200], ts[32];
    log_path_for(dr, ctx->p, logp, sizeof logp);
    ra->describe(ra, sd, what, sizeof what);
    snprintf(score, sizeof score, "%.6g", e->obs.score);
    snprintf(header, sizeof header, "=== %s retrain of %s: %s (drift score %s)\n",
             clock_format_rfc3339(ctx->now_ms, ts, sizeof ts), ctx->p->key, what, score);
    struct retrain_request req = {.p = ctx->p,
                                  .attempt = st->job.attempts + 1,
                                  .drift_score = e->obs.score,
                                  .now_ms = ctx->now_ms,
                                  .clock = dr->o.clock,
                                  .log_path = logp,
                                  .log_header = header,
                                  .on_exit = job_ended,
                                  .ctx = e};
    struct retrain_started info;
    memset(&info, 0, sizeof info);
    char *err = NULL;
    e->ra = ra;
    int r = ra->start(ra, &req, &e->run, &info, &err);
    e->poll_ms = info.poll_ms;
    char trigger[700];
    snprintf(trigger, sizeof trigger, "DriftDetected: %s", e->obs.message);
    struct history_entry h = {.time_ms = ctx->now_ms, .loop = LOOP, .action = "retrain",
                              .trigger = trigger, .outcome = "started", .duration_seconds = -1};
    struct retrain_event ev;
    retrain_event_init(&ev);
    const char *feat[DRIFT_FEATURES_KEPT];
    ev.time_ms = ctx->now_ms;
    ev.trigger = "controller";
    ev.pipeline = ctx->p->key;
    ev.drift_score = e->obs.score;
    ev.threshold = sd->threshold;
    ev.reason = e->obs.message;
    ev.command = sd->retrain.command.argv;
    ev.log = r == 0 && info.log[0] ? info.log : NULL;
    event_features(e, &ev, feat);
    drift_state_started(st, sd, ctx->now_ms, info.pid, info.name, info.log);
    if (r != 0) {
        e->run = NULL;
        char m[700];
        snprintf(m, sizeof m, "retrain could not start: %s", err ? err : sh_strerror(r));
        drift_state_finished(st, false, "Failed", -1, m, ctx->now_ms);
        h.outcome = "failed";
        status_history_add(ctx->status, &h);
        pf->record_event(pf, ctx->p, EVENT_WARNING, "RetrainFailed", m);
        ev.status = "failed";
        ev.reason = m;
        append_log(dr, ctx, &ev, false);
        free(err);
        /* decide again with the failure recorded: RetrainFailed, backoff */
        return r;
    }
    e->job_score = e->obs.score;
    status_history_add(ctx->status, &h);
    char m[1400];
    started_message(e, what, &info, m, sizeof m);
    pf->record_event(pf, ctx->p, EVENT_NORMAL, "RetrainStarted", m);
    log_info(ctx->p->key, "%s", m);
    ev.status = "started";
    append_log(dr, ctx, &ev, false);
    snprintf(d->message, sizeof d->message, "%s", m);
    return 0;
}

/* The job of e has ended: record it (status, history, events, log, model, reference). */
static void finish_retrain(struct drift_reconciler *dr, struct reconcile_ctx *ctx, struct entry *e,
                           struct drift_state *st, const struct retrain_job_result *res)
{
    const struct spec_drift *sd = &ctx->spec->drift;
    struct platform *pf = ctx->platform;
    bool ok = res->state == RETRAIN_JOB_SUCCEEDED;
    double secs = (double)(res->end_ms - res->start_ms) / 1000.0;
    if (secs < 0)
        secs = 0;
    drift_state_finished(st, ok, retrain_job_state_name(res->state), res->exit_code, res->message,
                         res->end_ms);
    if (res->log_gone) /* `kubectl logs job/X` of a deleted Job leads nowhere */
        st->job.log[0] = '\0';
    struct retrain_event ev;
    retrain_event_init(&ev);
    ev.time_ms = res->end_ms;
    ev.trigger = "controller";
    ev.pipeline = ctx->p->key;
    ev.drift_score = e->job_score;
    ev.threshold = sd->threshold;
    ev.command = sd->retrain.command.argv;
    ev.exit_code = res->exit_code;
    ev.duration_seconds = secs;
    ev.log = st->job.log[0] ? st->job.log : NULL;
    status_history_finish(ctx->status, LOOP, ok ? "succeeded" : "failed", secs);
    if (!ok) {
        char m[600];
        snprintf(m, sizeof m, "retrain failed: %s%s%s", res->message,
                 st->job.log[0] ? "; output: " : "", st->job.log);
        pf->record_event(pf, ctx->p, EVENT_WARNING, "RetrainFailed", m);
        log_warn(ctx->p->key, "%s", m);
        ev.status = res->state == RETRAIN_JOB_TIMED_OUT ? "timed out" : "failed";
        ev.reason = res->message;
        append_log(dr, ctx, &ev, false);
        return;
    }
    bool promoted = false;
    char version[128], note[600];
    int pr = drift_promote_newest(pf, ctx->p, &promoted, version, sizeof version, note, sizeof note);
    if (pr != SH_EINVAL) /* else there is no registry to speak of */
        pf->record_event(pf, ctx->p, promoted ? EVENT_NORMAL : EVENT_WARNING,
                         promoted ? "ModelPromoted" : pr ? "ModelPromotionFailed" : "ModelKept", note);
    char refnote[600] = "";
    if (sd->reference_path && sd->current_path) {
        char *err = NULL;
        if (drift_copy_atomic(sd->current_path, sd->reference_path, &err) == 0) {
            snprintf(refnote, sizeof refnote, "%s is the new reference (copied from %s)",
                     sd->reference_path, sd->current_path);
            pf->record_event(pf, ctx->p, EVENT_NORMAL, "ReferenceUpdated", refnote);
        } else {
            snprintf(refnote, sizeof refnote, "the reference could not be updated: %s",
                     err ? err : "copy failed");
            pf->record_event(pf, ctx->p, EVENT_WARNING, "ReferenceUpdateFailed", refnote);
        }
        free(err);
    }
    char m[1400];
    snprintf(m, sizeof m, "retrain succeeded in %.1f s; %s%s%s", secs, note, refnote[0] ? "; " : "",
             refnote);
    pf->record_event(pf, ctx->p, EVENT_NORMAL, "RetrainSucceeded", m);
    log_info(ctx->p->key, "%s", m);
    ev.status = "succeeded";
    ev.model_version = version[0] ? version : NULL;
    ev.model_note = note;
    ev.reason = refnote[0] ? refnote : NULL;
    append_log(dr, ctx, &ev, true);
}

/*
 * A run an earlier controller process (a crash, a restart, another leader)
 * left: the one status says runs, or — looked for once per process — one it
 * started and never recorded. Followed when the platform can; recorded as
 * an attempt either way, so cooldown and one-at-a-time hold across restarts.
 */
static void adopt_left_run(struct drift_reconciler *dr, struct reconcile_ctx *ctx, struct entry *e,
                           const struct retrain_actuators *ra, struct drift_state *st)
{
    const struct spec_drift *sd = &ctx->spec->drift;
    bool recorded = st->job.phase == DRIFT_JOB_RUNNING;
    struct retrain_started info;
    memset(&info, 0, sizeof info);
    char logp[1024], *err = NULL;
    log_path_for(dr, ctx->p, logp, sizeof logp);
    int r = SH_ENOTFOUND;
    if (ra) {
        struct retrain_request req = {.p = ctx->p, .attempt = st->job.attempts, .now_ms = ctx->now_ms,
                                      .clock = dr->o.clock, .log_path = logp};
        r = ra->adopt(ra, &req, recorded ? st->job.name : NULL, recorded ? st->job.start_ms : 0,
                      &e->run, &info, &err);
    }
    if (r != 0 && !recorded && r != SH_ESTOPPED) { /* nothing was left */
        free(err);
        return;
    }
    struct history_entry h = {.time_ms = ctx->now_ms, .loop = LOOP, .action = "retrain",
                              .trigger = "a retrain started before a controller restart",
                              .outcome = "started", .duration_seconds = -1};
    if (!recorded) { /* started and never recorded: count the attempt now */
        drift_state_started(st, sd, ctx->now_ms, info.pid, info.name, r == 0 ? info.log : logp);
        status_history_add(ctx->status, &h);
    }
    char m[700];
    if (r == 0) {
        e->ra = ra;
        e->poll_ms = info.poll_ms;
        e->job_score = st->has_score ? st->score : NAN;
        if (info.name[0])
            snprintf(m, sizeof m, "following the retrain started before a restart: Job %s", info.name);
        else
            snprintf(m, sizeof m, "following the retrain started before a restart: pid %d; output in %s",
                     info.pid, info.log);
        ctx->platform->record_event(ctx->platform, ctx->p, EVENT_NORMAL, "RetrainStarted", m);
        log_info(ctx->p->key, "%s", m);
        free(err);
        return;
    }
    if (st->job.name[0])
        snprintf(m, sizeof m, "lost: Job %s %s; its result is unknown", st->job.name,
                 err ? err : "cannot be followed");
    else if (err)
        snprintf(m, sizeof m, "lost: %s", err);
    else
        snprintf(m, sizeof m, "lost: the controller restarted while it ran (pid %d); its result is unknown",
                 st->job.pid);
    free(err);
    drift_state_finished(st, false, "Lost", -1, m, ctx->now_ms);
    status_history_finish(ctx->status, LOOP, "failed", -1);
    ctx->platform->record_event(ctx->platform, ctx->p, EVENT_WARNING, "RetrainFailed", m);
}

/* --- reconcile ----------------------------------------------------------- */

static void plan(struct reconcile_ctx *ctx, const struct entry *e, const struct retrain_actuators *ra)
{
    char cmd[512], text[900];
    ra->describe(ra, &ctx->spec->drift, cmd, sizeof cmd);
    snprintf(text, sizeof text, "retrain: %s (drift score %.3f ≥ %.3f)", cmd, e->obs.score,
             ctx->spec->drift.threshold);
    status_plan(ctx->status, LOOP, text);
}

/* Drift off (or its section gone): no condition, no plan, no run kept. */
static int stand_down(struct drift_reconciler *dr, struct reconcile_ctx *ctx)
{
    status_remove_condition(ctx->status, COND_MODEL_FRESH);
    status_plan_clear(ctx->status, LOOP);
    if (!ctx->spec->drift.present)
        status_remove_section(ctx->status, LOOP);
    entry_forget(dr, ctx->p->key);
    return 0;
}

/* Follows the run: adopts one a previous controller process recorded or
 * left (if the platform can), records one of ours that has ended (then the
 * data is looked at again). false when its state cannot be read now: still
 * running as far as we know, ask again. */
static bool follow_run(struct drift_reconciler *dr, struct reconcile_ctx *ctx, struct entry *e,
                       const struct retrain_actuators *ra, struct drift_state *st)
{
    if (!e->run && (!e->looked || st->job.phase == DRIFT_JOB_RUNNING))
        adopt_left_run(dr, ctx, e, ra, st);
    e->looked = true;
    if (!e->run)
        return true;
    struct retrain_job_result res;
    char *perr = NULL;
    bool read = e->ra->poll(e->ra, ctx->p, e->run, ctx->now_ms, &res, &perr) == 0;
    if (!read) {
        log_warn(ctx->p->key, "cannot read the retrain's state: %s", perr ? perr : "error");
    } else if (res.state != RETRAIN_JOB_RUNNING) {
        e->ra->release(e->ra, e->run);
        e->run = NULL;
        finish_retrain(dr, ctx, e, st, &res);
        e->have_obs = false;
    }
    free(perr);
    return read;
}

/* Looks at the data when it is due and no retrain runs. */
static void observe_if_due(struct drift_reconciler *dr, struct reconcile_ctx *ctx, struct entry *e,
                           bool running)
{
    int64_t now = ctx->now_ms;
    bool due = !e->have_obs || ctx->reset || e->generation != ctx->p->generation ||
               now >= e->next_check_ms;
    if (due && !running) {
        e->generation = ctx->p->generation;
        struct metric_source_env menv = {.ns = ctx->p->namespace_,
                                         .secrets = ctx->platform ? ctx->platform->secrets : NULL,
                                         .field = "spec.drift.score.source"};
        credentials_warn_insecure(&ctx->spec->drift.score_source.auth, ctx->p->key,
                                  "spec.drift.score.source", ctx->p->generation);
        observe(dr, e, ctx->spec, now, &menv);
    }
    if (!e->have_obs) { /* running since before this process knew the data: nothing observed yet */
        e->obs.ok = true;
        e->obs.verdict = DRIFT_VERDICT_UNKNOWN;
        e->obs.score = NAN;
    }
}

/* Decides (drift_decide.h) into d, and starts the retrain when the rules
 * say so; a start that fails is recorded and decided again (RetrainFailed
 * with the backoff), retried by the rules, not the manager's backoff. */
static void decide_and_start(struct drift_reconciler *dr, struct reconcile_ctx *ctx, struct entry *e,
                             const struct retrain_actuators *ra, struct drift_state *st,
                             bool running, struct drift_decision *d)
{
    const struct spec_drift *sd = &ctx->spec->drift;
    struct drift_decide_in in = {.spec = sd,
                                 .obs = &e->obs,
                                 .prev = st,
                                 .now_ms = ctx->now_ms,
                                 .running = running,
                                 .blocked = ctx->action_in_flight,
                                 .dry_run = ctx->paused || sd->dry_run,
                                 .cannot_run = !ra                ? "the platform cannot run retrains"
                                               : ra->missing(ra, sd)};
    drift_decide(&in, d);
    status_plan_clear(ctx->status, LOOP);
    if (d->plan)
        plan(ctx, e, ra);
    if (d->start && start_retrain(dr, ctx, e, ra, st, d) != 0) {
        in.running = false;
        in.prev = st;
        drift_decide(&in, d);
        d->start = false;
    }
}

/* The score and drifted features the status shows: the last observation's
 * while no retrain runs (kept as they were while one does). */
static void keep_score(struct drift_state *st, const struct entry *e, bool running)
{
    if (running)
        return;
    if (e->obs.ok && e->obs.verdict != DRIFT_VERDICT_UNKNOWN) {
        st->has_score = true;
        st->score = e->obs.score;
        st->ndrifted = e->ndrifted;
        memcpy(st->drifted, e->drifted, sizeof st->drifted);
    } else {
        st->has_score = false;
        st->ndrifted = 0;
    }
}

/* When to look again: while retraining, when the run's watcher notifies or
 * the platform wants to be asked; else at the next check, the end of a
 * cooldown or backoff, or soon when only a higher-priority action blocked. */
static void requeue(struct reconcile_ctx *ctx, const struct entry *e,
                    const struct drift_decision *d, bool blocked, bool poll_failed)
{
    int64_t now = ctx->now_ms;
    int64_t interval = ctx->spec->drift.interval_ms > 0 ? ctx->spec->drift.interval_ms : 300000;
    if (d->retraining) {
        int64_t poll = e->run && e->poll_ms > 0 ? e->poll_ms : 0;
        reconcile_requeue_after(ctx, poll > 0 && (poll < interval || poll_failed) ? poll : interval);
        return;
    }
    reconcile_requeue_after(ctx, e->next_check_ms > now ? e->next_check_ms - now : interval);
    if (d->next_ms > now)
        reconcile_requeue_after(ctx, d->next_ms - now);
    if (blocked && strcmp(d->reason, "DriftDetected") == 0)
        reconcile_requeue_after(ctx, BLOCKED_RETRY_MS);
}

static int dr_reconcile(void *self, struct reconcile_ctx *ctx)
{
    struct drift_reconciler *dr = self;
    if (!ctx->spec->drift.present || !ctx->spec->drift.enabled)
        return stand_down(dr, ctx);
    cJSON *sec = status_section(ctx->status, LOOP);
    struct entry *e = entry_get(dr, ctx->p->key, true);
    struct drift_state *st = malloc(sizeof *st);
    struct drift_decision *d = malloc(sizeof *d);
    if (!sec || !e || !st || !d) {
        free(st);
        free(d);
        return SH_ENOMEM;
    }
    drift_state_read(sec, st);
    if (ctx->reset)
        drift_state_reset(st);
    const struct retrain_actuators *ra = actuators_of(ctx->platform);
    bool poll_failed = !follow_run(dr, ctx, e, ra, st);
    bool running = e->run != NULL;
    observe_if_due(dr, ctx, e, running);
    bool blocked = ctx->action_in_flight;
    decide_and_start(dr, ctx, e, ra, st, running, d);
    keep_score(st, e, running);
    status_set_condition(ctx->status, COND_MODEL_FRESH, d->cond, d->reason, d->message,
                         ctx->p->generation, ctx->now_ms);
    if (d->retraining) {
        ctx->phase_requests |= PHASE_REQ(PHASE_RETRAINING);
        ctx->action_in_flight = true;
    }
    requeue(ctx, e, d, blocked, poll_failed);
    int wr = drift_state_write(st, sec);
    free(st);
    free(d);
    return wr;
}

static void dr_forget(void *self, const char *key)
{
    entry_forget(self, key);
}

static void stop_cb(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    struct entry *e = value;
    if (e->run)
        e->ra->stop(e->ra, e->run);
}

static void dr_shutdown(void *self)
{
    struct drift_reconciler *dr = self;
    pthread_mutex_lock(&dr->mu);
    strmap_foreach(dr->entries, stop_cb, NULL);
    pthread_mutex_unlock(&dr->mu);
}

int drift_reconciler_new(const struct drift_reconciler_options *o, struct reconciler *ret,
                         char **ret_err)
{
    struct drift_reconciler *dr = calloc(1, sizeof *dr);
    if (!dr)
        goto oom;
    dr->o = *o;
    if (!dr->o.clock)
        dr->o.clock = clock_real();
    dr->state_dir = strdup(o->state_dir ? o->state_dir : ".");
    dr->retrain_log = strdup(o->retrain_log ? o->retrain_log : RETRAIN_LOG_PATH);
    dr->entries = strmap_new();
    pthread_mutex_init(&dr->mu, NULL);
    if (!dr->state_dir || !dr->retrain_log || !dr->entries) {
        drift_reconciler_free(dr);
        goto oom;
    }
    *ret = (struct reconciler){.name = LOOP,
                               .reconcile = dr_reconcile,
                               .forget = dr_forget,
                               .shutdown = dr_shutdown,
                               .self = dr};
    return 0;
oom:
    if (ret_err)
        *ret_err = strdup("drift reconciler: out of memory");
    return SH_ENOMEM;
}

static void free_cb(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    entry_free(value);
}

void drift_reconciler_free(void *self)
{
    struct drift_reconciler *dr = self;
    if (!dr)
        return;
    if (dr->entries) {
        strmap_foreach(dr->entries, free_cb, NULL);
        strmap_free(dr->entries);
    }
    pthread_mutex_destroy(&dr->mu);
    free(dr->state_dir);
    free(dr->retrain_log);
    free(dr);
}
