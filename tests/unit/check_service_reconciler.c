/*
 * check_service_reconciler.c — the service loop's glue
 * (reconcilers/service/service_reconciler.h) on a fake clock and a fake
 * platform: a real prober against bin/flaky_server (told to fail or recover
 * through /control), fake actuators that count what they were asked to do
 * (and, in one test, the real local actuators supervising a real
 * flaky_server). Checks the condition, status.service, phase requests, the
 * history ledger, plannedActions, events, the recovery audit log and the
 * MTTR metric.
 *
 * Needs bin/flaky_server (`make examples`); run from the repository root.
 */
#include <check.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/auditlog.h"
#include "base/clock.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/metrics.h"
#include "service/probe.h"
#include "service/service_actuators.h"
#include "service/service_reconciler.h"
#include "runtime/status.h"

Suite *service_reconciler_suite(void);

#define SERVER_BIN "bin/flaky_server"
#define WAIT_MS 20000
#define T0 1800000000000LL
#define KEY "ns/api"

/* ---- the fixture server ---- */

static pid_t srv_pid;
static long srv_port;
static char srv_url[128];

static void server_start(void)
{
    ck_assert_msg(access(SERVER_BIN, X_OK) == 0, "%s is missing: run `make examples` first",
                  SERVER_BIN);
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (dup2(fds[1], 3) < 0 || devnull < 0 || dup2(devnull, 2) < 0)
            _exit(126);
        execl(SERVER_BIN, SERVER_BIN, "--port", "0", "--ready-fd", "3", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    ck_assert_int_eq(poll(&pfd, 1, WAIT_MS), 1);
    char line[32] = {0};
    ck_assert_int_gt(read(fds[0], line, sizeof line - 1), 1);
    close(fds[0]);
    srv_pid = pid;
    srv_port = strtol(line, NULL, 10);
    snprintf(srv_url, sizeof srv_url, "http://127.0.0.1:%ld/health", srv_port);
}

static void server_stop(void)
{
    if (srv_pid > 0) {
        kill(srv_pid, SIGTERM);
        waitpid(srv_pid, NULL, 0);
        srv_pid = 0;
    }
}

static struct reconciler rec; /* the loop under test (below) */

static void server_mode(const char *mode)
{
    /* no probe in flight across the switch: after a recovery the prober
     * probes at a fast cadence in real time, and a probe answered after the
     * switch would be counted as the next one the test makes due */
    if (rec.self)
        ck_assert_int_eq(prober_wait_idle(service_reconciler_prober(rec.self), WAIT_MS), 0);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%ld/control?mode=%s", srv_port, mode);
    CURL *h = curl_easy_init();
    FILE *sink = fopen("/dev/null", "w");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    long code = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    fclose(sink);
    ck_assert_int_eq(code, 200);
}

/* ---- fake actuators ---- */

static struct fake_clock fc;

struct fake_sa {
    struct service_actuators base;
    pthread_mutex_t mu;
    bool known, running;
    int64_t started_ms; /* of the newest start, on fc */
    int ensures, recovers, commands, forgets, stop_alls;
    int recover_rc;
    bool command_running;
    int restarts;
    bool deployment_missing; /* restart_workload: 404 */
};

static struct fake_sa *fake_of(const struct service_actuators *sa)
{
    return (struct fake_sa *)sa;
}

static int f_ensure(const struct service_actuators *sa, const char *key,
                    const struct spec_service *svc, bool *started, char **err)
{
    (void)key;
    (void)svc;
    (void)err;
    struct fake_sa *f = fake_of(sa);
    f->ensures++;
    *started = !f->known;
    if (!f->known) {
        f->known = f->running = true;
        f->started_ms = clock_now_ms(&fc.base);
    }
    return 0;
}

static int f_recover(const struct service_actuators *sa, const char *key,
                     const struct spec_service *svc, char **err)
{
    (void)key;
    (void)svc;
    struct fake_sa *f = fake_of(sa);
    f->recovers++;
    if (f->recover_rc) {
        *err = strdup("cannot run 'api': No such file or directory");
        return f->recover_rc;
    }
    f->known = f->running = true;
    f->started_ms = clock_now_ms(&fc.base);
    return 0;
}

static void f_state(const struct service_actuators *sa, const char *key,
                    struct service_process_state *ret)
{
    (void)key;
    struct fake_sa *f = fake_of(sa);
    memset(ret, 0, sizeof *ret);
    ret->known = f->known;
    ret->running = f->running;
    ret->pid = 4242;
    ret->started_ms = f->started_ms;
    if (f->known && !f->running)
        snprintf(ret->exit_text, sizeof ret->exit_text, "was killed by signal 9 (SIGKILL)");
}

static int f_command(const struct service_actuators *sa, const char *key,
                     const struct spec_argv *argv, int64_t timeout, char **err)
{
    (void)key;
    (void)argv;
    (void)timeout;
    (void)err;
    struct fake_sa *f = fake_of(sa);
    f->commands++;
    f->command_running = true;
    return 0;
}

static void f_command_state(const struct service_actuators *sa, const char *key,
                            struct service_command_state *ret)
{
    (void)key;
    struct fake_sa *f = fake_of(sa);
    memset(ret, 0, sizeof *ret);
    ret->known = f->commands > 0;
    ret->running = f->command_running;
    if (ret->known && !ret->running)
        snprintf(ret->exit_text, sizeof ret->exit_text, "exited with status 1");
}

static int f_restart_workload(const struct service_actuators *sa, const struct pipeline *p,
                              const struct spec_service *svc, char **err)
{
    struct fake_sa *f = fake_of(sa);
    if (f->deployment_missing) {
        if (asprintf(err, "deployment %s not found in namespace %s (spec.service.recovery.deployment)",
                     svc->recovery.deployment, p->namespace_) < 0)
            *err = NULL;
        return SH_ENOTFOUND;
    }
    f->restarts++;
    return 0;
}

static void f_forget(const struct service_actuators *sa, const char *key)
{
    (void)key;
    fake_of(sa)->forgets++;
}

static void f_stop_all(const struct service_actuators *sa)
{
    fake_of(sa)->stop_alls++;
}

static struct fake_sa fsa;

/* ---- fake platform ---- */

struct fake_pf {
    struct platform base;
    const struct service_actuators *sa;
    char events[4096];
    int nevents;
};

static const void *pf_actuators(struct platform *pf, const char *loop)
{
    struct fake_pf *f = (struct fake_pf *)pf;
    return strcmp(loop, "service") == 0 ? f->sa : NULL;
}

static void pf_event(struct platform *pf, const struct pipeline *p, enum event_type t,
                     const char *reason, const char *message)
{
    (void)p;
    (void)message;
    struct fake_pf *f = (struct fake_pf *)pf;
    size_t n = strlen(f->events);
    snprintf(f->events + n, sizeof f->events - n, "%s%s ", t == EVENT_WARNING ? "!" : "",
             reason);
    f->nevents++;
}

static struct fake_pf fpf;

/* ---- the loop under test ---- */

static struct reconciler rec;
static struct pipeline pl;
static cJSON *status;
static char dir[128];
static char audit_path[256];
static int notified;
static pthread_mutex_t notify_mu = PTHREAD_MUTEX_INITIALIZER;
static struct reconciler_notify notify;
static struct reconcile_ctx last_ctx;

static void on_notify(void *ctx, const char *key)
{
    (void)ctx;
    (void)key;
    pthread_mutex_lock(&notify_mu);
    notified++;
    pthread_mutex_unlock(&notify_mu);
}

static void setup(void)
{
    log_configure(LOG_ERROR, LOG_FORMAT_TEXT, NULL); /* the loop's info lines are noise here */
    server_start();
    snprintf(dir, sizeof dir, "/tmp/check_service_rec.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(audit_path, sizeof audit_path, "%s/monitoring/recovery_log.json", dir);
    fake_clock_init(&fc, T0);
    memset(&fsa, 0, sizeof fsa);
    fsa.base = (struct service_actuators){.ensure_process = f_ensure,
                                          .recover_process = f_recover,
                                          .process_state = f_state,
                                          .run_command = f_command,
                                          .command_state = f_command_state,
                                          .forget = f_forget,
                                          .stop_all = f_stop_all};
    memset(&fpf, 0, sizeof fpf);
    fpf.base = (struct platform){.name = "fake", .record_event = pf_event,
                                 .actuators = pf_actuators};
    fpf.sa = &fsa.base;
    notified = 0;
    notify = (struct reconciler_notify){.fn = on_notify};
    struct service_reconciler_options o = {.clock = &fc.base, .audit_log_path = audit_path,
                                           .notify = &notify, .platform = &fpf.base};
    char *err = NULL;
    ck_assert_int_eq(service_reconciler_new(&o, &rec, &err), 0);
    ck_assert_str_eq(rec.name, "service");

    memset(&pl, 0, sizeof pl);
    pl.key = KEY;
    pl.namespace_ = "ns";
    pl.name = "api";
    pl.generation = 1;
    pl.valid = true;
    spec_init_defaults(&pl.spec);
    struct spec_service *s = &pl.spec.service;
    s->present = s->enabled = true;
    s->health_check.url = srv_url;
    s->health_check.interval_ms = 1000;
    s->health_check.timeout_ms = 2000;
    s->health_check.failure_threshold = 2;
    /* most tests are about thresholds, backoff and attempts: after a start
     * only the grace period (2 × 1 s) is a startup window; the tests of the
     * window set startupTimeout themselves */
    s->health_check.startup_timeout_ms = 0;
    s->recovery.method = RECOVERY_PROCESS;
    s->recovery.max_attempts = 3;
    s->recovery.backoff_ms = 1000;
    s->recovery.reset_after_ms = 600000;
    status = status_new();
}

static void rm_rf(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", path, (char *)NULL);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
}

static struct service_actuators *real_sa; /* freed here even when a test fails */

static void teardown(void)
{
    service_reconciler_free(rec.self);
    service_local_actuators_free(real_sa); /* stops its processes */
    real_sa = NULL;
    cJSON_Delete(status);
    server_stop();
    rm_rf(dir);
}

/* One reconcile at the fake clock's now; the context is kept in last_ctx. */
static int reconcile(void)
{
    last_ctx = (struct reconcile_ctx){.p = &pl, .spec = &pl.spec, .status = status,
                                      .now_ms = clock_now_ms(&fc.base), .clock = &fc.base,
                                      .platform = &fpf.base, .paused = pl.spec.paused};
    return rec.reconcile(rec.self, &last_ctx);
}

static struct probe_observation observation(void)
{
    struct probe_observation o;
    prober_get(service_reconciler_prober(rec.self), KEY, &o);
    return o;
}

/* Makes the next probe due (advancing the clock by `ms`) and waits for it. */
static struct probe_observation probe_after(int64_t ms)
{
    struct prober *pr = service_reconciler_prober(rec.self);
    uint64_t n = observation().probes;
    fake_clock_advance(&fc, ms);
    ck_assert_int_eq(prober_sync(pr, WAIT_MS), 0);
    ck_assert_int_eq(prober_wait(pr, KEY, n + 1, WAIT_MS), 0);
    return observation();
}

static const char *cond_reason(void)
{
    return status_condition_reason(status, COND_SERVICE_HEALTHY);
}

static const char *cond_message(void)
{
    return status_str(status_get_condition(status, COND_SERVICE_HEALTHY), "message");
}

static const cJSON *service_section(void)
{
    return cJSON_GetObjectItemCaseSensitive(status, "service");
}

static int history_count(const char *outcome)
{
    int n = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(status, "history"))
    {
        const char *o = status_str(h, "outcome");
        if (!outcome || (o && strcmp(o, outcome) == 0))
            n++;
    }
    return n;
}

static cJSON *audit_entries(void)
{
    char *err = NULL;
    cJSON *a = auditlog_read(audit_path, &err);
    ck_assert_msg(a != NULL, "%s", err ? err : "?");
    return a;
}

static int audit_count(const char *action)
{
    cJSON *a = audit_entries();
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (strcmp(status_str(e, "action"), action) == 0)
            n++;
    }
    cJSON_Delete(a);
    return n;
}

