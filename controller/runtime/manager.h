/*
 * manager.h — the controller loop: source → work queue → workers →
 * reconcilers → platform (DESIGN.md "Architecture").
 *
 * The manager owns the work queue and N worker threads. The source's
 * notifications add keys; a worker takes a key (never two workers on one
 * key), reads the current snapshot, runs the reconcilers in priority order on
 * a working copy of the status, derives the phase and the Ready condition,
 * and writes the status through the platform only when its content changed.
 * An error requeues the key with per-key exponential backoff; otherwise the
 * smallest requeueAfter any reconciler asked for schedules the next look.
 *
 * It also keeps the last status of every pipeline for the HTTP API and the
 * metrics (manager_snapshot_json, manager_phase_counts), guarded by a mutex.
 */
#ifndef SH_MANAGER_H
#define SH_MANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"
#include "runtime/platform.h"
#include "runtime/reconciler.h"
#include "runtime/source.h"

struct manager;
struct workqueue;
struct controller_metrics;

struct manager_options {
    int workers;                  /* default 2 */
    const struct sh_clock *clock; /* NULL: the real clock */
    struct source *source;        /* borrowed */
    struct platform *platform;    /* borrowed */
    const struct reconciler *reconcilers; /* borrowed array, priority order */
    size_t nreconcilers;
    struct controller_metrics *metrics; /* optional, borrowed */
};

/* Creates the manager and its queue (no threads yet). 0 and *ret, or SH_ENOMEM. */
int manager_new(const struct manager_options *opts, struct manager **ret);

/* Starts the source (its keys flow into the queue) and the workers.
 * Returns 0, or an SH_E* code with *ret_err (owned). */
int manager_start(struct manager *m, char **ret_err);

/* Queues key now (the source's notify callback; any thread). */
void manager_enqueue(struct manager *m, const char *key);

/*
 * This replica (re)gained leadership (any thread): every cached status and
 * reconciler memo is stale — another replica may have acted and written
 * since. Each pipeline's next reconcile reloads its status from the
 * platform (after platform->resync) and the reconcilers forget the key;
 * every key is queued.
 */
void manager_resync(struct manager *m);

/*
 * Stops: the source stops, no new work starts, in-flight reconciles finish
 * (each writes its status) within timeout_ms, the workers are joined, and
 * every reconciler's shutdown runs. Returns 0, or SH_ETIMEOUT when work was
 * still in flight at the deadline: the workers keep running (never
 * detached), so nothing they use — the manager, the reconcilers, the
 * platform, the source — may be freed; call manager_stop again to wait
 * longer, or end the process without freeing (cmd_run does, past the pod's
 * grace period).
 */
int manager_stop(struct manager *m, int64_t timeout_ms);

/* Frees the manager; NULL, and a manager whose workers still run (a
 * manager_stop that timed out), are left alone. */
void manager_free(struct manager *m);

/* Reconciles one key synchronously in the calling thread (tests, one-shot
 * CLI). Returns the reconcile result; *ret_requeue_ms (optional) gets the
 * requested delay. */
int manager_reconcile_key(struct manager *m, const char *key, int64_t *ret_requeue_ms);

/* JSON array of {key, namespace, name, phase, generation, source, status} for
 * every pipeline reconciled so far, sorted by key; owned string or NULL. */
char *manager_snapshot_json(struct manager *m);

/* JSON of one pipeline (as in the snapshot), or NULL when unknown. Owned. */
char *manager_pipeline_json(struct manager *m, const char *key);

/* Counts of pipelines per phase (index enum phase). */
void manager_phase_counts(struct manager *m, size_t counts[PHASE__COUNT]);

/* The work queue (borrowed), for metrics. */
struct workqueue *manager_queue(struct manager *m);

#endif
