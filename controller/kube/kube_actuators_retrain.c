/*
 * kube_actuators_retrain.c — the "retrain" actuators of the Kubernetes
 * platform (kube_actuators.h, drift/retrain_actuators.h): a batch/v1 Job
 * from spec.drift.retrain.jobTemplate, named from the pipeline's uid and
 * the attempt number, owned by the pipeline, followed through its
 * conditions, deleted (propagation Background) once past the timeout.
 * API calls: jobs create, get, delete.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "kube/informer.h"
#include "kube/kube_actuators.h"
#include "kube/kube_actuators_util.h"

#define DEFAULT_POLL_MS 2000
#define JOB_NAME_MAX 63 /* the Job controller puts the name in a label value */

struct retrain_run {
    char name[JOB_NAME_MAX + 1];
    int64_t start_ms;             /* wall: the Job's start, shown and persisted */
    const struct sh_clock *clock; /* the timeout runs on its monotonic face: */
    int64_t mono_seen_ms;         /*   when this process took the run over */
    int64_t ran_before_ms;        /*   how long it had run by then (wall) */
};

static int64_t poll_ms_of(const struct kube_actuators_ctx *ctx)
{
    return ctx->job_poll_ms > 0 ? ctx->job_poll_ms : DEFAULT_POLL_MS;
}

/* Cuts s to at most max characters, not ending in '-' or '.'. */
static void cut_name(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        s[n = max] = '\0';
    while (n > 0 && (s[n - 1] == '-' || s[n - 1] == '.'))
        s[--n] = '\0';
}

int kube_retrain_job_name(const char *pipeline, const char *uid, int attempt, char *buf, size_t size)
{
    if (!pipeline || !*pipeline || !uid || !*uid || attempt < 1)
        return SH_EINVAL;
    char id[9];
    size_t k = 0;
    for (const char *c = uid; *c && k < 8; c++)
        if (isalnum((unsigned char)*c))
            id[k++] = (char)tolower((unsigned char)*c);
    id[k] = '\0';
    char suffix[48];
    snprintf(suffix, sizeof suffix, "-retrain-%s-%d", id, attempt);
    char prefix[JOB_NAME_MAX + 1];
    snprintf(prefix, sizeof prefix, "%s", pipeline);
    cut_name(prefix, JOB_NAME_MAX - strlen(suffix));
    int n = snprintf(buf, size, "%s%s", prefix, suffix);
    return n < 0 || (size_t)n >= size ? SH_EINVAL : 0;
}

static const char *missing(const struct retrain_actuators *ra, const struct spec_drift *sd)
{
    (void)ra;
    return sd->retrain.job_template ? NULL : "no retrain.jobTemplate to run";
}

static void describe(const struct retrain_actuators *ra, const struct spec_drift *sd, char *buf,
                     size_t size)
{
    (void)ra;
    (void)sd;
    snprintf(buf, size, "a Job from retrain.jobTemplate");
}

static int oom(char **ret_err)
{
    if (ret_err)
        *ret_err = strdup("out of memory");
    return SH_ENOMEM;
}

/* Replaces (or adds) env var name=value in a container. */
static int set_env(cJSON *container, const char *name, const char *value)
{
    cJSON *env = cJSON_GetObjectItemCaseSensitive(container, "env");
    if (!cJSON_IsArray(env)) {
        cJSON_DeleteItemFromObjectCaseSensitive(container, "env");
        if (!(env = cJSON_AddArrayToObject(container, "env")))
            return SH_ENOMEM;
    }
    for (int i = cJSON_GetArraySize(env) - 1; i >= 0; i--) {
        const char *n = kube_act_str(cJSON_GetArrayItem(env, i), "name");
        if (n && strcmp(n, name) == 0)
            cJSON_DeleteItemFromArray(env, i);
    }
    cJSON *e = cJSON_CreateObject();
    if (!e || !cJSON_AddStringToObject(e, "name", name) || !cJSON_AddStringToObject(e, "value", value)) {
        cJSON_Delete(e);
        return SH_ENOMEM;
    }
    cJSON_AddItemToArray(env, e);
    return 0;
}

/* The object at o[key], created (replacing a non-object) when missing. */
static cJSON *object_at(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsObject(v))
        return v;
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    return cJSON_AddObjectToObject(o, key);
}

static int set_str(cJSON *o, const char *key, const char *value)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    return cJSON_AddStringToObject(o, key, value) ? 0 : SH_ENOMEM;
}

