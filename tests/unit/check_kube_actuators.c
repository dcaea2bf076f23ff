/*
 * check_kube_actuators.c — the kube platform's service and model actuators
 * (controller/kube/kube_actuators.h) against the real API emulator
 * (tests/kube/emulator.py, started as a process with --pods): restart
 * annotation from the injected clock, pod deletion by selector, the
 * ReplicaSet revision history as model versions, rollback by template copy,
 * and retraining Jobs (deterministic name, adoption, owner, env, conditions,
 * timeout delete).
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/errors.h"
#include "kube/kube_actuators.h"
#include "runtime/pipeline.h"

Suite *kube_actuators_suite(void);

static pid_t emu_pid;
static char dir[] = "/tmp/check_kube_act.XXXXXX";
static struct kube_config *cfg;
static struct kube_client *client;

static void start_emulator(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char port[256], kc[256];
    snprintf(port, sizeof port, "%s/port", dir);
    snprintf(kc, sizeof kc, "%s/kubeconfig", dir);
    emu_pid = fork();
    ck_assert_int_ge(emu_pid, 0);
    if (emu_pid == 0) {
        char *argv[] = {"/usr/bin/python3", "tests/kube/emulator.py", "--port", "0", "--port-file",
                        port, "--kubeconfig-out", kc, "--pods", "--token", "t",
                        "--crd", "crd/selfhealingpipelines.selfheal.dev.yaml", NULL};
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    for (int i = 0; i < 200 && access(port, F_OK) != 0; i++)
        usleep(50000);
    ck_assert_int_eq(access(port, F_OK), 0);
    char *err = NULL;
    ck_assert_int_eq(kube_config_load_file(kc, NULL, &cfg, &err), 0);
    ck_assert_int_eq(kube_client_new(cfg, NULL, &client, &err), 0);
}

static void stop_emulator(void)
{
    kube_client_free(client);
    kube_config_free(cfg);
    kill(emu_pid, SIGTERM);
    waitpid(emu_pid, NULL, 0);
    char path[300];
    snprintf(path, sizeof path, "%s/port", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/kubeconfig", dir);
    unlink(path);
    rmdir(dir);
    memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static void post(const char *path, const char *json)
{
    cJSON *b = cJSON_Parse(json);
    ck_assert_ptr_nonnull(b);
    char *err = NULL;
    int r = kube_post(client, path, b, NULL, &err);
    ck_assert_msg(r == 0, "POST %s: %s", path, err ? err : "?");
    cJSON_Delete(b);
}

static void mpatch(const char *path, const char *json)
{
    cJSON *b = cJSON_Parse(json);
    char *err = NULL;
    int r = kube_patch_merge(client, path, b, NULL, &err);
    ck_assert_msg(r == 0, "PATCH %s: %s", path, err ? err : "?");
    cJSON_Delete(b);
}

static cJSON *get(const char *path)
{
    cJSON *o = NULL;
    char *err = NULL;
    int r = kube_get(client, path, &o, &err);
    ck_assert_msg(r == 0, "GET %s: %s", path, err ? err : "?");
    return o;
}

#define D "/apis/apps/v1/namespaces/default/deployments"
#define SHP "/apis/selfheal.dev/v1alpha1/namespaces/default/selfhealingpipelines"

static void deployment(const char *name, const char *version)
{
    char b[1024];
    snprintf(b, sizeof b,
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},\"template\":"
             "{\"metadata\":{\"labels\":{\"app\":\"%s\"},\"annotations\":{\"selfheal.dev/"
             "model-version\":\"%s\"}},\"spec\":{\"containers\":[{\"name\":\"api\",\"image\":\"i:%s\","
             "\"env\":[{\"name\":\"MODEL_VERSION\",\"value\":\"%s\"}]}]}}}}",
             name, name, name, version, version, version);
    post(D, b);
}

static void set_version(const char *name, const char *version)
{
    char p[256], b[512];
    snprintf(p, sizeof p, D "/%s", name);
    snprintf(b, sizeof b,
             "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"selfheal.dev/model-version\":"
             "\"%s\"}},\"spec\":{\"containers\":[{\"name\":\"api\",\"image\":\"i:%s\",\"env\":[{"
             "\"name\":\"MODEL_VERSION\",\"value\":\"%s\"}]}]}}}}",
             version, version, version);
    mpatch(p, b);
}

/* Annotates the ReplicaSet of `name` whose template carries version with a metric. */
static void record_metric(const char *name, const char *version, const char *metric)
{
    char p[256];
    snprintf(p, sizeof p, "/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%%3D%s", name);
    cJSON *l = get(p);
    const cJSON *rs;
    int n = 0;
    cJSON_ArrayForEach(rs, cJSON_GetObjectItem(l, "items")) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(rs, "spec"),
                                                                        "template"),
                                                    "metadata"),
                                "annotations"),
            "selfheal.dev/model-version"));
        if (!v || strcmp(v, version) != 0)
            continue;
        char rp[256], b[256];
        snprintf(rp, sizeof rp, "/apis/apps/v1/namespaces/default/replicasets/%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(rs, "metadata"), "name")));
        snprintf(b, sizeof b, "{\"metadata\":{\"annotations\":{\"selfheal.dev/metric\":\"%s\"}}}", metric);
        mpatch(rp, b);
        n++;
    }
    ck_assert_int_eq(n, 1);
    cJSON_Delete(l);
}

