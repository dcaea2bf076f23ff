/*
 * check_kube_client.c — the REST client against a real HTTP server on
 * loopback that answers with the recorded bytes of a real kube-apiserver:
 * Status errors turned into messages and codes (409, 404, 403, 401, 422,
 * the text/plain 404), which answers are retried (429 with Retry-After,
 * 5xx, connection refused) and which never are (other 4xx), the headers
 * sent (User-Agent, Accept, bearer token re-read when its file changes),
 * connection reuse, list bodies, bounded bodies and streamed watches.
 * Waits between retries go to a recorder instead of the clock.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "kube/apistatus.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube_test.h"
#include "base/version.h"

Suite *kube_client_suite(void);

#define MAX_SCRIPT 16

struct scripted {
    pthread_mutex_t mu;
    int n, next;
    struct {
        int status;
        char hdrs[256];
        char *body;
        size_t len;
    } r[MAX_SCRIPT];
    char last_headers[8192];
};

static bool scripted_handler(void *ctx, struct kt_server *s, const struct kt_request *rq, int fd)
{
    (void)s;
    struct scripted *sc = ctx;
    pthread_mutex_lock(&sc->mu);
    int i = sc->next < sc->n ? sc->next++ : sc->n - 1;
    snprintf(sc->last_headers, sizeof sc->last_headers, "%s", rq->headers);
    int status = sc->r[i].status;
    char hdrs[256];
    snprintf(hdrs, sizeof hdrs, "%s", sc->r[i].hdrs);
    char *body = malloc(sc->r[i].len + 1);
    memcpy(body, sc->r[i].body, sc->r[i].len);
    size_t len = sc->r[i].len;
    pthread_mutex_unlock(&sc->mu);
    kt_reply(fd, status, hdrs, body, len);
    free(body);
    return true;
}

static void script_add(struct scripted *sc, int status, const char *hdrs, const char *body,
                       size_t len)
{
    ck_assert_int_lt(sc->n, MAX_SCRIPT);
    sc->r[sc->n].status = status;
    snprintf(sc->r[sc->n].hdrs, sizeof sc->r[0].hdrs, "%s", hdrs ? hdrs : "");
    sc->r[sc->n].body = malloc(len + 1);
    memcpy(sc->r[sc->n].body, body, len);
    sc->r[sc->n].len = len;
    sc->n++;
}

static void script_add_golden(struct scripted *sc, const char *file, const char *needle)
{
    int n = 0;
    struct kt_exchange *xs = kt_golden(file, &n);
    const struct kt_exchange *x = kt_find(xs, n, needle);
    /* keep the recorded headers that matter (Content-Type, Retry-After) */
    char hdrs[256] = "";
    const char *ct = strcasestr(x->response_head, "\nContent-Type: text/plain");
    if (ct)
        snprintf(hdrs, sizeof hdrs, "X-Recorded: text\r\n");
    script_add(sc, x->status, hdrs, x->response_body, x->response_body_len);
    kt_exchanges_free(xs, n);
}

struct sleeps {
    int n;
    int64_t ms[32];
};

static void record_sleep(void *ctx, int64_t ms)
{
    struct sleeps *s = ctx;
    if (s->n < 32)
        s->ms[s->n++] = ms;
}

struct fixture {
    struct scripted sc;
    struct kt_server *srv;
    struct kube_config cfg;
    struct kube_client *c;
    struct sleeps sl;
};

static void fixture_start_budget(struct fixture *f, const char *token, int64_t budget_ms)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->sc.mu, NULL);
    f->srv = kt_server_start(scripted_handler, &f->sc);
    f->cfg.server = f->srv->url;
    f->cfg.token = (char *)token;
    struct kube_client_options o;
    kube_client_options_default(&o);
    o.sleep_ms = record_sleep;
    o.sleep_ctx = &f->sl;
    o.max_attempts = 4;
    o.timeout_ms = 5000;
    o.retry_budget_ms = budget_ms;
    ck_assert_int_eq(kube_client_new(&f->cfg, &o, &f->c, NULL), 0);
}

/* The client with its default retry budget. */
static void fixture_start(struct fixture *f, const char *token)
{
    fixture_start_budget(f, token, 0);
}

static void fixture_stop(struct fixture *f)
{
    kube_client_free(f->c);
    kt_server_stop(f->srv);
    for (int i = 0; i < f->sc.n; i++)
        free(f->sc.r[i].body);
    pthread_mutex_destroy(&f->sc.mu);
}

