/*
 * check_metric_source.c — the model metric sources (metric_source.h): RFC
 * 6901 JSON pointers, Prometheus answers as a real Prometheus 2.42 sends
 * them, and the prometheus / http / file sources end to end against a real
 * HTTP server on loopback (a thread of this test) and real files: values,
 * empty results, errors, refused connections, a server that never answers,
 * an oversized body.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/errors.h"
#include "model/json_pointer.h"
#include "model/metric_fetch.h"
#include "model/metric_source.h"

Suite *metric_source_suite(void);

/* --- answers captured from prometheus 2.42.0 (curl -i .../api/v1/query) --- */
static const char PROM_VECTOR[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":"
    "\"model_accuracy\",\"instance\":\"127.0.0.1:38169\",\"job\":\"fixture\"},\"value\":[1795920033.231,"
    "\"0.82\"]}]}}";
static const char PROM_EMPTY[] = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}";
static const char PROM_SCALAR[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1795920033.244,\"0.82\"]}}";
static const char PROM_MATRIX[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"__name__\":"
    "\"model_accuracy\",\"instance\":\"127.0.0.1:38169\",\"job\":\"fixture\"},\"values\":[[1795920030.121,"
    "\"0.82\"],[1795920031.121,\"0.82\"],[1795920032.121,\"0.82\"],[1795920033.121,\"0.82\"]]}]}}";
static const char PROM_NAN[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"instance\":"
    "\"127.0.0.1:38169\",\"job\":\"fixture\"},\"value\":[1795920033.256,\"NaN\"]}]}}";
static const char PROM_INF[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1795920033.268,\"+Inf\"]}}";
static const char PROM_STRING[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[1795920033.274,\"hello\"]}}";
static const char PROM_BAD_DATA[] =
    "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"query\\\": 1:10: "
    "parse error: unclosed left parenthesis\"}";

/* --- a small HTTP server on loopback, one connection at a time --- */
enum route_kind { ROUTE_BODY, ROUTE_HANG, ROUTE_BIG };
struct route {
    const char *path; /* exact, query string excluded */
    enum route_kind kind;
    int status;
    const char *body;
};

static const struct route routes[] = {
    {"/api/v1/query", ROUTE_BODY, 200, PROM_VECTOR},
    {"/empty/api/v1/query", ROUTE_BODY, 200, PROM_EMPTY},
    {"/bad/api/v1/query", ROUTE_BODY, 400, PROM_BAD_DATA},
    {"/proxy/api/v1/query", ROUTE_BODY, 502, "<html>bad gateway</html>"},
    {"/metrics.json", ROUTE_BODY, 200, "{\"model\": {\"accuracy\": 0.875, \"name\": \"v2\"}, \"list\": [0.5, 0.25]}"},
    {"/text", ROUTE_BODY, 200, "accuracy=0.9"},
    {"/error", ROUTE_BODY, 500, "{\"accuracy\": 0.9}"},
    {"/hang", ROUTE_HANG, 0, NULL},
    {"/big", ROUTE_BIG, 200, NULL},
};

static struct {
    int lfd;
    int port;
    pthread_t th;
    atomic_bool stop;
    pthread_mutex_t mu;
    char last_request[2048];
} srv;

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* Waits until the peer closes (or the server stops). */
static void wait_peer_close(int fd)
{
    char buf[512];
    while (!atomic_load(&srv.stop)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) > 0 && recv(fd, buf, sizeof buf, 0) <= 0)
            return;
    }
}

static void serve(int fd)
{
    char req[2048] = "";
    size_t len = 0;
    while (len < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) <= 0)
            return;
        ssize_t n = recv(fd, req + len, sizeof req - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
        req[len] = '\0';
    }
    char *eol = strstr(req, "\r\n");
    if (eol)
        *eol = '\0';
    pthread_mutex_lock(&srv.mu);
    snprintf(srv.last_request, sizeof srv.last_request, "%s", req);
    pthread_mutex_unlock(&srv.mu);
    /* "GET /path?query HTTP/1.1" */
    char path[1024] = "";
    const char *sp = strchr(req, ' ');
    if (sp) {
        size_t n = strcspn(sp + 1, " ?");
        snprintf(path, sizeof path, "%.*s", (int)n, sp + 1);
    }
    const struct route *r = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(routes[i].path, path) == 0)
            r = &routes[i];
    char head[256];
    if (!r) {
        const char *nf = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        send_all(fd, nf, strlen(nf));
        return;
    }
    if (r->kind == ROUTE_HANG) {
        wait_peer_close(fd);
        return;
    }
    if (r->kind == ROUTE_BIG) {
        size_t total = 2u << 20;
        int n = snprintf(head, sizeof head,
                         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
        send_all(fd, head, (size_t)n);
        static char chunk[65536];
        memset(chunk, ' ', sizeof chunk);
        for (size_t sent = 0; sent < total && !atomic_load(&srv.stop); sent += sizeof chunk)
            send_all(fd, chunk, sizeof chunk);
        return;
    }
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     r->status, strlen(r->body));
    send_all(fd, head, (size_t)n);
    send_all(fd, r->body, strlen(r->body));
}

static void *server_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&srv.stop)) {
        struct pollfd p = {.fd = srv.lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(srv.lfd, NULL, NULL);
        if (fd < 0)
            continue;
        serve(fd);
        close(fd);
    }
    return NULL;
}