/* Brings the loop to a healthy, started state: the process started, one
 * healthy probe seen. */
static void start_healthy(void)
{
    ck_assert_int_eq(reconcile(), 0); /* starts the process, probe target set */
    ck_assert_int_eq(fsa.ensures, 1);
    ck_assert_int_eq(prober_wait(service_reconciler_prober(rec.self), KEY, 1, WAIT_MS), 0);
    probe_after(2000); /* past the grace after the start */
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_str_eq(cond_reason(), "ProbeSucceeded");
    ck_assert(!last_ctx.action_in_flight);
}

/* ---- tests ---- */

START_TEST(test_healthy_service_is_reported_and_costs_nothing)
{
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.ensures, 1); /* the supervised process is started with the pipeline */
    ck_assert_ptr_nonnull(strstr(fpf.events, "ProcessStarted"));
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_UNKNOWN);
    ck_assert_int_eq(prober_wait(service_reconciler_prober(rec.self), KEY, 1, WAIT_MS), 0);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_TRUE);
    ck_assert_str_eq(cond_reason(), "ProbeSucceeded");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(service_section(), "healthy")));
    ck_assert_uint_eq(last_ctx.phase_requests, 0);
    ck_assert(!last_ctx.action_in_flight); /* the first healthy probe ends the start */
    ck_assert_int_eq(last_ctx.requeue_after_ms, 0); /* the prober calls when it matters */
    probe_after(2000);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert(!last_ctx.action_in_flight);
    ck_assert_int_eq(last_ctx.requeue_after_ms, 0);
    ck_assert_int_eq(history_count(NULL), 0);
    /* the same world again: the same status */
    cJSON *before = cJSON_Duplicate(status, true);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert(status_equal(before, status));
    cJSON_Delete(before);
    ck_assert_int_eq(fsa.ensures, 4);
    ck_assert_int_eq(fsa.recovers, 0);
    pthread_mutex_lock(&notify_mu);
    ck_assert_int_ge(notified, 1); /* the first result */
    pthread_mutex_unlock(&notify_mu);
}
END_TEST

