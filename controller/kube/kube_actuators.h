/*
 * kube_actuators.h — the Kubernetes platform's actuators for the service
 * and model loops (registered by kube_run.c with kube_platform_set_actuators):
 *
 * service ("service"): restart_workload PATCHes the Deployment named by
 *   spec.service.recovery.deployment with the pod-template annotation
 *   `selfheal.dev/restartedAt` (what `kubectl rollout restart` does);
 *   delete_pods GETs the Deployment, LISTs its pods by its
 *   spec.selector.matchLabels and DELETEs each one (verbs: pods list,
 *   delete — no deletecollection). Every other member is NULL.
 *
 * model ("model"): the Deployment named by spec.model.rollback.deployment
 *   (else spec.service.recovery.deployment). Its version history is its
 *   ReplicaSets (ownerReference uid = the Deployment's, ordered by the
 *   `deployment.kubernetes.io/revision` annotation). The version of a
 *   revision is read from its pod template (rollback.versionFrom: an
 *   annotation, or an env var of a named container). The recorded metric of
 *   a version is the ReplicaSet annotation `selfheal.dev/metric` (a decimal,
 *   written by whoever evaluated that model, e.g. the CI that rolled it
 *   out); a version without it has no recorded metric. The active version is
 *   the one of the Deployment's current pod template. activate copies the
 *   pod template of the newest ReplicaSet carrying that version (minus the
 *   `pod-template-hash` label) into the Deployment with a merge patch
 *   computed against the current template (what `kubectl rollout undo
 *   --to-revision` does).
 *
 * The structs are filled in place (no allocation); the client and clock are
 * borrowed and must outlive them. Safe for concurrent calls.
 */
#ifndef SH_KUBE_ACTUATORS_H
#define SH_KUBE_ACTUATORS_H

#include "clock.h"
#include "kube/client.h"
#include "model/model_actuators.h"
#include "service/service_actuators.h"

#define KUBE_RESTARTED_AT_ANNOTATION "selfheal.dev/restartedAt"
#define KUBE_METRIC_ANNOTATION "selfheal.dev/metric"
#define KUBE_REVISION_ANNOTATION "deployment.kubernetes.io/revision"

struct kube_actuators_ctx {
    struct kube_client *client;   /* borrowed */
    const struct sh_clock *clock; /* NULL: real */
};

/* Fills *sa (cleared first); ctx is borrowed and becomes sa->impl. */
void kube_service_actuators_init(struct service_actuators *sa, struct kube_actuators_ctx *ctx);

/* Fills *ma; ctx is borrowed and becomes ma->impl. */
void kube_model_actuators_init(struct model_actuators *ma, struct kube_actuators_ctx *ctx);

#endif
