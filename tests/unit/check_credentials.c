/*
 * check_credentials.c — credentials by reference (runtime/credentials.h,
 * base/httpcred.h, kube/secrets.h): the spec's `auth`/`tls` decoded with
 * field paths, values resolved from env, file and a Secret, and sent by a
 * metric source and by the prober to a real HTTP server on loopback that
 * answers 401 unless the Authorization header is the expected one. No
 * message ever quotes a value.
 */
#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/errors.h"
#include "base/httpcred.h"
#include "base/pathguard.h"
#include "base/yamljson.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/secrets.h"
#include "model/metric_source.h"
#include "runtime/credentials.h"
#include "runtime/spec.h"
#include "service/probe.h"
#include "kube_test.h"

Suite *credentials_suite(void);

#define TOKEN "tok-3c9d1f-SECRET"
#define PASSWORD "pw-7a1b-SECRET"
/* base64("ml-reader:" PASSWORD) */
#define BASIC "Basic bWwtcmVhZGVyOnB3LTdhMWItU0VDUkVU"

/* ---- the server: 401 unless Authorization is want ---- */

struct authsrv {
    pthread_mutex_t mu;
    char want[256];
    char last[256]; /* the last Authorization header seen, "" none */
    int secret_gets;
};

static bool auth_handler(void *ctx, struct kt_server *s, const struct kt_request *rq, int fd)
{
    (void)s;
    struct authsrv *a = ctx;
    char got[256] = "";
    const char *h = strcasestr(rq->headers, "\r\nAuthorization: ");
    if (h) {
        h += 17;
        snprintf(got, sizeof got, "%.*s", (int)strcspn(h, "\r"), h);
    }
    pthread_mutex_lock(&a->mu);
    snprintf(a->last, sizeof a->last, "%s", got);
    bool ok = strcmp(got, a->want) == 0;
    if (strncmp(rq->target, "/api/v1/namespaces/", 19) == 0)
        a->secret_gets++;
    pthread_mutex_unlock(&a->mu);
    const char *body;
    if (strcmp(rq->target, "/api/v1/namespaces/ml/secrets/prom") == 0) {
        /* base64(TOKEN "\n"), base64(PASSWORD) */
        body = "{\"kind\":\"Secret\",\"data\":{\"token\":\"dG9rLTNjOWQxZi1TRUNSRVQK\","
               "\"password\":\"cHctN2ExYi1TRUNSRVQ=\",\"bad\":\"!!\"}}";
        kt_reply(fd, 200, NULL, body, strlen(body));
        return true;
    }
    if (strncmp(rq->target, "/api/v1/namespaces/", 19) == 0) {
        body = "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404,\"message\":\"not found\"}";
        kt_reply(fd, 404, NULL, body, strlen(body));
        return true;
    }
    if (!ok) {
        body = "{\"error\":\"unauthorized\"}";
        kt_reply(fd, 401, NULL, body, strlen(body));
        return true;
    }
    if (strncmp(rq->target, "/api/v1/query", 13) == 0)
        body = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
               "[{\"metric\":{},\"value\":[1,\"0.82\"]}]}}";
    else
        body = "{\"model\":{\"accuracy\":0.875}}";
    kt_reply(fd, 200, NULL, body, strlen(body));
    return true;
}

static struct authsrv as;
static struct kt_server *srv;
static char tmpdir[] = "/tmp/sh-cred-XXXXXX";

static void setup(void)
{
    pthread_mutex_init(&as.mu, NULL);
    as.want[0] = as.last[0] = '\0';
    as.secret_gets = 0;
    srv = kt_server_start(auth_handler, &as);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sh-cred-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    setenv("SH_TEST_TOKEN", TOKEN, 1);
    setenv("SH_TEST_PASSWORD", PASSWORD, 1);
    unsetenv("SH_TEST_UNSET");
}

