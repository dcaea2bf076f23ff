/*
 * service_reconciler.c — the service loop's glue (service_reconciler.h):
 * observation from the prober and the actuators, service_decide(), the
 * action, and everything reported about it. Holds no memo of its own: every
 * fact it needs between rounds is in status.service.
 */
#include "service/service_reconciler.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"
#include "base/strmap.h"
#include "service/recovery_log.h"
#include "service/service_actuators.h"
#include "service/service_decide.h"
#include "service/service_status.h"
#include "runtime/credentials.h"
#include "runtime/status.h"

#define LOOP "service"

struct service_reconciler {
    const struct sh_clock *clock;
    char *audit_path; /* NULL: none */
    const struct reconciler_notify *notify;
    struct platform *platform;
    struct prober *prober;
    struct metrics *reg;
    _Atomic(struct metric_family *) mttr;
    _Atomic(struct metric_family *) actions;
    _Atomic(struct metric_family *) probe_latency;
    _Atomic(struct metric_family *) up;           /* selfheal_service_up{pipeline} */
    _Atomic(struct metric_family *) down_seconds; /* selfheal_service_down_seconds_total{pipeline} */
    pthread_mutex_t down_mu;
    struct strmap *down_since; /* key → int64_t ms: down since then, not yet counted */
};

static const struct service_actuators *actuators_of(struct platform *pf)
{
    return pf && pf->actuators ? (const struct service_actuators *)pf->actuators(pf, LOOP) : NULL;
}

/* ---- prober callbacks (prober thread) ---- */

static void on_result(void *ctx, const char *key)
{
    struct service_reconciler *r = ctx;
    reconciler_notify_key(r->notify, key);
}

static void on_probe(void *ctx, const char *key, const struct probe_observation *obs)
{
    (void)key;
    struct service_reconciler *r = ctx;
    struct metric_family *f = atomic_load(&r->probe_latency);
    if (f)
        metrics_observe(f, NULL, obs->last_latency_ms / 1000.0);
}

/* ---- reporting helpers ---- */

static const char *method_name(const struct spec_service *svc)
{
    return spec_recovery_method_name(svc->recovery.method);
}

static void count_action(struct service_reconciler *r, const struct spec_service *svc,
                         const char *outcome)
{
    struct metric_family *f = atomic_load(&r->actions);
    if (f) {
        const char *labels[] = {method_name(svc), outcome};
        metrics_add(f, labels, 1);
    }
}

struct audit_rec {
    const char *action;  /* "restart", "run-command", "recovered", "gave-up", ... */
    const char *outcome; /* "started", "failed", "succeeded", "exhausted" */
    int attempt;         /* 0: omitted */
    const char *trigger;
    const char *error;
    double mttr_seconds; /* < 0: omitted */
};

static void audit(struct service_reconciler *r, const struct reconcile_ctx *ctx,
                  const struct spec_service *svc, const struct audit_rec *a)
{
    if (!r->audit_path)
        return;
    struct recovery_record rec = {.time_ms = ctx->now_ms,
                                  .source = "controller",
                                  .pipeline = ctx->p->key,
                                  .service_url = svc->health_check.url,
                                  .method = method_name(svc),
                                  .action = a->action,
                                  .outcome = a->outcome,
                                  .attempt = a->attempt,
                                  .max_attempts = svc->recovery.max_attempts,
                                  .trigger = a->trigger,
                                  .error = a->error,
                                  .mttr_seconds = a->mttr_seconds};
    char *err = NULL, *warn = NULL;
    if (recovery_log_append(r->audit_path, &rec, &err, &warn) != 0)
        log_warn(ctx->p->key, "recovery log %s: %s", r->audit_path, err ? err : "write failed");
    if (warn)
        log_warn(ctx->p->key, "recovery log %s: %s", r->audit_path, warn);
    free(err);
    free(warn);
}

static void event(const struct reconcile_ctx *ctx, enum event_type t, const char *reason,
                  const char *msg)
{
    if (ctx->platform && ctx->platform->record_event)
        ctx->platform->record_event(ctx->platform, ctx->p, t, reason, msg);
}

/* Whether the service serves now, however that is known: for a supervised
 * process, it runs and a probe succeeded since it started; otherwise the
 * newest probe succeeded. -1: not known yet (no probe). */
