/*
 * check_httpserver_ws.c — the websocket event stream of httpserver.h, seen
 * by a real libwebsockets client over loopback: the live sequence, resume
 * with ?since=SEQ (inside the ring and older than it), refusing other
 * paths, a plain GET of the path (426) and the other routes still working
 * next to it, and a client that
 * stops reading being dropped with a 1008 close while publishing goes on.
 * Waits are bounded polls on what was received, never fixed sleeps.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/errors.h"
#include "server/eventbus.h"
#include "server/httpserver.h"

Suite *httpserver_ws_suite(void);

#define MAXMSG 4096

struct wsc {
    const char *path;
    bool pause;       /* stop reading once established */
    bool established, closed, conn_error;
    int close_code;
    char close_reason[256];
    int n;
    uint64_t seqs[MAXMSG];
    char reasons[MAXMSG][32];
    char frag[8192];
    size_t fraglen;
    struct lws *wsi;
};

static int client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    struct wsc *w = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        w->established = true;
        if (w->pause)
            lws_rx_flow_control(wsi, 0);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (w->fraglen + len < sizeof w->frag) {
            memcpy(w->frag + w->fraglen, in, len);
            w->fraglen += len;
        }
        if (lws_is_final_fragment(wsi)) {
            w->frag[w->fraglen] = '\0';
            cJSON *o = cJSON_Parse(w->frag);
            cJSON *seq = cJSON_GetObjectItem(o, "seq");
            cJSON *r = cJSON_GetObjectItem(o, "reason");
            if (w->n < MAXMSG) {
                w->seqs[w->n] = cJSON_IsNumber(seq) ? (uint64_t)seq->valuedouble : 0;
                snprintf(w->reasons[w->n], sizeof w->reasons[0], "%s",
                         cJSON_IsString(r) ? r->valuestring : "?");
                w->n++;
            }
            cJSON_Delete(o);
            w->fraglen = 0;
        }
        break;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) {
            const unsigned char *p = in;
            w->close_code = (p[0] << 8) | p[1];
            snprintf(w->close_reason, sizeof w->close_reason, "%.*s", (int)(len - 2),
                     (const char *)in + 2);
        }
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        w->conn_error = true;
        w->wsi = NULL;
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        w->closed = true;
        w->wsi = NULL;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols client_protocols[] = {
    {"selfheal-test", client_cb, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* The client context and a ticker thread waking its loop every 10 ms. */
struct client {
    struct lws_context *cx;
    pthread_t ticker;
    atomic_bool stop;
};

static void *tick(void *arg)
{
    struct client *c = arg;
    while (!atomic_load(&c->stop)) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        lws_cancel_service(c->cx);
    }
    return NULL;
}

static void client_start(struct client *c)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = client_protocols;
    info.gid = -1;
    info.uid = -1;
    c->cx = lws_create_context(&info);
    ck_assert_ptr_nonnull(c->cx);
    atomic_store(&c->stop, false);
    ck_assert_int_eq(pthread_create(&c->ticker, NULL, tick, c), 0);
}

static void client_stop(struct client *c)
{
    atomic_store(&c->stop, true);
    pthread_join(c->ticker, NULL);
    lws_context_destroy(c->cx);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void connect_ws(struct client *c, struct wsc *w, int port)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = c->cx;
    ci.address = "127.0.0.1";
    ci.port = port;
    ci.path = w->path;
    ci.host = "127.0.0.1";
    ci.origin = "127.0.0.1";
    ci.opaque_user_data = w;
    ci.pwsi = &w->wsi;
    lws_client_connect_via_info(&ci);
}

/* Services the client until cond(w, arg) or max_ms; returns cond's value. */
static bool pump(struct client *c, struct wsc *w, bool (*cond)(struct wsc *, int), int arg, int max_ms)
{
    int64_t end = mono_ms() + max_ms;
    while (!cond(w, arg) && mono_ms() < end)
        lws_service(c->cx, 0);
    return cond(w, arg);
}

static bool is_established(struct wsc *w, int arg)
{
    (void)arg;
    return w->established || w->conn_error || w->closed;
}

static bool has_n(struct wsc *w, int n)
{
    return w->n >= n || w->closed;
}

static bool is_closed(struct wsc *w, int arg)
{
    (void)arg;
    return w->closed || w->conn_error;
}