static struct pipeline *make_pipeline(const char *spec_json)
{
    char b[2048];
    snprintf(b, sizeof b,
             "{\"apiVersion\":\"selfheal.dev/v1alpha1\",\"kind\":\"SelfHealingPipeline\","
             "\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u-1\"},\"spec\":%s}",
             spec_json);
    cJSON *o = cJSON_Parse(b);
    ck_assert_ptr_nonnull(o);
    struct pipeline *p = NULL;
    char *err = NULL;
    ck_assert_int_eq(pipeline_new(o, "test", "default", 1, 0, &p, &err), 0);
    ck_assert_msg(p->valid, "invalid: %s", p->invalid_message ? p->invalid_message : "");
    return p;
}

static const char *tmpl_str(const cJSON *dep, const char *ann)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(dep, "spec"), "template"),
                                "metadata"),
            "annotations"),
        ann));
}

START_TEST(restart_patches_annotation_from_clock)
{
    start_emulator();
    deployment("api", "v1");
    struct fake_clock fc;
    fake_clock_init(&fc, 1700000000000LL);
    struct kube_actuators_ctx ctx = {.client = client, .clock = &fc.base};
    struct service_actuators sa;
    kube_service_actuators_init(&sa, &ctx);
    ck_assert_ptr_null(sa.ensure_process);
    const char *spec = "{\"service\":{\"healthCheck\":{\"url\":\"http://127.0.0.1:1/\"},\"recovery\":"
                       "{\"method\":\"restart\",\"deployment\":\"api\"}}}";
    struct pipeline *p = make_pipeline(spec);
    char *err = NULL, obj[1024];
    snprintf(obj, sizeof obj,
             "{\"apiVersion\":\"selfheal.dev/v1alpha1\",\"kind\":\"SelfHealingPipeline\","
             "\"metadata\":{\"name\":\"p\"},\"spec\":%s}", spec);
    post(SHP, obj);
    ck_assert_int_eq(sa.restart_workload(&sa, p, &p->spec.service, &err), 0);
    cJSON *dep = get(D "/api");
    ck_assert_str_eq(tmpl_str(dep, KUBE_RESTARTED_AT_ANNOTATION), "2023-11-14T22:13:20Z");
    ck_assert_str_eq(tmpl_str(dep, "selfheal.dev/model-version"), "v1");
    cJSON_Delete(dep);
    /* the controller stops before recording the attempt; the next one (the
     * same status on the server) finds its basis on the Deployment: no second
     * restart */
    fake_clock_advance(&fc, 5000);
    ck_assert_int_eq(sa.restart_workload(&sa, p, &p->spec.service, &err), 0);
    dep = get(D "/api");
    ck_assert_str_eq(tmpl_str(dep, KUBE_RESTARTED_AT_ANNOTATION), "2023-11-14T22:13:20Z");
    cJSON_Delete(dep);
    /* once the attempt is recorded, the next restart is made */
    mpatch(SHP "/p/status", "{\"status\":{\"service\":{\"recoveryAttempts\":1,"
                            "\"lastRecoveryTime\":\"2023-11-14T22:13:20Z\"}}}");
    ck_assert_int_eq(sa.restart_workload(&sa, p, &p->spec.service, &err), 0);
    dep = get(D "/api");
    ck_assert_str_eq(tmpl_str(dep, KUBE_RESTARTED_AT_ANNOTATION), "2023-11-14T22:13:25Z");
    cJSON_Delete(dep);
    pipeline_unref(p);
    /* a missing deployment is an API error, not a crash */
    p = make_pipeline("{\"service\":{\"healthCheck\":{\"url\":\"http://127.0.0.1:1/\"},\"recovery\":"
                      "{\"method\":\"restart\",\"deployment\":\"nope\"}}}");
    ck_assert_int_eq(sa.restart_workload(&sa, p, &p->spec.service, &err), SH_ENOTFOUND);
    ck_assert_str_eq(err, "deployment nope not found in namespace default "
                          "(spec.service.recovery.deployment)");
    free(err);
    err = NULL;
    ck_assert_int_eq(sa.delete_pods(&sa, p, &p->spec.service, &err), SH_ENOTFOUND);
    ck_assert_str_eq(err, "deployment nope not found in namespace default "
                          "(spec.service.recovery.deployment)");
    free(err);
    pipeline_unref(p);
    /* the model actuators say the same, and flag it as a missing workload */
    p = make_pipeline(
        "{\"model\":{\"metric\":{\"source\":{\"file\":{\"path\":\"/x\",\"jsonPointer\":\"/a\"}}},"
        "\"rollback\":{\"deployment\":\"local-api\"}}}");
    struct model_actuators ma;
    kube_model_actuators_init(&ma, &ctx);
    struct model_registry_view v;
    ck_assert_int_eq(ma.observe(&ma, p, &v), SH_ENOTFOUND);
    ck_assert(v.workload_missing);
    ck_assert_str_eq(v.error, "deployment local-api not found in namespace default "
                              "(spec.model.rollback.deployment)");
    model_registry_view_free(&v);
    pipeline_unref(p);
    stop_emulator();
}
END_TEST

