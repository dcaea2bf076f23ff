/*
 * watchloop.h — the thread a source watches on, one mechanism for the
 * Kubernetes informer and the spec folder: it runs a step (a list, a watch,
 * a poll of the folder) over and over, waits out a backoff after a step
 * that failed, and stops promptly when asked. Also the list of changed keys
 * a step collects under its lock and notifies after releasing it, and the
 * snapshot table both sources serve get/keys/has_synced from.
 *
 * Backoff: the first failed step (WATCHLOOP_RETRY) waits backoff_ms, each
 * further one twice the last, capped at backoff_max_ms. A step that
 * succeeded (WATCHLOOP_OK) starts it over; a step that made progress and
 * then failed calls watchloop_reset_backoff() first (a watch that delivered
 * events before it was cut waits the first backoff again).
 *
 * Stop: watchloop_stop() sets the stop flag and makes the wake fd readable,
 * so a wait in progress returns at once; a step that blocks in poll() should
 * include watchloop_wake_fd(), one that blocks elsewhere should watch
 * watchloop_stop_flag() (kube_stream does).
 *
 * Waits go through an injectable function (options.wait): tests pass one
 * that records the wait and advances a fake clock instead of sleeping.
 *
 * Threads: new/start/stop/free from the owner's thread; the step and the
 * wait run on the loop's thread; watchloop_request_stop, watchloop_stopping,
 * watchloop_stop_flag and watchloop_wake_fd from any thread.
 */
#ifndef SH_WATCHLOOP_H
#define SH_WATCHLOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strmap.h"
#include "runtime/source.h"

struct watchloop;

/* What the loop does after a step. */
enum watchloop_next {
    WATCHLOOP_OK,    /* succeeded: the backoff starts over, step again at once */
    WATCHLOOP_AGAIN, /* step again at once, the backoff unchanged (a relist) */
    WATCHLOOP_RETRY, /* failed: wait the backoff, double it (capped), step again */
    WATCHLOOP_STOP,  /* end the thread (it also ends once stop is requested) */
};

/* One step of the watch, on the loop's thread. */
typedef enum watchloop_next watchloop_step_fn(void *ctx, struct watchloop *wl);

/* Waits up to ms or until the loop is asked to stop. Returns false when
 * stopping (the loop then ends). */
typedef bool watchloop_wait_fn(void *ctx, struct watchloop *wl, int64_t ms);

struct watchloop_options {
    const char *name;        /* for messages: "cannot start the NAME thread" */
    watchloop_step_fn *step; /* required */
    void *ctx;               /* step's context, borrowed */
    int64_t backoff_ms;      /* first wait after a failure, default 800 */
    int64_t backoff_max_ms;  /* cap, default 30000 */
    watchloop_wait_fn *wait; /* NULL: a real wait that stop interrupts */
    void *wait_ctx;
};

/* Creates a loop (no thread yet). name is copied. Returns 0 and *ret (free
 * with watchloop_free), or SH_ENOMEM. */
int watchloop_new(const struct watchloop_options *o, struct watchloop **ret);

/* Starts the thread with the backoff at its first value (also after a
 * stop: a stopped loop may be started again). Returns 0, or SH_EIO (the wake
 * pipe) / SH_ENOMEM (the thread) with *ret_err (owned) saying why. */
int watchloop_start(struct watchloop *wl, char **ret_err);

/* Asks the loop to stop without waiting for it: any thread, also the step. */
void watchloop_request_stop(struct watchloop *wl);

/* Asks the loop to stop and joins its thread. A no-op when not running. */
void watchloop_stop(struct watchloop *wl);

/* Stops and frees the loop. NULL is a no-op. */
void watchloop_free(struct watchloop *wl);

/* True once stop was requested. */
bool watchloop_stopping(const struct watchloop *wl);

/* The stop flag itself, for calls that watch one (kube_stream). Borrowed
 * until watchloop_free. */
const atomic_bool *watchloop_stop_flag(const struct watchloop *wl);

/* A descriptor that becomes readable once stop is requested (for a step
 * that polls). Valid while the loop runs. */
int watchloop_wake_fd(const struct watchloop *wl);

/* Waits up to ms (the configured wait, by default poll() on the wake fd).
 * Returns false when stopping. For the step: a period between two runs. */
bool watchloop_wait(struct watchloop *wl, int64_t ms);

/* The wait the next WATCHLOOP_RETRY will cause (for log messages). */
int64_t watchloop_backoff_ms(const struct watchloop *wl);

/* Starts the backoff over (the step made progress before failing). */
void watchloop_reset_backoff(struct watchloop *wl);

/* The keys a step found changed: collected under the source's lock,
 * notified after releasing it (the manager takes its own locks). A key that
 * cannot be added (no memory) is dropped: the periodic resync covers it. */
struct watchloop_keys {
    char **keys; /* owned */
    size_t n, cap;
};

/* Appends a copy of key. */
void watchloop_keys_add(struct watchloop_keys *kl, const char *key);

/* Appends a copy of key unless it is there already. */
void watchloop_keys_add_once(struct watchloop_keys *kl, const char *key);

/* Calls notify(ctx, key) for every key in order (none when notify is NULL),
 * then frees the keys and empties the list. */
void watchloop_keys_flush(struct watchloop_keys *kl, source_notify_fn *notify, void *ctx);

/* A source that serves snapshots: embed it first (a struct watchloop_source *
 * is then a struct source *). `mu` guards `snapshots` and `synced`, and
 * whatever else the source keeps beside them (the step updates all of it
 * under the one lock). */
struct watchloop_source {
    struct source base;
    pthread_mutex_t mu;
    struct strmap *snapshots; /* key → struct pipeline *, one reference each */
    bool synced;
    bool mu_ready;
};

/* Initialises ws (zeroed by the caller): base.get, base.has_synced and
 * base.keys serve the snapshots; start, stop and free are the source's own.
 * Returns 0 or SH_ENOMEM (ws is then safe to destroy). */
int watchloop_source_init(struct watchloop_source *ws,
                          int (*start)(struct source *, source_notify_fn *, void *, char **),
                          void (*stop)(struct source *), void (*free_)(struct source *));

/* Drops every snapshot and frees the table. Accepts a zeroed or half-built ws. */
void watchloop_source_destroy(struct watchloop_source *ws);

/* Marks the initial listing complete (has_synced then returns true). */
void watchloop_source_set_synced(struct watchloop_source *ws);

#endif
