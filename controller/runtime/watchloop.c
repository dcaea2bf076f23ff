/*
 * watchloop.c — a source's watch thread: step, backoff, stop (watchloop.h).
 *
 * Stopping is a flag and a byte in a pipe: the flag for code that checks it
 * (the loop, kube_stream's progress callback), the pipe for code that waits
 * in poll() (the real wait, the folder source's inotify poll). The byte is
 * never read while the loop runs, so every later poll sees it too; start()
 * drains it. `backoff` is touched by the loop's thread only (and by the
 * owner before start and after the join).
 */
#include "runtime/watchloop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/errors.h"

struct watchloop {
    struct watchloop_options o;
    char *name;
    atomic_bool stop;
    int wake[2]; /* [0] becomes readable on stop; -1 before the first start */
    pthread_t thread;
    bool running;
    int64_t backoff; /* the next RETRY's wait */
};

int watchloop_new(const struct watchloop_options *o, struct watchloop **ret)
{
    struct watchloop *wl = calloc(1, sizeof *wl);
    if (!wl)
        return SH_ENOMEM;
    wl->o = *o;
    wl->name = strdup(o->name ? o->name : "watch");
    if (!wl->name) {
        free(wl);
        return SH_ENOMEM;
    }
    wl->o.name = wl->name;
    if (wl->o.backoff_ms <= 0)
        wl->o.backoff_ms = 800;
    if (wl->o.backoff_max_ms <= 0)
        wl->o.backoff_max_ms = 30000;
    wl->backoff = wl->o.backoff_ms;
    wl->wake[0] = wl->wake[1] = -1;
    atomic_init(&wl->stop, false);
    *ret = wl;
    return 0;
}

bool watchloop_stopping(const struct watchloop *wl)
{
    return atomic_load(&wl->stop);
}

const atomic_bool *watchloop_stop_flag(const struct watchloop *wl)
{
    return &wl->stop;
}

int watchloop_wake_fd(const struct watchloop *wl)
{
    return wl->wake[0];
}

int64_t watchloop_backoff_ms(const struct watchloop *wl)
{
    return wl->backoff;
}

void watchloop_reset_backoff(struct watchloop *wl)
{
    wl->backoff = wl->o.backoff_ms;
}

/* The real wait: poll() on the wake fd, monotonic, EINTR-safe. */
static bool wait_real(struct watchloop *wl, int64_t ms)
{
    int64_t deadline = clock_monotonic_ms() + (ms > 0 ? ms : 0);
    for (;;) {
        if (watchloop_stopping(wl))
            return false;
        int64_t left = deadline - clock_monotonic_ms();
        if (left <= 0)
            return true;
        struct pollfd pfd = {.fd = wl->wake[0], .events = POLLIN};
        int r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (r < 0 && errno != EINTR)
            return !watchloop_stopping(wl); /* cannot wait: do not spin on it either */
    }
}

bool watchloop_wait(struct watchloop *wl, int64_t ms)
{
    if (wl->o.wait)
        return wl->o.wait(wl->o.wait_ctx, wl, ms);
    return wait_real(wl, ms);
}

static int64_t grown(int64_t backoff, int64_t max)
{
    return backoff > max / 2 ? max : backoff * 2;
}

static void *loop_main(void *arg)
{
    struct watchloop *wl = arg;
    while (!watchloop_stopping(wl)) {
        enum watchloop_next next = wl->o.step(wl->o.ctx, wl);
        if (next == WATCHLOOP_STOP)
            break;
        if (next == WATCHLOOP_OK) {
            wl->backoff = wl->o.backoff_ms;
        } else if (next == WATCHLOOP_RETRY) {
            if (watchloop_stopping(wl) || !watchloop_wait(wl, wl->backoff))
                break;
            wl->backoff = grown(wl->backoff, wl->o.backoff_max_ms);
        }
    }
    return NULL;
}