static void teardown(void)
{
    kt_server_stop(srv);
    const char *names[] = {"t", "crlf", "tok", "pw"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

static void want_auth(const char *v)
{
    pthread_mutex_lock(&as.mu);
    snprintf(as.want, sizeof as.want, "%s", v);
    pthread_mutex_unlock(&as.mu);
}

static void last_auth(char *buf, size_t size)
{
    pthread_mutex_lock(&as.mu);
    snprintf(buf, size, "%s", as.last);
    pthread_mutex_unlock(&as.mu);
}

static const char *write_file(const char *name, const char *content)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
    return path;
}

static void assert_no_secret(const char *msg)
{
    ck_assert_msg(!strstr(msg, TOKEN) && !strstr(msg, PASSWORD) && !strstr(msg, "SECRET"),
                  "a secret value in: %s", msg);
}

/* ---- spec ---- */

static int decode_yaml(const char *spec_yaml, struct spec *s, struct spec_errors *errs)
{
    char doc[4096];
    snprintf(doc, sizeof doc,
             "apiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\n"
             "metadata: {name: p}\nspec:\n%s",
             spec_yaml);
    cJSON *docs = NULL;
    char *err = NULL;
    ck_assert_msg(yaml_parse_documents(doc, strlen(doc), "t.yaml", &docs, &err) == 0, "%s",
                  err ? err : "");
    int r = spec_decode_object(cJSON_GetArrayItem(docs, 0), s, errs);
    cJSON_Delete(docs);
    return r;
}

START_TEST(test_spec_decodes_auth_and_tls_of_sources_and_health_checks)
{
    struct spec s;
    struct spec_errors errs = {0};
    int r = decode_yaml(
        "  service:\n"
        "    healthCheck:\n"
        "      url: https://svc/health\n"
        "      auth: {basic: {username: ml-reader, password: {file: /run/pw}}}\n"
        "      tls: {caFile: /etc/ca.pem}\n"
        "    recovery: {method: command, command: [\"true\"]}\n"
        "  model:\n"
        "    metric:\n"
        "      source:\n"
        "        prometheus:\n"
        "          url: http://prom:9090\n"
        "          query: up\n"
        "          auth: {bearerToken: {secretKeyRef: {name: prom, key: token}}}\n"
        "          tls: {caSecretKeyRef: {name: prom-ca, key: ca.crt}, insecureSkipVerify: true}\n"
        "  drift:\n"
        "    score:\n"
        "      source:\n"
        "        http: {url: http://d/score, auth: {bearerToken: {env: DRIFT_TOKEN}}}\n",
        &s, &errs);
    char *all = spec_errors_join(&errs, "\n");
    ck_assert_msg(r == 0, "%s", all);
    free(all);
    const struct spec_http_auth *h = &s.service.health_check.auth;
    ck_assert_str_eq(h->basic_username, "ml-reader");
    ck_assert_int_eq(h->basic_password.kind, SECRET_REF_FILE);
    ck_assert_str_eq(h->basic_password.name, "/run/pw");
    ck_assert_str_eq(h->ca_file, "/etc/ca.pem");
    const struct spec_http_auth *m = &s.model.metric.source.auth;
    ck_assert_int_eq(m->bearer_token.kind, SECRET_REF_SECRET);
    ck_assert_str_eq(m->bearer_token.name, "prom");
    ck_assert_str_eq(m->bearer_token.key, "token");
    ck_assert_str_eq(m->ca_secret.key, "ca.crt");
    ck_assert(m->insecure_skip_verify);
    ck_assert_int_eq(s.drift.score_source.auth.bearer_token.kind, SECRET_REF_ENV);
    ck_assert_str_eq(s.drift.score_source.auth.bearer_token.name, "DRIFT_TOKEN");
    spec_free(&s);
    spec_errors_free(&errs);

    /* the list form: each metric's source takes them too */
    struct spec_errors e2 = {0};
    r = decode_yaml("  model:\n"
                    "    metrics:\n"
                    "    - name: rmse\n"
                    "      max: 40000\n"
                    "      source:\n"
                    "        prometheus:\n"
                    "          url: https://prom:9090\n"
                    "          query: rmse\n"
                    "          auth: {basic: {username: u, password: {secretKeyRef: {name: p, key: k}}}}\n"
                    "          tls: {insecureSkipVerify: true}\n",
                    &s, &e2);
    all = spec_errors_join(&e2, "\n");
    ck_assert_msg(r == 0, "%s", all);
    free(all);
    ck_assert_uint_eq(s.model.nmetrics, 1);
    ck_assert_str_eq(s.model.metrics[0].source.auth.basic_username, "u");
    ck_assert_int_eq(s.model.metrics[0].source.auth.basic_password.kind, SECRET_REF_SECRET);
    ck_assert(s.model.metrics[0].source.auth.insecure_skip_verify);
    spec_free(&s);
    spec_errors_free(&e2);
}
END_TEST

START_TEST(test_spec_auth_errors_name_the_field)
{
    struct spec s;
    struct spec_errors errs = {0};
    int r = decode_yaml("  model:\n"
                        "    metric:\n"
                        "      source:\n"
                        "        http:\n"
                        "          url: http://m/x\n"
                        "          auth:\n"
                        "            bearerToken: " TOKEN "\n"
                        "            basic: {username: u}\n"
                        "  service:\n"
                        "    healthCheck:\n"
                        "      url: http://s/h\n"
                        "      auth: {bearerToken: {env: A, file: /b}}\n"
                        "      tls: {caFile: /a, caSecretKeyRef: {name: x, key: y}, insecure: true}\n"
                        "    recovery: {method: command, command: [\"true\"]}\n",
                        &s, &errs);
    ck_assert_int_eq(r, SH_EINVAL);
    char *all = spec_errors_join(&errs, "\n");
    ck_assert_ptr_nonnull(strstr(all, "spec.model.metric.source.http.auth: exactly one of "
                                      "bearerToken or basic may be set, got both"));
    ck_assert_ptr_nonnull(strstr(all, "spec.service.healthCheck.auth.bearerToken: exactly one of "
                                      "env, file or secretKeyRef is required, got 2"));
    ck_assert_ptr_nonnull(strstr(all, "spec.service.healthCheck.tls: exactly one of caFile or "
                                      "caSecretKeyRef may be set, got both"));
    ck_assert_ptr_nonnull(strstr(all, "spec.service.healthCheck.tls.insecure: unknown field"));
    assert_no_secret(all);
    free(all);
    spec_free(&s);
    spec_errors_free(&errs);

    struct spec_errors e2 = {0};
    r = decode_yaml("  model:\n"
                    "    metric:\n"
                    "      source:\n"
                    "        http:\n"
                    "          url: http://m/x\n"
                    "          auth: {bearerToken: \"" TOKEN "\"}\n",
                    &s, &e2);
    ck_assert_int_eq(r, SH_EINVAL);
    all = spec_errors_join(&e2, "\n");
    ck_assert_ptr_nonnull(strstr(all, "spec.model.metric.source.http.auth.bearerToken: must be a "
                                      "reference"));
    assert_no_secret(all);
    free(all);
    spec_free(&s);
    spec_errors_free(&e2);
}
END_TEST

START_TEST(test_credential_files_must_be_inside_the_allowed_paths)
{
    struct spec s;
    struct spec_errors errs = {0};
    ck_assert_int_eq(decode_yaml("  service:\n"
                                 "    healthCheck:\n"
                                 "      url: https://svc/health\n"
                                 "      auth: {bearerToken: {file: /var/run/secrets/kubernetes.io/serviceaccount/token}}\n"
                                 "      tls: {caFile: /tmp/ca.pem}\n"
                                 "    recovery: {method: command, command: [\"true\"]}\n"
                                 "  model:\n"
                                 "    metric:\n"
                                 "      source:\n"
                                 "        http:\n"
                                 "          url: http://m/x\n"
                                 "          auth: {basic: {username: u, password: {file: /etc/shadow}}}\n",
                                 &s, &errs),
                     0);
    struct pathguard *g = NULL;
    ck_assert_int_eq(pathguard_new(&g), 0);
    ck_assert_int_eq(pathguard_add_root(g, "/tmp", NULL), 0);
    ck_assert_int_eq(spec_check_paths(&s, g, &errs), SH_EINVAL);
    ck_assert_uint_eq(errs.count, 2);
    ck_assert_str_eq(errs.items[0].path, "spec.service.healthCheck.auth.bearerToken.file");
    ck_assert_str_eq(errs.items[1].path, "spec.model.metric.source.http.auth.basic.password.file");
    pathguard_free(g);
    spec_free(&s);
    spec_errors_free(&errs);
}
END_TEST

/* ---- resolving ---- */

static int fake_read(void *ctx, const char *ns, const char *name, const char *key, char **ret,
                     size_t *ret_len, char *err, size_t errsize)
{
    (void)ctx;
    if (strcmp(ns, "ml") || strcmp(name, "prom") || strcmp(key, "token")) {
        snprintf(err, errsize, "Secret %s/%s has no key \"%s\"", ns, name, key);
        return SH_ENOTFOUND;
    }
    *ret = strdup(TOKEN "\n");
    *ret_len = strlen(*ret);
    return 0;
}

START_TEST(test_resolve_env_file_and_secret_and_never_quote_values)
{
    struct spec_http_auth a = {.bearer_token = {SECRET_REF_ENV, "SH_TEST_TOKEN", NULL}};
    struct http_credentials c;
    char err[300];
    ck_assert_int_eq(credentials_resolve(&a, "ml", NULL, "spec.x", &c, err, sizeof err), 0);
    ck_assert_str_eq(c.bearer, TOKEN);
    http_credentials_free(&c);

    a.bearer_token.name = "SH_TEST_UNSET";
    ck_assert_int_eq(credentials_resolve(&a, "ml", NULL, "spec.x", &c, err, sizeof err),
                     SH_ENOTFOUND);
    ck_assert_str_eq(err, "spec.x.auth.bearerToken: environment variable SH_TEST_UNSET is not set");
    ck_assert_ptr_null(c.bearer);

    a.bearer_token = (struct spec_secret_ref){SECRET_REF_FILE, (char *)write_file("t", TOKEN "\n"), NULL};
    ck_assert_int_eq(credentials_resolve(&a, "ml", NULL, "spec.x", &c, err, sizeof err), 0);
    ck_assert_str_eq(c.bearer, TOKEN); /* the newline trimmed */
    http_credentials_free(&c);

    a.bearer_token.name = (char *)write_file("crlf", "a\r\nX-Evil: 1\n");
    ck_assert_int_eq(credentials_resolve(&a, "ml", NULL, "spec.x", &c, err, sizeof err), SH_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "control character"));
    ck_assert_ptr_null(strstr(err, "Evil"));

    a.bearer_token = (struct spec_secret_ref){SECRET_REF_SECRET, "prom", "token"};
    ck_assert_int_eq(credentials_resolve(&a, "ml", NULL, "spec.x", &c, err, sizeof err), SH_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "needs a cluster"));
    struct secret_reader sr = {.read = fake_read, .secrets_only = true};
    ck_assert_int_eq(credentials_resolve(&a, "ml", &sr, "spec.x", &c, err, sizeof err), 0);
    ck_assert_str_eq(c.bearer, TOKEN);
    http_credentials_free(&c);
    a.bearer_token.key = "other";
    ck_assert_int_eq(credentials_resolve(&a, "ml", &sr, "spec.x", &c, err, sizeof err),
                     SH_ENOTFOUND);
    ck_assert_str_eq(err, "spec.x.auth.bearerToken: Secret ml/prom has no key \"other\"");

    /* on a cluster, env and file are refused: no reading the controller's own secrets */
    a.bearer_token = (struct spec_secret_ref){SECRET_REF_ENV, "SH_TEST_TOKEN", NULL};
    ck_assert_int_eq(credentials_resolve(&a, "ml", &sr, "spec.x", &c, err, sizeof err),
                     SH_EFORBIDDEN);
    ck_assert_ptr_nonnull(strstr(err, "use secretKeyRef"));
    assert_no_secret(err);
}
END_TEST

