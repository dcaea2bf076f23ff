/*
 * supervisor.h — local processes the controller runs and watches, one per
 * key at most: the supervised service of a pipeline (recovery method
 * `process`) and one-shot commands with a timeout (method `command`, under
 * their own key).
 *
 *   start     fork + execvp (no shell) of an argv, in its own process group
 *             (setpgid), in `working_dir`, with `env` added to the
 *             controller's environment, stdin from /dev/null, stdout and
 *             stderr appended to `log_path`. Signals blocked or ignored by
 *             the controller are unblocked and reset in the child, and the
 *             controller's descriptors are not inherited. A command that
 *             cannot be run (not found, bad working folder) fails the start
 *             with a message; it never counts as running.
 *   exit      noticed at once by a reaper thread (a pidfd per process, with
 *             a 50 ms waitpid poll as fallback), which first kills what is
 *             left of the process group (unless leave_group), then reaps the
 *             process and calls on_exit(ctx, key) with no lock held. No SIGCHLD handler; only
 *             the supervisor's own children are waited for.
 *   timeout   a launch with timeout_ms > 0 is killed (SIGKILL to its group)
 *             once it has run that long.
 *   stop      SIGTERM to the group, SIGKILL after the grace (default 5 s),
 *             and returns once the process is reaped.
 *   one       operations on a key are serialised: a start while the key's
 *             process runs is refused, a restart stops before it starts, so
 *             a key never has two processes.
 *
 * Thread-safety: every function may be called from any thread, except the
 * on_exit callback must not call supervisor_free.
 */
#ifndef SH_SUPERVISOR_H
#define SH_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/clock.h"

#define SUPERVISOR_DEFAULT_GRACE_MS 5000

struct supervisor;

/* What to run. Borrowed for the call; the supervisor keeps a copy. */
struct supervisor_launch {
    char *const *argv;        /* NULL-terminated, argv[0] searched in PATH */
    const char *working_dir;  /* NULL: the controller's */
    char *const *env_names;   /* env_count pairs added to (or replacing in) the environment */
    char *const *env_values;
    size_t env_count;
    const char *log_path;     /* stdout + stderr appended here (folders created); NULL: /dev/null */
    int64_t timeout_ms;       /* > 0: killed after running this long */
    bool leave_group;         /* when it exits on its own, leave what it started in its
                                 group running (a command that starts a daemon); a stop
                                 or a timeout still kills the whole group */
};

/* What is known about the process of a key. */
struct supervisor_info {
    bool known;              /* a start was attempted for the key */
    bool running;
    pid_t pid;               /* of the running (or last) process */
    uint64_t starts;         /* successful starts */
    int64_t started_ms;      /* injected clock */
    int64_t exited_ms;       /* 0 while running or never started */
    bool exited;             /* the last process has ended */
    bool success;            /* ... with status 0 */
    bool timed_out;          /* ... killed at its timeout */
    bool stopped;            /* ... stopped by the supervisor */
    int exit_code;           /* when it exited normally, else -1 */
    int term_signal;         /* when a signal ended it, else 0 */
    char exit_text[128];     /* "exited with status 1", "was killed by signal 9 (SIGKILL)" */
};

struct supervisor_options {
    const struct sh_clock *clock; /* NULL: the real clock */
    int64_t grace_ms;             /* SIGTERM → SIGKILL; 0: 5 s */
    void (*on_exit)(void *ctx, const char *key); /* optional */
    void *ctx;
};

/* Creates the supervisor and its reaper thread. 0, SH_ENOMEM or SH_EIO. */
int supervisor_new(const struct supervisor_options *opts, struct supervisor **ret);

/*
 * Starts the process of key. Returns 0; SH_EEXISTS when one runs already;
 * SH_EINVAL for an empty argv; SH_EIO when it could not be run (*ret_err,
 * owned, says why: "cannot run 'x': No such file or directory"); SH_ENOMEM.
 */
int supervisor_start(struct supervisor *sv, const char *key, const struct supervisor_launch *l,
                     char **ret_err);

/* Stops the process of key if it runs, then starts it with l (NULL: the last
 * launch of key; SH_ENOTFOUND when there is none). Same errors as start. */
int supervisor_restart(struct supervisor *sv, const char *key, const struct supervisor_launch *l,
                       char **ret_err);

/* Sends sig to the process group of key. 0, SH_ENOTFOUND when nothing runs. */
int supervisor_signal(struct supervisor *sv, const char *key, int sig);

/* Stops the process of key (SIGTERM, grace, SIGKILL) and waits for it. 0 (also
 * when nothing ran). The key's information is kept. */
int supervisor_stop(struct supervisor *sv, const char *key);

/* Stops the process of key and forgets the key. */
void supervisor_forget(struct supervisor *sv, const char *key);

/* Lets the process of key go without stopping it (it keeps running after
 * the supervisor is freed; a one-shot command leaves a service running this
 * way) and forgets the key. */
void supervisor_release(struct supervisor *sv, const char *key);

/* Stops every process at once: SIGTERM to all, one grace for all, SIGKILL. */
void supervisor_stop_all(struct supervisor *sv);

/* Copies what is known about key. 0, or SH_ENOTFOUND (ret->known false). */
int supervisor_info(struct supervisor *sv, const char *key, struct supervisor_info *ret);

/* True when key's last launch had the same argv, working folder and env. */
bool supervisor_same_launch(struct supervisor *sv, const char *key,
                            const struct supervisor_launch *l);

/* Waits (real time) until key's process is not running. 0, SH_ETIMEOUT. */
int supervisor_wait(struct supervisor *sv, const char *key, long timeout_ms);

/* Number of processes running now. */
size_t supervisor_running(struct supervisor *sv);

/* Stops every process, the reaper, and frees. NULL is a no-op. */
void supervisor_free(struct supervisor *sv);

#endif
