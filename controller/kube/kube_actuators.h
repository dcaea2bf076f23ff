/*
 * kube_actuators.h — the Kubernetes platform's actuators for the service
 * and model loops (registered by kube_run.c with kube_platform_set_actuators):
 *
 * service ("service"): restart_workload PATCHes the Deployment named by
 *   spec.service.recovery.deployment with the pod-template annotation
 *   `selfheal.dev/restartedAt` (what `kubectl rollout restart` does), once
 *   per recorded status: the Deployment's annotation
 *   `selfheal.dev/restart-basis` (the pipeline's uid, recoveryAttempts and
 *   lastRecoveryTime, as the API server has them, GET before the patch)
 *   says a restart made for the current status already (verbs: deployments
 *   get, patch; selfhealingpipelines get);
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
 * retrain ("retrain"): a Job from spec.drift.retrain.jobTemplate named
 *   kube_retrain_job_name(pipeline, uid, attempt), labelled
 *   selfheal.dev/pipeline and selfheal.dev/retrain-attempt, annotated
 *   selfheal.dev/drift-score, owned by the pipeline (ownerReference with
 *   controller: true, so deleting the pipeline deletes its Jobs), with
 *   SELFHEAL_PIPELINE and SELFHEAL_DRIFT_SCORE in every container's env.
 *   A 409 AlreadyExists on create means a previous controller created it
 *   and stopped before recording it: the Job is adopted when its owner is
 *   this pipeline (never a second one). It is followed by GETting it every
 *   job_poll_ms: condition Complete → succeeded, Failed → failed; past
 *   spec.drift.retrain.timeout it is DELETEd with propagationPolicy
 *   Background and counts as timed out. Verbs: jobs create, get, delete.
 *
 * The structs are filled in place (no allocation); the client and clock are
 * borrowed and must outlive them. Safe for concurrent calls.
 */
#ifndef SH_KUBE_ACTUATORS_H
#define SH_KUBE_ACTUATORS_H

#include "base/clock.h"
#include "kube/client.h"
#include "drift/retrain_actuators.h"
#include "model/model_actuators.h"
#include "service/service_actuators.h"

#define KUBE_RESTARTED_AT_ANNOTATION "selfheal.dev/restartedAt"
#define KUBE_RESTART_BASIS_ANNOTATION "selfheal.dev/restart-basis"
#define KUBE_ROLLBACK_ANNOTATION "selfheal.dev/rollback"
#define KUBE_METRIC_ANNOTATION "selfheal.dev/metric"
#define KUBE_REVISION_ANNOTATION "deployment.kubernetes.io/revision"

struct kube_actuators_ctx {
    struct kube_client *client;   /* borrowed */
    const struct sh_clock *clock; /* NULL: real */
    int64_t job_poll_ms;          /* how often a running Job is read; 0: 2 s */
};

/* Fills *sa (cleared first); ctx is borrowed and becomes sa->impl. */
void kube_service_actuators_init(struct service_actuators *sa, struct kube_actuators_ctx *ctx);

/* Fills *ma; ctx is borrowed and becomes ma->impl. */
void kube_model_actuators_init(struct model_actuators *ma, struct kube_actuators_ctx *ctx);

/* Fills *ra; ctx is borrowed and becomes ra->impl. */
void kube_retrain_actuators_init(struct retrain_actuators *ra, struct kube_actuators_ctx *ctx);

/* "<pipeline>-retrain-<first 8 alphanumerics of uid>-<attempt>", the
 * pipeline part cut so the whole is at most 63 characters. 0, or SH_EINVAL
 * (no name or uid, attempt < 1, buf too small). */
int kube_retrain_job_name(const char *pipeline, const char *uid, int attempt, char *buf, size_t size);

#endif