#define STATUS_PATH "/apis/selfheal.dev/v1alpha1/namespaces/ns/selfhealingpipelines/a/status"

START_TEST(test_golden_409_conflict_becomes_a_clear_message_and_is_not_retried)
{
    struct fixture f;
    fixture_start(&f, "tok");
    script_add_golden(&f.sc, "06-put-conflict.http", "merge PATCH with a stale");
    cJSON *patch = cJSON_Parse("{\"status\":{\"phase\":\"Healthy\"}}");
    cJSON *out = NULL;
    char *err = NULL;
    int r = kube_patch_merge(f.c, STATUS_PATH "?fieldManager=x", patch, &out, &err);
    ck_assert_int_eq(r, SH_ECONFLICT);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(err, "PATCH " STATUS_PATH ": 409 Conflict: Operation cannot be fulfilled on "
                          "widgets.example.dev \"alpha\": the object has been modified; please "
                          "apply your changes to the latest version and try again");
    ck_assert_int_eq(kt_count(f.srv, "PATCH "), 1);
    ck_assert_int_eq(f.sl.n, 0);
    free(err);
    cJSON_Delete(patch);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_golden_4xx_statuses_map_to_codes_and_are_never_retried)
{
    static const struct {
        const char *file, *needle;
        int code;
        const char *msg;
    } cases[] = {
        {"08-get-not-found.http", "GET a missing Widget", SH_ENOTFOUND,
         "GET /x: 404 Not Found: widgets.example.dev \"nosuch\" not found"},
        {"08-get-not-found.http", "GET an unknown resource type", SH_ENOTFOUND,
         "GET /x: 404 Not Found: 404 page not found"},
        {"11-authz-authn.http", "GET widgets with a ServiceAccount token", SH_EFORBIDDEN,
         "GET /x: 403 Forbidden: widgets.example.dev is forbidden: User "
         "\"system:serviceaccount:golden:noperms\" cannot list resource \"widgets\" in API group "
         "\"example.dev\" in the namespace \"golden\""},
        {"11-authz-authn.http", "bogus bearer token -> 401", SH_EREFUSED,
         "GET /x: 401 Unauthorized: Unauthorized"},
        {"06-put-conflict.http", "PUT with NO metadata.resourceVersion", SH_EINVAL,
         "GET /x: 422 Unprocessable Entity: widgets.example.dev \"alpha\" is invalid: "
         "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"},
        {"07-create-already-exists.http", "POST", SH_EEXISTS, NULL},
        {"10-bad-patch.http", "not JSON", SH_EINVAL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fixture f;
        fixture_start(&f, "tok");
        script_add_golden(&f.sc, cases[i].file, cases[i].needle);
        char *err = NULL;
        cJSON *out = NULL;
        int r = kube_get(f.c, "/x?watch=0", &out, &err);
        ck_assert_msg(r == cases[i].code, "%s: %d", cases[i].needle, r);
        if (cases[i].msg)
            ck_assert_str_eq(err, cases[i].msg);
        else
            ck_assert_ptr_nonnull(err);
        ck_assert_int_eq(kt_count(f.srv, "GET "), 1);
        ck_assert_int_eq(f.sl.n, 0);
        free(err);
        fixture_stop(&f);
    }
}
END_TEST

START_TEST(test_429_honours_retry_after_then_succeeds)
{
    struct fixture f;
    fixture_start_budget(&f, "tok", 10000); /* a caller that may wait 10 s */
    const char *tmr = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                      "\"message\":\"too many requests\",\"reason\":\"TooManyRequests\","
                      "\"details\":{\"retryAfterSeconds\":3},\"code\":429}\n";
    script_add(&f.sc, 429, "Retry-After: 2\r\n", tmr, strlen(tmr));
    script_add(&f.sc, 429, "", tmr, strlen(tmr)); /* no header: details.retryAfterSeconds */
    script_add(&f.sc, 200, "", "{\"ok\":true}\n", 12);
    cJSON *out = NULL;
    char *err = NULL;
    ck_assert_int_eq(kube_post(f.c, "/p", cJSON_GetObjectItem(NULL, "x"), &out, &err), 0);
    ck_assert_ptr_null(err);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(out, "ok")));
    ck_assert_int_eq(kt_count(f.srv, "POST /p"), 3);
    ck_assert_int_eq(f.sl.n, 2);
    ck_assert_int_eq(f.sl.ms[0], 2000);
    ck_assert_int_eq(f.sl.ms[1], 3000);
    cJSON_Delete(out);
    fixture_stop(&f);
}
END_TEST

