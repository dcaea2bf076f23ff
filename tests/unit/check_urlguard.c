/*
 * check_urlguard.c — the --allow-url patterns (base/urlguard.h) and
 * spec_check_urls (runtime/spec_urls.c): names, *.domains, addresses,
 * networks and ports; the cloud metadata service and the API server refused
 * whatever the patterns, in every spelling libcurl accepts; the addresses a
 * request connects to (urlguard_check_address), and urlguard_apply on a
 * real libcurl handle against a real listening socket.
 */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
    const char *no[] = {"http://192.0.2.7/", /* port 80, the pattern says 8080 */
                        "http://[fd12::1]/x", /* port 80 */
                        "http://11.0.0.1/"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        ck_assert_msg(check(g, no[i], why, sizeof why) == SH_EINVAL, "%s allowed", no[i]);
    urlguard_free(g);

    /* names only: a name no pattern matches can never be allowed */
    const char *const names[] = {"prom.monitoring.svc", "*.example.com", "Metrics.Local.", NULL};
    g = guard(names);
    const char *no_name[] = {"http://example.com/", /* *.example.com is below only */
                             "http://evilexample.com/",
                             "http://prom.monitoring.svc.evil.org/",
                             "http://prom.monitoring.svc@evil.org/", /* userinfo, then the host */
                             "http://10.0.0.1.nip.io/",              /* a name, not an address */
                             "http://10.1.2.3/"};
    for (size_t i = 0; i < sizeof no_name / sizeof *no_name; i++)
        ck_assert_msg(check(g, no_name[i], why, sizeof why) == SH_EINVAL, "%s allowed", no_name[i]);
    check(g, "http://user:hunter2@evil.org:9090/", why, sizeof why);
    ck_assert_str_eq(why, "host evil.org (port 9090) is not in the allowed URLs (--allow-url "
                          "prom.monitoring.svc, *.example.com, Metrics.Local.)");
    ck_assert_ptr_null(strstr(why, "hunter2"));
    urlguard_free(g);
}
END_TEST

/* An AF_INET or AF_INET6 socket address for text and port. */
static socklen_t sockaddr_of(const char *text, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        return sizeof *in;
    }
    ck_assert_int_eq(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    return sizeof *in6;
}

static int check_addr(const struct urlguard *g, const char *host, const char *addr, int port,
                      char *why, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sockaddr_of(addr, port, &ss);
    return urlguard_check_address(g, host, (struct sockaddr *)&ss, len, why, size);
}

