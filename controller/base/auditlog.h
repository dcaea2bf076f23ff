/*
 * auditlog.h — the brief's audit files, one mechanism for all of them: a
 * JSON document rewritten whole on each update (atomicfile.h, so a crash
 * never leaves a half-written log), updates serialised between threads (a
 * process mutex) and processes (flock on "<path>.lock" beside the log), a
 * file that is not of the log's format kept aside as "<path>.corrupt" and a
 * new document started, reads capped at 64 MiB.
 *
 * The format is the user's (struct auditlog_format): JSON arrays of action
 * records (monitoring/recovery_log.json, models/rollback_log.json) through
 * auditlog_append / auditlog_read below, so that `jq '.[-5:]' FILE` works;
 * the retraining log's object (reconcilers/drift/retrain_log.h) through
 * auditlog_update / auditlog_load. Any thread.
 */
#ifndef SH_AUDITLOG_H
#define SH_AUDITLOG_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* What a log's document is. Static data; the functions must not fail but by
 * returning false / NULL. */
struct auditlog_format {
    bool (*valid)(const cJSON *doc); /* doc parsed from the file (maybe NULL) */
    cJSON *(*create)(void);          /* an empty document (owned), NULL: no memory */
    const char *invalid;             /* why a file is refused: "not a JSON array" */
    bool aside_unreadable;           /* also keep aside a file that cannot be read */
};

/* The format of auditlog_append / auditlog_read: an array. */
extern const struct auditlog_format auditlog_array;

/*
 * Reads the document in path: 0 with *ret (owned; fmt->create() when the
 * file does not exist), or SH_EIO / SH_ENOMEM (the file cannot be read) or
 * SH_EPARSE (it is not of the format) with *ret_err (owned, optional).
 */
int auditlog_load(const char *path, const struct auditlog_format *fmt, cJSON **ret,
                  char **ret_err);

/*
 * Updates the log at path (folders created as needed), under the locks:
 * reads it (a file that is not of the format, or that cannot be read when
 * fmt->aside_unreadable, is kept aside as `path.corrupt` with *ret_warn,
 * owned, when ret_warn is given, and a new document started), calls
 * edit(doc, arg) on it (doc borrowed for the call; 0 or an SH_E* code, then
 * nothing is written) and writes it back atomically. Returns 0 or an SH_E*
 * code with *ret_err (owned) when there is a message to give.
 */
int auditlog_update(const char *path, const struct auditlog_format *fmt,
                    int (*edit)(cJSON *doc, void *arg), void *arg, char **ret_err,
                    char **ret_warn);

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