static char *pod_names(const char *app)
{
    char p[256];
    snprintf(p, sizeof p, "/api/v1/namespaces/default/pods?labelSelector=app%%3D%s", app);
    cJSON *l = get(p);
    char *s = calloc(1, 1024);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(l, "items")) {
        strncat(s, cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(it, "metadata"), "name")),
                1000 - strlen(s));
        strncat(s, ",", 1000 - strlen(s));
    }
    cJSON_Delete(l);
    return s;
}

START_TEST(delete_pods_by_selector_only)
{
    start_emulator();
    deployment("a", "v1");
    deployment("b", "v1");
    struct kube_actuators_ctx ctx = {.client = client};
    struct service_actuators sa;
    kube_service_actuators_init(&sa, &ctx);
    char *a0 = pod_names("a"), *b0 = pod_names("b");
    ck_assert_int_gt(strlen(a0), 0);
    struct pipeline *p = make_pipeline(
        "{\"service\":{\"healthCheck\":{\"url\":\"http://127.0.0.1:1/\"},\"recovery\":{\"method\":"
        "\"delete-pods\",\"deployment\":\"a\"}}}");
    char *err = NULL;
    ck_assert_int_eq(sa.delete_pods(&sa, p, &p->spec.service, &err), 0);
    char *a1 = pod_names("a"), *b1 = pod_names("b");
    /* every old pod of a is gone (the emulator re-created others); b untouched */
    char *save = NULL;
    for (char *t = strtok_r(a0, ",", &save); t; t = strtok_r(NULL, ",", &save))
        ck_assert_msg(!strstr(a1, t), "pod %s survived", t);
    ck_assert_str_eq(b1, b0);
    free(a0), free(a1), free(b0), free(b1);
    pipeline_unref(p);
    stop_emulator();
}
END_TEST

