/*
 * manager.c — workers, the reconcile of one key, and the status cache
 * (manager.h).
 *
 * Threads: the source's thread calls manager_enqueue; N workers run
 * worker_main; the HTTP thread reads snapshots. `mu` guards `entries` (key →
 * last written status); the status of a key is only changed by the worker
 * holding that key, so the lock is held only to swap or copy it.
 *
 * Memory: an entry keeps its status as compact JSON text (a few hundred
 * bytes), not as a cJSON tree (several times that in nodes and small
 * allocations); a reconcile parses it, which costs microseconds.
 */
#include "runtime/manager.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/controller_metrics.h"
#include "base/redact.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/strmap.h"
#include "runtime/workqueue.h"

#define MAX_WORKERS 64

struct entry {
    char *status; /* as last written (or loaded): compact JSON, NULL when none */
    char *uid;     /* of the object it is about (NULL: none known) */
    char *namespace_;
    char *name;
    char *source;
    int64_t generation;
    enum phase phase;
    unsigned epoch; /* the manager's epoch when status was loaded */
};

struct manager {
    struct manager_options opts;
    struct workqueue *queue;
    pthread_t threads[MAX_WORKERS];
    int nthreads;     /* running workers: joined only once they are done */
    bool stopping;    /* manager_stop has stopped the source */
    _Atomic unsigned epoch; /* raised by manager_resync: cached status is stale */
    pthread_mutex_t mu;
    struct strmap *entries;
};

static void entry_free(struct entry *e)
{
    if (!e)
        return;
    free(e->status);
    free(e->uid);
    free(e->namespace_);
    free(e->name);
    free(e->source);
    free(e);
}

int manager_new(const struct manager_options *opts, struct manager **ret)
{
    struct manager *m = calloc(1, sizeof *m);
    if (!m)
        return SH_ENOMEM;
    m->opts = *opts;
    if (m->opts.workers <= 0)
        m->opts.workers = 2;
    if (m->opts.workers > MAX_WORKERS)
        m->opts.workers = MAX_WORKERS;
    if (!m->opts.clock)
        m->opts.clock = clock_real();
    pthread_mutex_init(&m->mu, NULL);
    m->entries = strmap_new();
    struct wq_options wo;
    wq_options_default(&wo);
    if (!m->entries || wq_new(m->opts.clock, &wo, &m->queue) != 0) {
        manager_free(m);
        return SH_ENOMEM;
    }
    *ret = m;
    return 0;
}

void manager_enqueue(struct manager *m, const char *key)
{
    wq_add(m->queue, key);
}

/* A source's notification is a change of the pipeline (spec edited,
 * added, deleted): it goes ahead of the periodic checks. */
static void source_notify(void *ctx, const char *key)
{
    struct manager *m = ctx;
    wq_add_urgent(m->queue, key);
}

struct workqueue *manager_queue(struct manager *m)
{
    return m->queue;
}

/* Ready: True when every loop condition present is True. */
static void set_ready(cJSON *st, int64_t generation, int64_t now)
{
    static const char *const loops[] = {COND_SERVICE_HEALTHY, COND_MODEL_VALID, COND_DATA_VALID,
                                        COND_MODEL_FRESH};
    for (size_t i = 0; i < sizeof loops / sizeof loops[0]; i++) {
        const cJSON *c = status_get_condition(st, loops[i]);
        if (!c || status_condition_status(st, loops[i]) == COND_TRUE)
            continue;
        char msg[1024];
        const char *cm = status_str(c, "message");
        snprintf(msg, sizeof msg, "%s is %s: %s", loops[i],
                 status_str(c, "status") ? status_str(c, "status") : "Unknown",
                 cm && *cm ? cm : status_condition_reason(st, loops[i]));
        const char *reason = status_condition_reason(st, loops[i]);
        status_set_condition(st, COND_READY, COND_FALSE, *reason ? reason : "NotReady", msg,
                             generation, now);
        return;
    }
    status_set_condition(st, COND_READY, COND_TRUE, "AllHealthy",
                         "every desired state of the pipeline holds", generation, now);
}

static enum phase pick_phase(const cJSON *st, unsigned requests, bool paused)
{
    if (paused)
        return PHASE_PAUSED;
    for (int p = 0; p < PHASE__COUNT; p++)
        if (requests & PHASE_REQ(p))
            return (enum phase)p;
    return status_condition_status(st, COND_READY) == COND_TRUE ? PHASE_HEALTHY : PHASE_DEGRADED;
}

