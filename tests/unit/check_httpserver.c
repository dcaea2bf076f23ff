/* check_httpserver.c — the HTTP server of httpserver.h, over real HTTP (libcurl). */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/errors.h"
#include "server/httpserver.h"
#include "base/metrics.h"

Suite *httpserver_suite(void);

#define BIG_SIZE (1024 * 1024)

/* ---- the server under test ------------------------------------------------ */

static struct metrics *reg;
static struct http_server *srv;
static atomic_int ready_flag;
static char base[64];

static int ready_cb(void *ctx, char *reason, size_t size)
{
    (void)ctx;
    if (atomic_load(&ready_flag))
        return 1;
    snprintf(reason, size, "specs not synced yet");
    return 0;
}

static char *big_body(void)
{
    char *b = malloc(BIG_SIZE);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < BIG_SIZE; i++)
        b[i] = (char)('a' + (i * 7 + i / 1000) % 26);
    return b;
}

static int route_big(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    return http_response_take(resp, 200, "application/octet-stream", big_body(), BIG_SIZE);
}

/* Echoes what the handler saw: "METHOD PATH ?QUERY". */
static int route_echo(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const char *tag = ctx;
    char buf[512];
    snprintf(buf, sizeof buf, "%s %s %s ?%s", tag, req->method, req->path, req->query);
    char *body = strdup(buf);
    return http_response_take(resp, 200, "text/plain", body, strlen(body));
}

static int route_page(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    char *body = strdup("<!doctype html><p>hi</p>\n");
    return http_response_take(resp, 200, "text/html; charset=utf-8", body, strlen(body));
}

static int route_fail(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    (void)resp;
    return SH_EIO;
}

static int route_gone(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    return http_response_json_error(resp, 410, "gone \"away\"");
}

static void server_setup(void)
{
    reg = metrics_new();
    ck_assert_ptr_nonnull(reg);
    struct metric_family *c = NULL;
    struct metric_opts o = {.type = METRIC_COUNTER, .name = "fake_requests_total", .help = "Fake."};
    ck_assert_int_eq(metrics_register(reg, &o, &c), 0);
    metrics_add(c, NULL, 42);
    atomic_store(&ready_flag, 0);
    struct http_server_options ho = {.listen = "127.0.0.1:0", .metrics = reg, .ready = ready_cb};
    char *err = NULL;
    ck_assert_int_eq(http_server_new(&ho, &srv, &err), 0);
    ck_assert_int_eq(http_server_route(srv, "/big", HTTP_ROUTE_EXACT, route_big, NULL), 0);
    ck_assert_int_eq(http_server_route(srv, "/api/v1/things", HTTP_ROUTE_PREFIX, route_echo, "things"), 0);
    ck_assert_int_eq(http_server_route(srv, "/api/v1/things/special", HTTP_ROUTE_PREFIX, route_echo,
                                       "special"),
                     0);
    ck_assert_int_eq(http_server_route(srv, "/api/v1/things", HTTP_ROUTE_PREFIX, route_echo, "x"),
                     SH_EEXISTS);
    ck_assert_int_eq(http_server_route(srv, "/fail", HTTP_ROUTE_EXACT, route_fail, NULL), 0);
    ck_assert_int_eq(http_server_route(srv, "/page", HTTP_ROUTE_EXACT, route_page, NULL), 0);
    ck_assert_int_eq(http_server_route(srv, "/gone", HTTP_ROUTE_EXACT, route_gone, NULL), 0);
    ck_assert_int_eq(http_server_start(srv, &err), 0);
    ck_assert_ptr_null(err);
    ck_assert_int_gt(http_server_port(srv), 0);
    ck_assert_str_eq(http_server_host(srv), "127.0.0.1");
    snprintf(base, sizeof base, "http://127.0.0.1:%d", http_server_port(srv));
}

static void server_teardown(void)
{
    http_server_free(srv);
    srv = NULL;
    metrics_free(reg);
    reg = NULL;
}

static void curl_setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void curl_teardown(void)
{
    curl_global_cleanup();
}

