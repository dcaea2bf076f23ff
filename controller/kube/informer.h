/*
 * informer.h — SelfHealingPipelines from the API server, as a `struct
 * source` (source.h) the manager consumes unchanged.
 *
 * A thread lists (paginated) and then watches from the list's
 * resourceVersion with allowWatchBookmarks and a random timeoutSeconds in
 * [300, 600] (as client-go's reflector). A watch that ends cleanly is
 * resumed at once from the last resourceVersion seen (events and
 * bookmarks); a failed one after a backoff of 800 ms doubling to 30 s (reset
 * once a watch delivers events again or ends cleanly); 410 Gone — as an HTTP status or as
 * an ERROR event — relists, and the relist is diffed against the cache so
 * deletions missed meanwhile are noticed.
 *
 * Notifications: a key is notified when its object appears, disappears
 * (source.h: get() then returns NULL, the manager forgets it), or changes in
 * a way that matters — generation, uid, labels, annotations (the reset
 * annotation) or deletionTimestamp. A change of status only (our own writes)
 * updates the cached snapshot silently: no reconcile storms. A resync
 * thread notifies every key each resync period.
 *
 * Leader election: kube_informer_set_active(false) keeps the cache warm but
 * sends no notifications; turning it on notifies every key.
 */
#ifndef SH_KUBE_INFORMER_H
#define SH_KUBE_INFORMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"
#include "kube/client.h"
#include "runtime/source.h"

#define KUBE_SHP_GROUP "selfheal.dev"
#define KUBE_SHP_VERSION "v1alpha1"
#define KUBE_SHP_PLURAL "selfhealingpipelines"
#define KUBE_SHP_KIND "SelfHealingPipeline"

struct kube_informer_options {
    struct kube_client *client;   /* borrowed, outlives the informer */
    const char *namespace_;       /* one namespace, or NULL / "": all */
    int64_t resync_ms;            /* default 600000 (10 min); < 0: never */
    int64_t backoff_ms;           /* default 800 */
    int64_t backoff_max_ms;       /* default 30000 */
    int watch_min_s, watch_max_s; /* timeoutSeconds range, default 300..600 */
    long page_size;               /* list limit, default 500 */
    size_t max_event_bytes;       /* one watch line, default 16 MiB */
    unsigned seed;                /* for timeoutSeconds; 0: from the time */
    bool inactive;                /* start with notifications off (leader election) */
};

/* Creates the informer (no thread yet; start() lists and starts it).
 * Returns 0 and *ret (free with ret->free), or SH_ENOMEM. */
int kube_informer_new(const struct kube_informer_options *o, struct source **ret);

/* Turns notifications on or off; turning on notifies every cached key. */
void kube_informer_set_active(struct source *src, bool active);

/* Counters for tests and logs. */
struct kube_informer_stats {
    unsigned long lists;   /* successful (re)lists */
    unsigned long watches; /* watch requests started */
    unsigned long events;  /* watch events applied (not bookmarks) */
    unsigned long notifies;
};
void kube_informer_stats(struct source *src, struct kube_informer_stats *ret);

/* The last resourceVersion seen (owned copy; "" before the first list). */
char *kube_informer_resource_version(struct source *src);

/* "/apis/selfheal.dev/v1alpha1/namespaces/NS/selfhealingpipelines/NAME" +
 * ("/" + sub when sub is non-NULL) into buf. Returns buf. */
char *kube_shp_path(char *buf, size_t size, const char *namespace_, const char *name,
                    const char *sub);

#endif