/* ---- a metric source sends them ---- */

START_TEST(test_metric_sources_send_a_bearer_token_and_basic_auth)
{
    char prefix[128], got[256], err[512];
    snprintf(prefix, sizeof prefix, "%s", srv->url);
    double v = 0;

    /* prometheus, bearer token from env */
    want_auth("Bearer " TOKEN);
    struct spec_metric_source p = {.kind = METRIC_SOURCE_PROMETHEUS, .url = prefix,
                                   .query = "up",
                                   .auth.bearer_token = {SECRET_REF_ENV, "SH_TEST_TOKEN", NULL}};
    ck_assert_msg(metric_source_read(&p, 5000, &v, err, sizeof err) == 0, "%s", err);
    ck_assert_double_eq(v, 0.82);
    last_auth(got, sizeof got);
    ck_assert_str_eq(got, "Bearer " TOKEN);

    /* http, bearer token from a file */
    char url[160];
    snprintf(url, sizeof url, "%s/metrics.json", srv->url);
    struct spec_metric_source h = {
        .kind = METRIC_SOURCE_HTTP, .url = url, .json_pointer = "/model/accuracy",
        .auth.bearer_token = {SECRET_REF_FILE, (char *)write_file("tok", TOKEN "\n"), NULL}};
    ck_assert_msg(metric_source_read(&h, 5000, &v, err, sizeof err) == 0, "%s", err);
    ck_assert_double_eq(v, 0.875);

    /* basic auth: the password from env, then from a file */
    want_auth(BASIC);
    h.auth = (struct spec_http_auth){.basic_username = "ml-reader",
                                     .basic_password = {SECRET_REF_ENV, "SH_TEST_PASSWORD", NULL}};
    ck_assert_msg(metric_source_read(&h, 5000, &v, err, sizeof err) == 0, "%s", err);
    last_auth(got, sizeof got);
    ck_assert_str_eq(got, BASIC);
    h.auth.basic_password =
        (struct spec_secret_ref){SECRET_REF_FILE, (char *)write_file("pw", PASSWORD), NULL};
    ck_assert_msg(metric_source_read(&h, 5000, &v, err, sizeof err) == 0, "%s", err);

    /* a wrong credential: the server's 401, and no value in the message */
    want_auth("Bearer something-else");
    ck_assert_int_eq(metric_source_read(&h, 5000, &v, err, sizeof err), SH_EPROTO);
    ck_assert_ptr_nonnull(strstr(err, "HTTP 401"));
    assert_no_secret(err);
    ck_assert_int_eq(metric_source_read(&p, 5000, &v, err, sizeof err), SH_EPROTO);
    assert_no_secret(err);

    /* an unresolvable reference: no request at all */
    want_auth("");
    h.auth.basic_password = (struct spec_secret_ref){SECRET_REF_ENV, "SH_TEST_UNSET", NULL};
    struct metric_source_env env = {.ns = "ml", .field = "spec.model.metric.source"};
    ck_assert_int_eq(metric_source_read_in(&h, &env, 5000, &v, err, sizeof err), SH_ENOTFOUND);
    ck_assert_str_eq(err, "spec.model.metric.source.auth.basic.password: environment variable "
                          "SH_TEST_UNSET is not set");
}
END_TEST

