/*
 * check_notify.c — notifications (controller/server/notify.h) against a real
 * HTTP receiver in this file (a thread on 127.0.0.1): the JSON payload and
 * Slack's format, retries after 500s, a 429 with Retry-After, the dedup
 * window on the fake clock, a receiver that hangs, the default `on` list,
 * a secret URL that appears in no log line and no metric, and --allow-url
 * (the process's guard) refusing a webhook on its URL or on the address it
 * resolves to, at once and without retries.
 */
#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/urlguard.h"
#include "runtime/pipeline.h"
#include "server/notify.h"

Suite *notify_suite(void);

#define T0 1795888800000LL
#define MAXREQ 16

/* ---- the receiver ---------------------------------------------------------- */

struct receiver {
    int fd, port;
    pthread_t th;
    atomic_bool stop;
    int script[MAXREQ];   /* status per request; 0: 200; -1: hang */
    int retry_after;      /* seconds, sent with a 429 */
    pthread_mutex_t mu;
    char *bodies[MAXREQ];
    char paths[MAXREQ][128];
    int64_t at[MAXREQ];   /* monotonic ms of each request */
    int n;
};

static void *serve(void *arg)
{
    struct receiver *r = arg;
    while (!atomic_load(&r->stop)) {
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(r->fd, NULL, NULL);
        if (c < 0)
            continue;
        char buf[16384];
        size_t len = 0;
        char *body = NULL;
        long clen = -1;
        while (len < sizeof buf - 1) {
            ssize_t k = recv(c, buf + len, sizeof buf - 1 - len, 0);
            if (k <= 0)
                break;
            len += (size_t)k;
            buf[len] = '\0';
            char *end = strstr(buf, "\r\n\r\n");
            if (end) {
                char *cl = strcasestr(buf, "content-length:");
                clen = cl ? strtol(cl + 15, NULL, 10) : 0;
                if ((long)(len - (size_t)(end + 4 - buf)) >= clen) {
                    body = end + 4;
                    break;
                }
            }
        }
        pthread_mutex_lock(&r->mu);
        int i = r->n < MAXREQ ? r->n++ : MAXREQ - 1;
        free(r->bodies[i]);
        r->bodies[i] = strdup(body ? body : "");
        sscanf(buf, "POST %127s", r->paths[i]);
        r->at[i] = clock_monotonic_ms();
        int st = r->script[i];
        pthread_mutex_unlock(&r->mu);
        if (st == -1) { /* hang until the client gives up or the test ends */
            while (!atomic_load(&r->stop)) {
                struct pollfd q = {.fd = c, .events = POLLIN};
                if (poll(&q, 1, 50) > 0 && recv(c, buf, sizeof buf, 0) <= 0)
                    break;
            }
        } else {
            char resp[256];
            int code = st ? st : 200;
            snprintf(resp, sizeof resp,
                     "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n%s%s%s\r\nok", code,
                     code == 429 ? "Retry-After: " : "", code == 429 ? (r->retry_after ? "1" : "0") : "",
                     code == 429 ? "\r\n" : "");
            ssize_t w = send(c, resp, strlen(resp), MSG_NOSIGNAL);
            (void)w;
        }
        close(c);
    }
    return NULL;
}

static void receiver_start(struct receiver *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(r->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(r->fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(r->fd, 16), 0);
    socklen_t al = sizeof a;
    getsockname(r->fd, (struct sockaddr *)&a, &al);
    r->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&r->th, NULL, serve, r), 0);
}

static void receiver_stop(struct receiver *r)
{
    atomic_store(&r->stop, true);
    pthread_join(r->th, NULL);
    close(r->fd);
    for (int i = 0; i < MAXREQ; i++)
        free(r->bodies[i]);
    pthread_mutex_destroy(&r->mu);
}

