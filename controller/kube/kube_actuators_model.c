/*
 * kube_actuators_model.c — the "model" actuators of the Kubernetes platform
 * (kube_actuators.h): a Deployment's ReplicaSet revisions as its model
 * version history, and rollback by copying a revision's pod template (the
 * same patch keeps the model loop's note in the annotation
 * selfheal.dev/rollback, read back by observe).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "kube/kube_actuators.h"
#include "kube/kube_actuators_util.h"
#include "kube/mergepatch.h"

static const char *deployment_of(const struct pipeline *p)
{
    const char *d = p->spec.model.rollback.deployment;
    if (d && *d)
        return d;
    d = p->spec.service.recovery.deployment;
    return d && *d ? d : NULL;
}

static const char *deployment_field(const struct pipeline *p)
{
    const char *d = p->spec.model.rollback.deployment;
    return d && *d ? "spec.model.rollback.deployment" : "spec.service.recovery.deployment";
}

/* The model version a pod template carries, or NULL. */
static const char *template_version(const struct spec_model *sm, const cJSON *tmpl)
{
    if (sm->rollback.version_from.kind == VERSION_FROM_ENV) {
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(tmpl, "spec"), "containers")) {
            const char *cname = kube_act_str(c, "name");
            if (!cname || !sm->rollback.version_from.env_container ||
                strcmp(cname, sm->rollback.version_from.env_container) != 0)
                continue;
            const cJSON *e;
            cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "env")) {
                const char *n = kube_act_str(e, "name");
                if (n && sm->rollback.version_from.env_name &&
                    strcmp(n, sm->rollback.version_from.env_name) == 0)
                    return kube_act_str(e, "value");
            }
        }
        return NULL;
    }
    const char *ann = sm->rollback.version_from.annotation && *sm->rollback.version_from.annotation
                          ? sm->rollback.version_from.annotation
                          : "selfheal.dev/model-version";
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(tmpl, "metadata"), "annotations");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, ann);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

struct revision {
    long revision;
    const cJSON *rs;
    const char *version;
};

static int by_revision(const void *a, const void *b)
{
    const struct revision *x = a, *y = b;
    return (x->revision > y->revision) - (x->revision < y->revision);
}

/* GETs the Deployment and LISTs the ReplicaSets it owns, sorted oldest
 * revision first. *ret_dep and *ret_list owned; revs point into the list. */
static int load(const struct kube_actuators_ctx *ctx, const struct pipeline *p, cJSON **ret_dep,
                cJSON **ret_list, struct revision **ret_revs, size_t *ret_n, char **ret_err)
{
    *ret_dep = *ret_list = NULL;
    *ret_revs = NULL;
    *ret_n = 0;
    const char *name = deployment_of(p);
    if (!name) {
        if (ret_err)
            *ret_err = strdup("neither spec.model.rollback.deployment nor "
                              "spec.service.recovery.deployment is set");
        return SH_EINVAL;
    }
    char path[2048];
    if (kube_act_path(path, sizeof path, "apps/v1", p->namespace_, "deployments", name) != 0)
        return SH_EINVAL;
    int r = kube_get(ctx->client, path, ret_dep, ret_err);
    if (r != 0)
        return kube_act_deployment_missing(r, p->namespace_, name, deployment_field(p), ret_err);
    const char *uid = kube_act_str(*ret_dep, "metadata.uid");
    const cJSON *ml = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(*ret_dep, "spec"),
                                         "selector"),
        "matchLabels");
    if (!uid || kube_act_path(path, sizeof path, "apps/v1", p->namespace_, "replicasets", NULL) ||
        kube_act_selector_query(path, sizeof path, ml) != 0) {
        if (ret_err)
            *ret_err = strdup("the deployment has no uid or no usable spec.selector.matchLabels");
        return SH_EINVAL;
    }
    if ((r = kube_get(ctx->client, path, ret_list, ret_err)) != 0)
        return r;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(*ret_list, "items");
    int cap = cJSON_GetArraySize(items);
    struct revision *revs = calloc(cap > 0 ? (size_t)cap : 1, sizeof *revs);
    if (!revs)
        return SH_ENOMEM;
    size_t n = 0;
    const cJSON *rs;
    cJSON_ArrayForEach(rs, items) {
        bool owned = false;
        const cJSON *o;
        cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(rs, "metadata"),
                                  "ownerReferences")) {
            const char *ouid = kube_act_str(o, "uid");
            if (ouid && strcmp(ouid, uid) == 0)
                owned = true;
        }
        const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(rs, "metadata"), "annotations");
        const cJSON *rev = cJSON_GetObjectItemCaseSensitive(ann, KUBE_REVISION_ANNOTATION);
        if (!owned || !cJSON_IsString(rev))
            continue;
        char *end = NULL;
        long rv = strtol(rev->valuestring, &end, 10);
        if (end == rev->valuestring || *end)
            continue;
        revs[n].revision = rv;
        revs[n].rs = rs;
        revs[n].version =
            template_version(&p->spec.model, cJSON_GetObjectItemCaseSensitive(
                                                 cJSON_GetObjectItemCaseSensitive(rs, "spec"),
                                                 "template"));
        n++;
    }
    qsort(revs, n, sizeof *revs, by_revision);
    *ret_revs = revs;
    *ret_n = n;
    return 0;
}

