/* service_decide.c — the service loop's pure decision (service_decide.h). */
#include "service/service_decide.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int64_t service_grace_ms(const struct spec_service *spec)
{
    return (int64_t)spec->health_check.failure_threshold * spec->health_check.interval_ms;
}

int64_t service_startup_window_ms(const struct spec_service *spec)
{
    int64_t grace = service_grace_ms(spec);
    int64_t st = spec->health_check.startup_timeout_ms;
    return st > grace ? st : grace;
}

int64_t service_backoff_ms(const struct spec_service *spec, int attempts_made)
{
    if (attempts_made <= 0)
        return 0;
    int64_t b = spec->recovery.backoff_ms;
    for (int i = 1; i < attempts_made && b < (INT64_MAX / 4); i++)
        b *= 2;
    return b;
}

static void set_reason(struct service_decision *out, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(struct service_decision *out, const char *reason, const char *fmt, ...)
{
    snprintf(out->reason, sizeof out->reason, "%s", reason);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
}

static const char *action_word(const struct spec_service *spec)
{
    switch (spec->recovery.method) {
    case RECOVERY_COMMAND:
        return "run the recovery command";
    case RECOVERY_DELETE_PODS:
        return "delete the pods";
    default:
        return "restart the service";
    }
}

/* When the current start began: the running supervised process's start,
 * else the controller's newest action; 0 when neither is known. */
static int64_t start_of(const struct service_observation *obs, const struct service_state *s)
{
    if (obs->supervised && obs->process_started_ms > 0)
        return obs->process_started_ms;
    return s->last_recovery_ms;
}

/* The end of the startup window when the service is starting at now (a
 * start known, no healthy probe since, the window not over, a supervised
 * process still alive); 0 when it is not. */
static int64_t starting_until(const struct spec_service *spec,
                              const struct service_observation *obs,
                              const struct service_state *s, int64_t now)
{
    if (obs->supervised && !obs->process_running)
        return 0;
    int64_t began = start_of(obs, s);
    if (began <= 0 || obs->last_success_ms >= began)
        return 0;
    int64_t end = began + service_startup_window_ms(spec);
    return now < end ? end : 0;
}

/* "starting: waiting up to 5m for the first healthy probe; last probe:
 * GET …: connection refused" into buf. No countdown: the status stays the
 * same from probe to probe, so it is not rewritten. */
static void describe_starting(const struct spec_service *spec,
                              const struct service_observation *obs, char *buf, size_t size)
{
    char window[32];
    spec_format_duration(service_startup_window_ms(spec), window, sizeof window);
    snprintf(buf, size, "starting: waiting up to %s for the first healthy probe%s%s", window,
             obs->consecutive_failures > 0 ? "; last probe: " : "",
             obs->consecutive_failures > 0 ? obs->last_error : "");
}

/* While starting, look at every probe (the prober calls only on failures
 * and on a change to healthy; the first success of a restart that never
 * failed is neither) and at the window's end. */
static int64_t starting_requeue_ms(const struct spec_service *spec, int64_t now, int64_t until)
{
    int64_t left = until - now;
    return left < spec->health_check.interval_ms ? left : spec->health_check.interval_ms;
}

/* Started and no incident open: not healthy yet, not failing either. */
static void decide_starting(const struct spec_service *spec, const struct service_observation *obs,
                            int64_t now, int64_t until, struct service_decision *out)
{
    struct service_state *s = &out->next;
    s->healthy = false;
    s->healthy_since_ms = 0;
    out->verdict = SERVICE_STARTING;
    out->action_in_flight = true;
    out->requeue_after_ms = starting_requeue_ms(spec, now, until);
    char what[400];
    describe_starting(spec, obs, what, sizeof what);
    set_reason(out, "Starting", "%s", what);
}

static void decide_healthy(const struct spec_service *spec, const struct service_observation *obs,
                           int64_t now, struct service_decision *out)
{
    struct service_state *s = &out->next;
    if (!s->healthy || s->healthy_since_ms == 0)
        s->healthy_since_ms = obs->last_success_ms ? obs->last_success_ms : now;
    s->healthy = true;
    if (s->failing_since_ms) {
        int64_t healed_at = obs->last_success_ms ? obs->last_success_ms : now;
        s->last_recovery_seconds = (double)(healed_at - s->failing_since_ms) / 1000.0;
        if (s->last_recovery_seconds < 0)
            s->last_recovery_seconds = 0;
        s->failing_since_ms = 0;
        s->incidents++;
        out->healed = true;
    }
    if (s->recovery_attempts > 0 || s->exhausted) {
        int64_t reset_at = s->healthy_since_ms + spec->recovery.reset_after_ms;
        if (now >= reset_at) {
            s->recovery_attempts = 0;
            s->exhausted = false;
            s->exhausted_generation = 0;
        } else {
            out->requeue_after_ms = reset_at - now;
        }
    }
    out->verdict = SERVICE_HEALTHY;
    if (obs->consecutive_failures > 0)
        /* still True within the threshold, but a failing probe is no success */
        set_reason(out, "ProbeFailing",
                   "the probe is failing: %d of %d allowed probe failures: %s",
                   obs->consecutive_failures, spec->health_check.failure_threshold,
                   obs->last_error);
    else if (out->healed)
        set_reason(out, "ProbeSucceeded", "GET %s answers again; recovered in %.1f s",
                   spec->health_check.url, s->last_recovery_seconds);
    else
        set_reason(out, "ProbeSucceeded", "GET %s answers", spec->health_check.url);
}

/* What makes the service unhealthy, in words, into cause. */
static void describe_cause(const struct spec_service *spec, const struct service_observation *obs,
                           bool process_down, char *cause, size_t size)
{
    if (process_down)
        snprintf(cause, size, "the service process %s",
                 obs->process_exit[0] ? obs->process_exit : "is not running");
    else if (obs->consecutive_failures >= spec->health_check.failure_threshold)
        snprintf(cause, size, "%d consecutive probe failures: %s", obs->consecutive_failures,
                 obs->last_error);
    else if (obs->consecutive_failures > 0)
        snprintf(cause, size, "no healthy probe since the incident began: %s", obs->last_error);
    else
        snprintf(cause, size, "no healthy probe since the incident began");
}

static void set_exhausted(struct service_decision *out, const char *cause)
{
    out->verdict = SERVICE_EXHAUSTED;
    set_reason(out, "RecoveryExhausted",
               "%d recovery attempts did not heal it; %s. Fix the service, then set the "
               "annotation selfheal.dev/reset to resume",
               out->next.recovery_attempts, cause);
}

/* Unhealthy and no action being judged, none given up: wait out the
 * backoff, or plan (dry run) or make the next attempt. */
static void decide_attempt(const struct spec_service *spec, int64_t now, bool dry_run,
                           const char *cause, struct service_decision *out)
{
    struct service_state *s = &out->next;
    int max = spec->recovery.max_attempts;
    int64_t next_at = s->recovery_attempts > 0
                          ? s->last_recovery_ms + service_backoff_ms(spec, s->recovery_attempts)
                          : 0;
    if (now < next_at) {
        out->verdict = SERVICE_UNHEALTHY;
        out->action_in_flight = true;
        out->requeue_after_ms = next_at - now;
        set_reason(out, "ProbeFailed", "%s; attempt %d of %d in %.1f s", cause,
                   s->recovery_attempts + 1, max, (double)out->requeue_after_ms / 1000.0);
        return;
    }
    out->action = SERVICE_ACT_RECOVER;
    if (dry_run) {
        out->planned_only = true;
        out->verdict = SERVICE_UNHEALTHY;
        out->requeue_after_ms = spec->health_check.interval_ms;
        set_reason(out, "ProbeFailed", "%s; dry run: would %s (attempt %d of %d)", cause,
                   action_word(spec), s->recovery_attempts + 1, max);
        return;
    }
    s->recovery_attempts++;
    s->last_recovery_ms = now;
    s->last_action_start = false;
    out->verdict = SERVICE_RECOVERING;
    out->action_in_flight = true;
    out->requeue_after_ms = spec->health_check.interval_ms; /* it starts again: watch it */
    set_reason(out, "Recovering", "attempt %d of %d: %s after %s", s->recovery_attempts, max,
               action_word(spec), cause);
}

/* Unhealthy: the incident is open; exhausted stays exhausted, a service
 * restarted and still starting (until > 0, the window's end) is judged
 * later, attempts used up give up, else decide_attempt. */
static void decide_unhealthy(const struct spec_service *spec, const struct service_observation *obs,
                             int64_t now, int64_t generation, bool dry_run, int64_t until,
                             bool process_down, struct service_decision *out)
{
    struct service_state *s = &out->next;
    s->healthy = false;
    s->healthy_since_ms = 0;
    if (!s->failing_since_ms)
        s->failing_since_ms = obs->first_failure_ms ? obs->first_failure_ms : now;
    char cause[400];
    describe_cause(spec, obs, process_down, cause, sizeof cause);
    if (s->exhausted) {
        set_exhausted(out, cause);
        return;
    }
    if (until) {
        out->verdict = SERVICE_UNHEALTHY;
        out->action_in_flight = true;
        out->requeue_after_ms = starting_requeue_ms(spec, now, until);
        char what[400];
        describe_starting(spec, obs, what, sizeof what);
        if (s->recovery_attempts > 0)
            set_reason(out, "Recovering", "attempt %d of %d made; %s", s->recovery_attempts,
                       spec->recovery.max_attempts, what);
        else
            set_reason(out, "Recovering", "restarted; %s", what);
        return;
    }
    if (s->recovery_attempts >= spec->recovery.max_attempts) {
        s->exhausted = true;
        s->exhausted_generation = generation;
        out->gave_up = true;
        set_exhausted(out, cause);
        return;
    }
    decide_attempt(spec, now, dry_run, cause, out);
}

void service_decide(const struct spec_service *spec, const struct service_observation *obs,
                    const struct service_state *prev, int64_t now, int64_t generation,
                    bool dry_run, bool reset, struct service_decision *out)
{
    memset(out, 0, sizeof *out);
    out->next = *prev;
    struct service_state *s = &out->next;
    if (reset || (s->exhausted && generation != s->exhausted_generation)) {
        s->recovery_attempts = 0;
        s->exhausted = false;
        s->exhausted_generation = 0;
    }
    if (obs->supervised && !obs->process_ever_started) {
        out->verdict = SERVICE_UNKNOWN;
        out->action = SERVICE_ACT_START;
        out->planned_only = dry_run;
        out->requeue_after_ms = spec->health_check.interval_ms;
        set_reason(out, "Starting", dry_run ? "dry run: would start the service process"
                                            : "starting the service process");
        return;
    }

    bool process_down = obs->supervised && !obs->process_running;
    s->consecutive_failures = obs->consecutive_failures;
    int64_t until = starting_until(spec, obs, s, now);
    if (until) {
        /* an open incident stays open until a healthy probe of the new start */
        if (s->failing_since_ms || s->exhausted)
            decide_unhealthy(spec, obs, now, generation, dry_run, until, false, out);
        else
            decide_starting(spec, obs, now, until, out);
        return;
    }
    if (!obs->probe_known && !process_down) {
        out->verdict = SERVICE_UNKNOWN;
        out->requeue_after_ms = spec->health_check.interval_ms;
        set_reason(out, "Probing", "waiting for the first probe of %s", spec->health_check.url);
        return;
    }
    /* An open incident closes only with a healthy probe that came after it
     * began: a success seen before the process died (or before the restart)
     * proves nothing about the new one. */
    bool awaiting_success = s->failing_since_ms && obs->last_success_ms < s->failing_since_ms;
    bool unhealthy = process_down ||
                     obs->consecutive_failures >= spec->health_check.failure_threshold ||
                     awaiting_success;
    if (unhealthy)
        decide_unhealthy(spec, obs, now, generation, dry_run, 0, process_down, out);
    else
        decide_healthy(spec, obs, now, out);
}