static int serving(const struct service_observation *ob)
{
    if (ob->supervised) {
        if (!ob->process_running)
            return 0;
        if (!ob->probe_known || ob->last_success_ms < ob->process_started_ms)
            return ob->process_ever_started && ob->probe_known ? 0 : -1;
        return ob->consecutive_failures == 0;
    }
    if (!ob->probe_known)
        return -1;
    return ob->consecutive_failures == 0;
}

/* selfheal_service_up and selfheal_service_down_seconds_total: the time the
 * service did not serve is counted up to now at every look, so an outage
 * shorter than a scrape interval (a crash the loop restarts within
 * milliseconds) still counts. */
static void account_uptime(struct service_reconciler *r, const char *key,
                           const struct service_observation *ob, int64_t now)
{
    struct metric_family *up = atomic_load(&r->up), *down = atomic_load(&r->down_seconds);
    int s = serving(ob);
    if (!up || !down || s < 0)
        return;
    const char *labels[] = {key};
    metrics_set(up, labels, s);
    double add = 0;
    pthread_mutex_lock(&r->down_mu);
    int64_t *since = strmap_get(r->down_since, key);
    if (since) {
        add = now > *since ? (double)(now - *since) / 1000.0 : 0;
        *since = now;
        if (s)
            free(strmap_remove(r->down_since, key));
    } else if (!s && (since = malloc(sizeof *since)) != NULL) {
        *since = now;
        if (strmap_put(r->down_since, key, since, NULL) != 0)
            free(since);
    }
    pthread_mutex_unlock(&r->down_mu);
    metrics_add(down, labels, add); /* 0 creates the series */
}

static void forget_uptime(struct service_reconciler *r, const char *key)
{
    pthread_mutex_lock(&r->down_mu);
    free(strmap_remove(r->down_since, key));
    pthread_mutex_unlock(&r->down_mu);
}

/* ---- observation ---- */

struct observed {
    struct service_observation obs;
    bool can_act;          /* the platform implements the method */
    char cannot[256];      /* why not */
    bool command_running;  /* method command: the previous one still runs */
    char command_note[200]; /* how the last recovery command ended */
};

static void observe(struct service_reconciler *r, const struct reconcile_ctx *ctx,
                    const struct service_actuators *sa, struct observed *o)
{
    const struct spec_service *svc = &ctx->spec->service;
    const char *key = ctx->p->key;
    memset(o, 0, sizeof *o);
    struct probe_observation po;
    prober_get(r->prober, key, &po);
    struct service_observation *ob = &o->obs;
    ob->probe_known = po.known;
    ob->consecutive_failures = po.consecutive_failures;
    ob->consecutive_successes = po.consecutive_successes;
    ob->first_failure_ms = po.first_failure_ms;
    ob->last_success_ms = po.last_success_ms;
    snprintf(ob->last_error, sizeof ob->last_error, "%s", po.last_error);

    switch (svc->recovery.method) {
    case RECOVERY_PROCESS:
        o->can_act = sa && sa->ensure_process && sa->recover_process && sa->process_state;
        if (o->can_act) {
            struct service_process_state ps;
            sa->process_state(sa, key, &ps);
            ob->supervised = true;
            ob->process_ever_started = ps.known;
            ob->process_running = ps.running;
            ob->process_started_ms = ps.running ? ps.started_ms : 0;
            snprintf(ob->process_exit, sizeof ob->process_exit, "%s", ps.exit_text);
        }
        break;
    case RECOVERY_COMMAND:
        o->can_act = sa && sa->run_command && sa->command_state;
        if (o->can_act) {
            struct service_command_state cs;
            sa->command_state(sa, key, &cs);
            o->command_running = cs.running;
            if (cs.known && !cs.running && cs.exit_text[0])
                snprintf(o->command_note, sizeof o->command_note, "the recovery command %s",
                         cs.exit_text);
        }
        break;
    case RECOVERY_RESTART:
        o->can_act = sa && sa->restart_workload;
        break;
    case RECOVERY_DELETE_PODS:
        o->can_act = sa && sa->delete_pods;
        break;
    }
    if (!o->can_act)
        snprintf(o->cannot, sizeof o->cannot,
                 "recovery method %s is not available on the %s platform", method_name(svc),
                 ctx->platform && ctx->platform->name ? ctx->platform->name : "current");
}

/* ---- acting ---- */

