/*
 * fsutil.h — small file-system helpers shared by the controller: create a
 * folder path, read a whole file with a size ceiling, make a random UUID.
 * Stateless; any thread.
 */
#ifndef SH_FSUTIL_H
#define SH_FSUTIL_H

#include <stddef.h>

/* Creates `path` and its missing parents (mode 0755). Returns 0 or SH_EIO
 * (errno tells why). */
int fs_mkdir_p(const char *path);

/*
 * Reads a whole file of at most `max` bytes. Returns 0 with *ret_data
 * (owned, NUL-terminated) and *ret_len, SH_ETOOBIG when larger, SH_EIO when
 * it cannot be read (errno tells why), SH_ENOMEM.
 */
int fs_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len);

/* Writes a random RFC 4122 version-4 UUID into buf (at least 37 bytes). */
void fs_uuid4(char *buf);

/* Returns the parent folder of path ("." when none) as an owned string, or NULL. */
char *fs_dirname(const char *path);

/*
 * Makes a write beyond RLIMIT_FSIZE fail with EFBIG (reported like a full
 * disk) instead of raising SIGXFSZ, whose default action kills the process
 * — the controller, with every pipeline. Only a default action is replaced;
 * children reset their signals before exec (proc.c).
 * Called by the writers (atomicfile.c, the data fix's backup copies in
 * reconcilers/data/backup.c, drift's reference copy) before they write.
 */
void fs_ignore_sigxfsz(void);

#endif