/* A worker's call never sleeps long on a throttled server: a Retry-After
 * past the budget (2 s by default) is the error at once, and the worker
 * requeues its key with backoff; so is a backoff that would pass it. */
START_TEST(test_throttling_past_the_retry_budget_returns_at_once)
{
    struct fixture f;
    fixture_start(&f, "tok");
    const char *tmr = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                      "\"message\":\"too many requests\",\"reason\":\"TooManyRequests\","
                      "\"details\":{\"retryAfterSeconds\":30},\"code\":429}\n";
    script_add(&f.sc, 429, "Retry-After: 30\r\n", tmr, strlen(tmr));
    script_add(&f.sc, 200, "", "{}\n", 3);
    char *err = NULL;
    cJSON *out = NULL;
    ck_assert_int_ne(kube_get(f.c, "/t", &out, &err), 0);
    ck_assert_int_eq(f.sl.n, 0); /* no sleep at all */
    ck_assert_int_eq(kt_count(f.srv, "GET /t"), 1);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "retry in 30.0 s"));
    free(err);
    fixture_stop(&f);

    /* 1 s + 1 s fit the 2 s budget, a third 1 s does not */
    fixture_start(&f, "tok");
    const char *one = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                      "\"message\":\"too many requests\",\"reason\":\"TooManyRequests\",\"code\":429}\n";
    for (int i = 0; i < 4; i++)
        script_add(&f.sc, 429, "Retry-After: 1\r\n", one, strlen(one));
    ck_assert_int_ne(kube_get(f.c, "/u", &out, NULL), 0);
    ck_assert_int_eq(f.sl.n, 2);
    ck_assert_int_eq(kt_count(f.srv, "GET /u"), 3);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_5xx_is_retried_with_doubling_backoff_up_to_the_attempt_limit)
{
    struct fixture f;
    fixture_start(&f, "tok");
    const char *ie = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                     "\"message\":\"Internal error occurred: boom\",\"reason\":\"InternalError\",\"code\":500}\n";
    script_add(&f.sc, 500, "", ie, strlen(ie));
    script_add(&f.sc, 503, "", ie, strlen(ie));
    script_add(&f.sc, 200, "", "{}\n", 3);
    cJSON *out = NULL;
    ck_assert_int_eq(kube_get(f.c, "/g", &out, NULL), 0);
    cJSON_Delete(out);
    ck_assert_int_eq(kt_count(f.srv, "GET /g"), 3);
    ck_assert_int_eq(f.sl.n, 2);
    ck_assert_int_eq(f.sl.ms[0], 200);
    ck_assert_int_eq(f.sl.ms[1], 400);
    fixture_stop(&f);

    fixture_start(&f, "tok");
    script_add(&f.sc, 500, "", ie, strlen(ie)); /* forever */
    char *err = NULL;
    ck_assert_int_eq(kube_get(f.c, "/g", &out, &err), SH_EUNAVAIL);
    ck_assert_str_eq(err, "GET /g: 500 Internal Server Error: Internal error occurred: boom");
    ck_assert_int_eq(kt_count(f.srv, "GET /g"), 4);
    ck_assert_int_eq(f.sl.n, 3);
    ck_assert_int_eq(f.sl.ms[2], 800);
    free(err);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_headers_sent_and_the_connection_is_reused)
{
    struct fixture f;
    fixture_start(&f, "secret-token");
    script_add(&f.sc, 200, "", "{}\n", 3);
    for (int i = 0; i < 5; i++) {
        cJSON *out = NULL;
        ck_assert_int_eq(kube_get(f.c, "/again", &out, NULL), 0);
        cJSON_Delete(out);
    }
    ck_assert_int_eq(kt_count(f.srv, "GET /again"), 5);
    pthread_mutex_lock(&f.srv->mu);
    int conns = f.srv->nconns;
    pthread_mutex_unlock(&f.srv->mu);
    ck_assert_int_eq(conns, 1);
    ck_assert_ptr_nonnull(strstr(f.sc.last_headers, "User-Agent: selfheal/" SELFHEAL_VERSION "\r\n"));
    ck_assert_ptr_nonnull(strstr(f.sc.last_headers, "Accept: application/json\r\n"));
    ck_assert_ptr_nonnull(strstr(f.sc.last_headers, "Authorization: Bearer secret-token\r\n"));
    /* a merge patch says so */
    cJSON *patch = cJSON_Parse("{\"a\":1}");
    ck_assert_int_eq(kube_patch_merge(f.c, "/p", patch, NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(f.sc.last_headers, "Content-Type: application/merge-patch+json\r\n"));
    cJSON_Delete(patch);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_error_messages_never_carry_the_token_or_a_key)
{
    /* a proxy or a hostile server echoes what we sent into its error body */
    static const char echo[] =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
        "\"bad request: got Authorization: Bearer tok-5ecret-XYZ-0123456789 and tok-5ecret-XYZ-0123456789 "
        "and -----BEGIN RSA PRIVATE KEY-----\\nMIIEsecretkeybytes\\n-----END RSA PRIVATE KEY-----\","
        "\"reason\":\"BadRequest\",\"code\":400}";
    struct fixture f;
    fixture_start(&f, "tok-5ecret-XYZ-0123456789");
    script_add(&f.sc, 400, "", echo, strlen(echo));
    cJSON *out = NULL;
    char *err = NULL;
    ck_assert_int_ne(kube_get(f.c, "/echo", &out, &err), 0);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(!strstr(err, "5ecret"), "token in: %s", err);
    ck_assert_msg(!strstr(err, "MIIEsecretkeybytes"), "key in: %s", err);
    ck_assert_msg(strstr(err, "GET /echo: 400") && strstr(err, "[redacted]") &&
                      strstr(err, "[redacted private key]"),
                  "the rest of the message stays: %s", err);
    free(err);
    /* the same from a watch stream's error answer (the script repeats its last answer) */
    err = NULL;
    ck_assert_int_ne(kube_stream(f.c, "/echo?watch=1", 5000, NULL, NULL, NULL, NULL, &err), 0);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(!strstr(err, "5ecret") && !strstr(err, "MIIEsecretkeybytes"), "in: %s", err);
    free(err);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_a_rotated_token_file_is_picked_up)
{
    char dir[] = "/tmp/sh-kclient-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char tf[128];
    snprintf(tf, sizeof tf, "%s/token", dir);
    FILE *fp = fopen(tf, "w");
    fputs("first\n", fp);
    fclose(fp);
    struct fixture f;
    fixture_start(&f, NULL);
    kube_client_free(f.c);
    f.cfg.token_file = tf;
    ck_assert_int_eq(kube_client_new(&f.cfg, NULL, &f.c, NULL), 0);
    script_add(&f.sc, 200, "", "{}\n", 3);
    ck_assert_int_eq(kube_get(f.c, "/t", NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(f.sc.last_headers, "Authorization: Bearer first\r\n"));
    /* the kubelet swaps the file (a new inode) */
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/.token.new", dir);
    fp = fopen(tmp, "w");
    fputs("second-token\n", fp);
    fclose(fp);
    ck_assert_int_eq(rename(tmp, tf), 0);
    ck_assert_int_eq(kube_get(f.c, "/t", NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(f.sc.last_headers, "Authorization: Bearer second-token\r\n"));
    fixture_stop(&f);
    unlink(tf);
    rmdir(dir);
}
END_TEST

START_TEST(test_golden_list_body_is_parsed)
{
    struct fixture f;
    fixture_start(&f, "tok");
    script_add_golden(&f.sc, "03-get-list.http", "LIST widgets in namespace golden");
    cJSON *out = NULL;
    ck_assert_int_eq(kube_get(f.c, "/apis/example.dev/v1alpha1/namespaces/golden/widgets", &out, NULL), 0);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(out, "kind")), "WidgetList");
    const cJSON *meta = cJSON_GetObjectItem(out, "metadata");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "resourceVersion")), "343");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "continue")), "");
    ck_assert_int_ge(cJSON_GetArraySize(cJSON_GetObjectItem(out, "items")), 1);
    cJSON_Delete(out);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_golden_table_body_is_plain_json_to_the_client)
{
    struct fixture f;
    fixture_start(&f, "tok");
    script_add_golden(&f.sc, "14-table.http", "LIST widgets as a Table");
    cJSON *out = NULL;
    ck_assert_int_eq(kube_get(f.c, "/t", &out, NULL), 0);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(out, "kind")), "Table");
    const cJSON *cols = cJSON_GetObjectItem(out, "columnDefinitions");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(cols, 0), "name")), "Name");
    ck_assert_int_ge(cJSON_GetArraySize(cJSON_GetObjectItem(out, "rows")), 1);
    cJSON_Delete(out);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_a_body_over_the_limit_is_refused)
{
    struct fixture f;
    fixture_start(&f, "tok");
    kube_client_free(f.c);
    struct kube_client_options o;
    kube_client_options_default(&o);
    o.max_body = 100;
    ck_assert_int_eq(kube_client_new(&f.cfg, &o, &f.c, NULL), 0);
    char big[300];
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[sizeof big - 1] = '}';
    script_add(&f.sc, 200, "", big, sizeof big);
    char *err = NULL;
    ck_assert_int_eq(kube_get(f.c, "/big", NULL, &err), SH_ETOOBIG);
    ck_assert_str_eq(err, "GET /big: response larger than 100 bytes");
    free(err);
    fixture_stop(&f);
}
END_TEST

