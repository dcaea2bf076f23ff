/*
 * check_kubeconfig.c — kubeconfig variants (token, tokenFile, client
 * certificate as data and as files, CA data and file, insecure, contexts
 * and namespaces), the lookup order ($KUBECONFIG, ~/.kube/config,
 * in-cluster) and the messages for every missing or broken piece.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "kube/base64.h"
#include "kube/kubeconfig.h"
#include "base/log.h"

Suite *kubeconfig_suite(void);

static char dir[256];

/* "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" */
#define PEM_CERT "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
#define PEM_CERT_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
#define PEM_KEY "-----BEGIN PRIVATE KEY-----\nMIIEkey\n-----END PRIVATE KEY-----\n"
#define PEM_KEY_B64 "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUVrZXkKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo="

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sh-kubeconfig-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}

static void rm_rf(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s", path);
    /* the test folders are flat except .kube and sa */
    static const char *const sub[] = {"/.kube/config", "/.kube", "/sa/token", "/sa/ca.crt",
                                      "/sa/namespace", "/sa", "/ca.crt", "/tls.crt", "/tls.key",
                                      "/token", "/config", "/other", NULL};
    for (int i = 0; sub[i]; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s%s", cmd, sub[i]);
        if (unlink(p) != 0)
            rmdir(p);
    }
    rmdir(path);
}

static void teardown(void)
{
    rm_rf(dir);
}