/* Events for every condition whose status changed. */
/* Counts history entries that are new or changed (an action started, or its
 * outcome recorded) in selfheal_actions_total. */
static bool same_str(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static void count_actions(struct manager *m, const cJSON *old, const cJSON *cur)
{
    if (!m->opts.metrics)
        return;
    const cJSON *oh = cJSON_GetObjectItemCaseSensitive(old, "history");
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(cur, "history"))
    {
        bool seen = false;
        const cJSON *o;
        cJSON_ArrayForEach(o, oh)
        {
            if (cJSON_Compare(o, e, true)) {
                seen = true;
                break;
            }
        }
        if (seen)
            continue;
        /* an action that appears already finished (a data fix is made and
         * verified in one look) was started too: every action counts once
         * as started, so succeeded/started is a success rate */
        const char *outcome = status_str(e, "outcome");
        bool known = false;
        cJSON_ArrayForEach(o, oh)
        {
            if (same_str(status_str(o, "time"), status_str(e, "time")) &&
                same_str(status_str(o, "loop"), status_str(e, "loop")) &&
                same_str(status_str(o, "action"), status_str(e, "action")))
                known = true;
        }
        if (!known && outcome && strcmp(outcome, "started") != 0)
            controller_metrics_action(m->opts.metrics, status_str(e, "loop"), status_str(e, "action"),
                                      "started");
        controller_metrics_action(m->opts.metrics, status_str(e, "loop"), status_str(e, "action"),
                                  outcome);
    }
}

/* Whether condition c changed status since prev. */
static bool condition_changed(const cJSON *prev, const cJSON *c)
{
    const char *type = status_str(c, "type");
    const char *now_st = status_str(c, "status");
    if (!type || !now_st)
        return false;
    const char *old_st = status_str(status_get_condition(prev, type), "status");
    return !old_st || strcmp(old_st, now_st) != 0;
}

/* One Event per change: Ready follows the other conditions, so it has an
 * Event of its own only when nothing else changed with it (an invalid spec,
 * the first status). */
static void condition_events(struct manager *m, const struct pipeline *p, const cJSON *prev,
                             const cJSON *st)
{
    const cJSON *c;
    const cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
    bool others = false;
    cJSON_ArrayForEach(c, conds)
    {
        const char *type = status_str(c, "type");
        if (type && strcmp(type, COND_READY) != 0 && condition_changed(prev, c))
            others = true;
    }
    cJSON_ArrayForEach(c, conds)
    {
        const char *type = status_str(c, "type");
        const char *now_st = status_str(c, "status");
        if (!condition_changed(prev, c) || (others && strcmp(type, COND_READY) == 0))
            continue;
        char msg[1024];
        const char *cm = status_str(c, "message");
        snprintf(msg, sizeof msg, "%s is %s%s%s", type, now_st, cm && *cm ? ": " : "",
                 cm ? cm : "");
        const char *reason = status_str(c, "reason");
        m->opts.platform->record_event(m->opts.platform, p,
                                       strcmp(now_st, "True") == 0 ? EVENT_NORMAL : EVENT_WARNING,
                                       reason && *reason ? reason : type, msg);
    }
}

/* Events for what a person did to the pipeline: paused it (spec.paused),
 * resumed it, or reset it (the selfheal.dev/reset annotation). */
static void person_events(struct manager *m, const struct pipeline *p, const cJSON *prev,
                          enum phase phase, bool reset)
{
    struct platform *pf = m->opts.platform;
    const char *old = status_str(prev, "phase");
    bool was_paused = old && strcmp(old, status_phase_name(PHASE_PAUSED)) == 0;
    if (phase == PHASE_PAUSED && !was_paused)
        pf->record_event(pf, p, EVENT_NORMAL, "Paused",
                         "spec.paused is true: observing and reporting, acting on nothing");
    else if (phase != PHASE_PAUSED && was_paused)
        pf->record_event(pf, p, EVENT_NORMAL, "Resumed",
                         "spec.paused is false: acting again where the spec is not met");
    if (reset) {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "the annotation selfheal.dev/reset changed to \"%s\": NeedsAttention and the "
                 "attempt counters cleared",
                 p->reset_token ? p->reset_token : "");
        pf->record_event(pf, p, EVENT_NORMAL, "Reset", msg);
    }
}

static void forget_key(struct manager *m, const char *key);

