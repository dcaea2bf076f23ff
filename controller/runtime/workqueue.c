/*
 * workqueue.c — the rate-limited delaying work queue (see workqueue.h).
 *
 * State, all under one mutex:
 *   normal     FIFO of ready keys (a ring of owned strings)
 *   urgent     FIFO of ready keys served before `normal` (wq_add_urgent:
 *              a spec edit does not wait behind thousands of periodic
 *              checks)
 *   queued     key → the lane it is ready in (dedup); an item of `normal`
 *              whose key has since moved to `urgent` (or was taken) is
 *              stale and skipped when popped
 *   processing set of keys held by workers
 *   dirty      set of keys re-added while processing
 *   waiting    min-heap of (due_ms, key) for delayed adds, plus a map
 *              key → heap index so a key waits at most once
 *   failures   key → consecutive failures (backoff)
 * Values in the string maps are small heap structs or tags; the key strings
 * are owned by the maps (strmap copies keys).
 */
#include "runtime/workqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/errors.h"
#include "base/strmap.h"

struct ready_item {
    char *key;
    int64_t added_ms;
};

struct ring {
    struct ready_item *items;
    size_t cap, head, len;
};

struct wait_item {
    char *key;
    int64_t due_ms;
};

struct workqueue {
    pthread_mutex_t mu;
    pthread_cond_t cond;      /* ready work, shutdown, or a key done */
    const struct sh_clock *clock;
    struct wq_options opts;

    struct ring normal, urgent;

    struct strmap *queued;     /* key → (void*)1 */
    struct strmap *processing; /* key → (void*)1 */
    struct strmap *dirty;      /* key → (void*)1 */
    struct strmap *failures;   /* key → (void*)(intptr_t)count */
    struct strmap *waiting_ix; /* key → (void*)(index + 1) into heap */

    struct wait_item *heap;
    size_t heap_len, heap_cap;

    uint64_t adds, retries;
    bool shutting_down;
    bool sync_ready; /* mutex and cond initialised */
};

static void *const PRESENT = (void *)1;
static void *const LANE_NORMAL = (void *)1;
static void *const LANE_URGENT = (void *)2;

void wq_options_default(struct wq_options *o)
{
    o->base_delay_ms = 5;
    o->max_delay_ms = 1000 * 1000;
    o->poll_ms = 100;
}

int wq_new(const struct sh_clock *clock, const struct wq_options *opts, struct workqueue **ret)
{
    struct workqueue *q = calloc(1, sizeof(*q));
    if (!q)
        return SH_ENOMEM;
    q->clock = clock ? clock : clock_real();
    if (opts)
        q->opts = *opts;
    else
        wq_options_default(&q->opts);
    if (q->opts.base_delay_ms <= 0)
        q->opts.base_delay_ms = 5;
    if (q->opts.max_delay_ms < q->opts.base_delay_ms)
        q->opts.max_delay_ms = q->opts.base_delay_ms;
    if (q->opts.poll_ms <= 0)
        q->opts.poll_ms = 100;
    q->queued = strmap_new();
    q->processing = strmap_new();
    q->dirty = strmap_new();
    q->failures = strmap_new();
    q->waiting_ix = strmap_new();
    if (!q->queued || !q->processing || !q->dirty || !q->failures || !q->waiting_ix) {
        wq_free(q);
        return SH_ENOMEM;
    }
    pthread_mutex_init(&q->mu, NULL);
    q->sync_ready = true;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_condattr_destroy(&ca);
    *ret = q;
    return 0;
}

/* ---- ready FIFO ---------------------------------------------------------- */

static int ring_push(struct ring *r, const char *key, int64_t now)
{
    if (r->len == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        struct ready_item *n = malloc(ncap * sizeof(*n));
        if (!n)
            return SH_ENOMEM;
        for (size_t i = 0; i < r->len; i++)
            n[i] = r->items[(r->head + i) % r->cap];
        free(r->items);
        r->items = n;
        r->cap = ncap;
        r->head = 0;
    }
    char *copy = strdup(key);
    if (!copy)
        return SH_ENOMEM;
    r->items[(r->head + r->len) % r->cap] = (struct ready_item){copy, now};
    r->len++;
    return 0;
}

