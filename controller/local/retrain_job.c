/*
 * retrain_job.c — a background command with a watcher thread
 * (retrain_job.h). The process is started, reaped and stopped through
 * base/proc.h; this file owns the watching: the timeout on the injected
 * clock, the stop request, the result and the on_exit call.
 *
 * `mu` guards stop_requested, ended and res; `cv` (CLOCK_MONOTONIC) wakes
 * the watcher on a stop and the waiters when the job has ended. `child` is
 * the watcher's alone once the start has returned.
 */
#include "local/retrain_job.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "base/errors.h"
#include "base/proc.h"

#define POLL_MS 20
#define KILL_GRACE_MS 2000

struct retrain_job {
    pthread_t watcher;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const struct sh_clock *clock;
    int64_t mono_start_ms; /* the timeout is measured on the monotonic clock */
    int64_t timeout_ms;
    void (*on_exit)(void *ctx);
    void *ctx;
    bool stop_requested;
    bool ended;
    struct proc_child child; /* pid, "<pid_base>.pid" while the process runs */
    struct retrain_job_result res;
};

/* How the child ended, as the watcher saw it. */
struct watch {
    struct retrain_job *j;
    enum proc_reap reap; /* PROC_REAPED (status) or PROC_LOST */
    int status;
    bool timed_out, stopped;
};

/* The CLOCK_MONOTONIC time ms from now, for cv. */
static struct timespec mono_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Waits ms, or less when a stop is requested (and wake_on_stop). */
static void sleep_on(struct retrain_job *j, int64_t ms, bool wake_on_stop)
{
    struct timespec ts = mono_in(ms);
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

/* proc_terminate's wait: reaps the child (with what is left of its group)
 * by polling until the deadline. */
static bool reaped_by(void *ctx, int64_t deadline_ms)
{
    struct watch *w = ctx;
    while ((w->reap = proc_try_reap(&w->j->child, true, &w->status)) == PROC_RUNNING) {
        if (clock_monotonic_ms() >= deadline_ms)
            return false;
        sleep_on(w->j, POLL_MS, false);
    }
    return true;
}

/* Polls until the child has ended by itself, or ends it at the timeout or
 * on a stop request; fills w. */
static void watch_until_end(struct watch *w)
{
    struct retrain_job *j = w->j;
    while ((w->reap = proc_try_reap(&j->child, false, &w->status)) == PROC_RUNNING) {
        pthread_mutex_lock(&j->mu);
        w->stopped = j->stop_requested;
        pthread_mutex_unlock(&j->mu);
        int64_t ran = clock_mono_ms(j->clock) - j->mono_start_ms; /* a wall step moves nothing */
        w->timed_out = !w->stopped && j->timeout_ms > 0 && ran >= j->timeout_ms;
        if (w->stopped || w->timed_out) {
            if (!proc_terminate(&j->child, KILL_GRACE_MS, reaped_by, w))
                reaped_by(w, INT64_MAX);
            return;
        }
        sleep_on(j, POLL_MS, true);
    }
}

/* The result of the ended job from what the watcher saw. */
static void describe_end(const struct retrain_job *j, const struct watch *w,
                         struct retrain_job_result *res)
{
    res->end_ms = clock_now_ms(j->clock);
    if (w->reap == PROC_LOST) {
        res->state = RETRAIN_JOB_FAILED;
        snprintf(res->message, sizeof res->message,
                 "process %d was reaped elsewhere: result unknown", (int)res->pid);
    } else if (WIFEXITED(w->status)) {
        res->exit_code = WEXITSTATUS(w->status);
        res->state = res->exit_code == 0 ? RETRAIN_JOB_SUCCEEDED : RETRAIN_JOB_FAILED;
        snprintf(res->message, sizeof res->message, "exit status %d", res->exit_code);
    } else {
        res->signal = WIFSIGNALED(w->status) ? WTERMSIG(w->status) : 0;
        res->state = RETRAIN_JOB_FAILED;
        snprintf(res->message, sizeof res->message, "killed by signal %d (%s)", res->signal,
                 strsignal(res->signal));
    }
    if (w->timed_out) {
        char d[32];
        fmt_duration(j->timeout_ms, d, sizeof d);
        res->state = RETRAIN_JOB_TIMED_OUT;
        snprintf(res->message, sizeof res->message, "timed out after %s: process group killed",
                 d);
    } else if (w->stopped) {
        res->state = RETRAIN_JOB_STOPPED;
        snprintf(res->message, sizeof res->message, "stopped: process group killed");
    }
}

static void *watch_main(void *arg)
{
    struct retrain_job *j = arg;
    struct watch w = {.j = j};
    watch_until_end(&w);
    struct retrain_job_result res = j->res;
    describe_end(j, &w, &res);
    pthread_mutex_lock(&j->mu);
    j->res = res;
    j->ended = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (j->on_exit)
        j->on_exit(j->ctx);
    return NULL;
}

/* A job not started yet: its lock, its condition (CLOCK_MONOTONIC), its settings. */
static struct retrain_job *job_new(const struct retrain_job_spec *s)
{
    struct retrain_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    j->clock = s->clock ? s->clock : clock_real();
    j->timeout_ms = s->timeout_ms;
    j->on_exit = s->on_exit;
    j->ctx = s->ctx;
    j->res.state = RETRAIN_JOB_RUNNING;
    j->res.exit_code = -1;
    return j;
}

static void job_free(struct retrain_job *j)
{
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

int retrain_job_start(const struct retrain_job_spec *s, struct retrain_job **ret, char **ret_err)
{
    struct retrain_job *j = job_new(s);
    if (!j)
        return SH_ENOMEM;
    struct proc_spec ps = {.argv = s->argv,
                           .working_dir = s->working_dir,
                           .env_names = s->env_names,
                           .env_values = s->env_values,
                           .env_count = s->nenv,
                           .log_path = s->log_path,
                           .inherit_output = true,
                           .pid_base = s->pid_base};
    j->res.start_ms = clock_now_ms(j->clock);
    j->mono_start_ms = clock_mono_ms(j->clock);
    int r = proc_spawn(&ps, &j->child, ret_err);
    if (r != 0) {
        job_free(j);
        return r;
    }
    j->res.pid = j->child.pid;
    if (pthread_create(&j->watcher, NULL, watch_main, j) != 0) {
        proc_kill_reap(&j->child);
        job_free(j);
        if (ret_err)
            *ret_err = strdup("cannot start the watcher thread");
        return SH_ENOMEM;
    }
    *ret = j;
    return 0;
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
        struct timespec ts = mono_in(left);
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
    job_free(j);
}
