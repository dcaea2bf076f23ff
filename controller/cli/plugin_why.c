/*
 * plugin_why.c — the `why` paragraph (plugin_why.h).
 *
 * It reads only the object: the phase, the conditions (the one that holds
 * the phase is the first that is not True, in the order the controller acts:
 * service recovery > model rollback > data fix > retraining), the loops'
 * status sections and the spec's limits (decoded with their defaults). The
 * waits it names mirror the loops' decisions: service_decide.c (grace after
 * an attempt, then backoff·2^n before the next), model_decide.c (rollbacks
 * within the window), drift_decide.c (cooldown since lastRetrainTime).
 * The text is built in a bounded buffer; a very long message is cut.
 */
#include "cli/plugin_why.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/spec.h"
#include "runtime/status.h"
#include "service/service_decide.h"

#define WHY_MAX 4096

struct why {
    char buf[WHY_MAX];
    size_t len;
};

static void add(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct why *w, const char *fmt, ...)
{
    if (w->len + 1 >= sizeof w->buf)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf + w->len, sizeof w->buf - w->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->len += (size_t)n < sizeof w->buf - w->len ? (size_t)n : sizeof w->buf - w->len - 1;
}

char *plugin_format_wait(int64_t ms, char *buf, size_t size)
{
    int64_t s = ms <= 0 ? 0 : (ms + 999) / 1000;
    if (s < 120)
        snprintf(buf, size, "%lld s", (long long)s);
    else
        spec_format_duration(s * 1000, buf, size);
    return buf;
}

static const char *dur(int64_t ms, char *buf, size_t size)
{
    return spec_format_duration(ms, buf, size);
}

/* A condition, in words: "ServiceHealthy is False (ProbeFailed): MSG." */
static void add_condition(struct why *w, const cJSON *c)
{
    const char *msg = status_str(c, "message");
    add(w, " %s is %s (%s)%s%s.", status_str(c, "type"),
        status_str(c, "status") ? status_str(c, "status") : "Unknown",
        status_str(c, "reason") ? status_str(c, "reason") : "no reason given",
        msg && *msg ? ": " : "", msg ? msg : "");
}

static void next_service(struct why *w, const struct spec_service *sp, const cJSON *st,
                         const char *reason, int64_t now)
{
    const cJSON *sec = cJSON_GetObjectItemCaseSensitive(st, "service");
    int attempts = (int)status_num(sec, "recoveryAttempts", 0);
    int64_t last = status_time(sec, "lastRecoveryTime", 0);
    int max = sp->recovery.max_attempts;
    bool exhausted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sec, "exhausted")) ||
                     strcmp(reason, "RecoveryExhausted") == 0;
    char a[32], b[32];
    if (exhausted) {
        add(w, " Next: no more recovery attempts (%d of %d used); it tries again after a "
               "spec change or a reset (reset NAME), and the count resets once the service "
               "has been healthy for %s.",
            attempts, max, dur(sp->recovery.reset_after_ms, a, sizeof a));
        return;
    }
    if (strcmp(reason, "ProbeSucceeded") == 0 || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sec, "healthy"))) {
        add(w, " Next: it keeps probing every %s.", dur(sp->health_check.interval_ms, a, sizeof a));
        return;
    }
    int64_t grace = service_grace_ms(sp);
    if (last > 0 && now < last + grace) {
        add(w, " Next: judging recovery attempt %d of %d in %s (it gives an action "
               "failureThreshold × interval = %s to take effect)",
            attempts, max, plugin_format_wait(last + grace - now, a, sizeof a),
            dur(grace, b, sizeof b));
        if (attempts >= max)
            add(w, "; it was the last attempt: if the service still fails, it gives up "
                   "(RecoveryExhausted).");
        else
            add(w, "; if the service still fails, recovery attempt %d of %d follows.",
                attempts + 1, max);
        return;
    }
    if (attempts >= max) {
        add(w, " Next: it gives up at the next probe (RecoveryExhausted): all %d recovery "
               "attempts are used.", max);
        return;
    }
    if (sp->dry_run) {
        add(w, " Next: dry run: it plans recovery attempt %d of %d and acts on nothing.",
            attempts + 1, max);
        return;
    }
    int64_t next_at = attempts > 0 && last > 0 ? last + service_backoff_ms(sp, attempts) : 0;
    if (now < next_at)
        add(w, " Next: waiting %s of backoff before recovery attempt %d of %d.",
            plugin_format_wait(next_at - now, a, sizeof a), attempts + 1, max);
    else
        add(w, " Next: recovery attempt %d of %d at the next probe (within %s).", attempts + 1,
            max, dur(sp->health_check.interval_ms, a, sizeof a));
}