static int act_recover(const struct reconcile_ctx *ctx, const struct service_actuators *sa,
                       char **ret_err)
{
    const struct spec_service *svc = &ctx->spec->service;
    switch (svc->recovery.method) {
    case RECOVERY_PROCESS:
        return sa->recover_process(sa, ctx->p->key, svc, ret_err);
    case RECOVERY_COMMAND:
        return sa->run_command(sa, ctx->p->key, &svc->recovery.command, svc->recovery.timeout_ms,
                               ret_err);
    case RECOVERY_RESTART:
        return sa->restart_workload(sa, ctx->p, svc, ret_err);
    case RECOVERY_DELETE_PODS:
        return sa->delete_pods(sa, ctx->p, svc, ret_err);
    }
    return SH_EINVAL;
}

static const char *action_name(const struct spec_service *svc)
{
    switch (svc->recovery.method) {
    case RECOVERY_COMMAND:
        return "run-command";
    case RECOVERY_DELETE_PODS:
        return "delete-pods";
    default:
        return "restart";
    }
}

static void trigger_of(const struct observed *o, char *buf, size_t size)
{
    if (o->obs.supervised && !o->obs.process_running)
        snprintf(buf, size, "ProcessExited: the service process %s",
                 o->obs.process_exit[0] ? o->obs.process_exit : "is not running");
    else
        snprintf(buf, size, "ProbeFailed: %s",
                 o->obs.last_error[0] ? o->obs.last_error : "no healthy probe");
}

/* The cluster methods found no Deployment to act on: a configuration error,
 * not an attempt. The count and timing stay as they were, the condition says
 * what is missing, and the next look tries again (it heals by itself when the
 * Deployment appears). */
static void workload_missing(struct reconcile_ctx *ctx, const struct service_state *prev,
                             struct service_decision *d, const char *why)
{
    const struct spec_service *svc = &ctx->spec->service;
    d->next.recovery_attempts = prev->recovery_attempts;
    d->next.last_recovery_ms = prev->last_recovery_ms;
    d->next.last_action_start = prev->last_action_start;
    d->verdict = SERVICE_UNHEALTHY;
    d->action = SERVICE_ACT_NONE;
    d->action_in_flight = false;
    snprintf(d->reason, sizeof d->reason, "DeploymentNotFound");
    snprintf(d->message, sizeof d->message,
             "%s: no recovery attempt can be made until it exists (%d of %d made); "
             "checking again every %.1f s",
             why, prev->recovery_attempts, svc->recovery.max_attempts,
             (double)svc->health_check.interval_ms / 1000.0);
    d->requeue_after_ms = svc->health_check.interval_ms;
}

static bool cluster_method(const struct spec_service *svc)
{
    return svc->recovery.method == RECOVERY_RESTART || svc->recovery.method == RECOVERY_DELETE_PODS;
}

/* A recovery attempt (d->next already counts it). Returns the message to
 * add to the condition when it failed ("" otherwise) in note. Returns
 * false when no attempt was made (the Deployment does not exist). */
static bool do_recover(struct service_reconciler *r, struct reconcile_ctx *ctx,
                       const struct service_actuators *sa, const struct observed *o,
                       const struct service_state *prev, struct service_decision *d,
                       char *note, size_t note_size)
{
    const struct spec_service *svc = &ctx->spec->service;
    char trigger[400];
    trigger_of(o, trigger, sizeof trigger);
    char *err = NULL;
    int rc = act_recover(ctx, sa, &err);
    if (rc == SH_ENOTFOUND && cluster_method(svc)) {
        workload_missing(ctx, prev, d, err ? err : "the deployment does not exist");
        free(err);
        return false;
    }
    /* the previous attempt was not verified healthy: it failed */
    if (prev->last_recovery_ms > 0)
        status_history_finish(ctx->status, LOOP, "failed",
                              (double)(ctx->now_ms - prev->last_recovery_ms) / 1000.0);
    int attempt = d->next.recovery_attempts;
    struct history_entry h = {.time_ms = ctx->now_ms, .loop = LOOP, .action = action_name(svc),
                              .trigger = trigger, .outcome = rc ? "failed" : "started",
                              .duration_seconds = -1};
    status_history_add(ctx->status, &h);
    struct audit_rec a = {.action = action_name(svc), .outcome = h.outcome, .attempt = attempt,
                          .trigger = trigger, .mttr_seconds = -1};
    char msg[768];
    if (rc) {
        const char *why = err ? err : sh_strerror(rc);
        a.error = why;
        snprintf(note, note_size, "; attempt %d could not be made: %s", attempt, why);
        snprintf(msg, sizeof msg, "recovery attempt %d of %d (%s) failed: %s", attempt,
                 svc->recovery.max_attempts, action_name(svc), why);
        event(ctx, EVENT_WARNING, "RecoveryFailed", msg);
        log_warn(ctx->p->key, "%s", msg);
        count_action(r, svc, "failed");
    } else {
        snprintf(msg, sizeof msg, "recovery attempt %d of %d: %s (%s)", attempt,
                 svc->recovery.max_attempts, action_name(svc), trigger);
        event(ctx, EVENT_WARNING, "RecoveryStarted", msg);
        log_info(ctx->p->key, "%s", msg);
        count_action(r, svc, "started");
        /* healing in a blink: watch it closely until its first success */
        (void)prober_probe_fast(r->prober, ctx->p->key);
    }
    audit(r, ctx, svc, &a);
    free(err);
    return true;
}