/* ---- the prober sends them ---- */

static void probe_once(struct prober *pr, const char *key, uint64_t n, struct probe_observation *o)
{
    ck_assert_int_eq(prober_probe_now(pr, key), 0);
    ck_assert_int_eq(prober_wait(pr, key, n, 10000), 0);
    ck_assert_int_eq(prober_get(pr, key, o), 0);
}

START_TEST(test_probes_send_a_bearer_token_and_basic_auth)
{
    struct prober *pr = NULL;
    ck_assert_int_eq(prober_new(NULL, NULL, NULL, NULL, &pr), 0);
    char url[160], got[256];
    snprintf(url, sizeof url, "%s/health", srv->url);
    struct http_credentials c = {.bearer = TOKEN};
    want_auth("Bearer " TOKEN);
    ck_assert_int_eq(prober_set_target_auth(pr, "ml/p", url, &c, 3600000, 5000), 0);
    struct probe_observation o;
    ck_assert_int_eq(prober_wait(pr, "ml/p", 1, 10000), 0);
    ck_assert_int_eq(prober_get(pr, "ml/p", &o), 0);
    ck_assert_msg(o.last_ok, "%s", o.last_error);
    last_auth(got, sizeof got);
    ck_assert_str_eq(got, "Bearer " TOKEN);

    /* the same credentials keep the schedule; the server now wants basic */
    ck_assert_int_eq(prober_set_target_auth(pr, "ml/p", url, &c, 3600000, 5000), 0);
    want_auth(BASIC);
    probe_once(pr, "ml/p", 2, &o);
    ck_assert(!o.last_ok);
    ck_assert_int_eq(o.last_http_status, 401);
    assert_no_secret(o.last_error);

    /* new credentials start over, resolved from the spec as the reconciler does */
    struct spec_http_auth a = {.basic_username = "ml-reader",
                               .basic_password = {SECRET_REF_FILE,
                                                  (char *)write_file("pw", PASSWORD "\n"), NULL}};
    struct http_credentials b;
    char err[256];
    ck_assert_int_eq(credentials_resolve(&a, "ml", NULL, "spec.service.healthCheck", &b, err,
                                         sizeof err),
                     0);
    ck_assert_int_eq(prober_set_target_auth(pr, "ml/p", url, &b, 3600000, 5000), 0);
    http_credentials_free(&b);
    ck_assert_int_eq(prober_wait(pr, "ml/p", 1, 10000), 0);
    ck_assert_int_eq(prober_get(pr, "ml/p", &o), 0);
    ck_assert_msg(o.last_ok, "%s", o.last_error);
    last_auth(got, sizeof got);
    ck_assert_str_eq(got, BASIC);
    prober_free(pr);
}
END_TEST

