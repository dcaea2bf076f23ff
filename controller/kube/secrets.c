/*
 * secrets.c — Secret keys for secretKeyRef, cached per Secret (secrets.h).
 *
 * The cache maps "ns/name" to the Secret's `data` object (base64 values, as
 * the API sends them) and the time it was read; keys are decoded on each
 * use, so one Secret read serves every key and every pipeline that names
 * it. One mutex guards the map; the API call is made without it (two
 * workers missing at once may both read: harmless).
 */
#include "kube/secrets.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/errors.h"
#include "base/httpcred.h"
#include "base/strmap.h"
#include "kube/base64.h"
#include "kube/client.h"

#define DEFAULT_TTL_MS 30000
#define CACHE_MAX 256

struct cached {
    cJSON *data; /* owned: the Secret's data (may be an empty object) */
    int64_t read_ms;
};

struct kube_secrets {
    struct kube_client *client;
    const struct sh_clock *clock;
    int64_t ttl_ms;
    pthread_mutex_t lock;
    struct strmap *cache; /* "ns/name" -> struct cached */
    struct secret_reader reader;
    atomic_uint_least64_t calls;
};

static int reader_read(void *ctx, const char *ns, const char *name, const char *key, char **ret,
                       size_t *ret_len, char *err, size_t errsize)
{
    return kube_secrets_get(ctx, ns, name, key, ret, ret_len, err, errsize);
}

struct kube_secrets *kube_secrets_new(struct kube_client *client, const struct sh_clock *clock,
                                      int64_t ttl_ms)
{
    struct kube_secrets *ks = calloc(1, sizeof *ks);
    if (!ks)
        return NULL;
    ks->client = client;
    ks->clock = clock ? clock : clock_real();
    ks->ttl_ms = ttl_ms > 0 ? ttl_ms : DEFAULT_TTL_MS;
    ks->cache = strmap_new();
    if (!ks->cache || pthread_mutex_init(&ks->lock, NULL) != 0) {
        strmap_free(ks->cache);
        free(ks);
        return NULL;
    }
    ks->reader = (struct secret_reader){.read = reader_read, .ctx = ks, .secrets_only = true};
    return ks;
}

const struct secret_reader *kube_secrets_reader(struct kube_secrets *ks)
{
    return ks ? &ks->reader : NULL;
}

uint64_t kube_secrets_calls(struct kube_secrets *ks)
{
    return ks ? atomic_load(&ks->calls) : 0;
}

static void cached_free(struct cached *c)
{
    if (!c)
        return;
    cJSON_Delete(c->data);
    free(c);
}

static void drop_one(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    cached_free(value);
}

/* A copy of the cached data of id when fresh (lock taken here), else NULL. */
static cJSON *cache_lookup(struct kube_secrets *ks, const char *id, int64_t now)
{
    cJSON *copy = NULL;
    pthread_mutex_lock(&ks->lock);
    struct cached *c = strmap_get(ks->cache, id);
    if (c && now - c->read_ms < ks->ttl_ms && now >= c->read_ms)
        copy = cJSON_Duplicate(c->data, 1);
    pthread_mutex_unlock(&ks->lock);
    return copy;
}

/* Keeps a copy of data for id (best effort: memory trouble only skips it). */
static void cache_store(struct kube_secrets *ks, const char *id, const cJSON *data, int64_t now)
{
    struct cached *c = malloc(sizeof *c);
    if (!c)
        return;
    c->data = cJSON_Duplicate(data, 1);
    c->read_ms = now;
    if (!c->data) {
        free(c);
        return;
    }
    pthread_mutex_lock(&ks->lock);
    if (strmap_count(ks->cache) >= CACHE_MAX && !strmap_get(ks->cache, id)) {
        strmap_foreach(ks->cache, drop_one, NULL);
        strmap_free(ks->cache);
        ks->cache = strmap_new();
    }
    void *old = NULL;
    if (!ks->cache || strmap_put(ks->cache, id, c, &old) != 0)
        cached_free(c);
    else
        cached_free(old);
    pthread_mutex_unlock(&ks->lock);
}

