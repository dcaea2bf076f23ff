/*
 * kube_platform.c — status subresource, Events and the actuator registry
 * on the API server (kube_platform.h).
 *
 * `mu` guards `bases` (key → the status and resourceVersion last seen on the
 * server for that object, the base of the next merge patch), `events`
 * (correlation key → the Event created for it) and the counters. API calls
 * are made without the lock.
 */
#include "kube/kube_platform.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/log.h"
#include "base/redact.h"
#include "base/strmap.h"
#include "kube/informer.h"
#include "kube/mergepatch.h"
#include "kube/secrets.h"

#define MAX_LOOPS 8
#define EVENTS_MAX 4096
#define EVENT_MESSAGE_MAX 1024

struct base {
    char *uid;
    char *rv;
    cJSON *status;
};

struct event_rec {
    char *name;
    long count;
};

struct kube_platform {
    struct platform base;
    struct kube_platform_options o;
    char instance[256];
    pthread_mutex_t mu;
    struct strmap *bases;
    struct strmap *events;
    struct kube_platform_stats stats;
    struct kube_secrets *secrets; /* secretKeyRef of the specs (kube/secrets.h) */
    unsigned seq;
    struct {
        const char *loop;
        const void *ops;
    } actuators[MAX_LOOPS];
};

static void base_free(struct base *b)
{
    if (!b)
        return;
    free(b->uid);
    free(b->rv);
    cJSON_Delete(b->status);
    free(b);
}

static bool leading(struct kube_platform *kp)
{
    return !kp->o.is_leader || kp->o.is_leader(kp->o.leader_ctx);
}

static const char *meta_str(const cJSON *obj, const char *field)
{
    return cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), field));
}

static cJSON *kp_load_status(struct platform *pf, const struct pipeline *p)
{
    (void)pf;
    return p->last_status ? cJSON_Duplicate(p->last_status, true) : NULL;
}

/* A base made from an object (its status and resourceVersion). */
static struct base *base_from_object(const cJSON *obj)
{
    struct base *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    const char *uid = meta_str(obj, "uid");
    const char *rv = meta_str(obj, "resourceVersion");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status");
    b->uid = uid ? strdup(uid) : NULL;
    b->rv = strdup(rv ? rv : "");
    b->status = cJSON_IsObject(st) ? cJSON_Duplicate(st, true) : NULL;
    if (!b->rv || (uid && !b->uid) || (cJSON_IsObject(st) && !b->status)) {
        base_free(b);
        return NULL;
    }
    return b;
}

/* The base for p: the cached one when it is of the same object, else what
 * the snapshot carries. Owned copy. */
static struct base *base_for(struct kube_platform *kp, const struct pipeline *p)
{
    struct base *b = NULL;
    pthread_mutex_lock(&kp->mu);
    struct base *c = strmap_get(kp->bases, p->key);
    if (c && (!c->uid || !p->uid || strcmp(c->uid, p->uid) == 0)) {
        b = calloc(1, sizeof *b);
        if (b) {
            b->uid = c->uid ? strdup(c->uid) : NULL;
            b->rv = strdup(c->rv);
            b->status = c->status ? cJSON_Duplicate(c->status, true) : NULL;
        }
    }
    pthread_mutex_unlock(&kp->mu);
    if (b)
        return b;
    b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    const char *rv = meta_str(p->object, "resourceVersion");
    b->uid = p->uid ? strdup(p->uid) : NULL;
    b->rv = strdup(rv ? rv : "");
    b->status = p->last_status ? cJSON_Duplicate(p->last_status, true) : NULL;
    return b;
}

static void base_store(struct kube_platform *kp, const char *key, struct base *b)
{
    void *old = NULL;
    pthread_mutex_lock(&kp->mu);
    if (strmap_put(kp->bases, key, b, &old) != 0) {
        old = b;
    }
    pthread_mutex_unlock(&kp->mu);
    base_free(old);
}