static int listen_loopback(int *ret_port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *ret_port = ntohs(a.sin_port);
    return fd;
}

static void server_start(void)
{
    srv.lfd = listen_loopback(&srv.port);
    ck_assert_int_eq(listen(srv.lfd, 16), 0);
    atomic_store(&srv.stop, false);
    pthread_mutex_init(&srv.mu, NULL);
    srv.last_request[0] = '\0';
    ck_assert_int_eq(pthread_create(&srv.th, NULL, server_main, NULL), 0);
}

static void server_stop(void)
{
    atomic_store(&srv.stop, true);
    pthread_join(srv.th, NULL);
    close(srv.lfd);
    pthread_mutex_destroy(&srv.mu);
}

static char *url(const char *path)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "http://127.0.0.1:%d%s", srv.port, path);
    return buf;
}

/* --- JSON pointer --- */

static const char RFC_DOC[] = "{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"c%d\": 2, \"e^f\": 3,"
                              " \"g|h\": 4, \"i\\\\j\": 5, \"k\\\"l\": 6, \" \": 7, \"m~n\": 8}";

START_TEST(test_pointer_rfc6901_examples)
{
    cJSON *doc = cJSON_Parse(RFC_DOC);
    ck_assert_ptr_nonnull(doc);
    char err[256];
    ck_assert_ptr_eq(json_pointer_get(doc, "", err, sizeof err), doc);
    ck_assert(cJSON_IsArray(json_pointer_get(doc, "/foo", err, sizeof err)));
    ck_assert_str_eq(json_pointer_get(doc, "/foo/0", err, sizeof err)->valuestring, "bar");
    ck_assert_str_eq(json_pointer_get(doc, "/foo/1", err, sizeof err)->valuestring, "baz");
    const char *ptrs[] = {"/", "/a~1b", "/c%d", "/e^f", "/g|h", "/i\\j", "/k\"l", "/ ", "/m~0n"};
    for (int i = 0; i < 9; i++) {
        double v = -1;
        ck_assert_msg(json_pointer_number(doc, ptrs[i], &v, err, sizeof err) == 0, "%s: %s",
                      ptrs[i], err);
        ck_assert_double_eq(v, i);
    }
    cJSON_Delete(doc);
}
END_TEST

START_TEST(test_pointer_errors_name_the_part_that_failed)
{
    cJSON *doc = cJSON_Parse("{\"foo\": [\"bar\", \"baz\"], \"n\": 3, \"m~n\": 1}");
    char err[256];
    ck_assert_ptr_null(json_pointer_get(doc, "/foo/2", err, sizeof err));
    ck_assert_str_eq(err, "/foo/2: index 2 out of range (2 elements)");
    ck_assert_ptr_null(json_pointer_get(doc, "/foo/01", err, sizeof err));
    ck_assert_str_eq(err, "/foo/01: \"01\" is not an array index");
    ck_assert_ptr_null(json_pointer_get(doc, "/foo/-", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "not an array index"));
    ck_assert_ptr_null(json_pointer_get(doc, "/bar/x", err, sizeof err));
    ck_assert_str_eq(err, "/bar: no member \"bar\"");
    ck_assert_ptr_null(json_pointer_get(doc, "/n/x", err, sizeof err));
    ck_assert_str_eq(err, "/n: a number has no member \"x\"");
    ck_assert_ptr_null(json_pointer_get(doc, "foo", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "must be empty or start with '/'"));
    ck_assert_ptr_null(json_pointer_get(doc, "/m~2n", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "bad escape"));
    /* ~01 is "~1" literally, not "/" (decoding is one pass) */
    ck_assert_ptr_null(json_pointer_get(doc, "/m~01n", err, sizeof err));
    ck_assert_str_eq(err, "/m~01n: no member \"m~1n\"");
    cJSON_Delete(doc);
}
END_TEST