START_TEST(test_connection_refused_is_retried_then_reported)
{
    struct kt_server *srv = kt_server_start(scripted_handler, NULL);
    char url[64];
    snprintf(url, sizeof url, "%s", srv->url);
    kt_server_stop(srv); /* nothing listens on that port now */
    struct kube_config cfg = {.server = url};
    struct sleeps sl = {0};
    struct kube_client_options o;
    kube_client_options_default(&o);
    o.sleep_ms = record_sleep;
    o.sleep_ctx = &sl;
    o.max_attempts = 3;
    struct kube_client *c = NULL;
    ck_assert_int_eq(kube_client_new(&cfg, &o, &c, NULL), 0);
    char *err = NULL;
    cJSON *body = cJSON_Parse("{}");
    ck_assert_int_eq(kube_post(c, "/e", body, NULL, &err), SH_EUNAVAIL);
    ck_assert_int_eq(sl.n, 2);
    ck_assert_msg(strncmp(err, "POST /e: ", 9) == 0, "%s", err);
    free(err);
    cJSON_Delete(body);
    kube_client_free(c);
}
END_TEST

/* ---- streams ---- */

struct streamer {
    const char *body;
    size_t len;
    int status;
    bool hang; /* after the body: keep the connection open until the client leaves */
};

static bool stream_handler(void *ctx, struct kt_server *s, const struct kt_request *rq, int fd)
{
    (void)s;
    (void)rq;
    struct streamer *st = ctx;
    if (st->status != 200) {
        kt_reply(fd, st->status, "", st->body, st->len);
        return true;
    }
    kt_chunked_start(fd, 200);
    /* one event per chunk, as the API server does */
    const char *p = st->body, *end = st->body + st->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        kt_chunk(fd, p, n);
        p += n;
    }
    if (st->hang) {
        char b;
        while (recv(fd, &b, 1, 0) > 0) {
        }
        return false;
    }
    kt_chunked_end(fd);
    return true;
}