/* The Job for req, named name. NULL when out of memory. */
static cJSON *build_job(const struct retrain_request *req, const char *name)
{
    const struct pipeline *p = req->p;
    const cJSON *tmpl = p->spec.drift.retrain.job_template;
    char label[64], attempt[16], score[32];
    snprintf(label, sizeof label, "%s", p->name);
    cut_name(label, 63);
    snprintf(attempt, sizeof attempt, "%d", req->attempt);
    snprintf(score, sizeof score, isfinite(req->drift_score) ? "%.6g" : "", req->drift_score);

    cJSON *job = cJSON_CreateObject();
    cJSON *meta = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(tmpl, "metadata"), 1);
    cJSON *spec = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(tmpl, "spec"), 1);
    if (!job || !spec || !cJSON_AddStringToObject(job, "apiVersion", "batch/v1") ||
        !cJSON_AddStringToObject(job, "kind", "Job"))
        goto fail;
    if (!cJSON_IsObject(meta)) {
        cJSON_Delete(meta);
        meta = cJSON_CreateObject();
    }
    if (!meta)
        goto fail;
    cJSON_AddItemToObject(job, "metadata", meta);
    cJSON_AddItemToObject(job, "spec", spec);
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "generateName");
    cJSON *labels = object_at(meta, "labels"), *ann = object_at(meta, "annotations");
    int r = set_str(meta, "name", name) | set_str(meta, "namespace", p->namespace_);
    r |= labels ? set_str(labels, "selfheal.dev/pipeline", label) : SH_ENOMEM;
    r |= labels ? set_str(labels, "selfheal.dev/retrain-attempt", attempt) : SH_ENOMEM;
    r |= ann ? set_str(ann, "selfheal.dev/drift-score", score) : SH_ENOMEM;
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "ownerReferences");
    cJSON *owners = cJSON_AddArrayToObject(meta, "ownerReferences");
    cJSON *owner = cJSON_CreateObject();
    if (!owners || !owner) {
        cJSON_Delete(owner);
        goto fail;
    }
    cJSON_AddItemToArray(owners, owner);
    r |= set_str(owner, "apiVersion", KUBE_SHP_GROUP "/" KUBE_SHP_VERSION);
    r |= set_str(owner, "kind", KUBE_SHP_KIND);
    r |= set_str(owner, "name", p->name);
    r |= set_str(owner, "uid", p->uid);
    if (!cJSON_AddTrueToObject(owner, "controller"))
        goto fail;
    /* the pods carry the pipeline label too, and every container the score */
    cJSON *pod = object_at(spec, "template");
    cJSON *pod_labels = pod ? object_at(object_at(pod, "metadata"), "labels") : NULL;
    r |= pod_labels ? set_str(pod_labels, "selfheal.dev/pipeline", label) : SH_ENOMEM;
    cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(object_at(pod, "spec"), "containers")) {
        if (!cJSON_IsObject(c))
            continue;
        r |= set_env(c, "SELFHEAL_PIPELINE", p->key);
        r |= set_env(c, "SELFHEAL_DRIFT_SCORE", score);
    }
    if (r != 0)
        goto fail;
    return job;
fail:
    cJSON_Delete(job);
    return NULL;
}

/* Hands err to the caller when it wants it, else frees it. */
static void pass_err(char *err, char **ret_err)
{
    if (ret_err)
        *ret_err = err;
    else
        free(err);
}

/* GETs Job name of p's namespace into *ret: 0, SH_ENOTFOUND (no message), or
 * another SH_E* code with *ret_err. */
static int get_job(struct kube_actuators_ctx *ctx, const struct pipeline *p, const char *name,
                   cJSON **ret, char **ret_err)
{
    char path[1024];
    if (kube_act_path(path, sizeof path, "batch/v1", p->namespace_, "jobs", name) != 0)
        return SH_EINVAL;
    char *err = NULL;
    int r = kube_get(ctx->client, path, ret, &err);
    if (r != 0 && r != SH_ENOTFOUND) {
        pass_err(err, ret_err);
        return r;
    }
    free(err);
    return r;
}

static bool owned_by(const cJSON *obj, const char *uid)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "ownerReferences")) {
        const char *u = kube_act_str(o, "uid");
        if (u && strcmp(u, uid) == 0)
            return true;
    }
    return false;
}

static int64_t created_ms(const cJSON *job, int64_t fallback)
{
    int64_t t = 0;
    const char *ts = kube_act_str(job, "metadata.creationTimestamp");
    return ts && clock_parse_rfc3339(ts, &t) == 0 ? t : fallback;
}