/* ---- Secrets through the API ---- */

START_TEST(test_kube_secrets_reads_caches_and_reports_without_values)
{
    struct kube_config cfg = {.server = srv->url, .token = "controller-token"};
    struct kube_client *kc = NULL;
    ck_assert_int_eq(kube_client_new(&cfg, NULL, &kc, NULL), 0);
    struct fake_clock fc;
    fake_clock_init(&fc, 1000000);
    struct kube_secrets *ks = kube_secrets_new(kc, &fc.base, 30000);
    ck_assert_ptr_nonnull(ks);
    const struct secret_reader *sr = kube_secrets_reader(ks);
    ck_assert(sr->secrets_only);
    char *v = NULL, err[256];
    size_t len = 0;
    ck_assert_int_eq(kube_secrets_get(ks, "ml", "prom", "token", &v, &len, err, sizeof err), 0);
    ck_assert_str_eq(v, TOKEN "\n");
    free(v);
    ck_assert_int_eq(kube_secrets_get(ks, "ml", "prom", "password", &v, &len, err, sizeof err), 0);
    ck_assert_str_eq(v, PASSWORD);
    free(v);
    ck_assert_uint_eq(kube_secrets_calls(ks), 1); /* one read serves both keys */
    ck_assert_int_eq(kube_secrets_get(ks, "ml", "prom", "nokey", &v, &len, err, sizeof err),
                     SH_ENOTFOUND);
    ck_assert_str_eq(err, "Secret ml/prom has no key \"nokey\"");
    ck_assert_int_eq(kube_secrets_get(ks, "ml", "prom", "bad", &v, &len, err, sizeof err),
                     SH_EPARSE);
    ck_assert_int_eq(kube_secrets_get(ks, "ml", "gone", "token", &v, &len, err, sizeof err),
                     SH_ENOTFOUND);
    ck_assert_str_eq(err, "Secret ml/gone not found");
    ck_assert_uint_eq(kube_secrets_calls(ks), 2);
    fake_clock_advance(&fc, 30001); /* expired: read again (a rotated value is seen) */
    ck_assert_int_eq(kube_secrets_get(ks, "ml", "prom", "token", &v, &len, err, sizeof err), 0);
    free(v);
    ck_assert_uint_eq(kube_secrets_calls(ks), 3);

    /* through the resolver, as a reconciler uses it */
    struct spec_http_auth a = {.bearer_token = {SECRET_REF_SECRET, "prom", "token"}};
    struct http_credentials c;
    ck_assert_int_eq(credentials_resolve(&a, "ml", sr, "spec.x", &c, err, sizeof err), 0);
    ck_assert_str_eq(c.bearer, TOKEN);
    http_credentials_free(&c);
    kube_secrets_free(ks);
    kube_client_free(kc);
}
END_TEST

Suite *credentials_suite(void)
{
    Suite *s = suite_create("credentials");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_spec_decodes_auth_and_tls_of_sources_and_health_checks);
    tcase_add_test(tc, test_spec_auth_errors_name_the_field);
    tcase_add_test(tc, test_credential_files_must_be_inside_the_allowed_paths);
    tcase_add_test(tc, test_resolve_env_file_and_secret_and_never_quote_values);
    tcase_add_test(tc, test_metric_sources_send_a_bearer_token_and_basic_auth);
    tcase_add_test(tc, test_probes_send_a_bearer_token_and_basic_auth);
    tcase_add_test(tc, test_kube_secrets_reads_caches_and_reports_without_values);
    suite_add_tcase(s, tc);
    return s;
}