static void history(void)
{
    deployment("web", "v1");
    set_version("web", "v2");
    set_version("web", "v3");
    record_metric("web", "v1", "0.82");
    record_metric("web", "v2", "0.91");
    record_metric("web", "v3", "0.65");
}

START_TEST(observe_and_activate_annotation)
{
    start_emulator();
    history();
    struct kube_actuators_ctx ctx = {.client = client};
    struct model_actuators ma;
    kube_model_actuators_init(&ma, &ctx);
    struct pipeline *p = make_pipeline(
        "{\"model\":{\"metric\":{\"source\":{\"file\":{\"path\":\"/x\",\"jsonPointer\":\"/a\"}}},"
        "\"rollback\":{\"deployment\":\"web\",\"versionFrom\":{\"annotation\":"
        "\"selfheal.dev/model-version\"}}}}");
    struct model_registry_view v;
    ck_assert_int_eq(ma.observe(&ma, p, &v), 0);
    ck_assert_uint_eq(v.count, 3);
    ck_assert_str_eq(v.versions[0].name, "v1");
    ck_assert_str_eq(v.versions[1].name, "v2");
    ck_assert_str_eq(v.versions[2].name, "v3");
    ck_assert(v.versions[1].has_metric);
    ck_assert_double_eq_tol(v.versions[1].metric, 0.91, 1e-9);
    ck_assert_double_eq_tol(v.versions[2].metric, 0.65, 1e-9);
    ck_assert_str_eq(v.current, "v3");
    model_registry_view_free(&v);

    char *err = NULL;
    ck_assert_int_eq(ma.activate(&ma, p, "v2", "{\"to\":\"v2\"}", &err), 0);
    cJSON *dep = get(D "/web");
    ck_assert_str_eq(tmpl_str(dep, "selfheal.dev/model-version"), "v2");
    /* the note rides in the same patch, on the Deployment itself */
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(
                         cJSON_GetObjectItem(cJSON_GetObjectItem(dep, "metadata"), "annotations"),
                         KUBE_ROLLBACK_ANNOTATION)),
                     "{\"to\":\"v2\"}");
    const cJSON *labels = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(dep, "spec"), "template"), "metadata"),
        "labels");
    ck_assert_ptr_null(cJSON_GetObjectItem(labels, "pod-template-hash"));
    cJSON_Delete(dep);
    /* the v2 ReplicaSet came back as the newest revision: v2 is current, last */
    ck_assert_int_eq(ma.observe(&ma, p, &v), 0);
    ck_assert_uint_eq(v.count, 3);
    ck_assert_str_eq(v.versions[2].name, "v2");
    ck_assert_str_eq(v.current, "v2");
    ck_assert_str_eq(v.made, "{\"to\":\"v2\"}");
    model_registry_view_free(&v);

    ck_assert_int_eq(ma.activate(&ma, p, "v9", NULL, &err), SH_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "v9"));
    free(err);
    pipeline_unref(p);
    stop_emulator();
}
END_TEST

