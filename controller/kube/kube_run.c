/* kube_run.c — wiring of the Kubernetes mode for `selfheal run` (kube_run.h). */
#include "kube/kube_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "kube/base64.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/kube_actuators.h"
#include "kube/kube_platform.h"
#include "kube/kubeconfig.h"
#include "kube/lease.h"
#include "base/log.h"

struct kube_run {
    struct kube_config *cfg;
    struct kube_client *client;
    struct kube_client *lease_client;
    struct source *src;
    struct platform *pf;
    struct lease_kube_target lease_target;
    struct lease_elector *elector;
    struct kube_actuators_ctx act_ctx;
    struct service_actuators service_act;
    struct model_actuators model_act;
    struct retrain_actuators retrain_act;
    bool started;
    char describe[1024];
    void (*on_leading)(void *ctx);
    void *on_leading_ctx;
};

static bool gate(void *ctx)
{
    struct kube_run *kr = ctx;
    return lease_elector_is_leader(kr->elector);
}

static void on_started(void *ctx)
{
    struct kube_run *kr = ctx;
    log_info(NULL, "leading: reconciling");
    if (kr->on_leading)
        kr->on_leading(kr->on_leading_ctx); /* drop what another leader made stale */
    kube_informer_set_active(kr->src, true);
}

static void on_stopped(void *ctx)
{
    struct kube_run *kr = ctx;
    log_warn(NULL, "not leading: standing by");
    kube_informer_set_active(kr->src, false);
}

int kube_run_setup(const struct kube_run_options *o, struct kube_run **ret,
                   struct source **ret_src, struct platform **ret_pf, char **ret_err)
{
    struct kube_run *kr = calloc(1, sizeof *kr);
    if (!kr)
        return SH_ENOMEM;
    struct kube_config_options co = {.kubeconfig = o->kubeconfig, .context = o->context,
                                     .in_cluster = o->in_cluster};
    int r = kube_config_load(&co, &kr->cfg, ret_err);
    if (r != 0)
        goto fail;
    if ((r = kube_client_new(kr->cfg, NULL, &kr->client, ret_err)) != 0)
        goto fail;
    struct kube_informer_options io = {.client = kr->client,
                                       .namespace_ = o->namespace_,
                                       .resync_ms = o->resync_ms,
                                       .inactive = o->leader_elect};
    if ((r = kube_informer_new(&io, &kr->src)) != 0)
        goto fail;
    const char *lease_ns = o->lease_namespace && *o->lease_namespace ? o->lease_namespace
                                                                       : kr->cfg->namespace_;
    const char *lease_name = o->lease_name && *o->lease_name ? o->lease_name : "selfheal-leader";
    if (o->leader_elect) {
        /* lease calls must fail fast: a hung renew must not outlive the deadline */
        int64_t deadline = o->renew_deadline_ms > 0 ? o->renew_deadline_ms : 10000;
        struct kube_client_options lo;
        kube_client_options_default(&lo);
        lo.timeout_ms = deadline / 3;
        lo.connect_timeout_ms = deadline / 5;
        lo.max_attempts = 1;
        if ((r = kube_client_new(kr->cfg, &lo, &kr->lease_client, ret_err)) != 0)
            goto fail;
        struct lease_backend be;
        lease_backend_kube(&be, &kr->lease_target, kr->lease_client, lease_ns, lease_name);
        struct lease_elector_options eo = {.namespace_ = lease_ns,
                                           .name = lease_name,
                                           .identity = o->identity,
                                           .lease_ms = o->lease_ms,
                                           .renew_deadline_ms = o->renew_deadline_ms,
                                           .retry_ms = o->retry_ms,
                                           .clock = o->clock,
                                           .on_started = on_started,
                                           .on_stopped = on_stopped,
                                           .cb_ctx = kr};
        if ((r = lease_elector_new(&eo, &be, &kr->elector)) != 0) {
            if (r == SH_EINVAL && ret_err)
                *ret_err = strdup("leader election: the renew deadline must be shorter than the "
                                  "lease and the retry period shorter than the renew deadline");
            goto fail;
        }
    }
    struct kube_platform_options po = {.client = kr->client,
                                       .clock = o->clock,
                                       .is_leader = kr->elector ? gate : NULL,
                                       .leader_ctx = kr};
    if ((r = kube_platform_new(&po, &kr->pf)) != 0)
        goto fail;
    kr->act_ctx.client = kr->client;
    kr->act_ctx.clock = o->clock;
    kube_service_actuators_init(&kr->service_act, &kr->act_ctx);
    kube_model_actuators_init(&kr->model_act, &kr->act_ctx);
    kube_platform_set_actuators(kr->pf, "service", &kr->service_act);
    kube_retrain_actuators_init(&kr->retrain_act, &kr->act_ctx);
    kube_platform_set_actuators(kr->pf, "model", &kr->model_act);
    kube_platform_set_actuators(kr->pf, "retrain", &kr->retrain_act);
    snprintf(kr->describe, sizeof kr->describe, "%s (%s, context %s), namespace %s, %s%s%s%s%s%s",
             kr->cfg->server, kr->cfg->origin, kr->cfg->context,
             o->namespace_ && *o->namespace_ ? o->namespace_ : "all",
             kr->elector ? "leader election on lease " : "no leader election",
             kr->elector ? lease_ns : "", kr->elector ? "/" : "", kr->elector ? lease_name : "",
             kr->elector ? " as " : "", kr->elector ? lease_elector_identity(kr->elector) : "");
    *ret = kr;
    *ret_src = kr->src;
    *ret_pf = kr->pf;
    return 0;
fail:
    kube_run_free(kr);
    return r;
}