/* The text an entry keeps for status st (NULL for none or out of memory). */
static char *status_text(const cJSON *st)
{
    return st ? cJSON_PrintUnformatted(st) : NULL;
}

/* The entry's status as a tree (NULL when it has none); owned. */
static cJSON *entry_status(const struct entry *e)
{
    return e->status ? cJSON_Parse(e->status) : NULL;
}

/* The entry of p's key; when it was about another object of the same name
 * (deleted and recreated while the source did not show us the deletion, e.g.
 * across a watch gap and relist), that one is forgotten first: the new object
 * starts from its own status, not from the old one's. */
/* An entry loaded before the last manager_resync (leadership regained)
 * holds what this replica last wrote, not what the leader since wrote:
 * reload it from the platform, and let every reconciler drop its memo of the
 * key. Called by the worker holding p's key. */
static void reload_if_stale(struct manager *m, struct entry *e, const struct pipeline *p)
{
    unsigned epoch = atomic_load(&m->epoch);
    if (e->epoch == epoch)
        return;
    cJSON *st = m->opts.platform->load_status(m->opts.platform, p);
    char *text = status_text(st);
    pthread_mutex_lock(&m->mu);
    free(e->status);
    e->status = text;
    e->phase = text ? status_get_phase(st) : PHASE_HEALTHY;
    e->epoch = epoch;
    pthread_mutex_unlock(&m->mu);
    cJSON_Delete(st);
    for (size_t i = 0; i < m->opts.nreconcilers; i++)
        if (m->opts.reconcilers[i].forget)
            m->opts.reconcilers[i].forget(m->opts.reconcilers[i].self, p->key);
    log_info(p->key, "leadership regained: status reloaded from the %s platform",
             m->opts.platform->name ? m->opts.platform->name : "");
}

static struct entry *entry_for(struct manager *m, const struct pipeline *p)
{
    pthread_mutex_lock(&m->mu);
    struct entry *e = strmap_get(m->entries, p->key);
    bool other = e && e->uid && p->uid && strcmp(e->uid, p->uid) != 0;
    pthread_mutex_unlock(&m->mu);
    if (other) {
        forget_key(m, p->key);
        log_info(p->key, "pipeline recreated (uid %s): starting from its own status", p->uid);
        e = NULL;
    }
    if (e) {
        reload_if_stale(m, e, p);
        return e;
    }
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->epoch = atomic_load(&m->epoch);
    cJSON *st = m->opts.platform->load_status(m->opts.platform, p);
    e->status = status_text(st);
    e->uid = p->uid ? strdup(p->uid) : NULL;
    e->namespace_ = strdup(p->namespace_);
    e->name = strdup(p->name);
    e->source = strdup(p->source);
    e->phase = e->status ? status_get_phase(st) : PHASE_HEALTHY;
    cJSON_Delete(st);
    pthread_mutex_lock(&m->mu);
    int r = strmap_put(m->entries, p->key, e, NULL);
    pthread_mutex_unlock(&m->mu);
    if (r != 0 || !e->namespace_ || !e->name || !e->source || (p->uid && !e->uid)) {
        if (r == 0) {
            pthread_mutex_lock(&m->mu);
            strmap_remove(m->entries, p->key);
            pthread_mutex_unlock(&m->mu);
        }
        entry_free(e);
        return NULL;
    }
    return e;
}

static void forget_key(struct manager *m, const char *key)
{
    for (size_t i = 0; i < m->opts.nreconcilers; i++)
        if (m->opts.reconcilers[i].forget)
            m->opts.reconcilers[i].forget(m->opts.reconcilers[i].self, key);
    pthread_mutex_lock(&m->mu);
    struct entry *e = strmap_remove(m->entries, key);
    pthread_mutex_unlock(&m->mu);
    bool known = e != NULL;
    entry_free(e);
    if (m->opts.platform->delete_status(m->opts.platform, key) != 0)
        log_warn(key, "could not remove the status of the deleted pipeline");
    if (known)
        log_info(key, "pipeline deleted");
}

