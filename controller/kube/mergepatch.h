/*
 * mergepatch.h — JSON merge patches (RFC 7386) computed between two
 * documents, for status writes that send only what changed.
 * Stateless; any thread.
 */
#ifndef SH_KUBE_MERGEPATCH_H
#define SH_KUBE_MERGEPATCH_H

#include <cjson/cJSON.h>

/*
 * The merge patch that turns `from` into `to`: members of objects that
 * differ are recursed into, members only in `from` become null, anything
 * else that differs (arrays, scalars, type changes) is replaced whole.
 * `from` may be NULL (the patch is a copy of `to`). Returns an owned
 * object, empty when the two are equal, or NULL (no memory). `to` must be
 * an object.
 */
cJSON *kube_merge_diff(const cJSON *from, const cJSON *to);

/* Applies a merge patch to `target` in place (RFC 7386); returns 0 or
 * SH_ENOMEM. Used by tests to check diff + apply round-trips. */
int kube_merge_apply(cJSON *target, const cJSON *patch);

#endif
