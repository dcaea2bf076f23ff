/* authz.c — TokenReview + SubjectAccessReview for the HTTP API (authz.h). */
#include "kube/authz.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/errors.h"
#include "base/strmap.h"
#include "kube/client.h"

#define CACHE_MAX 1024
#define DEFAULT_TTL_MS 10000

struct decision {
    int status;
    int64_t expires_ms;
    char why[160];
};

struct kube_authz {
    struct kube_client *client;
    const struct sh_clock *clock;
    int64_t ttl_ms;
    pthread_mutex_t mu;
    struct strmap *cache; /* "token\x1fns\x1fkind" → struct decision */
    uint64_t calls;
};

struct kube_authz *kube_authz_new(struct kube_client *client, const struct sh_clock *clock,
                                  int64_t ttl_ms)
{
    struct kube_authz *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->client = client;
    a->clock = clock;
    a->ttl_ms = ttl_ms > 0 ? ttl_ms : DEFAULT_TTL_MS;
    a->cache = strmap_new();
    if (!a->cache) {
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

static void free_value(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    free(value);
}

void kube_authz_free(struct kube_authz *a)
{
    if (!a)
        return;
    strmap_foreach(a->cache, free_value, NULL);
    strmap_free(a->cache);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

uint64_t kube_authz_calls(struct kube_authz *a)
{
    pthread_mutex_lock(&a->mu);
    uint64_t n = a->calls;
    pthread_mutex_unlock(&a->mu);
    return n;
}

/* POSTs a review; *ret_status gets its "status" object (owned doc in
 * *ret_doc). 0, or 503 with why filled. */
static int review(struct kube_authz *a, const char *path, cJSON *body, cJSON **ret_doc,
                  const char *what, char *why, size_t whysize)
{
    long code = 0;
    char *err = NULL;
    pthread_mutex_lock(&a->mu);
    a->calls++;
    pthread_mutex_unlock(&a->mu);
    int r = kube_call(a->client, "POST", path, body, NULL, ret_doc, &code, &err);
    free(err); /* may quote the request; never echoed */
    if (r == 0 && *ret_doc)
        return 0;
    if (code == 401 || code == 403)
        snprintf(why, whysize, "cannot check access: the controller may not create %s "
                               "(RBAC: manifests/rbac.yaml)", what);
    else
        snprintf(why, whysize, "cannot check access: %s failed (%s)", what,
                 code ? "HTTP error" : sh_strerror(r));
    return 503;
}

/* Copies the TokenReview's user into the SAR's spec. */
static void copy_user(const cJSON *user, cJSON *spec)
{
    static const char *const fields[] = {"username", "uid", "groups", "extra"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(user, fields[i]);
        if (v)
            cJSON_AddItemToObject(spec, i == 0 ? "user" : fields[i], cJSON_Duplicate(v, true));
    }
}

/* The uncached decision. */
static int decide(struct kube_authz *a, const char *token, const char *ns, bool metrics,
                  char *why, size_t whysize)
{
    cJSON *tr = cJSON_CreateObject(), *doc = NULL;
    cJSON_AddStringToObject(tr, "apiVersion", "authentication.k8s.io/v1");
    cJSON_AddStringToObject(tr, "kind", "TokenReview");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(tr, "spec"), "token", token);
    int st = review(a, "/apis/authentication.k8s.io/v1/tokenreviews", tr, &doc, "tokenreviews",
                    why, whysize);
    cJSON_Delete(tr); /* held the token */
    if (st != 0)
        return st;
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(doc, "status");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(status, "authenticated"))) {
        snprintf(why, whysize, "the token is not valid (TokenReview)");
        cJSON_Delete(doc);
        return 401;
    }
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(status, "user");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(user, "username"));
    char who[128];
    snprintf(who, sizeof who, "%s", name ? name : "the user");

    cJSON *sar = cJSON_CreateObject(), *ans = NULL;
    cJSON_AddStringToObject(sar, "apiVersion", "authorization.k8s.io/v1");
    cJSON_AddStringToObject(sar, "kind", "SubjectAccessReview");
    cJSON *spec = cJSON_AddObjectToObject(sar, "spec");
    copy_user(user, spec);
    cJSON_Delete(doc);
    if (metrics) {
        cJSON *nr = cJSON_AddObjectToObject(spec, "nonResourceAttributes");
        cJSON_AddStringToObject(nr, "path", "/metrics");
        cJSON_AddStringToObject(nr, "verb", "get");
    } else {
        cJSON *ra = cJSON_AddObjectToObject(spec, "resourceAttributes");
        cJSON_AddStringToObject(ra, "namespace", ns ? ns : "");
        cJSON_AddStringToObject(ra, "verb", "get");
        cJSON_AddStringToObject(ra, "group", "selfheal.dev");
        cJSON_AddStringToObject(ra, "resource", "selfhealingpipelines");
    }
    st = review(a, "/apis/authorization.k8s.io/v1/subjectaccessreviews", sar, &ans,
                "subjectaccessreviews", why, whysize);
    cJSON_Delete(sar);
    if (st != 0)
        return st;
    bool allowed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ans, "status"), "allowed"));
    cJSON_Delete(ans);
    if (allowed)
        return 200;
    if (metrics)
        snprintf(why, whysize, "%.100s may not get /metrics", who);
    else if (ns)
        snprintf(why, whysize, "%.100s may not get selfhealingpipelines in namespace %.63s", who, ns);
    else
        snprintf(why, whysize, "%.100s may not get selfhealingpipelines in every namespace "
                               "(the list and the event stream need a ClusterRole; one "
                               "pipeline: /api/v1/pipelines/NS/NAME)", who);
    return 403;
}

int kube_authz_check(void *ctx, const char *token, const char *namespace_, const char *path,
                     char *why, size_t whysize)
{
    struct kube_authz *a = ctx;
    if (!token || !*token) {
        snprintf(why, whysize, "a bearer token is required");
        return 401;
    }
    bool metrics = path && strcmp(path, "/metrics") == 0;
    char *key = NULL;
    if (asprintf(&key, "%s\x1f%s\x1f%c", token, namespace_ ? namespace_ : "", metrics ? 'm' : 'p') < 0) {
        snprintf(why, whysize, "out of memory");
        return 503;
    }
    int64_t now = clock_mono_ms(a->clock);
    pthread_mutex_lock(&a->mu);
    struct decision *d = strmap_get(a->cache, key);
    if (d && d->expires_ms > now) {
        int st = d->status;
        snprintf(why, whysize, "%s", d->why);
        pthread_mutex_unlock(&a->mu);
        free(key);
        return st;
    }
    pthread_mutex_unlock(&a->mu);

    why[0] = '\0';
    int st = decide(a, token, namespace_, metrics, why, whysize);
    if (st != 503) {
        struct decision *nd = calloc(1, sizeof *nd);
        if (nd) {
            nd->status = st;
            nd->expires_ms = now + a->ttl_ms;
            snprintf(nd->why, sizeof nd->why, "%s", why);
            void *old = NULL;
            pthread_mutex_lock(&a->mu);
            struct strmap *fresh = strmap_count(a->cache) >= CACHE_MAX ? strmap_new() : NULL;
            if (fresh) {
                strmap_foreach(a->cache, free_value, NULL);
                strmap_free(a->cache);
                a->cache = fresh;
            }
            if (strmap_put(a->cache, key, nd, &old) != 0)
                old = nd;
            pthread_mutex_unlock(&a->mu);
            free(old);
        }
    }
    memset(key, 0, strlen(key));
    free(key);
    return st;
}
