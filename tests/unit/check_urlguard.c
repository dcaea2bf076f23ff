/*
 * check_urlguard.c — the --allow-url patterns (base/urlguard.h) and
 * spec_check_urls (runtime/spec_urls.c): names, *.domains, addresses,
 * networks and ports; the cloud metadata service and the API server refused
 * whatever the patterns, in every spelling libcurl accepts.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/urlguard.h"
#include "runtime/spec.h"

Suite *urlguard_suite(void);

static struct urlguard *guard(const char *const *patterns)
{
    struct urlguard *g = NULL;
    ck_assert_int_eq(urlguard_new(&g), 0);
    for (; *patterns; patterns++) {
        char *err = NULL;
        ck_assert_msg(urlguard_add(g, *patterns, &err) == 0, "%s", err ? err : "");
    }
    return g;
}

static int check(const struct urlguard *g, const char *url, char *why, size_t size)
{
    char *err = NULL;
    int r = urlguard_check(g, url, &err);
    snprintf(why, size, "%s", err ? err : "");
    free(err);
    return r;
}

START_TEST(test_urlguard_an_empty_guard_allows_everything)
{
    struct urlguard *g = NULL;
    ck_assert_int_eq(urlguard_new(&g), 0);
    ck_assert_int_eq(urlguard_check(g, "http://169.254.169.254/", NULL), 0);
    ck_assert_int_eq(urlguard_check(NULL, "http://anything/", NULL), 0);
    ck_assert_uint_eq(urlguard_count(g), 0);
    urlguard_free(g);
}
END_TEST

START_TEST(test_urlguard_names_suffixes_networks_and_ports)
{
    const char *const pats[] = {"prom.monitoring.svc", "*.example.com", "10.0.0.0/8",
                                "192.0.2.7:8080",      "[fd00::]/8:443", "Metrics.Local.", NULL};
    struct urlguard *g = guard(pats);
    char why[512];
    const char *ok[] = {"http://prom.monitoring.svc:9090/api",
                        "https://PROM.monitoring.svc./x",
                        "http://a.example.com/",
                        "http://a.b.example.com:1234/",
                        "http://10.1.2.3:8000/health",
                        "http://192.0.2.7:8080/",
                        "https://[fd12::1]/x",
                        "http://metrics.local/",
                        "http://user:pw@prom.monitoring.svc/"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        ck_assert_msg(check(g, ok[i], why, sizeof why) == 0, "%s: %s", ok[i], why);
    const char *no[] = {"http://example.com/",            /* *.example.com is below only */
                        "http://evilexample.com/",
                        "http://192.0.2.7/",               /* port 80, the pattern says 8080 */
                        "http://[fd12::1]/x",              /* port 80 */
                        "http://11.0.0.1/",
                        "http://prom.monitoring.svc.evil.org/",
                        "http://prom.monitoring.svc@evil.org/", /* userinfo, then the host */
                        "http://10.0.0.1.nip.io/"};        /* a name, not an address */
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        ck_assert_msg(check(g, no[i], why, sizeof why) == SH_EINVAL, "%s allowed", no[i]);
    check(g, "http://user:hunter2@evil.org:9090/", why, sizeof why);
    ck_assert_str_eq(why, "host evil.org (port 9090) is not in the allowed URLs (--allow-url "
                          "prom.monitoring.svc, *.example.com, 10.0.0.0/8, 192.0.2.7:8080, "
                          "[fd00::]/8:443, Metrics.Local.)");
    ck_assert_ptr_null(strstr(why, "hunter2"));
    urlguard_free(g);
}
END_TEST