static int kp_write_status(struct platform *pf, const struct pipeline *p, const cJSON *status,
                           char **ret_err)
{
    struct kube_platform *kp = pf->impl;
    if (!leading(kp)) {
        pthread_mutex_lock(&kp->mu);
        kp->stats.refused++;
        pthread_mutex_unlock(&kp->mu);
        if (ret_err)
            *ret_err = strdup("not the leader: status not written");
        return SH_EREFUSED;
    }
    char path[1024];
    kube_shp_path(path, sizeof path, p->namespace_, p->name, "status");
    struct base *b = base_for(kp, p);
    if (!b)
        return SH_ENOMEM;
    int r = SH_ECONFLICT;
    char *err = NULL;
    for (int attempt = 0; attempt <= kp->o.conflict_retries; attempt++) {
        cJSON *diff = kube_merge_diff(b->status, status);
        cJSON *patch = cJSON_CreateObject();
        cJSON *meta = patch ? cJSON_AddObjectToObject(patch, "metadata") : NULL;
        if (!diff || !meta || (b->rv[0] && !cJSON_AddStringToObject(meta, "resourceVersion", b->rv))) {
            cJSON_Delete(diff);
            cJSON_Delete(patch);
            r = SH_ENOMEM;
            break;
        }
        if (b->status && cJSON_GetArraySize(diff) == 0) {
            cJSON_Delete(diff);
            cJSON_Delete(patch);
            r = 0; /* the server already has it */
            break;
        }
        cJSON_AddItemToObject(patch, "status", diff);
        cJSON *obj = NULL;
        free(err);
        err = NULL;
        r = kube_patch_merge(kp->o.client, path, patch, &obj, &err);
        cJSON_Delete(patch);
        pthread_mutex_lock(&kp->mu);
        kp->stats.status_patches++;
        if (r == SH_ECONFLICT)
            kp->stats.conflicts++;
        pthread_mutex_unlock(&kp->mu);
        if (r == 0) {
            struct base *nb = obj ? base_from_object(obj) : NULL;
            cJSON_Delete(obj);
            if (nb) {
                base_store(kp, p->key, nb);
            }
            break;
        }
        cJSON_Delete(obj);
        if (r != SH_ECONFLICT)
            break;
        /* 409: someone wrote since our base; re-read and diff again */
        char opath[1024];
        kube_shp_path(opath, sizeof opath, p->namespace_, p->name, NULL);
        cJSON *cur = NULL;
        char *gerr = NULL;
        int g = kube_get(kp->o.client, opath, &cur, &gerr);
        if (g != 0) {
            free(err);
            err = gerr;
            r = g;
            break;
        }
        const char *uid = meta_str(cur, "uid");
        if (p->uid && uid && strcmp(uid, p->uid) != 0) {
            cJSON_Delete(cur);
            free(err);
            err = strdup("the pipeline was deleted and recreated; not writing the old one's status");
            r = SH_ENOTFOUND;
            break;
        }
        struct base *nb = base_from_object(cur);
        cJSON_Delete(cur);
        if (!nb) {
            r = SH_ENOMEM;
            break;
        }
        base_free(b);
        b = nb;
    }
    base_free(b);
    if (r != 0 && ret_err)
        *ret_err = err ? err : strdup(sh_strerror(r));
    else
        free(err);
    return r;
}

static int kp_delete_status(struct platform *pf, const char *key)
{
    struct kube_platform *kp = pf->impl;
    pthread_mutex_lock(&kp->mu);
    struct base *b = strmap_remove(kp->bases, key);
    pthread_mutex_unlock(&kp->mu);
    base_free(b);
    return 0;
}

static void event_rec_free(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    struct event_rec *e = value;
    free(e->name);
    free(e);
}