static void next_model(struct why *w, const struct spec_model *sp, const cJSON *st,
                       const char *reason, int64_t now)
{
    const cJSON *sec = cJSON_GetObjectItemCaseSensitive(st, "model");
    int used = (int)status_num(sec, "rollbacksInWindow", 0);
    int max = sp->rollback.max_rollbacks;
    const char *good = status_str(sec, "lastGoodVersion");
    char a[32], b[32];
    dur(sp->rollback.window_ms, b, sizeof b);
    if (strcmp(reason, "NoGoodVersion") == 0) {
        add(w, " Next: no rollback: no older version has evidence of %s ≥ %.3f; deploy a "
               "better model, then reset NAME.",
            sp->metric.name ? sp->metric.name : "accuracy", sp->min_accuracy);
    } else if (strcmp(reason, "MetricUnavailable") == 0) {
        add(w, " Next: it reads the metric again within %s; an unreadable metric is never a "
               "reason to roll back.", dur(sp->metric.interval_ms, a, sizeof a));
    } else if (strcmp(reason, "RolledBack") == 0) {
        int64_t at = status_time(sec, "lastRollbackTime", 0) + sp->metric.interval_ms;
        add(w, " Next: judging the rolled-back version %s in %s (one metric interval); %d of "
               "%d rollbacks used within %s.",
            status_str(sec, "version") ? status_str(sec, "version") : "",
            plugin_format_wait(at - now, a, sizeof a), used, max, b);
    } else if (strcmp(reason, "BelowThreshold") == 0 && used >= max) {
        add(w, " Next: no more rollbacks: %d of %d already made within %s (a systemic "
               "problem); fix the model, then reset NAME.", used, max, b);
    } else if (strcmp(reason, "BelowThreshold") == 0) {
        add(w, " Next: a rollback to %s once %s has been below %.3f for %d reading%s (read "
               "every %s); %d of %d rollbacks used within %s.",
            good ? good : "the newest older version with passing evidence",
            sp->metric.name ? sp->metric.name : "accuracy", sp->min_accuracy,
            sp->failure_limit, sp->failure_limit == 1 ? "" : "s",
            dur(sp->metric.interval_ms, a, sizeof a), used, max, b);
    } else {
        add(w, " Next: it reads the metric every %s.", dur(sp->metric.interval_ms, a, sizeof a));
    }
}

static void next_drift(struct why *w, const struct spec_drift *sp, const cJSON *st,
                       const char *reason, int64_t now)
{
    const cJSON *sec = cJSON_GetObjectItemCaseSensitive(st, "drift");
    int64_t last = status_time(sec, "lastRetrainTime", 0);
    char a[32], b[32];
    dur(sp->cooldown_ms, b, sizeof b);
    if (strcmp(reason, "Retraining") == 0) {
        const cJSON *job = cJSON_GetObjectItemCaseSensitive(sec, "retrainJob");
        int64_t start = status_time(job, "startTime", 0);
        add(w, " Next: waiting for the retrain%s%s to finish", status_str(job, "name") ? " " : "",
            status_str(job, "name") ? status_str(job, "name") : "");
        if (start > 0 && start + sp->retrain.timeout_ms > now)
            add(w, "; it is stopped if it runs %s more (retrain.timeout).",
                plugin_format_wait(start + sp->retrain.timeout_ms - now, a, sizeof a));
        else
            add(w, " (retrain.timeout %s).", dur(sp->retrain.timeout_ms, a, sizeof a));
    } else if (last > 0 && now < last + sp->cooldown_ms &&
               (strcmp(reason, "CooldownActive") == 0 || strcmp(reason, "DriftDetected") == 0 ||
                strcmp(reason, "RetrainFailed") == 0)) {
        add(w, " Next: waiting %s of the %s cooldown before it retrains again.",
            plugin_format_wait(last + sp->cooldown_ms - now, a, sizeof a), b);
    } else if (strcmp(reason, "RetrainFailed") == 0) {
        add(w, " Next: another retrain after a backoff (history NAME shows the failures).");
    } else if (strcmp(reason, "DriftDetected") == 0) {
        add(w, " Next: a retrain at its next check (within %s).",
            dur(sp->interval_ms, a, sizeof a));
    } else {
        add(w, " Next: it compares the data again every %s.", dur(sp->interval_ms, a, sizeof a));
    }
}

static void next_data(struct why *w, const struct spec_data_quality *sp, const char *reason)
{
    char a[32];
    if (strcmp(reason, "Unfixable") == 0)
        add(w, " Next: nothing: more than %.0f%% of the rows would change (maxFixedFraction); "
               "fix the file by hand, then reset NAME.", sp->max_fixed_fraction * 100);
    else
        add(w, " Next: it checks the file again every %s.", dur(sp->interval_ms, a, sizeof a));
}

/* The condition that holds the phase: the first not True, in the order the
 * controller acts; NULL when all hold. */
static const cJSON *holding_condition(const cJSON *st, const char *phase)
{
    static const struct {
        const char *phase, *cond;
    } own[] = {{"Recovering", COND_SERVICE_HEALTHY},
               {"RollingBack", COND_MODEL_VALID},
               {"FixingData", COND_DATA_VALID},
               {"Retraining", COND_MODEL_FRESH}};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (strcmp(phase, own[i].phase) == 0 && status_get_condition(st, own[i].cond))
            return status_get_condition(st, own[i].cond);
    static const char *order[] = {COND_SERVICE_HEALTHY, COND_MODEL_VALID, COND_DATA_VALID,
                                  COND_MODEL_FRESH};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const cJSON *c = status_get_condition(st, order[i]);
        const char *s = status_str(c, "status");
        if (c && (!s || strcmp(s, "True") != 0))
            return c;
    }
    return NULL;
}