/* GETs the Secret's data: owned object, or NULL with the code in *ret_rc. */
static cJSON *fetch(struct kube_secrets *ks, const char *ns, const char *name, char *err,
                    size_t errsize, int *ret_rc)
{
    char path[600];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", ns, name);
    cJSON *doc = NULL;
    char *why = NULL;
    long code = 0;
    atomic_fetch_add(&ks->calls, 1);
    int rc = kube_call(ks->client, "GET", path, NULL, NULL, &doc, &code, &why);
    if (rc != 0) {
        if (code == 404)
            snprintf(err, errsize, "Secret %s/%s not found", ns, name);
        else if (code == 403)
            snprintf(err, errsize,
                     "cannot get Secret %s/%s: forbidden (the controller needs `get` on "
                     "secrets in %s)",
                     ns, name, ns);
        else
            snprintf(err, errsize, "cannot get Secret %s/%s: %s", ns, name,
                     why ? why : sh_strerror(rc));
        free(why);
        cJSON_Delete(doc);
        *ret_rc = code == 404 ? SH_ENOTFOUND : code == 403 ? SH_EFORBIDDEN : rc;
        return NULL;
    }
    free(why);
    cJSON *data = cJSON_DetachItemFromObjectCaseSensitive(doc, "data");
    cJSON_Delete(doc);
    if (!data)
        data = cJSON_CreateObject(); /* a Secret with no data */
    if (!cJSON_IsObject(data)) {
        cJSON_Delete(data);
        snprintf(err, errsize, "Secret %s/%s: data is not an object", ns, name);
        *ret_rc = SH_EPROTO;
        return NULL;
    }
    return data;
}

int kube_secrets_get(struct kube_secrets *ks, const char *ns, const char *name, const char *key,
                     char **ret, size_t *ret_len, char *err, size_t errsize)
{
    *ret = NULL;
    *ret_len = 0;
    char ignore[8];
    if (!err || !errsize) {
        err = ignore;
        errsize = sizeof ignore;
    }
    err[0] = '\0';
    if (!ks || !ns || !name || !key || !*ns || !*name || !*key || strchr(ns, '/') ||
        strchr(name, '/') || strchr(ns, '?') || strchr(name, '?')) {
        snprintf(err, errsize, "a Secret reference needs a namespace, a name and a key");
        return SH_EINVAL;
    }
    char id[600];
    snprintf(id, sizeof id, "%s/%s", ns, name);
    int64_t now = clock_mono_ms(ks->clock);
    cJSON *data = cache_lookup(ks, id, now);
    if (!data) {
        int rc = 0;
        data = fetch(ks, ns, name, err, errsize, &rc);
        if (!data)
            return rc ? rc : SH_ENOMEM;
        cache_store(ks, id, data, now);
    }
    int rc = 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, key);
    if (!cJSON_IsString(v)) {
        snprintf(err, errsize, "Secret %s has no key \"%s\"", id, key);
        rc = SH_ENOTFOUND;
    } else if (strlen(v->valuestring) / 4 * 3 > HTTPCRED_VALUE_MAX) {
        snprintf(err, errsize, "Secret %s key \"%s\" is larger than %u bytes", id, key,
                 HTTPCRED_VALUE_MAX);
        rc = SH_ETOOBIG;
    } else if ((rc = kube_base64_decode(v->valuestring, ret, ret_len)) != 0) {
        snprintf(err, errsize, "Secret %s key \"%s\" is not base64", id, key);
        *ret = NULL;
        *ret_len = 0;
    }
    cJSON_Delete(data);
    return rc;
}

void kube_secrets_free(struct kube_secrets *ks)
{
    if (!ks)
        return;
    strmap_foreach(ks->cache, drop_one, NULL);
    strmap_free(ks->cache);
    pthread_mutex_destroy(&ks->lock);
    free(ks);
}