/* The ReplicaSet's record of metric `name` (list form: the annotation
 * selfheal.dev/metric.<name>), or with name NULL the shorthand's
 * selfheal.dev/metric. */
static bool rs_metric(const cJSON *rs, const char *name, double *ret)
{
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(rs, "metadata"), "annotations");
    char key[128];
    if (name)
        snprintf(key, sizeof key, "%s.%s", KUBE_METRIC_ANNOTATION, name);
    else
        snprintf(key, sizeof key, "%s", KUBE_METRIC_ANNOTATION);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(ann, key);
    if (!cJSON_IsString(m))
        return false;
    char *end = NULL;
    double v = strtod(m->valuestring, &end);
    if (end == m->valuestring || *end)
        return false;
    *ret = v;
    return true;
}

/* The Deployment's pod template is its newest revision, whether or not the
 * Deployment controller has caught up: right after a CD system's (or a
 * rollback's) change its ReplicaSet may not exist yet, or still carry an old
 * revision number. Seen from the ReplicaSets alone, the current version would
 * be missing (so "no version older than it": NoGoodVersion) or in the middle.
 * So the current version goes last, with what was recorded of it; room for
 * one more entry is reserved by the caller. */
static void newest_is_current(struct model_registry_view *v)
{
    size_t k = 0;
    while (k < v->count && strcmp(v->versions[k].name, v->current) != 0)
        k++;
    if (k == v->count) { /* its ReplicaSet is not made yet: nothing recorded of it */
        memset(&v->versions[k], 0, sizeof v->versions[k]);
        snprintf(v->versions[k].name, sizeof v->versions[k].name, "%s", v->current);
        v->count++;
        return;
    }
    struct model_version cur = v->versions[k];
    memmove(&v->versions[k], &v->versions[k + 1], (v->count - k - 1) * sizeof *v->versions);
    v->versions[v->count - 1] = cur;
}

static int observe(const struct model_actuators *ma, const struct pipeline *p,
                   struct model_registry_view *ret)
{
    memset(ret, 0, sizeof *ret);
    cJSON *dep = NULL, *list = NULL;
    struct revision *revs = NULL;
    size_t n = 0;
    char *err = NULL;
    int r = load(ma->impl, p, &dep, &list, &revs, &n, &err);
    if (r != 0) {
        snprintf(ret->error, sizeof ret->error, "%s", err ? err : sh_strerror(r));
        ret->workload_missing = r == SH_ENOTFOUND && !list;
        goto out;
    }
    if (!(ret->versions = calloc(n + 1, sizeof *ret->versions))) { /* + the template's, below */
        r = SH_ENOMEM;
        goto out;
    }
    /* one entry per version, at the place of its newest revision */
    for (size_t i = 0; i < n; i++) {
        if (!revs[i].version || strlen(revs[i].version) >= MODEL_VERSION_MAX)
            continue;
        bool newer = false;
        for (size_t j = i + 1; j < n; j++)
            if (revs[j].version && strcmp(revs[j].version, revs[i].version) == 0)
                newer = true;
        if (newer)
            continue;
        struct model_version *v = &ret->versions[ret->count++];
        snprintf(v->name, sizeof v->name, "%s", revs[i].version);
        struct spec_model_metric defs[SPEC_MODEL_METRICS_MAX];
        size_t nm = spec_model_metric_list(&p->spec.model, defs);
        bool listed = p->spec.model.nmetrics > 0;
        for (size_t k = 0; k < nm; k++)
            for (size_t j = i + 1; j-- > 0;) /* the newest recorded metric of that version */
                if (revs[j].version && strcmp(revs[j].version, revs[i].version) == 0 &&
                    rs_metric(revs[j].rs, listed ? defs[k].name : NULL, &v->values[k].metric)) {
                    v->values[k].has_metric = true;
                    break;
                }
    }
    const char *made = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dep, "metadata"),
                                         "annotations"),
        KUBE_ROLLBACK_ANNOTATION));
    if (made && strlen(made) < sizeof ret->made)
        snprintf(ret->made, sizeof ret->made, "%s", made);
    const char *cur = template_version(
        &p->spec.model,
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dep, "spec"), "template"));
    if (cur) {
        snprintf(ret->current, sizeof ret->current, "%s", cur);
        if (strlen(cur) < MODEL_VERSION_MAX)
            newest_is_current(ret);
    } else
        snprintf(ret->error, sizeof ret->error,
                 "the deployment's pod template carries no model version");
