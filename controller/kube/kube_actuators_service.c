/*
 * kube_actuators_service.c — the "service" actuators of the Kubernetes
 * platform (kube_actuators.h): rollout restart and pod deletion of the
 * Deployment named by spec.service.recovery.deployment.
 *
 * A restart is made once per recorded state: the patch also stamps the
 * Deployment with the annotation selfheal.dev/restart-basis, the pipeline's
 * uid, status.service.recoveryAttempts and lastRecoveryTime as the API
 * server has them. Each recorded attempt changes that basis; a Deployment
 * already stamped with the current one was restarted by a controller that
 * stopped (SIGKILL, lost leadership) before recording it, and is not
 * restarted again: the attempt is that one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"
#include "kube/kube_actuators.h"
#include "kube/kube_actuators_util.h"

static int no_deployment(const struct spec_service *svc, char **ret_err)
{
    if (svc->recovery.deployment && *svc->recovery.deployment)
        return 0;
    if (ret_err)
        *ret_err = strdup("spec.service.recovery.deployment is not set");
    return SH_EINVAL;
}

/* The basis of the next restart: "uid/attempts/lastRecoveryTime" of the
 * pipeline as the API server has it now. */
static int restart_basis(struct kube_actuators_ctx *ctx, const struct pipeline *p, char *out,
                         size_t size, char **ret_err)
{
    char path[1024];
    if (kube_act_path(path, sizeof path, "selfheal.dev/v1alpha1", p->namespace_,
                      "selfhealingpipelines", p->name) != 0)
        return SH_EINVAL;
    cJSON *obj = NULL;
    int r = kube_get(ctx->client, path, &obj, ret_err);
    if (r != 0)
        return r;
    const cJSON *svc = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "status"), "service");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(svc, "recoveryAttempts");
    const char *uid = kube_act_str(obj, "metadata.uid");
    const char *last = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(svc, "lastRecoveryTime"));
    if (!last)
        last = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(svc, "lastStartTime"));
    int len = snprintf(out, size, "%s/%lld/%s", uid ? uid : "",
                       cJSON_IsNumber(n) ? (long long)n->valuedouble : 0LL, last ? last : "");
    cJSON_Delete(obj);
    return len < 0 || (size_t)len >= size ? SH_EINVAL : 0;
}

static int restart_workload(const struct service_actuators *sa, const struct pipeline *p,
                            const struct spec_service *svc, char **ret_err)
{
    struct kube_actuators_ctx *ctx = sa->impl;
    int r = no_deployment(svc, ret_err);
    if (r != 0)
        return r;
    char path[1024], basis[512];
    if (kube_act_path(path, sizeof path, "apps/v1", p->namespace_, "deployments",
                      svc->recovery.deployment) != 0)
        return SH_EINVAL;
    if ((r = restart_basis(ctx, p, basis, sizeof basis, ret_err)) != 0)
        return r;
    cJSON *dep = NULL;
    r = kube_get(ctx->client, path, &dep, ret_err);
    if (r != 0)
        return kube_act_deployment_missing(r, p->namespace_, svc->recovery.deployment,
                                           "spec.service.recovery.deployment", ret_err);
    const char *done = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dep, "metadata"),
                                         "annotations"),
        KUBE_RESTART_BASIS_ANNOTATION));
    bool again = done && strcmp(done, basis) == 0;
    cJSON_Delete(dep);
    if (again) {
        log_warn(p->key, "deployment %s was restarted for this attempt already (by a controller "
                         "that stopped before recording it): not restarted twice",
                 svc->recovery.deployment);
        return 0;
    }
    char ts[64];
    clock_format_rfc3339(clock_now_ms(ctx->clock ? ctx->clock : clock_real()), ts, sizeof ts);
    cJSON *patch = cJSON_CreateObject();
    cJSON *ann = cJSON_AddObjectToObject(
        cJSON_AddObjectToObject(
            cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "spec"), "template"),
            "metadata"),
        "annotations");
    cJSON *meta = cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "metadata"), "annotations");
    if (!ann || !cJSON_AddStringToObject(ann, KUBE_RESTARTED_AT_ANNOTATION, ts) || !meta ||
        !cJSON_AddStringToObject(meta, KUBE_RESTART_BASIS_ANNOTATION, basis)) {
        cJSON_Delete(patch);
        return SH_ENOMEM;
    }
    r = kube_act_deployment_missing(kube_patch_merge(ctx->client, path, patch, NULL, ret_err),
                                    p->namespace_, svc->recovery.deployment,
                                    "spec.service.recovery.deployment", ret_err);
    cJSON_Delete(patch);
    return r;
}

static int delete_pods(const struct service_actuators *sa, const struct pipeline *p,
                       const struct spec_service *svc, char **ret_err)
{
    struct kube_actuators_ctx *ctx = sa->impl;
    int r = no_deployment(svc, ret_err);
    if (r != 0)
        return r;
    char path[2048];
    if (kube_act_path(path, sizeof path, "apps/v1", p->namespace_, "deployments",
                      svc->recovery.deployment) != 0)
        return SH_EINVAL;
    cJSON *dep = NULL;
    if ((r = kube_get(ctx->client, path, &dep, ret_err)) != 0)
        return kube_act_deployment_missing(r, p->namespace_, svc->recovery.deployment,
                                           "spec.service.recovery.deployment", ret_err);
    const cJSON *ml = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dep, "spec"), "selector"),
        "matchLabels");
    if (kube_act_path(path, sizeof path, "", p->namespace_, "pods", NULL) != 0 ||
        kube_act_selector_query(path, sizeof path, ml) != 0) {
        cJSON_Delete(dep);
        if (ret_err)
            *ret_err = strdup("the deployment has no usable spec.selector.matchLabels");
        return SH_EINVAL;
    }
    cJSON_Delete(dep);
    cJSON *list = NULL;
    if ((r = kube_get(ctx->client, path, &list, ret_err)) != 0)
        return r;
    const cJSON *it;
    int deleted = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items")) {
        const char *name = kube_act_str(it, "metadata.name");
        char ppath[1024];
        if (!name || kube_act_path(ppath, sizeof ppath, "", p->namespace_, "pods", name) != 0)
            continue;
        char *err = NULL;
        int d = kube_delete(ctx->client, ppath, &err);
        if (d != 0 && d != SH_ENOTFOUND) { /* a pod already gone is fine */
            cJSON_Delete(list);
            if (ret_err)
                *ret_err = err;
            else
                free(err);
            return d;
        }
        free(err);
        deleted++;
    }
    cJSON_Delete(list);
    (void)deleted;
    return 0;
}

void kube_service_actuators_init(struct service_actuators *sa, struct kube_actuators_ctx *ctx)
{
    memset(sa, 0, sizeof *sa);
    sa->restart_workload = restart_workload;
    sa->delete_pods = delete_pods;
    sa->impl = ctx;
}