static struct http_server *start_server(struct eventbus *bus, size_t max_pending)
{
    struct http_server_options o = {.listen = "127.0.0.1:0"};
    struct http_server *s = NULL;
    char *err = NULL;
    ck_assert_int_eq(http_server_new(&o, &s, &err), 0);
    ck_assert_int_eq(http_server_events(s, "/api/v1/events", bus, max_pending), 0);
    ck_assert_int_eq(http_server_start(s, &err), 0);
    free(err);
    return s;
}

static void publish_n(struct eventbus *b, int n, const char *reason)
{
    for (int i = 0; i < n; i++)
        ck_assert_uint_gt(eventbus_publish(b, "Normal", reason, "demo", "housing", "m"), 0);
}

START_TEST(test_live_sequence_for_a_scripted_fault)
{
    struct eventbus *bus = NULL;
    ck_assert_int_eq(eventbus_new(64, NULL, &bus), 0);
    publish_n(bus, 3, "Old"); /* before the client: not sent without since */
    struct http_server *s = start_server(bus, 0);
    struct client c;
    client_start(&c);
    struct wsc *w = calloc(1, sizeof *w);
    w->path = "/api/v1/events";
    connect_ws(&c, w, http_server_port(s));
    ck_assert(pump(&c, w, is_established, 0, 5000));
    ck_assert(w->established);

    const char *script[] = {"ProbeFailed", "RecoveryStarted", "Restarted", "ConditionChanged"};
    eventbus_publish(bus, "Warning", script[0], "demo", "housing", "GET /healthz: refused");
    for (int i = 1; i < 4; i++)
        eventbus_publish(bus, "Normal", script[i], "demo", "housing", "x");
    ck_assert(pump(&c, w, has_n, 4, 5000));
    ck_assert_int_eq(w->n, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_uint_eq(w->seqs[i], (uint64_t)(4 + i));
        ck_assert_str_eq(w->reasons[i], script[i]);
    }
    client_stop(&c);
    free(w);
    http_server_free(s);
    eventbus_free(bus);
}
END_TEST