static int received(struct receiver *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* ---- fixtures ------------------------------------------------------------- */

static struct fake_clock fc;
static struct receiver rx;
static char logpath[] = "/tmp/check_notify_log_XXXXXX";
static FILE *logfile;
static char url[256];

#define SECRET "T0KEN-s3cr3t-9f2c"

static void setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    fake_clock_init(&fc, T0);
    receiver_start(&rx);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/" SECRET, rx.port);
    setenv("SH_TEST_WEBHOOK", url, 1);
    snprintf(logpath, sizeof logpath, "%s", "/tmp/check_notify_log_XXXXXX");
    int fd = mkstemp(logpath);
    ck_assert_int_ge(fd, 0);
    logfile = fdopen(fd, "w+");
    log_configure(LOG_DEBUG, LOG_FORMAT_TEXT, logfile);
}

static void teardown(void)
{
    receiver_stop(&rx);
    log_configure(LOG_INFO, LOG_FORMAT_TEXT, stderr);
    fclose(logfile);
    unlink(logpath);
    unsetenv("SH_TEST_WEBHOOK");
}

static char *log_text(void)
{
    fflush(logfile);
    FILE *f = fopen(logpath, "r");
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static struct pipeline *make(const char *notify_json)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"selfheal.dev/v1alpha1\",\"kind\":\"SelfHealingPipeline\","
             "\"metadata\":{\"name\":\"housing\",\"namespace\":\"demo\"},\"spec\":{\"notify\":%s}}",
             notify_json);
    cJSON *obj = cJSON_Parse(buf);
    ck_assert_ptr_nonnull(obj);
    struct pipeline *p = NULL;
    char *err = NULL;
    ck_assert_int_eq(pipeline_new(obj, "test", "default", 1, T0, &p, &err), 0);
    ck_assert_msg(p->valid, "%s", p->invalid_message ? p->invalid_message : "");
    free(err);
    return p;
}

static struct notifier *new_notifier(struct metrics *reg, int64_t timeout_ms, int attempts)
{
    struct notifier_options o = {.clock = &fc.base,
                                 .metrics = reg,
                                 .max_attempts = attempts,
                                 .attempt_timeout_ms = timeout_ms,
                                 .backoff_ms = 50,
                                 .max_backoff_ms = 2000};
    struct notifier *n = NULL;
    ck_assert_int_eq(notifier_new(&o, &n), 0);
    return n;
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(test_payload_json_and_slack)
{
    char *s = notify_payload(0, "demo", "housing", "RolledBack", "rmse 45210.5 > 40000: rolled back v3 → v1",
                             "RollingBack", EVENT_NORMAL, T0 + 123);
    cJSON *o = cJSON_Parse(s);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "version")->valuestring, "selfheal.dev/notification/v1");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "pipeline")->valuestring, "housing");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "namespace")->valuestring, "demo");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "loop")->valuestring, "model");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "reason")->valuestring, "RolledBack");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "phase")->valuestring, "RollingBack");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "time")->valuestring, "2026-11-28T18:00:00.123Z");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "action")->valuestring, "rollback");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "outcome")->valuestring, "started");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "type")->valuestring, "Normal");
    cJSON_Delete(o);
    free(s);
    /* a phase: no loop, no action */
    s = notify_payload(0, "demo", "housing", "NeedsAttention", "m", "NeedsAttention", EVENT_WARNING, T0);
    o = cJSON_Parse(s);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "loop")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "action")));
    cJSON_Delete(o);
    free(s);
    s = notify_payload(1, "demo", "housing", "RetrainFailed", "exit 1", "Degraded", EVENT_WARNING, T0);
    o = cJSON_Parse(s);
    ck_assert_ptr_nonnull(o);
    const cJSON *text = cJSON_GetObjectItem(o, "text");
    ck_assert(cJSON_IsString(text));
    ck_assert_ptr_nonnull(strstr(text->valuestring, "*demo/housing*: RetrainFailed — exit 1"));
    const cJSON *blocks = cJSON_GetObjectItem(o, "blocks");
    ck_assert_int_eq(cJSON_GetArraySize(blocks), 2);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 0), "type")->valuestring, "section");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 1), "type")->valuestring, "context");
    cJSON_Delete(o);
    free(s);
}
END_TEST