START_TEST(test_failures_recover_then_heal_with_mttr_history_audit_and_metric)
{
    struct metrics *reg = metrics_new();
    ck_assert_int_eq(service_reconciler_register_metrics(rec.self, reg), 0);
    start_healthy();
    server_mode("500");
    struct probe_observation o = probe_after(1000);
    ck_assert(!o.last_ok);
    int64_t first_failure = o.first_failure_ms;
    ck_assert_int_eq(reconcile(), 0);
    /* 1 of 2 allowed: still True, but never called a success (issue 22) */
    ck_assert_str_eq(cond_reason(), "ProbeFailing");
    ck_assert_int_eq(fsa.recovers, 0);
    probe_after(1000);
    ck_assert_int_eq(reconcile(), 0);
    /* threshold reached: attempt 1 */
    ck_assert_int_eq(fsa.recovers, 1);
    ck_assert_str_eq(cond_reason(), "Recovering");
    ck_assert_ptr_nonnull(strstr(cond_message(), "HTTP 500"));
    ck_assert(last_ctx.action_in_flight);
    ck_assert(last_ctx.phase_requests & PHASE_REQ(PHASE_RECOVERING));
    ck_assert_int_eq(last_ctx.requeue_after_ms, 1000); /* watched at every probe while it starts */
    ck_assert_int_eq(history_count("started"), 1);
    ck_assert_int_eq(audit_count("restart"), 1);
    ck_assert_ptr_nonnull(strstr(fpf.events, "RecoveryStarted"));
    ck_assert_double_eq(status_num(service_section(), "recoveryAttempts", 0), 1);

    /* inside the grace: no second attempt */
    fake_clock_advance(&fc, 500);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 1);
    ck_assert(last_ctx.action_in_flight);

    server_mode("ok");
    o = probe_after(500);
    ck_assert(o.last_ok);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_TRUE);
    double mttr = (double)(o.last_success_ms - first_failure) / 1000.0;
    ck_assert_double_eq_tol(status_num(service_section(), "lastRecoverySeconds", -1), mttr, 1e-6);
    ck_assert_int_eq(history_count("succeeded"), 1);
    ck_assert_int_eq(history_count("started"), 0);
    cJSON *a = audit_entries();
    ck_assert_int_eq(cJSON_GetArraySize(a), 2);
    const cJSON *healed = cJSON_GetArrayItem(a, 1);
    ck_assert_str_eq(status_str(healed, "action"), "recovered");
    ck_assert_str_eq(status_str(healed, "pipeline"), KEY);
    ck_assert_double_eq_tol(status_num(healed, "mttr_seconds", -1), mttr, 1e-6);
    const cJSON *first = cJSON_GetArrayItem(a, 0);
    ck_assert_str_eq(status_str(first, "method"), "process");
    ck_assert_double_eq(status_num(first, "attempt", 0), 1);
    ck_assert_double_eq(status_num(first, "max_attempts", 0), 3);
    ck_assert_str_eq(status_str(first, "service_url"), srv_url);
    cJSON_Delete(a);
    ck_assert_ptr_nonnull(strstr(fpf.events, "Recovered"));
    char *text = metrics_render(reg);
    ck_assert_ptr_nonnull(strstr(text, "selfheal_service_recovery_seconds_count 1\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "selfheal_service_recovery_actions_total{method=\"process\",outcome=\"started\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "selfheal_probe_targets 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "selfheal_probe_duration_seconds_count"));
    free(text);
    service_reconciler_free(rec.self); /* before the registry */
    rec.self = NULL;
    metrics_free(reg);
}
END_TEST

