/*
 * service_decide.h — the service loop's decision, a pure function of the
 * spec, what was observed, the previous status and `now` (DESIGN.md
 * "Semantics that must be exact": probe, recovery).
 *
 *   healthy      iff fewer than failureThreshold consecutive probes failed
 *                (and, for a supervised process, the process runs)
 *   starting     after every start: the supervised process started (by the
 *                controller, a recovery, a spec change or a model reload),
 *                or, for the other methods, the controller's recovery action.
 *                Until its first healthy probe, for at most the startup
 *                window (max(startupTimeout, failureThreshold × interval)),
 *                probe failures of a live service do not count: no verdict,
 *                no attempt, the lower loops wait. A supervised process that
 *                exits ends the window at once (the supervisor knows).
 *   recovery     at most maxAttempts, attempt n+1 no sooner than
 *                backoff·2^(n-1) after attempt n and never while the service
 *                restarted by attempt n is starting
 *   exhausted    maxAttempts made and still unhealthy after the last grace:
 *                RecoveryExhausted, phase NeedsAttention, no more attempts
 *                until healthy for resetAfter, the spec changes, or a reset
 *   MTTR         first failed probe → first healthy probe after recovery
 *
 * No I/O, no clock: everything comes in through the arguments, so every rule
 * is unit-tested with plain numbers.
 */
#ifndef SH_SERVICE_DECIDE_H
#define SH_SERVICE_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/spec.h"

/* What the probe and (for method process) the supervisor saw. */
struct service_observation {
    bool probe_known;          /* at least one probe completed */
    int consecutive_failures;
    int consecutive_successes;
    int64_t first_failure_ms;  /* start of the current failure streak, 0 when none */
    int64_t last_success_ms;   /* time of the newest successful probe, 0 when none */
    char last_error[256];      /* "GET http://…/health: connection refused" */
    bool supervised;           /* method process: the controller runs it */
    bool process_running;
    bool process_ever_started;
    int64_t process_started_ms; /* when the running process started, 0 unknown: then the
                                   newest action of the controller starts the window */
    char process_exit[128];    /* "exited with status 1", when it is not running */
};

/* The service section of the status (status.service), typed. */
struct service_state {
    bool healthy;
    int consecutive_failures;
    int recovery_attempts;
    int64_t last_recovery_ms;      /* time of the newest action: a recovery, or the start of
                                      the supervised process (its grace applies too) */
    bool last_action_start;        /* that action was a start, no recovery: written as
                                      lastStartTime, never lastRecoveryTime */
    double last_recovery_seconds;  /* MTTR of the newest healed incident, <0 none */
    int64_t failing_since_ms;      /* first failed probe of the open incident, 0 none */
    int64_t healthy_since_ms;      /* start of the current healthy streak, 0 none */
    bool exhausted;
    int64_t exhausted_generation;  /* spec generation when it gave up */
    int64_t incidents;             /* incidents healed */
};

enum service_action {
    SERVICE_ACT_NONE,
    SERVICE_ACT_START,   /* supervised process never started: start it (not an attempt) */
    SERVICE_ACT_RECOVER, /* a recovery attempt (restart / command) */
};

enum service_verdict {
    SERVICE_UNKNOWN,     /* no probe yet */
    SERVICE_HEALTHY,
    SERVICE_UNHEALTHY,   /* waiting: grace or backoff */
    SERVICE_RECOVERING,  /* acting now */
    SERVICE_EXHAUSTED,
    SERVICE_STARTING,    /* started, no healthy probe yet, inside the startup window */
};

struct service_decision {
    struct service_state next;
    enum service_verdict verdict;
    enum service_action action;
    bool planned_only;        /* dry run: the action is only recorded */
    bool healed;              /* this look closed an incident (MTTR is next.last_recovery_seconds) */
    bool gave_up;             /* this look decided RecoveryExhausted */
    bool action_in_flight;    /* an action is being verified (the service is starting, or
                                 the backoff before the next attempt runs): lower loops wait */
    int64_t requeue_after_ms; /* when to look again, 0: at the next probe result */
    char reason[32];          /* condition reason */
    char message[512];        /* condition message */
};

/*
 * Decides. `generation` is the spec's generation (a changed spec clears
 * RecoveryExhausted); `dry_run` covers spec.paused and service.dryRun;
 * `reset` is the selfheal.dev/reset annotation changing.
 */
void service_decide(const struct spec_service *spec, const struct service_observation *obs,
                    const struct service_state *prev, int64_t now_ms, int64_t generation,
                    bool dry_run, bool reset, struct service_decision *out);

/* The grace period after a restart: failureThreshold × interval. */
int64_t service_grace_ms(const struct spec_service *spec);

/* The longest a start may take before its failures count:
 * max(healthCheck.startupTimeout, the grace period). */
int64_t service_startup_window_ms(const struct spec_service *spec);

/* The minimum spacing before attempt n+1 after attempt n (n ≥ 1): backoff·2^(n-1). */
int64_t service_backoff_ms(const struct spec_service *spec, int attempts_made);

#endif