START_TEST(test_needs_attention_once_after_two_500s_and_the_secret_never_leaks)
{
    rx.script[0] = 500;
    rx.script[1] = 500;
    struct metrics *reg = metrics_new();
    struct notifier *n = new_notifier(reg, 2000, 5);
    struct pipeline *p = make("[{\"webhook\":{\"urlFrom\":{\"env\":\"SH_TEST_WEBHOOK\"}}}]");
    notifier_offer(n, p, EVENT_WARNING, "NeedsAttention", "3 rollbacks within the window", "NeedsAttention");
    /* never blocks: a caller that sent would come back with the delivery
     * done, after two 500s and their backoff */
    ck_assert_uint_eq(notifier_count(n, "delivered"), 0);
    ck_assert_int_eq(notifier_flush(n, 10000), 0);
    ck_assert_int_eq(received(&rx), 3);
    ck_assert_uint_eq(notifier_count(n, "delivered"), 1);
    ck_assert_uint_eq(notifier_count(n, "retried"), 2);
    ck_assert_str_eq(rx.paths[2], "/hooks/" SECRET);
    cJSON *o = cJSON_Parse(rx.bodies[2]);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "reason")->valuestring, "NeedsAttention");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "message")->valuestring, "3 rollbacks within the window");
    cJSON_Delete(o);
    /* backoff grows: the second retry waits longer than the first */
    ck_assert_int_ge(rx.at[1] - rx.at[0], 45);
    ck_assert_int_ge(rx.at[2] - rx.at[1], 95);
    char *m = metrics_render(reg);
    ck_assert_ptr_nonnull(strstr(m, "selfheal_notifications_total{outcome=\"delivered\"} 1"));
    ck_assert_ptr_nonnull(strstr(m, "selfheal_notifications_total{outcome=\"retried\"} 2"));
    ck_assert_ptr_null(strstr(m, SECRET));
    free(m);
    const char *logs = log_text();
    ck_assert_ptr_nonnull(strstr(logs, "HTTP 500; retrying"));
    ck_assert_ptr_nonnull(strstr(logs, "delivered to notify[0]"));
    ck_assert_ptr_null(strstr(logs, SECRET));
    ck_assert_ptr_null(strstr(logs, "/hooks/"));
    notifier_free(n);
    metrics_free(reg);
    pipeline_unref(p);
}
END_TEST

START_TEST(test_429_honours_retry_after)
{
    rx.script[0] = 429;
    rx.retry_after = 1;
    struct notifier *n = new_notifier(NULL, 2000, 3);
    struct pipeline *p = make("[{\"webhook\":{\"urlFrom\":{\"env\":\"SH_TEST_WEBHOOK\"}},\"format\":\"slack\",\"on\":[\"RolledBack\"]}]");
    notifier_offer(n, p, EVENT_NORMAL, "RolledBack", "rolled back v3 → v1", "RollingBack");
    ck_assert_int_eq(notifier_flush(n, 10000), 0);
    ck_assert_int_eq(received(&rx), 2);
    ck_assert_int_ge(rx.at[1] - rx.at[0], 950); /* Retry-After: 1, not the 50 ms backoff */
    ck_assert_uint_eq(notifier_count(n, "delivered"), 1);
    cJSON *o = cJSON_Parse(rx.bodies[1]); /* valid Slack JSON */
    ck_assert_ptr_nonnull(o);
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(o, "text")));
    ck_assert(cJSON_IsArray(cJSON_GetObjectItem(o, "blocks")));
    cJSON_Delete(o);
    notifier_free(n);
    pipeline_unref(p);
}
END_TEST

