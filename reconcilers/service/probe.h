/*
 * probe.h — the HTTP health prober: one thread running libcurl's multi
 * interface probes every target on its own schedule, so hundreds of
 * pipelines probing at once never block the controller's workers or each
 * other (DESIGN.md "Semantics that must be exact": probe).
 *
 *   healthy      iff an HTTP 2xx arrives within the target's timeout.
 *                CURLOPT_TIMEOUT_MS covers the whole transfer (connect, TLS,
 *                headers, body), so a server that accepts and never answers
 *                and a body that trickles forever both fail. Redirects are
 *                not followed (a 3xx is a failure); proxies from the
 *                environment are ignored; TLS is verified.
 *   body         read and discarded. Once more than max_body_bytes (default
 *                64 KiB) have arrived the transfer is cut short and judged on
 *                its status line: a 2xx with a huge body is healthy.
 *   concurrency  at most max_concurrent transfers (default 256) run at once;
 *                due probes beyond that wait in FIFO order for a free slot.
 *                Connections are reused through the multi handle's cache
 *                (CURLMOPT_MAXCONNECTS = max_concurrent).
 *   latency      measured from the moment the prober takes a due probe to its
 *                result, so it includes the wait for a slot; the timeout
 *                starts when the transfer starts.
 *   schedule     by the injected clock: a new or changed target is probed at
 *                once, then each `interval` after the start of the previous
 *                probe (at once when that moment has passed). The thread
 *                sleeps in curl_multi_poll and is woken (curl_multi_wakeup)
 *                when targets change; it re-reads the clock at least once a
 *                second, so a fake clock advanced by a test is noticed (or
 *                prober_sync() notices it at once).
 *   timestamps   last_probe_ms, first_failure_ms and last_success_ms are the
 *                injected clock's time when the probe completed.
 *
 * Failure messages name the method and the URL (credentials removed):
 *   GET http://127.0.0.1:8000/health: connection refused
 *   GET http://127.0.0.1:8000/health: timed out after 2000 ms
 *   GET http://127.0.0.1:8000/health: HTTP 500
 *   GET http://nohost.invalid/: could not resolve host "nohost.invalid"
 *   GET https://127.0.0.1:8443/health: TLS error: <curl's message>
 *
 * Thread-safety: every function may be called from any thread, except that
 * prober_stop() and prober_free() must not be called from the callbacks.
 * The callbacks run on the prober thread with no lock held: they may call
 * prober_get(), prober_probe_now() and the other table functions, and must
 * return quickly (the manager only enqueues the key).
 */
#ifndef SH_PROBE_H
#define SH_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"
#include "base/httpcred.h"

#define PROBE_KEY_MAX 512      /* longest key, terminator included */
#define PROBE_URL_MAX 2048     /* longest URL, terminator included */
#define PROBE_ERROR_MAX 256
#define PROBE_LATENCY_BUCKETS 14

struct prober;

/* What the prober knows about one target. */
struct probe_observation {
    bool known;                 /* at least one probe completed */
    bool last_ok;
    int consecutive_failures;
    int consecutive_successes;
    int64_t last_probe_ms;      /* completion of the newest probe, 0 none */
    int64_t first_failure_ms;   /* start of the current failure streak, 0 when healthy */
    int64_t last_success_ms;    /* newest successful probe, 0 none */
    double last_latency_ms;
    long last_http_status;      /* 0 when no response arrived */
    char last_error[PROBE_ERROR_MAX]; /* "" after a success */
    uint64_t probes;            /* completed probes since the target was set */
    uint64_t failures;
};

/* Counters over all targets (for /metrics). Latency buckets are cumulative,
 * Prometheus style: bucket_count[i] probes took ≤ bucket_le_seconds[i]; the
 * +Inf bucket is `probes`. */
struct probe_stats {
    uint64_t probes;
    uint64_t failures;
    uint64_t cancelled;         /* transfers dropped by remove or a URL change */
    size_t targets;
    size_t in_flight;
    size_t queued;              /* due, waiting for a free slot */
    double latency_sum_seconds;
    double bucket_le_seconds[PROBE_LATENCY_BUCKETS];
    uint64_t bucket_count[PROBE_LATENCY_BUCKETS];
};

/* Called with the key after a probe whose outcome matters to the reconciler:
 * the first result, every failure, and a success after a failure. */
typedef void (*prober_result_fn)(void *ctx, const char *key);

/* Called with every completed probe (benchmarks, per-target metrics). */
typedef void (*prober_probe_fn)(void *ctx, const char *key, const struct probe_observation *obs);

struct prober_options {
    size_t max_concurrent;  /* 0: 256 */
    size_t max_body_bytes;  /* 0: 64 KiB */
    prober_probe_fn on_probe; /* optional, same ctx as on_result */
};

