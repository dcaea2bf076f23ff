/*
 * reconciler.h — the interface every loop implements (service, model, drift,
 * data quality), and the context a reconcile runs in.
 *
 * The manager calls the registered reconcilers in priority order (service
 * recovery > model rollback > data fix > retraining) for one pipeline at a
 * time, each with the same context: the snapshot (spec + metadata), the
 * working copy of the status, `now` read once, and the platform. A
 * reconciler owns its section of the status and its condition; it splits
 * into observe (I/O), decide (pure: spec, observation, previous status, now)
 * and act (platform). It reads the world each time (level-based) and must be
 * idempotent.
 *
 * Coordination (DESIGN.md): at most one action in flight per pipeline. A
 * reconciler that acts, or that has an action still being verified, sets
 * ctx->action_in_flight; reconcilers after it then observe and report but
 * do not act this round.
 */
#ifndef SH_RECONCILER_H
#define SH_RECONCILER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"
#include "runtime/pipeline.h"
#include "runtime/platform.h"
#include "runtime/status.h"

/* Phase requests a reconciler can make; the manager picks the most urgent. */
#define PHASE_REQ(p) (1u << (p))

struct reconcile_ctx {
    const struct pipeline *p;     /* borrowed for the call */
    const struct spec *spec;      /* == &p->spec */
    cJSON *status;                /* working copy: update your section and condition */
    int64_t now_ms;               /* read once per reconcile */
    const struct sh_clock *clock; /* for loops that must measure inside */
    struct platform *platform;
    bool paused;                  /* spec.paused: act on nothing (dry run) */
    bool reset;                   /* the selfheal.dev/reset annotation changed: clear
                                     NeedsAttention state and attempt counters */
    bool action_in_flight;        /* in/out: see the coordination rule above */
    unsigned phase_requests;      /* out: PHASE_REQ(PHASE_RECOVERING) | ... */
    int64_t requeue_after_ms;     /* out: lower it (min) to be called again; 0 = not needed */
};

/* Lowers ctx->requeue_after_ms to ms (ignoring ms <= 0). */
static inline void reconcile_requeue_after(struct reconcile_ctx *ctx, int64_t ms)
{
    if (ms > 0 && (ctx->requeue_after_ms <= 0 || ms < ctx->requeue_after_ms))
        ctx->requeue_after_ms = ms;
}

/* Where loops that observe asynchronously (the prober, the supervisor, a
 * running retrain) send a pipeline key to have it reconciled again. Filled
 * in by reconcilers_all_set_notify after construction; constructors keep the
 * pointer (it is stable) and call it only when fn is set. */
struct reconciler_notify {
    void (*fn)(void *ctx, const char *key);
    void *ctx;
};

static inline void reconciler_notify_key(const struct reconciler_notify *n, const char *key)
{
    if (n && n->fn)
        n->fn(n->ctx, key);
}

struct reconciler {
    const char *name; /* "service" | "model" | "dataQuality" | "drift" */
    /* Reconciles one pipeline. Returns 0, or an SH_E* code: the manager then
     * requeues the key with backoff (the status changes made are still kept). */
    int (*reconcile)(void *self, struct reconcile_ctx *ctx);
    /* The pipeline was deleted: release what is held for key (processes,
     * probes). May be NULL. */
    void (*forget)(void *self, const char *key);
    /* Shutdown: stop what runs for every pipeline. May be NULL. */
    void (*shutdown)(void *self);
    void *self;
};

#endif