START_TEST(test_window_dedups_per_pipeline_and_reason)
{
    struct notifier *n = new_notifier(NULL, 2000, 3);
    struct pipeline *p = make("[{\"webhook\":{\"urlFrom\":{\"env\":\"SH_TEST_WEBHOOK\"}},\"on\":[\"RolledBack\",\"RetrainFailed\"],\"window\":\"10m\"}]");
    notifier_offer(n, p, EVENT_NORMAL, "RolledBack", "1", NULL);
    notifier_offer(n, p, EVENT_NORMAL, "RolledBack", "2", NULL);      /* within the window */
    notifier_offer(n, p, EVENT_WARNING, "RetrainFailed", "3", NULL);  /* another reason */
    notifier_offer(n, p, EVENT_WARNING, "ProbeFailed", "4", NULL);    /* not wanted */
    fake_clock_advance(&fc, 10 * 60 * 1000);
    notifier_offer(n, p, EVENT_NORMAL, "RolledBack", "5", NULL);      /* the window passed */
    ck_assert_int_eq(notifier_flush(n, 10000), 0);
    ck_assert_int_eq(received(&rx), 3);
    ck_assert_uint_eq(notifier_count(n, "deduplicated"), 1);
    ck_assert_uint_eq(notifier_count(n, "delivered"), 3);
    notifier_free(n);
    pipeline_unref(p);
}
END_TEST

START_TEST(test_defaults_and_a_receiver_that_hangs)
{
    rx.script[0] = -1;
    rx.script[1] = -1;
    struct notifier *n = new_notifier(NULL, 300, 2);
    struct pipeline *p = make("[{\"webhook\":{\"urlFrom\":{\"env\":\"SH_TEST_WEBHOOK\"}}}]");
    notifier_offer(n, p, EVENT_WARNING, "ProbeFailed", "not a default", NULL);
    notifier_offer(n, p, EVENT_WARNING, "RetrainFailed", "exit 1", "Degraded");
    notifier_offer(n, p, EVENT_NORMAL, "Recovered", "healthy again", "Healthy");
    /* queued, not sent, by the caller: sending would have waited out two
     * 300 ms timeouts of the hanging receiver and counted the failure */
    ck_assert_uint_eq(notifier_count(n, "failed"), 0);
    ck_assert_uint_eq(notifier_count(n, "delivered"), 0);
    ck_assert_int_eq(notifier_flush(n, 10000), 0);
    /* RetrainFailed: two attempts time out → failed; Recovered: delivered */
    ck_assert_uint_eq(notifier_count(n, "failed"), 1);
    ck_assert_uint_eq(notifier_count(n, "delivered"), 1);
    ck_assert_int_eq(received(&rx), 3);
    const char *logs = log_text();
    ck_assert_ptr_nonnull(strstr(logs, "given up after 2 attempt(s)"));
    ck_assert_ptr_null(strstr(logs, SECRET));
    notifier_free(n);
    pipeline_unref(p);
}
END_TEST

START_TEST(test_url_from_file_and_a_missing_env)
{
    char path[] = "/tmp/check_notify_url_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    dprintf(fd, "%s\n", url);
    close(fd);
    struct notifier *n = new_notifier(NULL, 2000, 2);
    char spec[600];
    snprintf(spec, sizeof spec,
             "[{\"webhook\":{\"urlFrom\":{\"file\":\"%s\"}}},{\"webhook\":{\"urlFrom\":{\"env\":\"SH_TEST_NO_SUCH\"}}}]",
             path);
    struct pipeline *p = make(spec);
    notifier_offer(n, p, EVENT_WARNING, "NeedsAttention", "m", "NeedsAttention");
    ck_assert_int_eq(notifier_flush(n, 10000), 0);
    ck_assert_int_eq(received(&rx), 1);
    ck_assert_uint_eq(notifier_count(n, "delivered"), 1);
    ck_assert_uint_eq(notifier_count(n, "failed"), 1);
    const char *logs = log_text();
    ck_assert_ptr_nonnull(strstr(logs, "the environment variable SH_TEST_NO_SUCH is not set"));
    ck_assert_ptr_null(strstr(logs, SECRET));
    notifier_free(n);
    pipeline_unref(p);
    unlink(path);
}
END_TEST