static int new_run(const struct kube_actuators_ctx *ctx, const struct retrain_request *req,
                   const char *name, int64_t start_ms, bool adopted, struct retrain_run **ret,
                   struct retrain_started *info, char **ret_err)
{
    const struct pipeline *p = req->p;
    struct retrain_run *run = calloc(1, sizeof *run);
    if (!run)
        return oom(ret_err);
    snprintf(run->name, sizeof run->name, "%s", name);
    run->start_ms = start_ms;
    run->clock = req->clock;
    run->mono_seen_ms = clock_mono_ms(req->clock);
    run->ran_before_ms = req->now_ms > start_ms ? req->now_ms - start_ms : 0;
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", name);
    snprintf(info->log, sizeof info->log, "kubectl logs -n %s job/%s", p->namespace_, name);
    info->adopted = adopted;
    info->start_ms = start_ms;
    info->poll_ms = poll_ms_of(ctx);
    *ret = run;
    return 0;
}

static int start(const struct retrain_actuators *ra, const struct retrain_request *req,
                 struct retrain_run **ret, struct retrain_started *info, char **ret_err)
{
    struct kube_actuators_ctx *ctx = ra->impl;
    const struct pipeline *p = req->p;
    char name[JOB_NAME_MAX + 1], path[1024];
    if (!p->spec.drift.retrain.job_template) {
        if (ret_err)
            *ret_err = strdup("spec.drift.retrain.jobTemplate is not set");
        return SH_EINVAL;
    }
    if (kube_retrain_job_name(p->name, p->uid, req->attempt, name, sizeof name) != 0 ||
        kube_act_path(path, sizeof path, "batch/v1", p->namespace_, "jobs", NULL) != 0) {
        if (ret_err)
            *ret_err = strdup("cannot name the Job: the pipeline has no uid");
        return SH_EINVAL;
    }
    cJSON *job = build_job(req, name);
    if (!job)
        return oom(ret_err);
    char *err = NULL;
    int r = kube_post(ctx->client, path, job, NULL, &err);
    cJSON_Delete(job);
    if (r == 0) {
        free(err);
        return new_run(ctx, req, name, req->now_ms, false, ret, info, ret_err);
    }
    if (r != SH_EEXISTS) {
        pass_err(err, ret_err);
        return r;
    }
    free(err);
    /* created by a controller that stopped before recording it: adopt it if it is ours */
    cJSON *found = NULL;
    if ((r = get_job(ctx, p, name, &found, ret_err)) != 0)
        return r;
    if (!owned_by(found, p->uid)) {
        cJSON_Delete(found);
        if (ret_err && asprintf(ret_err, "a Job named %s exists and is not owned by this pipeline",
                                name) < 0)
            *ret_err = NULL;
        return SH_EEXISTS;
    }
    int64_t t = created_ms(found, req->now_ms);
    cJSON_Delete(found);
    return new_run(ctx, req, name, t, true, ret, info, ret_err);
}

static int adopt(const struct retrain_actuators *ra, const struct retrain_request *req,
                 const char *name, int64_t start_ms, struct retrain_run **ret,
                 struct retrain_started *info, char **ret_err)
{
    /* a Job created and never recorded is found by start() (AlreadyExists) */
    struct kube_actuators_ctx *ctx = ra->impl;
    const struct pipeline *p = req->p;
    if (!name || !*name)
        return SH_ENOTFOUND;
    cJSON *job = NULL;
    int r = get_job(ctx, p, name, &job, ret_err);
    if (r == SH_ENOTFOUND && ret_err)
        *ret_err = strdup("is gone");
    if (r != 0)
        return r;
    bool ours = owned_by(job, p->uid);
    int64_t t = start_ms > 0 ? start_ms : created_ms(job, req->now_ms);
    cJSON_Delete(job);
    if (!ours) {
        if (ret_err)
            *ret_err = strdup("is not owned by this pipeline");
        return SH_ENOTFOUND;
    }
    return new_run(ctx, req, name, t, true, ret, info, ret_err);
}

/* The condition of type `type` with status True, or NULL. */
static const cJSON *condition_true(const cJSON *job, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(job, "status"), "conditions")) {
        const char *t = kube_act_str(c, "type"), *s = kube_act_str(c, "status");
        if (t && s && strcmp(t, type) == 0 && strcmp(s, "True") == 0)
            return c;
    }
    return NULL;
}