/* Runs the reconcilers on st; returns the first error. */
static int run_reconcilers(struct manager *m, struct reconcile_ctx *ctx)
{
    int first_err = 0;
    for (size_t i = 0; i < m->opts.nreconcilers; i++) {
        const struct reconciler *r = &m->opts.reconcilers[i];
        int64_t t0 = clock_monotonic_ms();
        int err = r->reconcile(r->self, ctx);
        double secs = (double)(clock_monotonic_ms() - t0) / 1000.0;
        if (m->opts.metrics)
            controller_metrics_reconcile(m->opts.metrics, r->name, err ? "error" : "success",
                                         secs);
        if (err) {
            log_error(ctx->p->key, "%s reconciler: %s", r->name, sh_strerror(err));
            if (!first_err)
                first_err = err;
        }
    }
    return first_err;
}

int manager_reconcile_key(struct manager *m, const char *key, int64_t *ret_requeue_ms)
{
    if (ret_requeue_ms)
        *ret_requeue_ms = 0;
    struct pipeline *p = m->opts.source->get(m->opts.source, key);
    if (!p) {
        forget_key(m, key);
        return 0;
    }
    struct entry *e = entry_for(m, p);
    if (!e) {
        pipeline_unref(p);
        return SH_ENOMEM;
    }
    cJSON *prev = entry_status(e);
    cJSON *st = prev ? cJSON_Duplicate(prev, true) : status_new();
    if (!st || (e->status && !prev)) {
        cJSON_Delete(prev);
        cJSON_Delete(st);
        pipeline_unref(p);
        return SH_ENOMEM;
    }
    int64_t now = clock_now_ms(m->opts.clock);
    struct reconcile_ctx ctx = {
        .p = p,
        .spec = &p->spec,
        .status = st,
        .now_ms = now,
        .clock = m->opts.clock,
        .platform = m->opts.platform,
        .paused = p->spec.paused,
    };
    int err = 0;
    enum phase phase;
    if (!p->valid) {
        status_set_condition(st, COND_READY, COND_FALSE, "InvalidSpec", p->invalid_message,
                             p->generation, now);
        phase = PHASE_INVALID;
    } else {
        const char *seen = status_str(st, "observedReset");
        if (p->reset_token && (!seen || strcmp(seen, p->reset_token) != 0)) {
            ctx.reset = true;
            status_put_str(st, "observedReset", p->reset_token);
            log_info(key, "reset annotation changed: clearing NeedsAttention and attempt counters");
        }
        err = run_reconcilers(m, &ctx);
        set_ready(st, p->generation, now);
        phase = pick_phase(st, ctx.phase_requests, ctx.paused);
    }
    status_set_phase(st, phase);
    status_set_observed_generation(st, p->generation);

    redact_json(st->child); /* last line of defence: no credential leaves in a status */
    char *text = NULL;
    if (!status_equal(prev, st) && !(text = status_text(st))) {
        err = SH_ENOMEM;
    } else if (text) {
        char *werr = NULL;
        int wr = m->opts.platform->write_status(m->opts.platform, p, st, &werr);
        if (wr != 0) {
            log_error(key, "status write failed: %s", werr ? werr : sh_strerror(wr));
            free(werr);
            free(text);
            cJSON_Delete(st);
            cJSON_Delete(prev);
            pipeline_unref(p);
            return wr;
        }
        person_events(m, p, prev, phase, ctx.reset);
        condition_events(m, p, prev, st);
        count_actions(m, prev, st);
        if (e->phase != phase || !prev)
            log_info(key, "phase %s (generation %lld)", status_phase_name(phase),
                     (long long)p->generation);
        pthread_mutex_lock(&m->mu);
        free(e->status);
        e->status = text;
        e->phase = phase;
        e->generation = p->generation;
        pthread_mutex_unlock(&m->mu);
    } else {
        pthread_mutex_lock(&m->mu); /* the HTTP thread reads it (snapshots) */
        e->generation = p->generation;
        pthread_mutex_unlock(&m->mu);
    }
    cJSON_Delete(st);
    cJSON_Delete(prev);
    if (ret_requeue_ms)
        *ret_requeue_ms = ctx.requeue_after_ms;
    pipeline_unref(p);
    return err;
}

static void *worker_main(void *arg)
{
    struct manager *m = arg;
    char *key;
    while (wq_get(m->queue, &key) == 0) {
        int64_t requeue = 0;
        int r = manager_reconcile_key(m, key, &requeue);
        if (r != 0) {
            wq_add_rate_limited(m->queue, key);
        } else {
            wq_forget(m->queue, key);
            if (requeue > 0)
                wq_add_after(m->queue, key, requeue);
        }
        wq_done(m->queue, key);
        free(key);
    }
    return NULL;
}

