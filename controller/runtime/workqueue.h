/*
 * workqueue.h — the controller's work queue (DESIGN.md "Work queue"), after
 * client-go's rate-limited delaying queue.
 *
 *   - dedup: a key is queued at most once;
 *   - a key being processed (between wq_get and wq_done) is never handed to
 *     a second worker; adds during processing mark it dirty and it is queued
 *     again at wq_done;
 *   - delayed adds (wq_add_after) wait in a min-heap ordered by due time;
 *     a key already waiting keeps the earlier due time;
 *   - wq_add_rate_limited: per-key exponential backoff (base·2^failures,
 *     capped), reset by wq_forget;
 *   - shutdown: wq_get returns SH_ESTOPPED once the queue is shut down;
 *     wq_shutdown_drain also waits for in-flight keys to be done.
 *
 * Time comes from the injected clock's monotonic face (clock_mono_ms): due
 * times and backoff are durations, and a step of the wall clock (NTP) moves
 * none of them. Waiting workers sleep at most
 * `poll_ms` of real time before re-reading the clock, so a fake clock moved
 * by a test is noticed; wq_tick() makes due delayed keys ready at once.
 * All functions are thread-safe. Keys are copied.
 */
#ifndef SH_WORKQUEUE_H
#define SH_WORKQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"

struct workqueue;

struct wq_options {
    int64_t base_delay_ms; /* first retry delay, default 5 */
    int64_t max_delay_ms;  /* backoff cap, default 1000 s */
    int64_t poll_ms;       /* longest real sleep between clock reads, default 100 */
};

struct wq_stats {
    size_t depth;          /* keys ready to be processed */
    size_t processing;     /* keys held by workers */
    size_t waiting;        /* keys waiting for a delay */
    uint64_t adds;         /* keys added to the ready queue, all time */
    uint64_t retries;      /* wq_add_rate_limited calls, all time */
    int64_t oldest_age_ms; /* age of the oldest ready key, 0 when empty */
};

void wq_options_default(struct wq_options *o);

/* Creates a queue. clock NULL = real clock; opts NULL = defaults.
 * Returns 0 or SH_ENOMEM. */
int wq_new(const struct sh_clock *clock, const struct wq_options *opts, struct workqueue **ret);

/* Queues key now (no-op if already queued; marked dirty if processing). */
void wq_add(struct workqueue *q, const char *key);

/* Queues key now ahead of every key wq_add queued (a spec change: it must
 * not wait behind thousands of periodic checks); a key already queued by
 * wq_add moves ahead. Same dedup and dirty rules as wq_add. */
void wq_add_urgent(struct workqueue *q, const char *key);

/* Queues key after delay_ms (<= 0: now). */
void wq_add_after(struct workqueue *q, const char *key, int64_t delay_ms);

/* Queues key after its backoff delay and counts a failure for it. */
void wq_add_rate_limited(struct workqueue *q, const char *key);

/* The backoff the next wq_add_rate_limited of key would use. */
int64_t wq_backoff_ms(struct workqueue *q, const char *key);

/* Clears key's failure count. */
void wq_forget(struct workqueue *q, const char *key);

/* Number of failures counted for key since its last forget. */
int wq_failures(struct workqueue *q, const char *key);

/* Blocks until a key is ready and returns it in *ret_key (owned; free it
 * after wq_done). Returns 0, or SH_ESTOPPED after shutdown. */
int wq_get(struct workqueue *q, char **ret_key);

/* Like wq_get but never blocks: SH_ENOTFOUND when nothing is ready. */
int wq_try_get(struct workqueue *q, char **ret_key);

/* Marks key done; if it was re-added meanwhile it is queued again. */
void wq_done(struct workqueue *q, const char *key);

/* Moves delayed keys that are due (by the clock) to the ready queue. */
void wq_tick(struct workqueue *q);

/* Stops handing out keys: blocked and future wq_get return SH_ESTOPPED. */
void wq_shutdown(struct workqueue *q);

/* Shuts down and waits up to timeout_ms (real time) for in-flight keys to be
 * done. Returns 0, or SH_ETIMEOUT. */
int wq_shutdown_drain(struct workqueue *q, int64_t timeout_ms);

void wq_get_stats(struct workqueue *q, struct wq_stats *out);

/* Frees the queue; no thread may use it any more. NULL is a no-op. */
void wq_free(struct workqueue *q);

#endif
