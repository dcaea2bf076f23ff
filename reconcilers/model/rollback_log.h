/*
 * rollback_log.h — the brief's models/rollback_log.json: one JSON object per
 * rollback, appended to a JSON array (controller/base/auditlog.h), written by the
 * model reconciler and by `selfheal rollback`. `jq '.'` shows the history:
 *
 *   {"timestamp": "2026-11-28T18:00:00.250Z", "action": "rollback",
 *    "trigger": "controller", "pipeline": "default/housing",
 *    "metric": "accuracy", "current_metric": 0.65, "threshold": 0.7,
 *    "from_version": "v3", "to_version": "v2", "to_version_metric": 0.91,
 *    "reason": "accuracy 0.650 < 0.700", "reload": "restart",
 *    "reload_result": "restarted"}
 */
#ifndef SH_ROLLBACK_LOG_H
#define SH_ROLLBACK_LOG_H

#include <stdint.h>

#define ROLLBACK_LOG_NAME "rollback_log.json"

struct rollback_record {
    int64_t time_ms;
    const char *trigger;       /* "controller" | "cli" */
    const char *pipeline;      /* NULL: omitted */
    const char *metric_name;
    double current_metric;
    double threshold;
    const char *from_version;  /* NULL or "": omitted */
    const char *to_version;
    double to_metric;          /* the target's recorded metric */
    const char *reason;
    const char *reload;        /* NULL: omitted */
    const char *reload_result; /* NULL: omitted */
};

/* Appends r to the log at path. 0 or an SH_E* code with *ret_err (owned). */
int rollback_log_append(const char *path, const struct rollback_record *r, char **ret_err);

#endif
