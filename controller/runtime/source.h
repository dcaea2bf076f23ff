/*
 * source.h — where pipelines come from: the spec folder (local) or the
 * Kubernetes informer. One interface, so the manager never knows which.
 *
 * A source watches on its own thread and calls `notify(ctx, key)` for every
 * key whose object was added, changed or deleted (the manager queues it).
 * Workers then read the current snapshot with get(): level-based, the
 * notification carries no payload to trust.
 */
#ifndef SH_SOURCE_H
#define SH_SOURCE_H

#include <stdbool.h>

#include "runtime/pipeline.h"

typedef void source_notify_fn(void *ctx, const char *key);

struct source {
    /* Starts watching; notify is called for every key from now on (also for
     * all keys found by the initial listing). Returns 0 or an SH_E* code with
     * *ret_err (owned) saying why. */
    int (*start)(struct source *src, source_notify_fn *notify, void *ctx, char **ret_err);
    /* Returns a new reference to the current snapshot of key, or NULL when it
     * does not exist (deleted). Any thread. */
    struct pipeline *(*get)(struct source *src, const char *key);
    /* True once the initial listing is complete. Any thread. */
    bool (*has_synced)(struct source *src);
    /* All current keys, sorted: owned NULL-terminated array (strmap_keys_free). */
    char **(*keys)(struct source *src, size_t *ret_count);
    /* Stops the watch thread; get() keeps working on the last state. */
    void (*stop)(struct source *src);
    /* Frees the source (stops it first). */
    void (*free)(struct source *src);
};

#endif
