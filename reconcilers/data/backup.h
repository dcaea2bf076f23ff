/*
 * backup.h — the data fix's backups, its own policy on top of the atomic
 * replacement (base/atomicfile.h): before a data file is replaced, the
 * original is kept as `<file>.bak.<UTC YYYYMMDDTHHMMSSZ>` (a hard link when
 * the file system allows, else a flushed copy; "-N" is appended when that
 * name exists), and backups beyond the newest `keep` are removed. One thread
 * per file.
 */
#ifndef SH_DATA_BACKUP_H
#define SH_DATA_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Backs up path (a regular file, its name already resolved) at now_ms; a copy
 * gets `mode`. Returns the backup's name (owned), or NULL with errno.
 */
char *data_backup_make(const char *path, int64_t now_ms, mode_t mode);

/* Removes backups of path beyond the newest `keep` (keep ≥ 0). Returns the
 * number removed, or SH_EIO when the folder cannot be read. */
int data_backup_prune(const char *path, int keep);

/* Formats the backup name of path at now_ms ("<path>.bak.20260101T120000Z"). */
void data_backup_name(const char *path, int64_t now_ms, char *buf, size_t size);

#endif
