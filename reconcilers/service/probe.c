/*
 * probe.c — the prober of probe.h: a table of targets, a timetable
 * (probe_sched), a FIFO of due probes waiting for a slot, and one thread
 * that drives libcurl's multi handle.
 *
 * Every target is in exactly one state: IDLE (in the timetable), QUEUED (in
 * the FIFO) or RUNNING (holding a slot whose easy handle is in the multi).
 * API calls only touch the table, the timetable and the FIFO, under `lock`;
 * everything that touches curl handles happens on the prober thread. A
 * RUNNING target that is removed or gets a new URL is put on the cancel
 * list, and the thread takes its handle out of the multi, then frees the
 * target (removed) or schedules it at once (new URL).
 *
 * The thread's loop: read the clock once; run cancellations; move due
 * targets to the FIFO; start queued probes while slots are free; let curl
 * work (curl_multi_perform); collect finished transfers and update the
 * observations; call the callbacks with no lock held; sleep in
 * curl_multi_poll until a socket, a curl timer, the next due probe (at most
 * one second ahead) or curl_multi_wakeup.
 */
#include "service/probe.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/errors.h"
#include "service/probe_sched.h"
#include "service/probe_url.h"
#include "service/probe_xfer.h"
#include "base/strmap.h"

#define DEFAULT_MAX_CONCURRENT 256
#define DEFAULT_MAX_BODY (64 * 1024)
#define MAX_POLL_MS 1000