START_TEST(test_resume_with_since)
{
    struct eventbus *bus = NULL;
    ck_assert_int_eq(eventbus_new(64, NULL, &bus), 0);
    struct http_server *s = start_server(bus, 0);
    publish_n(bus, 6, "Before");
    struct client c;
    client_start(&c);
    struct wsc *w = calloc(1, sizeof *w);
    w->path = "/api/v1/events?since=2";
    connect_ws(&c, w, http_server_port(s));
    ck_assert(pump(&c, w, has_n, 4, 5000)); /* 3..6 replayed */
    ck_assert(w->established);
    eventbus_publish(bus, "Normal", "After", "demo", "housing", "live");
    ck_assert(pump(&c, w, has_n, 5, 5000));
    ck_assert_int_eq(w->n, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(w->seqs[i], (uint64_t)(3 + i));
    ck_assert_str_eq(w->reasons[3], "Before");
    ck_assert_str_eq(w->reasons[4], "After");
    client_stop(&c);
    free(w);
    http_server_free(s);
    eventbus_free(bus);
}
END_TEST

START_TEST(test_since_older_than_the_ring_starts_at_the_oldest)
{
    struct eventbus *bus = NULL;
    ck_assert_int_eq(eventbus_new(4, NULL, &bus), 0);
    struct http_server *s = start_server(bus, 0);
    publish_n(bus, 10, "E");
    struct client c;
    client_start(&c);
    struct wsc *w = calloc(1, sizeof *w);
    w->path = "/api/v1/events?since=1";
    connect_ws(&c, w, http_server_port(s));
    ck_assert(pump(&c, w, has_n, 4, 5000));
    ck_assert_int_eq(w->n, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(w->seqs[i], (uint64_t)(7 + i));
    client_stop(&c);
    free(w);
    http_server_free(s);
    eventbus_free(bus);
}
END_TEST

START_TEST(test_other_paths_refuse_the_upgrade)
{
    struct eventbus *bus = NULL;
    ck_assert_int_eq(eventbus_new(4, NULL, &bus), 0);
    struct http_server *s = start_server(bus, 0);
    struct client c;
    client_start(&c);
    struct wsc *w = calloc(1, sizeof *w);
    w->path = "/healthz";
    connect_ws(&c, w, http_server_port(s));
    ck_assert(pump(&c, w, is_closed, 0, 5000));
    ck_assert(!w->established);
    ck_assert(w->conn_error);
    client_stop(&c);
    free(w);
    http_server_free(s);
    eventbus_free(bus);
}
END_TEST

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    char *buf = ud;
    size_t have = strlen(buf), add = size * n;
    if (have + add < 512) {
        memcpy(buf + have, data, add);
        buf[have + add] = '\0';
    }
    return size * n;
}

static long http_get(int port, const char *path, char *body)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    body[0] = '\0';
    CURL *h = curl_easy_init();
    ck_assert_ptr_nonnull(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
    long code = 0;
    ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    return code;
}

START_TEST(test_plain_get_of_the_events_path)
{
    struct eventbus *bus = NULL;
    ck_assert_int_eq(eventbus_new(4, NULL, &bus), 0);
    struct http_server *s = start_server(bus, 0);
    char body[512];
    ck_assert_int_eq(http_get(http_server_port(s), "/api/v1/events", body), 426);
    ck_assert_ptr_nonnull(strstr(body, "websocket upgrade required"));
    ck_assert_int_eq(http_get(http_server_port(s), "/healthz", body), 200);
    ck_assert_str_eq(body, "ok\n");
    /* a second stream, or one on a taken path, is refused */
    ck_assert_int_eq(http_server_events(s, "/other", bus, 0), SH_EINVAL);
    http_server_free(s);
    struct http_server_options o = {.listen = "127.0.0.1:0"};
    ck_assert_int_eq(http_server_new(&o, &s, NULL), 0);
    ck_assert_int_eq(http_server_events(s, "/healthz", bus, 0), SH_EEXISTS);
    http_server_free(s);
    eventbus_free(bus);
}
END_TEST

START_TEST(test_slow_client_is_dropped_with_a_message)
{
    struct eventbus *bus = NULL;
    ck_assert_int_eq(eventbus_new(8192, NULL, &bus), 0);
    struct http_server *s = start_server(bus, 16);
    struct client c;
    client_start(&c);
    struct wsc *w = calloc(1, sizeof *w);
    w->path = "/api/v1/events";
    w->pause = true;
    connect_ws(&c, w, http_server_port(s));
    ck_assert(pump(&c, w, is_established, 0, 5000));
    ck_assert(w->established);
    /* a burst the client does not read: publishing must not wait for it.
     * This thread is also the client's only service loop, so a publish that
     * waited for the client would never return (no wall-clock bound needed:
     * under valgrind on a loaded machine the burst takes seconds). */
    char big[2048];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 4000; i++)
        ck_assert_uint_gt(eventbus_publish(bus, "Normal", "Burst", "demo", "housing", big), 0);
    lws_rx_flow_control(w->wsi, 1);
    ck_assert(pump(&c, w, is_closed, 0, 10000));
    ck_assert_int_lt(w->n, 4000);
    ck_assert_int_eq(w->close_code, 1008);
    ck_assert_ptr_nonnull(strstr(w->close_reason, "slow client"));
    ck_assert_ptr_nonnull(strstr(w->close_reason, "since="));
    client_stop(&c);
    free(w);
    http_server_free(s);
    eventbus_free(bus);
}
END_TEST

START_TEST(test_free_with_a_connected_client)
{
    struct eventbus *bus = NULL;
    ck_assert_int_eq(eventbus_new(4, NULL, &bus), 0);
    struct http_server *s = start_server(bus, 0);
    struct client c;
    client_start(&c);
    struct wsc *w = calloc(1, sizeof *w);
    w->path = "/api/v1/events";
    connect_ws(&c, w, http_server_port(s));
    ck_assert(pump(&c, w, is_established, 0, 5000));
    http_server_free(s);
    ck_assert(pump(&c, w, is_closed, 0, 5000));
    eventbus_publish(bus, "Normal", "AfterStop", NULL, NULL, "no hook any more");
    client_stop(&c);
    free(w);
    eventbus_free(bus);
}
END_TEST

Suite *httpserver_ws_suite(void)
{
    Suite *s = suite_create("httpserver_ws");
    TCase *tc = tcase_create("ws");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_live_sequence_for_a_scripted_fault);
    tcase_add_test(tc, test_resume_with_since);
    tcase_add_test(tc, test_since_older_than_the_ring_starts_at_the_oldest);
    tcase_add_test(tc, test_other_paths_refuse_the_upgrade);
    tcase_add_test(tc, test_plain_get_of_the_events_path);
    tcase_add_test(tc, test_slow_client_is_dropped_with_a_message);
    tcase_add_test(tc, test_free_with_a_connected_client);
    suite_add_tcase(s, tc);
    return s;
}
