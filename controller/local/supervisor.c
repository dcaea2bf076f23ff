/*
 * supervisor.c — the process table of supervisor.h and its reaper thread.
 *
 * `mu` guards the table (a list for iteration, a map for lookup) and every
 * entry; `cond` is broadcast whenever a process ends or an entry stops being
 * busy. An operation on a key marks the entry busy for its whole length
 * (waiting on `cond` while another one runs), so stop-then-start of a
 * restart cannot interleave with another start. How a process is started,
 * reaped and stopped is base/proc.h; the spawn happens outside the lock.
 *
 * The reaper sleeps in poll() on the pidfds of the running processes and an
 * eventfd (woken when the table changes), with a timeout for the nearest
 * command deadline (and 50 ms when a process has no pidfd). An ended
 * process is reaped with proc_try_reap, which takes the rest of its group
 * down first (unless the launch leaves its group running).
 *
 * A supervised service (a launch with a log and without leave_group) also
 * gets "<log>.pid" ("PID STARTTIME"), removed when it is reaped. A
 * controller killed with SIGKILL cannot stop its services; the one started
 * next finds the file and, if that very process (same start time) still
 * runs, stops its group before starting the service again — never two
 * copies of a service fighting over its port.
 */
#include "local/supervisor.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/proc.h"
#include "base/procfile.h"
#include "base/strmap.h"

#define POLL_FALLBACK_MS 50

struct proc {
    struct proc *next, *prev;
    char *key;
    /* the last launch */
    char **argv;
    char *working_dir;
    char **env_names, **env_values;
    size_t env_count;
    char *log_path;
    int64_t timeout_ms;
    bool leave_group;
    bool has_launch;

    struct proc_child child; /* pid, pidfd, pid file (base/proc.h) */
    bool running;
    bool busy;
    bool stop_requested;
    int64_t deadline_mono; /* 0: none */
    struct supervisor_info info;
};

struct supervisor {
    const struct sh_clock *clock;
    int64_t grace_ms;
    void (*on_exit)(void *ctx, const char *key);
    void *ctx;

    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct strmap *by_key;
    struct proc *head;
    size_t count;
    int wake_fd;
    pthread_t reaper;
    bool reaper_started;
    bool stopping;
    struct pollfd *fds;     /* the reaper's poll set (here, so a forked child's
                               leak report finds it reachable) */
    size_t fds_cap;
};