/* Starts the supervised process; true when one was started. */
static bool do_start(struct reconcile_ctx *ctx, const struct service_actuators *sa, char *note,
                     size_t note_size)
{
    const struct spec_service *svc = &ctx->spec->service;
    bool started = false;
    char *err = NULL;
    int rc = sa->ensure_process(sa, ctx->p->key, svc, &started, &err);
    if (rc) {
        const char *why = err ? err : sh_strerror(rc);
        snprintf(note, note_size, "; cannot start the service process: %s", why);
        event(ctx, EVENT_WARNING, "ProcessStartFailed", why);
    } else if (started) {
        struct service_process_state ps;
        sa->process_state(sa, ctx->p->key, &ps);
        char msg[256];
        snprintf(msg, sizeof msg, "started the service process (pid %d)", (int)ps.pid);
        event(ctx, EVENT_NORMAL, "ProcessStarted", msg);
    }
    free(err);
    return rc == 0 && started;
}

/* A running supervised process whose command, folder or env changed in the
 * spec is restarted with the new one (not a recovery attempt). */
static void follow_spec_change(struct service_reconciler *r, struct reconcile_ctx *ctx,
                               const struct service_actuators *sa, const struct observed *o)
{
    if (!o->obs.supervised || !o->obs.process_running)
        return;
    bool started = false;
    char *err = NULL;
    int rc = sa->ensure_process(sa, ctx->p->key, &ctx->spec->service, &started, &err);
    if (rc)
        event(ctx, EVENT_WARNING, "ProcessStartFailed", err ? err : sh_strerror(rc));
    else if (started) {
        event(ctx, EVENT_NORMAL, "ProcessRestarted",
              "the process spec changed: restarted the service process with it");
        (void)prober_probe_fast(r->prober, ctx->p->key);
    }
    free(err);
}

/* ---- the loop ---- */

static void disable(struct service_reconciler *r, struct reconcile_ctx *ctx,
                    const struct service_actuators *sa)
{
    prober_remove(r->prober, ctx->p->key);
    if (sa && sa->forget)
        sa->forget(sa, ctx->p->key);
    status_remove_section(ctx->status, LOOP);
    status_remove_condition(ctx->status, COND_SERVICE_HEALTHY);
    status_plan_clear(ctx->status, LOOP);
}

static enum cond_status cond_of(enum service_verdict v)
{
    switch (v) {
    case SERVICE_HEALTHY:
        return COND_TRUE;
    case SERVICE_UNKNOWN:
    case SERVICE_STARTING:
        return COND_UNKNOWN;
    default:
        return COND_FALSE;
    }
}

static void plan(struct reconcile_ctx *ctx, const struct service_decision *d)
{
    const struct spec_service *svc = &ctx->spec->service;
    char text[300];
    if (d->action == SERVICE_ACT_START)
        snprintf(text, sizeof text, "start the service process %s",
                 svc->recovery.process.command.argc ? svc->recovery.process.command.argv[0] : "");
    else
        snprintf(text, sizeof text, "%s (attempt %d of %d)", action_name(svc),
                 d->next.recovery_attempts + 1, svc->recovery.max_attempts);
    status_plan(ctx->status, LOOP, text);
}

/* Points the prober at the spec's health check. Returns 0, an error, or
 * SH_EINVAL after setting the condition (a URL that cannot be probed). */