struct collected {
    size_t bytes;
    int lines;
    atomic_bool *stop_after;
};

static int collect(void *ctx, const char *buf, size_t len)
{
    struct collected *c = ctx;
    c->bytes += len;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\n')
            c->lines++;
    if (c->stop_after && c->lines >= 9)
        atomic_store(c->stop_after, true);
    return 0;
}

START_TEST(test_stream_delivers_the_golden_watch_bytes_and_reports_errors)
{
    int n = 0;
    struct kt_exchange *xs = kt_golden("12-watch.http", &n);
    const struct kt_exchange *x = kt_find(xs, n, "timeoutSeconds=70 (stream");
    struct streamer st = {.body = x->response_body, .len = x->response_body_len, .status = 200};
    struct kt_server *srv = kt_server_start(stream_handler, &st);
    struct kube_config cfg = {.server = srv->url, .token = "t"};
    struct kube_client *c = NULL;
    ck_assert_int_eq(kube_client_new(&cfg, NULL, &c, NULL), 0);
    struct collected col = {0};
    long code = 0;
    ck_assert_int_eq(kube_stream(c, "/w?watch=1", 10000, collect, &col, NULL, &code, NULL), 0);
    ck_assert_int_eq(code, 200);
    ck_assert_uint_eq(col.bytes, 5257);
    ck_assert_int_eq(col.lines, 9);

    /* a non-200 answer is an error with the Status message, the body is not streamed */
    const struct kt_exchange *gone = NULL;
    int n13 = 0;
    struct kt_exchange *xs13 = kt_golden("13-too-old-rv.http", &n13);
    gone = kt_find(xs13, n13, "garbage continue");
    st.body = gone->response_body;
    st.len = gone->response_body_len;
    st.status = gone->status;
    memset(&col, 0, sizeof col);
    char *err = NULL;
    ck_assert_int_eq(kube_stream(c, "/w?watch=1", 10000, collect, &col, NULL, &code, &err), SH_EINVAL);
    ck_assert_int_eq(code, 400);
    ck_assert_uint_eq(col.bytes, 0);
    ck_assert_msg(strncmp(err, "GET /w: 400 Bad Request: ", 25) == 0, "%s", err);
    free(err);
    kube_client_free(c);
    kt_server_stop(srv);
    kt_exchanges_free(xs13, n13);
    kt_exchanges_free(xs, n);
}
END_TEST

