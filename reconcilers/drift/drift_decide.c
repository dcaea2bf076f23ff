/* drift_decide.c — status.drift and the retraining decision (drift_decide.h). */
#include "drift/drift_decide.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/errors.h"

static const char *const JOB_PHASES[] = {"", "Running", "Succeeded", "Failed"};

/* --- status.drift ------------------------------------------------------------ */

void drift_state_read(const cJSON *sec, struct drift_state *s)
{
    memset(s, 0, sizeof *s);
    s->job.exit_code = -1;
    if (!cJSON_IsObject(sec))
        return;
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(sec, "score");
    if (cJSON_IsNumber(sc)) {
        s->has_score = true;
        s->score = sc->valuedouble;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(sec, "driftedFeatures"))
    {
        if (cJSON_IsString(f) && s->ndrifted < DRIFT_FEATURES_KEPT)
            snprintf(s->drifted[s->ndrifted++], sizeof s->drifted[0], "%s", f->valuestring);
    }
    s->last_retrain_ms = status_time(sec, "lastRetrainTime", 0);
    s->retrains = (int)status_num(sec, "retrains", 0);
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(sec, "retrainJob");
    if (!cJSON_IsObject(j))
        return;
    const char *state = status_str(j, "state");
    if (state && strcmp(state, "Running") == 0) {
        s->job.phase = DRIFT_JOB_RUNNING;
    } else if (state && *state) {
        s->job.phase = strcmp(state, "Succeeded") == 0 ? DRIFT_JOB_SUCCEEDED : DRIFT_JOB_FAILED;
        snprintf(s->job.result, sizeof s->job.result, "%s", state);
    }
    s->job.pid = (int)status_num(j, "pid", 0);
    const char *nm = status_str(j, "name");
    snprintf(s->job.name, sizeof s->job.name, "%s", nm ? nm : "");
    s->job.attempts = (int)status_num(j, "attempts", 0);
    s->job.start_ms = status_time(j, "startTime", 0);
    s->job.end_ms = status_time(j, "completionTime", 0);
    s->job.exit_code = (int)status_num(j, "exitCode", -1);
    const char *m = status_str(j, "message");
    snprintf(s->job.message, sizeof s->job.message, "%s", m ? m : "");
    const char *l = status_str(j, "log");
    snprintf(s->job.log, sizeof s->job.log, "%s", l ? l : "");
    s->job.failures = (int)status_num(j, "consecutiveFailures", 0);
    s->job.last_failure_ms = status_time(j, "lastFailureTime", 0);
    s->job.window_start_ms = status_time(j, "windowStart", 0);
    s->job.window_attempts = (int)status_num(j, "windowAttempts", 0);
}

static int put_or_remove_num(cJSON *o, const char *k, bool keep, double v)
{
    if (!keep) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, k);
        return 0;
    }
    return status_put_num(o, k, v);
}

