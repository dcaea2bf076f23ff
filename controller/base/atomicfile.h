/*
 * atomicfile.h — replacing a file's content atomically: the one writer of
 * the status files, the audit logs, the registry's `current` link and the
 * data fix (which adds its own backups first, reconcilers/data/backup.h).
 *
 * The new content goes to a temporary file in the same folder
 * (".<base>.tmp.<pid>.<n>"), is flushed to disk, then renamed over the
 * target and the folder is flushed too: readers see the old content or the
 * new, never a mix, and a crash leaves one of them. Any thread; one thread
 * per struct atomic_file.
 *
 * A process killed in the middle leaves its hidden temporary behind; writes
 * remove the ".<name>.tmp.<pid>.<n>" files (and ".<name>.fixtmp.<pid>", the
 * name earlier data fixes used) whose process is gone, ignoring the rest, so
 * they do not pile up over crashes: atomic_file_write once per folder and
 * process (status files are written often), atomic_file_begin at every call
 * (its files are data sets, and their temporaries as large).
 *
 * A stream (atomic_file_begin) starts the writeback of what it has written
 * every 8 MiB (sync_file_range, Linux): the fsync before the rename waits
 * for the tail only (63 MB: 31 ms → 3 ms), the guarantee is the same.
 */
#ifndef SH_ATOMICFILE_H
#define SH_ATOMICFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Writes len bytes of data to path (mode 0644 before umask) atomically.
 * Returns 0, or SH_EIO with errno telling why; on failure the temporary file
 * is removed and, unless only the final folder flush failed, path keeps its
 * old content.
 */
int atomic_file_write(const char *path, const void *data, size_t len);

/*
 * atomic_file_write with the folder flush deferred (group commit): the
 * content is flushed and renamed into place before it returns — every
 * reader, and a controller restarted after a crash, sees the new file,
 * complete — but the folder's entry is flushed by the next
 * atomic_file_flush_folders (one fsync for every rename into that folder
 * since the last), so a power loss or kernel crash before it may bring back
 * the previous content, complete too. Used for status files (local/state.c,
 * whose owner flushes every 50 ms and at shutdown). Returns as
 * atomic_file_write; with more than 64 folders pending, flushes at once.
 */
int atomic_file_write_deferred(const char *path, const void *data, size_t len);

/* Flushes every folder with deferred renames (those made before the call).
 * Returns 0, or SH_EIO with the errno of the first failure; any thread. */
int atomic_file_flush_folders(void);

/* How many folders have deferred renames not yet flushed. */
size_t atomic_file_pending_folders(void);

/* Same with a NUL-terminated string. */
int atomic_file_write_str(const char *path, const char *s);

/*
 * Replaces the symlink (or file) at path with a symlink to target, atomically
 * (a temporary link renamed over it, then the folder flushed, best effort).
 * Returns 0, or SH_EIO with errno and, in *ret_step when given, "create"
 * (the temporary link could not be made) or "replace" (the rename failed;
 * path is untouched).
 */
int atomic_file_symlink(const char *target, const char *path, const char **ret_step);

/* A replacement written in pieces (begin, put…, commit or abort). */
struct atomic_file;

/* For atomic_file_begin: 0644 before umask, as atomic_file_write. */
#define ATOMIC_FILE_MODE_DEFAULT (-1)

/*
 * Opens the temporary file that will replace path. mode: the permission bits
 * the new file gets exactly (umask does not apply; the temporary is private
 * until then), or ATOMIC_FILE_MODE_DEFAULT. Returns 0 and *ret (owned: end
 * it with atomic_file_commit or atomic_file_abort), SH_ENOMEM, or SH_EIO
 * with errno (EISDIR when path ends in '/').
 */
int atomic_file_begin(const char *path, int mode, struct atomic_file **ret);

/* Appends n bytes (buffered). Returns 0, or SH_EIO once a write has failed
 * (the failure sticks and commit reports it with its errno). */
int atomic_file_put(struct atomic_file *f, const void *p, size_t n);

/* Bytes put so far. */
uint64_t atomic_file_bytes(const struct atomic_file *f);

/*
 * Flushes the content, renames it over path and flushes the folder; frees f
 * in every case. Returns 0, or SH_EIO with errno. *ret_replaced (optional)
 * says whether path now has the new content: false on failure (path keeps
 * its old content, the temporary is removed), true when only the folder
 * flush failed.
 */
int atomic_file_commit(struct atomic_file *f, bool *ret_replaced);

/* Gives up: removes the temporary file and frees f; path is untouched. NULL ok. */
void atomic_file_abort(struct atomic_file *f);

#endif
