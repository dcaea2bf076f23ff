/*
 * drift_decide.h — the drift loop's decision, a pure function of the spec,
 * the observed verdict, the previous status.drift and `now` (DESIGN.md
 * "Drift", "Retraining"), and the state transitions of a retrain.
 *
 * Start a retrain when:
 *   the verdict is drift, no retrain is running, no higher-priority action
 *   is in flight, the platform has something to run (retrain.command
 *   locally, retrain.jobTemplate on a cluster), not a dry run, and
 *   - cooldown: lastRetrainTime is unset or now − lastRetrainTime ≥ cooldown;
 *   - backoff: after a failure, now − lastFailure ≥ min(5 min · 2^(failures−1),
 *     7 days), so a retrain that keeps failing is tried less and less often;
 *   - once per cooldown: attempts are counted per cooldown window (the
 *     window opens at the first attempt after the previous one closed); a
 *     failed attempt may be retried once in its window, then the next
 *     attempt waits for the window to close. So at most two attempts, and
 *     at most one success, per cooldown.
 * lastRetrainTime is the completion time of the last successful retrain;
 * it lives in status (which the manager persists), so it survives
 * restarts. A reset (the selfheal.dev/reset annotation) clears the failure
 * count and the window, not lastRetrainTime.
 *
 * ModelFresh condition: NoDrift (True); DriftDetected, Retraining,
 * CooldownActive, RetrainFailed (False); InsufficientData (Unknown: fewer
 * than minSamples rows or nothing to compare), DriftUnavailable (Unknown:
 * the data or the score cannot be read). Phase Retraining while a retrain
 * runs.
 */
#ifndef SH_DRIFT_DECIDE_H
#define SH_DRIFT_DECIDE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "drift/drift_engine.h"
#include "runtime/spec.h"
#include "runtime/status.h"

#define DRIFT_RETRY_BACKOFF_MS (5LL * 60 * 1000)
#define DRIFT_RETRY_BACKOFF_MAX_MS (7LL * 24 * 3600 * 1000)
#define DRIFT_FEATURES_KEPT 64

enum drift_job_phase { DRIFT_JOB_NONE, DRIFT_JOB_RUNNING, DRIFT_JOB_SUCCEEDED, DRIFT_JOB_FAILED };

/* status.drift, typed. */
struct drift_state {
    bool has_score;
    double score;              /* rounded to 3 decimals */
    char drifted[DRIFT_FEATURES_KEPT][64];
    int ndrifted;
    int64_t last_retrain_ms;   /* lastRetrainTime; 0: never */
    int retrains;              /* successful retrains */
    struct {                   /* retrainJob */
        enum drift_job_phase phase;
        char result[16];       /* "Succeeded" | "Failed" | "TimedOut" | "Stopped" | "Lost" */
        int pid;               /* local: the process */
        char name[128];        /* kube: the Job */
        int attempts;          /* every start ever; names the next Job */
        int64_t start_ms, end_ms;
        int exit_code;         /* -1: none */
        char message[256];
        char log[512];
        int failures;          /* consecutive failed attempts */
        int64_t last_failure_ms;
        int64_t window_start_ms;
        int window_attempts;
    } job;
};

/* Reads status.drift (absent fields: defaults). */
void drift_state_read(const cJSON *sec, struct drift_state *ret);
/* Writes s into status.drift (replacing its fields). 0 or SH_ENOMEM. */
int drift_state_write(const struct drift_state *s, cJSON *sec);

/* What the loop observed this time. */
struct drift_observation {
    bool ok;                   /* false: the data or score could not be read (message says why) */
    enum drift_verdict verdict;
    double score;
    char message[512];
};

struct drift_decide_in {
    const struct spec_drift *spec;
    const struct drift_observation *obs;
    const struct drift_state *prev;  /* with any finished job already applied */
    int64_t now_ms;
    bool running;          /* a retrain of this pipeline runs now */
    bool blocked;          /* a higher-priority action is in flight */
    bool dry_run;          /* spec.paused or drift.dryRun */
    const char *cannot_run; /* NULL, or why the platform has nothing to run */
};

struct drift_decision {
    bool start;            /* start a retrain now */
    bool plan;             /* dry run: it would start one */
    enum cond_status cond;
    char reason[32];
    char message[768];
    bool retraining;       /* phase Retraining, ctx->action_in_flight */
    int64_t next_ms;       /* > 0: when a wait (cooldown, backoff, window) ends */
};

void drift_decide(const struct drift_decide_in *in, struct drift_decision *out);

/* The earliest time a new attempt is allowed by cooldown, backoff and the
 * window (0: now). `why` (optional, 32 bytes) gets "CooldownActive" or
 * "RetrainFailed" for the binding one. */
int64_t drift_next_attempt_ms(const struct spec_drift *spec, const struct drift_state *s,
                              char *why);

/* A retrain started at now: counts the attempt in its window. */
void drift_state_started(struct drift_state *s, const struct spec_drift *spec, int64_t now_ms,
                         int pid, const char *name, const char *log);

/* The running retrain ended (succeeded or not) at now. A success records
 * lastRetrainTime = now and clears the failures. */
void drift_state_finished(struct drift_state *s, bool succeeded, const char *result,
                          int exit_code, const char *message, int64_t now_ms);

/* A reset: clears the failure count and the window. */
void drift_state_reset(struct drift_state *s);

#endif
