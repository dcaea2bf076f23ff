/*
 * retrain_actuators.h — how a retrain runs, per platform
 * (platform->actuators(pf, "retrain")). The drift loop decides when to
 * retrain (drift_decide.h) and records what happened; these say how.
 *
 * Local (controller/local/local_actuators_retrain.c, registered by the wiring): spec.drift.
 * retrain.command as a background process (local/retrain_job.h) that reports
 * its end through on_exit, named by "<log>.pid" (base/procfile.h) while it
 * runs; a process a killed controller left running is adopted and watched
 * (its exit status is lost with its parent: it counts as failed), one that
 * ended unwatched is reported as such. Kubernetes
 * (controller/kube/kube_actuators_retrain.c): a Job from spec.drift.retrain.jobTemplate with a name derived from the
 * pipeline's uid and the attempt number, so a controller that crashed after
 * creating it finds it (AlreadyExists → adopt) instead of creating a second
 * one; it is followed by polling its conditions.
 *
 * Called from the worker holding the pipeline's key; implementations must
 * be safe for concurrent calls on different pipelines.
 */
#ifndef SH_RETRAIN_ACTUATORS_H
#define SH_RETRAIN_ACTUATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include "base/clock.h"
#include "runtime/pipeline.h"

struct retrain_run; /* one run, owned by the actuators that made it */

/* Where a run is (every platform's runs report these). */
enum retrain_job_state {
    RETRAIN_JOB_RUNNING,
    RETRAIN_JOB_SUCCEEDED, /* exit status 0 */
    RETRAIN_JOB_FAILED,    /* another exit status, or killed by a signal */
    RETRAIN_JOB_TIMED_OUT, /* killed after the timeout */
    RETRAIN_JOB_STOPPED,   /* stopped by the controller (shutdown, pipeline deleted) */
};

/* What a run came to (or is, while RETRAIN_JOB_RUNNING). */
struct retrain_job_result {
    enum retrain_job_state state;
    pid_t pid;          /* locally; 0 */
    int exit_code;      /* -1 unless it exited */
    int signal;         /* 0 unless a signal ended it */
    int64_t start_ms;   /* on the run's clock */
    int64_t end_ms;     /* 0 while running */
    char message[256];  /* "exit status 3", "killed by signal 9", "timed out after 1h" */
    bool log_gone;      /* the output went with the run (kube: the Job was deleted, its
                           pods and their logs with it): the started log pointer is void */
};

/* "Running" | "Succeeded" | "Failed" | "TimedOut" | "Stopped" (status.drift's words). */
const char *retrain_job_state_name(enum retrain_job_state s);

struct retrain_request {
    const struct pipeline *p;
    int attempt;                  /* 1, 2, …: counts every start of p, persisted in status */
    double drift_score;
    int64_t now_ms;
    const struct sh_clock *clock; /* NULL: real */
    const char *log_path;         /* local: output appended here */
    const char *log_header;       /* local: written to the log first */
    void (*on_exit)(void *ctx);   /* local: called once from another thread when it ends */
    void *ctx;
};

/* What start() or adopt() tells the loop about the run. */
struct retrain_started {
    char name[128];  /* status.drift.retrainJob.name: the Job's name; "" locally */
    int pid;         /* the process id locally; 0 */
    char log[512];   /* where its output is: a file, or "kubectl logs -n NS job/NAME" */
    bool adopted;    /* it existed already: a previous controller created it */
    int64_t start_ms;
    int64_t poll_ms; /* > 0: ask poll this often while it runs; 0: on_exit says when it ended */
};

struct retrain_actuators {
    /* NULL when sd gives this platform something to run, else why not
     * ("no retrain.command to run"). */
    const char *(*missing)(const struct retrain_actuators *ra, const struct spec_drift *sd);

    /* What runs, in a few words, for plans and events. */
    void (*describe)(const struct retrain_actuators *ra, const struct spec_drift *sd, char *buf,
                     size_t size);

    /* Starts (or adopts, see above) the run for req. 0 and *ret, *info; or
     * an SH_E* code with *ret_err (owned): the attempt failed to start. */
    int (*start)(const struct retrain_actuators *ra, const struct retrain_request *req,
                 struct retrain_run **ret, struct retrain_started *info, char **ret_err);

    /* The first time this process sees req->p: a run a previous controller
     * left — the one status names (`name`, started at start_ms), or, with
     * name NULL, one it started and never recorded (local: "<log>.pid").
     * 0 and *ret, *info: it runs, follow it. SH_ESTOPPED: it ended while no
     * controller watched (*ret_err says so). SH_ENOTFOUND: nothing is left
     * of it, or it cannot be followed. */
    int (*adopt)(const struct retrain_actuators *ra, const struct retrain_request *req,
                 const char *name, int64_t start_ms, struct retrain_run **ret,
                 struct retrain_started *info, char **ret_err);

    /* Its state at now_ms (RETRAIN_JOB_RUNNING while it runs). A run past
     * spec.drift.retrain.timeout is ended here (kube: the Job deleted with
     * propagation Background) and reported TimedOut. Returns 0, or an SH_E*
     * code with *ret_err when the state cannot be read now (ask again). */
    int (*poll)(const struct retrain_actuators *ra, const struct pipeline *p,
                struct retrain_run *run, int64_t now_ms, struct retrain_job_result *ret,
                char **ret_err);

    /* Controller shutdown: local processes are stopped; a Job runs on (the
     * next controller adopts it). */
    void (*stop)(const struct retrain_actuators *ra, struct retrain_run *run);

    /* Frees the run (local: stops a process still running). NULL is a no-op. */
    void (*release)(const struct retrain_actuators *ra, struct retrain_run *run);

    void *impl;
};

/* The local platform's actuators (static, stateless). */
const struct retrain_actuators *retrain_local_actuators(void);

#endif