static cJSON *event_body(struct kube_platform *kp, const struct pipeline *p, const char *name,
                         const char *type, const char *reason, const char *message,
                         const char *ts)
{
    cJSON *ev = cJSON_CreateObject();
    if (!ev)
        return NULL;
    cJSON_AddStringToObject(ev, "apiVersion", "v1");
    cJSON_AddStringToObject(ev, "kind", "Event");
    cJSON *meta = cJSON_AddObjectToObject(ev, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", p->namespace_);
    cJSON *io = cJSON_AddObjectToObject(ev, "involvedObject");
    cJSON_AddStringToObject(io, "apiVersion", KUBE_SHP_GROUP "/" KUBE_SHP_VERSION);
    cJSON_AddStringToObject(io, "kind", KUBE_SHP_KIND);
    cJSON_AddStringToObject(io, "name", p->name);
    cJSON_AddStringToObject(io, "namespace", p->namespace_);
    if (p->uid)
        cJSON_AddStringToObject(io, "uid", p->uid);
    const char *rv = meta_str(p->object, "resourceVersion");
    if (rv)
        cJSON_AddStringToObject(io, "resourceVersion", rv);
    cJSON_AddStringToObject(ev, "reason", reason);
    char msg[EVENT_MESSAGE_MAX + 1];
    snprintf(msg, sizeof msg, "%s", message);
    cJSON_AddStringToObject(ev, "message", msg);
    cJSON_AddStringToObject(ev, "type", type);
    cJSON *src = cJSON_AddObjectToObject(ev, "source");
    cJSON_AddStringToObject(src, "component", "selfheal");
    cJSON_AddStringToObject(src, "host", kp->instance);
    cJSON_AddStringToObject(ev, "firstTimestamp", ts);
    cJSON_AddStringToObject(ev, "lastTimestamp", ts);
    cJSON_AddNumberToObject(ev, "count", 1);
    cJSON_AddStringToObject(ev, "reportingComponent", "selfheal");
    cJSON_AddStringToObject(ev, "reportingInstance", kp->instance);
    return ev;
}

static void kp_record_clean(struct platform *pf, const struct pipeline *p, enum event_type type,
                            const char *reason, const char *message)
{
    struct kube_platform *kp = pf->impl;
    const char *t = type == EVENT_WARNING ? "Warning" : "Normal";
    log_msg(type == EVENT_WARNING ? LOG_WARN : LOG_INFO, p->key, "event %s %s: %s", t, reason,
            message);
    if (!leading(kp))
        return;
    int64_t now = clock_now_ms(kp->o.clock);
    char ts[32];
    clock_format_rfc3339(now, ts, sizeof ts);
    char *ckey = NULL;
    if (asprintf(&ckey, "%s\x1f%s\x1f%s\x1f%s\x1f%.*s", p->uid ? p->uid : p->key, t, reason,
                 p->key, EVENT_MESSAGE_MAX, message) < 0)
        return;
    char path[1024];
    pthread_mutex_lock(&kp->mu);
    struct event_rec *e = strmap_get(kp->events, ckey);
    char *name = e ? strdup(e->name) : NULL;
    long count = e ? e->count + 1 : 1;
    unsigned seq = ++kp->seq;
    pthread_mutex_unlock(&kp->mu);
    char *err = NULL;
    if (name) {
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/events/%s", p->namespace_, name);
        cJSON *patch = cJSON_CreateObject();
        cJSON_AddNumberToObject(patch, "count", (double)count);
        cJSON_AddStringToObject(patch, "lastTimestamp", ts);
        int r = patch ? kube_patch_merge(kp->o.client, path, patch, NULL, &err) : SH_ENOMEM;
        cJSON_Delete(patch);
        if (r == 0) {
            pthread_mutex_lock(&kp->mu);
            e = strmap_get(kp->events, ckey);
            if (e && e->count < count)
                e->count = count;
            kp->stats.events_repeated++;
            pthread_mutex_unlock(&kp->mu);
            goto out;
        }
        if (r != SH_ENOTFOUND) {
            log_warn(p->key, "event %s: %s", reason, err ? err : sh_strerror(r));
            goto out;
        }
        free(err);
        err = NULL;
        free(name);
        name = NULL;
    }
    /* a new Event: name.<hex of the time and a sequence>, as client-go names them */
    if (asprintf(&name, "%.200s.%llx", p->name,
                 (unsigned long long)now * 1000000ULL + (seq % 1000000u)) < 0) {
        name = NULL;
        goto out;
    }
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", p->namespace_);
    cJSON *ev = event_body(kp, p, name, t, reason, message, ts);
    int r = ev ? kube_post(kp->o.client, path, ev, NULL, &err) : SH_ENOMEM;
    cJSON_Delete(ev);
    if (r != 0) {
        log_warn(p->key, "event %s: %s", reason, err ? err : sh_strerror(r));
        goto out;
    }
    struct event_rec *ne = calloc(1, sizeof *ne);
    if (ne && (ne->name = strdup(name))) {
        ne->count = 1;
        void *old = NULL;
        pthread_mutex_lock(&kp->mu);
        kp->stats.events_created++;
        if (strmap_count(kp->events) >= EVENTS_MAX) {
            strmap_foreach(kp->events, event_rec_free, NULL);
            strmap_free(kp->events);
            kp->events = strmap_new();
        }
        if (!kp->events || strmap_put(kp->events, ckey, ne, &old) != 0)
            old = ne;
        pthread_mutex_unlock(&kp->mu);
        if (old)
            event_rec_free(NULL, NULL, old);
    } else {
        free(ne);
    }
out:
    free(err);
    free(name);
    free(ckey);
}

/* Every message leaves redacted (a last line of defence: redact.h). */
static void kp_record_event(struct platform *pf, const struct pipeline *p, enum event_type type,
                            const char *reason, const char *message)
{
    char *clean = redact_dup(message);
    kp_record_clean(pf, p, type, reason, clean ? clean : "");
    free(clean);
}

static const void *kp_actuators(struct platform *pf, const char *loop)
{
    struct kube_platform *kp = pf->impl;
    if (!leading(kp))
        return NULL;
    for (int i = 0; i < MAX_LOOPS; i++)
        if (kp->actuators[i].loop && strcmp(kp->actuators[i].loop, loop) == 0)
            return kp->actuators[i].ops;
    return NULL;
}

void kube_platform_set_actuators(struct platform *pf, const char *loop, const void *ops)
{
    struct kube_platform *kp = pf->impl;
    for (int i = 0; i < MAX_LOOPS; i++) {
        if (!kp->actuators[i].loop || strcmp(kp->actuators[i].loop, loop) == 0) {
            kp->actuators[i].loop = loop;
            kp->actuators[i].ops = ops;
            return;
        }
    }
}

void kube_platform_stats(struct platform *pf, struct kube_platform_stats *ret)
{
    struct kube_platform *kp = pf->impl;
    pthread_mutex_lock(&kp->mu);
    *ret = kp->stats;
    pthread_mutex_unlock(&kp->mu);
}

static void base_free_cb(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    base_free(value);
}

/* Leadership regained: what this replica last wrote is no base for a diff
 * any more (the leader in between wrote too); bases are rebuilt from the
 * informer's current objects. */
static void kp_resync(struct platform *pf)
{
    struct kube_platform *kp = pf->impl;
    pthread_mutex_lock(&kp->mu);
    strmap_foreach(kp->bases, base_free_cb, NULL);
    strmap_free(kp->bases);
    kp->bases = strmap_new();
    pthread_mutex_unlock(&kp->mu);
}

void kube_platform_free(struct platform *pf)
{
    if (!pf)
        return;
    struct kube_platform *kp = pf->impl;
    if (kp->bases)
        strmap_foreach(kp->bases, base_free_cb, NULL);
    if (kp->events)
        strmap_foreach(kp->events, event_rec_free, NULL);
    strmap_free(kp->bases);
    strmap_free(kp->events);
    kube_secrets_free(kp->secrets);
    pthread_mutex_destroy(&kp->mu);
    free(kp);
}

int kube_platform_new(const struct kube_platform_options *o, struct platform **ret)
{
    struct kube_platform *kp = calloc(1, sizeof *kp);
    if (!kp)
        return SH_ENOMEM;
    kp->o = *o;
    if (kp->o.conflict_retries <= 0)
        kp->o.conflict_retries = 5;
    if (o->instance)
        snprintf(kp->instance, sizeof kp->instance, "%s", o->instance);
    else if (gethostname(kp->instance, sizeof kp->instance - 1) != 0)
        snprintf(kp->instance, sizeof kp->instance, "selfheal");
    pthread_mutex_init(&kp->mu, NULL);
    kp->bases = strmap_new();
    kp->events = strmap_new();
    kp->secrets = kube_secrets_new(o->client, o->clock, 0);
    if (!kp->bases || !kp->events || !kp->secrets) {
        kp->base.impl = kp;
        kube_platform_free(&kp->base);
        return SH_ENOMEM;
    }
    kp->base.name = "kube";
    kp->base.load_status = kp_load_status;
    kp->base.write_status = kp_write_status;
    kp->base.delete_status = kp_delete_status;
    kp->base.record_event = kp_record_event;
    kp->base.actuators = kp_actuators;
    kp->base.resync = kp_resync;
    kp->base.secrets = kube_secrets_reader(kp->secrets);
    kp->base.impl = kp;
    *ret = &kp->base;
    return 0;
}