/* Creates the wake pipe, or empties it after a previous stop. */
static int wake_ready(struct watchloop *wl, char **ret_err)
{
    if (wl->wake[0] < 0) {
        if (pipe2(wl->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
            if (ret_err && asprintf(ret_err, "pipe: %s", strerror(errno)) < 0)
                *ret_err = NULL;
            wl->wake[0] = wl->wake[1] = -1;
            return SH_EIO;
        }
        return 0;
    }
    char buf[64];
    while (read(wl->wake[0], buf, sizeof buf) > 0)
        ;
    return 0;
}

int watchloop_start(struct watchloop *wl, char **ret_err)
{
    if (wl->running)
        return 0;
    int r = wake_ready(wl, ret_err);
    if (r != 0)
        return r;
    atomic_store(&wl->stop, false);
    wl->backoff = wl->o.backoff_ms;
    if (pthread_create(&wl->thread, NULL, loop_main, wl) != 0) {
        if (ret_err && asprintf(ret_err, "cannot start the %s thread", wl->name) < 0)
            *ret_err = NULL;
        return SH_ENOMEM;
    }
    wl->running = true;
    return 0;
}

void watchloop_request_stop(struct watchloop *wl)
{
    atomic_store(&wl->stop, true);
    if (wl->wake[1] >= 0) {
        ssize_t w = write(wl->wake[1], "x", 1);
        (void)w; /* a full pipe is readable already */
    }
}

void watchloop_stop(struct watchloop *wl)
{
    watchloop_request_stop(wl);
    if (wl->running)
        pthread_join(wl->thread, NULL);
    wl->running = false;
}

void watchloop_free(struct watchloop *wl)
{
    if (!wl)
        return;
    watchloop_stop(wl);
    if (wl->wake[0] >= 0) {
        close(wl->wake[0]);
        close(wl->wake[1]);
    }
    free(wl->name);
    free(wl);
}

void watchloop_keys_add(struct watchloop_keys *kl, const char *key)
{
    if (kl->n == kl->cap) {
        size_t cap = kl->cap ? kl->cap * 2 : 16;
        char **nk = realloc(kl->keys, cap * sizeof *nk);
        if (!nk)
            return;
        kl->keys = nk;
        kl->cap = cap;
    }
    char *k = strdup(key);
    if (k)
        kl->keys[kl->n++] = k;
}

void watchloop_keys_add_once(struct watchloop_keys *kl, const char *key)
{
    for (size_t i = 0; i < kl->n; i++)
        if (strcmp(kl->keys[i], key) == 0)
            return;
    watchloop_keys_add(kl, key);
}

void watchloop_keys_flush(struct watchloop_keys *kl, source_notify_fn *notify, void *ctx)
{
    for (size_t i = 0; i < kl->n; i++) {
        if (notify)
            notify(ctx, kl->keys[i]);
        free(kl->keys[i]);
    }
    free(kl->keys);
    memset(kl, 0, sizeof *kl);
}

static struct pipeline *ws_get(struct source *src, const char *key)
{
    struct watchloop_source *ws = (struct watchloop_source *)src;
    pthread_mutex_lock(&ws->mu);
    struct pipeline *p = pipeline_ref(strmap_get(ws->snapshots, key));
    pthread_mutex_unlock(&ws->mu);
    return p;
}

static bool ws_has_synced(struct source *src)
{
    struct watchloop_source *ws = (struct watchloop_source *)src;
    pthread_mutex_lock(&ws->mu);
    bool s = ws->synced;
    pthread_mutex_unlock(&ws->mu);
    return s;
}

static char **ws_keys(struct source *src, size_t *ret_count)
{
    struct watchloop_source *ws = (struct watchloop_source *)src;
    pthread_mutex_lock(&ws->mu);
    char **k = strmap_keys(ws->snapshots, ret_count);
    pthread_mutex_unlock(&ws->mu);
    return k;
}

int watchloop_source_init(struct watchloop_source *ws,
                          int (*start)(struct source *, source_notify_fn *, void *, char **),
                          void (*stop)(struct source *), void (*free_)(struct source *))
{
    ws->base.start = start;
    ws->base.stop = stop;
    ws->base.free = free_;
    ws->base.get = ws_get;
    ws->base.has_synced = ws_has_synced;
    ws->base.keys = ws_keys;
    pthread_mutex_init(&ws->mu, NULL);
    ws->mu_ready = true;
    ws->snapshots = strmap_new();
    return ws->snapshots ? 0 : SH_ENOMEM;
}

static void unref_snapshot(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    pipeline_unref(value);
}

void watchloop_source_destroy(struct watchloop_source *ws)
{
    if (ws->snapshots)
        strmap_foreach(ws->snapshots, unref_snapshot, NULL);
    strmap_free(ws->snapshots);
    ws->snapshots = NULL;
    if (ws->mu_ready)
        pthread_mutex_destroy(&ws->mu);
    ws->mu_ready = false;
}

void watchloop_source_set_synced(struct watchloop_source *ws)
{
    pthread_mutex_lock(&ws->mu);
    ws->synced = true;
    pthread_mutex_unlock(&ws->mu);
}