/* The name of the ReplicaSet of deployment web whose template carries version. */
static void rs_of(const char *version, char *out, size_t size)
{
    cJSON *l = get("/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dweb");
    const cJSON *rs;
    out[0] = '\0';
    cJSON_ArrayForEach(rs, cJSON_GetObjectItem(l, "items")) {
        const cJSON *meta = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(rs, "spec"), "template"),
                                                "metadata");
        const char *v = cJSON_GetStringValue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(meta, "annotations"), "selfheal.dev/model-version"));
        if (v && strcmp(v, version) == 0)
            snprintf(out, size, "/apis/apps/v1/namespaces/default/replicasets/%s",
                     cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(rs, "metadata"), "name")));
    }
    cJSON_Delete(l);
    ck_assert_msg(out[0], "no ReplicaSet of web carries %s", version);
}

/* The Deployment controller lags behind a template change (it did on a
 * loaded control plane): the template's version is still the newest. */
START_TEST(observe_current_before_its_replicaset)
{
    start_emulator();
    history();
    struct kube_actuators_ctx ctx = {.client = client};
    struct model_actuators ma;
    kube_model_actuators_init(&ma, &ctx);
    struct pipeline *p = make_pipeline(
        "{\"model\":{\"metric\":{\"source\":{\"file\":{\"path\":\"/x\",\"jsonPointer\":\"/a\"}}},"
        "\"rollback\":{\"deployment\":\"web\"}}}");
    /* v4 is in the template, its ReplicaSet not made yet */
    set_version("web", "v4");
    char rs[512], *err = NULL;
    rs_of("v4", rs, sizeof rs);
    ck_assert_int_eq(kube_delete(client, rs, &err), 0);
    struct model_registry_view v;
    ck_assert_int_eq(ma.observe(&ma, p, &v), 0);
    ck_assert_uint_eq(v.count, 4);
    ck_assert_str_eq(v.versions[2].name, "v3");
    ck_assert_str_eq(v.versions[3].name, "v4");
    ck_assert(!v.versions[3].has_metric);
    ck_assert_str_eq(v.current, "v4");
    model_registry_view_free(&v);
    /* back to v2, whose ReplicaSet still carries its old revision (2) */
    set_version("web", "v2");
    rs_of("v2", rs, sizeof rs);
    mpatch(rs, "{\"metadata\":{\"annotations\":{\"deployment.kubernetes.io/revision\":\"2\"}}}");
    ck_assert_int_eq(ma.observe(&ma, p, &v), 0);
    ck_assert_uint_eq(v.count, 3);
    ck_assert_str_eq(v.versions[0].name, "v1");
    ck_assert_str_eq(v.versions[1].name, "v3");
    ck_assert_str_eq(v.versions[2].name, "v2");
    ck_assert(v.versions[2].has_metric);
    ck_assert_double_eq_tol(v.versions[2].metric, 0.91, 1e-9);
    ck_assert_str_eq(v.current, "v2");
    model_registry_view_free(&v);
    pipeline_unref(p);
    stop_emulator();
}
END_TEST

START_TEST(observe_env_version)
{
    start_emulator();
    history();
    struct kube_actuators_ctx ctx = {.client = client};
    struct model_actuators ma;
    kube_model_actuators_init(&ma, &ctx);
    struct pipeline *p = make_pipeline(
        "{\"model\":{\"metric\":{\"source\":{\"file\":{\"path\":\"/x\",\"jsonPointer\":\"/a\"}}},"
        "\"rollback\":{\"deployment\":\"web\",\"versionFrom\":{\"env\":{\"container\":\"api\","
        "\"name\":\"MODEL_VERSION\"}}}}}");
    struct model_registry_view v;
    ck_assert_int_eq(ma.observe(&ma, p, &v), 0);
    ck_assert_uint_eq(v.count, 3);
    ck_assert_str_eq(v.current, "v3");
    ck_assert_str_eq(v.versions[0].name, "v1");
    model_registry_view_free(&v);
    pipeline_unref(p);
    /* no deployment at all: an error in the view */
    p = make_pipeline("{\"model\":{\"metric\":{\"source\":{\"file\":{\"path\":\"/x\",\"jsonPointer\":"
                      "\"/a\"}}},\"rollback\":{\"deployment\":\"gone\"}}}");
    ck_assert_int_eq(ma.observe(&ma, p, &v), SH_ENOTFOUND);
    ck_assert_str_ne(v.error, "");
    model_registry_view_free(&v);
    pipeline_unref(p);
    stop_emulator();
}
END_TEST