static const double latency_le_seconds[PROBE_LATENCY_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

enum target_state { TARGET_IDLE, TARGET_QUEUED, TARGET_RUNNING };

struct probe_target {
    char *key;
    char *url;
    char *display_url;  /* for messages: no credentials */
    char *host;
    struct http_credentials cred; /* sent with every probe */
    int64_t interval_ms;
    long timeout_ms;
    enum target_state state;
    struct probe_sched_item sched;       /* IDLE */
    struct probe_target *q_prev, *q_next; /* QUEUED */
    int64_t queued_mono_ms;
    struct probe_xfer *xfer;             /* RUNNING; NULL once its handle is released */
    struct probe_target *cancel_next;
    bool cancel_pending;
    bool removed;                        /* out of the table; the thread frees it */
    bool again;                          /* probe_now while RUNNING */
    int64_t fast_since_ms;               /* fast cadence since (prober_probe_fast), 0 off */
    int64_t last_start_ms;               /* injected clock, 0 never */
    struct probe_observation obs;
};

/* A finished probe, reported to the callbacks after the lock is dropped. */
struct probe_event {
    bool notify;
    char key[PROBE_KEY_MAX];
    struct probe_observation obs;
};

struct prober {
    const struct sh_clock *clock;
    prober_result_fn on_result;
    prober_probe_fn on_probe;
    void *ctx;
    size_t max_concurrent;
    size_t max_body;

    pthread_mutex_t lock;
    pthread_cond_t cond;       /* broadcast at the end of every loop iteration */
    bool lock_ready;
    struct strmap *targets;    /* key -> struct probe_target */
    struct probe_sched sched;
    struct probe_target *q_head, *q_tail;
    size_t queued;
    struct probe_target *cancels;

    CURLM *multi;
    bool curl_ready;
    struct probe_xfer *slots;
    struct probe_xfer **free_slots;
    size_t nfree;
    struct probe_event *events; /* thread only */

    pthread_t thread;
    bool thread_started;
    bool stopping;
    uint64_t iter_started;
    uint64_t iter_done;
    bool last_idle;

    struct probe_stats stats;  /* counters only; the rest is filled on read */
};

#define TARGET_OF(item) \
    ((struct probe_target *)((char *)(item) - offsetof(struct probe_target, sched)))

static void target_free(struct probe_target *t)
{
    if (!t)
        return;
    free(t->key);
    free(t->url);
    free(t->display_url);
    free(t->host);
    http_credentials_free(&t->cred);
    free(t);
}

/* ---- the FIFO of due probes (lock held) ---- */

static void queue_push(struct prober *pr, struct probe_target *t, int64_t mono_ms)
{
    t->state = TARGET_QUEUED;
    t->queued_mono_ms = mono_ms;
    t->q_next = NULL;
    t->q_prev = pr->q_tail;
    if (pr->q_tail)
        pr->q_tail->q_next = t;
    else
        pr->q_head = t;
    pr->q_tail = t;
    pr->queued++;
}

static void queue_unlink(struct prober *pr, struct probe_target *t)
{
    if (t->q_prev)
        t->q_prev->q_next = t->q_next;
    else
        pr->q_head = t->q_next;
    if (t->q_next)
        t->q_next->q_prev = t->q_prev;
    else
        pr->q_tail = t->q_prev;
    t->q_prev = t->q_next = NULL;
    pr->queued--;
}

/* ---- scheduling helpers (lock held) ---- */

/* Puts an idle target in the timetable; capacity was reserved when it was
 * added, so this cannot fail. */
static void schedule(struct prober *pr, struct probe_target *t, int64_t due_ms)
{
    t->state = TARGET_IDLE;
    probe_sched_remove(&pr->sched, &t->sched);
    (void)probe_sched_push(&pr->sched, &t->sched, due_ms);
}

static void request_cancel(struct prober *pr, struct probe_target *t)
{
    if (t->cancel_pending)
        return;
    t->cancel_pending = true;
    t->cancel_next = pr->cancels;
    pr->cancels = t;
}

static void wake(struct prober *pr)
{
    if (pr->multi)
        curl_multi_wakeup(pr->multi);
}

static void release_slot(struct prober *pr, struct probe_target *t)
{
    struct probe_xfer *x = t->xfer;
    if (!x)
        return;
    curl_multi_remove_handle(pr->multi, x->easy);
    x->owner = NULL;
    pr->free_slots[pr->nfree++] = x;
    t->xfer = NULL;
}

/* ---- the thread's steps (lock held) ---- */

static void run_cancels(struct prober *pr, int64_t now)
{
    while (pr->cancels) {
        struct probe_target *t = pr->cancels;
        pr->cancels = t->cancel_next;
        t->cancel_next = NULL;
        t->cancel_pending = false;
        if (t->xfer) {
            release_slot(pr, t);
            pr->stats.cancelled++;
        }
        t->again = false;
        if (t->removed)
            target_free(t);
        else
            schedule(pr, t, now);
    }
}

static void take_due(struct prober *pr, int64_t now, int64_t mono)
{
    struct probe_sched_item *it;
    while ((it = probe_sched_pop_due(&pr->sched, now)) != NULL)
        queue_push(pr, TARGET_OF(it), mono);
}

static void record(struct prober *pr, struct probe_target *t, const struct probe_outcome *out,
                   double latency_ms, int64_t now, struct probe_event *ev)
{
    struct probe_observation *o = &t->obs;
    bool was_known = o->known, was_ok = o->last_ok;
    o->known = true;
    o->probes++;
    o->last_probe_ms = now;
    o->last_latency_ms = latency_ms;
    o->last_http_status = out->http_status;
    o->last_ok = out->ok;
    if (out->ok) {
        o->consecutive_successes++;
        o->consecutive_failures = 0;
        o->first_failure_ms = 0;
        o->last_success_ms = now;
        o->last_error[0] = '\0';
    } else {
        o->failures++;
        o->consecutive_failures++;
        o->consecutive_successes = 0;
        if (o->consecutive_failures == 1)
            o->first_failure_ms = now;
        memcpy(o->last_error, out->message, sizeof o->last_error);
    }

    struct probe_stats *st = &pr->stats;
    st->probes++;
    st->failures += !out->ok;
    double secs = latency_ms / 1000.0;
    st->latency_sum_seconds += secs;
    for (int i = 0; i < PROBE_LATENCY_BUCKETS; i++)
        if (secs <= latency_le_seconds[i])
            st->bucket_count[i]++;

    /* fast cadence: a repeated failure is no news (the reconciler looks at
     * the window's end anyway); the success that ends it always is */
    bool fast = t->fast_since_ms > 0;
    ev->notify = !was_known || (!out->ok && (!fast || was_ok)) || (out->ok && (!was_ok || fast));
    snprintf(ev->key, sizeof ev->key, "%s", t->key);
    ev->obs = *o;

    int64_t due = t->last_start_ms + t->interval_ms;
    if (fast && !out->ok)
        due = t->last_start_ms + prober_fast_step_ms(t->interval_ms, now - t->fast_since_ms);
    if (out->ok)
        t->fast_since_ms = 0;
    if (t->again || due < now)
        due = now;
    t->again = false;
    schedule(pr, t, due);
}

/* Starts the probe of a queued target; a probe that cannot start is
 * recorded as a failed one (and retried at its next interval). */
static void start_one(struct prober *pr, struct probe_target *t, int64_t now, int64_t mono,
                      struct probe_event *ev, size_t *nev)
{
    struct probe_xfer *x = pr->free_slots[--pr->nfree];
    t->last_start_ms = now;
    int err = probe_xfer_prepare(x, t->url, t->timeout_ms, pr->max_body, &t->cred);
    if (!err && curl_multi_add_handle(pr->multi, x->easy) != CURLM_OK)
        err = SH_EIO;
    if (err) {
        pr->free_slots[pr->nfree++] = x;
        struct probe_outcome out = {.ok = false};
        snprintf(out.message, sizeof out.message, "GET %s: could not start the probe: %s",
                 t->display_url, sh_strerror(err));
        record(pr, t, &out, (double)(mono - t->queued_mono_ms), now, &ev[(*nev)++]);
        return;
    }
    x->owner = t;
    x->queued_mono_ms = t->queued_mono_ms;
    x->started_mono_ms = mono;
    t->xfer = x;
    t->state = TARGET_RUNNING;
}

static size_t start_queued(struct prober *pr, int64_t now, int64_t mono, struct probe_event *ev)
{
    size_t nev = 0;
    while (pr->q_head && pr->nfree > 0 && nev < pr->max_concurrent) {
        struct probe_target *t = pr->q_head;
        queue_unlink(pr, t);
        start_one(pr, t, now, mono, ev, &nev);
    }
    return nev;
}

/* Time waiting for a slot (the monotonic clock, ms) plus the transfer
 * itself (curl's own timer, microseconds). */
static double latency_of(const struct probe_xfer *x)
{
    curl_off_t total_us = 0;
    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    int64_t waited = x->started_mono_ms - x->queued_mono_ms;
    return (double)(waited > 0 ? waited : 0) + (double)total_us / 1000.0;
}

static size_t collect(struct prober *pr, int64_t now, struct probe_event *ev, size_t nev)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(pr->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        struct probe_xfer *x = (struct probe_xfer *)priv;
        CURLcode code = msg->data.result;
        struct probe_target *t = x ? x->owner : NULL;
        if (!t) {
            curl_multi_remove_handle(pr->multi, msg->easy_handle);
            continue;
        }
        if (t->cancel_pending) { /* its result no longer counts */
            release_slot(pr, t);
            pr->stats.cancelled++;
            continue;
        }
        struct probe_outcome out;
        probe_xfer_outcome(x, code, t->display_url, t->host, &out);
        double latency = latency_of(x);
        release_slot(pr, t);
        record(pr, t, &out, latency, now, &ev[nev++]);
    }
    return nev;
}

