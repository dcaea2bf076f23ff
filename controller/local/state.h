/*
 * state.h — the local platform's state folder (default `.selfheal/` beside
 * the specs folder):
 *
 *   <state>/pipelines/<namespace>/<name>.json   one document per pipeline:
 *        apiVersion, kind, metadata (name, namespace, uid, generation,
 *        creationTimestamp, annotations), spec, status, and "source" (the
 *        spec file). This is what `selfheal status` and `selfheal get` read.
 *   <state>/events.jsonl                         events, one JSON per line
 *   <state>/logs/                                supervised process output
 *
 * Every file is written to a temp file and renamed, so readers (the CLI,
 * another process) never see half a document. Safe for concurrent calls on
 * different keys.
 */
#ifndef SH_LOCAL_STATE_H
#define SH_LOCAL_STATE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "runtime/pipeline.h"

/* Formats the document path of key ("ns/name") into buf. 0 or SH_EINVAL. */
int local_state_path(const char *state_dir, const char *key, char *buf, size_t size);

/* Reads the document of key: owned, or NULL when absent or unreadable. */
cJSON *local_state_read(const char *state_dir, const char *key);

/* Writes the document for p with the given status (borrowed). Returns 0 or
 * an SH_E* code with *ret_err (owned). */
int local_state_write(const char *state_dir, const struct pipeline *p, const cJSON *status,
                      char **ret_err);

/* Removes the document of key (absent is fine). 0 or SH_EIO. */
int local_state_delete(const char *state_dir, const char *key);

/* Reads all documents, sorted by namespace then name, as an owned array.
 * A missing folder gives an empty array. NULL on allocation failure. */
cJSON *local_state_list(const char *state_dir);

/* Appends an event line to <state>/events.jsonl (rotated at 1 MiB to .1). */
void local_state_event(const char *state_dir, const struct pipeline *p, const char *type,
                       const char *reason, const char *message, long long now_ms);

#endif