static struct ready_item ring_pop(struct ring *r)
{
    struct ready_item it = r->items[r->head];
    r->head = (r->head + 1) % r->cap;
    r->len--;
    return it;
}

static void ring_free(struct ring *r)
{
    while (r->len > 0)
        free(ring_pop(r).key);
    free(r->items);
}

/* The core add, under the lock: dedup, dirty-while-processing. An urgent
 * add of a key waiting in the normal lane moves it to the urgent one. */
static void add_lane_locked(struct workqueue *q, const char *key, int64_t now, void *lane)
{
    if (q->shutting_down)
        return;
    void *in = strmap_get(q->queued, key);
    if (in == LANE_URGENT || (in && lane == LANE_NORMAL))
        return;
    if (strmap_get(q->processing, key)) {
        if (strmap_get(q->dirty, key) != LANE_URGENT)
            strmap_put(q->dirty, key, lane, NULL);
        return;
    }
    if (strmap_put(q->queued, key, lane, NULL) != 0)
        return;
    if (ring_push(lane == LANE_URGENT ? &q->urgent : &q->normal, key, now) != 0) {
        if (in)
            strmap_put(q->queued, key, in, NULL);
        else
            strmap_remove(q->queued, key);
        return;
    }
    if (!in)
        q->adds++;
    pthread_cond_signal(&q->cond);
}

static void add_locked(struct workqueue *q, const char *key, int64_t now)
{
    add_lane_locked(q, key, now, LANE_NORMAL);
}

/* ---- delayed heap --------------------------------------------------------- */

static void heap_set_index(struct workqueue *q, size_t i)
{
    strmap_put(q->waiting_ix, q->heap[i].key, (void *)(uintptr_t)(i + 1), NULL);
}

static void heap_swap(struct workqueue *q, size_t a, size_t b)
{
    struct wait_item t = q->heap[a];
    q->heap[a] = q->heap[b];
    q->heap[b] = t;
    heap_set_index(q, a);
    heap_set_index(q, b);
}

static void heap_up(struct workqueue *q, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (q->heap[parent].due_ms <= q->heap[i].due_ms)
            break;
        heap_swap(q, i, parent);
        i = parent;
    }
}

static void heap_down(struct workqueue *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->heap_len && q->heap[l].due_ms < q->heap[m].due_ms)
            m = l;
        if (r < q->heap_len && q->heap[r].due_ms < q->heap[m].due_ms)
            m = r;
        if (m == i)
            return;
        heap_swap(q, i, m);
        i = m;
    }
}

static void wait_locked(struct workqueue *q, const char *key, int64_t due)
{
    uintptr_t ix = (uintptr_t)strmap_get(q->waiting_ix, key);
    if (ix) {
        size_t i = ix - 1;
        if (due < q->heap[i].due_ms) {
            q->heap[i].due_ms = due;
            heap_up(q, i);
        }
        return;
    }
    if (q->heap_len == q->heap_cap) {
        size_t ncap = q->heap_cap ? q->heap_cap * 2 : 16;
        struct wait_item *n = realloc(q->heap, ncap * sizeof(*n));
        if (!n)
            return;
        q->heap = n;
        q->heap_cap = ncap;
    }
    char *copy = strdup(key);
    if (!copy)
        return;
    q->heap[q->heap_len] = (struct wait_item){copy, due};
    q->heap_len++;
    heap_set_index(q, q->heap_len - 1);
    heap_up(q, q->heap_len - 1);
    pthread_cond_signal(&q->cond); /* a sleeping worker may need to wake earlier */
}