START_TEST(test_number_must_be_finite_and_a_number)
{
    cJSON *doc = cJSON_Parse("{\"s\": \"0.9\", \"b\": true, \"z\": null, \"huge\": 1e999, \"ok\": 0.5}");
    ck_assert_ptr_nonnull(doc);
    char err[256];
    double v = 0;
    ck_assert_int_eq(json_pointer_number(doc, "/s", &v, err, sizeof err), SH_EINVAL);
    ck_assert_str_eq(err, "/s: not a number (a string)");
    ck_assert_int_eq(json_pointer_number(doc, "/b", &v, err, sizeof err), SH_EINVAL);
    ck_assert_int_eq(json_pointer_number(doc, "/z", &v, err, sizeof err), SH_EINVAL);
    ck_assert_str_eq(err, "/z: not a number (null)");
    ck_assert_int_eq(json_pointer_number(doc, "/huge", &v, err, sizeof err), SH_EINVAL);
    ck_assert_str_eq(err, "/huge: not a finite number");
    ck_assert_int_eq(json_pointer_number(doc, "/missing", &v, err, sizeof err), SH_ENOTFOUND);
    ck_assert_int_eq(json_pointer_number(doc, "/ok", &v, err, sizeof err), 0);
    ck_assert_double_eq(v, 0.5);
    ck_assert_int_eq(json_pointer_number(doc, "", &v, err, sizeof err), SH_EINVAL);
    ck_assert_str_eq(err, "(the document): not a number (an object)");
    cJSON_Delete(doc);
}
END_TEST

/* --- Prometheus answers --- */

static int prom(const char *body, double *v, char *err)
{
    return metric_prometheus_parse(body, strlen(body), v, err, 256);
}

START_TEST(test_prometheus_answers_of_a_real_server)
{
    double v = -1;
    char err[256];
    ck_assert_int_eq(prom(PROM_VECTOR, &v, err), 0);
    ck_assert_double_eq(v, 0.82);
    v = -1;
    ck_assert_int_eq(prom(PROM_SCALAR, &v, err), 0);
    ck_assert_double_eq(v, 0.82);
    ck_assert_int_eq(prom(PROM_EMPTY, &v, err), SH_ENOTFOUND);
    ck_assert_str_eq(err, "query returned no samples");
    ck_assert_int_eq(prom(PROM_NAN, &v, err), SH_EINVAL);
    ck_assert_str_eq(err, "prometheus: sample value NaN is not a finite number");
    ck_assert_int_eq(prom(PROM_INF, &v, err), SH_EINVAL);
    ck_assert_str_eq(err, "prometheus: sample value +Inf is not a finite number");
    ck_assert_int_eq(prom(PROM_MATRIX, &v, err), SH_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "range vector"));
    ck_assert_int_eq(prom(PROM_STRING, &v, err), SH_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "string"));
    ck_assert_int_eq(prom(PROM_BAD_DATA, &v, err), SH_EPROTO);
    ck_assert_ptr_nonnull(strstr(err, "prometheus: bad_data: invalid parameter"));
    ck_assert_int_eq(prom("<html>", &v, err), SH_EPARSE);
    ck_assert_int_eq(prom("{\"status\":\"success\"}", &v, err), SH_EPARSE);
}
END_TEST

START_TEST(test_prometheus_url_encodes_the_query)
{
    char *u = metric_prometheus_url("http://h:9090/", "avg(model_accuracy{job=\"x y\"}) > 0.5");
    ck_assert_str_eq(u, "http://h:9090/api/v1/query?query="
                        "avg%28model_accuracy%7Bjob%3D%22x%20y%22%7D%29%20%3E%200.5");
    free(u);
}
END_TEST