START_TEST(test_urlguard_metadata_and_the_api_server_are_refused_whatever_the_patterns)
{
    const char *const pats[] = {"0.0.0.0/0", "::/0", "*.internal", "*.svc", NULL};
    struct urlguard *g = guard(pats);
    ck_assert_int_eq(urlguard_deny(g, "10.96.0.1:443", "the Kubernetes API server"), 0);
    ck_assert_int_eq(urlguard_deny(g, "kubernetes.default.svc", "the Kubernetes API server"), 0);
    char why[512];
    const char *meta[] = {"http://169.254.169.254/latest/meta-data/",
                          "http://169.254.169.254./",
                          "http://[fe80::1]/",
                          "http://[::ffff:169.254.169.254]/",
                          "http://2852039166/", /* 169.254.169.254 as one number */
                          "http://0xa9.0xfe.0xa9.0xfe/",
                          "http://metadata.google.internal/computeMetadata/v1/"};
    for (size_t i = 0; i < sizeof meta / sizeof *meta; i++) {
        ck_assert_msg(check(g, meta[i], why, sizeof why) == SH_EINVAL, "%s allowed", meta[i]);
        ck_assert_msg(strstr(why, "link-local") || strstr(why, "metadata"), "%s: %s", meta[i], why);
    }
    ck_assert_int_eq(check(g, "https://10.96.0.1/api/v1/secrets", why, sizeof why), SH_EINVAL);
    ck_assert_str_eq(why, "host 10.96.0.1 is the Kubernetes API server; specs may not call it");
    ck_assert_int_eq(check(g, "https://KUBERNETES.default.svc:443/", why, sizeof why), SH_EINVAL);
    ck_assert_int_eq(check(g, "http://10.96.0.2/", why, sizeof why), 0);
    urlguard_free(g);
}
END_TEST

START_TEST(test_urlguard_bad_patterns_are_refused)
{
    struct urlguard *g = NULL;
    ck_assert_int_eq(urlguard_new(&g), 0);
    const char *bad[] = {"", "10.0.0/8", "10.0.0.0/33", "host:0", "host:99999", "a b", "*.",
                         "[fd00::/8", "http://x/"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *err = NULL;
        ck_assert_msg(urlguard_add(g, bad[i], &err) == SH_EINVAL, "%s accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(err, "--allow-url"));
        free(err);
    }
    ck_assert_uint_eq(urlguard_count(g), 0);
    urlguard_free(g);
}
END_TEST

START_TEST(test_spec_urls_are_checked_with_their_field)
{
    struct spec s;
    spec_init_defaults(&s);
    s.service.present = s.model.present = s.drift.present = true;
    s.service.health_check.url = "http://169.254.169.254/";
    s.model.metric.source = (struct spec_metric_source){.kind = METRIC_SOURCE_PROMETHEUS,
                                                        .url = "http://prom.ok:9090"};
    s.drift.score_source = (struct spec_metric_source){.kind = METRIC_SOURCE_HTTP,
                                                       .url = "http://evil.org/score"};
    const char *const pats[] = {"prom.ok", NULL};
    struct urlguard *g = guard(pats);
    struct spec_errors errs = {0};
    ck_assert_int_eq(spec_check_urls(&s, g, &errs), SH_EINVAL);
    ck_assert_uint_eq(errs.count, 2);
    ck_assert_str_eq(errs.items[0].path, "spec.service.healthCheck.url");
    ck_assert_str_eq(errs.items[1].path, "spec.drift.score.source.http.url");
    spec_errors_free(&errs);
    ck_assert_int_eq(spec_check_urls(&s, NULL, &errs), 0);
    urlguard_free(g);
}
END_TEST

Suite *urlguard_suite(void)
{
    Suite *s = suite_create("urlguard");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_urlguard_an_empty_guard_allows_everything);
    tcase_add_test(tc, test_urlguard_names_suffixes_networks_and_ports);
    tcase_add_test(tc, test_urlguard_metadata_and_the_api_server_are_refused_whatever_the_patterns);
    tcase_add_test(tc, test_urlguard_bad_patterns_are_refused);
    tcase_add_test(tc, test_spec_urls_are_checked_with_their_field);
    suite_add_tcase(s, tc);
    return s;
}
