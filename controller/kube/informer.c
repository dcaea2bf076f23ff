/*
 * informer.c — list + watch of SelfHealingPipelines into a cache
 * (informer.h).
 *
 * Threads: two watch loops (runtime/watchloop.h) — the reflector (list,
 * watch; the loop owns the backoff) is the only writer of the cache, the
 * resync loop and set_active only read keys; workers call get/keys. `mu`
 * guards the cache, the resourceVersion, the flags and the counters;
 * notifications are sent after `mu` is released (the manager takes its own
 * locks). stop() wakes the loops' waits at once; a watch in progress
 * notices the reflector's stop flag within about a second (libcurl's
 * progress callback).
 */
#include "kube/informer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/errors.h"
#include "base/log.h"
#include "base/strmap.h"
#include "kube/apistatus.h"
#include "kube/watch.h"
#include "runtime/watchloop.h"

#define RV_MAX 64
#define WATCH_GONE 1 /* an ERROR event with code 410: relist */

struct informer {
    struct watchloop_source ws; /* first: the source, its lock `mu`, the cache */
    struct kube_informer_options o;
    char *namespace_; /* NULL: all namespaces */

    struct strmap *missed; /* keys changed while inactive (value unused) */
    char rv[RV_MAX];
    bool active;
    struct kube_informer_stats stats;

    source_notify_fn *notify;
    void *notify_ctx;
    struct watchloop *reflector, *resync;
    bool need_list; /* the reflector's: list before the next watch */
    unsigned seed;
};

/* Sends the notifications (when active) and frees the list. */
static void keylist_flush(struct informer *inf, struct watchloop_keys *kl)
{
    pthread_mutex_lock(&inf->ws.mu);
    bool active = inf->active;
    if (!active)
        for (size_t i = 0; i < kl->n; i++)
            strmap_put(inf->missed, kl->keys[i], inf, NULL);
    else
        inf->stats.notifies += kl->n;
    pthread_mutex_unlock(&inf->ws.mu);
    watchloop_keys_flush(kl, active ? inf->notify : NULL, inf->notify_ctx);
}

char *kube_shp_path(char *buf, size_t size, const char *namespace_, const char *name,
                    const char *sub)
{
    int n;
    if (namespace_ && *namespace_)
        n = snprintf(buf, size, "/apis/%s/%s/namespaces/%s/%s", KUBE_SHP_GROUP, KUBE_SHP_VERSION,
                     namespace_, KUBE_SHP_PLURAL);
    else
        n = snprintf(buf, size, "/apis/%s/%s/%s", KUBE_SHP_GROUP, KUBE_SHP_VERSION,
                     KUBE_SHP_PLURAL);
    if (name && n > 0 && (size_t)n < size)
        n += snprintf(buf + n, size - (size_t)n, "/%s", name);
    if (sub && n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "/%s", sub);
    return buf;
}

static const cJSON *meta_of(const cJSON *obj)
{
    return cJSON_GetObjectItemCaseSensitive(obj, "metadata");
}

static const char *meta_str(const cJSON *obj, const char *field)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta_of(obj), field));
}

static bool same_item(const cJSON *a, const cJSON *b, const char *field)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(meta_of(a), field);
    const cJSON *y = cJSON_GetObjectItemCaseSensitive(meta_of(b), field);
    if (!x || !y)
        return !x == !y;
    return cJSON_Compare(x, y, true);
}

/* Does the change from old to nw call for a reconcile? Status-only
 * changes (same generation, same metadata that matters) do not. */
static bool matters(const struct pipeline *old, const struct pipeline *nw)
{
    if (!old)
        return true;
    if (old->generation != nw->generation || old->valid != nw->valid)
        return true;
    if ((old->uid == NULL) != (nw->uid == NULL) || (old->uid && strcmp(old->uid, nw->uid) != 0))
        return true;
    return !same_item(old->object, nw->object, "labels") ||
           !same_item(old->object, nw->object, "annotations") ||
           !same_item(old->object, nw->object, "deletionTimestamp");
}