/* --- sources end to end --- */

static struct spec_metric_source prometheus_src(const char *prefix, const char *query)
{
    static char u[256];
    snprintf(u, sizeof u, "http://127.0.0.1:%d%s", srv.port, prefix);
    return (struct spec_metric_source){.kind = METRIC_SOURCE_PROMETHEUS, .url = u,
                                       .query = (char *)query};
}

START_TEST(test_prometheus_source_reads_the_first_sample)
{
    struct spec_metric_source s = prometheus_src("", "model_accuracy{job=\"fixture\"}");
    double v = 0;
    char err[512];
    ck_assert_msg(metric_source_read(&s, 2000, &v, err, sizeof err) == 0, "%s", err);
    ck_assert_double_eq(v, 0.82);
    pthread_mutex_lock(&srv.mu);
    ck_assert_str_eq(srv.last_request,
                     "GET /api/v1/query?query=model_accuracy%7Bjob%3D%22fixture%22%7D HTTP/1.1");
    pthread_mutex_unlock(&srv.mu);
}
END_TEST

START_TEST(test_prometheus_source_empty_and_errors_are_inconclusive)
{
    double v = 0;
    char err[512], want[512];
    struct spec_metric_source s = prometheus_src("/empty", "model_accuracy");
    ck_assert_int_eq(metric_source_read(&s, 2000, &v, err, sizeof err), SH_ENOTFOUND);
    snprintf(want, sizeof want, "GET %s: query returned no samples",
             url("/empty/api/v1/query?query=model_accuracy"));
    ck_assert_str_eq(err, want);
    s = prometheus_src("/bad", "sum(rate(");
    ck_assert_int_eq(metric_source_read(&s, 2000, &v, err, sizeof err), SH_EPROTO);
    ck_assert_ptr_nonnull(strstr(err, ": prometheus: bad_data: invalid parameter"));
    s = prometheus_src("/proxy", "model_accuracy");
    ck_assert_int_eq(metric_source_read(&s, 2000, &v, err, sizeof err), SH_EPROTO);
    snprintf(want, sizeof want, "GET %s: HTTP 502", url("/proxy/api/v1/query?query=model_accuracy"));
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_http_source_reads_the_pointer)
{
    struct spec_metric_source s = {.kind = METRIC_SOURCE_HTTP, .url = url("/metrics.json"),
                                   .json_pointer = "/model/accuracy"};
    double v = 0;
    char err[512];
    ck_assert_msg(metric_source_read(&s, 2000, &v, err, sizeof err) == 0, "%s", err);
    ck_assert_double_eq(v, 0.875);
    s.json_pointer = "/list/1";
    ck_assert_int_eq(metric_source_read(&s, 2000, &v, err, sizeof err), 0);
    ck_assert_double_eq(v, 0.25);
    s.json_pointer = "/model/name";
    ck_assert_int_eq(metric_source_read(&s, 2000, &v, err, sizeof err), SH_EINVAL);
    char want[512];
    snprintf(want, sizeof want, "GET %s: /model/name: not a number (a string)", url("/metrics.json"));
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_http_source_failures)
{
    double v = 0;
    char err[512], want[512];
    struct spec_metric_source s = {.kind = METRIC_SOURCE_HTTP, .url = url("/error"), .json_pointer = "/accuracy"};
    ck_assert_int_eq(metric_source_read(&s, 2000, &v, err, sizeof err), SH_EPROTO);
    snprintf(want, sizeof want, "GET %s: HTTP 500", url("/error"));
    ck_assert_str_eq(err, want);
    s.url = url("/text");
    ck_assert_int_eq(metric_source_read(&s, 2000, &v, err, sizeof err), SH_EPARSE);
    ck_assert_ptr_nonnull(strstr(err, ": not JSON"));
    s.url = url("/nowhere");
    ck_assert_int_eq(metric_source_read(&s, 2000, &v, err, sizeof err), SH_EPROTO);
    ck_assert_ptr_nonnull(strstr(err, "HTTP 404"));
}
END_TEST

