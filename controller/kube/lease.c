/*
 * lease.c — leader election on a Lease (lease.h).
 *
 * State: `observed` is the last record read (holder, renewTime, RV) and
 * `observed_ms` our clock when it last changed; `leader` and `renewed_ms`
 * say whether and when we last held it. leader/renewed_ms are atomics (read
 * by is_leader from worker threads); the rest belongs to the thread that
 * steps.
 */
#include "kube/lease.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/fsutil.h"
#include "base/log.h"

struct lease_elector {
    struct lease_elector_options o;
    struct lease_backend be;
    char *namespace_, *name, *identity;

    char observed_holder[256];
    char observed_renew[64];
    char observed_rv[64];
    int64_t observed_ms;

    atomic_bool leader;
    _Atomic int64_t renewed_ms;

    pthread_t thread;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
};

/* ---- the API server backend ---- */

static int kb_get(void *ctx, cJSON **ret, char **ret_err)
{
    struct lease_kube_target *t = ctx;
    return kube_get(t->client, t->path, ret, ret_err);
}

static int kb_create(void *ctx, const cJSON *lease, cJSON **ret, char **ret_err)
{
    struct lease_kube_target *t = ctx;
    return kube_post(t->client, t->collection, lease, ret, ret_err);
}

static int kb_update(void *ctx, const cJSON *lease, cJSON **ret, char **ret_err)
{
    struct lease_kube_target *t = ctx;
    return kube_put(t->client, t->path, lease, ret, ret_err);
}

void lease_backend_kube(struct lease_backend *b, struct lease_kube_target *t,
                        struct kube_client *client, const char *namespace_, const char *name)
{
    t->client = client;
    snprintf(t->collection, sizeof t->collection,
             "/apis/coordination.k8s.io/v1/namespaces/%s/leases", namespace_);
    snprintf(t->path, sizeof t->path, "%s/%s", t->collection, name);
    *b = (struct lease_backend){.get = kb_get, .create = kb_create, .update = kb_update, .ctx = t};
}

/* ---- the record ---- */

/* MicroTime: RFC 3339 with exactly 6 fractional digits (the API server
 * rejects anything else). */
static void micro_time(int64_t ms, char *buf, size_t size)
{
    char s[32];
    clock_format_rfc3339(ms - (ms % 1000 + 1000) % 1000, s, sizeof s);
    size_t l = strlen(s);
    if (l > 0 && s[l - 1] == 'Z')
        s[l - 1] = '\0';
    snprintf(buf, size, "%s.%03d000Z", s, (int)((ms % 1000 + 1000) % 1000));
}

static cJSON *spec_of(const cJSON *lease)
{
    return cJSON_GetObjectItemCaseSensitive(lease, "spec");
}

static const char *spec_str(const cJSON *lease, const char *f)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec_of(lease), f));
}

static const char *rv_of(const cJSON *lease)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(lease, "metadata"), "resourceVersion"));
}

static void set_spec(cJSON *spec, const char *field, cJSON *v)
{
    if (!v)
        return;
    if (cJSON_GetObjectItemCaseSensitive(spec, field))
        cJSON_ReplaceItemInObjectCaseSensitive(spec, field, v);
    else
        cJSON_AddItemToObject(spec, field, v);
}

/* Notes the record read; a change restarts our expiry clock for it. */
static void observe(struct lease_elector *le, const cJSON *lease, int64_t now)
{
    const char *holder = spec_str(lease, "holderIdentity");
    const char *renew = spec_str(lease, "renewTime");
    const char *rv = rv_of(lease);
    holder = holder ? holder : "";
    renew = renew ? renew : "";
    rv = rv ? rv : "";
    if (strcmp(holder, le->observed_holder) != 0 || strcmp(renew, le->observed_renew) != 0 ||
        strcmp(rv, le->observed_rv) != 0 || le->observed_ms == 0) {
        snprintf(le->observed_holder, sizeof le->observed_holder, "%s", holder);
        snprintf(le->observed_renew, sizeof le->observed_renew, "%s", renew);
        snprintf(le->observed_rv, sizeof le->observed_rv, "%s", rv);
        le->observed_ms = now;
    }
}

static cJSON *new_lease(struct lease_elector *le, int64_t now)
{
    char ts[40];
    micro_time(now, ts, sizeof ts);
    cJSON *l = cJSON_CreateObject();
    if (!l)
        return NULL;
    cJSON_AddStringToObject(l, "apiVersion", "coordination.k8s.io/v1");
    cJSON_AddStringToObject(l, "kind", "Lease");
    cJSON *meta = cJSON_AddObjectToObject(l, "metadata");
    cJSON_AddStringToObject(meta, "name", le->name);
    cJSON_AddStringToObject(meta, "namespace", le->namespace_);
    cJSON *spec = cJSON_AddObjectToObject(l, "spec");
    cJSON_AddStringToObject(spec, "holderIdentity", le->identity);
    cJSON_AddNumberToObject(spec, "leaseDurationSeconds", (double)((le->o.lease_ms + 999) / 1000));
    cJSON_AddStringToObject(spec, "acquireTime", ts);
    cJSON_AddStringToObject(spec, "renewTime", ts);
    cJSON_AddNumberToObject(spec, "leaseTransitions", 0);
    return l;
}

