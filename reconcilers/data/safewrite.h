/*
 * safewrite.h — replacing a data file safely, in the order DESIGN.md asks:
 * a backup of the original first (`<file>.bak.<UTC YYYYMMDDTHHMMSSZ>`, a
 * hard link when the file system allows, else a flushed copy; "-N" is
 * appended when that name exists), then the new content streamed to a
 * temporary file in the same folder (".<base>.fixtmp.<pid>"), flushed,
 * given the original's mode and renamed over the original, and the folder
 * flushed. A crash at any point leaves the original or the complete new
 * file. Old backups beyond `keep` are removed (newest kept), and temporary
 * files left by killed runs are cleaned up. One thread per writer.
 */
#ifndef SH_DATA_SAFEWRITE_H
#define SH_DATA_SAFEWRITE_H

#include <stddef.h>
#include <stdint.h>

struct safewrite;

/*
 * Backs up `path` (a regular file; symlinks resolved) when keep > 0 and opens
 * the temporary file. Returns 0 and *ret, or SH_EIO / SH_ENOMEM with *ret_err.
 */
int safewrite_begin(const char *path, int64_t now_ms, int keep, struct safewrite **ret,
                    char **ret_err);

/* Appends bytes (buffered). 0 or SH_EIO (kept until commit reports it). */
int safewrite_put(struct safewrite *w, const void *p, size_t n);

/* Flushes, renames over the original, prunes old backups. Returns 0 or
 * SH_EIO with *ret_err (the original is then untouched and the backup made
 * by begin removed). Frees w in every case. */
int safewrite_commit(struct safewrite *w, char **ret_err);

/* Gives up: removes the temporary file and the backup; frees w. NULL ok. */
void safewrite_abort(struct safewrite *w);

/* The backup made by begin (borrowed until commit/abort), or NULL. */
const char *safewrite_backup(const struct safewrite *w);

/* Bytes written so far. */
uint64_t safewrite_bytes(const struct safewrite *w);

/* Removes backups of path beyond the newest `keep` (keep ≥ 0). Returns the
 * number removed, or SH_EIO when the folder cannot be read. */
int safewrite_prune_backups(const char *path, int keep);

/* Formats the backup name of path at now_ms ("<path>.bak.20260101T120000Z"). */
void safewrite_backup_name(const char *path, int64_t now_ms, char *buf, size_t size);

#endif