int manager_start(struct manager *m, char **ret_err)
{
    int r = m->opts.source->start(m->opts.source, source_notify, m, ret_err);
    if (r != 0)
        return r;
    for (int i = 0; i < m->opts.workers; i++) {
        if (pthread_create(&m->threads[i], NULL, worker_main, m) != 0) {
            if (ret_err)
                *ret_err = strdup("cannot start worker threads");
            wq_shutdown(m->queue);
            for (int j = 0; j < m->nthreads; j++)
                pthread_join(m->threads[j], NULL);
            m->nthreads = 0;
            return SH_ENOMEM;
        }
        m->nthreads++;
    }
    log_info(NULL, "manager started: %d workers, %zu reconcilers", m->nthreads,
             m->opts.nreconcilers);
    return 0;
}

void manager_resync(struct manager *m)
{
    atomic_fetch_add(&m->epoch, 1);
    if (m->opts.platform->resync)
        m->opts.platform->resync(m->opts.platform);
    size_t n = 0;
    char **keys = m->opts.source->keys(m->opts.source, &n);
    for (size_t i = 0; keys && i < n; i++)
        wq_add(m->queue, keys[i]);
    strmap_keys_free(keys);
}

int manager_stop(struct manager *m, int64_t timeout_ms)
{
    if (!m->stopping) {
        m->stopping = true;
        m->opts.source->stop(m->opts.source);
    }
    /* never detach a worker that still runs: it uses the manager, the
     * reconcilers, the platform and the source, which the caller frees */
    if (wq_shutdown_drain(m->queue, timeout_ms) != 0)
        return SH_ETIMEOUT;
    for (int i = 0; i < m->nthreads; i++)
        pthread_join(m->threads[i], NULL);
    m->nthreads = 0;
    for (size_t i = 0; i < m->opts.nreconcilers; i++)
        if (m->opts.reconcilers[i].shutdown)
            m->opts.reconcilers[i].shutdown(m->opts.reconcilers[i].self);
    return 0;
}

static void free_entry_cb(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    entry_free(value);
}

void manager_free(struct manager *m)
{
    if (!m || m->nthreads > 0)
        return; /* workers still run (manager_stop timed out): they use it */
    if (m->entries) {
        strmap_foreach(m->entries, free_entry_cb, NULL);
        strmap_free(m->entries);
    }
    wq_free(m->queue);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static cJSON *entry_json(const char *key, const struct entry *e)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "key", key);
    cJSON_AddStringToObject(o, "namespace", e->namespace_);
    cJSON_AddStringToObject(o, "name", e->name);
    cJSON_AddStringToObject(o, "phase", status_phase_name(e->phase));
    cJSON_AddNumberToObject(o, "generation", (double)e->generation);
    cJSON_AddStringToObject(o, "source", e->source);
    cJSON *st = entry_status(e);
    cJSON_AddItemToObject(o, "status", st ? st : cJSON_CreateObject());
    return o;
}

char *manager_snapshot_json(struct manager *m)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return NULL;
    pthread_mutex_lock(&m->mu);
    size_t n = 0;
    char **keys = strmap_keys(m->entries, &n);
    for (size_t i = 0; keys && i < n; i++) {
        cJSON *o = entry_json(keys[i], strmap_get(m->entries, keys[i]));
        if (o)
            cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&m->mu);
    strmap_keys_free(keys);
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    redact_inplace(s);
    return s;
}

char *manager_pipeline_json(struct manager *m, const char *key)
{
    pthread_mutex_lock(&m->mu);
    struct entry *e = strmap_get(m->entries, key);
    cJSON *o = e ? entry_json(key, e) : NULL;
    pthread_mutex_unlock(&m->mu);
    if (!o)
        return NULL;
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    redact_inplace(s);
    return s;
}

struct count_ctx {
    size_t *counts;
};

static void count_cb(void *ctx, const char *key, void *value)
{
    (void)key;
    struct count_ctx *cc = ctx;
    const struct entry *e = value;
    if (e->status && e->phase < PHASE__COUNT)
        cc->counts[e->phase]++;
}

void manager_phase_counts(struct manager *m, size_t counts[PHASE__COUNT])
{
    memset(counts, 0, sizeof(size_t) * PHASE__COUNT);
    struct count_ctx cc = {counts};
    pthread_mutex_lock(&m->mu);
    strmap_foreach(m->entries, count_cb, &cc);
    pthread_mutex_unlock(&m->mu);
}