/* Moves every due waiting key to the ready queue. */
static void tick_locked(struct workqueue *q, int64_t now)
{
    while (q->heap_len > 0 && q->heap[0].due_ms <= now) {
        struct wait_item top = q->heap[0];
        strmap_remove(q->waiting_ix, top.key);
        q->heap_len--;
        if (q->heap_len > 0) {
            q->heap[0] = q->heap[q->heap_len];
            heap_set_index(q, 0);
            heap_down(q, 0);
        }
        add_locked(q, top.key, now);
        free(top.key);
    }
}

/* ---- public --------------------------------------------------------------- */

void wq_add(struct workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    add_locked(q, key, clock_mono_ms(q->clock));
    pthread_mutex_unlock(&q->mu);
}

void wq_add_urgent(struct workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    add_lane_locked(q, key, clock_mono_ms(q->clock), LANE_URGENT);
    pthread_mutex_unlock(&q->mu);
}

void wq_add_after(struct workqueue *q, const char *key, int64_t delay_ms)
{
    pthread_mutex_lock(&q->mu);
    int64_t now = clock_mono_ms(q->clock);
    if (!q->shutting_down) {
        if (delay_ms <= 0)
            add_locked(q, key, now);
        else
            wait_locked(q, key, now + delay_ms);
    }
    pthread_mutex_unlock(&q->mu);
}

static int64_t backoff_locked(struct workqueue *q, const char *key)
{
    intptr_t n = (intptr_t)strmap_get(q->failures, key);
    int64_t d = q->opts.base_delay_ms;
    for (intptr_t i = 0; i < n && d < q->opts.max_delay_ms; i++)
        d *= 2;
    return d > q->opts.max_delay_ms ? q->opts.max_delay_ms : d;
}

int64_t wq_backoff_ms(struct workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    int64_t d = backoff_locked(q, key);
    pthread_mutex_unlock(&q->mu);
    return d;
}

void wq_add_rate_limited(struct workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    int64_t d = backoff_locked(q, key);
    intptr_t n = (intptr_t)strmap_get(q->failures, key);
    strmap_put(q->failures, key, (void *)(n + 1), NULL);
    q->retries++;
    if (!q->shutting_down)
        wait_locked(q, key, clock_mono_ms(q->clock) + d);
    pthread_mutex_unlock(&q->mu);
}

void wq_forget(struct workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    strmap_remove(q->failures, key);
    pthread_mutex_unlock(&q->mu);
}

int wq_failures(struct workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    int n = (int)(intptr_t)strmap_get(q->failures, key);
    pthread_mutex_unlock(&q->mu);
    return n;
}

/* Pops the next ready item (urgent first), skipping stale ones; false
 * when none is ready. */
static bool pop_ready(struct workqueue *q, struct ready_item *ret)
{
    if (q->urgent.len > 0) {
        *ret = ring_pop(&q->urgent);
        return true;
    }
    while (q->normal.len > 0) {
        struct ready_item it = ring_pop(&q->normal);
        if (strmap_get(q->queued, it.key) == LANE_NORMAL) {
            *ret = it;
            return true;
        }
        free(it.key); /* stale: moved to the urgent lane, or taken from it */
    }
    return false;
}

/* Takes the next ready key into processing; SH_ENOTFOUND when none. */
static int take_locked(struct workqueue *q, char **ret_key)
{
    struct ready_item it;
    if (!pop_ready(q, &it))
        return SH_ENOTFOUND;
    strmap_remove(q->queued, it.key);
    if (strmap_put(q->processing, it.key, PRESENT, NULL) != 0) {
        free(it.key);
        return SH_ENOMEM;
    }
    *ret_key = it.key;
    return 0;
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int wq_get(struct workqueue *q, char **ret_key)
{
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->shutting_down) {
            pthread_mutex_unlock(&q->mu);
            return SH_ESTOPPED;
        }
        int64_t now = clock_mono_ms(q->clock);
        tick_locked(q, now);
        int r = take_locked(q, ret_key);
        if (r != SH_ENOTFOUND) {
            pthread_mutex_unlock(&q->mu);
            return r;
        }
        /* Sleep until the next due key, re-reading the clock at least every
         * poll_ms (a fake clock moves without waking us). */
        int64_t sleep_ms = q->opts.poll_ms;
        if (q->heap_len > 0 && q->heap[0].due_ms - now < sleep_ms)
            sleep_ms = q->heap[0].due_ms - now;
        if (sleep_ms < 1)
            sleep_ms = 1;
        struct timespec ts;
        deadline_in(&ts, sleep_ms);
        pthread_cond_timedwait(&q->cond, &q->mu, &ts);
    }
}

