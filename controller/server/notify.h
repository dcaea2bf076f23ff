/*
 * notify.h — notifications to people (DESIGN.md Architecture, "Notifications";
 * issue 16): per pipeline, spec.notify lists webhooks (a generic JSON payload
 * or Slack's incoming-webhook format) and which phases or event reasons
 * trigger one (default: NeedsAttention, RolledBack, RetrainFailed,
 * Recovered).
 *
 * A notifier_tap wraps the manager's platform like eventbus_tap: every
 * record_event (the reconcilers' events, the manager's condition changes) and
 * every phase change seen in write_status is offered to the notifier, which
 * decides at once, without I/O, whether a target wants it (its `on` list, at
 * most one per (pipeline, reason, target) per `window`) and puts it on a
 * bounded queue. Delivery never blocks a reconcile: one sender thread posts
 * (libcurl), a timeout per attempt, retries with exponential backoff and
 * jitter on 5xx, 429 (honouring Retry-After) and connection errors. What is
 * delivered, retried, deduplicated, dropped (queue full, shutdown) or failed
 * (given up) is counted in selfheal_notifications_total{outcome} and logged.
 *
 * The URL is a secret: it is read at send time (urlFrom env, file, or a
 * Kubernetes Secret through the resolve_secret hook) and never appears in a
 * log line, an error, status, an Event or a metric — messages name the
 * target as notify[i] and where the URL comes from (env NAME, file PATH,
 * secret NAME/KEY). With --allow-url (base/urlguard.h, the process's guard)
 * the URL is checked when read and each connection on its address; a
 * refusal is a failed notification at once, never retried, its reason
 * naming the host and port only.
 *
 * Payload (format json), version 1:
 *   {"version":"selfheal.dev/notification/v1","pipeline":"housing",
 *    "namespace":"demo","loop":"model","reason":"RolledBack",
 *    "message":"rmse 45210.5 > 40000: rolled back v3 → v1 …",
 *    "phase":"RollingBack","time":"2026-12-04T14:00:00.123Z",
 *    "type":"Normal","action":"rollback","outcome":"started"}
 * loop, action and outcome are null when the reason has none (a phase).
 */
#ifndef SH_NOTIFY_H
#define SH_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/platform.h"

struct notifier;
struct metrics;
struct sh_clock;

#define NOTIFY_PAYLOAD_VERSION "selfheal.dev/notification/v1"

/* Reads key of the Secret namespace_/name (the URL). Returns 0 and *ret_value
 * (owned), or an SH_E* code with *ret_err (owned; must not contain the value). */
typedef int (*notify_secret_fn)(void *ctx, const char *namespace_, const char *name,
                                const char *key, char **ret_value, char **ret_err);

struct notifier_options {
    const struct sh_clock *clock; /* the dedup window (mono); NULL: the real clock */
    struct metrics *metrics;      /* registers selfheal_notifications_total; NULL: none */
    size_t queue_capacity;        /* 0: 256 */
    int max_attempts;             /* per notification; 0: 5 */
    int64_t attempt_timeout_ms;   /* per attempt; 0: 5 s */
    int64_t backoff_ms;           /* first retry delay; doubles; 0: 1 s */
    int64_t max_backoff_ms;       /* 0: 60 s; also caps Retry-After */
    notify_secret_fn resolve_secret; /* secretKeyRef; NULL: such targets fail */
    void *secret_ctx;
};

/* Creates the notifier and starts its sender thread (curl_global_init must
 * have been called). Returns 0, or SH_ENOMEM / SH_EIO. */
int notifier_new(const struct notifier_options *o, struct notifier **ret);

/* Stops the sender (an attempt in flight ends within its timeout), counts
 * what is still queued as dropped, frees. NULL is a no-op. */
void notifier_free(struct notifier *n);

/* Offers an event of p: queues one notification per target of p's spec that
 * wants `reason` and has not sent one for it within its window. phase is the
 * pipeline's phase to report (NULL: unknown). Never blocks on I/O. */
void notifier_offer(struct notifier *n, const struct pipeline *p, enum event_type type,
                    const char *reason, const char *message, const char *phase);

/* Waits until the queue is empty and nothing is being sent, at most
 * timeout_ms. Returns 0, or SH_ETIMEOUT. For tests and shutdown. */
int notifier_flush(struct notifier *n, int64_t timeout_ms);

/* The count of an outcome so far ("delivered", "retried", "deduplicated",
 * "dropped", "failed"). */
uint64_t notifier_count(struct notifier *n, const char *outcome);

/* The payload of a notification (owned JSON text): json or slack format.
 * Exposed for tests and docs. */
char *notify_payload(int slack, const char *namespace_, const char *name, const char *reason,
                     const char *message, const char *phase, enum event_type type,
                     int64_t time_ms);

/* A platform whose record_event and write_status go to inner and whose
 * events and phase changes are offered to n. Use &tap.base. */
struct notifier_tap {
    struct platform base;
    struct notifier *n;
    struct platform *inner;
};

void notifier_tap_init(struct notifier_tap *t, struct notifier *n, struct platform *inner);

#endif