/* Builds a snapshot of obj (taken). NULL when unusable. */
static struct pipeline *snapshot(cJSON *obj)
{
    const cJSON *meta = meta_of(obj);
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generation");
    int64_t generation = cJSON_IsNumber(gen) ? (int64_t)gen->valuedouble : 1;
    int64_t created = 0;
    const char *ct = meta_str(obj, "creationTimestamp");
    if (ct)
        clock_parse_rfc3339(ct, &created);
    struct pipeline *p = NULL;
    char *err = NULL;
    if (pipeline_new(obj, "kube", "default", generation, created, &p, &err) != 0) {
        log_warn(NULL, "ignoring a %s without a usable name: %s", KUBE_SHP_KIND,
                 err ? err : "?");
        free(err);
        return NULL;
    }
    return p;
}

/* Installs obj (taken) in the cache; notes the key when it matters. */
static void install_locked(struct informer *inf, cJSON *obj, struct watchloop_keys *changed)
{
    struct pipeline *p = snapshot(obj);
    if (!p)
        return;
    struct pipeline *old = strmap_get(inf->ws.snapshots, p->key);
    bool m = matters(old, p);
    if (strmap_put(inf->ws.snapshots, p->key, p, NULL) != 0) {
        pipeline_unref(p);
        return;
    }
    if (m)
        watchloop_keys_add(changed, p->key);
    pipeline_unref(old);
}

static void remove_locked(struct informer *inf, const char *key, struct watchloop_keys *changed)
{
    struct pipeline *old = strmap_remove(inf->ws.snapshots, key);
    if (!old)
        return;
    pipeline_unref(old);
    watchloop_keys_add(changed, key);
}

static void set_rv_locked(struct informer *inf, const char *rv)
{
    if (rv && *rv && strlen(rv) < RV_MAX)
        snprintf(inf->rv, sizeof inf->rv, "%s", rv);
}

/* Percent-encodes s (a continue token) into buf. */
static void url_escape(const char *s, char *buf, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    for (; *s && j + 4 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            buf[j++] = (char)ch;
        } else {
            buf[j++] = '%';
            buf[j++] = hex[ch >> 4];
            buf[j++] = hex[ch & 15];
        }
    }
    buf[j] = '\0';
}

struct seen_ctx {
    struct strmap *seen;
    struct watchloop_keys *gone;
};

static void collect_gone(void *ctx, const char *key, void *value)
{
    (void)value;
    struct seen_ctx *sc = ctx;
    if (!strmap_get(sc->seen, key))
        watchloop_keys_add(sc->gone, key);
}