out:
    free(err);
    free(revs);
    cJSON_Delete(list);
    cJSON_Delete(dep);
    return r;
}

static int activate(const struct model_actuators *ma, const struct pipeline *p, const char *version,
                    const char *note, char **ret_err)
{
    struct kube_actuators_ctx *ctx = ma->impl;
    cJSON *dep = NULL, *list = NULL, *target = NULL, *patch = NULL;
    struct revision *revs = NULL;
    size_t n = 0;
    int r = load(ctx, p, &dep, &list, &revs, &n, ret_err);
    if (r != 0)
        goto out;
    const cJSON *src = NULL;
    for (size_t i = n; i-- > 0;)
        if (revs[i].version && strcmp(revs[i].version, version) == 0) {
            src = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(revs[i].rs, "spec"), "template");
            break;
        }
    if (!cJSON_IsObject(src)) {
        if (ret_err && asprintf(ret_err, "no revision of deployment %s carries version %s",
                                deployment_of(p), version) < 0)
            *ret_err = NULL;
        r = SH_ENOTFOUND;
        goto out;
    }
    if (!(target = cJSON_Duplicate(src, 1))) {
        r = SH_ENOMEM;
        goto out;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(target, "metadata"),
                                         "labels"),
        "pod-template-hash");
    const cJSON *cur =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dep, "spec"), "template");
    cJSON *diff = kube_merge_diff(cur, target);
    if (!diff) {
        r = SH_ENOMEM;
        goto out;
    }
    if (!cJSON_GetArraySize(diff)) { /* already that template */
        cJSON_Delete(diff);
        goto out;
    }
    patch = cJSON_CreateObject();
    cJSON *spec = patch ? cJSON_AddObjectToObject(patch, "spec") : NULL;
    cJSON *meta = patch && note ? cJSON_AddObjectToObject(patch, "metadata") : NULL;
    if (!spec || (note && (!meta || !cJSON_AddStringToObject(
                                       cJSON_AddObjectToObject(meta, "annotations"),
                                       KUBE_ROLLBACK_ANNOTATION, note)))) {
        cJSON_Delete(diff);
        r = SH_ENOMEM;
        goto out;
    }
    cJSON_AddItemToObject(spec, "template", diff);
    char path[1024];
    if (kube_act_path(path, sizeof path, "apps/v1", p->namespace_, "deployments",
                      deployment_of(p)) != 0) {
        r = SH_EINVAL;
        goto out;
    }
    r = kube_act_deployment_missing(kube_patch_merge(ctx->client, path, patch, NULL, ret_err),
                                    p->namespace_, deployment_of(p), deployment_field(p), ret_err);
out:
    cJSON_Delete(patch);
    cJSON_Delete(target);
    free(revs);
    cJSON_Delete(list);
    cJSON_Delete(dep);
    return r;
}

void kube_model_actuators_init(struct model_actuators *ma, struct kube_actuators_ctx *ctx)
{
    memset(ma, 0, sizeof *ma);
    ma->observe = observe;
    ma->activate = activate;
    ma->activate_reloads = true; /* the new pod template rolls the pods */
    ma->impl = ctx;
}