static int set_probe_target(struct service_reconciler *r, struct reconcile_ctx *ctx)
{
    const struct spec_service *svc = &ctx->spec->service;
    struct http_credentials cred;
    char why[400];
    int err = credentials_resolve(&svc->health_check.auth, ctx->p->namespace_,
                                  ctx->platform ? ctx->platform->secrets : NULL,
                                  "spec.service.healthCheck", &cred, why, sizeof why);
    if (err) {
        /* a missing Secret or variable may appear: look again at the next interval */
        http_credentials_free(&cred);
        status_set_condition(ctx->status, COND_SERVICE_HEALTHY, COND_FALSE, "ProbeFailed", why,
                             ctx->p->generation, ctx->now_ms);
        reconcile_requeue_after(ctx, svc->health_check.interval_ms);
        return err == SH_ENOMEM ? err : SH_EINVAL;
    }
    credentials_warn_insecure(&svc->health_check.auth, ctx->p->key, "spec.service.healthCheck",
                              ctx->p->generation);
    err = prober_set_target_auth(r->prober, ctx->p->key, svc->health_check.url, &cred,
                                 svc->health_check.interval_ms, (long)svc->health_check.timeout_ms);
    http_credentials_free(&cred);
    if (err == SH_EINVAL) {
        char msg[PROBE_URL_MAX + 80];
        snprintf(msg, sizeof msg, "spec.service.healthCheck.url: cannot probe '%s'",
                 svc->health_check.url ? svc->health_check.url : "");
        status_set_condition(ctx->status, COND_SERVICE_HEALTHY, COND_FALSE, "ProbeFailed", msg,
                             ctx->p->generation, ctx->now_ms);
    }
    return err;
}

/* The decision wants an action that cannot be made now (another loop acts,
 * the platform lacks the method, the previous command still runs): keep the
 * attempt count and timing as they were and say why in note. Returns true
 * when it needs a human (the method is missing). */
static bool hold_action(struct reconcile_ctx *ctx, const struct observed *o,
                        const struct service_state *prev, struct service_decision *d, char *note,
                        size_t note_size)
{
    if (d->action == SERVICE_ACT_NONE || d->planned_only ||
        !(ctx->action_in_flight || !o->can_act || o->command_running))
        return false;
    bool needs_attention = false;
    d->next.recovery_attempts = prev->recovery_attempts;
    d->next.last_recovery_ms = prev->last_recovery_ms;
    d->next.last_action_start = prev->last_action_start;
    if (!o->can_act) {
        snprintf(note, note_size, "; cannot recover: %s", o->cannot);
        needs_attention = true;
        d->verdict = d->verdict == SERVICE_RECOVERING ? SERVICE_UNHEALTHY : d->verdict;
        snprintf(d->reason, sizeof d->reason, "%s",
                 d->action == SERVICE_ACT_START ? "Starting" : "ProbeFailed");
    } else if (o->command_running) {
        snprintf(note, note_size, "; the recovery command of attempt %d still runs",
                 prev->recovery_attempts);
        d->action_in_flight = true;
    } else {
        snprintf(note, note_size, "; waiting: another action is in flight");
    }
    d->action = SERVICE_ACT_NONE;
    reconcile_requeue_after(ctx, ctx->spec->service.health_check.interval_ms);
    return needs_attention;
}

/* Carries out the decision: a plan (dry run), a start, a recovery attempt,
 * or following a changed process spec. Returns true when it needs a human
 * (the Deployment to act on does not exist). */
static bool act(struct service_reconciler *r, struct reconcile_ctx *ctx,
                const struct service_actuators *sa, const struct observed *o,
                const struct service_state *prev, struct service_decision *d, bool dry, char *note,
                size_t note_size)
{
    if (d->planned_only && d->action != SERVICE_ACT_NONE) {
        plan(ctx, d);
    } else if (d->action == SERVICE_ACT_START && do_start(ctx, sa, note, note_size)) {
        /* a start is an action too: the service is starting until its first
         * healthy probe or the startup window's end */
        d->next.last_recovery_ms = ctx->now_ms;
        d->next.last_action_start = true;
        d->verdict = SERVICE_STARTING;
        d->action_in_flight = true;
        (void)prober_probe_fast(r->prober, ctx->p->key);
    } else if (d->action == SERVICE_ACT_RECOVER) {
        if (!do_recover(r, ctx, sa, o, prev, d, note, note_size))
            return true;
    } else if (sa && o->can_act && !dry && !ctx->action_in_flight) {
        follow_spec_change(r, ctx, sa, o);
    }
    return false;
}

