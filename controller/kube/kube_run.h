/*
 * kube_run.h — the Kubernetes side of `selfheal run`, in one call for
 * cmd_run.c: load the config, make the clients, the informer (the source),
 * the kube platform and, with leader election, the Lease elector that gates
 * both (a standby replica keeps its cache warm but reconciles nothing,
 * writes nothing, records no event and gets no actuators).
 *
 * Order in cmd_run: kube_run_setup → (reconcilers, manager on the returned
 * source and platform) → manager_start → kube_run_start → wait for a signal
 * → manager_stop → kube_run_stop (releases the Lease) → kube_run_free.
 */
#ifndef SH_KUBE_RUN_H
#define SH_KUBE_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"
#include "runtime/platform.h"
#include "runtime/source.h"

struct kube_run_options {
    const char *kubeconfig;      /* --kubeconfig, or NULL (then $KUBECONFIG, in-cluster, ~/.kube/config) */
    const char *context;         /* --context, or NULL */
    bool in_cluster;             /* force the service-account config */
    const char *namespace_;      /* --namespace: watch one namespace; NULL/"": all */
    bool leader_elect;           /* --leader-elect */
    const char *lease_namespace; /* --leader-elect-namespace; NULL: the config's namespace */
    const char *lease_name;      /* NULL: "selfheal-leader" */
    const char *identity;        /* NULL: hostname_uuid */
    int64_t lease_ms, renew_deadline_ms, retry_ms; /* 0: 15000, 10000, 2000 */
    int64_t resync_ms;           /* 0: 10 min */
    const struct sh_clock *clock; /* NULL: the real clock */
};

struct kube_run;

/*
 * Sets everything up (no thread runs yet; the informer starts with
 * manager_start). Returns 0 with *ret, and *ret_src / *ret_pf borrowed from
 * it (valid until kube_run_free), or an SH_E* code with *ret_err (owned),
 * e.g. `kubeconfig ~/.kube/config: context "x" not found`.
 */
int kube_run_setup(const struct kube_run_options *o, struct kube_run **ret,
                   struct source **ret_src, struct platform **ret_pf, char **ret_err);

/* Called (from the elector's thread) each time this replica starts leading,
 * before the keys missed while standing by are queued: the manager's
 * manager_resync. Set before kube_run_start. */
void kube_run_on_leading(struct kube_run *kr, void (*fn)(void *ctx), void *ctx);

/* Starts leader election (no-op without it). 0 or SH_ENOMEM. */
int kube_run_start(struct kube_run *kr);

/* Stops leader election and releases the Lease if held. */
void kube_run_stop(struct kube_run *kr);

/* A one-line description for the start-up log: "https://..., context X,
 * namespace all, leader election on lease ns/name as ID". Borrowed. */
const char *kube_run_describe(const struct kube_run *kr);

/* True when this replica may act (leader, or no leader election). */
bool kube_run_is_leader(struct kube_run *kr);

/* Reads data[key] of the Secret namespace_/name (GET, base64-decoded): the
 * notifier's secretKeyRef (server/notify.h notify_secret_fn; ctx is the
 * kube_run). Returns 0 and *ret_value (owned), or an SH_E* code with
 * *ret_err (owned), which never holds the value. */
int kube_run_read_secret(void *kr, const char *namespace_, const char *name, const char *key,
                         char **ret_value, char **ret_err);

/* Frees everything (stops first). NULL is a no-op. */
/* The API client (borrowed, lives as long as kr): for the HTTP API's
 * TokenReviews and SubjectAccessReviews (authz.h). */
struct kube_client *kube_run_client(struct kube_run *kr);

void kube_run_free(struct kube_run *kr);

#endif