/* Tries to acquire or renew: `wall` goes into the record (renewTime,
 * acquireTime), `now` (monotonic) measures expiry. Returns 0 when we hold
 * the Lease. */
static int try_acquire_or_renew(struct lease_elector *le, int64_t wall, int64_t now, char **ret_err)
{
    cJSON *cur = NULL, *out = NULL;
    int r = le->be.get(le->be.ctx, &cur, ret_err);
    if (r == SH_ENOTFOUND) {
        if (ret_err) {
            free(*ret_err);
            *ret_err = NULL;
        }
        cJSON *l = new_lease(le, wall);
        r = l ? le->be.create(le->be.ctx, l, &out, ret_err) : SH_ENOMEM;
        cJSON_Delete(l);
        if (r == 0)
            observe(le, out, now);
        cJSON_Delete(out);
        return r;
    }
    if (r != 0)
        return r;
    observe(le, cur, now);
    const char *holder = spec_str(cur, "holderIdentity");
    bool mine = holder && strcmp(holder, le->identity) == 0;
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(spec_of(cur), "leaseDurationSeconds");
    int64_t dur_ms = cJSON_IsNumber(dur) && dur->valuedouble > 0 ? (int64_t)dur->valuedouble * 1000
                                                                  : le->o.lease_ms;
    if (holder && *holder && !mine && le->observed_ms + dur_ms > now) {
        if (ret_err && asprintf(ret_err, "held by %s", holder) < 0)
            *ret_err = NULL;
        cJSON_Delete(cur);
        return SH_ECONFLICT;
    }
    /* ours to renew, or free to take */
    cJSON *spec = spec_of(cur);
    if (!cJSON_IsObject(spec)) {
        cJSON_DeleteItemFromObjectCaseSensitive(cur, "spec");
        spec = cJSON_AddObjectToObject(cur, "spec");
    }
    char ts[40];
    micro_time(wall, ts, sizeof ts);
    if (!mine) {
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions");
        double transitions = cJSON_IsNumber(tr) ? tr->valuedouble : 0;
        if (holder && *holder)
            transitions += 1;
        set_spec(spec, "holderIdentity", cJSON_CreateString(le->identity));
        set_spec(spec, "acquireTime", cJSON_CreateString(ts));
        set_spec(spec, "leaseTransitions", cJSON_CreateNumber(transitions));
    }
    set_spec(spec, "leaseDurationSeconds", cJSON_CreateNumber((double)((le->o.lease_ms + 999) / 1000)));
    set_spec(spec, "renewTime", cJSON_CreateString(ts));
    r = le->be.update(le->be.ctx, cur, &out, ret_err);
    cJSON_Delete(cur);
    if (r == 0)
        observe(le, out, now);
    cJSON_Delete(out);
    return r;
}

/* ---- the elector ---- */

int64_t lease_elector_step(struct lease_elector *le)
{
    int64_t wall = clock_now_ms(le->o.clock);
    int64_t now = clock_mono_ms(le->o.clock);
    char *err = NULL;
    int r = try_acquire_or_renew(le, wall, now, &err);
    bool was = atomic_load(&le->leader);
    if (r == 0) {
        atomic_store(&le->renewed_ms, now);
        if (!was) {
            atomic_store(&le->leader, true);
            log_info(NULL, "leader election: %s acquired lease %s/%s", le->identity,
                     le->namespace_, le->name);
            if (le->o.on_started)
                le->o.on_started(le->o.cb_ctx);
        }
    } else if (was) {
        int64_t since = now - atomic_load(&le->renewed_ms);
        log_warn(NULL, "leader election: renewing lease %s/%s failed: %s", le->namespace_,
                 le->name, err ? err : sh_strerror(r));
        if (since >= le->o.renew_deadline_ms) {
            atomic_store(&le->leader, false);
            log_error(NULL,
                      "leader election: no renewal for %lld ms (deadline %lld ms): stopped "
                      "leading",
                      (long long)since, (long long)le->o.renew_deadline_ms);
            if (le->o.on_stopped)
                le->o.on_stopped(le->o.cb_ctx);
        }
    } else if (r != SH_ECONFLICT) {
        log_debug(NULL, "leader election: %s", err ? err : sh_strerror(r));
    }
    free(err);
    return le->o.retry_ms;
}

bool lease_elector_is_leader(struct lease_elector *le)
{
    if (!atomic_load(&le->leader))
        return false;
    return clock_mono_ms(le->o.clock) - atomic_load(&le->renewed_ms) < le->o.renew_deadline_ms;
}

