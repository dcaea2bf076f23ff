/*
 * registry.h — the local model registry folder (DESIGN.md "Rollback"):
 *
 *   <registry>/<version>/metrics.json   each version's recorded metric
 *   <registry>/current -> <version>     the active version (a symlink)
 *
 * Versions are the sub-folders (names starting with '.' and "current" are
 * not versions), ordered by the natural order of their names (v9 < v10,
 * 1.2 < 1.10). A version's recorded metric is the number under the spec's
 * metric name in its metrics.json, else under "accuracy"; a version without
 * one is listed but can never be a rollback target.
 *
 * Activating a version creates a new symlink beside `current` and rename()s
 * it over `current`: readers see the old version or the new one, never a
 * missing link. It also provides the local platform's model actuators
 * (model/model_actuators.h) on top of these functions.
 *
 * Stateless; any thread (activations of one registry from several threads
 * are each atomic; the last one wins).
 */
#ifndef SH_LOCAL_REGISTRY_H
#define SH_LOCAL_REGISTRY_H

#include <stddef.h>

#include "model/model_actuators.h"
#include "model/model_decide.h"

#define REGISTRY_CURRENT "current"
#define REGISTRY_METRICS_FILE "metrics.json"
#define REGISTRY_MAX_VERSIONS 10000

/* Natural order of names: runs of digits compare as numbers, everything
 * else byte by byte; equal names by this rule fall back to strcmp. */
int registry_natural_cmp(const char *a, const char *b);

/*
 * Lists the versions of the registry at dir, oldest first, with their
 * recorded metric (`metric_name` NULL means "accuracy"). Returns 0 with
 * *ret (owned, free()) and *ret_count, or an SH_E* code with *ret_err
 * (owned): SH_ENOTFOUND when dir does not exist, SH_EIO, SH_ETOOBIG.
 */
int registry_list(const char *dir, const char *metric_name, struct model_version **ret,
                  size_t *ret_count, char **ret_err);

/*
 * Reads which version `current` points to into name. Returns 0,
 * SH_ENOTFOUND when there is no `current`, SH_EINVAL when it is not a
 * symlink, its target is missing (a broken link) or is not a version folder
 * of this registry; *ret_err (owned) says which.
 */
int registry_current(const char *dir, char *name, size_t size, char **ret_err);

/*
 * Makes `version` (an existing version folder of dir) current, atomically.
 * Returns 0, SH_ENOTFOUND when there is no such version, SH_EINVAL for a
 * name that cannot be a version, SH_EIO; *ret_err (owned) says why.
 */
int registry_activate(const char *dir, const char *version, char **ret_err);

/* The model actuators of the local platform, on registries named by each
 * pipeline's spec.model.rollback.registry.path (static, never freed). */
const struct model_actuators *registry_model_actuators(void);

#endif
