/* retrain_job.c — a background command with a watcher thread (retrain_job.h). */
#include "drift/retrain_job.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/procfile.h"
#include "base/fsutil.h"

#define POLL_MS 20
#define KILL_GRACE_MS 2000

extern char **environ;

struct retrain_job {
    pthread_t watcher;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC: wakes the watcher (stop) and waiters (ended) */
    const struct sh_clock *clock;
    int64_t timeout_ms;
    void (*on_exit)(void *ctx);
    void *ctx;
    bool stop_requested;
    bool ended;
    bool has_pidfile;
    struct procfile pidfile; /* "<pid_base>.pid" while the process runs */
    struct retrain_job_result res;
};

const char *retrain_job_state_name(enum retrain_job_state s)
{
    switch (s) {
    case RETRAIN_JOB_RUNNING:
        return "Running";
    case RETRAIN_JOB_SUCCEEDED:
        return "Succeeded";
    case RETRAIN_JOB_FAILED:
        return "Failed";
    case RETRAIN_JOB_TIMED_OUT:
        return "TimedOut";
    case RETRAIN_JOB_STOPPED:
        return "Stopped";
    }
    return "Unknown";
}

static char *fmt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *fmt_err(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

/* The environment with NAME=value entries added or replaced. Owned array of owned strings. */
static char **build_env(const struct retrain_job_spec *s)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = calloc(n + s->nenv + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t e = 0; e < s->nenv && !replaced; e++) {
            size_t len = strlen(s->env_names[e]);
            replaced = strncmp(environ[i], s->env_names[e], len) == 0 && environ[i][len] == '=';
        }
        if (!replaced && !(env[k++] = strdup(environ[i])))
            goto oom;
    }
    for (size_t e = 0; e < s->nenv; e++)
        if (asprintf(&env[k++], "%s=%s", s->env_names[e], s->env_values[e] ? s->env_values[e] : "") < 0) {
            env[k - 1] = NULL;
            goto oom;
        }
    return env;
oom:
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
    return NULL;
}

static void free_env(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

/* Waits ms, or less when a stop is requested and not yet acted on. */
static void sleep_on(struct retrain_job *j, int64_t ms, bool wake_on_stop)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&j->mu);
    if (!(wake_on_stop && j->stop_requested))
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    pthread_mutex_unlock(&j->mu);
}

static void fmt_duration(int64_t ms, char *buf, size_t size)
{
    if (ms % 3600000 == 0 && ms >= 3600000)
        snprintf(buf, size, "%lldh", (long long)(ms / 3600000));
    else if (ms % 60000 == 0 && ms >= 60000)
        snprintf(buf, size, "%lldm", (long long)(ms / 60000));
    else if (ms % 1000 == 0)
        snprintf(buf, size, "%llds", (long long)(ms / 1000));
    else
        snprintf(buf, size, "%lldms", (long long)ms);
}

static void *watch_main(void *arg)
{
    struct retrain_job *j = arg;
    pid_t pid = j->res.pid;
    bool term_sent = false, kill_sent = false, timed_out = false, stopped = false;
    int64_t term_at = 0;
    int status = 0;
    bool reaped = false;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            reaped = true;
            break;
        }
        if (r < 0 && errno != EINTR)
            break; /* ECHILD: reaped by someone else; the result is unknown */
        pthread_mutex_lock(&j->mu);
        bool stop = j->stop_requested;
        pthread_mutex_unlock(&j->mu);
        int64_t now = clock_now_ms(j->clock);
        if (!term_sent && (stop || (j->timeout_ms > 0 && now - j->res.start_ms >= j->timeout_ms))) {
            stopped = stop;
            timed_out = !stop;
            killpg(pid, SIGTERM);
            term_sent = true;
            term_at = clock_monotonic_ms();
        }
        if (term_sent && !kill_sent && clock_monotonic_ms() - term_at >= KILL_GRACE_MS) {
            killpg(pid, SIGKILL);
            kill_sent = true;
        }
        sleep_on(j, POLL_MS, !term_sent);
    }
    if (term_sent)
        killpg(pid, SIGKILL); /* whatever is left of the group */
    if (j->has_pidfile)
        unlink(j->pidfile.path);

    struct retrain_job_result res = j->res;
    res.end_ms = clock_now_ms(j->clock);
    if (!reaped) {
        res.state = RETRAIN_JOB_FAILED;
        snprintf(res.message, sizeof res.message, "process %d was reaped elsewhere: result unknown",
                 (int)pid);
    } else if (WIFEXITED(status)) {
        res.exit_code = WEXITSTATUS(status);
        res.state = res.exit_code == 0 ? RETRAIN_JOB_SUCCEEDED : RETRAIN_JOB_FAILED;
        snprintf(res.message, sizeof res.message, "exit status %d", res.exit_code);
    } else {
        res.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        res.state = RETRAIN_JOB_FAILED;
        snprintf(res.message, sizeof res.message, "killed by signal %d (%s)", res.signal,
                 strsignal(res.signal));
    }
    if (timed_out) {
        char d[32];
        fmt_duration(j->timeout_ms, d, sizeof d);
        res.state = RETRAIN_JOB_TIMED_OUT;
        snprintf(res.message, sizeof res.message, "timed out after %s: process group killed", d);
    } else if (stopped) {
        res.state = RETRAIN_JOB_STOPPED;
        snprintf(res.message, sizeof res.message, "stopped: process group killed");
    }
    pthread_mutex_lock(&j->mu);
    j->res = res;
    j->ended = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (j->on_exit)
        j->on_exit(j->ctx);
    return NULL;
}

