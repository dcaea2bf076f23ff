/*
 * controller_metrics.c — the controller's metric set of controller_metrics.h:
 * build info, reconcile counts and durations, and the scrape-time collector of
 * the queue and pipeline families (fed by an injected sampler, zeros without).
 */
#include "runtime/controller_metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

struct controller_metrics {
    struct metrics *reg;
    struct metric_family *reconcile_total;
    struct metric_family *reconcile_duration;
    struct metric_family *actions_total;
    pthread_mutex_t lock; /* guards the sampler */
    controller_metrics_sampler sampler;
    void *sampler_ctx;
    const char *(*phase_name)(enum phase);
};

static int gauge(struct metrics *reg, const char *name, const char *help, const char *const *labels,
                 struct metric_family **ret)
{
    struct metric_opts o = {.type = METRIC_GAUGE, .name = name, .help = help, .labels = labels};
    return metrics_register(reg, &o, ret);
}

static int counter(struct metrics *reg, const char *name, const char *help,
                   const char *const *labels, struct metric_family **ret)
{
    struct metric_opts o = {.type = METRIC_COUNTER, .name = name, .help = help, .labels = labels};
    return metrics_register(reg, &o, ret);
}

/* The collector: queue and pipeline families from the sampler, or zeros. */
static int collect(void *ctx, struct metrics *s)
{
    struct controller_metrics *cm = ctx;
    struct wq_stats q = {0};
    size_t phases[PHASE__COUNT] = {0};
    const char *(*phase_name)(enum phase) = NULL;
    pthread_mutex_lock(&cm->lock);
    if (cm->sampler)
        cm->sampler(cm->sampler_ctx, &q, phases);
    phase_name = cm->phase_name;
    pthread_mutex_unlock(&cm->lock);

    struct metric_family *depth, *adds, *retries, *age, *in_flight, *pipelines;
    static const char *const phase_label[] = {"phase", NULL};
    int err = gauge(s, "selfheal_workqueue_depth", "Keys waiting in the work queue to be processed.",
                    NULL, &depth);
    if (!err)
        err = counter(s, "selfheal_workqueue_adds_total", "Keys added to the work queue.", NULL,
                      &adds);
    if (!err)
        err = counter(s, "selfheal_workqueue_retries_total",
                      "Keys requeued with backoff after a failed reconcile.", NULL, &retries);
    if (!err)
        err = gauge(s, "selfheal_workqueue_oldest_item_age_seconds",
                    "Age of the oldest key waiting in the work queue.", NULL, &age);
    if (!err)
        err = gauge(s, "selfheal_workqueue_in_flight", "Keys being reconciled by workers.", NULL,
                    &in_flight);
    if (!err)
        err = gauge(s, "selfheal_pipelines", "Pipelines per phase.", phase_label, &pipelines);
    if (err)
        return err;
    err = metrics_set(depth, NULL, (double)q.depth);
    if (!err)
        err = metrics_add(adds, NULL, (double)q.adds);
    if (!err)
        err = metrics_add(retries, NULL, (double)q.retries);
    if (!err)
        err = metrics_set(age, NULL, q.oldest_age_ms > 0 ? (double)q.oldest_age_ms / 1000.0 : 0);
    if (!err)
        err = metrics_set(in_flight, NULL, (double)q.processing);
    for (int p = 0; !err && p < PHASE__COUNT; p++) {
        const char *name = phase_name ? phase_name((enum phase)p) : NULL;
        err = metrics_set(pipelines, (const char *const[]){name ? name : status_phase_name((enum phase)p)},
                          (double)phases[p]);
    }
    return err;
}

int controller_metrics_new(struct metrics *reg, const char *version, const char *commit,
                           struct controller_metrics **ret)
{
    if (!reg || !ret)
        return SH_EINVAL;
    struct controller_metrics *cm = calloc(1, sizeof *cm);
    if (!cm)
        return SH_ENOMEM;
    cm->reg = reg;
    pthread_mutex_init(&cm->lock, NULL);