static bool is_idle(const struct prober *pr, int64_t now)
{
    const struct probe_sched_item *top = probe_sched_peek(&pr->sched);
    return !pr->q_head && pr->nfree == pr->max_concurrent && (!top || top->due_ms > now);
}

static int poll_timeout(const struct prober *pr, int64_t now)
{
    if (pr->q_head && pr->nfree > 0)
        return 0;
    const struct probe_sched_item *top = probe_sched_peek(&pr->sched);
    if (!top)
        return MAX_POLL_MS;
    int64_t wait = top->due_ms - now;
    return wait <= 0 ? 0 : wait > MAX_POLL_MS ? MAX_POLL_MS : (int)wait;
}

static void report(struct prober *pr, const struct probe_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (pr->on_probe)
            pr->on_probe(pr->ctx, ev[i].key, &ev[i].obs);
        if (ev[i].notify && pr->on_result)
            pr->on_result(pr->ctx, ev[i].key);
    }
}

static void *prober_main(void *arg)
{
    struct prober *pr = arg;
    for (;;) {
        pthread_mutex_lock(&pr->lock);
        if (pr->stopping) {
            pthread_mutex_unlock(&pr->lock);
            break;
        }
        uint64_t iter = ++pr->iter_started;
        int64_t now = clock_now_ms(pr->clock);
        int64_t mono = clock_monotonic_ms();
        run_cancels(pr, now);
        take_due(pr, now, mono);
        /* Probes that could not start (at most max_concurrent) and finished
         * ones (at most max_concurrent) share the event buffer. */
        size_t nev = start_queued(pr, now, mono, pr->events);
        pthread_mutex_unlock(&pr->lock);

        int running = 0;
        curl_multi_perform(pr->multi, &running);

        pthread_mutex_lock(&pr->lock);
        nev = collect(pr, now, pr->events, nev);
        pthread_mutex_unlock(&pr->lock);

        report(pr, pr->events, nev);

        pthread_mutex_lock(&pr->lock);
        int timeout = poll_timeout(pr, now);
        pr->iter_done = iter;
        pr->last_idle = is_idle(pr, now);
        pthread_cond_broadcast(&pr->cond);
        pthread_mutex_unlock(&pr->lock);

        curl_multi_poll(pr->multi, NULL, 0, timeout, NULL);
    }
    return NULL;
}

