/*
 * atomicfile.h — replacing a file's content atomically.
 *
 * The new content goes to a temporary file in the same folder
 * (".<base>.tmp.<pid>.<n>"), is flushed to disk, then renamed over the
 * target and the folder is flushed too: readers see the old content or the
 * new, never a mix, and a crash leaves one of them. Any thread.
 *
 * A process killed in the middle leaves its hidden temporary behind; the
 * first write of a process into a folder removes the ".<name>.tmp.<pid>.<n>"
 * files there whose process is gone (ignoring the rest), so they do not pile
 * up over crashes.
 */
#ifndef SH_ATOMICFILE_H
#define SH_ATOMICFILE_H

#include <stddef.h>

/*
 * Writes len bytes of data to path (mode 0644 before umask) atomically.
 * Returns 0, or SH_EIO with errno telling why; on failure the temporary file
 * is removed and, unless only the final folder flush failed, path keeps its
 * old content.
 */
int atomic_file_write(const char *path, const void *data, size_t len);

/* Same with a NUL-terminated string. */
int atomic_file_write_str(const char *path, const char *s);

#endif