    static const char *const build_labels[] = {"version", "commit", NULL};
    static const char *const rec_labels[] = {"reconciler", "result", NULL};
    static const char *const dur_labels[] = {"reconciler", NULL};
    static const double buckets[] = CONTROLLER_METRICS_DURATION_BUCKETS;
    struct metric_family *build = NULL;
    int err = gauge(reg, "selfheal_build_info",
                    "Build information of the selfheal controller, always 1.", build_labels, &build);
    if (!err)
        err = metrics_set(build, (const char *const[]){version ? version : "unknown",
                                                        commit ? commit : "unknown"},
                          1);
    if (!err)
        err = counter(reg, "selfheal_reconcile_total", "Reconciler runs by reconciler and result.",
                      rec_labels, &cm->reconcile_total);
    if (!err) {
        static const char *const action_labels[] = {"loop", "action", "outcome", NULL};
        err = counter(reg, "selfheal_actions_total",
                      "Healing actions recorded in the pipelines' history ledgers, by loop, action "
                      "and outcome (started, succeeded, failed, ...).",
                      action_labels, &cm->actions_total);
        /* the known actions exported at 0 from the start: increase() sees
         * their first occurrence (a series that appears at 1 increased by 0) */
        static const char *const known[][2] = {{"service", "restart"},    {"service", "run-command"},
                                               {"service", "delete-pods"}, {"model", "rollback"},
                                               {"drift", "retrain"},       {"dataQuality", "fix-data"}};
        static const char *const outcomes[] = {"started", "succeeded", "failed"};
        for (size_t i = 0; !err && i < sizeof known / sizeof known[0]; i++)
            for (size_t j = 0; !err && j < sizeof outcomes / sizeof outcomes[0]; j++)
                err = metrics_touch(cm->actions_total,
                                    (const char *const[]){known[i][0], known[i][1], outcomes[j]});
    }
    if (!err) {
        struct metric_opts o = {.type = METRIC_HISTOGRAM,
                                .name = "selfheal_reconcile_duration_seconds",
                                .help = "Time a reconciler took for one pipeline.",
                                .labels = dur_labels,
                                .buckets = buckets,
                                .nbuckets = sizeof buckets / sizeof buckets[0]};
        err = metrics_register(reg, &o, &cm->reconcile_duration);
    }
    if (!err)
        err = metrics_add_collector(reg, collect, cm);
    if (err) {
        /* families already registered stay in reg (it has no unregister) */
        pthread_mutex_destroy(&cm->lock);
        free(cm);
        return err;
    }
    *ret = cm;
    return 0;
}

void controller_metrics_free(struct controller_metrics *cm)
{
    if (!cm)
        return;
    metrics_remove_collector(cm->reg, collect, cm);
    pthread_mutex_destroy(&cm->lock);
    free(cm);
}

void controller_metrics_reconcile(struct controller_metrics *cm, const char *reconciler,
                                  const char *result, double seconds)
{
    if (!cm)
        return;
    const char *name = reconciler ? reconciler : "unknown";
    metrics_add(cm->reconcile_total, (const char *const[]){name, result ? result : "unknown"}, 1);
    metrics_observe(cm->reconcile_duration, (const char *const[]){name}, seconds < 0 ? 0 : seconds);
}

void controller_metrics_action(struct controller_metrics *cm, const char *loop, const char *action,
                               const char *outcome)
{
    if (!cm || !cm->actions_total)
        return;
    metrics_add(cm->actions_total,
                (const char *const[]){loop ? loop : "unknown", action ? action : "unknown",
                                      outcome ? outcome : "unknown"},
                1);
}

struct metrics *controller_metrics_registry(struct controller_metrics *cm)
{
    return cm ? cm->reg : NULL;
}

void controller_metrics_set_sampler(struct controller_metrics *cm, controller_metrics_sampler fn,
                                    void *ctx, const char *(*phase_name)(enum phase))
{
    if (!cm)
        return;
    pthread_mutex_lock(&cm->lock);
    cm->sampler = fn;
    cm->sampler_ctx = ctx;
    cm->phase_name = phase_name;
    pthread_mutex_unlock(&cm->lock);
}
