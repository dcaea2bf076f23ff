/*
 * folder_source.h — the local spec source: every *.yaml / *.yml / *.json
 * file in a folder holds pipelines (several documents per file).
 *
 * A thread watches the folder with inotify; adding, editing (also editors
 * that write a new file and rename it over the old one) or deleting a file
 * is noticed at once: only the file an event names is read again (when its
 * writer closes it or renames it into place, never half-written), whatever
 * the number of files, and a full rescan runs every `resync_ms` as a safety
 * net. A file that fails to parse makes its pipelines Invalid (they keep
 * their names; a file never seen valid gives a pipeline named after the
 * file), and the others go on; one modified less than half a second ago
 * that provided pipelines keeps them as they were and is read again once
 * it has settled (a writer may be half-way through it).
 *
 * The local generation: a pipeline starts at generation 1; every change of
 * its spec increments it. Generations, uids and creation times survive
 * restarts through the state folder (state.h).
 *
 * Thread-safety: get/keys/has_synced may be called from any thread.
 */
#ifndef SH_FOLDER_SOURCE_H
#define SH_FOLDER_SOURCE_H

#include <stdint.h>

#include "base/clock.h"
#include "runtime/source.h"

struct folder_source_options {
    const char *specs_dir;        /* required */
    const char *state_dir;        /* required: generations persist there */
    const char *namespace_;       /* default namespace, "default" when NULL */
    const struct sh_clock *clock; /* NULL: the real clock */
    int64_t resync_ms;            /* full rescan period, default 10 s */
};

/* Creates the source (not started). Returns 0 and *ret (free with
 * ret->free), or SH_ENOMEM. */
int folder_source_new(const struct folder_source_options *opts, struct source **ret);

/* Rescans the folder now, synchronously (tests; the thread does it on its own). */
void folder_source_rescan(struct source *src);

/* Marks the file `name` (in the folder) as changed, as an inotify event
 * does; folder_source_read_changed then reads it, and only it (tests). */
void folder_source_mark_changed(struct source *src, const char *name);

/* Reads the files marked changed now, synchronously (tests; the thread does
 * it on its own). */
void folder_source_read_changed(struct source *src);

/* How many pipeline names the source keeps generation bookkeeping for:
 * the ones its files provide now (tests: nothing grows with every name ever
 * seen). */
size_t folder_source_tracked(struct source *src);

#endif