START_TEST(test_urlguard_a_name_is_judged_on_its_address_when_a_network_may_hold_it)
{
    const char *const pats[] = {"10.0.0.0/8", "prom.svc", "192.0.2.0/24:443", NULL};
    struct urlguard *g = guard(pats);
    char why[URLGUARD_WHY_MAX];
    /* validation: a name no name pattern matches waits for its address */
    ck_assert_int_eq(check(g, "http://model.ml.svc:8080/health", why, sizeof why), 0);
    ck_assert_int_eq(check(g, "http://localhost:9/", why, sizeof why), 0);
    /* connecting: the network decides for such a name */
    ck_assert_int_eq(check_addr(g, "model.ml.svc", "10.1.2.3", 8080, why, sizeof why), 0);
    ck_assert_int_eq(check_addr(g, "model.ml.svc", "::ffff:10.1.2.3", 8080, why, sizeof why), 0);
    ck_assert_int_eq(check_addr(g, "localhost", "127.0.0.1", 9, why, sizeof why), SH_EINVAL);
    ck_assert_str_eq(why, "address 127.0.0.1 of host localhost (port 9) is not in the allowed URLs "
                          "(--allow-url 10.0.0.0/8, prom.svc, 192.0.2.0/24:443)");
    ck_assert_int_eq(check_addr(g, "localhost", "::1", 9, why, sizeof why), SH_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "address ::1 of host localhost (port 9)"));
    /* a network pattern's port holds for the address too */
    ck_assert_int_eq(check_addr(g, "x.example", "192.0.2.5", 443, why, sizeof why), 0);
    ck_assert_int_eq(check_addr(g, "x.example", "192.0.2.5", 80, why, sizeof why), SH_EINVAL);
    /* a name pattern allows the name wherever it points, but not to the metadata service */
    ck_assert_int_eq(check_addr(g, "prom.svc", "127.0.0.1", 9090, why, sizeof why), 0);
    ck_assert_int_eq(check_addr(g, "prom.svc", "169.254.169.254", 80, why, sizeof why), SH_EINVAL);
    ck_assert_str_eq(why, "address 169.254.169.254 of host prom.svc is a link-local address (the "
                          "cloud metadata service); specs may not call it");
    const char *meta[] = {"fd00:ec2::254", "fe80::1", "::ffff:169.254.169.254", "169.254.0.1"};
    for (size_t i = 0; i < sizeof meta / sizeof *meta; i++) {
        ck_assert_msg(check_addr(g, "prom.svc", meta[i], 80, why, sizeof why) == SH_EINVAL,
                      "%s allowed", meta[i]);
        ck_assert_msg(strstr(why, "the cloud metadata service"), "%s: %s", meta[i], why);
    }
    /* a URL that names an address: the address alone */
    ck_assert_int_eq(check_addr(g, "10.9.9.9", "10.9.9.9", 80, why, sizeof why), 0);
    ck_assert_int_eq(check_addr(g, "11.0.0.1", "11.0.0.1", 80, why, sizeof why), SH_EINVAL);
    ck_assert_str_eq(why, "address 11.0.0.1 (port 80) is not in the allowed URLs (--allow-url "
                          "10.0.0.0/8, prom.svc, 192.0.2.0/24:443)");
    /* validation still refuses a name when no network takes its port */
    urlguard_free(g);
    const char *const tls_only[] = {"192.0.2.0/24:443", NULL};
    g = guard(tls_only);
    ck_assert_int_eq(check(g, "https://model.ml.svc/", why, sizeof why), 0);
    ck_assert_int_eq(check(g, "http://model.ml.svc:8080/", why, sizeof why), SH_EINVAL);
    urlguard_free(g);
    /* unconfined: anything, as before */
    ck_assert_int_eq(check_addr(NULL, "x", "169.254.169.254", 80, why, sizeof why), 0);
    ck_assert_str_eq(why, "");
}
END_TEST

START_TEST(test_urlguard_the_api_servers_addresses_are_refused_when_connecting)
{
    const char *const pats[] = {"0.0.0.0/0", "::/0", "*.svc", NULL};
    struct urlguard *g = guard(pats);
    ck_assert_int_eq(urlguard_deny(g, "10.96.0.1:443", "the Kubernetes API server"), 0);
    /* a name is resolved once, now: its addresses are the API server's too */
    ck_assert_int_eq(urlguard_deny(g, "localhost", "the Kubernetes API server"), 0);
    char why[URLGUARD_WHY_MAX];
    ck_assert_int_eq(check_addr(g, "api.evil.svc", "10.96.0.1", 6443, why, sizeof why), SH_EINVAL);
    ck_assert_str_eq(why, "address 10.96.0.1 of host api.evil.svc is the Kubernetes API server; "
                          "specs may not call it");
    ck_assert_int_eq(check_addr(g, "me.svc", "127.0.0.1", 8080, why, sizeof why), SH_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "is the Kubernetes API server"));
    ck_assert_int_eq(check_addr(g, "other.svc", "10.96.0.2", 443, why, sizeof why), 0);
    urlguard_free(g);
}
END_TEST

/* ---- urlguard_apply on a real handle -------------------------------------- */

struct listener {
    int fd, port;
    pthread_t th;
    int served; /* connections answered */
};