START_TEST(test_never_healing_gets_exactly_max_attempts_then_needs_attention)
{
    start_healthy();
    server_mode("500");
    int64_t step = 1000;
    /* plenty of time: backoff 1 s, 2 s, 4 s and graces of 2 s */
    for (int i = 0; i < 60; i++) {
        probe_after(step);
        ck_assert_int_eq(reconcile(), 0);
        ck_assert_int_le(fsa.recovers, 3);
    }
    ck_assert_int_eq(fsa.recovers, 3);
    ck_assert_str_eq(cond_reason(), "RecoveryExhausted");
    ck_assert(last_ctx.phase_requests & PHASE_REQ(PHASE_NEEDS_ATTENTION));
    ck_assert(!last_ctx.action_in_flight);
    ck_assert_int_eq(audit_count("restart"), 3);
    ck_assert_int_eq(audit_count("gave-up"), 1);
    ck_assert_int_eq(history_count("failed"), 3);
    ck_assert_ptr_nonnull(strstr(fpf.events, "RecoveryExhausted"));
    /* an hour later, still failing: nothing more */
    fake_clock_advance(&fc, 3600000);
    probe_after(1000);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 3);
    ck_assert_int_eq(audit_count("gave-up"), 1);
    /* the reset annotation resumes */
    last_ctx = (struct reconcile_ctx){.p = &pl, .spec = &pl.spec, .status = status,
                                      .now_ms = clock_now_ms(&fc.base), .platform = &fpf.base,
                                      .reset = true};
    ck_assert_int_eq(rec.reconcile(rec.self, &last_ctx), 0);
    ck_assert_int_eq(fsa.recovers, 4);
    ck_assert_str_eq(cond_reason(), "Recovering");
}
END_TEST

START_TEST(test_process_exit_recovers_at_once_and_heals_only_on_a_new_probe)
{
    start_healthy();
    server_mode("500"); /* the restarted service is not up yet */
    fake_clock_advance(&fc, 300);
    fsa.running = false; /* killed */
    uint64_t n = observation().probes;
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 1);
    ck_assert_ptr_nonnull(strstr(cond_message(), "was killed by signal 9"));
    int64_t failed_at = clock_now_ms(&fc.base);
    /* the recovery probes at once (fast cadence): still failing; the
     * success from before the crash does not heal it */
    struct prober *pr = service_reconciler_prober(rec.self);
    ck_assert_int_eq(prober_wait(pr, KEY, n + 1, WAIT_MS), 0);
    ck_assert(!observation().last_ok);
    fsa.running = true;
    fake_clock_advance(&fc, 10);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_FALSE);
    ck_assert_int_eq(fsa.recovers, 1);
    server_mode("ok");
    struct probe_observation o = probe_after(600);
    ck_assert(o.last_ok);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_TRUE);
    ck_assert_double_eq_tol(status_num(service_section(), "lastRecoverySeconds", -1),
                            (double)(o.last_success_ms - failed_at) / 1000.0, 1e-6);
    ck_assert_int_eq(history_count("succeeded"), 1);
}
END_TEST

/* Healing in a blink: after a recovery action the service is probed at the
 * fast cadence (prober_fast_step_ms, here 50 ms + 1/20 of the time since
 * the action, by the fake clock) until its first success, then at the
 * regular interval (1 s) again; the success is reported at once. */