/* An incident this look closed after recovery attempts: history, audit,
 * MTTR, event. */
static void report_healed(struct service_reconciler *r, struct reconcile_ctx *ctx,
                          const struct service_state *prev, const struct service_decision *d)
{
    const struct spec_service *svc = &ctx->spec->service;
    double secs = d->next.last_recovery_seconds;
    status_history_finish(ctx->status, LOOP, "succeeded",
                          (double)(ctx->now_ms - prev->last_recovery_ms) / 1000.0);
    struct audit_rec a = {.action = "recovered", .outcome = "succeeded",
                          .attempt = prev->recovery_attempts, .mttr_seconds = secs};
    audit(r, ctx, svc, &a);
    struct metric_family *f = atomic_load(&r->mttr);
    if (f)
        metrics_observe(f, NULL, secs);
    count_action(r, svc, "succeeded");
    char msg[256];
    snprintf(msg, sizeof msg, "healthy again after %d recovery attempt%s; MTTR %.3f s",
             prev->recovery_attempts, prev->recovery_attempts == 1 ? "" : "s", secs);
    event(ctx, EVENT_NORMAL, "Recovered", msg);
    log_info(ctx->p->key, "%s", msg);
}

/* This look gave up (RecoveryExhausted): history, audit, event. */
static void report_gave_up(struct service_reconciler *r, struct reconcile_ctx *ctx,
                           const struct observed *o, const struct service_state *prev,
                           const struct service_decision *d)
{
    const struct spec_service *svc = &ctx->spec->service;
    if (prev->last_recovery_ms > 0)
        status_history_finish(ctx->status, LOOP, "failed",
                              (double)(ctx->now_ms - prev->last_recovery_ms) / 1000.0);
    char trigger[400];
    trigger_of(o, trigger, sizeof trigger);
    struct audit_rec a = {.action = "gave-up", .outcome = "exhausted",
                          .attempt = d->next.recovery_attempts, .trigger = trigger,
                          .mttr_seconds = -1};
    audit(r, ctx, svc, &a);
    count_action(r, svc, "exhausted");
    event(ctx, EVENT_WARNING, "RecoveryExhausted", d->message);
    log_warn(ctx->p->key, "%s", d->message);
}

/* The ServiceHealthy condition (decision message + note + how the last
 * recovery command ended) and status.service. Returns 0 or SH_ENOMEM. */
static int write_status(struct reconcile_ctx *ctx, cJSON *sec, const struct observed *o,
                        const struct service_decision *d, const char *note)
{
    char message[1400];
    bool with_command = o->command_note[0] && d->verdict != SERVICE_HEALTHY;
    snprintf(message, sizeof message, "%s%s%s%s", d->message, note, with_command ? "; " : "",
             with_command ? o->command_note : "");
    if (status_set_condition(ctx->status, COND_SERVICE_HEALTHY, cond_of(d->verdict), d->reason,
                             message, ctx->p->generation, ctx->now_ms) != 0 ||
        service_state_write(&d->next, sec) != 0)
        return SH_ENOMEM;
    return 0;
}

/* The phase this loop asks for, whether lower loops wait, and when to look
 * again. */
static void request_phase_and_requeue(struct reconcile_ctx *ctx, const struct service_decision *d,
                                      bool dry, bool needs_attention)
{
    if (!dry) {
        if (d->verdict == SERVICE_EXHAUSTED || needs_attention)
            ctx->phase_requests |= PHASE_REQ(PHASE_NEEDS_ATTENTION);
        else if (d->verdict == SERVICE_UNKNOWN ||
                 (d->verdict == SERVICE_STARTING && d->next.recovery_attempts == 0))
            /* not observed yet, or the first start (no recovery): pending */
            ctx->phase_requests |= PHASE_REQ(PHASE_PENDING);
        else if (d->verdict == SERVICE_RECOVERING || d->verdict == SERVICE_UNHEALTHY ||
                 d->verdict == SERVICE_STARTING)
            ctx->phase_requests |= PHASE_REQ(PHASE_RECOVERING);
    }
    /* the decision's requeue covers the end of the startup window (when
     * its failures start to count and the loops after this one resume) */
    if (d->action_in_flight)
        ctx->action_in_flight = true;
    reconcile_requeue_after(ctx, d->requeue_after_ms);
}