int drift_state_write(const struct drift_state *s, cJSON *sec)
{
    int r = put_or_remove_num(sec, "score", s->has_score, round(s->score * 1000) / 1000);
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return SH_ENOMEM;
    for (int i = 0; i < s->ndrifted; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(s->drifted[i]));
    cJSON_DeleteItemFromObjectCaseSensitive(sec, "driftedFeatures");
    if (s->has_score)
        cJSON_AddItemToObject(sec, "driftedFeatures", arr);
    else
        cJSON_Delete(arr);
    r |= status_put_time(sec, "lastRetrainTime", s->last_retrain_ms);
    r |= put_or_remove_num(sec, "retrains", s->retrains > 0, s->retrains);
    bool any_job = s->job.phase != DRIFT_JOB_NONE || s->job.failures > 0 ||
                   s->job.window_start_ms > 0 || s->job.attempts > 0;
    if (!any_job) {
        cJSON_DeleteItemFromObjectCaseSensitive(sec, "retrainJob");
        return r ? SH_ENOMEM : 0;
    }
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return SH_ENOMEM;
    if (s->job.phase != DRIFT_JOB_NONE)
        r |= status_put_str(j, "state", s->job.phase == DRIFT_JOB_RUNNING ? "Running"
                                        : s->job.result[0]               ? s->job.result
                                                                         : JOB_PHASES[s->job.phase]);
    if (s->job.phase == DRIFT_JOB_RUNNING && s->job.pid > 0)
        r |= status_put_num(j, "pid", s->job.pid);
    if (s->job.name[0])
        r |= status_put_str(j, "name", s->job.name);
    r |= put_or_remove_num(j, "attempts", s->job.attempts > 0, s->job.attempts);
    r |= status_put_time(j, "startTime", s->job.start_ms);
    if (s->job.phase != DRIFT_JOB_RUNNING)
        r |= status_put_time(j, "completionTime", s->job.end_ms);
    if (s->job.exit_code >= 0 && s->job.phase != DRIFT_JOB_RUNNING)
        r |= status_put_num(j, "exitCode", s->job.exit_code);
    if (s->job.message[0])
        r |= status_put_str(j, "message", s->job.message);
    if (s->job.log[0])
        r |= status_put_str(j, "log", s->job.log);
    if (s->job.failures > 0) {
        r |= status_put_num(j, "consecutiveFailures", s->job.failures);
        r |= status_put_time(j, "lastFailureTime", s->job.last_failure_ms);
    }
    r |= status_put_time(j, "windowStart", s->job.window_start_ms);
    r |= put_or_remove_num(j, "windowAttempts", s->job.window_attempts > 0, s->job.window_attempts);
    cJSON_DeleteItemFromObjectCaseSensitive(sec, "retrainJob");
    cJSON_AddItemToObject(sec, "retrainJob", j);
    return r ? SH_ENOMEM : 0;
}

/* --- transitions ----------------------------------------------------------- */

void drift_state_started(struct drift_state *s, const struct spec_drift *spec, int64_t now_ms,
                         int pid, const char *name, const char *log)
{
    s->job.attempts++;
    if (s->job.window_start_ms <= 0 || now_ms - s->job.window_start_ms >= spec->cooldown_ms) {
        s->job.window_start_ms = now_ms;
        s->job.window_attempts = 1;
    } else {
        s->job.window_attempts++;
    }
    s->job.phase = DRIFT_JOB_RUNNING;
    s->job.result[0] = '\0';
    s->job.pid = pid;
    snprintf(s->job.name, sizeof s->job.name, "%s", name ? name : "");
    s->job.start_ms = now_ms;
    s->job.end_ms = 0;
    s->job.exit_code = -1;
    s->job.message[0] = '\0';
    snprintf(s->job.log, sizeof s->job.log, "%s", log ? log : "");
}

void drift_state_finished(struct drift_state *s, bool succeeded, const char *result,
                          int exit_code, const char *message, int64_t now_ms)
{
    s->job.phase = succeeded ? DRIFT_JOB_SUCCEEDED : DRIFT_JOB_FAILED;
    snprintf(s->job.result, sizeof s->job.result, "%s",
             result ? result : succeeded ? "Succeeded" : "Failed");
    s->job.pid = 0;
    s->job.end_ms = now_ms;
    s->job.exit_code = exit_code;
    snprintf(s->job.message, sizeof s->job.message, "%s", message ? message : "");
    if (succeeded) {
        s->last_retrain_ms = now_ms;
        s->retrains++;
        s->job.failures = 0;
        s->job.last_failure_ms = 0;
    } else {
        s->job.failures++;
        s->job.last_failure_ms = now_ms;
    }
}

void drift_state_reset(struct drift_state *s)
{
    s->job.failures = 0;
    s->job.last_failure_ms = 0;
    s->job.window_start_ms = 0;
    s->job.window_attempts = 0;
}

static int64_t backoff_ms(const struct spec_drift *spec, int failures)
{
    (void)spec;
    const int64_t cap = DRIFT_RETRY_BACKOFF_MAX_MS;
    int64_t b = DRIFT_RETRY_BACKOFF_MS;
    for (int i = 1; i < failures && b < cap; i++)
        b *= 2;
    return b < cap ? b : cap;
}