/* --- retrain: Jobs --- */

#define J "/apis/batch/v1/namespaces/default/jobs"
#define RETRAIN_SPEC                                                                               \
    "{\"drift\":{\"score\":{\"source\":{\"file\":{\"path\":\"/x\",\"jsonPointer\":\"/a\"}}},"      \
    "\"threshold\":0.5,\"retrain\":{\"timeout\":\"1m\",\"jobTemplate\":{\"metadata\":{\"labels\":" \
    "{\"team\":\"ml\"}},\"spec\":{\"backoffLimit\":0,\"template\":{\"spec\":{\"restartPolicy\":"   \
    "\"Never\",\"containers\":[{\"name\":\"train\",\"image\":\"t:1\",\"env\":[{\"name\":"          \
    "\"SELFHEAL_DRIFT_SCORE\",\"value\":\"stale\"}]},{\"name\":\"side\",\"image\":\"s:1\"}]}}}}}}}"

static const char *env_of(const cJSON *container, const char *name)
{
    const cJSON *e;
    const char *found = NULL;
    int n = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(container, "env")) {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "name")), name) == 0) {
            found = cJSON_GetStringValue(cJSON_GetObjectItem(e, "value"));
            n++;
        }
    }
    ck_assert_int_le(n, 1); /* replaced, not duplicated */
    return found;
}

static int count_jobs(void)
{
    cJSON *l = get(J);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(l, "items"));
    cJSON_Delete(l);
    return n;
}

static void job_condition(const char *name, const char *type)
{
    char p[256], b[512];
    snprintf(p, sizeof p, J "/%s/status", name);
    snprintf(b, sizeof b,
             "{\"status\":{\"conditions\":[{\"type\":\"%s\",\"status\":\"True\",\"reason\":\"R\","
             "\"message\":\"%s\",\"lastTransitionTime\":\"2030-01-01T00:00:05Z\"}]}}",
             type, strcmp(type, "Failed") == 0 ? "Job has reached the specified backoff limit" : "done");
    mpatch(p, b);
}

START_TEST(retrain_job_names)
{
    char b[64];
    ck_assert_int_eq(kube_retrain_job_name("housing", "1f2e3d4c-aaaa-bbbb", 3, b, sizeof b), 0);
    ck_assert_str_eq(b, "housing-retrain-1f2e3d4c-3");
    /* a long name is cut to 63 characters, never ending in '-' */
    const char *longname = "a-very-long-pipeline-name-that-goes-on-and-on-and-on-x-y-z-1234567890";
    ck_assert_int_eq(kube_retrain_job_name(longname, "ABCDEF12-3456", 12, b, sizeof b), 0);
    ck_assert_uint_le(strlen(b), 63);
    ck_assert_ptr_nonnull(strstr(b, "-retrain-abcdef12-12"));
    ck_assert(strstr(b, "--") == NULL);
    /* deterministic: the same inputs give the same name, another attempt another one */
    char c[64];
    ck_assert_int_eq(kube_retrain_job_name(longname, "ABCDEF12-3456", 12, c, sizeof c), 0);
    ck_assert_str_eq(b, c);
    ck_assert_int_eq(kube_retrain_job_name(longname, "ABCDEF12-3456", 13, c, sizeof c), 0);
    ck_assert_str_ne(b, c);
    ck_assert_int_eq(kube_retrain_job_name("p", "", 1, b, sizeof b), SH_EINVAL);
    ck_assert_int_eq(kube_retrain_job_name("p", "u", 0, b, sizeof b), SH_EINVAL);
}
END_TEST

