/* reconcilers_all.c — the list of the controller's reconcilers, in priority
 * order (reconcilers_all.h): service recovery > model rollback > data fix >
 * retraining. */
#include "cli/reconcilers_all.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_reconciler.h"
#include "drift/drift_reconciler.h"
#include "drift/retrain_actuators.h"
#include "drift/retrain_log.h"
#include "base/errors.h"
#include "local/local_platform.h"
#include "local/registry.h"
#include "model/model_reconciler.h"
#include "model/rollback_log.h"
#include "service/service_actuators.h"
#include "service/service_reconciler.h"

#define MAX_RECONCILERS 8

struct reconcilers_all {
    struct reconciler list[MAX_RECONCILERS];
    void (*free_fn[MAX_RECONCILERS])(void *self);
    size_t count;
    struct reconciler_notify notify; /* stable: the loops keep a pointer to it */
    struct service_actuators *service_local; /* the local platform's supervised processes */
    char *recovery_log, *rollback_log, *retrain_log; /* kube: under the state folder; else NULL */
};

int reconcilers_all_new(struct platform *pf, const char *state_dir, int64_t memory_budget,
                        struct reconcilers_all **ret, char **ret_err)
{
    struct reconcilers_all *ra = calloc(1, sizeof *ra);
    if (!ra)
        return SH_ENOMEM;
    int r;
    if (strcmp(pf->name, "local") == 0) {
        local_platform_set_actuators(pf, "model", registry_model_actuators());
        local_platform_set_actuators(pf, "retrain", retrain_local_actuators());
        r = service_local_actuators_new(state_dir, NULL, 0, &ra->notify, &ra->service_local,
                                        ret_err);
        if (r != 0)
            goto fail;
        local_platform_set_actuators(pf, "service", ra->service_local);
    }

    /* locally the brief's audit files are where the brief has them (the
     * working folder, the registry); on a cluster in the state folder, apart
     * from any local controller's (the chart: /var/lib/selfheal) */
    bool local = strcmp(pf->name, "local") == 0;
    if (!local && (asprintf(&ra->recovery_log, "%s/%s", state_dir, SERVICE_RECOVERY_LOG_DEFAULT) < 0 ||
                   asprintf(&ra->rollback_log, "%s/models/%s", state_dir, ROLLBACK_LOG_NAME) < 0 ||
                   asprintf(&ra->retrain_log, "%s/%s", state_dir, RETRAIN_LOG_PATH) < 0)) {
        r = SH_ENOMEM;
        goto fail;
    }
    struct service_reconciler_options so = {.notify = &ra->notify, .platform = pf,
                                            .audit_log_path = ra->recovery_log};
    r = service_reconciler_new(&so, &ra->list[ra->count], ret_err);
    if (r != 0)
        goto fail;
    ra->free_fn[ra->count++] = service_reconciler_free;

    struct model_reconciler_options mo = {.clock = NULL, .notify = &ra->notify,
                                          .rollback_log = ra->rollback_log};
    r = model_reconciler_new(&mo, &ra->list[ra->count], ret_err);
    if (r != 0)
        goto fail;
    ra->free_fn[ra->count++] = model_reconciler_free;

    struct data_reconciler_options dro = {.clock = NULL, .notify = &ra->notify,
                                         .memory_budget = memory_budget};
    r = data_reconciler_new(&dro, &ra->list[ra->count], ret_err);
    if (r != 0)
        goto fail;
    ra->free_fn[ra->count++] = data_reconciler_free;

    struct drift_reconciler_options dko = {.notify = &ra->notify, .state_dir = state_dir,
                                           .memory_budget = memory_budget,
                                           .retrain_log = ra->retrain_log};
    r = drift_reconciler_new(&dko, &ra->list[ra->count], ret_err);
    if (r != 0)
        goto fail;
    ra->free_fn[ra->count++] = drift_reconciler_free;

    *ret = ra;
    return 0;
fail:
    reconcilers_all_free(ra);
    return r;
}

const struct reconciler *reconcilers_all_list(const struct reconcilers_all *ra)
{
    return ra->list;
}

size_t reconcilers_all_count(const struct reconcilers_all *ra)
{
    return ra->count;
}

void reconcilers_all_set_notify(struct reconcilers_all *ra, void (*notify)(void *ctx, const char *key),
                                void *ctx)
{
    ra->notify.ctx = ctx;
    ra->notify.fn = notify;
}

void reconcilers_all_free(struct reconcilers_all *ra)
{
    if (!ra)
        return;
    for (size_t i = 0; i < ra->count; i++)
        if (ra->free_fn[i])
            ra->free_fn[i](ra->list[i].self);
    service_local_actuators_free(ra->service_local); /* stops the processes still running */
    free(ra->recovery_log);
    free(ra->rollback_log);
    free(ra->retrain_log);
    free(ra);
}

int reconcilers_all_register_metrics(struct reconcilers_all *ra, struct metrics *reg)
{
    for (size_t i = 0; i < ra->count; i++)
        if (strcmp(ra->list[i].name, "service") == 0) {
            int r = service_reconciler_register_metrics(ra->list[i].self, reg);
            if (r != 0)
                return r;
        }
    return 0;
}
