/*
 * proc.h — child processes of the controller: the one mechanism behind the
 * supervised services and one-shot commands (local/supervisor.h) and the
 * background retrains (local/retrain_job.h). Who watches a child, and when
 * it is stopped, is theirs; how it is started, reaped and stopped is here.
 *
 *   spawn      fork + execvpe of an argv (argv[0] searched in PATH, no
 *              shell) in its own process group (setpgid in the child and in
 *              the parent: no window where a signal to the group misses),
 *              in `working_dir`, with env_names=env_values added to (or
 *              replacing in) the controller's environment, stdin from
 *              /dev/null, stdout and stderr appended to `log_path` (its
 *              folders created, `log_header` written first). Signals the
 *              controller blocks, ignores or handles are reset in the
 *              child, and no descriptor of the controller's is inherited.
 *              With `pid_base` the child itself writes "<pid_base>.pid"
 *              (base/procfile.h) before exec, so a controller killed at any
 *              moment after fork leaves it. A program that cannot be run
 *              (not found, bad working folder) fails the spawn, reaped
 *              already: it never counts as started.
 *   reap       without blocking: peeks at an ended child (waitid WNOWAIT),
 *              kills what is left of its group while the zombie still
 *              holds the group id (when asked), then reaps it, closes its
 *              pidfd and removes its pid file.
 *   terminate  SIGTERM to the group, a grace, SIGKILL; the caller says how
 *              to wait for the end (its reaper thread, or reaping itself).
 *
 * No state of its own: every function may be called from any thread, on
 * different children at once. The child between fork and exec only makes
 * async-signal-safe calls.
 */
#ifndef SH_PROC_H
#define SH_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/procfile.h"

/* After SIGKILL, how long proc_terminate waits for the end (real time). */
#define PROC_KILL_WAIT_MS 5000

/* What to run. Borrowed for the call. */
struct proc_spec {
    char *const *argv;              /* NULL-terminated; argv[0] searched in PATH */
    const char *working_dir;        /* NULL: the controller's */
    const char *const *env_names;   /* env_count pairs added to (or replacing in) the environment */
    const char *const *env_values;  /* a NULL value: "" */
    size_t env_count;
    const char *log_path;           /* stdout + stderr appended here (folders created) */
    const char *log_header;         /* with log_path: written to the log first; NULL: nothing */
    bool inherit_output;            /* without log_path: the controller's stdout and stderr
                                       (else /dev/null) */
    const char *pid_base;           /* "<pid_base>.pid" names the process while it runs; NULL: none */
    bool want_pidfd;                /* also open a pidfd to poll for the end */
};

/* A started child. Filled by proc_spawn; owned by the caller (it may live
 * anywhere; the pid file's paths make it large). */
struct proc_child {
    pid_t pid;               /* also the process group id; kept after the reap */
    int pidfd;               /* -1: none (not asked for, or no pidfd_open) or closed at the reap */
    bool has_pidfile;
    struct procfile pidfile; /* "<pid_base>.pid" until the reap */
};

/* The result of proc_try_reap. */
enum proc_reap {
    PROC_RUNNING, /* still running */
    PROC_REAPED,  /* ended and reaped: *ret_status holds its wait status */
    PROC_LOST,    /* reaped by someone else (ECHILD): the status is unknown */
};

/*
 * Starts s. Returns 0 with *ret filled once the program runs (its exec
 * succeeded); or an SH_E* code with *ret_err (owned, may be NULL on
 * allocation failure; not set when ret_err is NULL): SH_EINVAL for an empty
 * argv ("no command to run"); SH_EIO when the log cannot be opened ("cannot
 * open the log PATH: …"), or pipe or fork fails ("cannot run 'x': fork: …");
 * SH_ENOTFOUND when the program cannot be run ("cannot run 'x': No such
 * file or directory", "cannot run 'x': working folder DIR: …"); SH_ENOMEM
 * (also when exec fails for memory). On failure no child is left and no pid
 * file.
 */
int proc_spawn(const struct proc_spec *s, struct proc_child *ret, char **ret_err);

/*
 * Reaps c if it has ended, without blocking. kill_group: first SIGKILL to
 * what is left of its process group (also on PROC_LOST). On PROC_REAPED and
 * PROC_LOST the pidfd is closed and the pid file removed.
 */
enum proc_reap proc_try_reap(struct proc_child *c, bool kill_group, int *ret_status);

/* Sends sig to c's process group. 0, or SH_EIO (no such group, or c has no pid). */
int proc_signal(const struct proc_child *c, int sig);

/*
 * Stops c's group: SIGTERM, then gone(ctx, deadline) — the caller waits
 * until c has been reaped or the deadline (clock_monotonic_ms) has passed,
 * and says whether it has — and, if it has not after grace_ms, SIGKILL and
 * gone() again with PROC_KILL_WAIT_MS. Returns what the last gone() said.
 */
bool proc_terminate(const struct proc_child *c, int64_t grace_ms,
                    bool (*gone)(void *ctx, int64_t deadline_ms), void *ctx);

/* For a child nobody will watch (a failure right after the spawn): SIGKILL
 * to its group, then reaps it (blocking) and cleans up as proc_try_reap. */
void proc_kill_reap(struct proc_child *c);

#endif