int64_t drift_next_attempt_ms(const struct spec_drift *spec, const struct drift_state *s, char *why)
{
    int64_t next = 0;
    const char *reason = "";
    if (s->last_retrain_ms > 0 && s->last_retrain_ms + spec->cooldown_ms > next) {
        next = s->last_retrain_ms + spec->cooldown_ms;
        reason = "CooldownActive";
    }
    if (s->job.failures > 0) {
        int64_t b = s->job.last_failure_ms + backoff_ms(spec, s->job.failures);
        if (b > next) {
            next = b;
            reason = "RetrainFailed";
        }
    }
    if (s->job.window_attempts >= 2 && s->job.window_start_ms + spec->cooldown_ms > next) {
        next = s->job.window_start_ms + spec->cooldown_ms;
        reason = s->job.failures > 0 ? "RetrainFailed" : "CooldownActive";
    }
    if (why)
        snprintf(why, 32, "%s", reason);
    return next;
}

/* --- the decision ---------------------------------------------------------- */

static void set(struct drift_decision *d, enum cond_status c, const char *reason)
{
    d->cond = c;
    snprintf(d->reason, sizeof d->reason, "%s", reason);
}

void drift_decide(const struct drift_decide_in *in, struct drift_decision *d)
{
    memset(d, 0, sizeof *d);
    const struct drift_state *s = in->prev;
    char ts[32];
    if (in->running) {
        set(d, COND_FALSE, "Retraining");
        snprintf(d->message, sizeof d->message, "retraining since %s%s%s%s%s",
                 clock_format_rfc3339(s->job.start_ms, ts, sizeof ts), s->job.name[0] ? "; Job " : "",
                 s->job.name, s->job.log[0] ? "; output: " : "", s->job.log);
        d->retraining = true;
        return;
    }
    const struct drift_observation *o = in->obs;
    if (!o->ok) {
        set(d, COND_UNKNOWN, "DriftUnavailable");
        snprintf(d->message, sizeof d->message, "%s", o->message);
        return;
    }
    if (o->verdict == DRIFT_VERDICT_UNKNOWN) {
        set(d, COND_UNKNOWN, "InsufficientData");
        snprintf(d->message, sizeof d->message, "%s", o->message);
        return;
    }
    if (o->verdict == DRIFT_VERDICT_NONE) {
        set(d, COND_TRUE, "NoDrift");
        snprintf(d->message, sizeof d->message, "%s", o->message);
        return;
    }
    char why[32];
    int64_t next = drift_next_attempt_ms(in->spec, s, why);
    if (in->now_ms < next) {
        set(d, COND_FALSE, why);
        char nt[32];
        clock_format_rfc3339(next, nt, sizeof nt);
        if (strcmp(why, "RetrainFailed") == 0)
            snprintf(d->message, sizeof d->message, "%s; the last retrain failed (%s) at %s; next attempt at %s",
                     o->message, s->job.message[0] ? s->job.message : "failed",
                     clock_format_rfc3339(s->job.last_failure_ms, ts, sizeof ts), nt);
        else
            snprintf(d->message, sizeof d->message, "%s; cooldown: last retrain at %s, next allowed at %s",
                     o->message,
                     clock_format_rfc3339(s->last_retrain_ms > 0 ? s->last_retrain_ms : s->job.window_start_ms,
                                          ts, sizeof ts),
                     nt);
        d->next_ms = next;
        return;
    }
    set(d, COND_FALSE, "DriftDetected");
    if (in->cannot_run) {
        snprintf(d->message, sizeof d->message, "%s; %s", o->message, in->cannot_run);
    } else if (in->dry_run) {
        snprintf(d->message, sizeof d->message, "%s; dry run: would retrain", o->message);
        d->plan = true;
    } else if (in->blocked) {
        snprintf(d->message, sizeof d->message,
                 "%s; waiting: a higher-priority action is in flight", o->message);
    } else {
        set(d, COND_FALSE, "Retraining");
        snprintf(d->message, sizeof d->message, "%s: retraining", o->message);
        d->start = true;
        d->retraining = true;
    }
}
