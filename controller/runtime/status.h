/*
 * status.h — the status of a SelfHealingPipeline.
 *
 * A status is a cJSON object shaped exactly as the status subresource of
 * DESIGN.md (the same document is written to local status files), so that it
 * can be compared, persisted and patched without translation:
 *
 *   observedGeneration, phase, conditions[], service{}, model{}, drift{},
 *   dataQuality{}, plannedActions[], history[] (newest 20), observedReset
 *
 * The common parts (conditions, phase, history, planned actions) have typed
 * helpers here; each reconciler owns the schema of its own section and reads
 * and writes it through status_section(). Conditions follow
 * metav1.Condition: lastTransitionTime changes only when a condition's status
 * changes, and every condition carries observedGeneration.
 *
 * A status object is owned by one worker at a time (the one holding the
 * pipeline's key); nothing here locks.
 */
#ifndef SH_STATUS_H
#define SH_STATUS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define STATUS_HISTORY_MAX 20

/* Condition types. */
#define COND_READY "Ready"
#define COND_SERVICE_HEALTHY "ServiceHealthy"
#define COND_MODEL_VALID "ModelValid"
#define COND_MODEL_FRESH "ModelFresh"
#define COND_DATA_VALID "DataValid"

enum cond_status { COND_FALSE = 0, COND_TRUE = 1, COND_UNKNOWN = 2 };

/* Phases, in order of precedence when several apply (lowest value wins). */
enum phase {
    PHASE_INVALID = 0,
    PHASE_PAUSED,
    PHASE_NEEDS_ATTENTION,
    PHASE_RECOVERING,
    PHASE_ROLLING_BACK,
    PHASE_FIXING_DATA,
    PHASE_RETRAINING,
    PHASE_PENDING, /* a loop has not observed its target yet (no probe, the first start) */
    PHASE_DEGRADED,
    PHASE_HEALTHY,
    PHASE__COUNT
};

const char *status_phase_name(enum phase p);
/* Returns the phase for a name, or -1. */
int status_phase_parse(const char *name);
const char *status_cond_status_name(enum cond_status s);

/* A new, empty status object (owned), or NULL on allocation failure. */
cJSON *status_new(void);

/*
 * Sets condition `type` to the given status, reason and message. A new
 * condition, or one whose status changes, gets lastTransitionTime = now_ms;
 * otherwise it keeps its old one. Returns 0 or SH_ENOMEM.
 */
int status_set_condition(cJSON *status, const char *type, enum cond_status st, const char *reason,
                         const char *message, int64_t generation, int64_t now_ms);

/* Removes a condition (a section that is absent or disabled). */
void status_remove_condition(cJSON *status, const char *type);

/* Returns the condition object (borrowed) or NULL. */
const cJSON *status_get_condition(const cJSON *status, const char *type);

/* Returns the condition's status, COND_UNKNOWN when absent. */
enum cond_status status_condition_status(const cJSON *status, const char *type);

/* Returns the reason of a condition (borrowed), or "" when absent. */
const char *status_condition_reason(const cJSON *status, const char *type);

void status_set_phase(cJSON *status, enum phase p);
enum phase status_get_phase(const cJSON *status);

void status_set_observed_generation(cJSON *status, int64_t generation);
int64_t status_get_observed_generation(const cJSON *status);

/*
 * Returns the section object `name` ("service", "model", "drift",
 * "dataQuality"), creating an empty one when absent; borrowed from status.
 * NULL only on allocation failure.
 */
cJSON *status_section(cJSON *status, const char *name);

/* Removes a section. */
void status_remove_section(cJSON *status, const char *name);

/* One entry of the history ledger. Strings may be NULL (omitted). */
struct history_entry {
    int64_t time_ms;
    const char *loop;    /* "service" | "model" | "drift" | "dataQuality" */
    const char *action;  /* "restart", "rollback", "retrain", "fix-data", ... */
    const char *trigger; /* why: "ProbeFailed: GET ...: connection refused" */
    const char *from;
    const char *to;
    const char *outcome; /* "started" | "succeeded" | "failed" | "planned" */
    double duration_seconds; /* < 0: omitted */
};

/* Appends to history, keeping the newest STATUS_HISTORY_MAX. 0 or SH_ENOMEM. */
int status_history_add(cJSON *status, const struct history_entry *e);

/*
 * Replaces the outcome and duration of the newest history entry of `loop`
 * whose outcome is "started" (the verification of an action). Returns 0, or
 * SH_ENOTFOUND when there is none.
 */
int status_history_finish(cJSON *status, const char *loop, const char *outcome,
                          double duration_seconds);

/* Adds a planned action (dry run) "loop: text" unless already listed. */
int status_plan(cJSON *status, const char *loop, const char *text);
/* Clears the planned actions of one loop (before it re-plans). */
void status_plan_clear(cJSON *status, const char *loop);

/* True when the two statuses have the same content. NULLs are equal only to NULL. */
bool status_equal(const cJSON *a, const cJSON *b);

/* Reads a number field of an object, or `def` when absent or not a number. */
double status_num(const cJSON *obj, const char *field, double def);
/* Reads a string field (borrowed), or NULL. */
const char *status_str(const cJSON *obj, const char *field);
/* Reads an RFC 3339 time field as ms, or `def`. */
int64_t status_time(const cJSON *obj, const char *field, int64_t def);

/* Setters that replace a field of an object; 0 or SH_ENOMEM. */
int status_put_num(cJSON *obj, const char *field, double v);
int status_put_bool(cJSON *obj, const char *field, bool v);
int status_put_str(cJSON *obj, const char *field, const char *v); /* NULL removes */
int status_put_time(cJSON *obj, const char *field, int64_t ms);  /* <= 0 removes */
/* The same with millisecond precision, for times that measure durations (MTTR). */
int status_put_time_ms(cJSON *obj, const char *field, int64_t ms);

#endif