/* ---- construction ---- */

static int init_sync(struct prober *pr)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return SH_ENOMEM;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&pr->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return SH_ENOMEM;
    if (pthread_mutex_init(&pr->lock, NULL) != 0) {
        pthread_cond_destroy(&pr->cond);
        return SH_ENOMEM;
    }
    pr->lock_ready = true;
    return 0;
}

static int init_curl(struct prober *pr)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return SH_EIO;
    pr->curl_ready = true;
    pr->multi = curl_multi_init();
    if (!pr->multi)
        return SH_ENOMEM;
    if (curl_multi_setopt(pr->multi, CURLMOPT_MAXCONNECTS, (long)pr->max_concurrent) != CURLM_OK)
        return SH_EIO;
    return 0;
}

static int init_slots(struct prober *pr)
{
    size_t n = pr->max_concurrent;
    pr->slots = calloc(n, sizeof *pr->slots);
    pr->free_slots = calloc(n, sizeof *pr->free_slots);
    pr->events = calloc(2 * n, sizeof *pr->events);
    if (!pr->slots || !pr->free_slots || !pr->events)
        return SH_ENOMEM;
    for (size_t i = 0; i < n; i++)
        pr->free_slots[i] = &pr->slots[n - 1 - i];
    pr->nfree = n;
    return 0;
}

int prober_new(const struct sh_clock *clock, const struct prober_options *opts,
               prober_result_fn on_result, void *ctx, struct prober **ret)
{
    struct prober *pr = calloc(1, sizeof *pr);
    if (!pr)
        return SH_ENOMEM;
    pr->clock = clock;
    pr->on_result = on_result;
    pr->ctx = ctx;
    pr->max_concurrent = opts && opts->max_concurrent ? opts->max_concurrent : DEFAULT_MAX_CONCURRENT;
    pr->max_body = opts && opts->max_body_bytes ? opts->max_body_bytes : DEFAULT_MAX_BODY;
    pr->on_probe = opts ? opts->on_probe : NULL;
    probe_sched_init(&pr->sched);
    int err = init_sync(pr);
    if (!err)
        err = init_curl(pr);
    if (!err)
        err = init_slots(pr);
    if (!err && !(pr->targets = strmap_new()))
        err = SH_ENOMEM;
    if (!err) {
        if (pthread_create(&pr->thread, NULL, prober_main, pr) != 0)
            err = SH_EIO;
        else
            pr->thread_started = true;
    }
    if (err) {
        prober_free(pr);
        return err;
    }
    *ret = pr;
    return 0;
}

