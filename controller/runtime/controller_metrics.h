/*
 * controller_metrics.h — the controller's own metric set on a metrics
 * registry:
 *
 *   selfheal_build_info{version,commit}                      gauge, always 1
 *   selfheal_reconcile_total{reconciler,result}              counter
 *   selfheal_reconcile_duration_seconds{reconciler}          histogram
 *   selfheal_workqueue_depth                                 gauge
 *   selfheal_workqueue_adds_total                            counter
 *   selfheal_workqueue_retries_total                         counter
 *   selfheal_workqueue_oldest_item_age_seconds               gauge
 *   selfheal_workqueue_in_flight                             gauge
 *   selfheal_pipelines{phase}                                gauge, one per phase
 *
 * The queue and pipeline families are read at scrape time by a collector
 * from a sampler: controller_metrics_attach_manager (in
 * controller_metrics_manager.c, so that this file links without the manager)
 * installs one that reads the manager's queue stats and phase counts. Before
 * that they render as zeros. Other components (reconcilers) register their
 * own families on controller_metrics_registry(). Thread-safe.
 */
#ifndef SH_CONTROLLER_METRICS_H
#define SH_CONTROLLER_METRICS_H

#include <stddef.h>

#include "base/metrics.h"
#include "runtime/status.h"
#include "runtime/workqueue.h"

struct controller_metrics;
struct manager;

/* Duration buckets of selfheal_reconcile_duration_seconds. */
#define CONTROLLER_METRICS_DURATION_BUCKETS {.001, .005, .01, .05, .1, .5, 1, 5, 10}

/*
 * Registers the families on reg (borrowed; must outlive the result) and sets
 * build_info (NULL version or commit: "unknown"). Returns 0, SH_EEXISTS when
 * reg already has them, SH_EINVAL or SH_ENOMEM.
 */
int controller_metrics_new(struct metrics *reg, const char *version, const char *commit,
                           struct controller_metrics **ret);

/* Stops the collector and frees cm (the registry keeps its families). NULL ok. */
void controller_metrics_free(struct controller_metrics *cm);

/* Counts one reconcile: result "success" or "error"; seconds it took. NULL cm: no-op. */
void controller_metrics_reconcile(struct controller_metrics *cm, const char *reconciler,
                                  const char *result, double seconds);

/* The registry (borrowed), for components that add their own families. */
/* Counts one history-ledger transition (an action started, or its outcome
 * recorded). cm may be NULL. */
void controller_metrics_action(struct controller_metrics *cm, const char *loop, const char *action,
                               const char *outcome);

struct metrics *controller_metrics_registry(struct controller_metrics *cm);

/* Reads the work queue stats and the pipelines per phase at scrape time. */
typedef void (*controller_metrics_sampler)(void *ctx, struct wq_stats *queue,
                                           size_t phases[PHASE__COUNT]);

/*
 * Installs the sampler (NULL: zeros again). phase_name (optional) names the
 * phases in selfheal_pipelines{phase}; without it a built-in copy of the
 * names of status.h is used. NULL cm: no-op.
 */
void controller_metrics_set_sampler(struct controller_metrics *cm, controller_metrics_sampler fn,
                                    void *ctx, const char *(*phase_name)(enum phase));

/* Samples manager m (its queue and phase counts); NULL m detaches. NULL cm: no-op.
 * Defined in controller_metrics_manager.c. */
void controller_metrics_attach_manager(struct controller_metrics *cm, struct manager *m);

#endif
