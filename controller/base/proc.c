/*
 * proc.c — starting, reaping and stopping child processes (proc.h).
 *
 * Everything the child needs (environment, descriptors, the pid file's
 * paths) is prepared before fork; between fork and exec the child only
 * makes async-signal-safe calls. A failure there (chdir, dup2, exec) is
 * written as {step, errno} to a close-on-exec pipe: the parent reads EOF
 * when the exec succeeded, or the failure, and then reaps the child itself.
 */
#include "base/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/errors.h"
#include "base/fsutil.h"

extern char **environ;

enum child_step { STEP_CHDIR = 1, STEP_EXEC = 2 };

/* The descriptors a spawn hands to the child; -1: none. */
struct spawn_fds {
    int in;     /* /dev/null */
    int out;    /* the log, /dev/null, or -1 to inherit */
    int msg[2]; /* the failure pipe */
};

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static bool replaced(const struct proc_spec *s, const char *entry)
{
    for (size_t j = 0; j < s->env_count; j++) {
        size_t len = strlen(s->env_names[j]);
        if (strncmp(entry, s->env_names[j], len) == 0 && entry[len] == '=')
            return true;
    }
    return false;
}

/* The child's environment: the controller's, minus the names given, plus
 * NAME=value for each. The array is owned, its entries borrowed from
 * environ except those listed in *ret_owned (owned). NULL: no memory. */
static char **build_env(const struct proc_spec *s, char ***ret_owned)
{
    size_t base = 0;
    while (environ && environ[base])
        base++;
    char **envp = calloc(base + s->env_count + 1, sizeof *envp);
    char **owned = calloc(s->env_count + 1, sizeof *owned);
    if (!envp || !owned) {
        free(envp);
        free(owned);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < base; i++)
        if (!replaced(s, environ[i]))
            envp[n++] = environ[i];
    for (size_t j = 0; j < s->env_count; j++) {
        const char *value = s->env_values[j] ? s->env_values[j] : "";
        if (asprintf(&owned[j], "%s=%s", s->env_names[j], value) < 0) {
            owned[j] = NULL;
            free_strv(owned);
            free(envp);
            return NULL;
        }
        envp[n++] = owned[j];
    }
    *ret_owned = owned;
    return envp;
}

/* Opens the log for appending (creating its folder) and writes the header. */
static int open_log(const struct proc_spec *s)
{
    char *dir = fs_dirname(s->log_path);
    if (dir)
        fs_mkdir_p(dir);
    free(dir);
    int fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0 && s->log_header)
        (void)!write(fd, s->log_header, strlen(s->log_header));
    return fd;
}

static int open_fds(const struct proc_spec *s, struct spawn_fds *f, char **ret_err)
{
    if (s->log_path)
        f->out = open_log(s);
    else if (!s->inherit_output)
        f->out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if ((s->log_path || !s->inherit_output) && f->out < 0) {
        (void)sh_errf(ret_err, 0, "cannot open the log %s: %s", s->log_path ? s->log_path : "/dev/null",
                strerror(errno));
        return SH_EIO;
    }
    f->in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (f->in < 0 || pipe2(f->msg, O_CLOEXEC) != 0) {
        (void)sh_errf(ret_err, 0, "cannot run '%s': %s: %s", s->argv[0], f->in < 0 ? "/dev/null" : "pipe",
                strerror(errno));
        return SH_EIO;
    }
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* In the child: reports the failed step and errno on the pipe, then exits. */
static void child_fail(int fd, enum child_step step)
{
    int msg[2] = {(int)step, errno};
    (void)!write(fd, msg, sizeof msg);
    _exit(127);
}

static void child_exec(const struct proc_spec *s, char **envp, const struct spawn_fds *f,
                       const struct procfile *pf)
{
    setpgid(0, 0);
    if (pf)
        procfile_child_write(pf);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL); /* nothing ignored (SIGPIPE) or handled is inherited */
    if (dup2(f->in, STDIN_FILENO) < 0 ||
        (f->out >= 0 && (dup2(f->out, STDOUT_FILENO) < 0 || dup2(f->out, STDERR_FILENO) < 0)))
        child_fail(f->msg[1], STEP_EXEC);
    /* no descriptor of the controller's (sockets, state files) leaks into the child */
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (s->working_dir && chdir(s->working_dir) != 0)
        child_fail(f->msg[1], STEP_CHDIR);
    execvpe(s->argv[0], s->argv, envp);
    child_fail(f->msg[1], STEP_EXEC);
}