static int delete_job(struct kube_actuators_ctx *ctx, const char *ns, const char *name, char **ret_err)
{
    char path[1024];
    if (kube_act_path(path, sizeof path, "batch/v1", ns, "jobs", name) != 0)
        return SH_EINVAL;
    snprintf(path + strlen(path), sizeof path - strlen(path), "?propagationPolicy=Background");
    char *err = NULL;
    int r = kube_delete(ctx->client, path, &err);
    if (r == SH_ENOTFOUND)
        r = 0;
    if (r != 0) {
        pass_err(err, ret_err);
        return r;
    }
    free(err);
    return 0;
}

/* Ends ret in state at the condition's transition time (else now); the message is set by the caller. */
static void finished(struct retrain_job_result *ret, enum retrain_job_state state, const cJSON *cond,
                     int64_t now_ms)
{
    ret->state = state;
    int64_t t = 0;
    const char *ts = cond ? kube_act_str(cond, "lastTransitionTime") : NULL;
    ret->end_ms = ts && clock_parse_rfc3339(ts, &t) == 0 && t >= ret->start_ms ? t : now_ms;
}

static int poll_run(const struct retrain_actuators *ra, const struct pipeline *p,
                    struct retrain_run *run, int64_t now_ms, struct retrain_job_result *ret,
                    char **ret_err)
{
    struct kube_actuators_ctx *ctx = ra->impl;
    memset(ret, 0, sizeof *ret);
    ret->state = RETRAIN_JOB_RUNNING;
    ret->exit_code = -1;
    ret->start_ms = run->start_ms;
    cJSON *job = NULL;
    int r = get_job(ctx, p, run->name, &job, ret_err);
    if (r == SH_ENOTFOUND) {
        finished(ret, RETRAIN_JOB_FAILED, NULL, now_ms);
        snprintf(ret->message, sizeof ret->message, "Job %s was deleted before it finished", run->name);
        ret->log_gone = true;
        return 0;
    }
    if (r != 0)
        return r;
    const cJSON *c;
    if ((c = condition_true(job, "Complete")) != NULL) {
        finished(ret, RETRAIN_JOB_SUCCEEDED, c, now_ms);
        snprintf(ret->message, sizeof ret->message, "Job %s completed", run->name);
        ret->exit_code = 0;
    } else if ((c = condition_true(job, "Failed")) != NULL) {
        const char *why = kube_act_str(c, "message");
        if (!why)
            why = kube_act_str(c, "reason");
        finished(ret, RETRAIN_JOB_FAILED, c, now_ms);
        snprintf(ret->message, sizeof ret->message, "Job %s failed: %s", run->name,
                 why ? why : "no reason given");
    }
    cJSON_Delete(job);
    if (ret->state != RETRAIN_JOB_RUNNING)
        return 0;
    int64_t timeout = p->spec.drift.retrain.timeout_ms;
    /* how long it has run: measured on the monotonic clock since this process
     * took it over, so a step of the wall clock neither kills a run early
     * nor keeps one past its timeout */
    int64_t ran = run->ran_before_ms + clock_mono_ms(run->clock) - run->mono_seen_ms;
    if (timeout > 0 && ran >= timeout) {
        if ((r = delete_job(ctx, p->namespace_, run->name, ret_err)) != 0)
            return r; /* still there: deleted on the next poll */
        char limit[32];
        snprintf(limit, sizeof limit, "%.0f s", (double)timeout / 1000.0);
        finished(ret, RETRAIN_JOB_TIMED_OUT, NULL, now_ms);
        snprintf(ret->message, sizeof ret->message,
                 "timed out after %s; Job %s deleted (propagation Background) with its logs",
                 limit, run->name);
        ret->log_gone = true;
    }
    return 0;
}

static void stop(const struct retrain_actuators *ra, struct retrain_run *run)
{
    (void)ra;
    (void)run; /* the Job runs on; the next controller adopts it */
}

static void release(const struct retrain_actuators *ra, struct retrain_run *run)
{
    (void)ra;
    free(run);
}

void kube_retrain_actuators_init(struct retrain_actuators *ra, struct kube_actuators_ctx *ctx)
{
    memset(ra, 0, sizeof *ra);
    ra->missing = missing;
    ra->describe = describe;
    ra->start = start;
    ra->adopt = adopt;
    ra->poll = poll_run;
    ra->stop = stop;
    ra->release = release;
    ra->impl = ctx;
}
