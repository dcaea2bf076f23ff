/*
 * retrain_log.h — the brief's `.github/triggers/retraining_log.json`, the
 * retraining audit trail and cooldown record shared by the drift
 * reconciler and `selfheal retrain`:
 *
 *   {"last_retrain_time": "2026-11-28T18:00:00Z",
 *    "events": [{"timestamp": "2026-11-28T18:00:00.250Z",
 *                "trigger": "controller" | "cli",
 *                "pipeline": "default/housing",
 *                "drift_score": 0.85, "threshold": 0.5,
 *                "status": "triggered" | "started" | "succeeded" | "failed" | "skipped",
 *                "reason": "...", "drifted_features": ["..."],
 *                "command": ["python", "train.py"], "exit_code": 0,
 *                "duration_seconds": 12.5, "model_version": "v3",
 *                "model": "v3 is now current (accuracy 0.910)", "log": "..."}]}
 *
 * so `jq '.last_retrain_time'` answers the brief's "Check Last Retraining
 * Time". This file owns only the format: updates go through the audit-file
 * mechanism of base/auditlog.h (the whole file rewritten atomically under a
 * process mutex and flock on "<path>.lock"; a file that is not such an
 * object kept aside as "<path>.corrupt" and a new one started); at most the
 * newest RETRAIN_LOG_MAX_EVENTS events are kept.
 */
#ifndef SH_RETRAIN_LOG_H
#define SH_RETRAIN_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RETRAIN_LOG_PATH ".github/triggers/retraining_log.json"
#define RETRAIN_LOG_MAX_EVENTS 1000

struct retrain_event {
    int64_t time_ms;
    const char *trigger;   /* "controller" | "cli" */
    const char *pipeline;  /* NULL: omitted */
    double drift_score;    /* NaN: omitted */
    double threshold;      /* NaN: omitted */
    const char *status;
    const char *reason;    /* NULL: omitted */
    const char *const *drifted_features; /* NULL: omitted */
    size_t ndrifted;
    char *const *command;  /* NULL-terminated argv; NULL: omitted */
    int exit_code;         /* < 0: omitted */
    double duration_seconds; /* < 0: omitted */
    const char *model_version; /* NULL: omitted */
    const char *model_note;    /* NULL: omitted */
    const char *log;           /* the job's output file; NULL: omitted */
};

/* A zeroed event with the "omitted" markers set. */
void retrain_event_init(struct retrain_event *e);

/*
 * Appends e to the log at path (folders created). When set_last is true,
 * last_retrain_time becomes e->time_ms. Returns 0 or an SH_E* code with
 * *ret_err (owned); *ret_warn (owned, optional) when a corrupt file was
 * kept aside.
 */
int retrain_log_append(const char *path, const struct retrain_event *e, bool set_last,
                       char **ret_err, char **ret_warn);

/*
 * Reads last_retrain_time. Returns 0 with *ret_ms (0 when the file or the
 * field is absent), or SH_EPARSE / SH_EIO with *ret_err (owned) when the
 * file cannot be read or is not such an object.
 */
int retrain_log_last(const char *path, int64_t *ret_ms, char **ret_err);

#endif
