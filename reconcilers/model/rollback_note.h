/*
 * rollback_note.h — the note a rollback leaves with the workload it changes
 * (model_actuators.h: activate's `note`, observe's view.made; on a cluster the
 * Deployment's annotation selfheal.dev/rollback), so that a controller which
 * stops between the change and its status write (SIGKILL, lost leadership)
 * leaves its successor the record. Compact JSON:
 *
 *   {"uid":"…","basis":1764874800250,"at":1764874815000,"from":"v2","to":"v1"}
 *
 * basis is the pipeline's newest recorded rollback (status lastRollbackTime,
 * in ms; 0 none) when this one was made: once the rollback is recorded, the
 * status moves past it and the note no longer matches.
 */
#ifndef SH_ROLLBACK_NOTE_H
#define SH_ROLLBACK_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model_decide.h"

struct rollback_note {
    char uid[128];
    int64_t basis_ms;
    int64_t at_ms;
    char from[MODEL_VERSION_MAX];
    char to[MODEL_VERSION_MAX];
};

/* Writes n as compact JSON into buf. 0, or SH_ENOMEM / SH_EINVAL (too long). */
int rollback_note_format(const struct rollback_note *n, char *buf, size_t size);

/* Reads a note; false when text is not one (empty, malformed, a field
 * missing or too long). */
bool rollback_note_parse(const char *text, struct rollback_note *ret);

/* Whether n is a rollback of the pipeline `uid` that its status does not
 * record: made on top of the status's newest rollback (last_rollback_ms),
 * after it, and the workload still on its target (`current`). */
bool rollback_note_unrecorded(const struct rollback_note *n, const char *uid,
                              int64_t last_rollback_ms, const char *current);

#endif
