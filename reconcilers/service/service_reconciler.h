/*
 * service_reconciler.h — the service loop: keeps a pipeline's serving
 * service healthy (DESIGN.md "Semantics that must be exact": probe,
 * recovery).
 *
 *   observe   the HTTP prober (probe.h: libcurl multi on its own thread, so
 *             probes never block the workers) and, for method `process`,
 *             the supervised process (service_actuators.h)
 *   decide    service_decide() (pure)
 *   act       start / restart the supervised process, run the recovery
 *             command, or the platform's cluster method
 *   report    status.service, the ServiceHealthy condition (ProbeSucceeded,
 *             ProbeFailed, Recovering, RecoveryExhausted), phase requests
 *             (Recovering, NeedsAttention), the history ledger (each attempt
 *             "started", then "succeeded" when a healthy probe follows or
 *             "failed"), plannedActions in dry runs, events, the recovery
 *             audit log (a JSON array, monitoring/recovery_log.json by
 *             default) and the MTTR metric.
 *
 * The prober and the supervisor send the pipeline's key to `notify` when
 * something changes (a failed probe, a recovered one, a process exit), so a
 * healthy idle pipeline costs nothing and a crash is acted on at once.
 */
#ifndef SH_SERVICE_RECONCILER_H
#define SH_SERVICE_RECONCILER_H

#include "base/clock.h"
#include "base/metrics.h"
#include "runtime/platform.h"
#include "runtime/reconciler.h"
#include "service/probe.h"

#define SERVICE_RECOVERY_LOG_DEFAULT "monitoring/recovery_log.json"

struct service_reconciler_options {
    const struct sh_clock *clock;            /* NULL: the real clock */
    const char *audit_log_path;              /* NULL: SERVICE_RECOVERY_LOG_DEFAULT
                                                (relative to the working folder); "" : none */
    const struct reconciler_notify *notify;  /* borrowed, stable; fn may be set later */
    struct platform *platform;               /* for forget and shutdown (the actuators);
                                                optional */
    struct prober_options prober;            /* concurrency and body limits (0: defaults) */
};

/*
 * Creates the loop (and starts its prober thread) into *ret (name
 * "service"). Returns 0, or an SH_E* code with *ret_err (owned). Free with
 * service_reconciler_free(ret->self).
 */
int service_reconciler_new(const struct service_reconciler_options *o, struct reconciler *ret,
                           char **ret_err);

/*
 * Registers the loop's metrics on reg (call once, before the manager starts):
 *   selfheal_service_recovery_seconds   histogram: MTTR of healed incidents
 *   selfheal_service_recovery_actions_total{method,outcome}  counter
 *   selfheal_probe_duration_seconds     histogram: probe latency
 *   selfheal_probes_total, selfheal_probe_failures_total,
 *   selfheal_probe_targets, selfheal_probe_in_flight  (collected)
 * Returns 0 or an SH_E* code.
 */
int service_reconciler_register_metrics(void *self, struct metrics *reg);

/* The loop's prober (borrowed), for benchmarks and tests. */
struct prober *service_reconciler_prober(void *self);

/* Stops the prober and frees. NULL is a no-op. Does not stop processes:
 * that is the actuators' (shutdown does both). */
void service_reconciler_free(void *self);

#endif