/* ---- a small client ---------------------------------------------------------- */

struct reply {
    long status;
    char *body;
    size_t len;
    char ctype[128];
    char allow[64];
    char headers[2048]; /* every header line as received */
    long connects; /* new connections this request opened */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct reply *r = ud;
    char *b = realloc(r->body, r->len + size * n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, size * n);
    r->body = b;
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct reply *r = ud;
    size_t len = size * n;
    size_t used = strlen(r->headers);
    if (used + len < sizeof r->headers) {
        memcpy(r->headers + used, p, len);
        r->headers[used + len] = '\0';
    }
    if (len > 6 && strncasecmp(p, "allow:", 6) == 0) {
        size_t v = len - 6;
        while (v > 0 && (p[6 + v - 1] == '\r' || p[6 + v - 1] == '\n'))
            v--;
        snprintf(r->allow, sizeof r->allow, "%.*s", (int)v, p + 6);
    }
    return len;
}

static void reply_free(struct reply *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Requests base+path on handle h (reused across calls for keep-alive). */
static void request(CURL *h, const char *method, const char *path, const char *post, struct reply *r)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    memset(r, 0, sizeof *r);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (post) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") ? method : NULL);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(h);
    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r->ctype, sizeof r->ctype, "%s", ct ? ct : "");
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->connects);
    if (!r->body)
        r->body = calloc(1, 1);
}

static void get(const char *path, struct reply *r)
{
    CURL *h = curl_easy_init();
    ck_assert_ptr_nonnull(h);
    request(h, "GET", path, NULL, r);
    curl_easy_cleanup(h);
}

/* ---- tests ----------------------------------------------------------------------- */

START_TEST(test_healthz_is_ok)
{
    struct reply r;
    get("/healthz", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "ok\n");
    ck_assert_str_eq(r.ctype, "text/plain; charset=utf-8");
    reply_free(&r);
}
END_TEST

START_TEST(test_readyz_follows_the_ready_callback)
{
    struct reply r;
    get("/readyz", &r);
    ck_assert_int_eq(r.status, 503);
    ck_assert_str_eq(r.body, "specs not synced yet\n");
    reply_free(&r);
    atomic_store(&ready_flag, 1);
    get("/readyz", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "ok\n");
    reply_free(&r);
}
END_TEST