START_TEST(test_stream_stops_when_asked)
{
    int n = 0;
    struct kt_exchange *xs = kt_golden("12-watch.http", &n);
    const struct kt_exchange *x = kt_find(xs, n, "timeoutSeconds=70 (stream");
    struct streamer st = {.body = x->response_body, .len = x->response_body_len, .status = 200,
                          .hang = true};
    struct kt_server *srv = kt_server_start(stream_handler, &st);
    struct kube_config cfg = {.server = srv->url, .token = "t"};
    struct kube_client *c = NULL;
    ck_assert_int_eq(kube_client_new(&cfg, NULL, &c, NULL), 0);
    atomic_bool stop = false;
    struct collected col = {.stop_after = &stop};
    ck_assert_int_eq(kube_stream(c, "/w", 60000, collect, &col, &stop, NULL, NULL), SH_ESTOPPED);
    ck_assert_int_eq(col.lines, 9);
    kube_client_free(c);
    kt_server_stop(srv);
    kt_exchanges_free(xs, n);
}
END_TEST

START_TEST(test_status_parse_and_error_message_shapes)
{
    struct kube_status st;
    cJSON *o = cJSON_Parse("{\"kind\":\"Status\",\"status\":\"Success\",\"details\":{\"name\":\"b\"}}");
    ck_assert(kube_status_parse(o, &st));
    ck_assert_str_eq(st.status, "Success");
    ck_assert_int_eq(st.code, 0);
    ck_assert_ptr_null(st.message);
    cJSON_Delete(o);
    o = cJSON_Parse("{\"kind\":\"Widget\"}");
    ck_assert(!kube_status_parse(o, &st));
    cJSON_Delete(o);
    char *m = kube_error_message("DELETE", "/a?x=1", 418, NULL, 0);
    ck_assert_str_eq(m, "DELETE /a: 418");
    free(m);
    ck_assert_int_eq(kube_http_error(409, "AlreadyExists"), SH_EEXISTS);
    ck_assert_int_eq(kube_http_error(409, "Conflict"), SH_ECONFLICT);
    ck_assert_int_eq(kube_http_error(504, NULL), SH_EUNAVAIL);
}
END_TEST

Suite *kube_client_suite(void)
{
    Suite *s = suite_create("kube_client");
    TCase *tc = tcase_create("client");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_golden_409_conflict_becomes_a_clear_message_and_is_not_retried);
    tcase_add_test(tc, test_golden_4xx_statuses_map_to_codes_and_are_never_retried);
    tcase_add_test(tc, test_429_honours_retry_after_then_succeeds);
    tcase_add_test(tc, test_throttling_past_the_retry_budget_returns_at_once);
    tcase_add_test(tc, test_5xx_is_retried_with_doubling_backoff_up_to_the_attempt_limit);
    tcase_add_test(tc, test_headers_sent_and_the_connection_is_reused);
    tcase_add_test(tc, test_a_rotated_token_file_is_picked_up);
    tcase_add_test(tc, test_error_messages_never_carry_the_token_or_a_key);
    tcase_add_test(tc, test_golden_list_body_is_parsed);
    tcase_add_test(tc, test_golden_table_body_is_plain_json_to_the_client);
    tcase_add_test(tc, test_a_body_over_the_limit_is_refused);
    tcase_add_test(tc, test_connection_refused_is_retried_then_reported);
    tcase_add_test(tc, test_stream_delivers_the_golden_watch_bytes_and_reports_errors);
    tcase_add_test(tc, test_stream_stops_when_asked);
    tcase_add_test(tc, test_status_parse_and_error_message_shapes);
    suite_add_tcase(s, tc);
    return s;
}
