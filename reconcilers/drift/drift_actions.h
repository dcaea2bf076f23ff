/*
 * drift_actions.h — what a successful retrain changes besides the status:
 *
 *   - the newest model version becomes current, only if its recorded
 *     metric ≥ minAccuracy (through the platform's "model" actuators,
 *     model/model_actuators.h: locally the registry folder, whose `current`
 *     symlink is swapped with a rename); otherwise the current one stays
 *     and the note says why;
 *   - the current data becomes the new reference: copied to a temporary
 *     file in the reference's folder, fsynced, renamed over the reference
 *     (readers see the old reference or the new one, never a mix), so the
 *     same drift does not trigger again.
 *
 * Called from the worker holding the pipeline's key.
 */
#ifndef SH_DRIFT_ACTIONS_H
#define SH_DRIFT_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/platform.h"
#include "runtime/pipeline.h"

/* Copies `src` over `dst` atomically. 0 or SH_EIO / SH_ENOMEM with *ret_err (owned). */
int drift_copy_atomic(const char *src, const char *dst, char **ret_err);

/*
 * Promotes the newest registry version of p when its recorded metric is at
 * least spec.model.minAccuracy. *ret_promoted tells whether `current`
 * changed; `version` gets the newest version's name ("" when none) and
 * `note` one sentence for events and logs. Returns 0 (promoted or
 * deliberately kept), SH_EINVAL when p names no registry (nothing to
 * promote: on a cluster, no Deployment), or another SH_E* code when the
 * registry could not be read or the swap failed (note says why).
 */
int drift_promote_newest(struct platform *pf, const struct pipeline *p, bool *ret_promoted,
                         char *version, size_t vsize, char *note, size_t nsize);

#endif