/*
 * Creates a prober and starts its thread. `clock` (NULL: the real clock) is
 * borrowed and must outlive the prober; `opts` may be NULL (defaults);
 * `on_result` may be NULL. Initialises libcurl (curl_global_init; it is
 * thread-safe in the libcurl we build with). Returns 0 and an owned prober
 * in *ret, or SH_ENOMEM / SH_EIO (curl or thread failure); *ret is untouched
 * on failure.
 */
int prober_new(const struct sh_clock *clock, const struct prober_options *opts,
               prober_result_fn on_result, void *ctx, struct prober **ret);

/*
 * Adds the target `key` or updates it. `url` is http:// or https:// (at most
 * PROBE_URL_MAX-1 bytes); interval_ms and timeout_ms must be > 0. An
 * unchanged target keeps its schedule and observation. A changed URL starts
 * over: the observation is cleared, an in-flight probe is cancelled and the
 * new URL is probed at once. A changed timeout or interval applies from the
 * next probe (a shorter interval may make it due at once). Strings are
 * copied. Returns 0, SH_EINVAL (bad key, URL or numbers; nothing changes) or
 * SH_ENOMEM.
 */
int prober_set_target(struct prober *pr, const char *key, const char *url, int64_t interval_ms,
                      long timeout_ms);

/*
 * Like prober_set_target, sending cred's credentials and TLS settings with
 * every probe (copied; NULL: none). Changed credentials start the target
 * over like a changed URL; the same ones keep its schedule.
 */
int prober_set_target_auth(struct prober *pr, const char *key, const char *url,
                           const struct http_credentials *cred, int64_t interval_ms,
                           long timeout_ms);

/* Removes the target; an in-flight probe is cancelled. 0 or SH_ENOTFOUND. */
int prober_remove(struct prober *pr, const char *key);

/* Makes the target due now (after a recovery action). When a probe is in
 * flight, the next one starts as soon as it completes. 0 or SH_ENOTFOUND. */
int prober_probe_now(struct prober *pr, const char *key);

/*
 * Healing in a blink: makes the target due now (as prober_probe_now) and
 * probes it at a fast cadence until its first success, instead of at the
 * next regular interval — called after every recovery action and start.
 * Each wait after a failed fast probe is prober_fast_step_ms(): a tenth of
 * the interval (at least PROBE_FAST_MIN_MS, at most PROBE_FAST_MAX_MS) plus
 * a twentieth of the time since the action, never more than the interval,
 * so a restart that takes T is seen within about T/20 of it, and a long
 * one costs only a logarithmic number of extra probes before the cadence
 * is the regular one again. Repeated failures at the fast cadence do not
 * call on_result (the reconciler watches the startup window itself); the
 * success that ends it always does. 0 or SH_ENOTFOUND.
 */
#define PROBE_FAST_MIN_MS 10
#define PROBE_FAST_MAX_MS 50
int prober_probe_fast(struct prober *pr, const char *key);

/* The wait before the next fast probe, elapsed_ms after the action. */
int64_t prober_fast_step_ms(int64_t interval_ms, int64_t elapsed_ms);

/* Copies the target's observation into *ret. 0, or SH_ENOTFOUND with *ret
 * cleared (known = false). */
int prober_get(struct prober *pr, const char *key, struct probe_observation *ret);

/* Copies the global counters into *ret. */
void prober_get_stats(struct prober *pr, struct probe_stats *ret);

/*
 * Waits (at most timeout_ms of real time) until the target has completed at
 * least `min_probes` probes and the callbacks for them have returned. Returns 0, SH_ETIMEOUT, SH_ENOTFOUND (no such
 * target, or removed while waiting) or SH_ESTOPPED.
 */
int prober_wait(struct prober *pr, const char *key, uint64_t min_probes, long timeout_ms);

/*
 * Wakes the thread and waits (at most timeout_ms of real time) until one
 * whole iteration of its loop has run after the call: it has read the clock,
 * started every due probe it had a slot for and collected finished ones.
 * Returns 0, SH_ETIMEOUT or SH_ESTOPPED.
 */
int prober_sync(struct prober *pr, long timeout_ms);

/*
 * Like prober_sync, and returns only when an iteration ended with nothing
 * due, queued or in flight (tests with a fake clock; a one-shot command).
 * Returns 0, SH_ETIMEOUT or SH_ESTOPPED.
 */
int prober_wait_idle(struct prober *pr, long timeout_ms);

/* Stops the thread (in-flight probes are abandoned) and waits for it. The
 * table stays readable. Idempotent. */
void prober_stop(struct prober *pr);

/* Stops the prober and frees everything. NULL is a no-op. */
void prober_free(struct prober *pr);

#endif
