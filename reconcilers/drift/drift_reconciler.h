/*
 * drift_reconciler.h — the drift loop as a struct reconciler
 * (controller/runtime/reconciler.h):
 *
 *   observe  every spec.drift.interval (sooner after a spec change, a reset
 *            or a finished retrain): the drift engine on reference vs
 *            current (drift_engine.h, with dataQuality.missingTokens when
 *            set), or the external score.source (a file, HTTP or
 *            Prometheus reading, model/metric_source.h: drift when the
 *            score ≥ threshold); the verdict is kept in memory between
 *            checks;
 *   decide   drift_decide.h (pure: cooldown, backoff, once per cooldown);
 *   act      start a retrain through the platform's "retrain" actuators
 *            (retrain_actuators.h): locally spec.drift.retrain.command in
 *            the background with SELFHEAL_PIPELINE, SELFHEAL_DRIFT_SCORE,
 *            SELFHEAL_REFERENCE, SELFHEAL_CURRENT in its environment and
 *            its output appended to <state_dir>/logs/retrain-<ns>-<name>.log
 *            (its end queues the key, reconciler_notify); on a cluster a
 *            Job from retrain.jobTemplate, read every poll_ms. The next
 *            reconcile after it ended records the result: on success
 *            lastRetrainTime and retrains, the newest model version
 *            promoted if it passes minAccuracy (drift_actions.h), the
 *            current data copied over the reference; on failure
 *            RetrainFailed and the retry rules.
 *
 * Status: status.drift {score, driftedFeatures, lastRetrainTime,
 * retrainJob, retrains} and the ModelFresh condition; phase Retraining
 * while a retrain runs; `history` entries (started, then succeeded or
 * failed); events RetrainStarted, RetrainSucceeded, RetrainFailed,
 * ModelPromoted, ModelKept, ReferenceUpdated; every start and end appended
 * to the retraining log (retrain_log.h). Dry run (spec.paused or
 * drift.dryRun): plannedActions only.
 *
 * Coordination: starts a retrain only when no higher-priority action is in
 * flight, and holds ctx->action_in_flight while its retrain runs. A
 * retrain left running by a previous controller process (status says
 * Running, nothing in memory) is adopted when the platform can follow it
 * (a Job named in status.drift.retrainJob.name), else recorded as failed
 * ("Lost": a local process's result is unknown).
 */
#ifndef SH_DRIFT_RECONCILER_H
#define SH_DRIFT_RECONCILER_H

#include <stdint.h>

#include "base/clock.h"
#include "runtime/reconciler.h"

struct drift_reconciler_options {
    const struct sh_clock *clock;           /* NULL: the real clock */
    const struct reconciler_notify *notify; /* kept: a finished retrain queues its key */
    const char *state_dir;                  /* retrain output in <state_dir>/logs/; NULL: "." */
    const char *retrain_log;                /* NULL: RETRAIN_LOG_PATH (relative to the working folder) */
    int64_t score_timeout_ms;               /* score.source reads; 0: 5 s */
    int threads;                            /* drift engine threads; 0: one per CPU */
    /* The statistics run in a forked child under this memory budget
     * (base/isolate.h): over it, DriftDetected is Unknown with "cannot
     * compute drift: out of memory: …" and the controller goes on.
     * 0: ISOLATE_DEFAULT_BUDGET (64 MiB); < 0: no limit. */
    int64_t memory_budget;
};

/* Builds the reconciler into *ret (name "drift"). Returns 0, or SH_ENOMEM
 * with *ret_err. */
int drift_reconciler_new(const struct drift_reconciler_options *o, struct reconciler *ret,
                         char **ret_err);

/* Stops running retrains and frees (ret->self). NULL is a no-op. */
void drift_reconciler_free(void *self);

#endif