START_TEST(retrain_creates_then_adopts_one_job)
{
    start_emulator();
    struct kube_actuators_ctx ctx = {.client = client};
    struct retrain_actuators ra;
    kube_retrain_actuators_init(&ra, &ctx);
    struct pipeline *p = make_pipeline(RETRAIN_SPEC);
    ck_assert_ptr_null(ra.missing(&ra, &p->spec.drift));
    struct retrain_request req = {.p = p, .attempt = 4, .drift_score = 0.857, .now_ms = 1000};
    struct retrain_run *run = NULL;
    struct retrain_started info;
    char *err = NULL;
    ck_assert_int_eq(ra.start(&ra, &req, &run, &info, &err), 0);
    ck_assert_str_eq(info.name, "p-retrain-u1-4");
    ck_assert(!info.adopted);
    ck_assert_ptr_nonnull(strstr(info.log, "kubectl logs -n default job/p-retrain-u1-4"));
    cJSON *job = get(J "/p-retrain-u1-4");
    const cJSON *meta = cJSON_GetObjectItem(job, "metadata");
    const cJSON *owner = cJSON_GetArrayItem(cJSON_GetObjectItem(meta, "ownerReferences"), 0);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(owner, "uid")), "u-1");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(owner, "kind")), "SelfHealingPipeline");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(owner, "controller")));
    const cJSON *labels = cJSON_GetObjectItem(meta, "labels");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(labels, "selfheal.dev/pipeline")), "p");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(labels, "team")), "ml");
    const cJSON *containers = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(job, "spec"), "template"), "spec"),
        "containers");
    ck_assert_int_eq(cJSON_GetArraySize(containers), 2);
    const cJSON *c;
    cJSON_ArrayForEach(c, containers) {
        ck_assert_str_eq(env_of(c, "SELFHEAL_DRIFT_SCORE"), "0.857");
        ck_assert_str_eq(env_of(c, "SELFHEAL_PIPELINE"), "default/p");
    }
    cJSON_Delete(job);
    /* a restarted controller that never recorded the Job asks for the same attempt: adopted */
    struct retrain_run *again = NULL;
    ck_assert_int_eq(ra.start(&ra, &req, &again, &info, &err), 0);
    ck_assert(info.adopted);
    ck_assert_str_eq(info.name, "p-retrain-u1-4");
    ck_assert_int_eq(count_jobs(), 1);
    ra.release(&ra, again);
    /* adoption by name from status */
    ck_assert_int_eq(ra.adopt(&ra, &req, "p-retrain-u1-4", 1000, &again, &info, &err), 0);
    ck_assert(info.adopted);
    ck_assert_int_gt(info.poll_ms, 0);
    ra.release(&ra, again);
    ck_assert_int_eq(ra.adopt(&ra, &req, "p-retrain-u1-99", 1000, &again, &info, &err), SH_ENOTFOUND);
    free(err);
    err = NULL;
    /* nothing named: a Job never recorded is found by start, not here */
    ck_assert_int_eq(ra.adopt(&ra, &req, NULL, 0, &again, &info, &err), SH_ENOTFOUND);
    free(err);
    err = NULL;
    /* a Job of that name owned by someone else is never taken over */
    post(J, "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"p-retrain-u1-5\"},"
            "\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":"
            "\"x\",\"image\":\"x\"}]}}}}");
    req.attempt = 5;
    ck_assert_int_eq(ra.start(&ra, &req, &again, &info, &err), SH_EEXISTS);
    ck_assert_ptr_nonnull(strstr(err, "not owned by this pipeline"));
    free(err);
    ra.release(&ra, run);
    pipeline_unref(p);
    stop_emulator();
}
END_TEST

