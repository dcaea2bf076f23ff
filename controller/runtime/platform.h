/*
 * platform.h — what the controller does to the world, behind one interface
 * with two implementations: local (files and processes, controller/local/)
 * and Kubernetes (API calls, controller/kube/). Reconcilers never know which
 * one runs; no reconciler code branches on it.
 *
 * The core operations (status, events) are here; each reconciler's
 * actuators are declared in its own header as a struct of function pointers
 * reached through `actuators` (see controller/runtime/reconciler.h), so adding an
 * action never touches this file's users.
 *
 * All functions are called from workers holding the pipeline's key; an
 * implementation must be safe for concurrent calls on different pipelines.
 */
#ifndef SH_PLATFORM_H
#define SH_PLATFORM_H

#include <cjson/cJSON.h>

#include "runtime/pipeline.h"

struct secret_reader;

enum event_type { EVENT_NORMAL, EVENT_WARNING };

struct platform {
    const char *name; /* "local" | "kube" */

    /* Reads the persisted status of p (local: the status file; kube: the
     * object's status). Returns an owned object, or NULL when there is none. */
    cJSON *(*load_status)(struct platform *pf, const struct pipeline *p);

    /* Persists status for p. Only called when the content changed. Returns 0
     * or an SH_E* code with *ret_err (owned) saying why; the worker requeues
     * with backoff on failure. */
    int (*write_status)(struct platform *pf, const struct pipeline *p, const cJSON *status,
                        char **ret_err);

    /* Forgets the persisted status of a deleted pipeline. */
    int (*delete_status)(struct platform *pf, const char *key);

    /* Records an event about p (reason in CamelCase, message for humans). */
    void (*record_event)(struct platform *pf, const struct pipeline *p, enum event_type type,
                         const char *reason, const char *message);

    /* Per-loop actuators, looked up by the reconcilers ("service", "model",
     * "drift", "dataQuality"); NULL when the platform has none for the loop. */
    const void *(*actuators)(struct platform *pf, const char *loop);

    /* Optional: forgets what the platform cached of the persisted state
     * (kube: the last status and resourceVersion it wrote per pipeline), so
     * the next write diffs against what the source shows now. Called when
     * this replica (re)gains leadership: another one may have written since. */
    void (*resync)(struct platform *pf);

    /* Optional: reads Secrets for the specs' secretKeyRef references
     * (runtime/credentials.h; kube: kube/secrets.h). NULL locally. */
    const struct secret_reader *secrets;

    void *impl;
};

#endif