/* ---- the table ---- */

static bool key_ok(const char *key)
{
    return key && key[0] && strlen(key) < PROBE_KEY_MAX;
}

static struct probe_target *target_new(const char *key, const char *url)
{
    struct probe_target *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    probe_sched_item_init(&t->sched);
    t->key = strdup(key);
    t->url = strdup(url);
    if (!t->key || !t->url) {
        target_free(t);
        return NULL;
    }
    return t;
}

/* Adds a new target (lock held); takes display and host on success. */
static int add_target(struct prober *pr, const char *key, const char *url, char *display,
                      char *host, int64_t interval_ms, long timeout_ms, int64_t now)
{
    struct probe_target *t = target_new(key, url);
    if (!t)
        return SH_ENOMEM;
    int err = probe_sched_reserve(&pr->sched, strmap_count(pr->targets) + 1);
    if (!err)
        err = strmap_put(pr->targets, key, t, NULL);
    if (err) {
        target_free(t);
        return err;
    }
    t->display_url = display;
    t->host = host;
    t->interval_ms = interval_ms;
    t->timeout_ms = timeout_ms;
    schedule(pr, t, now);
    return 0;
}

/* Points an existing target at a new URL (lock held): a fresh start. Takes
 * display and host on success. */
static int change_url(struct prober *pr, struct probe_target *t, const char *url, char *display,
                      char *host, int64_t now)
{
    char *copy = strdup(url);
    if (!copy)
        return SH_ENOMEM;
    free(t->url);
    free(t->display_url);
    free(t->host);
    t->url = copy;
    t->display_url = display;
    t->host = host;
    memset(&t->obs, 0, sizeof t->obs);
    t->last_start_ms = 0;
    if (t->state == TARGET_RUNNING)
        request_cancel(pr, t);
    else if (t->state == TARGET_IDLE)
        schedule(pr, t, now);
    return 0;
}

int prober_set_target(struct prober *pr, const char *key, const char *url, int64_t interval_ms,
                      long timeout_ms)
{
    return prober_set_target_auth(pr, key, url, NULL, interval_ms, timeout_ms);
}

int prober_set_target_auth(struct prober *pr, const char *key, const char *url,
                           const struct http_credentials *cred, int64_t interval_ms,
                           long timeout_ms)
{
    if (!pr || !key_ok(key) || interval_ms <= 0 || timeout_ms <= 0)
        return SH_EINVAL;
    char *display = NULL, *host = NULL;
    int err = probe_url_check(url, &display, &host);
    if (err)
        return err;
    struct http_credentials copy;
    if (http_credentials_copy(cred, &copy) != 0) {
        free(display);
        free(host);
        return SH_ENOMEM;
    }
    pthread_mutex_lock(&pr->lock);
    int64_t now = clock_now_ms(pr->clock);
    struct probe_target *t = strmap_get(pr->targets, key);
    if (!t) {
        err = add_target(pr, key, url, display, host, interval_ms, timeout_ms, now);
        if (!err) {
            display = host = NULL;
            t = strmap_get(pr->targets, key);
            t->cred = copy;
            memset(&copy, 0, sizeof copy);
        }
    } else {
        if (strcmp(t->url, url) != 0 || !http_credentials_equal(&t->cred, &copy)) {
            err = change_url(pr, t, url, display, host, now);
            if (!err) {
                display = host = NULL;
                http_credentials_free(&t->cred);
                t->cred = copy;
                memset(&copy, 0, sizeof copy);
            }
        } else if (t->interval_ms != interval_ms && t->state == TARGET_IDLE) {
            int64_t due = t->last_start_ms ? t->last_start_ms + interval_ms : now;
            schedule(pr, t, due < now ? now : due);
        }
        if (!err) {
            t->interval_ms = interval_ms;
            t->timeout_ms = timeout_ms;
        }
    }
    pthread_mutex_unlock(&pr->lock);
    http_credentials_free(&copy);
    free(display);
    free(host);
    if (!err)
        wake(pr);
    return err;
}