START_TEST(test_metrics_renders_the_registry)
{
    struct reply r;
    get("/metrics", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    char *want = metrics_render(reg);
    ck_assert_str_eq(r.body, want);
    ck_assert_ptr_nonnull(strstr(r.body, "\nfake_requests_total 42\n"));
    free(want);
    reply_free(&r);
}
END_TEST

START_TEST(test_metrics_without_a_registry_is_404)
{
    struct http_server *s = NULL;
    struct http_server_options ho = {.listen = "127.0.0.1:0"};
    ck_assert_int_eq(http_server_new(&ho, &s, NULL), 0);
    ck_assert_int_eq(http_server_start(s, NULL), 0);
    char saved[64];
    memcpy(saved, base, sizeof saved);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", http_server_port(s));
    struct reply r;
    get("/metrics", &r);
    ck_assert_int_eq(r.status, 404);
    reply_free(&r);
    get("/readyz", &r); /* no ready callback: ready */
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
    memcpy(base, saved, sizeof saved);
    http_server_free(s);
}
END_TEST

START_TEST(test_prefix_routes_match_whole_segments)
{
    struct reply r;
    get("/api/v1/things", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "things GET /api/v1/things ?");
    reply_free(&r);
    get("/api/v1/things/ns/name?verbose=1&x=y", &r);
    ck_assert_str_eq(r.body, "things GET /api/v1/things/ns/name ?verbose=1&x=y");
    reply_free(&r);
    get("/api/v1/things/special/one", &r); /* the longest prefix wins */
    ck_assert_str_eq(r.body, "special GET /api/v1/things/special/one ?");
    reply_free(&r);
    get("/api/v1/thingsX", &r);
    ck_assert_int_eq(r.status, 404);
    reply_free(&r);
}
END_TEST

START_TEST(test_unknown_path_is_a_json_404)
{
    struct reply r;
    get("/no/such/path", &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(r.ctype, "application/json");
    ck_assert_str_eq(r.body, "{\"error\":\"not found\"}\n");
    reply_free(&r);
    get("/gone", &r);
    ck_assert_int_eq(r.status, 410);
    ck_assert_str_eq(r.body, "{\"error\":\"gone \\\"away\\\"\"}\n");
    reply_free(&r);
    get("/fail", &r); /* a failing handler */
    ck_assert_int_eq(r.status, 500);
    reply_free(&r);
}
END_TEST

START_TEST(test_other_methods_are_405_and_keep_the_connection)
{
    CURL *h = curl_easy_init();
    struct reply r;
    request(h, "POST", "/healthz", "some=body", &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.body, "{\"error\":\"method not allowed\"}\n");
    ck_assert_str_eq(r.allow, " GET, HEAD");
    reply_free(&r);
    request(h, "DELETE", "/api/v1/things/a", NULL, &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert_int_eq(r.connects, 0); /* reused */
    reply_free(&r);
    /* every write method on every kind of path, the unknown ones too */
    static const char *const methods[] = {"POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    static const char *const paths[] = {"/healthz", "/readyz", "/metrics", "/api/v1/things",
                                        "/page", "/nowhere"};
    for (size_t m = 0; m < sizeof methods / sizeof *methods; m++)
        for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
            for (int with_body = 0; with_body < 2; with_body++) {
                CURL *fresh = curl_easy_init();
                request(fresh, methods[m], paths[i], with_body ? "x=1" : NULL, &r);
                curl_easy_cleanup(fresh);
                ck_assert_msg(r.status == 405, "%s %s: %ld", methods[m], paths[i], r.status);
                ck_assert_str_eq(r.allow, " GET, HEAD");
                reply_free(&r);
            }
    request(h, "GET", "/healthz", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.connects, 0);
    reply_free(&r);
    curl_easy_cleanup(h);
}
END_TEST

static void assert_header(const struct reply *r, const char *line)
{
    ck_assert_msg(strcasestr(r->headers, line) != NULL, "no '%s' in:\n%s", line, r->headers);
}

START_TEST(test_security_headers_on_every_response)
{
    CURL *h = curl_easy_init();
    struct reply r;
    static const char *const paths[] = {"/healthz", "/metrics", "/api/v1/things/a", "/nowhere",
                                        "/page"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        request(h, "GET", paths[i], NULL, &r);
        assert_header(&r, "X-Content-Type-Options: nosniff\r\n");
        assert_header(&r, "X-Frame-Options: DENY\r\n");
        assert_header(&r, "Referrer-Policy: no-referrer\r\n");
        assert_header(&r, "Cache-Control: no-store\r\n");
        bool html = strcmp(paths[i], "/page") == 0;
        ck_assert_msg(html == (strcasestr(r.headers, "Content-Security-Policy:") != NULL),
                      "%s: CSP only on HTML pages:\n%s", paths[i], r.headers);
        reply_free(&r);
    }
    request(h, "GET", "/page", NULL, &r);
    assert_header(&r, "Content-Security-Policy: default-src 'none'; script-src 'self'; ");
    assert_header(&r, "frame-ancestors 'none'");
    reply_free(&r);
    request(h, "POST", "/healthz", "x", &r); /* errors carry them too */
    ck_assert_int_eq(r.status, 405);
    assert_header(&r, "X-Content-Type-Options: nosniff\r\n");
    reply_free(&r);
    curl_easy_cleanup(h);
}
END_TEST

START_TEST(test_head_is_get_without_a_body)
{
    CURL *h = curl_easy_init();
    struct reply r;
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    request(h, "HEAD", "/api/v1/things/x", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 0);
    ck_assert_str_eq(r.ctype, "text/plain");
    assert_header(&r, "Cache-Control: no-store\r\n");
    reply_free(&r);
    curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
    request(h, "GET", "/api/v1/things/x", NULL, &r); /* the connection is still usable */
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "things GET /api/v1/things/x ?");
    reply_free(&r);
    curl_easy_cleanup(h);
}
END_TEST

START_TEST(test_a_large_body_arrives_intact_on_a_kept_alive_connection)
{
    char *want = big_body();
    CURL *h = curl_easy_init();
    struct reply r;
    for (int i = 0; i < 2; i++) {
        request(h, "GET", "/big", NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_uint_eq(r.len, BIG_SIZE);
        ck_assert_int_eq(memcmp(r.body, want, BIG_SIZE), 0);
        if (i == 1)
            ck_assert_int_eq(r.connects, 0);
        reply_free(&r);
    }
    request(h, "GET", "/healthz", NULL, &r);
    ck_assert_str_eq(r.body, "ok\n");
    ck_assert_int_eq(r.connects, 0);
    reply_free(&r);
    curl_easy_cleanup(h);
    free(want);
}
END_TEST

/* A plain TCP connection to the server; rcvbuf > 0 shrinks its receive buffer
 * (before connecting, so the TCP window is negotiated for it). */
static int connect_raw(int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_server_port(srv))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

START_TEST(test_a_slow_reader_gets_every_byte)
{
    int fd = connect_raw(4096);
    const char *req = "GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    usleep(300 * 1000); /* the server fills the socket and must wait */
    size_t cap = BIG_SIZE + 4096, len = 0;
    char *buf = malloc(cap);
    int64_t t0 = clock_monotonic_ms();
    for (;;) { /* small reads until the server closes (Connection: close) */
        size_t want = cap - len < 3000 ? cap - len : 3000;
        ssize_t n = read(fd, buf + len, want);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == cap)
            break;
    }
    close(fd);
    ck_assert_int_lt(clock_monotonic_ms() - t0, 10000);
    char *hdr_end = memmem(buf, len, "\r\n\r\n", 4);
    ck_assert_ptr_nonnull(hdr_end);
    size_t body_len = len - (size_t)(hdr_end + 4 - buf);
    ck_assert_uint_eq(body_len, BIG_SIZE);
    char *want = big_body();
    ck_assert_int_eq(memcmp(hdr_end + 4, want, BIG_SIZE), 0);
    free(want);
    free(buf);
}
END_TEST

START_TEST(test_a_busy_port_is_reported)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", http_server_port(srv));
    struct http_server *second = NULL;
    struct http_server_options ho = {.listen = listen, .metrics = reg};
    char *err = NULL;
    ck_assert_int_eq(http_server_new(&ho, &second, &err), 0);
    ck_assert_int_eq(http_server_start(second, &err), SH_EIO);
    char want[128];
    snprintf(want, sizeof want, "listen %s: address already in use", listen);
    ck_assert_str_eq(err, want);
    free(err);
    http_server_free(second);

    /* the first one still serves */
    struct reply r;
    get("/healthz", &r);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
}
END_TEST

START_TEST(test_bad_listen_addresses_are_rejected)
{
    const char *bad[] = {"127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", "::1:80", "[::1]80",
                         "127.0.0.1:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct http_server *s = NULL;
        struct http_server_options ho = {.listen = bad[i]};
        char *err = NULL;
        ck_assert_int_eq(http_server_new(&ho, &s, &err), SH_EINVAL);
        ck_assert_ptr_null(s);
        ck_assert_msg(err && strstr(err, bad[i]), "message for '%s': %s", bad[i], err ? err : "(none)");
        free(err);
    }
    struct http_server *s = NULL;
    struct http_server_options def = {0};
    ck_assert_int_eq(http_server_new(&def, &s, NULL), 0);
    ck_assert_str_eq(http_server_host(s), "127.0.0.1");
    ck_assert_int_eq(http_server_port(s), 8080);
    http_server_free(s);
    struct http_server_options any = {.listen = ":0"};
    ck_assert_int_eq(http_server_new(&any, &s, NULL), 0);
    ck_assert_str_eq(http_server_host(s), "0.0.0.0");
    http_server_free(s);
    struct http_server_options v6 = {.listen = "[::1]:0"};
    ck_assert_int_eq(http_server_new(&v6, &s, NULL), 0);
    ck_assert_str_eq(http_server_host(s), "::1");
    http_server_free(s);
}
END_TEST

START_TEST(test_routes_are_closed_after_start)
{
    ck_assert_int_eq(http_server_route(srv, "/late", HTTP_ROUTE_EXACT, route_fail, NULL), SH_EINVAL);
    ck_assert_int_eq(http_server_route(srv, "relative", HTTP_ROUTE_EXACT, route_fail, NULL), SH_EINVAL);
}
END_TEST

START_TEST(test_free_with_clients_connected_does_not_hang)
{
    /* an idle kept-alive connection, a half-sent request, a bare connection */
    CURL *h = curl_easy_init();
    struct reply r;
    request(h, "GET", "/healthz", NULL, &r);
    reply_free(&r);
    int half = connect_raw(0);
    const char *part = "GET /healthz HTTP/1.1\r\nHost: t\r\n";
    ck_assert_int_eq(write(half, part, strlen(part)), (ssize_t)strlen(part));
    int bare = connect_raw(0);
    int stuck = connect_raw(4096); /* a large response it never reads */
    const char *big = "GET /big HTTP/1.1\r\nHost: t\r\n\r\n";
    ck_assert_int_eq(write(stuck, big, strlen(big)), (ssize_t)strlen(big));
    usleep(200 * 1000);

    int64_t t0 = clock_monotonic_ms();
    http_server_free(srv);
    srv = NULL;
    int64_t took = clock_monotonic_ms() - t0;
    ck_assert_msg(took < 2000, "http_server_free took %lld ms", (long long)took);

    /* the connections were closed */
    char c;
    ck_assert_int_le(read(half, &c, 1), 0);
    ck_assert_int_le(read(bare, &c, 1), 0);
    close(half);
    close(bare);
    close(stuck);
    curl_easy_cleanup(h);
}
END_TEST

START_TEST(test_start_and_free_many_times)
{
    for (int i = 0; i < 20; i++) {
        struct http_server *s = NULL;
        struct http_server_options ho = {.listen = "127.0.0.1:0", .metrics = reg};
        ck_assert_int_eq(http_server_new(&ho, &s, NULL), 0);
        ck_assert_int_eq(http_server_start(s, NULL), 0);
        http_server_free(s);
    }
    /* and one never started */
    struct http_server *s = NULL;
    struct http_server_options ho = {.listen = "127.0.0.1:0"};
    ck_assert_int_eq(http_server_new(&ho, &s, NULL), 0);
    http_server_free(s);
    http_server_free(NULL);
}
END_TEST

Suite *httpserver_suite(void)
{
    Suite *s = suite_create("httpserver");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, curl_setup, curl_teardown);
    tcase_add_checked_fixture(tc, server_setup, server_teardown);
    tcase_add_test(tc, test_healthz_is_ok);
    tcase_add_test(tc, test_readyz_follows_the_ready_callback);
    tcase_add_test(tc, test_metrics_renders_the_registry);
    tcase_add_test(tc, test_metrics_without_a_registry_is_404);
    tcase_add_test(tc, test_prefix_routes_match_whole_segments);
    tcase_add_test(tc, test_unknown_path_is_a_json_404);
    tcase_add_test(tc, test_other_methods_are_405_and_keep_the_connection);
    tcase_add_test(tc, test_security_headers_on_every_response);
    tcase_add_test(tc, test_head_is_get_without_a_body);
    tcase_add_test(tc, test_a_large_body_arrives_intact_on_a_kept_alive_connection);
    tcase_add_test(tc, test_a_slow_reader_gets_every_byte);
    tcase_add_test(tc, test_a_busy_port_is_reported);
    tcase_add_test(tc, test_bad_listen_addresses_are_rejected);
    tcase_add_test(tc, test_routes_are_closed_after_start);
    tcase_add_test(tc, test_free_with_clients_connected_does_not_hang);
    tcase_add_test(tc, test_start_and_free_many_times);
    suite_add_tcase(s, tc);
    return s;
}
