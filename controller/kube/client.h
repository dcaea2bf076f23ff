/*
 * client.h — the Kubernetes REST client (libcurl).
 *
 * One client per API server, shared by every thread: each call takes an
 * easy handle from a small pool (its connections stay open for reuse) and
 * puts it back. Requests send `User-Agent: selfheal/VERSION`, `Accept:
 * application/json`, the bearer token (re-read from the token file when the
 * file changes) or the client certificate (PEM in memory blobs), and verify
 * TLS with the configured CA unless the config says insecure.
 *
 * Retries: 429 (waiting Retry-After when given) and 5xx are retried with
 * backoff (200 ms doubling, capped) up to max_attempts; so are transport
 * failures (a connect failure for every method, anything else only for the
 * idempotent methods GET, PUT, PATCH, DELETE). A call never sleeps more than
 * retry_budget_ms in all (2 s by default): a longer Retry-After, or a
 * backoff past the budget, returns the error at once — the calling worker
 * requeues its key with backoff instead of sleeping, so a throttled API
 * server never stalls the other pipelines. Any other 4xx is returned at
 * once. Errors come back as an SH_E* code (kube_http_error) and a message
 * built from the Status object (kube_error_message).
 *
 * Thread-safety: every function may be called from any thread at once.
 */
#ifndef SH_KUBE_CLIENT_H
#define SH_KUBE_CLIENT_H

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/kubeconfig.h"

#define KUBE_CT_JSON "application/json"
#define KUBE_CT_MERGE_PATCH "application/merge-patch+json"

struct kube_client;

struct kube_client_options {
    long timeout_ms;         /* whole request, default 30000 */
    long connect_timeout_ms; /* default 5000 */
    int max_attempts;        /* tries per call incl. the first, default 5 */
    int64_t backoff_ms;      /* first retry delay, default 200 (doubles) */
    int64_t backoff_max_ms;  /* default 5000; Retry-After is honoured up to 60 s */
    int64_t retry_budget_ms; /* most time one call sleeps between tries, default 2000 */
    size_t max_body;         /* response ceiling, default 64 MiB */
    /* Waits between retries; NULL: a real sleep. Tests record the delays. */
    void (*sleep_ms)(void *ctx, int64_t ms);
    void *sleep_ctx;
};

/* Defaults for every field (tests override some). */
void kube_client_options_default(struct kube_client_options *o);

/*
 * Creates a client for cfg (borrowed: must outlive the client). o may be
 * NULL (defaults). Returns 0 and *ret, or SH_ENOMEM / SH_EIO with *ret_err.
 */
int kube_client_new(const struct kube_config *cfg, const struct kube_client_options *o,
                    struct kube_client **ret, char **ret_err);

/* Frees the pooled handles and the client. NULL is a no-op. */
void kube_client_free(struct kube_client *c);

/* The config the client was made with (borrowed). */
const struct kube_config *kube_client_config(const struct kube_client *c);

/*
 * One API call: METHOD server+path (path starts with '/', may carry a query)
 * with an optional JSON body of content_type (NULL: application/json).
 * Returns 0 on a 2xx with *ret_body (owned parsed JSON, NULL for an empty
 * body; ret_body may be NULL), or an SH_E* code with *ret_err (owned, may be
 * NULL). *ret_code (optional) gets the last HTTP status (0: no response).
 */
int kube_call(struct kube_client *c, const char *method, const char *path, const cJSON *body,
              const char *content_type, cJSON **ret_body, long *ret_code, char **ret_err);

int kube_get(struct kube_client *c, const char *path, cJSON **ret_body, char **ret_err);
int kube_post(struct kube_client *c, const char *path, const cJSON *body, cJSON **ret_body,
              char **ret_err);
int kube_put(struct kube_client *c, const char *path, const cJSON *body, cJSON **ret_body,
             char **ret_err);
int kube_patch_merge(struct kube_client *c, const char *path, const cJSON *patch,
                     cJSON **ret_body, char **ret_err);
int kube_delete(struct kube_client *c, const char *path, char **ret_err);

/* Receives the bytes of a streamed body; returns 0 to go on, non-zero to
 * stop the transfer (that value is returned by kube_stream). */
typedef int kube_stream_fn(void *ctx, const char *buf, size_t len);

/*
 * GETs path and hands the body to fn as it arrives (a watch). No retries.
 * The transfer ends when the server closes it, after timeout_ms, when fn
 * returns non-zero, or within about a second of *stop becoming true (stop
 * may be NULL). Returns 0 after a 200 whose body ended cleanly, fn's
 * non-zero value, SH_ESTOPPED, or an SH_E* code with *ret_err (a non-200
 * status: *ret_code says which; a cut connection: SH_EIO).
 */
int kube_stream(struct kube_client *c, const char *path, long timeout_ms, kube_stream_fn *fn,
                void *ctx, const atomic_bool *stop, long *ret_code, char **ret_err);

#endif