/* Lists every object (paginated) and replaces the cache with the result. */
static int do_list(struct informer *inf, char **ret_err)
{
    char base[512];
    kube_shp_path(base, sizeof base, inf->namespace_, NULL, NULL);
    cJSON *all = cJSON_CreateArray();
    char *cont = NULL, rv[RV_MAX] = "";
    int r = all ? 0 : SH_ENOMEM;
    while (r == 0) {
        char path[4096], esc[2048] = "";
        if (cont)
            url_escape(cont, esc, sizeof esc);
        snprintf(path, sizeof path, "%s?limit=%ld%s%s", base, inf->o.page_size,
                 cont ? "&continue=" : "", esc);
        cJSON *list = NULL;
        r = kube_get(inf->o.client, path, &list, ret_err);
        if (r != 0)
            break;
        cJSON *items = cJSON_DetachItemFromObjectCaseSensitive(list, "items");
        cJSON *it;
        while (cJSON_IsArray(items) && (it = cJSON_DetachItemFromArray(items, 0)))
            cJSON_AddItemToArray(all, it);
        cJSON_Delete(items);
        free(cont);
        cont = NULL;
        const char *c = meta_str(list, "continue");
        const char *lrv = meta_str(list, "resourceVersion");
        if (lrv && strlen(lrv) < sizeof rv)
            snprintf(rv, sizeof rv, "%s", lrv);
        if (c && *c && !(cont = strdup(c)))
            r = SH_ENOMEM;
        cJSON_Delete(list);
        if (!cont)
            break;
    }
    free(cont);
    if (r != 0) {
        cJSON_Delete(all);
        return r;
    }
    struct watchloop_keys changed = {0};
    struct strmap *seen = strmap_new();
    pthread_mutex_lock(&inf->ws.mu);
    cJSON *it;
    while ((it = cJSON_DetachItemFromArray(all, 0))) {
        const char *ns = meta_str(it, "namespace");
        const char *nm = meta_str(it, "name");
        char key[PIPELINE_KEY_MAX];
        if (nm && seen)
            strmap_put(seen, pipeline_make_key(ns ? ns : "default", nm, key, sizeof key), inf,
                       NULL);
        install_locked(inf, it, &changed);
    }
    if (seen) {
        struct seen_ctx sc = {.seen = seen, .gone = &(struct watchloop_keys){0}};
        strmap_foreach(inf->ws.snapshots, collect_gone, &sc);
        for (size_t i = 0; i < sc.gone->n; i++) {
            remove_locked(inf, sc.gone->keys[i], &changed);
            free(sc.gone->keys[i]);
        }
        free(sc.gone->keys);
    }
    set_rv_locked(inf, rv);
    inf->stats.lists++;
    size_t n = strmap_count(inf->ws.snapshots);
    pthread_mutex_unlock(&inf->ws.mu);
    strmap_free(seen);
    cJSON_Delete(all);
    log_info(NULL, "listed %zu %ss%s%s at resourceVersion %s", n, KUBE_SHP_KIND,
             inf->namespace_ ? " in namespace " : " in all namespaces",
             inf->namespace_ ? inf->namespace_ : "", rv);
    keylist_flush(inf, &changed);
    /* synced once the initial items have been handed to the manager */
    watchloop_source_set_synced(&inf->ws);
    return 0;
}

struct watch_ctx {
    struct informer *inf;
    struct kube_watch_decoder dec;
    unsigned long applied;
    char *error; /* an ERROR event's message */
};

static int on_event(void *ctx, enum kube_event_type type, cJSON *obj)
{
    struct watch_ctx *w = ctx;
    struct informer *inf = w->inf;
    if (type == KUBE_EV_ERROR) {
        struct kube_status st;
        kube_status_parse(obj, &st);
        free(w->error);
        w->error = strdup(st.message ? st.message : "ERROR event without a message");
        int r = st.code == 410 ? WATCH_GONE : SH_EPROTO;
        cJSON_Delete(obj);
        return r;
    }
    struct watchloop_keys changed = {0};
    pthread_mutex_lock(&inf->ws.mu);
    set_rv_locked(inf, meta_str(obj, "resourceVersion"));
    if (type == KUBE_EV_BOOKMARK) {
        cJSON_Delete(obj);
    } else if (type == KUBE_EV_DELETED) {
        const char *ns = meta_str(obj, "namespace");
        const char *nm = meta_str(obj, "name");
        char key[PIPELINE_KEY_MAX];
        if (nm)
            remove_locked(inf, pipeline_make_key(ns ? ns : "default", nm, key, sizeof key),
                          &changed);
        cJSON_Delete(obj);
        inf->stats.events++;
    } else {
        install_locked(inf, obj, &changed);
        inf->stats.events++;
    }
    pthread_mutex_unlock(&inf->ws.mu);
    if (type != KUBE_EV_BOOKMARK)
        w->applied++;
    keylist_flush(inf, &changed);
    return 0;
}

static int on_bytes(void *ctx, const char *buf, size_t len)
{
    struct watch_ctx *w = ctx;
    return kube_watch_feed(&w->dec, buf, len);
}

/* One watch from the current resourceVersion. Returns 0 when it ended
 * cleanly, WATCH_GONE to relist, or an error; *ret_applied: events. */