START_TEST(test_after_a_recovery_the_service_is_probed_fast_until_its_first_success)
{
    start_healthy();
    struct prober *pr = service_reconciler_prober(rec.self);
    server_mode("500");
    fake_clock_advance(&fc, 300);
    fsa.running = false;
    uint64_t n = observation().probes;
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 1);
    int64_t acted = clock_now_ms(&fc.base);
    ck_assert_int_eq(prober_wait(pr, KEY, n + 1, WAIT_MS), 0); /* at once */
    ck_assert_int_eq(observation().last_probe_ms, acted);
    fsa.running = true;
    int64_t step1 = prober_fast_step_ms(1000, 0);
    ck_assert_int_eq(step1, 50);
    fake_clock_advance(&fc, step1 - 1);
    ck_assert_int_eq(prober_wait_idle(pr, WAIT_MS), 0);
    ck_assert_uint_eq(observation().probes, n + 1); /* not due yet */
    fake_clock_advance(&fc, 1);
    ck_assert_int_eq(prober_wait(pr, KEY, n + 2, WAIT_MS), 0);
    ck_assert(!observation().last_ok);
    int64_t step2 = prober_fast_step_ms(1000, step1);
    ck_assert_int_eq(step2, 52);
    pthread_mutex_lock(&notify_mu);
    int before = notified;
    pthread_mutex_unlock(&notify_mu);
    server_mode("ok");
    fake_clock_advance(&fc, step2);
    ck_assert_int_eq(prober_wait(pr, KEY, n + 3, WAIT_MS), 0);
    struct probe_observation o = observation();
    ck_assert(o.last_ok);
    ck_assert_int_eq(o.last_success_ms, acted + step1 + step2);
    ck_assert_int_eq(prober_wait_idle(pr, WAIT_MS), 0);
    pthread_mutex_lock(&notify_mu);
    ck_assert_int_gt(notified, before); /* the healing success is news */
    pthread_mutex_unlock(&notify_mu);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_TRUE);
    ck_assert_double_eq_tol(status_num(service_section(), "lastRecoverySeconds", -1),
                            (double)(step1 + step2) / 1000.0, 1e-6);
    /* back to the regular interval */
    fake_clock_advance(&fc, 999);
    ck_assert_int_eq(prober_wait_idle(pr, WAIT_MS), 0);
    ck_assert_uint_eq(observation().probes, n + 3);
    fake_clock_advance(&fc, 1);
    ck_assert_int_eq(prober_wait(pr, KEY, n + 4, WAIT_MS), 0);
}
END_TEST

START_TEST(test_failures_while_starting_up_are_not_an_incident)
{
    server_mode("500"); /* "still starting" */
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.ensures, 1);
    ck_assert_int_eq(prober_wait(service_reconciler_prober(rec.self), KEY, 1, WAIT_MS), 0);
    probe_after(1000); /* 2 failures = failureThreshold, inside the 2 s grace */
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 0);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_UNKNOWN);
    ck_assert(last_ctx.action_in_flight);
    server_mode("ok");
    probe_after(1000);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_TRUE);
    ck_assert_double_eq(status_num(service_section(), "incidents", 0), 0);
    ck_assert_double_eq(status_num(service_section(), "lastRecoverySeconds", -1), -1);
    /* after the grace, the same failures are an incident */
    fake_clock_advance(&fc, 2000);
    server_mode("500");
    probe_after(1000);
    probe_after(1000);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 1);
}
END_TEST

/* ---- the startup window (issue 21, item 6) ---- */

/* Starts the supervised process with the window given and checks that the
 * loop says it is starting. */
static void start_slow(int64_t startup_timeout_ms)
{
    pl.spec.service.health_check.startup_timeout_ms = startup_timeout_ms;
    server_mode("500"); /* "still loading the model" */
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.ensures, 1);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_UNKNOWN);
    ck_assert_str_eq(cond_reason(), "Starting");
    ck_assert(last_ctx.phase_requests & PHASE_REQ(PHASE_PENDING)); /* the first start: no recovery */
    ck_assert(last_ctx.action_in_flight);
    ck_assert_int_eq(prober_wait(service_reconciler_prober(rec.self), KEY, 1, WAIT_MS), 0);
}

START_TEST(test_a_slow_start_is_starting_not_failing)
{
    start_slow(300000);
    /* 30 failed probes, 15 × failureThreshold: still starting */
    for (int i = 0; i < 30; i++) {
        probe_after(1000);
        ck_assert_int_eq(reconcile(), 0);
        ck_assert_int_eq(fsa.recovers, 0);
        ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_UNKNOWN);
        ck_assert_str_eq(cond_reason(), "Starting");
        ck_assert(last_ctx.phase_requests & PHASE_REQ(PHASE_PENDING));
        ck_assert(last_ctx.action_in_flight); /* the loops after this one wait */
    }
    ck_assert_ptr_nonnull(strstr(cond_message(), "starting: waiting up to 5m for the first healthy probe"));
    ck_assert_ptr_nonnull(strstr(cond_message(), "HTTP 500"));
    ck_assert_int_eq(history_count(NULL), 0);
    ck_assert_int_eq(access(audit_path, F_OK), -1);
    /* loaded: healthy, and starting was no incident */
    server_mode("ok");
    probe_after(1000);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_TRUE);
    ck_assert_uint_eq(last_ctx.phase_requests, 0);
    ck_assert(!last_ctx.action_in_flight);
    ck_assert_double_eq(status_num(service_section(), "incidents", 0), 0);
    ck_assert_int_eq(fsa.recovers, 0);
}
END_TEST

