/*
 * check_probe.c — the HTTP prober (reconcilers/service/probe.h) against real
 * servers on loopback: bin/flaky_server (started per test with --port 0
 * --ready-fd, so no port races and no sleeping) and a bound but closed port.
 * Also the timetable (probe_sched.h) and the failure messages. Waiting is
 * always on a condition (a result, a loop iteration) with a deadline.
 *
 * Needs bin/flaky_server (`make examples`); run from the repository root.
 */
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/errors.h"
#include "service/probe.h"
#include "service/probe_sched.h"
#include "service/probe_xfer.h"

Suite *probe_suite(void);

#define SERVER_BIN "bin/flaky_server"
#define WAIT_MS 20000
#define FAKE_START 1800000000000LL

/* ---- fixtures ---- */

struct server {
    pid_t pid;
    long port;
    char url[128]; /* http://127.0.0.1:PORT/health */
};

/* Starts bin/flaky_server with --mode and optional extra arguments (NULL
 * terminated) and reads its port from a pipe. */
static void server_start(struct server *s, const char *mode, ...)
{
    ck_assert_msg(access(SERVER_BIN, X_OK) == 0, "%s is missing: run `make examples` first",
                  SERVER_BIN);
    const char *argv[24] = {SERVER_BIN, "--port", "0", "--ready-fd", "3", "--mode", mode};
    int argc = 7;
    va_list ap;
    va_start(ap, mode);
    for (const char *a; argc < 23 && (a = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;

    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (dup2(fds[1], 3) < 0 || devnull < 0 || dup2(devnull, 2) < 0)
            _exit(126);
        execv(SERVER_BIN, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    ck_assert_msg(poll(&pfd, 1, WAIT_MS) == 1, "flaky_server did not announce its port");
    char line[32] = {0};
    ssize_t n = read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    ck_assert_msg(n > 1, "flaky_server exited before listening");
    s->pid = pid;
    s->port = strtol(line, NULL, 10);
    ck_assert_int_gt(s->port, 0);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%ld/health", s->port);
}

static void server_stop(struct server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    int status = 0;
    waitpid(s->pid, &status, 0);
    s->pid = 0;
}

/* GET /control?<query> on the server; returns the HTTP status. */
static long server_control(const struct server *s, const char *query)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%ld/control?%s", s->port, query);
    CURL *h = curl_easy_init();
    ck_assert_ptr_nonnull(h);
    FILE *sink = fopen("/dev/null", "w");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    long code = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    fclose(sink);
    return code;
}

/* A port bound on loopback that nobody listens on: connections are refused
 * and no other process can take it while `fd` stays open. */
static int closed_port(long *ret_port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, len), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *ret_port = ntohs(a.sin_port);
    return fd;
}

/* What the callbacks saw. */
struct seen {
    pthread_mutex_t lock;
    int results;     /* on_result calls */
    int probes;      /* on_probe calls */
    char last_key[PROBE_KEY_MAX];
};

static void on_result(void *ctx, const char *key)
{
    struct seen *s = ctx;
    pthread_mutex_lock(&s->lock);
    s->results++;
    snprintf(s->last_key, sizeof s->last_key, "%s", key);
    pthread_mutex_unlock(&s->lock);
}

static void on_probe(void *ctx, const char *key, const struct probe_observation *obs)
{
    (void)key;
    struct seen *s = ctx;
    ck_assert(obs->known);
    pthread_mutex_lock(&s->lock);
    s->probes++;
    pthread_mutex_unlock(&s->lock);
}

static int seen_results(struct seen *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->results;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static int seen_probes(struct seen *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->probes;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static struct prober *prober_start(const struct sh_clock *clock, const struct prober_options *opts,
                                   struct seen *seen)
{
    memset(seen, 0, sizeof *seen);
    pthread_mutex_init(&seen->lock, NULL);
    struct prober_options o = opts ? *opts : (struct prober_options){0};
    o.on_probe = on_probe;
    struct prober *pr = NULL;
    ck_assert_int_eq(prober_new(clock, &o, on_result, seen, &pr), 0);
    ck_assert_ptr_nonnull(pr);
    return pr;
}

static void prober_done(struct prober *pr, struct seen *seen)
{
    prober_free(pr);
    pthread_mutex_destroy(&seen->lock);
}

/* Probes `key` once (it must be new) and returns the observation. */
static struct probe_observation probe_once(struct prober *pr, const char *key, const char *url,
                                           long timeout_ms)
{
    struct probe_observation obs;
    ck_assert_int_eq(prober_set_target(pr, key, url, 3600000, timeout_ms), 0);
    ck_assert_int_eq(prober_wait(pr, key, 1, WAIT_MS), 0);
    ck_assert_int_eq(prober_get(pr, key, &obs), 0);
    return obs;
}

/* Waits until the target's newest result has last_ok == want. */
static struct probe_observation wait_for_ok(struct prober *pr, const char *key, bool want)
{
    struct probe_observation obs;
    int64_t deadline = clock_monotonic_ms() + WAIT_MS;
    ck_assert_int_eq(prober_get(pr, key, &obs), 0);
    while (!(obs.known && obs.last_ok == want)) {
        long left = (long)(deadline - clock_monotonic_ms());
        ck_assert_msg(left > 0, "%s never became %s: %s", key, want ? "ok" : "failing",
                      obs.last_error);
        ck_assert_int_eq(prober_wait(pr, key, obs.probes + 1, left), 0);
        ck_assert_int_eq(prober_get(pr, key, &obs), 0);
    }
    return obs;
}

/* ---- outcomes of one probe ---- */

START_TEST(test_probe_healthy_server_is_ok_with_status_200)
{
    struct server srv;
    server_start(&srv, "ok", NULL);
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    struct probe_observation o = probe_once(pr, "ns/api", srv.url, 2000);
    ck_assert(o.known);
    ck_assert(o.last_ok);
    ck_assert_int_eq(o.last_http_status, 200);
    ck_assert_int_eq(o.consecutive_successes, 1);
    ck_assert_int_eq(o.consecutive_failures, 0);
    ck_assert_int_eq(o.first_failure_ms, 0);
    ck_assert_int_eq(o.last_success_ms, o.last_probe_ms);
    ck_assert_int_gt(o.last_probe_ms, 0);
    ck_assert_str_eq(o.last_error, "");
    ck_assert_uint_eq(o.probes, 1);
    ck_assert_uint_eq(o.failures, 0);
    ck_assert(o.last_latency_ms >= 0);
    ck_assert_int_eq(seen_results(&seen), 1); /* the first result matters */
    ck_assert_str_eq(seen.last_key, "ns/api");
    prober_done(pr, &seen);
    server_stop(&srv);
}
END_TEST

START_TEST(test_probe_closed_port_fails_with_connection_refused)
{
    long port;
    int fd = closed_port(&port);
    char url[128], want[192];
    snprintf(url, sizeof url, "http://127.0.0.1:%ld/health", port);
    snprintf(want, sizeof want, "GET %s: connection refused", url);
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    struct probe_observation o = probe_once(pr, "ns/api", url, 2000);
    ck_assert(o.known);
    ck_assert(!o.last_ok);
    ck_assert_str_eq(o.last_error, want);
    ck_assert_int_eq(o.last_http_status, 0);
    ck_assert_int_eq(o.consecutive_failures, 1);
    ck_assert_int_eq(o.first_failure_ms, o.last_probe_ms);
    ck_assert_int_eq(o.last_success_ms, 0);
    ck_assert_uint_eq(o.failures, 1);
    ck_assert_int_eq(seen_results(&seen), 1);
    prober_done(pr, &seen);
    close(fd);
}
END_TEST

START_TEST(test_probe_http_500_is_a_failure_naming_the_status)
{
    struct server srv;
    server_start(&srv, "500", NULL);
    char want[192];
    snprintf(want, sizeof want, "GET %s: HTTP 500", srv.url);
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    struct probe_observation o = probe_once(pr, "ns/api", srv.url, 2000);
    ck_assert(!o.last_ok);
    ck_assert_int_eq(o.last_http_status, 500);
    ck_assert_str_eq(o.last_error, want);
    prober_done(pr, &seen);
    server_stop(&srv);
}
END_TEST

START_TEST(test_probe_hanging_server_fails_by_timeout)
{
    struct server srv;
    server_start(&srv, "hang", NULL);
    char want[192];
    snprintf(want, sizeof want, "GET %s: timed out after 300 ms", srv.url);
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    struct probe_observation o = probe_once(pr, "ns/api", srv.url, 300);
    ck_assert(!o.last_ok);
    ck_assert_str_eq(o.last_error, want);
    ck_assert(o.last_latency_ms >= 290); /* waited for the timeout (curl rounds to ms) */
    prober_done(pr, &seen);
    server_stop(&srv);
}
END_TEST

START_TEST(test_probe_trickling_body_fails_by_timeout_despite_status_200)
{
    struct server srv;
    server_start(&srv, "trickle", NULL);
    char want[192];
    snprintf(want, sizeof want, "GET %s: timed out after 1500 ms", srv.url);
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    /* bytes keep arriving (one at once, one after a second): still a failure */
    struct probe_observation o = probe_once(pr, "ns/api", srv.url, 1500);
    ck_assert(!o.last_ok);
    ck_assert_int_eq(o.last_http_status, 200);
    ck_assert_str_eq(o.last_error, want);
    prober_done(pr, &seen);
    server_stop(&srv);
}
END_TEST

START_TEST(test_probe_unresolvable_host_fails_with_dns_error)
{
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    struct probe_observation o = probe_once(pr, "ns/api", "http://nohost.invalid/", 5000);
    ck_assert(!o.last_ok);
    ck_assert_str_eq(o.last_error, "GET http://nohost.invalid/: could not resolve host \"nohost.invalid\"");
    prober_done(pr, &seen);
}
END_TEST

START_TEST(test_probe_tls_to_a_plain_http_server_is_a_tls_error)
{
    struct server srv;
    server_start(&srv, "ok", NULL);
    char url[128], prefix[192];
    snprintf(url, sizeof url, "https://127.0.0.1:%ld/health", srv.port);
    snprintf(prefix, sizeof prefix, "GET %s: TLS error: ", url);
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    struct probe_observation o = probe_once(pr, "ns/api", url, 2000);
    ck_assert(!o.last_ok);
    ck_assert_msg(strncmp(o.last_error, prefix, strlen(prefix)) == 0, "got: %s", o.last_error);
    ck_assert_uint_gt(strlen(o.last_error), strlen(prefix)); /* curl's detail follows */
    prober_done(pr, &seen);
    server_stop(&srv);
}
END_TEST

START_TEST(test_probe_large_body_is_cut_short_and_still_healthy)
{
    struct server srv;
    server_start(&srv, "ok", "--body-bytes", "300000", NULL);
    struct seen seen;
    struct prober_options opts = {.max_body_bytes = 1024};
    struct prober *pr = prober_start(NULL, &opts, &seen);
    struct probe_observation o = probe_once(pr, "ns/api", srv.url, 5000);
    ck_assert_msg(o.last_ok, "%s", o.last_error);
    ck_assert_int_eq(o.last_http_status, 200);
    prober_done(pr, &seen);
    server_stop(&srv);
}
END_TEST

START_TEST(test_probe_messages_never_show_url_credentials)
{
    long port;
    int fd = closed_port(&port);
    char url[128], want[192];
    snprintf(url, sizeof url, "http://user:s3cret@127.0.0.1:%ld/health", port);
    snprintf(want, sizeof want, "GET http://127.0.0.1:%ld/health: connection refused", port);
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    struct probe_observation o = probe_once(pr, "ns/api", url, 2000);
    ck_assert_str_eq(o.last_error, want);
    prober_done(pr, &seen);
    close(fd);
}
END_TEST

START_TEST(test_probe_rejects_invalid_targets_and_keeps_nothing)
{
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    char long_key[PROBE_KEY_MAX + 8];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    ck_assert_int_eq(prober_set_target(pr, "k", "ftp://127.0.0.1/x", 1000, 1000), SH_EINVAL);
    ck_assert_int_eq(prober_set_target(pr, "k", "not a url", 1000, 1000), SH_EINVAL);
    ck_assert_int_eq(prober_set_target(pr, "k", "", 1000, 1000), SH_EINVAL);
    ck_assert_int_eq(prober_set_target(pr, "k", NULL, 1000, 1000), SH_EINVAL);
    ck_assert_int_eq(prober_set_target(pr, "k", "http://", 1000, 1000), SH_EINVAL);
    ck_assert_int_eq(prober_set_target(pr, NULL, "http://127.0.0.1/", 1000, 1000), SH_EINVAL);
    ck_assert_int_eq(prober_set_target(pr, "", "http://127.0.0.1/", 1000, 1000), SH_EINVAL);
    ck_assert_int_eq(prober_set_target(pr, long_key, "http://127.0.0.1/", 1000, 1000), SH_EINVAL);
    ck_assert_int_eq(prober_set_target(pr, "k", "http://127.0.0.1/", 0, 1000), SH_EINVAL);
    ck_assert_int_eq(prober_set_target(pr, "k", "http://127.0.0.1/", 1000, 0), SH_EINVAL);
    struct probe_stats st;
    prober_get_stats(pr, &st);
    ck_assert_uint_eq(st.targets, 0);
    struct probe_observation o;
    ck_assert_int_eq(prober_get(pr, "k", &o), SH_ENOTFOUND);
    ck_assert(!o.known);
    ck_assert_int_eq(prober_remove(pr, "k"), SH_ENOTFOUND);
    ck_assert_int_eq(prober_probe_now(pr, "k"), SH_ENOTFOUND);
    prober_done(pr, &seen);
}
END_TEST

/* ---- streaks and callbacks ---- */

START_TEST(test_probe_failure_streak_then_recovery_notifies_only_on_changes)
{
    struct server srv;
    server_start(&srv, "500", NULL);
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    ck_assert_int_eq(prober_set_target(pr, "ns/api", srv.url, 20, 2000), 0);
    ck_assert_int_eq(prober_wait(pr, "ns/api", 3, WAIT_MS), 0);
    struct probe_observation o;
    ck_assert_int_eq(prober_get(pr, "ns/api", &o), 0);
    ck_assert_int_ge(o.consecutive_failures, 3);
    ck_assert_uint_eq(o.failures, o.probes);
    ck_assert_int_gt(o.first_failure_ms, 0);
    ck_assert_int_le(o.first_failure_ms, o.last_probe_ms);
    ck_assert_int_eq(o.last_success_ms, 0);
    int64_t streak_start = o.first_failure_ms;

    ck_assert_int_eq(server_control(&srv, "mode=ok"), 200);
    o = wait_for_ok(pr, "ns/api", true);
    ck_assert_int_eq(o.consecutive_failures, 0);
    ck_assert_int_eq(o.consecutive_successes, 1);
    ck_assert_int_eq(o.first_failure_ms, 0);
    ck_assert_int_ge(o.last_success_ms, streak_start);
    /* every failure, then the first success */
    ck_assert_int_eq(seen_results(&seen), (int)o.failures + 1);

    uint64_t before = o.probes;
    ck_assert_int_eq(prober_wait(pr, "ns/api", before + 3, WAIT_MS), 0);
    ck_assert_int_eq(prober_get(pr, "ns/api", &o), 0);
    ck_assert(o.last_ok);
    ck_assert_int_ge(o.consecutive_successes, 4);
    ck_assert_int_eq(seen_results(&seen), (int)o.failures + 1); /* steady success: quiet */
    prober_done(pr, &seen);
    server_stop(&srv);
}
END_TEST

START_TEST(test_probe_every_completed_probe_is_counted_and_reported)
{
    struct server srv;
    server_start(&srv, "flap", "--flap-period", "2", NULL);
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    ck_assert_int_eq(prober_set_target(pr, "ns/api", srv.url, 10, 2000), 0);
    ck_assert_int_eq(prober_wait(pr, "ns/api", 8, WAIT_MS), 0);
    ck_assert_int_eq(prober_remove(pr, "ns/api"), 0);
    ck_assert_int_eq(prober_wait_idle(pr, WAIT_MS), 0);
    struct probe_stats st;
    prober_get_stats(pr, &st);
    ck_assert_uint_ge(st.probes, 8);
    ck_assert_uint_eq(st.probes, (uint64_t)seen_probes(&seen));
    ck_assert_uint_ge(st.failures, 2); /* flapping every two requests */
    ck_assert_uint_lt(st.failures, st.probes);
    ck_assert(st.latency_sum_seconds > 0);
    for (int i = 1; i < PROBE_LATENCY_BUCKETS; i++) {
        ck_assert(st.bucket_le_seconds[i] > st.bucket_le_seconds[i - 1]);
        ck_assert_uint_ge(st.bucket_count[i], st.bucket_count[i - 1]);
    }
    ck_assert_uint_le(st.bucket_count[PROBE_LATENCY_BUCKETS - 1], st.probes);
    ck_assert_uint_eq(st.targets, 0);
    ck_assert_uint_eq(st.in_flight, 0);
    prober_done(pr, &seen);
    server_stop(&srv);
}
END_TEST

/* ---- scheduling by the injected clock ---- */

START_TEST(test_probe_schedules_by_the_injected_clock)
{
    struct server srv;
    server_start(&srv, "ok", NULL);
    struct fake_clock fc;
    fake_clock_init(&fc, FAKE_START);
    struct seen seen;
    struct prober *pr = prober_start(&fc.base, NULL, &seen);
    ck_assert_int_eq(prober_set_target(pr, "ns/api", srv.url, 10000, 2000), 0);
    ck_assert_int_eq(prober_wait(pr, "ns/api", 1, WAIT_MS), 0);
    ck_assert_int_eq(prober_wait_idle(pr, WAIT_MS), 0);
    struct probe_observation o;
    ck_assert_int_eq(prober_get(pr, "ns/api", &o), 0);
    ck_assert_uint_eq(o.probes, 1);
    ck_assert_int_eq(o.last_probe_ms, FAKE_START);
    ck_assert_int_eq(o.last_success_ms, FAKE_START);

    fake_clock_advance(&fc, 9999);
    ck_assert_int_eq(prober_wait_idle(pr, WAIT_MS), 0);
    ck_assert_int_eq(prober_get(pr, "ns/api", &o), 0);
    ck_assert_uint_eq(o.probes, 1); /* not due yet */

    fake_clock_advance(&fc, 1);
    ck_assert_int_eq(prober_wait_idle(pr, WAIT_MS), 0);
    ck_assert_int_eq(prober_get(pr, "ns/api", &o), 0);
    ck_assert_uint_eq(o.probes, 2);
    ck_assert_int_eq(o.last_probe_ms, FAKE_START + 10000);
    prober_done(pr, &seen);
    server_stop(&srv);
}
END_TEST

START_TEST(test_probe_unchanged_target_keeps_its_schedule)
{
    struct server srv;
    server_start(&srv, "ok", NULL);
    struct fake_clock fc;
    fake_clock_init(&fc, FAKE_START);
    struct seen seen;
    struct prober *pr = prober_start(&fc.base, NULL, &seen);
    ck_assert_int_eq(prober_set_target(pr, "ns/api", srv.url, 10000, 2000), 0);
    ck_assert_int_eq(prober_wait(pr, "ns/api", 1, WAIT_MS), 0);
    fake_clock_advance(&fc, 6000);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(prober_set_target(pr, "ns/api", srv.url, 10000, 2000), 0);
    ck_assert_int_eq(prober_set_target(pr, "ns/api", srv.url, 10000, 3000), 0); /* timeout only */
    ck_assert_int_eq(prober_wait_idle(pr, WAIT_MS), 0);
    struct probe_observation o;
    ck_assert_int_eq(prober_get(pr, "ns/api", &o), 0);
    ck_assert_uint_eq(o.probes, 1);

    /* a shorter interval already elapsed since the last start: due at once */
    ck_assert_int_eq(prober_set_target(pr, "ns/api", srv.url, 5000, 3000), 0);
    ck_assert_int_eq(prober_wait_idle(pr, WAIT_MS), 0);
    ck_assert_int_eq(prober_get(pr, "ns/api", &o), 0);
    ck_assert_uint_eq(o.probes, 2);
    ck_assert_int_eq(o.last_probe_ms, FAKE_START + 6000);
    prober_done(pr, &seen);
    server_stop(&srv);
}
END_TEST

START_TEST(test_probe_new_url_starts_over_at_once)
{
    struct server srv;
    server_start(&srv, "ok", NULL);
    long port;
    int fd = closed_port(&port);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%ld/health", port);
    struct fake_clock fc;
    fake_clock_init(&fc, FAKE_START);
    struct seen seen;
    struct prober *pr = prober_start(&fc.base, NULL, &seen);
    ck_assert_int_eq(prober_set_target(pr, "ns/api", srv.url, 10000, 2000), 0);
    ck_assert_int_eq(prober_wait(pr, "ns/api", 2, 300), SH_ETIMEOUT); /* one, then waits */
    ck_assert_int_eq(prober_set_target(pr, "ns/api", url, 10000, 2000), 0);
    ck_assert_int_eq(prober_wait(pr, "ns/api", 1, WAIT_MS), 0);
    ck_assert_int_eq(prober_wait_idle(pr, WAIT_MS), 0);
    struct probe_observation o;
    ck_assert_int_eq(prober_get(pr, "ns/api", &o), 0);
    ck_assert_uint_eq(o.probes, 1); /* counts restart with the new URL */
    ck_assert(!o.last_ok);
    ck_assert_int_eq(o.consecutive_successes, 0);
    ck_assert_int_eq(o.last_success_ms, 0);
    ck_assert_ptr_nonnull(strstr(o.last_error, "connection refused"));
    prober_done(pr, &seen);
    close(fd);
    server_stop(&srv);
}
END_TEST

START_TEST(test_probe_now_probes_before_the_interval)
{
    struct server srv;
    server_start(&srv, "ok", NULL);
    struct fake_clock fc;
    fake_clock_init(&fc, FAKE_START);
    struct seen seen;
    struct prober *pr = prober_start(&fc.base, NULL, &seen);
    ck_assert_int_eq(prober_set_target(pr, "ns/api", srv.url, 3600000, 2000), 0);
    ck_assert_int_eq(prober_wait(pr, "ns/api", 1, WAIT_MS), 0);
    ck_assert_int_eq(prober_probe_now(pr, "ns/api"), 0);
    ck_assert_int_eq(prober_wait(pr, "ns/api", 2, WAIT_MS), 0);
    ck_assert_int_eq(prober_wait_idle(pr, WAIT_MS), 0);
    struct probe_observation o;
    ck_assert_int_eq(prober_get(pr, "ns/api", &o), 0);
    ck_assert_uint_eq(o.probes, 2);
    prober_done(pr, &seen);
    server_stop(&srv);
}
END_TEST

/* ---- many targets, removal, limits ---- */

START_TEST(test_probe_remove_stops_probing_and_cancels_in_flight)
{
    struct server ok, hang;
    server_start(&ok, "ok", NULL);
    server_start(&hang, "hang", NULL);
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    ck_assert_int_eq(prober_set_target(pr, "ns/hanging", hang.url, 100, 60000), 0);
    ck_assert_int_eq(prober_set_target(pr, "ns/idle", ok.url, 3600000, 2000), 0);
    ck_assert_int_eq(prober_set_target(pr, "ns/busy", ok.url, 20, 2000), 0);
    ck_assert_int_eq(prober_wait(pr, "ns/idle", 1, WAIT_MS), 0);
    ck_assert_int_eq(prober_wait(pr, "ns/busy", 2, WAIT_MS), 0);
    ck_assert_int_eq(prober_remove(pr, "ns/hanging"), 0); /* in flight */
    ck_assert_int_eq(prober_remove(pr, "ns/idle"), 0);    /* waiting for its interval */
    ck_assert_int_eq(prober_remove(pr, "ns/idle"), SH_ENOTFOUND);
    struct probe_observation o;
    ck_assert_int_eq(prober_get(pr, "ns/hanging", &o), SH_ENOTFOUND);
    ck_assert_int_eq(prober_wait(pr, "ns/hanging", 1, 100), SH_ENOTFOUND);

    ck_assert_int_eq(prober_get(pr, "ns/busy", &o), 0);
    ck_assert_int_eq(prober_wait(pr, "ns/busy", o.probes + 5, WAIT_MS), 0);
    ck_assert_int_eq(prober_remove(pr, "ns/busy"), 0);
    ck_assert_int_eq(prober_wait_idle(pr, WAIT_MS), 0);
    struct probe_stats st;
    prober_get_stats(pr, &st);
    ck_assert_uint_eq(st.cancelled, 1);
    ck_assert_uint_eq(st.in_flight, 0);
    ck_assert_uint_eq(st.targets, 0);
    uint64_t probes = st.probes;
    ck_assert_int_eq(prober_sync(pr, WAIT_MS), 0);
    ck_assert_int_eq(prober_sync(pr, WAIT_MS), 0);
    prober_get_stats(pr, &st);
    ck_assert_uint_eq(st.probes, probes); /* nothing probes any more */
    prober_done(pr, &seen);
    server_stop(&hang);
    server_stop(&ok);
}
END_TEST

START_TEST(test_probe_hanging_target_does_not_delay_the_others)
{
    struct server ok, hang;
    server_start(&ok, "ok", NULL);
    server_start(&hang, "hang", NULL);
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    ck_assert_int_eq(prober_set_target(pr, "ns/hanging", hang.url, 100, 600000), 0);
    char key[32];
    for (int i = 0; i < 99; i++) {
        snprintf(key, sizeof key, "ns/api-%02d", i);
        ck_assert_int_eq(prober_set_target(pr, key, ok.url, 100, 2000), 0);
    }
    for (int i = 0; i < 99; i++) { /* 198 probes in all */
        snprintf(key, sizeof key, "ns/api-%02d", i);
        ck_assert_int_eq(prober_wait(pr, key, 2, WAIT_MS * 2), 0);
    }
    struct probe_observation o;
    ck_assert_int_eq(prober_get(pr, "ns/hanging", &o), 0);
    ck_assert(!o.known); /* still hanging: the others did not wait for it */
    struct probe_stats st;
    prober_get_stats(pr, &st);
    ck_assert_uint_ge(st.in_flight, 1);
    ck_assert_uint_eq(st.targets, 100);
    ck_assert_uint_ge(st.probes, 198);
    ck_assert_uint_eq(st.failures, 0);
    ck_assert_int_eq(seen_results(&seen), 99); /* each one's first result, no failures */
    prober_done(pr, &seen);
    server_stop(&hang);
    server_stop(&ok);
}
END_TEST

START_TEST(test_probe_concurrency_is_bounded_and_extra_probes_queue)
{
    struct server hang;
    server_start(&hang, "hang", NULL);
    struct seen seen;
    struct prober_options opts = {.max_concurrent = 2};
    struct prober *pr = prober_start(NULL, &opts, &seen);
    const char *keys[] = {"ns/a", "ns/b", "ns/c", "ns/d"};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(prober_set_target(pr, keys[i], hang.url, 1000, 600000), 0);
    ck_assert_int_eq(prober_sync(pr, WAIT_MS), 0);
    struct probe_stats st;
    prober_get_stats(pr, &st);
    ck_assert_uint_eq(st.in_flight, 2);
    ck_assert_uint_eq(st.queued, 2);
    /* the queued ones first, so no slot freed by a removal is taken again */
    for (int i = 3; i >= 0; i--)
        ck_assert_int_eq(prober_remove(pr, keys[i]), 0);
    ck_assert_int_eq(prober_wait_idle(pr, WAIT_MS), 0);
    prober_get_stats(pr, &st);
    ck_assert_uint_eq(st.in_flight, 0);
    ck_assert_uint_eq(st.queued, 0);
    ck_assert_uint_eq(st.cancelled, 2);
    ck_assert_uint_eq(st.probes, 0);
    prober_done(pr, &seen);
    server_stop(&hang);
}
END_TEST

START_TEST(test_probe_stop_ends_waits_and_keeps_the_table_readable)
{
    struct server hang;
    server_start(&hang, "hang", NULL);
    struct seen seen;
    struct prober *pr = prober_start(NULL, NULL, &seen);
    ck_assert_int_eq(prober_set_target(pr, "ns/api", hang.url, 1000, 600000), 0);
    ck_assert_int_eq(prober_sync(pr, WAIT_MS), 0);
    prober_stop(pr);
    prober_stop(pr);
    ck_assert_int_eq(prober_wait(pr, "ns/api", 1, WAIT_MS), SH_ESTOPPED);
    ck_assert_int_eq(prober_sync(pr, WAIT_MS), SH_ESTOPPED);
    struct probe_observation o;
    ck_assert_int_eq(prober_get(pr, "ns/api", &o), 0);
    ck_assert(!o.known);
    prober_done(pr, &seen); /* frees the abandoned transfer */
    server_stop(&hang);
}
END_TEST

/* ---- pure parts ---- */

START_TEST(test_probe_failure_messages_name_method_url_and_reason)
{
    char buf[PROBE_ERROR_MAX];
    const char *u = "http://h:1/health";
    probe_failure_message(CURLE_OK, 404, 0, "", u, "h", 2000, buf, sizeof buf);
    ck_assert_str_eq(buf, "GET http://h:1/health: HTTP 404");
    probe_failure_message(CURLE_OPERATION_TIMEDOUT, 0, 0, "x", u, "h", 2000, buf, sizeof buf);
    ck_assert_str_eq(buf, "GET http://h:1/health: timed out after 2000 ms");
    probe_failure_message(CURLE_COULDNT_CONNECT, 0, ECONNREFUSED, "x", u, "h", 2000, buf, sizeof buf);
    ck_assert_str_eq(buf, "GET http://h:1/health: connection refused");
    probe_failure_message(CURLE_COULDNT_CONNECT, 0, EHOSTUNREACH, "x", u, "h", 2000, buf, sizeof buf);
    ck_assert_str_eq(buf, "GET http://h:1/health: could not connect: No route to host");
    probe_failure_message(CURLE_COULDNT_RESOLVE_HOST, 0, 0, "x", u, "h", 2000, buf, sizeof buf);
    ck_assert_str_eq(buf, "GET http://h:1/health: could not resolve host \"h\"");
    probe_failure_message(CURLE_PEER_FAILED_VERIFICATION, 0, 0, "self-signed certificate", u, "h",
                          2000, buf, sizeof buf);
    ck_assert_str_eq(buf, "GET http://h:1/health: TLS error: self-signed certificate");
    probe_failure_message(CURLE_SSL_CONNECT_ERROR, 0, 0, "", u, "h", 2000, buf, sizeof buf);
    ck_assert_str_eq(buf, "GET http://h:1/health: TLS error: SSL connect error");
    probe_failure_message(CURLE_GOT_NOTHING, 0, 0, "", u, "h", 2000, buf, sizeof buf);
    ck_assert_str_eq(buf, "GET http://h:1/health: connection closed without a response");
    probe_failure_message(CURLE_RECV_ERROR, 0, ECONNRESET, "", u, "h", 2000, buf, sizeof buf);
    ck_assert_str_eq(buf, "GET http://h:1/health: connection reset by peer");
    char small[16];
    probe_failure_message(CURLE_OK, 500, 0, "", u, "h", 2000, small, sizeof small);
    ck_assert_str_eq(small, "GET http://h:1/"); /* truncated, terminated */
}
END_TEST

struct sched_entry {
    struct probe_sched_item item;
    int id;
};

START_TEST(test_probe_sched_pops_by_due_time_then_insertion_order)
{
    struct probe_sched s;
    probe_sched_init(&s);
    struct sched_entry e[64];
    unsigned seed = 7;
    for (int i = 0; i < 64; i++) {
        e[i].id = i;
        probe_sched_item_init(&e[i].item);
        seed = seed * 1103515245u + 12345u;
        ck_assert_int_eq(probe_sched_push(&s, &e[i].item, (seed >> 16) % 10), 0);
        ck_assert(probe_sched_contains(&e[i].item));
    }
    for (int i = 0; i < 64; i += 3) /* take some out of the middle */
        probe_sched_remove(&s, &e[i].item);
    probe_sched_remove(&s, &e[0].item); /* twice: a no-op */
    ck_assert_ptr_null(probe_sched_pop_due(&s, -1));
    int64_t last_due = -1;
    int last_id = -1, popped = 0;
    struct probe_sched_item *it;
    while ((it = probe_sched_pop_due(&s, 100)) != NULL) {
        struct sched_entry *en = (struct sched_entry *)it;
        ck_assert(!probe_sched_contains(it));
        ck_assert_int_ne(en->id % 3, 0);
        ck_assert(it->due_ms > last_due || (it->due_ms == last_due && en->id > last_id));
        last_due = it->due_ms;
        last_id = en->id;
        popped++;
    }
    ck_assert_int_eq(popped, 64 - 22);
    ck_assert_ptr_null(probe_sched_peek(&s));
    probe_sched_free(&s);
}
END_TEST

Suite *probe_suite(void)
{
    Suite *s = suite_create("probe");
    TCase *one = tcase_create("outcomes");
    tcase_set_timeout(one, 60);
    tcase_add_test(one, test_probe_healthy_server_is_ok_with_status_200);
    tcase_add_test(one, test_probe_closed_port_fails_with_connection_refused);
    tcase_add_test(one, test_probe_http_500_is_a_failure_naming_the_status);
    tcase_add_test(one, test_probe_hanging_server_fails_by_timeout);
    tcase_add_test(one, test_probe_trickling_body_fails_by_timeout_despite_status_200);
    tcase_add_test(one, test_probe_unresolvable_host_fails_with_dns_error);
    tcase_add_test(one, test_probe_tls_to_a_plain_http_server_is_a_tls_error);
    tcase_add_test(one, test_probe_large_body_is_cut_short_and_still_healthy);
    tcase_add_test(one, test_probe_messages_never_show_url_credentials);
    tcase_add_test(one, test_probe_rejects_invalid_targets_and_keeps_nothing);
    tcase_add_test(one, test_probe_failure_streak_then_recovery_notifies_only_on_changes);
    tcase_add_test(one, test_probe_every_completed_probe_is_counted_and_reported);
    suite_add_tcase(s, one);

    TCase *sched = tcase_create("schedule");
    tcase_set_timeout(sched, 60);
    tcase_add_test(sched, test_probe_schedules_by_the_injected_clock);
    tcase_add_test(sched, test_probe_unchanged_target_keeps_its_schedule);
    tcase_add_test(sched, test_probe_new_url_starts_over_at_once);
    tcase_add_test(sched, test_probe_now_probes_before_the_interval);
    tcase_add_test(sched, test_probe_remove_stops_probing_and_cancels_in_flight);
    tcase_add_test(sched, test_probe_hanging_target_does_not_delay_the_others);
    tcase_add_test(sched, test_probe_concurrency_is_bounded_and_extra_probes_queue);
    tcase_add_test(sched, test_probe_stop_ends_waits_and_keeps_the_table_readable);
    suite_add_tcase(s, sched);

    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, test_probe_failure_messages_name_method_url_and_reason);
    tcase_add_test(pure, test_probe_sched_pops_by_due_time_then_insertion_order);
    suite_add_tcase(s, pure);
    return s;
}
