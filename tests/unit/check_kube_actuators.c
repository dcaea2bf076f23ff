/*
 * check_kube_actuators.c — the kube platform's service and model actuators
 * (controller/kube/kube_actuators.h) against the real API emulator
 * (tests/kube/emulator.py, started as a process with --pods): restart
 * annotation from the injected clock, pod deletion by selector, the
 * ReplicaSet revision history as model versions, rollback by template copy.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errors.h"
#include "kube/kube_actuators.h"
#include "pipeline.h"

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
                        port, "--kubeconfig-out", kc, "--pods", "--token", "t", NULL};
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
    struct pipeline *p = make_pipeline(
        "{\"service\":{\"healthCheck\":{\"url\":\"http://127.0.0.1:1/\"},\"recovery\":{\"method\":"
        "\"restart\",\"deployment\":\"api\"}}}");
    char *err = NULL;
    ck_assert_int_eq(sa.restart_workload(&sa, p, &p->spec.service, &err), 0);
    cJSON *dep = get(D "/api");
    ck_assert_str_eq(tmpl_str(dep, KUBE_RESTARTED_AT_ANNOTATION), "2023-11-14T22:13:20Z");
    ck_assert_str_eq(tmpl_str(dep, "selfheal.dev/model-version"), "v1");
    cJSON_Delete(dep);
    pipeline_unref(p);
    /* a missing deployment is an API error, not a crash */
    p = make_pipeline("{\"service\":{\"healthCheck\":{\"url\":\"http://127.0.0.1:1/\"},\"recovery\":"
                      "{\"method\":\"restart\",\"deployment\":\"nope\"}}}");
    ck_assert_int_eq(sa.restart_workload(&sa, p, &p->spec.service, &err), SH_ENOTFOUND);
    free(err);
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
    ck_assert_int_eq(ma.activate(&ma, p, "v2", &err), 0);
    cJSON *dep = get(D "/web");
    ck_assert_str_eq(tmpl_str(dep, "selfheal.dev/model-version"), "v2");
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
    model_registry_view_free(&v);

    ck_assert_int_eq(ma.activate(&ma, p, "v9", &err), SH_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "v9"));
    free(err);
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

Suite *kube_actuators_suite(void)
{
    Suite *s = suite_create("kube_actuators");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, restart_patches_annotation_from_clock);
    tcase_add_test(tc, delete_pods_by_selector_only);
    tcase_add_test(tc, observe_and_activate_annotation);
    tcase_add_test(tc, observe_env_version);
    suite_add_tcase(s, tc);
    return s;
}