static int do_watch(struct informer *inf, unsigned long *ret_applied, char **ret_err)
{
    char base[512], path[1024], rv[RV_MAX];
    kube_shp_path(base, sizeof base, inf->namespace_, NULL, NULL);
    pthread_mutex_lock(&inf->ws.mu);
    snprintf(rv, sizeof rv, "%s", inf->rv);
    inf->stats.watches++;
    int span = inf->o.watch_max_s - inf->o.watch_min_s + 1;
    int timeout_s = inf->o.watch_min_s + (span > 0 ? (int)(rand_r(&inf->seed) % (unsigned)span) : 0);
    pthread_mutex_unlock(&inf->ws.mu);
    snprintf(path, sizeof path,
             "%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%d", base, rv,
             timeout_s);
    struct watch_ctx w = {.inf = inf};
    kube_watch_init(&w.dec, inf->o.max_event_bytes, on_event, &w);
    long code = 0;
    int r = kube_stream(inf->o.client, path, ((long)timeout_s + 30) * 1000, on_bytes, &w,
                        watchloop_stop_flag(inf->reflector), &code, ret_err);
    if (r == 0)
        r = kube_watch_finish(&w.dec);
    kube_watch_free(&w.dec);
    if (r == WATCH_GONE || r == SH_EPROTO) {
        if (ret_err && w.error && asprintf(ret_err, "watch: %s", w.error) < 0)
            *ret_err = NULL;
    } else if (r == SH_ETOOBIG && ret_err) {
        *ret_err = strdup("watch: an event larger than the limit; relisting");
    }
    if (code == 410)
        r = WATCH_GONE;
    free(w.error);
    *ret_applied = w.applied;
    return r;
}

/* The reflector's step: a list when one is due (the first, after a 410 or
 * an unreadable stream), else one watch. */
static enum watchloop_next reflector_step(void *arg, struct watchloop *wl)
{
    struct informer *inf = arg;
    char *err = NULL;
    if (inf->need_list) {
        int r = do_list(inf, &err);
        if (r != 0) {
            if (!watchloop_stopping(wl))
                log_error(NULL, "list %ss: %s (retrying in %lld ms)", KUBE_SHP_KIND,
                          err ? err : sh_strerror(r), (long long)watchloop_backoff_ms(wl));
            free(err);
            return WATCHLOOP_RETRY;
        }
        inf->need_list = false;
        return WATCHLOOP_OK;
    }
    unsigned long applied = 0;
    int r = do_watch(inf, &applied, &err);
    if (watchloop_stopping(wl) || r == SH_ESTOPPED) {
        free(err);
        return WATCHLOOP_STOP;
    }
    if (applied > 0)
        watchloop_reset_backoff(wl);
    if (r == 0) {
        /* ended at timeoutSeconds: resume now. The server answered for the
         * whole watch, so a backoff grown during an outage starts over
         * (otherwise, with no events to apply, the next blip after an
         * outage would wait up to backoff_max) */
        free(err);
        return WATCHLOOP_OK;
    }
    if (r == WATCH_GONE || r == SH_ETOOBIG) {
        log_info(NULL, "%s; relisting", err ? err : "watch: resourceVersion too old (410)");
        free(err);
        inf->need_list = true;
        return WATCHLOOP_AGAIN;
    }
    log_warn(NULL, "watch %ss: %s (resuming in %lld ms)", KUBE_SHP_KIND,
             err ? err : sh_strerror(r), (long long)watchloop_backoff_ms(wl));
    free(err);
    if (r == SH_EPROTO)
        inf->need_list = true; /* a stream we could not read: start from a fresh list */
    return WATCHLOOP_RETRY;
}

static void notify_all(struct informer *inf)
{
    struct watchloop_keys kl = {0};
    pthread_mutex_lock(&inf->ws.mu);
    char **keys = strmap_keys(inf->ws.snapshots, NULL);
    char **missed = strmap_keys(inf->missed, NULL);
    for (char **k = missed; k && *k; k++) {
        if (!strmap_get(inf->ws.snapshots, *k))
            watchloop_keys_add(&kl, *k);
        strmap_remove(inf->missed, *k);
    }
    pthread_mutex_unlock(&inf->ws.mu);
    for (char **k = keys; k && *k; k++)
        watchloop_keys_add(&kl, *k);
    strmap_keys_free(keys);
    strmap_keys_free(missed);
    keylist_flush(inf, &kl);
}