int prober_remove(struct prober *pr, const char *key)
{
    if (!pr || !key)
        return SH_EINVAL;
    pthread_mutex_lock(&pr->lock);
    struct probe_target *t = strmap_remove(pr->targets, key);
    if (t) {
        if (t->state == TARGET_IDLE) {
            probe_sched_remove(&pr->sched, &t->sched);
            target_free(t);
        } else if (t->state == TARGET_QUEUED) {
            queue_unlink(pr, t);
            target_free(t);
        } else {
            t->removed = true;
            request_cancel(pr, t);
        }
        pthread_cond_broadcast(&pr->cond);
    }
    pthread_mutex_unlock(&pr->lock);
    if (!t)
        return SH_ENOTFOUND;
    wake(pr);
    return 0;
}

int prober_probe_now(struct prober *pr, const char *key)
{
    if (!pr || !key)
        return SH_EINVAL;
    pthread_mutex_lock(&pr->lock);
    struct probe_target *t = strmap_get(pr->targets, key);
    if (t) {
        if (t->state == TARGET_IDLE)
            schedule(pr, t, clock_now_ms(pr->clock));
        else if (t->state == TARGET_RUNNING)
            t->again = true;
    }
    pthread_mutex_unlock(&pr->lock);
    if (!t)
        return SH_ENOTFOUND;
    wake(pr);
    return 0;
}

int64_t prober_fast_step_ms(int64_t interval_ms, int64_t elapsed_ms)
{
    int64_t step = interval_ms / 10;
    if (step < PROBE_FAST_MIN_MS)
        step = PROBE_FAST_MIN_MS;
    if (step > PROBE_FAST_MAX_MS)
        step = PROBE_FAST_MAX_MS;
    step += (elapsed_ms > 0 ? elapsed_ms : 0) / 20;
    return step < interval_ms ? step : interval_ms;
}

int prober_probe_fast(struct prober *pr, const char *key)
{
    if (!pr || !key)
        return SH_EINVAL;
    pthread_mutex_lock(&pr->lock);
    struct probe_target *t = strmap_get(pr->targets, key);
    if (t) {
        int64_t now = clock_now_ms(pr->clock);
        t->fast_since_ms = now > 0 ? now : 1;
        if (t->state == TARGET_IDLE)
            schedule(pr, t, now);
        else if (t->state == TARGET_RUNNING)
            t->again = true;
    }
    pthread_mutex_unlock(&pr->lock);
    if (!t)
        return SH_ENOTFOUND;
    wake(pr);
    return 0;
}

int prober_get(struct prober *pr, const char *key, struct probe_observation *ret)
{
    memset(ret, 0, sizeof *ret);
    if (!pr || !key)
        return SH_EINVAL;
    pthread_mutex_lock(&pr->lock);
    struct probe_target *t = strmap_get(pr->targets, key);
    if (t)
        *ret = t->obs;
    pthread_mutex_unlock(&pr->lock);
    return t ? 0 : SH_ENOTFOUND;
}

void prober_get_stats(struct prober *pr, struct probe_stats *ret)
{
    pthread_mutex_lock(&pr->lock);
    *ret = pr->stats;
    ret->targets = strmap_count(pr->targets);
    ret->in_flight = pr->max_concurrent - pr->nfree;
    ret->queued = pr->queued;
    pthread_mutex_unlock(&pr->lock);
    memcpy(ret->bucket_le_seconds, latency_le_seconds, sizeof ret->bucket_le_seconds);
}