START_TEST(test_a_process_exiting_while_starting_is_restarted_at_once)
{
    start_slow(300000);
    probe_after(1000);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 0);
    fsa.running = false; /* it crashed while loading */
    fake_clock_advance(&fc, 100);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 1);
    ck_assert_str_eq(cond_reason(), "Recovering");
    ck_assert_ptr_nonnull(strstr(cond_message(), "was killed by signal 9"));
    /* the restarted one is starting: its failures do not count either */
    for (int i = 0; i < 10; i++) {
        probe_after(1000);
        ck_assert_int_eq(reconcile(), 0);
    }
    ck_assert_int_eq(fsa.recovers, 1);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_FALSE);
    ck_assert_ptr_nonnull(strstr(cond_message(), "attempt 1 of 3 made; starting: waiting up to 5m"));
    server_mode("ok");
    probe_after(1000);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_TRUE);
    ck_assert_int_eq(history_count("succeeded"), 1);
}
END_TEST

START_TEST(test_failures_count_after_the_window_and_each_restart_opens_a_new_one)
{
    start_slow(10000);
    /* never answers: no attempt inside the 10 s window, one at its end */
    for (int i = 0; i < 9; i++) {
        probe_after(1000);
        ck_assert_int_eq(reconcile(), 0);
        ck_assert_int_eq(fsa.recovers, 0);
    }
    probe_after(1000); /* 10 s */
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 1);
    /* the restarted process gets its own 10 s (backoff is only 1 s) */
    for (int i = 0; i < 9; i++) {
        probe_after(1000);
        ck_assert_int_eq(reconcile(), 0);
        ck_assert_int_eq(fsa.recovers, 1);
        ck_assert(last_ctx.action_in_flight);
    }
    probe_after(1000);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 2);
}
END_TEST

START_TEST(test_dry_run_and_pause_plan_without_acting)
{
    pl.spec.service.dry_run = true;
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.ensures, 0);
    const cJSON *plans = cJSON_GetObjectItemCaseSensitive(status, "plannedActions");
    ck_assert_int_eq(cJSON_GetArraySize(plans), 1);
    ck_assert_ptr_nonnull(strstr(cJSON_GetArrayItem(plans, 0)->valuestring, "start the service"));
    fsa.known = true; /* say it runs, and fails */
    fsa.running = true;
    ck_assert_int_eq(prober_wait(service_reconciler_prober(rec.self), KEY, 1, WAIT_MS), 0);
    server_mode("500");
    probe_after(1000);
    probe_after(1000);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 0);
    plans = cJSON_GetObjectItemCaseSensitive(status, "plannedActions");
    ck_assert_int_eq(cJSON_GetArraySize(plans), 1);
    ck_assert_ptr_nonnull(strstr(cJSON_GetArrayItem(plans, 0)->valuestring, "restart (attempt 1 of 3)"));
    ck_assert_ptr_nonnull(strstr(cond_message(), "dry run"));
    ck_assert_int_eq(history_count(NULL), 0);
    ck_assert_uint_eq(last_ctx.phase_requests, 0);
    ck_assert_double_eq(status_num(service_section(), "recoveryAttempts", 0), 0);
    ck_assert_int_eq(access(audit_path, F_OK), -1);

    pl.spec.service.dry_run = false;
    pl.spec.paused = true;
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 0);
    pl.spec.paused = false;
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 1);
    ck_assert_ptr_null(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(status, "plannedActions"), 0));
}
END_TEST

START_TEST(test_a_method_the_platform_lacks_is_reported_not_attempted)
{
    pl.spec.service.recovery.method = RECOVERY_RESTART;
    pl.spec.service.recovery.deployment = "api";
    server_mode("500");
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(prober_wait(service_reconciler_prober(rec.self), KEY, 1, WAIT_MS), 0);
    probe_after(1000);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_FALSE);
    ck_assert_str_eq(cond_reason(), "ProbeFailed");
    ck_assert_ptr_nonnull(
        strstr(cond_message(), "cannot recover: recovery method restart is not available on the fake platform"));
    ck_assert(last_ctx.phase_requests & PHASE_REQ(PHASE_NEEDS_ATTENTION));
    ck_assert_double_eq(status_num(service_section(), "recoveryAttempts", 0), 0);
    ck_assert_int_eq(fsa.recovers + fsa.commands, 0);
    /* no actuators at all */
    fpf.sa = NULL;
    pl.spec.service.recovery.method = RECOVERY_PROCESS;
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_ptr_nonnull(strstr(cond_message(), "recovery method process is not available"));
}
END_TEST