/* In the child: only async-signal-safe calls until exec. */
static void child(const struct retrain_job_spec *s, int logfd, int nullfd, int errfd, char **env,
                  const struct procfile *pf)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL); /* nothing ignored (SIGPIPE) or handled is inherited */
    setpgid(0, 0);
    if (pf)
        procfile_child_write(pf);
    dup2(nullfd, STDIN_FILENO);
    if (logfd >= 0) {
        dup2(logfd, STDOUT_FILENO);
        dup2(logfd, STDERR_FILENO);
    }
    /* no descriptor of the controller's (sockets, state files) leaks into the job */
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (s->working_dir && chdir(s->working_dir) != 0) {
        int e = errno;
        (void)!write(errfd, &e, sizeof e);
        _exit(127);
    }
    execvpe(s->argv[0], s->argv, env);
    int e = errno;
    (void)!write(errfd, &e, sizeof e);
    _exit(127);
}

static int open_log(const char *path, char **ret_err)
{
    char *dir = fs_dirname(path);
    if (dir)
        fs_mkdir_p(dir);
    free(dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 && ret_err)
        *ret_err = fmt_err("cannot open the log %s: %s", path, strerror(errno));
    return fd;
}

int retrain_job_start(const struct retrain_job_spec *s, struct retrain_job **ret, char **ret_err)
{
    if (!s->argv || !s->argv[0] || !s->argv[0][0]) {
        if (ret_err)
            *ret_err = strdup("no command to run");
        return SH_EINVAL;
    }
    struct retrain_job *j = calloc(1, sizeof *j);
    char **env = build_env(s);
    if (!j || !env) {
        free(j);
        free_env(env);
        return SH_ENOMEM;
    }
    int logfd = -1, nullfd = -1, pfd[2] = {-1, -1};
    if (s->log_path && (logfd = open_log(s->log_path, ret_err)) < 0) {
        free(j);
        free_env(env);
        return SH_EIO;
    }
    nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullfd < 0 || pipe2(pfd, O_CLOEXEC) != 0) {
        if (ret_err)
            *ret_err = fmt_err("cannot start %s: %s", s->argv[0], strerror(errno));
        goto fail_io;
    }
    j->clock = s->clock ? s->clock : clock_real();
    j->timeout_ms = s->timeout_ms;
    j->on_exit = s->on_exit;
    j->ctx = s->ctx;
    j->res.state = RETRAIN_JOB_RUNNING;
    j->res.exit_code = -1;
    j->res.start_ms = clock_now_ms(j->clock);
    j->has_pidfile = s->pid_base && procfile_prepare(&j->pidfile, s->pid_base);

    pid_t pid = fork();
    if (pid < 0) {
        if (ret_err)
            *ret_err = fmt_err("cannot start %s: fork: %s", s->argv[0], strerror(errno));
        goto fail_io;
    }
    if (pid == 0)
        child(s, logfd, nullfd, pfd[1], env, j->has_pidfile ? &j->pidfile : NULL);
    setpgid(pid, pid); /* also in the parent: no window where killpg misses it */
    close(pfd[1]);
    pfd[1] = -1;
    int e = 0;
    ssize_t n;
    while ((n = read(pfd[0], &e, sizeof e)) < 0 && errno == EINTR)
        ;
    close(pfd[0]);
    close(nullfd);
    if (logfd >= 0)
        close(logfd);
    free_env(env);
    if (n == (ssize_t)sizeof e) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        if (j->has_pidfile)
            unlink(j->pidfile.path);
        if (ret_err)
            *ret_err = fmt_err("cannot run '%s'%s: %s", s->argv[0],
                               s->working_dir ? " in its working folder" : "", strerror(e));
        free(j);
        return e == ENOMEM ? SH_ENOMEM : SH_ENOTFOUND;
    }
    j->res.pid = pid;
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&j->watcher, NULL, watch_main, j) != 0) {
        killpg(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        if (j->has_pidfile)
            unlink(j->pidfile.path);
        pthread_cond_destroy(&j->cv);
        pthread_mutex_destroy(&j->mu);
        free(j);
        if (ret_err)
            *ret_err = strdup("cannot start the watcher thread");
        return SH_ENOMEM;
    }
    *ret = j;
    return 0;

fail_io:
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (nullfd >= 0)
        close(nullfd);
    if (logfd >= 0)
        close(logfd);
    free_env(env);
    free(j);
    return SH_EIO;
}

void retrain_job_result(struct retrain_job *j, struct retrain_job_result *ret)
{
    pthread_mutex_lock(&j->mu);
    *ret = j->res;
    pthread_mutex_unlock(&j->mu);
}

int retrain_job_wait(struct retrain_job *j, int64_t max_ms)
{
    int64_t deadline = max_ms < 0 ? -1 : clock_monotonic_ms() + max_ms;
    pthread_mutex_lock(&j->mu);
    while (!j->ended) {
        if (deadline < 0) {
            pthread_cond_wait(&j->cv, &j->mu);
            continue;
        }
        int64_t left = deadline - clock_monotonic_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (long)(left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    }
    bool ended = j->ended;
    pthread_mutex_unlock(&j->mu);
    return ended ? 0 : SH_ETIMEOUT;
}

void retrain_job_stop(struct retrain_job *j)
{
    pthread_mutex_lock(&j->mu);
    j->stop_requested = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    retrain_job_wait(j, -1);
}

void retrain_job_free(struct retrain_job *j)
{
    if (!j)
        return;
    retrain_job_stop(j);
    pthread_join(j->watcher, NULL);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}