/* observe → decide → act → report, in those named steps. */
static int sr_reconcile(void *self, struct reconcile_ctx *ctx)
{
    struct service_reconciler *r = self;
    const struct spec_service *svc = &ctx->spec->service;
    const struct service_actuators *sa = actuators_of(ctx->platform);
    if (!svc->present || !svc->enabled) {
        disable(r, ctx, sa);
        return 0;
    }
    int err = set_probe_target(r, ctx);
    if (err)
        return err == SH_EINVAL ? 0 : err;

    struct observed o;
    observe(r, ctx, sa, &o);
    account_uptime(r, ctx->p->key, &o.obs, ctx->now_ms);
    cJSON *sec = status_section(ctx->status, LOOP);
    if (!sec)
        return SH_ENOMEM;
    struct service_state prev;
    service_state_read(sec, &prev);
    bool dry = ctx->paused || svc->dry_run;
    struct service_decision d;
    service_decide(svc, &o.obs, &prev, ctx->now_ms, ctx->p->generation, dry, ctx->reset, &d);

    char note[600] = "";
    status_plan_clear(ctx->status, LOOP);
    bool needs_attention = hold_action(ctx, &o, &prev, &d, note, sizeof note);
    if (act(r, ctx, sa, &o, &prev, &d, dry, note, sizeof note))
        needs_attention = true;
    if (d.healed && prev.last_recovery_ms > 0 && prev.recovery_attempts > 0)
        report_healed(r, ctx, &prev, &d);
    if (d.gave_up)
        report_gave_up(r, ctx, &o, &prev, &d);
    err = write_status(ctx, sec, &o, &d, note);
    if (err)
        return err;
    request_phase_and_requeue(ctx, &d, dry, needs_attention);
    return 0;
}

static void sr_forget(void *self, const char *key)
{
    struct service_reconciler *r = self;
    forget_uptime(r, key);
    prober_remove(r->prober, key);
    const struct service_actuators *sa = actuators_of(r->platform);
    if (sa && sa->forget)
        sa->forget(sa, key);
}

static void sr_shutdown(void *self)
{
    struct service_reconciler *r = self;
    prober_stop(r->prober);
    const struct service_actuators *sa = actuators_of(r->platform);
    if (sa && sa->stop_all)
        sa->stop_all(sa);
}

/* ---- construction and metrics ---- */

int service_reconciler_new(const struct service_reconciler_options *o, struct reconciler *ret,
                           char **ret_err)
{
    struct service_reconciler *r = calloc(1, sizeof *r);
    if (!r)
        return SH_ENOMEM;
    if (!(r->down_since = strmap_new())) {
        free(r);
        return SH_ENOMEM;
    }
    pthread_mutex_init(&r->down_mu, NULL);
    r->clock = o && o->clock ? o->clock : clock_real();
    r->notify = o ? o->notify : NULL;
    r->platform = o ? o->platform : NULL;
    const char *path = o && o->audit_log_path ? o->audit_log_path : SERVICE_RECOVERY_LOG_DEFAULT;
    if (path[0] && !(r->audit_path = strdup(path))) {
        free(r);
        return SH_ENOMEM;
    }
    struct prober_options po = o ? o->prober : (struct prober_options){0};
    po.on_probe = on_probe;
    int err = prober_new(r->clock, &po, on_result, r, &r->prober);
    if (err) {
        if (ret_err)
            *ret_err = strdup("cannot start the HTTP prober");
        free(r->audit_path);
        strmap_free(r->down_since);
        pthread_mutex_destroy(&r->down_mu);
        free(r);
        return err;
    }
    *ret = (struct reconciler){.name = LOOP,
                               .reconcile = sr_reconcile,
                               .forget = sr_forget,
                               .shutdown = sr_shutdown,
                               .self = r};
    return 0;
}

static int collect_probes(void *ctx, struct metrics *scratch)
{
    struct service_reconciler *r = ctx;
    struct probe_stats st;
    prober_get_stats(r->prober, &st);
    struct metric_family *f;
    struct {
        enum metric_type type;
        const char *name, *help;
        double v;
    } m[] = {
        {METRIC_COUNTER, "selfheal_probes_total", "Health probes completed.", (double)st.probes},
        {METRIC_COUNTER, "selfheal_probe_failures_total", "Health probes that failed.",
         (double)st.failures},
        {METRIC_GAUGE, "selfheal_probe_targets", "Services being probed.", (double)st.targets},
        {METRIC_GAUGE, "selfheal_probe_in_flight", "Health probes running now.",
         (double)st.in_flight},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        struct metric_opts mo = {.type = m[i].type, .name = m[i].name, .help = m[i].help};
        int err = metrics_register(scratch, &mo, &f);
        if (!err)
            err = m[i].type == METRIC_COUNTER ? metrics_add(f, NULL, m[i].v)
                                              : metrics_set(f, NULL, m[i].v);
        if (err)
            return err;
    }
    return 0;
}

