/*
 * model_reconciler.h — the model loop as a struct reconciler
 * (controller/runtime/reconciler.h): observe the live metric (metric_source.h) and
 * the versions (the platform's "model" actuators, model_actuators.h),
 * decide (model_decide.h), act: make the target version current, append the
 * rollback to the rollback log, reload the serving process per
 * spec.model.rollback.reload (signal: SIGHUP, restart: a restart, through
 * the platform's "service" actuators), record an event and a `history`
 * entry, which the first conclusive reading after the grace period marks
 * succeeded or failed.
 *
 * Status: status.model (model_status.h) and the ModelValid condition:
 *   AboveThreshold (True), BelowThreshold, RolledBack, NoGoodVersion
 *   (False), MetricUnavailable (Unknown: inconclusive, never a rollback).
 * Phases: RollingBack from a rollback to the end of its grace period,
 * NeedsAttention for NoGoodVersion and for too many rollbacks in the
 * window, Degraded for a low or unavailable metric. Dry run (spec.paused or
 * model.dryRun) plans in plannedActions and acts on nothing.
 *
 * The metric is read once per metric interval per pipeline (sooner after a
 * spec change or a reset), however often the pipeline is reconciled for
 * other loops; the time of the next check is the only in-memory state.
 * While a higher-priority loop has an action in flight the model loop does
 * not judge; from a rollback until one interval later it holds
 * ctx->action_in_flight itself.
 */
#ifndef SH_MODEL_RECONCILER_H
#define SH_MODEL_RECONCILER_H

#include <stdint.h>

#include "base/clock.h"
#include "runtime/reconciler.h"

struct model_reconciler_options {
    const struct sh_clock *clock;            /* NULL: the real clock */
    const struct reconciler_notify *notify;  /* kept; the model loop reads synchronously */
    const char *rollback_log;   /* NULL: <registry path>/rollback_log.json per pipeline */
    int64_t metric_timeout_ms;  /* per read; 0: 5 s (never more than the metric interval) */
};

/* Builds the reconciler into *ret (name "model"). Calls curl_global_init:
 * call before threads start. Returns 0, or SH_ENOMEM with *ret_err. */
int model_reconciler_new(const struct model_reconciler_options *o, struct reconciler *ret,
                         char **ret_err);

/* Frees what model_reconciler_new allocated (ret->self). NULL is a no-op. */
void model_reconciler_free(void *self);

#endif