/* ---- small helpers ---- */

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* A NULL-terminated copy of n strings (n == SIZE_MAX: up to the NULL). */
static char **dup_strv(char *const *v, size_t n)
{
    size_t count = 0;
    if (v)
        while ((n == SIZE_MAX ? v[count] != NULL : count < n))
            count++;
    char **out = calloc(count + 1, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < count; i++)
        if (!(out[i] = strdup(v[i] ? v[i] : ""))) {
            free_strv(out);
            return NULL;
        }
    return out;
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool strv_eq(char *const *a, char *const *b, size_t n)
{
    for (size_t i = 0; n == SIZE_MAX ? (a[i] || b[i]) : i < n; i++)
        if (!str_eq(a[i], b[i]))
            return false;
    return true;
}

static void clear_launch(struct proc *p)
{
    free_strv(p->argv);
    free(p->working_dir);
    free_strv(p->env_names);
    free_strv(p->env_values);
    free(p->log_path);
    p->argv = p->env_names = p->env_values = NULL;
    p->working_dir = p->log_path = NULL;
    p->env_count = 0;
    p->has_launch = false;
}

static int copy_launch(struct proc *p, const struct supervisor_launch *l)
{
    clear_launch(p);
    p->argv = dup_strv(l->argv, SIZE_MAX);
    p->env_names = dup_strv(l->env_names, l->env_count);
    p->env_values = dup_strv(l->env_values, l->env_count);
    p->working_dir = l->working_dir ? strdup(l->working_dir) : NULL;
    p->log_path = l->log_path ? strdup(l->log_path) : NULL;
    p->env_count = l->env_count;
    p->timeout_ms = l->timeout_ms;
    p->leave_group = l->leave_group;
    if (!p->argv || !p->env_names || !p->env_values || (l->working_dir && !p->working_dir) ||
        (l->log_path && !p->log_path)) {
        clear_launch(p);
        return SH_ENOMEM;
    }
    p->has_launch = true;
    return 0;
}

static void proc_free(struct proc *p)
{
    if (!p)
        return;
    clear_launch(p);
    if (p->child.pidfd >= 0)
        close(p->child.pidfd);
    free(p->key);
    free(p);
}

static void wake(struct supervisor *sv)
{
    uint64_t one = 1;
    ssize_t n = write(sv->wake_fd, &one, sizeof one);
    (void)n;
}

/* The timespec of a clock_monotonic_ms() value, for the cond (CLOCK_MONOTONIC). */
static struct timespec mono_at(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    return ts;
}

static struct timespec mono_deadline(int64_t ms_from_now)
{
    return mono_at(clock_monotonic_ms() + ms_from_now);
}

/* Waits on cond until the deadline (lock held). false once it has passed. */
static bool wait_until(struct supervisor *sv, const struct timespec *deadline)
{
    return pthread_cond_timedwait(&sv->cond, &sv->mu, deadline) == 0 ||
           clock_monotonic_ms() < (int64_t)deadline->tv_sec * 1000 + deadline->tv_nsec / 1000000;
}

/* ---- the table (lock held) ---- */

static struct proc *find(struct supervisor *sv, const char *key)
{
    return strmap_get(sv->by_key, key);
}

static struct proc *find_or_add(struct supervisor *sv, const char *key)
{
    struct proc *p = find(sv, key);
    if (p)
        return p;
    p = calloc(1, sizeof *p);
    if (!p || !(p->key = strdup(key))) {
        free(p);
        return NULL;
    }
    p->child.pidfd = -1;
    if (strmap_put(sv->by_key, key, p, NULL) != 0) {
        proc_free(p);
        return NULL;
    }
    p->next = sv->head;
    if (sv->head)
        sv->head->prev = p;
    sv->head = p;
    sv->count++;
    return p;
}

static void unlink_proc(struct supervisor *sv, struct proc *p)
{
    strmap_remove(sv->by_key, p->key);
    if (p->prev)
        p->prev->next = p->next;
    else
        sv->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->next = p->prev = NULL;
    sv->count--;
}

/* Takes the key's entry for an operation (lock held; waits while another
 * operation holds it). NULL when the entry went away while waiting. */
static struct proc *acquire(struct supervisor *sv, const char *key, bool create)
{
    for (;;) {
        struct proc *p = create ? find_or_add(sv, key) : find(sv, key);
        if (!p)
            return NULL;
        if (!p->busy) {
            p->busy = true;
            return p;
        }
        pthread_cond_wait(&sv->cond, &sv->mu);
    }
}

static void release(struct supervisor *sv, struct proc *p)
{
    p->busy = false;
    pthread_cond_broadcast(&sv->cond);
}

/* ---- exit handling (lock held) ---- */

static void describe_exit(struct proc *p, int status)
{
    struct supervisor_info *in = &p->info;
    in->exit_code = -1;
    in->term_signal = 0;
    if (WIFEXITED(status)) {
        in->exit_code = WEXITSTATUS(status);
        in->success = in->exit_code == 0;
        snprintf(in->exit_text, sizeof in->exit_text, "exited with status %d", in->exit_code);
    } else if (WIFSIGNALED(status)) {
        in->term_signal = WTERMSIG(status);
        in->success = false;
        const char *abbrev = sigabbrev_np(in->term_signal);
        snprintf(in->exit_text, sizeof in->exit_text, "was killed by signal %d (SIG%s)",
                 in->term_signal, abbrev ? abbrev : "?");
    } else {
        in->success = false;
        snprintf(in->exit_text, sizeof in->exit_text, "ended (status 0x%x)", (unsigned)status);
    }
    if (in->timed_out) {
        char text[sizeof in->exit_text];
        snprintf(text, sizeof text, "timed out after %lld ms and %s", (long long)p->timeout_ms,
                 in->exit_text);
        memcpy(in->exit_text, text, sizeof text);
        in->success = false;
    } else if (p->stop_requested) {
        in->stopped = true;
    }
}

/* ---- the pid file of a supervised service ---- */

/* "<log>.pid" for a launch that has one; false otherwise. */
static bool pidfile_of(const struct proc *p, char *buf, size_t size)
{
    if (!p->log_path || !p->log_path[0] || p->leave_group)
        return false;
    int n = snprintf(buf, size, "%s.pid", p->log_path);
    return n > 0 && (size_t)n < size;
}

/* Before starting p: stops the process an earlier controller left running
 * for it (the same pid and start time as in the pid file). Entry busy, lock
 * NOT held. */
static void take_over_leftover(struct supervisor *sv, const struct proc *p)
{
    char path[4096];
    if (!pidfile_of(p, path, sizeof path))
        return;
    pid_t pid = 0;
    unsigned long long start = 0;
    if (procfile_read(path, &pid, &start) == 0)
        proc_stop_group(pid, start, sv->grace_ms);
    unlink(path);
}

/* Reaps p when its process has ended. true when it did. */
static bool try_reap(struct supervisor *sv, struct proc *p)
{
    bool kill_group = !p->leave_group || p->stop_requested || p->info.timed_out;
    int status = 0;
    if (proc_try_reap(&p->child, kill_group, &status) == PROC_RUNNING)
        return false;
    p->running = false;
    p->deadline_mono = 0;
    p->info.running = false;
    p->info.exited = true;
    p->info.exited_ms = clock_now_ms(sv->clock);
    describe_exit(p, status);
    pthread_cond_broadcast(&sv->cond);
    return true;
}

/* ---- the reaper ---- */

struct exited {
    char **keys;
    size_t n, cap;
};

static void note_exit(struct exited *ex, const char *key)
{
    if (ex->n == ex->cap) {
        size_t cap = ex->cap ? ex->cap * 2 : 8;
        char **k = realloc(ex->keys, cap * sizeof *k);
        if (!k)
            return;
        ex->keys = k;
        ex->cap = cap;
    }
    char *copy = strdup(key);
    if (copy)
        ex->keys[ex->n++] = copy;
}

/* One pass over the table (lock held): reaps ended processes, kills those
 * past their deadline; returns the poll timeout for the next sleep. */
static int sweep(struct supervisor *sv, struct exited *ex)
{
    int64_t now = clock_monotonic_ms();
    int timeout = -1;
    for (struct proc *p = sv->head; p; p = p->next) {
        if (!p->running)
            continue;
        if (try_reap(sv, p)) {
            if (!p->stop_requested)
                note_exit(ex, p->key);
            continue;
        }
        if (p->deadline_mono > 0) {
            if (now >= p->deadline_mono) {
                p->info.timed_out = true;
                p->deadline_mono = 0;
                proc_signal(&p->child, SIGKILL); /* its pidfd wakes the reaper once it is gone */
            } else {
                int64_t left = p->deadline_mono - now;
                if (timeout < 0 || left < timeout)
                    timeout = (int)(left > 60000 ? 60000 : left);
            }
        }
        if (p->child.pidfd < 0 && (timeout < 0 || timeout > POLL_FALLBACK_MS))
            timeout = POLL_FALLBACK_MS;
    }
    return timeout;
}

static void *reaper_main(void *arg)
{
    struct supervisor *sv = arg;
    for (;;) {
        struct exited ex = {0};
        pthread_mutex_lock(&sv->mu);
        if (sv->stopping) {
            pthread_mutex_unlock(&sv->mu);
            break;
        }
        int timeout = sweep(sv, &ex);
        size_t need = sv->count + 1;
        if (need > sv->fds_cap) {
            struct pollfd *f = realloc(sv->fds, need * sizeof *f);
            if (f) {
                sv->fds = f;
                sv->fds_cap = need;
            }
        }
        struct pollfd *fds = sv->fds;
        size_t cap = sv->fds_cap;
        size_t n = 0;
        if (fds) {
            fds[n++] = (struct pollfd){.fd = sv->wake_fd, .events = POLLIN};
            for (struct proc *p = sv->head; p && n < cap; p = p->next)
                if (p->running && p->child.pidfd >= 0)
                    fds[n++] = (struct pollfd){.fd = p->child.pidfd, .events = POLLIN};
        }
        pthread_mutex_unlock(&sv->mu);

        for (size_t i = 0; i < ex.n; i++) {
            if (sv->on_exit)
                sv->on_exit(sv->ctx, ex.keys[i]);
            free(ex.keys[i]);
        }
        free(ex.keys);

        if (!fds) {
            struct timespec ts = {0, POLL_FALLBACK_MS * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (poll(fds, n, timeout) > 0 && (fds[0].revents & POLLIN)) {
            uint64_t v;
            ssize_t r = read(sv->wake_fd, &v, sizeof v);
            (void)r;
        }
    }
    return NULL;
}

/* ---- starting ---- */

/* The log's first line: "--- TIME selfheal: starting ARGV…\n", at most size - 1 bytes. */
static void log_header(const struct proc *p, int64_t now_ms, char *line, size_t size)
{
    char when[32];
    clock_format_rfc3339_ms(now_ms, when, sizeof when);
    int n = snprintf(line, size, "--- %s selfheal: starting", when);
    for (size_t i = 0; p->argv[i] && n > 0 && (size_t)n < size; i++)
        n += snprintf(line + n, size - (size_t)n, " %s", p->argv[i]);
    if (n > 0 && (size_t)n < size - 1)
        line[n++] = '\n';
    else
        line[(n = (int)size - 1) - 1] = '\n';
    line[n] = '\0';
}

/* Forks and execs p's launch into p->child (entry busy, not running, lock
 * NOT held: nothing reads p->child meanwhile). 0, or SH_EIO / SH_ENOMEM
 * with *ret_err. */
static int spawn(struct supervisor *sv, struct proc *p, char **ret_err)
{
    take_over_leftover(sv, p);
    char header[1024];
    log_header(p, clock_now_ms(sv->clock), header, sizeof header);
    char path[4096];
    struct proc_spec s = {.argv = p->argv,
                          .working_dir = p->working_dir,
                          .env_names = (const char *const *)p->env_names,
                          .env_values = (const char *const *)p->env_values,
                          .env_count = p->env_count,
                          .log_path = p->log_path,
                          .log_header = header,
                          .pid_base = pidfile_of(p, path, sizeof path) ? p->log_path : NULL,
                          .want_pidfd = true};
    int err = proc_spawn(&s, &p->child, ret_err);
    return err == SH_ENOTFOUND ? SH_EIO : err;
}

/* Starts p's launch (entry busy, lock held; dropped around the fork). */
static int start_locked(struct supervisor *sv, struct proc *p, char **ret_err)
{
    if (!p->has_launch || !p->argv[0] || !p->argv[0][0])
        return SH_EINVAL;
    p->info.known = true;
    pthread_mutex_unlock(&sv->mu);
    int err = spawn(sv, p, ret_err);
    pthread_mutex_lock(&sv->mu);
    if (err)
        return err;
    p->running = true;
    p->stop_requested = false;
    p->deadline_mono = p->timeout_ms > 0 ? clock_monotonic_ms() + p->timeout_ms : 0;
    struct supervisor_info *in = &p->info;
    in->running = true;
    in->pid = p->child.pid;
    in->starts++;
    in->started_ms = clock_now_ms(sv->clock);
    in->exited_ms = 0;
    in->exited = in->success = in->timed_out = in->stopped = false;
    in->exit_code = -1;
    in->term_signal = 0;
    in->exit_text[0] = '\0';
    wake(sv);
    return 0;
}

/* Waits for p's process to be reaped until the deadline (lock held). */
static bool wait_gone(struct supervisor *sv, struct proc *p, const struct timespec *deadline)
{
    while (p->running)
        if (!wait_until(sv, deadline))
            return !p->running;
    return true;
}

struct stopping {
    struct supervisor *sv;
    struct proc *p;
};

/* proc_terminate's wait: the reaper reaps p (lock held, dropped while waiting). */
static bool reaped_by(void *ctx, int64_t deadline_ms)
{
    struct stopping *st = ctx;
    struct timespec deadline = mono_at(deadline_ms);
    return wait_gone(st->sv, st->p, &deadline);
}

/* Stops p's process: SIGTERM, the grace, SIGKILL (entry busy, lock held). */
static void stop_locked(struct supervisor *sv, struct proc *p)
{
    if (!p->running)
        return;
    p->stop_requested = true;
    proc_terminate(&p->child, sv->grace_ms, reaped_by, &(struct stopping){sv, p});
}

/* ---- the API ---- */

int supervisor_new(const struct supervisor_options *opts, struct supervisor **ret)
{
    struct supervisor *sv = calloc(1, sizeof *sv);
    if (!sv)
        return SH_ENOMEM;
    sv->clock = opts && opts->clock ? opts->clock : clock_real();
    sv->grace_ms = opts && opts->grace_ms > 0 ? opts->grace_ms : SUPERVISOR_DEFAULT_GRACE_MS;
    sv->on_exit = opts ? opts->on_exit : NULL;
    sv->ctx = opts ? opts->ctx : NULL;
    sv->wake_fd = -1;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&sv->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        free(sv);
        return SH_ENOMEM;
    }
    pthread_mutex_init(&sv->mu, NULL);
    sv->by_key = strmap_new();
    sv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!sv->by_key || sv->wake_fd < 0 ||
        pthread_create(&sv->reaper, NULL, reaper_main, sv) != 0) {
        int err = sv->by_key ? SH_EIO : SH_ENOMEM;
        supervisor_free(sv);
        return err;
    }
    sv->reaper_started = true;
    *ret = sv;
    return 0;
}

int supervisor_start(struct supervisor *sv, const char *key, const struct supervisor_launch *l,
                     char **ret_err)
{
    if (!key || !l || !l->argv || !l->argv[0] || !l->argv[0][0])
        return SH_EINVAL;
    pthread_mutex_lock(&sv->mu);
    struct proc *p = acquire(sv, key, true);
    int err = SH_ENOMEM;
    if (p) {
        if (p->running)
            err = SH_EEXISTS;
        else if ((err = copy_launch(p, l)) == 0)
            err = start_locked(sv, p, ret_err);
        release(sv, p);
    }
    pthread_mutex_unlock(&sv->mu);
    return err;
}

int supervisor_restart(struct supervisor *sv, const char *key, const struct supervisor_launch *l,
                       char **ret_err)
{
    if (!key || (l && (!l->argv || !l->argv[0] || !l->argv[0][0])))
        return SH_EINVAL;
    pthread_mutex_lock(&sv->mu);
    struct proc *p = acquire(sv, key, l != NULL);
    int err = l ? SH_ENOMEM : SH_ENOTFOUND;
    if (p) {
        err = 0;
        if (!l && !p->has_launch)
            err = SH_ENOTFOUND;
        if (!err) {
            stop_locked(sv, p);
            if (l)
                err = copy_launch(p, l);
            if (!err)
                err = p->running ? SH_EEXISTS : start_locked(sv, p, ret_err);
        }
        release(sv, p);
    }
    pthread_mutex_unlock(&sv->mu);
    return err;
}

int supervisor_signal(struct supervisor *sv, const char *key, int sig)
{
    pthread_mutex_lock(&sv->mu);
    struct proc *p = key ? find(sv, key) : NULL;
    int err = SH_ENOTFOUND;
    if (p && p->running)
        err = proc_signal(&p->child, sig);
    pthread_mutex_unlock(&sv->mu);
    return err;
}

int supervisor_stop(struct supervisor *sv, const char *key)
{
    pthread_mutex_lock(&sv->mu);
    struct proc *p = key ? acquire(sv, key, false) : NULL;
    if (p) {
        stop_locked(sv, p);
        release(sv, p);
    }
    pthread_mutex_unlock(&sv->mu);
    return 0;
}

void supervisor_forget(struct supervisor *sv, const char *key)
{
    pthread_mutex_lock(&sv->mu);
    struct proc *p = key ? acquire(sv, key, false) : NULL;
    if (p) {
        stop_locked(sv, p);
        if (p->running) { /* unkillable: keep watching it, forget the launch */
            clear_launch(p);
            release(sv, p);
        } else {
            unlink_proc(sv, p);
            pthread_cond_broadcast(&sv->cond);
            proc_free(p);
        }
    }
    pthread_mutex_unlock(&sv->mu);
}

void supervisor_release(struct supervisor *sv, const char *key)
{
    pthread_mutex_lock(&sv->mu);
    struct proc *p = key ? acquire(sv, key, false) : NULL;
    if (p) {
        unlink_proc(sv, p);
        pthread_cond_broadcast(&sv->cond);
        proc_free(p);
    }
    pthread_mutex_unlock(&sv->mu);
}

void supervisor_stop_all(struct supervisor *sv)
{
    pthread_mutex_lock(&sv->mu);
    /* wait for operations in progress, then hold every entry */
    for (struct proc *p = sv->head; p;) {
        if (p->busy) {
            pthread_cond_wait(&sv->cond, &sv->mu);
            p = sv->head; /* the list may have changed */
            continue;
        }
        p = p->next;
    }
    for (struct proc *p = sv->head; p; p = p->next) {
        p->busy = true;
        if (p->running) {
            p->stop_requested = true;
            proc_signal(&p->child, SIGTERM);
        }
    }
    struct timespec grace = mono_deadline(sv->grace_ms);
    bool all_gone = false;
    while (!all_gone) {
        all_gone = true;
        for (struct proc *p = sv->head; p && all_gone; p = p->next)
            all_gone = !p->running;
        if (!all_gone && !wait_until(sv, &grace))
            break;
    }
    struct timespec hard = mono_deadline(PROC_KILL_WAIT_MS);
    for (struct proc *p = sv->head; p; p = p->next)
        if (p->running) {
            proc_signal(&p->child, SIGKILL);
            wait_gone(sv, p, &hard);
        }
    for (struct proc *p = sv->head; p; p = p->next)
        p->busy = false;
    pthread_cond_broadcast(&sv->cond);
    pthread_mutex_unlock(&sv->mu);
}

int supervisor_info(struct supervisor *sv, const char *key, struct supervisor_info *ret)
{
    memset(ret, 0, sizeof *ret);
    pthread_mutex_lock(&sv->mu);
    struct proc *p = key ? find(sv, key) : NULL;
    if (p)
        *ret = p->info;
    pthread_mutex_unlock(&sv->mu);
    return p ? 0 : SH_ENOTFOUND;
}

bool supervisor_same_launch(struct supervisor *sv, const char *key,
                            const struct supervisor_launch *l)
{
    pthread_mutex_lock(&sv->mu);
    struct proc *p = key ? find(sv, key) : NULL;
    bool same = p && p->has_launch && l && l->argv && strv_eq(p->argv, l->argv, SIZE_MAX) &&
                str_eq(p->working_dir, l->working_dir) && p->env_count == l->env_count &&
                (l->env_count == 0 || (strv_eq(p->env_names, l->env_names, l->env_count) &&
                                       strv_eq(p->env_values, l->env_values, l->env_count)));
    pthread_mutex_unlock(&sv->mu);
    return same;
}

int supervisor_wait(struct supervisor *sv, const char *key, long timeout_ms)
{
    struct timespec deadline = mono_deadline(timeout_ms);
    pthread_mutex_lock(&sv->mu);
    int err = 0;
    for (;;) {
        struct proc *p = find(sv, key);
        if (!p || !p->running)
            break;
        if (!wait_until(sv, &deadline)) {
            p = find(sv, key);
            err = p && p->running ? SH_ETIMEOUT : 0;
            break;
        }
    }
    pthread_mutex_unlock(&sv->mu);
    return err;
}

size_t supervisor_running(struct supervisor *sv)
{
    size_t n = 0;
    pthread_mutex_lock(&sv->mu);
    for (struct proc *p = sv->head; p; p = p->next)
        n += p->running;
    pthread_mutex_unlock(&sv->mu);
    return n;
}

void supervisor_free(struct supervisor *sv)
{
    if (!sv)
        return;
    if (sv->reaper_started)
        supervisor_stop_all(sv);
    pthread_mutex_lock(&sv->mu);
    sv->stopping = true;
    pthread_mutex_unlock(&sv->mu);
    if (sv->reaper_started) {
        wake(sv);
        pthread_join(sv->reaper, NULL);
    }
    for (struct proc *p = sv->head, *next; p; p = next) {
        next = p->next;
        proc_free(p);
    }
    strmap_free(sv->by_key);
    free(sv->fds);
    if (sv->wake_fd >= 0)
        close(sv->wake_fd);
    pthread_mutex_destroy(&sv->mu);
    pthread_cond_destroy(&sv->cond);
    free(sv);
}