START_TEST(retrain_follows_conditions_and_deletes_on_timeout)
{
    start_emulator();
    struct kube_actuators_ctx ctx = {.client = client};
    struct retrain_actuators ra;
    kube_retrain_actuators_init(&ra, &ctx);
    struct pipeline *p = make_pipeline(RETRAIN_SPEC);
    struct retrain_started info;
    struct retrain_job_result res;
    char *err = NULL;
    struct retrain_run *run[3] = {NULL, NULL, NULL};
    struct fake_clock fc; /* the timeout runs on its monotonic face */
    fake_clock_init(&fc, 1000);
    for (int i = 0; i < 3; i++) {
        struct retrain_request req = {.p = p, .attempt = i + 1, .drift_score = 0.9, .now_ms = 1000,
                                      .clock = &fc.base};
        ck_assert_int_eq(ra.start(&ra, &req, &run[i], &info, &err), 0);
        ck_assert_int_eq(ra.poll(&ra, p, run[i], 2000, &res, &err), 0);
        ck_assert_int_eq(res.state, RETRAIN_JOB_RUNNING);
    }
    /* Failed → failed, with the Job's message */
    job_condition("p-retrain-u1-1", "Failed");
    ck_assert_int_eq(ra.poll(&ra, p, run[0], 3000, &res, &err), 0);
    ck_assert_int_eq(res.state, RETRAIN_JOB_FAILED);
    ck_assert_ptr_nonnull(strstr(res.message, "backoff limit"));
    /* Complete → succeeded */
    job_condition("p-retrain-u1-2", "Complete");
    ck_assert_int_eq(ra.poll(&ra, p, run[1], 3000, &res, &err), 0);
    ck_assert_int_eq(res.state, RETRAIN_JOB_SUCCEEDED);
    /* the third one is still running one minute later (timeout 1m): deleted, timed out */
    fake_clock_set(&fc, 1000 + 59999);
    ck_assert_int_eq(ra.poll(&ra, p, run[2], 1000 + 59999, &res, &err), 0);
    ck_assert_int_eq(res.state, RETRAIN_JOB_RUNNING);
    /* a wall-clock step of an hour forward is no hour of running */
    fake_clock_step_wall(&fc, 3600 * 1000);
    ck_assert_int_eq(ra.poll(&ra, p, run[2], 1000 + 59999 + 3600 * 1000, &res, &err), 0);
    ck_assert_int_eq(res.state, RETRAIN_JOB_RUNNING);
    fake_clock_advance(&fc, 1);
    ck_assert_int_eq(ra.poll(&ra, p, run[2], 1000 + 60000, &res, &err), 0);
    ck_assert_int_eq(res.state, RETRAIN_JOB_TIMED_OUT);
    ck_assert_ptr_nonnull(strstr(res.message, "deleted"));
    ck_assert(res.log_gone); /* `kubectl logs job/p-retrain-u1-3` leads nowhere now */
    cJSON *o = NULL;
    ck_assert_int_eq(kube_get(client, J "/p-retrain-u1-3", &o, &err), SH_ENOTFOUND);
    free(err);
    err = NULL;
    /* a Job deleted by someone else: failed, not running for ever */
    ck_assert_int_eq(ra.poll(&ra, p, run[2], 1000 + 61000, &res, &err), 0);
    ck_assert_int_eq(res.state, RETRAIN_JOB_FAILED);
    ck_assert(res.log_gone);
    for (int i = 0; i < 3; i++)
        ra.release(&ra, run[i]);
    pipeline_unref(p);
    stop_emulator();
}
END_TEST

Suite *kube_actuators_suite(void)
{
    Suite *s = suite_create("kube_actuators");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, restart_patches_annotation_from_clock);
    tcase_add_test(tc, delete_pods_by_selector_only);
    tcase_add_test(tc, observe_and_activate_annotation);
    tcase_add_test(tc, observe_env_version);
    tcase_add_test(tc, observe_current_before_its_replicaset);
    tcase_add_test(tc, retrain_job_names);
    tcase_add_test(tc, retrain_creates_then_adopts_one_job);
    tcase_add_test(tc, retrain_follows_conditions_and_deletes_on_timeout);
    suite_add_tcase(s, tc);
    return s;
}
