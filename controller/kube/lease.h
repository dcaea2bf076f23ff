/*
 * lease.h — leader election on a coordination.k8s.io/v1 Lease, as
 * client-go's leaderelection does it (lease 15 s, renew deadline 10 s,
 * retry 2 s by default).
 *
 * A candidate reads the Lease every retry period and takes it (PUT with the
 * resourceVersion it read, so two candidates cannot both win) when it is
 * free: absent, released (empty holderIdentity), or not renewed for
 * leaseDurationSeconds as measured on OUR clock since we last saw the record
 * change (no trust in the other host's clock). The leader renews every
 * retry period; when it has not renewed for the renew deadline it stops
 * leading — before its lease can expire for the others — and goes back to
 * being a candidate. lease_elector_is_leader() also checks the deadline
 * itself, so a renew call that hangs cannot keep a stale leader acting.
 * On clean shutdown the leader releases the Lease (holderIdentity "").
 *
 * Time comes from the injected clock — expiry and the renew deadline on its
 * monotonic face (an NTP step never shortens or stretches a lease), the
 * record's renewTime/acquireTime on its wall face; lease_elector_step is one attempt, so
 * tests drive it with a fake clock and a fake backend. The Lease store is a
 * backend (get/create/update) so the logic does not depend on HTTP;
 * lease_backend_kube is the API server's.
 *
 * Thread-safety: step, release and the thread are for one thread at a time;
 * is_leader may be called from any thread.
 */
#ifndef SH_KUBE_LEASE_H
#define SH_KUBE_LEASE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"
#include "kube/client.h"

/* Where the Lease lives. Every function returns 0 or an SH_E* code with
 * *ret_err (owned); get returns SH_ENOTFOUND when there is none, update
 * SH_ECONFLICT when the resourceVersion is stale. *ret: owned object. */
struct lease_backend {
    int (*get)(void *ctx, cJSON **ret, char **ret_err);
    int (*create)(void *ctx, const cJSON *lease, cJSON **ret, char **ret_err);
    int (*update)(void *ctx, const cJSON *lease, cJSON **ret, char **ret_err);
    void *ctx;
};

/* The Lease namespace/name on the API server through client. */
struct lease_kube_target {
    struct kube_client *client;
    char collection[512]; /* /apis/coordination.k8s.io/v1/namespaces/NS/leases */
    char path[768];       /* .../NAME */
};
void lease_backend_kube(struct lease_backend *b, struct lease_kube_target *t,
                        struct kube_client *client, const char *namespace_, const char *name);

struct lease_elector_options {
    const char *namespace_;       /* of the Lease */
    const char *name;             /* of the Lease */
    const char *identity;         /* holderIdentity; NULL: hostname_uuid */
    int64_t lease_ms;             /* default 15000 */
    int64_t renew_deadline_ms;    /* default 10000 */
    int64_t retry_ms;             /* default 2000 */
    const struct sh_clock *clock; /* NULL: the real clock */
    void (*on_started)(void *ctx); /* became leader (elector thread) */
    void (*on_stopped)(void *ctx); /* stopped leading: lost, or released */
    void *cb_ctx;
};

struct lease_elector;

/* Creates an elector (backend copied). Returns 0 and *ret, SH_EINVAL (the
 * renew deadline must be shorter than the lease, the retry shorter than the
 * deadline) or SH_ENOMEM. */
int lease_elector_new(const struct lease_elector_options *o, const struct lease_backend *b,
                      struct lease_elector **ret);

/* One attempt to acquire or renew at the clock's now; fires the callbacks
 * on a change. Returns the delay in ms before the next attempt. */
int64_t lease_elector_step(struct lease_elector *le);

/* True while leading and renewed within the renew deadline. Any thread. */
bool lease_elector_is_leader(struct lease_elector *le);

/* The identity this elector writes (borrowed). */
const char *lease_elector_identity(const struct lease_elector *le);

/* Gives the Lease up if held (holderIdentity "", leaseDurationSeconds 1)
 * and fires on_stopped. Returns 0 or the update's error. */
int lease_elector_release(struct lease_elector *le);

/* Runs step in a thread (waits in real time between attempts). */
int lease_elector_start(struct lease_elector *le);

/* Stops the thread; releases the Lease when `release`. */
void lease_elector_stop(struct lease_elector *le, bool release);

/* Stops (without release) and frees. NULL is a no-op. */
void lease_elector_free(struct lease_elector *le);

#endif