static void write_file(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static char *path_of(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* A kubeconfig with one cluster/user/context and the given cluster and user
 * bodies (YAML lines indented by 4). */
static void kubeconfig(const char *cluster, const char *user, const char *ctx_extra)
{
    char text[4096];
    snprintf(text, sizeof text,
             "apiVersion: v1\n"
             "kind: Config\n"
             "current-context: dev\n"
             "clusters:\n"
             "- name: c1\n"
             "  cluster:\n%s"
             "users:\n"
             "- name: u1\n"
             "  user:\n%s"
             "contexts:\n"
             "- name: dev\n"
             "  context:\n"
             "    cluster: c1\n"
             "    user: u1\n%s"
             "- name: other\n"
             "  context: {cluster: c1, user: u1, namespace: team-b}\n",
             cluster, user, ctx_extra ? ctx_extra : "");
    write_file("config", text);
}

static struct kube_config *load_ok(const char *context)
{
    struct kube_config *c = NULL;
    char *err = NULL;
    int r = kube_config_load_file(path_of("config"), context, &c, &err);
    ck_assert_msg(r == 0, "load: %s", err ? err : "?");
    ck_assert_ptr_null(err);
    return c;
}

static char *load_err(int want, const char *context)
{
    struct kube_config *c = NULL;
    char *err = NULL;
    int r = kube_config_load_file(path_of("config"), context, &c, &err);
    ck_assert_int_eq(r, want);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(err);
    return err;
}

START_TEST(test_token_user_with_current_context_and_its_namespace)
{
    kubeconfig("    server: https://10.0.0.1:6443/\n"
               "    certificate-authority-data: " PEM_CERT_B64 "\n",
               "    token: abc.def\n", "    namespace: team-a\n");
    struct kube_config *c = load_ok(NULL);
    ck_assert_str_eq(c->server, "https://10.0.0.1:6443");
    ck_assert_str_eq(c->token, "abc.def");
    ck_assert_ptr_null(c->token_file);
    ck_assert_str_eq(c->namespace_, "team-a");
    ck_assert_str_eq(c->context, "dev");
    ck_assert(!c->insecure);
    ck_assert_uint_eq(c->ca_len, strlen(PEM_CERT));
    ck_assert_mem_eq(c->ca, PEM_CERT, c->ca_len);
    ck_assert_ptr_null(c->client_cert);
    kube_config_free(c);
}
END_TEST

START_TEST(test_explicit_context_overrides_current_and_namespace_defaults)
{
    kubeconfig("    server: https://k:1\n", "    token: t\n", NULL);
    struct kube_config *c = load_ok("other");
    ck_assert_str_eq(c->context, "other");
    ck_assert_str_eq(c->namespace_, "team-b");
    kube_config_free(c);
    c = load_ok(NULL);
    ck_assert_str_eq(c->namespace_, "default");
    kube_config_free(c);
}
END_TEST

START_TEST(test_unknown_context_is_a_clear_error)
{
    kubeconfig("    server: https://k:1\n", "    token: t\n", NULL);
    char *err = load_err(SH_ENOTFOUND, "x");
    char want[600];
    snprintf(want, sizeof want, "kubeconfig %s: context \"x\" not found", path_of("config"));
    ck_assert_str_eq(err, want);
    free(err);
}
END_TEST

START_TEST(test_user_without_credentials_is_a_clear_error)
{
    kubeconfig("    server: https://k:1\n", "    {}\n", NULL);
    char *err = load_err(SH_EINVAL, NULL);
    ck_assert_msg(strstr(err, ": user \"u1\" has no credentials (token, tokenFile, or "
                              "client-certificate and client-key)"),
                  "%s", err);
    free(err);
}
END_TEST

START_TEST(test_client_certificate_and_key_as_data)
{
    kubeconfig("    server: https://k:1\n    insecure-skip-tls-verify: true\n",
               "    client-certificate-data: " PEM_CERT_B64 "\n"
               "    client-key-data: " PEM_KEY_B64 "\n",
               NULL);
    struct kube_config *c = load_ok(NULL);
    ck_assert(c->insecure);
    ck_assert_ptr_null(c->ca);
    ck_assert_ptr_null(c->token);
    ck_assert_uint_eq(c->client_cert_len, strlen(PEM_CERT));
    ck_assert_mem_eq(c->client_cert, PEM_CERT, c->client_cert_len);
    ck_assert_uint_eq(c->client_key_len, strlen(PEM_KEY));
    ck_assert_mem_eq(c->client_key, PEM_KEY, c->client_key_len);
    kube_config_free(c);
}
END_TEST

START_TEST(test_client_certificate_key_and_ca_as_files_relative_to_the_kubeconfig)
{
    write_file("tls.crt", PEM_CERT);
    write_file("tls.key", PEM_KEY);
    write_file("ca.crt", PEM_CERT);
    kubeconfig("    server: https://k:1\n    certificate-authority: ca.crt\n",
               "    client-certificate: tls.crt\n"
               "    client-key: tls.key\n",
               NULL);
    /* load from another working directory: paths resolve against the file */
    char cwd[512];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir("/"), 0);
    struct kube_config *c = load_ok(NULL);
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_mem_eq(c->client_cert, PEM_CERT, strlen(PEM_CERT));
    ck_assert_mem_eq(c->client_key, PEM_KEY, strlen(PEM_KEY));
    ck_assert_mem_eq(c->ca, PEM_CERT, strlen(PEM_CERT));
    kube_config_free(c);
}
END_TEST

START_TEST(test_missing_ca_file_names_the_path)
{
    kubeconfig("    server: https://k:1\n    certificate-authority: /nonexistent/ca.crt\n",
               "    token: t\n", NULL);
    char *err = load_err(SH_EIO, NULL);
    ck_assert_msg(strstr(err, "cluster \"c1\": certificate-authority /nonexistent/ca.crt: No "
                              "such file or directory"),
                  "%s", err);
    free(err);
}
END_TEST

START_TEST(test_bad_base64_and_non_pem_data_are_refused)
{
    kubeconfig("    server: https://k:1\n    certificate-authority-data: '%%%notbase64'\n",
               "    token: t\n", NULL);
    char *err = load_err(SH_EPARSE, NULL);
    ck_assert_msg(strstr(err, "cluster \"c1\": certificate-authority-data: invalid base64"), "%s",
                  err);
    free(err);
    kubeconfig("    server: https://k:1\n", "    token: t\n    client-certificate-data: aGVsbG8=\n"
               "    client-key-data: " PEM_KEY_B64 "\n", NULL);
    err = load_err(SH_EPARSE, NULL);
    ck_assert_msg(strstr(err, "user \"u1\": client-certificate-data: not PEM data"), "%s", err);
    free(err);
}
END_TEST

START_TEST(test_certificate_without_key_is_refused)
{
    kubeconfig("    server: https://k:1\n", "    client-certificate-data: " PEM_CERT_B64 "\n",
               NULL);
    char *err = load_err(SH_EINVAL, NULL);
    ck_assert_msg(strstr(err, "user \"u1\" has a client certificate but no client key"), "%s",
                  err);
    free(err);
}
END_TEST

START_TEST(test_token_file_is_read_and_a_missing_one_is_an_error)
{
    write_file("token", "from-file\n");
    kubeconfig("    server: https://k:1\n", "    tokenFile: token\n", NULL);
    struct kube_config *c = load_ok(NULL);
    ck_assert_ptr_null(c->token);
    ck_assert_str_eq(c->token_file, path_of("token"));
    kube_config_free(c);
    kubeconfig("    server: https://k:1\n", "    tokenFile: /nonexistent/token\n", NULL);
    char *err = load_err(SH_EIO, NULL);
    ck_assert_msg(strstr(err, "tokenFile /nonexistent/token: No such file"), "%s", err);
    free(err);
}
END_TEST

START_TEST(test_missing_pieces_each_have_a_message)
{
    kubeconfig("    insecure-skip-tls-verify: true\n", "    token: t\n", NULL);
    char *err = load_err(SH_EINVAL, NULL);
    ck_assert_msg(strstr(err, "cluster \"c1\" has no server"), "%s", err);
    free(err);
    kubeconfig("    server: ftp://k\n", "    token: t\n", NULL);
    err = load_err(SH_EINVAL, NULL);
    ck_assert_msg(strstr(err, "server \"ftp://k\" is not an http(s) URL"), "%s", err);
    free(err);
    kubeconfig("    server: https://k:1\n", "    exec: {command: aws}\n", NULL);
    err = load_err(SH_EINVAL, NULL);
    ck_assert_msg(strstr(err, "exec credential plugin"), "%s", err);
    free(err);
    write_file("config", "apiVersion: v1\nclusters: []\ncontexts: []\nusers: []\n");
    err = load_err(SH_EINVAL, NULL);
    ck_assert_msg(strstr(err, "no current-context is set and no --context given"), "%s", err);
    free(err);
    write_file("config", "current-context: dev\ncontexts:\n- name: dev\n  context: {cluster: nope, user: u}\n");
    err = load_err(SH_ENOTFOUND, NULL);
    ck_assert_msg(strstr(err, "cluster \"nope\" not found"), "%s", err);
    free(err);
    write_file("config", "current-context: dev\nclusters: [{name: c, cluster: {server: 'https://k'}}]\n"
                         "contexts:\n- name: dev\n  context: {cluster: c, user: ghost}\n");
    err = load_err(SH_ENOTFOUND, NULL);
    ck_assert_msg(strstr(err, "user \"ghost\" not found"), "%s", err);
    free(err);
}
END_TEST

START_TEST(test_unreadable_and_broken_files)
{
    struct kube_config *c = NULL;
    char *err = NULL;
    ck_assert_int_eq(kube_config_load_file("/nonexistent/kubeconfig", NULL, &c, &err),
                     SH_ENOTFOUND);
    ck_assert_str_eq(err, "kubeconfig /nonexistent/kubeconfig: No such file or directory");
    free(err);
    write_file("config", "clusters: [unclosed\n");
    err = load_err(SH_EPARSE, NULL);
    ck_assert_msg(strstr(err, "config:2:"), "a position in %s", err);
    free(err);
}
END_TEST

START_TEST(test_lookup_order_kubeconfig_env_first_entry_then_home)
{
    kubeconfig("    server: https://from-env:1\n", "    token: t\n", NULL);
    char list[1024];
    snprintf(list, sizeof list, ":%s:/nonexistent/second", path_of("config"));
    setenv("KUBECONFIG", list, 1);
    struct kube_config_options o = {0};
    struct kube_config *c = NULL;
    char *err = NULL;
    ck_assert_int_eq(kube_config_load(&o, &c, &err), 0);
    ck_assert_str_eq(c->server, "https://from-env:1");
    kube_config_free(c);
    unsetenv("KUBECONFIG");

    /* no flag, no env: $HOME/.kube/config, shown as ~ in messages */
    char kdir[512];
    snprintf(kdir, sizeof kdir, "%s/.kube", dir);
    ck_assert_int_eq(mkdir(kdir, 0700), 0);
    const char *old_home = getenv("HOME");
    char *saved = old_home ? strdup(old_home) : NULL;
    setenv("HOME", dir, 1);
    ck_assert_int_eq(kube_config_load(&o, &c, &err), SH_ENOTFOUND);
    ck_assert_str_eq(err, "kubeconfig ~/.kube/config: No such file or directory");
    free(err);
    err = NULL;
    char p[600];
    snprintf(p, sizeof p, "%s/.kube/config", dir);
    ck_assert_int_eq(rename(path_of("config"), p), 0);
    o.context = "missing";
    ck_assert_int_eq(kube_config_load(&o, &c, &err), SH_ENOTFOUND);
    ck_assert_str_eq(err, "kubeconfig ~/.kube/config: context \"missing\" not found");
    free(err);
    o.context = NULL;
    ck_assert_int_eq(kube_config_load(&o, &c, &err), 0);
    ck_assert_str_eq(c->server, "https://from-env:1");
    kube_config_free(c);
    /* --kubeconfig wins over everything */
    kubeconfig("    server: https://from-flag:1\n", "    token: t\n", NULL);
    o.kubeconfig = path_of("config");
    ck_assert_int_eq(kube_config_load(&o, &c, &err), 0);
    ck_assert_str_eq(c->server, "https://from-flag:1");
    kube_config_free(c);
    if (saved)
        setenv("HOME", saved, 1);
    free(saved);
}
END_TEST

static void make_sa(const char *ns)
{
    char sa[512];
    snprintf(sa, sizeof sa, "%s/sa", dir);
    ck_assert_int_eq(mkdir(sa, 0700), 0);
    write_file("sa/token", "sa-token-1\n");
    write_file("sa/ca.crt", PEM_CERT);
    if (ns)
        write_file("sa/namespace", ns);
}

START_TEST(test_in_cluster_from_the_environment_and_the_service_account)
{
    make_sa("prod");
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    char sa[512];
    snprintf(sa, sizeof sa, "%s/sa", dir);
    /* no flag and no $KUBECONFIG: the pod's config is chosen */
    struct kube_config_options o = {.sa_root = sa};
    struct kube_config *c = NULL;
    char *err = NULL;
    ck_assert_int_eq(kube_config_load(&o, &c, &err), 0);
    ck_assert_str_eq(c->server, "https://10.96.0.1:443");
    ck_assert_str_eq(c->namespace_, "prod");
    ck_assert_str_eq(c->context, "in-cluster");
    ck_assert_ptr_null(c->token);
    char tf[600];
    snprintf(tf, sizeof tf, "%s/token", sa);
    ck_assert_str_eq(c->token_file, tf);
    ck_assert_mem_eq(c->ca, PEM_CERT, strlen(PEM_CERT));
    kube_config_free(c);
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    ck_assert_int_eq(kube_config_in_cluster(sa, &c, &err), 0);
    ck_assert_str_eq(c->server, "https://[fd00::1]:443");
    kube_config_free(c);
    /* a missing token names the file */
    write_file("sa/token", "");
    ck_assert_int_eq(kube_config_in_cluster(sa, &c, &err), SH_EIO);
    ck_assert_msg(strstr(err, "in-cluster config: token "), "%s", err);
    free(err);
    unsetenv("KUBERNETES_SERVICE_HOST");
    ck_assert_int_eq(kube_config_in_cluster(sa, &c, &err), SH_ENOTFOUND);
    ck_assert_msg(strstr(err, "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set"),
                  "%s", err);
    free(err);
    unsetenv("KUBERNETES_SERVICE_PORT");
}
END_TEST

START_TEST(test_base64_decoding_is_strict)
{
    char *out = NULL;
    size_t len = 0;
    ck_assert_int_eq(kube_base64_decode("aGVsbG8=", &out, &len), 0);
    ck_assert_str_eq(out, "hello");
    free(out);
    ck_assert_int_eq(kube_base64_decode("aGVs\nbG8h", &out, &len), 0);
    ck_assert_str_eq(out, "hello!");
    ck_assert_uint_eq(len, 6);
    free(out);
    ck_assert_int_eq(kube_base64_decode("aGk=", &out, &len), 0);
    ck_assert_str_eq(out, "hi");
    free(out);
    ck_assert_int_eq(kube_base64_decode("aA==", &out, &len), 0);
    ck_assert_uint_eq(len, 1);
    free(out);
    static const char *const bad[] = {"aGVsbG8", "aG=sbG8=", "a===", "aGVs*G8=", "=aGV", "aA=a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(kube_base64_decode(bad[i], &out, &len) == SH_EPARSE, "%s", bad[i]);
}
END_TEST

/* Loads the kubeconfig with the log going to a temp file; returns what was
 * logged (owned). */
static char *load_logging(void)
{
    FILE *log = tmpfile();
    ck_assert_ptr_nonnull(log);
    log_configure(LOG_DEBUG, LOG_FORMAT_TEXT, log);
    struct kube_config *c = load_ok(NULL);
    log_configure(LOG_INFO, LOG_FORMAT_TEXT, NULL);
    kube_config_free(c);
    long n = ftell(log);
    ck_assert_int_ge(n, 0);
    char *text = calloc(1, (size_t)n + 1);
    ck_assert_ptr_nonnull(text);
    rewind(log);
    ck_assert_uint_eq(fread(text, 1, (size_t)n, log), (size_t)n);
    fclose(log);
    return text;
}

START_TEST(test_insecure_skip_tls_verify_warns_and_secrets_stay_out)
{
    /* verification on: nothing logged */
    kubeconfig("    server: https://k:1\n    certificate-authority-data: " PEM_CERT_B64 "\n",
               "    token: sekrit-token-123\n", NULL);
    char *text = load_logging();
    ck_assert_str_eq(text, "");
    free(text);
    /* turned off by the kubeconfig: one warning naming the file, the context and the fix */
    kubeconfig("    server: https://k:1\n    insecure-skip-tls-verify: true\n",
               "    token: sekrit-token-123\n"
               "    client-certificate-data: " PEM_CERT_B64 "\n"
               "    client-key-data: " PEM_KEY_B64 "\n",
               NULL);
    text = load_logging();
    ck_assert_msg(strstr(text, "WARN") || strstr(text, "warn"), "%s", text);
    ck_assert_msg(strstr(text, "insecure-skip-tls-verify is true"), "%s", text);
    ck_assert_msg(strstr(text, "NOT verified"), "%s", text);
    ck_assert_msg(strstr(text, "context \"dev\""), "%s", text);
    ck_assert_msg(strstr(text, path_of("config")), "%s", text);
    ck_assert_msg(!strstr(text, "sekrit-token-123"), "token in the log: %s", text);
    ck_assert_msg(!strstr(text, "MIIEkey") && !strstr(text, PEM_KEY_B64), "key in the log: %s", text);
    free(text);
}
END_TEST

Suite *kubeconfig_suite(void)
{
    Suite *s = suite_create("kubeconfig");
    TCase *tc = tcase_create("kubeconfig");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_token_user_with_current_context_and_its_namespace);
    tcase_add_test(tc, test_explicit_context_overrides_current_and_namespace_defaults);
    tcase_add_test(tc, test_unknown_context_is_a_clear_error);
    tcase_add_test(tc, test_user_without_credentials_is_a_clear_error);
    tcase_add_test(tc, test_client_certificate_and_key_as_data);
    tcase_add_test(tc, test_client_certificate_key_and_ca_as_files_relative_to_the_kubeconfig);
    tcase_add_test(tc, test_missing_ca_file_names_the_path);
    tcase_add_test(tc, test_bad_base64_and_non_pem_data_are_refused);
    tcase_add_test(tc, test_certificate_without_key_is_refused);
    tcase_add_test(tc, test_token_file_is_read_and_a_missing_one_is_an_error);
    tcase_add_test(tc, test_missing_pieces_each_have_a_message);
    tcase_add_test(tc, test_unreadable_and_broken_files);
    tcase_add_test(tc, test_lookup_order_kubeconfig_env_first_entry_then_home);
    tcase_add_test(tc, test_in_cluster_from_the_environment_and_the_service_account);
    tcase_add_test(tc, test_base64_decoding_is_strict);
    tcase_add_test(tc, test_insecure_skip_tls_verify_warns_and_secrets_stay_out);
    suite_add_tcase(s, tc);
    return s;
}
