/*
 * service_actuators.h — what the service loop (and the model loop's reload)
 * can do to a service, as the platform exposes it:
 * `(const struct service_actuators *)pf->actuators(pf, "service")`.
 *
 * The local platform implements the supervised process (method `process`)
 * and the recovery command (method `command`) with the process supervisor
 * (controller/local/supervisor.h); the Kubernetes platform will implement
 * the cluster methods (`restart`, `delete-pods`). A member a platform does
 * not implement is NULL, and the loop says so in its condition.
 *
 * Keys are pipeline keys ("namespace/name"). Every function may be called
 * from any worker; calls for one key come from the worker holding it.
 */
#ifndef SH_SERVICE_ACTUATORS_H
#define SH_SERVICE_ACTUATORS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/pipeline.h"
#include "runtime/reconciler.h"
#include "runtime/spec.h"

/* The supervised process of a pipeline. */
struct service_process_state {
    bool known;        /* a start was attempted since the controller started */
    bool running;
    pid_t pid;
    uint64_t starts;
    int64_t started_ms;  /* when the running (or last) one started, on the injected clock's
                            wall time: the service loop's startup window begins here */
    char exit_text[128]; /* how the last one ended: "was killed by signal 9 (SIGKILL)" */
};

/* The recovery command of a pipeline (method command). */
struct service_command_state {
    bool known;        /* one was started since the controller started */
    bool running;
    bool success;      /* the last one exited with status 0 */
    int64_t started_ms;
    int64_t exited_ms;
    char exit_text[128]; /* "exited with status 1", "timed out after 60000 ms and ..." */
};

struct service_actuators {
    /* Method process. Starts the process of spec.recovery.process for key when
     * none was started yet, restarts it when it runs with another command,
     * folder or env; otherwise does nothing. *ret_started tells whether it
     * (re)started one. 0 or SH_E* with *ret_err (owned). */
    int (*ensure_process)(const struct service_actuators *sa, const char *key,
                          const struct spec_service *svc, bool *ret_started, char **ret_err);
    /* Method process: a recovery attempt: stops the process if it runs
     * (SIGTERM, grace, SIGKILL to its group) and starts it again. */
    int (*recover_process)(const struct service_actuators *sa, const char *key,
                           const struct spec_service *svc, char **ret_err);
    /* Fills *ret (cleared, known = false, when nothing was started for key). */
    void (*process_state)(const struct service_actuators *sa, const char *key,
                          struct service_process_state *ret);

    /* Method command: starts argv (no shell) in the background, killed
     * after timeout_ms. SH_EEXISTS while the previous one still runs. */
    int (*run_command)(const struct service_actuators *sa, const char *key,
                       const struct spec_argv *argv, int64_t timeout_ms, char **ret_err);
    void (*command_state)(const struct service_actuators *sa, const char *key,
                          struct service_command_state *ret);

    /* Cluster methods (the Kubernetes platform): restart the deployment's
     * rollout, delete its pods. NULL on the local platform. SH_ENOTFOUND
     * (with *ret_err naming it) when the Deployment does not exist: no
     * attempt was made. */
    int (*restart_workload)(const struct service_actuators *sa, const struct pipeline *p,
                            const struct spec_service *svc, char **ret_err);
    int (*delete_pods)(const struct service_actuators *sa, const struct pipeline *p,
                       const struct spec_service *svc, char **ret_err);

    /* The pipeline is gone: stop its process and command, forget them. */
    void (*forget)(const struct service_actuators *sa, const char *key);
    /* Shutdown: stop every process and command. */
    void (*stop_all)(const struct service_actuators *sa);

    /* Reload hooks for the model loop: SH_ENOTFOUND when no supervised
     * process runs for key. signal_process sends sig to its process group;
     * restart_process restarts it with the command it was started with. */
    int (*signal_process)(const struct service_actuators *sa, const char *key, int sig);
    int (*restart_process)(const struct service_actuators *sa, const char *key, char **ret_err);

    void *impl;
};

/*
 * The local implementation: supervised processes whose stdout and stderr go
 * to <state_dir>/logs/<namespace>_<name>.log (recovery commands too), with
 * `grace_ms` between SIGTERM and SIGKILL (0: 5 s). When a process or command
 * ends on its own, its pipeline key is sent to `notify` (borrowed, stable;
 * its fn may be set later). `clock` may be NULL (real). Returns 0 and an
 * owned *ret, or an SH_E* code with *ret_err (owned).
 */
int service_local_actuators_new(const char *state_dir, const struct sh_clock *clock,
                                int64_t grace_ms, const struct reconciler_notify *notify,
                                struct service_actuators **ret, char **ret_err);

/* Stops every process and frees. NULL is a no-op. */
void service_local_actuators_free(struct service_actuators *sa);

#endif
