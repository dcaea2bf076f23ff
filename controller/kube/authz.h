/*
 * authz.h — who may read the controller's HTTP API on a cluster: the bearer
 * token of a request is checked with the Kubernetes API, the way
 * controller-runtime's secure metrics serving and kube-rbac-proxy do:
 *
 *   TokenReview (authentication.k8s.io/v1)  is the token valid, whose is it?
 *   SubjectAccessReview (authorization.k8s.io/v1)  may that user `get`
 *       selfhealingpipelines.selfheal.dev in the pipeline's namespace (the
 *       list and the event stream: in every namespace, namespace ""), or
 *       `get` the non-resource path /metrics?
 *
 * Decisions (allowed, 401, 403) are cached for ttl_ms (default 10 s) per
 * token, namespace and path kind, at most 1024 entries (all dropped when
 * full); a failed check (the API unreachable) is a 503 and not cached.
 * Tokens are kept in memory only, in the cache, and never logged.
 * The controller needs `create` on tokenreviews and subjectaccessreviews
 * (manifests/rbac.yaml). kube_authz_check may be called from any thread.
 */
#ifndef SH_KUBE_AUTHZ_H
#define SH_KUBE_AUTHZ_H

#include <stddef.h>
#include <stdint.h>

struct kube_client;
struct sh_clock;
struct kube_authz;

/* A checker over client (borrowed; must outlive it). clock NULL: the real
 * one; ttl_ms 0: 10 s. Returns NULL when memory runs out. */
struct kube_authz *kube_authz_new(struct kube_client *client, const struct sh_clock *clock,
                                  int64_t ttl_ms);

/* The http_authorize_fn of server/httpserver.h (ctx is the kube_authz). */
int kube_authz_check(void *ctx, const char *token, const char *namespace_, const char *path,
                     char *why, size_t whysize);

/* Calls to the API server so far (TokenReviews + SubjectAccessReviews): the
 * cache's effect, for tests. */
uint64_t kube_authz_calls(struct kube_authz *a);

/* NULL is a no-op. */
void kube_authz_free(struct kube_authz *a);

#endif