START_TEST(test_allow_url_refuses_a_webhook_at_once_with_the_reason)
{
    /* allowed: the receiver's address and port, and a network elsewhere */
    struct urlguard *g = NULL;
    ck_assert_int_eq(urlguard_new(&g), 0);
    char pat[64];
    snprintf(pat, sizeof pat, "127.0.0.1:%d", rx.port);
    ck_assert_int_eq(urlguard_add(g, pat, NULL), 0);
    ck_assert_int_eq(urlguard_add(g, "10.0.0.0/8", NULL), 0);
    urlguard_set_process(g);
    char lit[256], name[256];
    snprintf(lit, sizeof lit, "http://127.0.0.2:%d/hooks/" SECRET, rx.port); /* refused as written */
    snprintf(name, sizeof name, "http://localhost:%d/hooks/" SECRET, rx.port + 1); /* when connecting */
    setenv("SH_TEST_WEBHOOK_LIT", lit, 1);
    setenv("SH_TEST_WEBHOOK_NAME", name, 1);
    struct notifier *n = new_notifier(NULL, 2000, 5);
    struct pipeline *p = make("[{\"webhook\":{\"urlFrom\":{\"env\":\"SH_TEST_WEBHOOK\"}}},"
                              "{\"webhook\":{\"urlFrom\":{\"env\":\"SH_TEST_WEBHOOK_LIT\"}}},"
                              "{\"webhook\":{\"urlFrom\":{\"env\":\"SH_TEST_WEBHOOK_NAME\"}}}]");
    notifier_offer(n, p, EVENT_WARNING, "NeedsAttention", "m", "NeedsAttention");
    ck_assert_int_eq(notifier_flush(n, 10000), 0);
    ck_assert_int_eq(received(&rx), 1);
    ck_assert_uint_eq(notifier_count(n, "delivered"), 1);
    ck_assert_uint_eq(notifier_count(n, "failed"), 2);
    ck_assert_uint_eq(notifier_count(n, "retried"), 0);
    const char *logs = log_text();
    char want[300];
    snprintf(want, sizeof want,
             "notify[1] failed: host 127.0.0.2 (port %d) is not in the allowed URLs (--allow-url "
             "127.0.0.1:%d, 10.0.0.0/8)", rx.port, rx.port);
    ck_assert_msg(strstr(logs, want), "%s", logs);
    snprintf(want, sizeof want,
             "of host localhost (port %d) is not in the allowed URLs (--allow-url 127.0.0.1:%d, "
             "10.0.0.0/8)", rx.port + 1, rx.port);
    ck_assert_msg(strstr(logs, "notify[2] failed: address "), "%s", logs);
    ck_assert_msg(strstr(logs, want), "%s", logs);
    ck_assert_ptr_null(strstr(logs, SECRET));
    notifier_free(n);
    pipeline_unref(p);
    urlguard_set_process(NULL);
    urlguard_free(g);
    unsetenv("SH_TEST_WEBHOOK_LIT");
    unsetenv("SH_TEST_WEBHOOK_NAME");
}
END_TEST

Suite *notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_payload_json_and_slack);
    tcase_add_test(tc, test_needs_attention_once_after_two_500s_and_the_secret_never_leaks);
    tcase_add_test(tc, test_429_honours_retry_after);
    tcase_add_test(tc, test_window_dedups_per_pipeline_and_reason);
    tcase_add_test(tc, test_defaults_and_a_receiver_that_hangs);
    tcase_add_test(tc, test_url_from_file_and_a_missing_env);
    tcase_add_test(tc, test_allow_url_refuses_a_webhook_at_once_with_the_reason);
    suite_add_tcase(s, tc);
    return s;
}
