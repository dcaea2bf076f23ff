/*
 * secrets.h — reads keys of Kubernetes Secrets for the specs' secretKeyRef
 * references (runtime/credentials.h), with a short cache.
 *
 *   GET /api/v1/namespaces/NS/secrets/NAME   (RBAC: `get` on secrets)
 *
 * A Secret read is kept ttl_ms (default 30 s): a rotated value is used within
 * that; a missing Secret or an error is not cached, so a Secret created
 * after the pipeline is used at the next reconcile. At most 256 Secrets are
 * cached (all dropped when full). Values live only in this cache and in the
 * requests; messages name the Secret and key ("Secret ml/prom has no key
 * \"token\""), never a value.
 *
 * Self-contained: anything that needs a Secret's key (metric sources,
 * health checks, notification webhooks) may share one reader through
 * kube_secrets_reader(). Thread-safe.
 */
#ifndef SH_KUBE_SECRETS_H
#define SH_KUBE_SECRETS_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/credentials.h"

struct kube_client;
struct sh_clock;
struct kube_secrets;

/* A reader over client (borrowed; must outlive it). clock NULL: the real
 * one; ttl_ms 0: 30 s. NULL when memory runs out. */
struct kube_secrets *kube_secrets_new(struct kube_client *client, const struct sh_clock *clock,
                                      int64_t ttl_ms);

/*
 * Reads `key` of Secret ns/name: 0 and an owned NUL-terminated value in
 * *ret (*ret_len bytes), or SH_ENOTFOUND (no such Secret or key),
 * SH_EFORBIDDEN (RBAC), SH_ETOOBIG, another SH_E* code, with a message in
 * err (never the value).
 */
int kube_secrets_get(struct kube_secrets *ks, const char *ns, const char *name, const char *key,
                     char **ret, size_t *ret_len, char *err, size_t errsize);

/* The runtime/credentials.h reader backed by ks (borrowed; secrets_only). */
const struct secret_reader *kube_secrets_reader(struct kube_secrets *ks);

/* API calls made so far (the cache's effect, for tests). */
uint64_t kube_secrets_calls(struct kube_secrets *ks);

/* NULL is a no-op. */
void kube_secrets_free(struct kube_secrets *ks);

#endif
