/*
 * auditlog.h — the brief's audit logs: JSON arrays of action records
 * (monitoring/recovery_log.json, models/rollback_log.json), so that
 * `jq '.[-5:]' FILE` works. Appends are atomic (the whole file is rewritten
 * to a temp file and renamed) and serialised between threads and processes
 * (a lock file beside the log), so a crash never leaves a half-written log.
 */
#ifndef SH_AUDITLOG_H
#define SH_AUDITLOG_H

#include <cjson/cJSON.h>
#include <stddef.h>

/*
 * Appends a copy of `entry` to the array in `path` (folders created as
 * needed). A file that exists but is not a JSON array is kept aside as
 * `path.corrupt` and a new array is started (the error is reported in
 * *ret_warn, owned, when ret_warn is given). At most `max_entries` newest
 * entries are kept (0: no limit). Returns 0 or an SH_E* code with *ret_err
 * (owned).
 */
int auditlog_append(const char *path, const cJSON *entry, size_t max_entries, char **ret_err,
                    char **ret_warn);

/* Reads the array in `path`: an owned cJSON array (empty when the file does
 * not exist), or NULL with *ret_err when it cannot be read or parsed. */
cJSON *auditlog_read(const char *path, char **ret_err);

#endif