START_TEST(test_refused_connection)
{
    int port;
    int fd = listen_loopback(&port);
    close(fd); /* bound, never listening, now closed: nothing listens there */
    char u[128], want[256], err[512];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/metrics.json", port);
    struct spec_metric_source s = {.kind = METRIC_SOURCE_HTTP, .url = u, .json_pointer = "/a"};
    double v = 0;
    ck_assert_int_eq(metric_source_read(&s, 2000, &v, err, sizeof err), SH_EUNAVAIL);
    snprintf(want, sizeof want, "GET %s: connection refused", u);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_a_server_that_never_answers_times_out)
{
    struct spec_metric_source s = {.kind = METRIC_SOURCE_HTTP, .url = url("/hang"), .json_pointer = "/a"};
    double v = 0;
    char err[512], want[512];
    ck_assert_int_eq(metric_source_read(&s, 300, &v, err, sizeof err), SH_ETIMEOUT);
    snprintf(want, sizeof want, "GET %s: no answer within 300 ms", url("/hang"));
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_an_oversized_body_is_cut_off)
{
    struct metric_response r;
    char err[256];
    ck_assert_int_eq(metric_fetch(url("/big"), 5000, 0, &r, err, sizeof err), SH_ETOOBIG);
    ck_assert_str_eq(err, "response larger than 1048576 bytes");
    ck_assert_ptr_null(r.body);
    ck_assert_int_eq(metric_fetch(url("/metrics.json"), 5000, 16, &r, err, sizeof err), SH_ETOOBIG);
    ck_assert_int_eq(metric_fetch("file:///etc/passwd", 5000, 0, &r, err, sizeof err), SH_EINVAL);
}
END_TEST

START_TEST(test_file_source)
{
    char dir[] = "/tmp/sh-metric-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/eval.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"eval\": {\"accuracy\": 0.731, \"note\": \"NaN\"}}", f);
    fclose(f);
    struct spec_metric_source s = {.kind = METRIC_SOURCE_FILE, .path = path,
                                   .json_pointer = "/eval/accuracy"};
    double v = 0;
    char err[512], want[512];
    ck_assert_int_eq(metric_source_read(&s, 0, &v, err, sizeof err), 0);
    ck_assert_double_eq(v, 0.731);
    s.json_pointer = "/eval/note";
    ck_assert_int_eq(metric_source_read(&s, 0, &v, err, sizeof err), SH_EINVAL);
    snprintf(want, sizeof want, "%s: /eval/note: not a number (a string)", path);
    ck_assert_str_eq(err, want);
    unlink(path);
    ck_assert_int_eq(metric_source_read(&s, 0, &v, err, sizeof err), SH_EIO);
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    ck_assert_str_eq(err, want);
    rmdir(dir);
    struct spec_metric_source none = {0};
    ck_assert_int_eq(metric_source_read(&none, 0, &v, err, sizeof err), SH_EINVAL);
    ck_assert_str_eq(err, "no metric source configured");
}
END_TEST

Suite *metric_source_suite(void)
{
    Suite *s = suite_create("metric_source");
    TCase *tc = tcase_create("pointer");
    tcase_add_test(tc, test_pointer_rfc6901_examples);
    tcase_add_test(tc, test_pointer_errors_name_the_part_that_failed);
    tcase_add_test(tc, test_number_must_be_finite_and_a_number);
    tcase_add_test(tc, test_prometheus_answers_of_a_real_server);
    tcase_add_test(tc, test_prometheus_url_encodes_the_query);
    tcase_add_test(tc, test_file_source);
    suite_add_tcase(s, tc);
    TCase *http = tcase_create("http");
    tcase_add_checked_fixture(http, server_start, server_stop);
    tcase_set_timeout(http, 30);
    tcase_add_test(http, test_prometheus_source_reads_the_first_sample);
    tcase_add_test(http, test_prometheus_source_empty_and_errors_are_inconclusive);
    tcase_add_test(http, test_http_source_reads_the_pointer);
    tcase_add_test(http, test_http_source_failures);
    tcase_add_test(http, test_refused_connection);
    tcase_add_test(http, test_a_server_that_never_answers_times_out);
    tcase_add_test(http, test_an_oversized_body_is_cut_off);
    suite_add_tcase(s, http);
    return s;
}