void kube_run_on_leading(struct kube_run *kr, void (*fn)(void *ctx), void *ctx)
{
    kr->on_leading = fn;
    kr->on_leading_ctx = ctx;
}

int kube_run_start(struct kube_run *kr)
{
    if (!kr->elector || kr->started)
        return 0;
    int r = lease_elector_start(kr->elector);
    if (r == 0)
        kr->started = true;
    return r;
}

void kube_run_stop(struct kube_run *kr)
{
    if (kr->elector && kr->started) {
        lease_elector_stop(kr->elector, true);
        kr->started = false;
    }
}

const char *kube_run_describe(const struct kube_run *kr)
{
    return kr->describe;
}

bool kube_run_is_leader(struct kube_run *kr)
{
    return !kr->elector || lease_elector_is_leader(kr->elector);
}

void kube_run_free(struct kube_run *kr)
{
    if (!kr)
        return;
    kube_run_stop(kr);
    if (kr->src)
        kr->src->free(kr->src);
    lease_elector_free(kr->elector);
    kube_platform_free(kr->pf);
    kube_client_free(kr->lease_client);
    kube_client_free(kr->client);
    kube_config_free(kr->cfg);
    free(kr);
}

struct kube_client *kube_run_client(struct kube_run *kr)
{
    return kr ? kr->client : NULL;
}

static bool secret_name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 253)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
            return false;
    return true;
}

int kube_run_read_secret(void *ctx, const char *namespace_, const char *name, const char *key,
                         char **ret_value, char **ret_err)
{
    struct kube_run *kr = ctx;
    *ret_value = NULL;
    if (!secret_name_ok(namespace_) || !secret_name_ok(name))
        return sh_errf(ret_err, SH_EINVAL, "not a valid Secret name");
    char path[600];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", namespace_, name);
    cJSON *body = NULL;
    int r = kube_get(kr->client, path, &body, ret_err);
    if (r != 0)
        return r;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "data"), key);
    if (!cJSON_IsString(v)) {
        cJSON_Delete(body);
        return sh_errf(ret_err, SH_ENOTFOUND, "the Secret has no key %s", key);
    }
    char *out = NULL;
    size_t len = 0;
    r = kube_base64_decode(v->valuestring, &out, &len);
    cJSON_Delete(body);
    if (r != 0)
        return sh_errf(ret_err, SH_EPARSE, "the Secret's %s is not base64", key);
    *ret_value = out;
    return 0;
}