static void explain_next(struct why *w, const struct spec *sp, const cJSON *st, const cJSON *c,
                         int64_t now)
{
    const char *type = status_str(c, "type"), *reason = status_str(c, "reason");
    if (!type)
        return;
    if (!reason)
        reason = "";
    if (strcmp(type, COND_SERVICE_HEALTHY) == 0)
        next_service(w, &sp->service, st, reason, now);
    else if (strcmp(type, COND_MODEL_VALID) == 0)
        next_model(w, &sp->model, st, reason, now);
    else if (strcmp(type, COND_MODEL_FRESH) == 0)
        next_drift(w, &sp->drift, st, reason, now);
    else if (strcmp(type, COND_DATA_VALID) == 0)
        next_data(w, &sp->data_quality, reason);
}

static void explain_planned(struct why *w, const cJSON *st)
{
    const cJSON *plans = cJSON_GetObjectItemCaseSensitive(st, "plannedActions");
    int n = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, plans)
    {
        if (cJSON_IsString(p))
            add(w, "%s%s", n++ == 0 ? " Dry run: it would " : "; ", p->valuestring);
    }
    if (n > 0)
        add(w, " (and acts on none of it).");
}

/* Everything after "NAME is PHASE." */
static void explain(struct why *w, const struct spec *sp, const cJSON *st, const char *phase,
                    int64_t now)
{
    const cJSON *ready = status_get_condition(st, COND_READY);
    if (strcmp(phase, "Paused") == 0) {
        add(w, " spec.paused is true: the controller observes and reports, and acts on "
               "nothing. Next: nothing until it is resumed (resume NAME).");
        const cJSON *c = holding_condition(st, phase);
        if (c) {
            add(w, " Meanwhile");
            add_condition(w, c);
        }
        return;
    }
    if (strcmp(phase, "Invalid") == 0) {
        add(w, " The spec is invalid: %s. Next: nothing until the spec is fixed.",
            status_str(ready, "message") ? status_str(ready, "message") : "(no message)");
        return;
    }
    const cJSON *c = holding_condition(st, phase);
    if (!c) {
        if (ready)
            add_condition(w, ready);
        if (strcmp(phase, "Healthy") == 0 && sp->service.present && sp->service.enabled) {
            char a[32];
            add(w, " Next: nothing to do; it keeps probing every %s.",
                dur(sp->service.health_check.interval_ms, a, sizeof a));
        } else if (strcmp(phase, "Healthy") == 0) {
            add(w, " Next: nothing to do; it keeps watching.");
        }
        explain_planned(w, st);
        return;
    }
    add(w, " It is held there by");
    add_condition(w, c);
    explain_next(w, sp, st, c, now);
    explain_planned(w, st);
}

/* Replaces every "NAME" of the text (the commands it suggests) with name. */
static char *with_name(const char *text, const char *name)
{
    size_t n = 0, nl = strlen(name);
    for (const char *p = strstr(text, "NAME"); p; p = strstr(p + 4, "NAME"))
        n++;
    char *out = malloc(strlen(text) + n * nl + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *p = text;;) {
        const char *q = strstr(p, "NAME");
        size_t len = q ? (size_t)(q - p) : strlen(p);
        memcpy(o, p, len);
        o += len;
        if (!q)
            break;
        memcpy(o, name, nl);
        o += nl;
        p = q + 4;
    }
    *o = '\0';
    return out;
}

char *plugin_why(const cJSON *doc, int64_t now)
{
    static struct why zero;
    struct why *w = malloc(sizeof *w);
    if (!w)
        return NULL;
    *w = zero;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
    const char *name = status_str(meta, "name") ? status_str(meta, "name") : "?";
    const char *ns = status_str(meta, "namespace") ? status_str(meta, "namespace") : "default";
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "status");
    const char *phase = status_str(st, "phase");
    struct spec sp;
    struct spec_errors errs = {0};
    spec_decode_object(doc, &sp, &errs); /* invalid fields keep their defaults */
    spec_errors_free(&errs);
    if (!phase) {
        add(w, "%s has no status yet: no controller has reconciled it. Is one running and "
               "watching namespace %s?", name, ns);
    } else {
        add(w, "%s is %s.", name, phase);
        double gen = status_num(meta, "generation", 0), seen = status_num(st, "observedGeneration", 0);
        if (gen > seen && seen > 0)
            add(w, " (The controller has not yet acted on the latest spec: generation %.0f, it "
                   "last saw %.0f.)", gen, seen);
        explain(w, &sp, st, phase, now);
    }
    spec_free(&sp);
    char *out = with_name(w->buf, name);
    free(w);
    return out;
}