/* ---- waiting (real time: these wait for I/O, not for the clock) ---- */

static struct timespec deadline_after(long timeout_ms)
{
    int64_t ms = clock_monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    return ts;
}

/* Waits on the condition (lock held). 0, or SH_ETIMEOUT past the deadline. */
static int wait_until(struct prober *pr, const struct timespec *deadline)
{
    return pthread_cond_timedwait(&pr->cond, &pr->lock, deadline) == 0 ? 0 : SH_ETIMEOUT;
}

int prober_wait(struct prober *pr, const char *key, uint64_t min_probes, long timeout_ms)
{
    struct timespec deadline = deadline_after(timeout_ms);
    int err = 0;
    pthread_mutex_lock(&pr->lock);
    for (;;) {
        struct probe_target *t = strmap_get(pr->targets, key);
        if (!t) {
            err = SH_ENOTFOUND;
            break;
        }
        /* ... and the iteration that recorded them has reported them */
        if (t->obs.probes >= min_probes && pr->iter_done >= pr->iter_started)
            break;
        if (pr->stopping) {
            err = SH_ESTOPPED;
            break;
        }
        if (wait_until(pr, &deadline) != 0) {
            t = strmap_get(pr->targets, key);
            err = t && t->obs.probes >= min_probes && pr->iter_done >= pr->iter_started
                      ? 0
                      : SH_ETIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&pr->lock);
    return err;
}

static int wait_iteration(struct prober *pr, long timeout_ms, bool need_idle)
{
    struct timespec deadline = deadline_after(timeout_ms);
    int err = 0;
    pthread_mutex_lock(&pr->lock);
    uint64_t target = pr->iter_started + 1;
    wake(pr);
    while (!(pr->iter_done >= target && (!need_idle || pr->last_idle))) {
        if (pr->stopping) {
            err = SH_ESTOPPED;
            break;
        }
        if (wait_until(pr, &deadline) != 0) {
            err = SH_ETIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&pr->lock);
    return err;
}

int prober_sync(struct prober *pr, long timeout_ms)
{
    return wait_iteration(pr, timeout_ms, false);
}

int prober_wait_idle(struct prober *pr, long timeout_ms)
{
    return wait_iteration(pr, timeout_ms, true);
}

/* ---- teardown ---- */

void prober_stop(struct prober *pr)
{
    if (!pr || !pr->lock_ready)
        return;
    pthread_mutex_lock(&pr->lock);
    pr->stopping = true;
    pthread_cond_broadcast(&pr->cond);
    pthread_mutex_unlock(&pr->lock);
    wake(pr);
    if (pr->thread_started) {
        pthread_join(pr->thread, NULL);
        pr->thread_started = false;
    }
}

static void free_entry(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    target_free(value);
}

void prober_free(struct prober *pr)
{
    if (!pr)
        return;
    prober_stop(pr);
    for (size_t i = 0; pr->slots && i < pr->max_concurrent; i++) {
        if (pr->slots[i].owner && pr->multi)
            curl_multi_remove_handle(pr->multi, pr->slots[i].easy);
        probe_xfer_cleanup(&pr->slots[i]);
    }
    for (struct probe_target *t = pr->cancels, *next; t; t = next) {
        next = t->cancel_next;
        if (t->removed)
            target_free(t);
    }
    if (pr->targets) {
        strmap_foreach(pr->targets, free_entry, NULL);
        strmap_free(pr->targets);
    }
    if (pr->multi)
        curl_multi_cleanup(pr->multi);
    if (pr->curl_ready)
        curl_global_cleanup();
    if (pr->lock_ready) {
        pthread_mutex_destroy(&pr->lock);
        pthread_cond_destroy(&pr->cond);
    }
    probe_sched_free(&pr->sched);
    free(pr->slots);
    free(pr->free_slots);
    free(pr->events);
    free(pr);
}