const char *lease_elector_identity(const struct lease_elector *le)
{
    return le->identity;
}

int lease_elector_release(struct lease_elector *le)
{
    if (!atomic_load(&le->leader))
        return 0;
    int64_t now = clock_now_ms(le->o.clock);
    cJSON *cur = NULL, *out = NULL;
    char *err = NULL;
    int r = le->be.get(le->be.ctx, &cur, &err);
    const char *holder = r == 0 ? spec_str(cur, "holderIdentity") : NULL;
    if (r == 0 && holder && strcmp(holder, le->identity) == 0) {
        char ts[40];
        micro_time(now, ts, sizeof ts);
        cJSON *spec = spec_of(cur);
        set_spec(spec, "holderIdentity", cJSON_CreateString(""));
        set_spec(spec, "leaseDurationSeconds", cJSON_CreateNumber(1));
        set_spec(spec, "renewTime", cJSON_CreateString(ts));
        set_spec(spec, "acquireTime", cJSON_CreateString(ts));
        r = le->be.update(le->be.ctx, cur, &out, &err);
    }
    if (r != 0)
        log_warn(NULL, "leader election: releasing lease %s/%s: %s", le->namespace_, le->name,
                 err ? err : sh_strerror(r));
    else
        log_info(NULL, "leader election: released lease %s/%s", le->namespace_, le->name);
    cJSON_Delete(cur);
    cJSON_Delete(out);
    free(err);
    atomic_store(&le->leader, false);
    if (le->o.on_stopped)
        le->o.on_stopped(le->o.cb_ctx);
    return r;
}

static void *elector_main(void *arg)
{
    struct lease_elector *le = arg;
    pthread_mutex_lock(&le->mu);
    while (!le->stopping) {
        pthread_mutex_unlock(&le->mu);
        int64_t delay = lease_elector_step(le);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += delay / 1000;
        ts.tv_nsec += (delay % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&le->mu);
        while (!le->stopping)
            if (pthread_cond_timedwait(&le->cv, &le->mu, &ts) != 0)
                break;
    }
    pthread_mutex_unlock(&le->mu);
    return NULL;
}

int lease_elector_start(struct lease_elector *le)
{
    le->stopping = false;
    if (pthread_create(&le->thread, NULL, elector_main, le) != 0)
        return SH_ENOMEM;
    le->running = true;
    return 0;
}

void lease_elector_stop(struct lease_elector *le, bool release)
{
    if (le->running) {
        pthread_mutex_lock(&le->mu);
        le->stopping = true;
        pthread_cond_broadcast(&le->cv);
        pthread_mutex_unlock(&le->mu);
        pthread_join(le->thread, NULL);
        le->running = false;
    }
    if (release)
        lease_elector_release(le);
}

void lease_elector_free(struct lease_elector *le)
{
    if (!le)
        return;
    lease_elector_stop(le, false);
    pthread_cond_destroy(&le->cv);
    pthread_mutex_destroy(&le->mu);
    free(le->namespace_);
    free(le->name);
    free(le->identity);
    free(le);
}

int lease_elector_new(const struct lease_elector_options *o, const struct lease_backend *b,
                      struct lease_elector **ret)
{
    struct lease_elector *le = calloc(1, sizeof *le);
    if (!le)
        return SH_ENOMEM;
    le->o = *o;
    if (le->o.lease_ms <= 0)
        le->o.lease_ms = 15000;
    if (le->o.renew_deadline_ms <= 0)
        le->o.renew_deadline_ms = 10000;
    if (le->o.retry_ms <= 0)
        le->o.retry_ms = 2000;
    le->be = *b;
    pthread_mutex_init(&le->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&le->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (le->o.renew_deadline_ms >= le->o.lease_ms || le->o.retry_ms >= le->o.renew_deadline_ms) {
        lease_elector_free(le);
        return SH_EINVAL;
    }
    char id[320];
    if (o->identity && *o->identity) {
        snprintf(id, sizeof id, "%s", o->identity);
    } else {
        char host[256] = "selfheal", uuid[40];
        if (gethostname(host, sizeof host - 1) != 0)
            snprintf(host, sizeof host, "selfheal");
        fs_uuid4(uuid);
        snprintf(id, sizeof id, "%s_%s", host, uuid);
    }
    le->namespace_ = strdup(o->namespace_ ? o->namespace_ : "default");
    le->name = strdup(o->name ? o->name : "selfheal-leader");
    le->identity = strdup(id);
    if (!le->namespace_ || !le->name || !le->identity) {
        lease_elector_free(le);
        return SH_ENOMEM;
    }
    le->o.namespace_ = le->namespace_;
    le->o.name = le->name;
    le->o.identity = le->identity;
    *ret = le;
    return 0;
}