START_TEST(test_a_missing_deployment_is_a_configuration_error_not_an_attempt)
{
    fsa.base.restart_workload = f_restart_workload;
    fsa.deployment_missing = true;
    pl.spec.service.recovery.method = RECOVERY_RESTART;
    pl.spec.service.recovery.deployment = "local-api";
    server_mode("500");
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(prober_wait(service_reconciler_prober(rec.self), KEY, 1, WAIT_MS), 0);
    /* far more looks than maxAttempts (3), backoff and grace included */
    for (int i = 0; i < 12; i++) {
        probe_after(4000);
        ck_assert_int_eq(reconcile(), 0);
        ck_assert_str_eq(cond_reason(), "DeploymentNotFound");
    }
    ck_assert_ptr_nonnull(strstr(cond_message(), "deployment local-api not found in namespace ns"));
    ck_assert_ptr_nonnull(strstr(cond_message(), "0 of 3 made"));
    ck_assert_ptr_null(strstr(cond_message(), "did not heal"));
    ck_assert_double_eq(status_num(service_section(), "recoveryAttempts", 0), 0);
    ck_assert(last_ctx.phase_requests & PHASE_REQ(PHASE_NEEDS_ATTENTION));
    ck_assert_int_eq(history_count(NULL), 0);
    ck_assert_ptr_null(strstr(fpf.events, "RecoveryExhausted"));
    ck_assert_ptr_null(strstr(fpf.events, "RecoveryFailed"));
    /* the Deployment appears: the next look makes attempt 1 by itself */
    fsa.deployment_missing = false;
    probe_after(4000);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.restarts, 1);
    ck_assert_double_eq(status_num(service_section(), "recoveryAttempts", 0), 1);
    ck_assert_str_ne(cond_reason(), "DeploymentNotFound");
    server_mode("ok");
    probe_after(1000);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_str_eq(cond_reason(), "ProbeSucceeded");
}
END_TEST

START_TEST(test_before_the_first_probe_and_during_the_first_start_it_is_pending)
{
    /* the first start is no recovery: Pending, lastStartTime */
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.ensures, 1);
    ck_assert_uint_eq(last_ctx.phase_requests, PHASE_REQ(PHASE_PENDING));
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(service_section(), "lastRecoveryTime"));
    ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(service_section(), "lastStartTime"));
    /* read back, it is still a start: the grace applies, still no recovery */
    ck_assert_int_eq(prober_wait(service_reconciler_prober(rec.self), KEY, 1, WAIT_MS), 0);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(service_section(), "lastRecoveryTime"));
    /* a recovery is one */
    probe_after(2000);
    ck_assert_int_eq(reconcile(), 0);
    fsa.running = false;
    fake_clock_advance(&fc, 100);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 1);
    ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(service_section(), "lastRecoveryTime"));
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(service_section(), "lastStartTime"));
    ck_assert(last_ctx.phase_requests & PHASE_REQ(PHASE_RECOVERING));
}
END_TEST

START_TEST(test_a_cluster_service_before_its_first_probe_is_pending)
{
    fsa.base.restart_workload = f_restart_workload;
    pl.spec.service.recovery.method = RECOVERY_RESTART;
    pl.spec.service.recovery.deployment = "api";
    server_mode("hang"); /* the first probe is under way (timeout 2 s) */
    ck_assert_int_eq(reconcile(), 0); /* no probe has completed yet */
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_UNKNOWN);
    ck_assert_uint_eq(last_ctx.phase_requests, PHASE_REQ(PHASE_PENDING));
}
END_TEST

START_TEST(test_command_method_waits_for_a_running_command)
{
    pl.spec.service.recovery.method = RECOVERY_COMMAND;
    static char *argv[] = {"systemctl", "restart", "api", NULL};
    pl.spec.service.recovery.command = (struct spec_argv){.argv = argv, .argc = 3};
    server_mode("500");
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.ensures, 0); /* not supervised */
    ck_assert_int_eq(prober_wait(service_reconciler_prober(rec.self), KEY, 1, WAIT_MS), 0);
    probe_after(1000);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.commands, 1);
    ck_assert_int_eq(audit_count("run-command"), 1);
    /* grace and backoff over, the command still runs: no second one */
    for (int i = 0; i < 6; i++) {
        probe_after(1000);
        ck_assert_int_eq(reconcile(), 0);
    }
    ck_assert_int_eq(fsa.commands, 1);
    ck_assert_ptr_nonnull(strstr(cond_message(), "still runs"));
    ck_assert(last_ctx.action_in_flight);
    fsa.command_running = false; /* it ended with status 1 */
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.commands, 2);
    ck_assert_ptr_nonnull(strstr(cond_message(), "the recovery command exited with status 1"));
}
END_TEST

START_TEST(test_a_failed_attempt_counts_and_is_recorded_as_failed)
{
    start_healthy();
    fsa.recover_rc = SH_EIO;
    fsa.running = false;
    fake_clock_advance(&fc, 100);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.recovers, 1);
    ck_assert_int_eq(history_count("failed"), 1);
    ck_assert_ptr_nonnull(strstr(cond_message(), "No such file or directory"));
    ck_assert_ptr_nonnull(strstr(fpf.events, "RecoveryFailed"));
    cJSON *a = audit_entries();
    ck_assert_str_eq(status_str(cJSON_GetArrayItem(a, 0), "outcome"), "failed");
    ck_assert_ptr_nonnull(status_str(cJSON_GetArrayItem(a, 0), "error"));
    cJSON_Delete(a);
}
END_TEST

START_TEST(test_forget_disable_and_shutdown_release_everything)
{
    start_healthy();
    rec.forget(rec.self, KEY);
    ck_assert_int_eq(fsa.forgets, 1);
    struct probe_observation o;
    ck_assert_int_eq(prober_get(service_reconciler_prober(rec.self), KEY, &o), SH_ENOTFOUND);

    ck_assert_int_eq(reconcile(), 0); /* back */
    pl.spec.service.enabled = false;
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(fsa.forgets, 2);
    ck_assert_ptr_null(service_section());
    ck_assert_ptr_null(status_get_condition(status, COND_SERVICE_HEALTHY));
    ck_assert_int_eq(prober_get(service_reconciler_prober(rec.self), KEY, &o), SH_ENOTFOUND);
    rec.shutdown(rec.self);
    ck_assert_int_eq(fsa.stop_alls, 1);
}
END_TEST