static void cleanup(struct proc_child *c)
{
    close_fd(&c->pidfd);
    if (c->has_pidfile)
        unlink(c->pidfile.path);
    c->has_pidfile = false;
}

/* Reads the child's verdict on its exec: 0, or the failure with the child reaped. */
static int await_exec(const struct proc_spec *s, struct spawn_fds *f, struct proc_child *c,
                      char **ret_err)
{
    close_fd(&f->msg[1]);
    int msg[2];
    ssize_t n;
    while ((n = read(f->msg[0], msg, sizeof msg)) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof msg)
        return 0; /* EOF: the exec closed the pipe */
    while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    cleanup(c);
    if (msg[0] == STEP_CHDIR)
        (void)sh_errf(ret_err, 0, "cannot run '%s': working folder %s: %s", s->argv[0], s->working_dir,
                strerror(msg[1]));
    else
        (void)sh_errf(ret_err, 0, "cannot run '%s': %s", s->argv[0], strerror(msg[1]));
    return msg[1] == ENOMEM ? SH_ENOMEM : SH_ENOTFOUND;
}

int proc_spawn(const struct proc_spec *s, struct proc_child *ret, char **ret_err)
{
    if (!s->argv || !s->argv[0] || !s->argv[0][0]) {
        (void)sh_errf(ret_err, 0, "no command to run");
        return SH_EINVAL;
    }
    ret->pid = 0;
    ret->pidfd = -1;
    char **owned = NULL;
    char **envp = build_env(s, &owned);
    if (!envp)
        return SH_ENOMEM;
    ret->has_pidfile = s->pid_base && procfile_prepare(&ret->pidfile, s->pid_base);
    struct spawn_fds f = {.in = -1, .out = -1, .msg = {-1, -1}};
    int err = open_fds(s, &f, ret_err);
    if (!err && (ret->pid = fork()) < 0) {
        (void)sh_errf(ret_err, 0, "cannot run '%s': fork: %s", s->argv[0], strerror(errno));
        ret->pid = 0;
        err = SH_EIO;
    }
    if (!err && ret->pid == 0)
        child_exec(s, envp, &f, ret->has_pidfile ? &ret->pidfile : NULL);
    if (!err) {
        setpgid(ret->pid, ret->pid); /* also from here: no window where a kill(-pid) misses */
        err = await_exec(s, &f, ret, ret_err);
    }
    if (!err && s->want_pidfd)
        ret->pidfd = (int)syscall(SYS_pidfd_open, ret->pid, 0); /* -1: poll with waitid */
    close_fd(&f.in);
    close_fd(&f.out);
    close_fd(&f.msg[0]);
    close_fd(&f.msg[1]);
    free(envp);
    free_strv(owned);
    return err;
}

enum proc_reap proc_try_reap(struct proc_child *c, bool kill_group, int *ret_status)
{
    *ret_status = 0;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (c->pid <= 0)
        return PROC_LOST;
    if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
        if (errno != ECHILD)
            return PROC_RUNNING;
    } else if (si.si_pid == 0) {
        return PROC_RUNNING;
    }
    /* the zombie still holds the group id: take the rest of the group down */
    if (kill_group)
        kill(-c->pid, SIGKILL);
    int status = 0;
    pid_t r;
    while ((r = waitpid(c->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    cleanup(c);
    if (r < 0)
        return PROC_LOST;
    *ret_status = status;
    return PROC_REAPED;
}

int proc_signal(const struct proc_child *c, int sig)
{
    return c->pid > 0 && kill(-c->pid, sig) == 0 ? 0 : SH_EIO;
}

bool proc_terminate(const struct proc_child *c, int64_t grace_ms,
                    bool (*gone)(void *ctx, int64_t deadline_ms), void *ctx)
{
    proc_signal(c, SIGTERM);
    if (gone(ctx, clock_monotonic_ms() + grace_ms))
        return true;
    proc_signal(c, SIGKILL);
    return gone(ctx, clock_monotonic_ms() + PROC_KILL_WAIT_MS);
}

void proc_kill_reap(struct proc_child *c)
{
    if (c->pid > 0) {
        kill(-c->pid, SIGKILL);
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    cleanup(c);
}
