/*
 * recovery_log.h — one record of the brief's recovery audit log
 * (monitoring/recovery_log.json, a JSON array; auditlog.h does the atomic
 * append), written the same way by the service loop and `selfheal recover`:
 *
 *   {"timestamp": "2026-11-28T18:00:00.250Z", "pipeline": "default/housing",
 *    "service_url": "http://…/health", "method": "process", "action": "restart",
 *    "attempt": 1, "max_attempts": 3, "outcome": "started",
 *    "trigger": "ProbeFailed: GET …: connection refused", "error": "…",
 *    "mttr_seconds": 0.7}
 *
 * actions: restart | run-command | delete-pods (an attempt), recovered (the
 * incident healed; mttr_seconds), gave-up (maxAttempts used up). outcomes:
 * started, failed, succeeded, exhausted.
 */
#ifndef SH_RECOVERY_LOG_H
#define SH_RECOVERY_LOG_H

#include <stdint.h>

struct recovery_record {
    int64_t time_ms;
    const char *pipeline;    /* NULL: omitted (the one-shot command says "cli" in source) */
    const char *source;      /* "controller" | "cli" */
    const char *service_url;
    const char *method;
    const char *action;
    const char *outcome;
    int attempt;             /* 0: attempt and max_attempts omitted */
    int max_attempts;
    const char *trigger;     /* NULL: omitted */
    const char *error;       /* NULL: omitted */
    double mttr_seconds;     /* < 0: omitted */
};

/* Appends r to the log at path. 0, or an SH_E* code with *ret_err (owned);
 * a corrupt log kept aside is reported in *ret_warn (owned, optional). */
int recovery_log_append(const char *path, const struct recovery_record *r, char **ret_err,
                        char **ret_warn);

#endif