START_TEST(test_real_supervised_server_is_restarted_after_sigkill)
{
    /* the real local actuators supervising a real flaky_server on a fixed port */
    server_stop();
    long port = srv_port;
    char url[128], port_s[16];
    snprintf(url, sizeof url, "http://127.0.0.1:%ld/health", port);
    snprintf(port_s, sizeof port_s, "%ld", port);
    char abs_bin[512];
    ck_assert_ptr_nonnull(realpath(SERVER_BIN, abs_bin));
    static char *argv[8];
    argv[0] = abs_bin;
    argv[1] = "--port";
    argv[2] = port_s;
    argv[3] = NULL;
    pl.spec.service.health_check.url = url;
    pl.spec.service.recovery.process.command = (struct spec_argv){.argv = argv, .argc = 3};
    char *err = NULL;
    ck_assert_int_eq(service_local_actuators_new(dir, &fc.base, 2000, &notify, &real_sa, &err), 0);
    struct service_actuators *sa = real_sa;
    fpf.sa = sa;
    ck_assert_int_eq(reconcile(), 0);
    struct service_process_state ps;
    sa->process_state(sa, KEY, &ps);
    ck_assert(ps.running);
    pid_t first = ps.pid;
    /* wait until it answers */
    int64_t deadline = clock_monotonic_ms() + WAIT_MS;
    struct probe_observation o = observation();
    while (!o.last_ok && clock_monotonic_ms() < deadline)
        o = probe_after(1000);
    ck_assert(o.last_ok);
    probe_after(2000); /* past the grace after the start */
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_TRUE);

    pthread_mutex_lock(&notify_mu);
    int before = notified;
    pthread_mutex_unlock(&notify_mu);
    kill(first, SIGKILL);
    /* the supervisor notices and notifies */
    deadline = clock_monotonic_ms() + WAIT_MS;
    for (;;) {
        sa->process_state(sa, KEY, &ps);
        pthread_mutex_lock(&notify_mu);
        int now = notified;
        pthread_mutex_unlock(&notify_mu);
        if (!ps.running && now > before)
            break;
        ck_assert_int_lt(clock_monotonic_ms(), deadline);
        usleep(2000);
    }
    fake_clock_advance(&fc, 50);
    ck_assert_int_eq(reconcile(), 0);
    sa->process_state(sa, KEY, &ps);
    ck_assert(ps.running);
    ck_assert_int_ne(ps.pid, first);
    ck_assert_uint_eq(ps.starts, 2);
    deadline = clock_monotonic_ms() + WAIT_MS;
    do
        o = probe_after(1000);
    while (!o.last_ok && clock_monotonic_ms() < deadline);
    ck_assert_int_eq(reconcile(), 0);
    ck_assert_int_eq(status_condition_status(status, COND_SERVICE_HEALTHY), COND_TRUE);
    ck_assert_int_eq(history_count("succeeded"), 1);
    char log[300];
    snprintf(log, sizeof log, "%s/logs/ns_api.log", dir);
    ck_assert_int_eq(access(log, R_OK), 0);
    rec.forget(rec.self, KEY);
    sa->process_state(sa, KEY, &ps);
    ck_assert(!ps.known);
    fpf.sa = &fsa.base;
    free(err);
}
END_TEST

Suite *service_reconciler_suite(void)
{
    Suite *s = suite_create("service_reconciler");
    TCase *tc = tcase_create("glue");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_healthy_service_is_reported_and_costs_nothing);
    tcase_add_test(tc, test_failures_recover_then_heal_with_mttr_history_audit_and_metric);
    tcase_add_test(tc, test_never_healing_gets_exactly_max_attempts_then_needs_attention);
    tcase_add_test(tc, test_process_exit_recovers_at_once_and_heals_only_on_a_new_probe);
    tcase_add_test(tc, test_after_a_recovery_the_service_is_probed_fast_until_its_first_success);
    tcase_add_test(tc, test_failures_while_starting_up_are_not_an_incident);
    tcase_add_test(tc, test_a_slow_start_is_starting_not_failing);
    tcase_add_test(tc, test_a_process_exiting_while_starting_is_restarted_at_once);
    tcase_add_test(tc, test_failures_count_after_the_window_and_each_restart_opens_a_new_one);
    tcase_add_test(tc, test_dry_run_and_pause_plan_without_acting);
    tcase_add_test(tc, test_a_method_the_platform_lacks_is_reported_not_attempted);
    tcase_add_test(tc, test_command_method_waits_for_a_running_command);
    tcase_add_test(tc, test_a_missing_deployment_is_a_configuration_error_not_an_attempt);
    tcase_add_test(tc, test_before_the_first_probe_and_during_the_first_start_it_is_pending);
    tcase_add_test(tc, test_a_cluster_service_before_its_first_probe_is_pending);
    tcase_add_test(tc, test_a_failed_attempt_counts_and_is_recorded_as_failed);
    tcase_add_test(tc, test_forget_disable_and_shutdown_release_everything);
    tcase_add_test(tc, test_real_supervised_server_is_restarted_after_sigkill);
    suite_add_tcase(s, tc);
    return s;
}