/* Answers one connection with 204, if one comes within two seconds. */
static void *serve_one(void *arg)
{
    struct listener *l = arg;
    struct pollfd p = {.fd = l->fd, .events = POLLIN};
    if (poll(&p, 1, 2000) != 1)
        return NULL;
    int c = accept(l->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    char buf[4096];
    size_t len = 0;
    while (len < sizeof buf - 1) {
        ssize_t k = recv(c, buf + len, sizeof buf - 1 - len, 0);
        if (k <= 0)
            break;
        len += (size_t)k;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    static const char resp[] = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
    ssize_t w = send(c, resp, sizeof resp - 1, MSG_NOSIGNAL);
    (void)w;
    close(c);
    l->served++;
    return NULL;
}

static void listener_start(struct listener *l)
{
    memset(l, 0, sizeof *l);
    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(l->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(l->fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(l->fd, 4), 0);
    socklen_t al = sizeof a;
    getsockname(l->fd, (struct sockaddr *)&a, &al);
    l->port = ntohs(a.sin_port);
}

/* GETs url through g; returns curl's code, the guard's reason in c. */
static CURLcode get(const struct urlguard *g, const char *url, struct urlguard_conn *c)
{
    CURL *h = curl_easy_init();
    ck_assert_ptr_nonnull(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    ck_assert_int_eq(urlguard_apply(g, c, h, url), 0);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    return rc;
}

START_TEST(test_urlguard_apply_refuses_the_connection_with_the_reason)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct listener l;
    listener_start(&l);
    char url[128];
    snprintf(url, sizeof url, "http://localhost:%d/health", l.port);
    struct urlguard_conn c;

    /* only another network allowed: localhost resolves outside it */
    const char *const other[] = {"10.0.0.0/8", NULL};
    struct urlguard *g = guard(other);
    ck_assert_int_eq(get(g, url, &c), CURLE_COULDNT_CONNECT);
    char want[200];
    snprintf(want, sizeof want, "of host localhost (port %d) is not in the allowed URLs "
                                "(--allow-url 10.0.0.0/8)", l.port);
    ck_assert_msg(strstr(c.refused, want), "%s", c.refused);
    /* no connection reached the listener: nothing to accept */
    int fl = fcntl(l.fd, F_GETFL);
    fcntl(l.fd, F_SETFL, fl | O_NONBLOCK);
    ck_assert_int_lt(accept(l.fd, NULL, NULL), 0);
    ck_assert_int_eq(errno, EAGAIN);
    fcntl(l.fd, F_SETFL, fl);
    urlguard_free(g);

    /* its address allowed: the request goes through */
    char pat[64];
    snprintf(pat, sizeof pat, "127.0.0.1:%d", l.port);
    const char *const mine[] = {pat, NULL};
    g = guard(mine);
    ck_assert_int_eq(pthread_create(&l.th, NULL, serve_one, &l), 0);
    ck_assert_int_eq(get(g, url, &c), CURLE_OK);
    pthread_join(l.th, NULL);
    ck_assert_int_eq(l.served, 1);
    urlguard_free(g);

    /* unconfined: nothing set, the request goes through */
    ck_assert_int_eq(pthread_create(&l.th, NULL, serve_one, &l), 0);
    ck_assert_int_eq(get(NULL, url, &c), CURLE_OK);
    pthread_join(l.th, NULL);
    ck_assert_int_eq(l.served, 2);
    ck_assert_str_eq(c.refused, "");
    close(l.fd);
    curl_global_cleanup();
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
                          "http://[fd00:ec2::254]/latest/meta-data/",
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
    tcase_add_test(tc, test_urlguard_a_name_is_judged_on_its_address_when_a_network_may_hold_it);
    tcase_add_test(tc, test_urlguard_the_api_servers_addresses_are_refused_when_connecting);
    tcase_add_test(tc, test_urlguard_apply_refuses_the_connection_with_the_reason);
    tcase_add_test(tc, test_spec_urls_are_checked_with_their_field);
    suite_add_tcase(s, tc);
    return s;
}