/* The resync loop's step: every key, once a period. */
static enum watchloop_next resync_step(void *arg, struct watchloop *wl)
{
    struct informer *inf = arg;
    if (!watchloop_wait(wl, inf->o.resync_ms))
        return WATCHLOOP_STOP;
    notify_all(inf);
    return WATCHLOOP_AGAIN;
}

static int inf_start(struct source *src, source_notify_fn *notify, void *ctx, char **ret_err)
{
    struct informer *inf = (struct informer *)src;
    inf->notify = notify;
    inf->notify_ctx = ctx;
    inf->need_list = true;
    int r = watchloop_start(inf->reflector, ret_err);
    if (r != 0)
        return r;
    if (inf->resync)
        watchloop_start(inf->resync, NULL); /* without it, only events notify */
    return 0;
}

static void inf_stop(struct source *src)
{
    struct informer *inf = (struct informer *)src;
    if (inf->resync)
        watchloop_request_stop(inf->resync);
    if (inf->reflector)
        watchloop_stop(inf->reflector);
    if (inf->resync)
        watchloop_stop(inf->resync);
}

static void inf_free(struct source *src)
{
    struct informer *inf = (struct informer *)src;
    if (!inf)
        return;
    inf_stop(src);
    watchloop_free(inf->reflector);
    watchloop_free(inf->resync);
    strmap_free(inf->missed);
    watchloop_source_destroy(&inf->ws);
    free(inf->namespace_);
    free(inf);
}

void kube_informer_set_active(struct source *src, bool active)
{
    struct informer *inf = (struct informer *)src;
    pthread_mutex_lock(&inf->ws.mu);
    bool was = inf->active;
    inf->active = active;
    pthread_mutex_unlock(&inf->ws.mu);
    if (active && !was)
        notify_all(inf);
}

void kube_informer_stats(struct source *src, struct kube_informer_stats *ret)
{
    struct informer *inf = (struct informer *)src;
    pthread_mutex_lock(&inf->ws.mu);
    *ret = inf->stats;
    pthread_mutex_unlock(&inf->ws.mu);
}

char *kube_informer_resource_version(struct source *src)
{
    struct informer *inf = (struct informer *)src;
    pthread_mutex_lock(&inf->ws.mu);
    char *s = strdup(inf->rv);
    pthread_mutex_unlock(&inf->ws.mu);
    return s;
}

int kube_informer_new(const struct kube_informer_options *o, struct source **ret)
{
    struct informer *inf = calloc(1, sizeof *inf);
    if (!inf)
        return SH_ENOMEM;
    int r = watchloop_source_init(&inf->ws, inf_start, inf_stop, inf_free);
    inf->o = *o;
    if (!inf->o.resync_ms)
        inf->o.resync_ms = 600000;
    if (inf->o.watch_min_s <= 0)
        inf->o.watch_min_s = 300;
    if (inf->o.watch_max_s < inf->o.watch_min_s)
        inf->o.watch_max_s = inf->o.watch_min_s == 300 ? 600 : inf->o.watch_min_s;
    if (inf->o.page_size <= 0)
        inf->o.page_size = 500;
    inf->seed = o->seed ? o->seed : (unsigned)time(NULL) ^ (unsigned)(uintptr_t)inf;
    inf->active = !o->inactive;
    inf->missed = strmap_new();
    if (o->namespace_ && *o->namespace_)
        inf->namespace_ = strdup(o->namespace_);
    /* the backoff's defaults (800 ms, 30 s) are the watch loop's */
    struct watchloop_options wo = {.name = "informer", .step = reflector_step, .ctx = inf,
                                   .backoff_ms = inf->o.backoff_ms,
                                   .backoff_max_ms = inf->o.backoff_max_ms};
    if (r == 0)
        r = watchloop_new(&wo, &inf->reflector);
    if (r == 0 && inf->o.resync_ms > 0)
        r = watchloop_new(&(struct watchloop_options){.name = "informer resync",
                                                     .step = resync_step, .ctx = inf},
                          &inf->resync);
    if (r != 0 || !inf->missed ||
        (o->namespace_ && *o->namespace_ && !inf->namespace_)) {
        inf_free(&inf->ws.base);
        return SH_ENOMEM;
    }
    *ret = &inf->ws.base;
    return 0;
}
