/*
 * retrain_job.h — the local platform's way of running a retrain
 * (DESIGN.md "Retraining"): one retraining command in the background,
 * started through base/proc.h — no shell, its own process group, extra
 * environment variables, stdout and stderr appended to a log file (or the
 * controller's when there is none), stdin from /dev/null.
 *
 * A watcher thread per job polls the child (every 20 ms), so no worker ever
 * blocks on it. After `timeout_ms` on the injected clock, or on
 * retrain_job_stop, the whole process group gets SIGTERM, and SIGKILL 2 s
 * (real time) later if anything is left. When the child has ended and been
 * reaped, the watcher records the result (drift/retrain_actuators.h) and
 * calls on_exit once (from its thread): the drift reconciler passes a
 * function that queues the pipeline's key (reconciler_notify).
 *
 * Used by the local retrain actuators (local_actuators_retrain.c) and by
 * `selfheal retrain` (cli/cmd_retrain.c), which waits in the foreground.
 *
 * A job is shared by the thread that started it and its watcher; every
 * function here may be called from any thread.
 */
#ifndef SH_RETRAIN_JOB_H
#define SH_RETRAIN_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"
#include "drift/retrain_actuators.h"

struct retrain_job;

struct retrain_job_spec {
    char *const *argv;              /* argv[0] is looked up in PATH */
    const char *const *env_names;   /* added to (or replacing in) the environment */
    const char *const *env_values;
    size_t nenv;
    const char *log_path;           /* output appended here (folders created); NULL: inherited */
    const char *working_dir;        /* NULL: the controller's */
    const char *pid_base;           /* "<pid_base>.pid" names the process while it runs
                                       (base/procfile.h); NULL: none */
    int64_t timeout_ms;             /* on `clock`; <= 0: none */
    const struct sh_clock *clock;   /* NULL: the real clock */
    void (*on_exit)(void *ctx);     /* called once from the watcher when the job has ended */
    void *ctx;
};

/*
 * Starts the command. Returns 0 and *ret once the program is running, or
 * an SH_E* code with *ret_err (owned): SH_ENOTFOUND when argv[0] cannot be
 * executed ("cannot run 'x': No such file or directory"), SH_EIO when the
 * log file cannot be opened or fork fails, SH_EINVAL for an empty argv,
 * SH_ENOMEM.
 */
int retrain_job_start(const struct retrain_job_spec *s, struct retrain_job **ret, char **ret_err);

/* A snapshot of the job's state. */
void retrain_job_result(struct retrain_job *j, struct retrain_job_result *ret);

/* Waits (real time) until the job has ended, at most max_ms (< 0: no limit).
 * Returns 0 when it has ended, SH_ETIMEOUT otherwise. */
int retrain_job_wait(struct retrain_job *j, int64_t max_ms);

/* Kills the job's process group (SIGTERM, then SIGKILL) and waits until it
 * has been reaped. No-op once it has ended. */
void retrain_job_stop(struct retrain_job *j);

/* Stops the job if it runs, joins the watcher, frees. NULL is a no-op. Must
 * not be called from on_exit. */
void retrain_job_free(struct retrain_job *j);

#endif