int service_reconciler_register_metrics(void *self, struct metrics *reg)
{
    struct service_reconciler *r = self;
    static const double mttr_buckets[] = {0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
    static const double probe_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                           0.25,  0.5,    1,     2.5,  5,     10};
    static const char *const action_labels[] = {"method", "outcome", NULL};
    static const char *const pipeline_label[] = {"pipeline", NULL};
    struct metric_family *mttr = NULL, *actions = NULL, *lat = NULL, *up = NULL, *down = NULL;
    struct metric_opts o4 = {.type = METRIC_GAUGE,
                             .name = "selfheal_service_up",
                             .help = "1 while the service serves (its process runs and its newest "
                                     "probe succeeded), 0 while it does not.",
                             .labels = pipeline_label};
    struct metric_opts o5 = {.type = METRIC_COUNTER,
                             .name = "selfheal_service_down_seconds_total",
                             .help = "Seconds the service did not serve, however it was detected "
                                     "(a failed probe, an exited process).",
                             .labels = pipeline_label};
    struct metric_opts o1 = {.type = METRIC_HISTOGRAM,
                             .name = "selfheal_service_recovery_seconds",
                             .help = "Time to recovery (first failed probe to first healthy "
                                     "probe after recovery) of healed service incidents.",
                             .buckets = mttr_buckets,
                             .nbuckets = sizeof mttr_buckets / sizeof mttr_buckets[0]};
    struct metric_opts o2 = {.type = METRIC_COUNTER,
                             .name = "selfheal_service_recovery_actions_total",
                             .help = "Service recovery actions by method and outcome "
                                     "(started, failed, succeeded, exhausted).",
                             .labels = action_labels};
    struct metric_opts o3 = {.type = METRIC_HISTOGRAM,
                             .name = "selfheal_probe_duration_seconds",
                             .help = "Health probe latency, including the wait for a slot.",
                             .buckets = probe_buckets,
                             .nbuckets = sizeof probe_buckets / sizeof probe_buckets[0]};
    int err = metrics_register(reg, &o1, &mttr);
    if (!err)
        err = metrics_register(reg, &o2, &actions);
    if (!err)
        err = metrics_register(reg, &o3, &lat);
    if (!err)
        err = metrics_register(reg, &o4, &up);
    if (!err)
        err = metrics_register(reg, &o5, &down);
    if (!err) /* exported before the first incident: rate() sees the first one */
        err = metrics_touch(mttr, NULL);
    static const char *const methods[] = {"process", "command", "restart", "delete-pods"};
    static const char *const outcomes[] = {"started", "failed", "succeeded", "exhausted"};
    for (size_t i = 0; !err && i < sizeof methods / sizeof methods[0]; i++)
        for (size_t j = 0; !err && j < sizeof outcomes / sizeof outcomes[0]; j++)
            err = metrics_touch(actions, (const char *const[]){methods[i], outcomes[j]});
    if (!err)
        err = metrics_add_collector(reg, collect_probes, r);
    if (err)
        return err;
    r->reg = reg;
    atomic_store(&r->mttr, mttr);
    atomic_store(&r->actions, actions);
    atomic_store(&r->probe_latency, lat);
    atomic_store(&r->up, up);
    atomic_store(&r->down_seconds, down);
    return 0;
}

struct prober *service_reconciler_prober(void *self)
{
    return ((struct service_reconciler *)self)->prober;
}

static void free_value(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    free(value);
}

void service_reconciler_free(void *self)
{
    struct service_reconciler *r = self;
    if (!r)
        return;
    if (r->reg)
        metrics_remove_collector(r->reg, collect_probes, r);
    prober_free(r->prober);
    free(r->audit_path);
    strmap_foreach(r->down_since, free_value, NULL);
    strmap_free(r->down_since);
    pthread_mutex_destroy(&r->down_mu);
    free(r);
}
