/*
 * kube_platform.h — the Kubernetes implementation of platform.h.
 *
 * Status: load_status returns the status the informer's snapshot carries;
 * write_status sends a JSON merge patch of only what changed to the
 * /status subresource, with metadata.resourceVersion as a precondition: a
 * 409 re-reads the object and retries (bounded), so a write is never
 * computed against a status it did not see. delete_status only forgets the
 * cached base (the object is gone with its status).
 *
 * Events: core/v1 Events about the pipeline (involvedObject), source
 * component "selfheal". A repeat of the same type, reason and message for
 * the same object PATCHes count and lastTimestamp of the Event it created
 * instead of creating another (client-go's correlator, simplified); a
 * repeat whose Event has expired (404) creates a new one. Failures are
 * logged, never returned (events are best effort).
 *
 * Leader gate: with a gate, a replica that is not the leader writes
 * nothing, records no event and gets no actuators.
 *
 * All functions are safe to call from several workers at once.
 */
#ifndef SH_KUBE_PLATFORM_H
#define SH_KUBE_PLATFORM_H

#include <stdbool.h>

#include "base/clock.h"
#include "kube/client.h"
#include "runtime/platform.h"

struct kube_platform_options {
    struct kube_client *client;   /* borrowed */
    const struct sh_clock *clock; /* NULL: the real clock */
    const char *instance;         /* reportingInstance / source.host; NULL: the hostname */
    int conflict_retries;         /* re-reads after a 409, default 5 */
    bool (*is_leader)(void *ctx); /* gate; NULL: always acts */
    void *leader_ctx;
};

/* Creates the platform. Returns 0 and *ret, or SH_ENOMEM. */
int kube_platform_new(const struct kube_platform_options *o, struct platform **ret);

/* Registers the actuators of a loop (borrowed); before the manager starts. */
void kube_platform_set_actuators(struct platform *pf, const char *loop, const void *ops);

struct kube_platform_stats {
    unsigned long status_patches;  /* PATCH /status sent */
    unsigned long conflicts;       /* 409s answered by a re-read */
    unsigned long events_created;  /* POST */
    unsigned long events_repeated; /* PATCH of count */
    unsigned long refused;         /* writes refused as not the leader */
};
void kube_platform_stats(struct platform *pf, struct kube_platform_stats *ret);

/* NULL is a no-op. */
void kube_platform_free(struct platform *pf);

#endif