int wq_try_get(struct workqueue *q, char **ret_key)
{
    pthread_mutex_lock(&q->mu);
    int r = SH_ENOTFOUND;
    if (q->shutting_down) {
        r = SH_ESTOPPED;
    } else {
        tick_locked(q, clock_mono_ms(q->clock));
        r = take_locked(q, ret_key);
    }
    pthread_mutex_unlock(&q->mu);
    return r;
}

void wq_done(struct workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    strmap_remove(q->processing, key);
    void *lane = strmap_get(q->dirty, key);
    if (lane) {
        strmap_remove(q->dirty, key);
        add_lane_locked(q, key, clock_mono_ms(q->clock), lane);
    }
    pthread_cond_broadcast(&q->cond); /* drain waits for processing to empty */
    pthread_mutex_unlock(&q->mu);
}

void wq_tick(struct workqueue *q)
{
    pthread_mutex_lock(&q->mu);
    tick_locked(q, clock_mono_ms(q->clock));
    pthread_mutex_unlock(&q->mu);
}

void wq_shutdown(struct workqueue *q)
{
    pthread_mutex_lock(&q->mu);
    q->shutting_down = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

int wq_shutdown_drain(struct workqueue *q, int64_t timeout_ms)
{
    struct timespec ts;
    deadline_in(&ts, timeout_ms);
    pthread_mutex_lock(&q->mu);
    q->shutting_down = true;
    pthread_cond_broadcast(&q->cond);
    int r = 0;
    while (strmap_count(q->processing) > 0) {
        if (pthread_cond_timedwait(&q->cond, &q->mu, &ts) == ETIMEDOUT) {
            r = strmap_count(q->processing) > 0 ? SH_ETIMEOUT : 0;
            break;
        }
    }
    pthread_mutex_unlock(&q->mu);
    return r;
}

void wq_get_stats(struct workqueue *q, struct wq_stats *out)
{
    pthread_mutex_lock(&q->mu);
    int64_t now = clock_mono_ms(q->clock);
    out->depth = strmap_count(q->queued);
    out->processing = strmap_count(q->processing);
    out->waiting = q->heap_len;
    out->adds = q->adds;
    out->retries = q->retries;
    /* the lanes' heads (the normal one's may be stale: an upper bound) */
    out->oldest_age_ms = 0;
    const struct ring *lanes[] = {&q->normal, &q->urgent};
    for (int i = 0; i < 2; i++)
        if (lanes[i]->len > 0 && now - lanes[i]->items[lanes[i]->head].added_ms > out->oldest_age_ms)
            out->oldest_age_ms = now - lanes[i]->items[lanes[i]->head].added_ms;
    if (out->oldest_age_ms < 0)
        out->oldest_age_ms = 0;
    pthread_mutex_unlock(&q->mu);
}

void wq_free(struct workqueue *q)
{
    if (!q)
        return;
    ring_free(&q->normal);
    ring_free(&q->urgent);
    for (size_t i = 0; i < q->heap_len; i++)
        free(q->heap[i].key);
    free(q->heap);
    strmap_free(q->queued);
    strmap_free(q->processing);
    strmap_free(q->dirty);
    strmap_free(q->failures);
    strmap_free(q->waiting_ix);
    if (q->sync_ready) {
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->cond);
    }
    free(q);
}
