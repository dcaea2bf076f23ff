/*
 * controller_metrics_manager.c — controller_metrics_attach_manager: the
 * sampler that feeds the queue and pipeline families from a manager. Kept
 * apart from controller_metrics.c so that file links without the manager.
 */
#include <stddef.h>

#include "runtime/controller_metrics.h"
#include "runtime/manager.h"
#include "runtime/status.h"
#include "runtime/workqueue.h"

static void sample_manager(void *ctx, struct wq_stats *queue, size_t phases[PHASE__COUNT])
{
    struct manager *m = ctx;
    struct workqueue *q = manager_queue(m);
    if (q)
        wq_get_stats(q, queue);
    manager_phase_counts(m, phases);
}

void controller_metrics_attach_manager(struct controller_metrics *cm, struct manager *m)
{
    if (!cm)
        return;
    if (m)
        controller_metrics_set_sampler(cm, sample_manager, m, status_phase_name);
    else
        controller_metrics_set_sampler(cm, NULL, NULL, NULL);
}
