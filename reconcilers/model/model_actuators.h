/*
 * model_actuators.h — what the model loop does to the world, per platform
 * (platform->actuators(pf, "model")): read which model versions exist with
 * their recorded metric and which one is active, and make another one
 * active.
 *
 * Local: a registry folder (controller/local/registry.h), registered by the
 * wiring with local_platform_set_actuators(pf, "model",
 * registry_model_actuators()). Kubernetes: the Deployment's revisions.
 *
 * Called from the worker holding the pipeline's key; implementations must be
 * safe for concurrent calls on different pipelines.
 */
#ifndef SH_MODEL_ACTUATORS_H
#define SH_MODEL_ACTUATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "model/model_decide.h"
#include "runtime/pipeline.h"

#define MODEL_MADE_MAX 512

struct model_registry_view {
    struct model_version *versions;  /* owned (free()); natural order, oldest first */
    size_t count;
    char current[MODEL_VERSION_MAX]; /* the active version, "" when unknown */
    char error[512];                 /* what could not be read; "" when everything was */
    bool workload_missing;           /* kube: the Deployment the spec names does not exist (a
                                        configuration error, said in error) */
    char made[MODEL_MADE_MAX];       /* the note the newest activate left with the workload
                                        (kube: its annotation selfheal.dev/rollback), "" when
                                        none or the platform keeps none (local) */
};

struct model_actuators {
    /*
     * Reads p's model versions and the active one into *ret (always
     * initialised; release with model_registry_view_free). Returns 0 when
     * the versions were listed (ret->error may still say the active one is
     * unknown: a broken `current` link), or an SH_E* code with ret->error:
     * SH_EINVAL when p's spec names no registry at all (kube: no Deployment).
     */
    int (*observe)(const struct model_actuators *ma, const struct pipeline *p,
                   struct model_registry_view *ret);

    /* Makes `version` p's active model version. `note` (may be NULL) is
     * kept with the change where the platform can, in the same write (kube:
     * the Deployment's annotation selfheal.dev/rollback), and read back by
     * observe as view.made: a controller that stops between the change and
     * its status write leaves its successor the record. Returns 0, or an
     * SH_E* code with *ret_err (owned). */
    int (*activate)(const struct model_actuators *ma, const struct pipeline *p,
                    const char *version, const char *note, char **ret_err);

    /* Activation itself restarts what serves the model (kube: a new pod
     * template rolls the pods), so rollback.reload has nothing to add. */
    bool activate_reloads;

    void *impl;
};

static inline void model_registry_view_free(struct model_registry_view *v)
{
    free(v->versions);
    v->versions = NULL;
    v->count = 0;
}

#endif
