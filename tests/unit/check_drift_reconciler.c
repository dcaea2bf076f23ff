/*
 * check_drift_reconciler.c — the drift loop's glue (drift_reconciler.h) on
 * the fake clock, with real CSV files, a real retrain command (a small sh
 * script that adds a model version), the real local registry as the model
 * actuators and the real retraining log. Acceptance 4 of issue 4: a retrain
 * runs once per cooldown, a restarted controller (a new reconciler on the
 * persisted status) does not re-trigger, and the trigger stops once the
 * reference has rolled forward. Also: promotion only above minAccuracy,
 * failure and backoff, timeout, a retrain lost in a restart, blocking by a
 * higher-priority loop, dry run, minSamples, an external score source.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drift/drift_reconciler.h"
#include "drift/retrain_actuators.h"
#include "base/errors.h"
#include "base/fsutil.h"
#include "local/registry.h"
#include "base/log.h"
#include "runtime/status.h"

Suite *drift_reconciler_suite(void);

#define T0 1795888800000LL /* 2026-11-28T18:00:00Z */
#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define ROWS 200

static char dir[64];
static char path_ref[128], path_cur[128], registry[128], logpath[160], statedir[128], envfile[128];
static struct fake_clock fc;
static struct pipeline pl;
static cJSON *status;
static struct reconciler rec;
static bool rec_alive;

/* The retrain command: records its environment, adds the version named in
 * next_version with the metrics in next_metrics, waits while `hold` exists,
 * exits with the code in exit_code. */
static const char SCRIPT[] =
    "d=$1\n"
    "echo \"$SELFHEAL_PIPELINE|$SELFHEAL_DRIFT_SCORE|$SELFHEAL_REFERENCE|$SELFHEAL_CURRENT\" >> $d/env.txt\n"
    "while [ -f $d/hold ]; do sleep 0.01; done\n"
    "v=$(cat $d/next_version)\n"
    "mkdir -p $d/models/$v && cat $d/next_metrics > $d/models/$v/metrics.json\n"
    "echo trained $v\n"
    "exit $(cat $d/exit_code)\n";
static char *argv_cmd[6];

/* --- notify: a finished retrain queues the key --- */
static pthread_mutex_t nmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ncv = PTHREAD_COND_INITIALIZER;
static int notified;
static char notified_key[128];

static void notify_fn(void *ctx, const char *key)
{
    (void)ctx;
    pthread_mutex_lock(&nmu);
    notified++;
    snprintf(notified_key, sizeof notified_key, "%s", key);
    pthread_cond_broadcast(&ncv);
    pthread_mutex_unlock(&nmu);
}

static const struct reconciler_notify notify = {.fn = notify_fn};

/* Waits (bounded, real time) until `n` notifications have arrived. */
static void wait_notified(int n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    pthread_mutex_lock(&nmu);
    while (notified < n)
        if (pthread_cond_timedwait(&ncv, &nmu, &ts) != 0)
            break;
    int got = notified;
    pthread_mutex_unlock(&nmu);
    ck_assert_msg(got >= n, "no notification from the retrain's watcher (%d < %d)", got, n);
    ck_assert_str_eq(notified_key, "default/housing");
}

/* --- the fake platform: real registry, events recorded --- */
static struct {
    struct platform base;
    char events[4096];
    char last_message[1024];
} fp;

static void fp_event(struct platform *pf, const struct pipeline *p, enum event_type type,
                     const char *reason, const char *message)
{
    (void)pf;
    (void)p;
    (void)type;
    size_t n = strlen(fp.events);
    snprintf(fp.events + n, sizeof fp.events - n, "%s;", reason);
    snprintf(fp.last_message, sizeof fp.last_message, "%s", message);
}

static const void *fp_actuators(struct platform *pf, const char *loop)
{
    (void)pf;
    if (strcmp(loop, "model") == 0)
        return registry_model_actuators();
    if (strcmp(loop, "retrain") == 0)
        return retrain_local_actuators();
    return NULL;
}

/* --- files --- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (fs_read_file(path, 1 << 22, &data, &len) != 0)
        return strdup("");
    return data;
}

static void write_csv(const char *path, int rows, double shift)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("a,b,city\n", f);
    for (int i = 0; i < rows; i++)
        fprintf(f, "%g,%g,%s\n", i % 50 + shift, (i * 7) % 50 + shift, i % 3 ? "north" : "south");
    fclose(f);
}

static void set_file(const char *name, const char *text)
{
    char p[160];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    write_file(p, text);
}

static void add_version(const char *name, double metric)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", registry, name);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    char json[64];
    snprintf(json, sizeof json, "{\"accuracy\": %.2f}", metric);
    snprintf(p, sizeof p, "%s/%s/metrics.json", registry, name);
    write_file(p, json);
}

static const char *current(void)
{
    static char buf[128];
    char p[256];
    snprintf(p, sizeof p, "%s/current", registry);
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

static int lines(const char *path)
{
    char *t = read_file(path);
    int n = 0;
    for (char *c = t; *c; c++)
        n += *c == '\n';
    free(t);
    return n;
}

static void new_reconciler(void)
{
    struct drift_reconciler_options o = {.clock = &fc.base, .notify = &notify, .state_dir = statedir,
                                         .retrain_log = logpath, .threads = 2};
    char *err = NULL;
    ck_assert_int_eq(drift_reconciler_new(&o, &rec, &err), 0);
    ck_assert_str_eq(rec.name, "drift");
    rec_alive = true;
}

static void free_reconciler(void)
{
    if (rec_alive) {
        rec.shutdown(rec.self);
        drift_reconciler_free(rec.self);
    }
    rec_alive = false;
}

static void setup(void)
{
    log_configure(LOG_ERROR, LOG_FORMAT_TEXT, NULL);
    snprintf(dir, sizeof dir, "/tmp/sh-driftrec-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path_ref, sizeof path_ref, "%s/reference.csv", dir);
    snprintf(path_cur, sizeof path_cur, "%s/current.csv", dir);
    snprintf(registry, sizeof registry, "%s/models", dir);
    snprintf(logpath, sizeof logpath, "%s/.github/triggers/retraining_log.json", dir);
    snprintf(statedir, sizeof statedir, "%s/state", dir);
    snprintf(envfile, sizeof envfile, "%s/env.txt", dir);
    ck_assert_int_eq(mkdir(registry, 0755), 0);
    add_version("v1", 0.80);
    char p[256];
    snprintf(p, sizeof p, "%s/current", registry);
    ck_assert_int_eq(symlink("v1", p), 0);
    write_csv(path_ref, ROWS, 0);
    write_csv(path_cur, ROWS, 40); /* a and b drift; city does not: score 2/3 */
    set_file("next_version", "v2\n");
    set_file("next_metrics", "{\"accuracy\": 0.91}\n");
    set_file("exit_code", "0\n");

    fake_clock_init(&fc, T0);
    memset(&fp, 0, sizeof fp);
    fp.base.name = "fake";
    fp.base.actuators = fp_actuators;
    fp.base.record_event = fp_event;
    pthread_mutex_lock(&nmu);
    notified = 0;
    notified_key[0] = '\0';
    pthread_mutex_unlock(&nmu);

    argv_cmd[0] = "sh";
    argv_cmd[1] = "-c";
    argv_cmd[2] = (char *)SCRIPT;
    argv_cmd[3] = "retrain";
    argv_cmd[4] = dir;
    argv_cmd[5] = NULL;

    memset(&pl, 0, sizeof pl);
    pl.key = "default/housing";
    pl.namespace_ = "default";
    pl.name = "housing";
    pl.generation = 1;
    pl.valid = true;
    struct spec_drift *d = &pl.spec.drift;
    d->present = d->enabled = true;
    d->reference_path = path_ref;
    d->current_path = path_cur;
    d->method = DRIFT_PSI;
    d->feature_threshold = 0.2;
    d->threshold = 0.5;
    d->min_samples = 100;
    d->interval_ms = 5 * MIN;
    d->cooldown_ms = 24 * HOUR;
    d->retrain.command.argv = argv_cmd;
    d->retrain.command.argc = 5;
    d->retrain.timeout_ms = HOUR;
    struct spec_model *m = &pl.spec.model;
    m->present = m->enabled = true;
    m->metric.name = "accuracy";
    m->min_accuracy = 0.70;
    m->rollback.registry_path = registry;

    status = status_new();
    new_reconciler();
}

static void teardown(void)
{
    char hold[128];
    snprintf(hold, sizeof hold, "%s/hold", dir);
    unlink(hold);
    free_reconciler();
    cJSON_Delete(status);
    char *argv[] = {"rm", "-rf", dir, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execvp("rm", argv);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
}

struct run {
    int rc;
    bool in_flight;
    unsigned phases;
    int64_t requeue;
};

static struct run run_with(bool paused, bool blocked)
{
    struct reconcile_ctx ctx = {.p = &pl,
                                .spec = &pl.spec,
                                .status = status,
                                .now_ms = clock_now_ms(&fc.base),
                                .clock = &fc.base,
                                .platform = &fp.base,
                                .paused = paused,
                                .action_in_flight = blocked};
    struct run r;
    r.rc = rec.reconcile(rec.self, &ctx);
    r.in_flight = ctx.action_in_flight;
    r.phases = ctx.phase_requests;
    r.requeue = ctx.requeue_after_ms;
    return r;
}

static struct run run(void)
{
    return run_with(false, false);
}

static const char *reason(void)
{
    return status_condition_reason(status, COND_MODEL_FRESH);
}

static const char *cond_message(void)
{
    return status_str(status_get_condition(status, COND_MODEL_FRESH), "message");
}

static const cJSON *drift(void)
{
    return cJSON_GetObjectItemCaseSensitive(status, "drift");
}

static const cJSON *job(void)
{
    return cJSON_GetObjectItemCaseSensitive(drift(), "retrainJob");
}

static const cJSON *history(int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(status, "history"), i);
}

static int history_len(void)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(status, "history"));
}

/* Starts a retrain and lets it finish: the reconcile after the notification records it. */
static void retrain_cycle(int nth)
{
    struct run r = run();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_str_eq(reason(), "Retraining");
    ck_assert(r.in_flight);
    ck_assert_uint_eq(r.phases, PHASE_REQ(PHASE_RETRAINING));
    wait_notified(nth);
    r = run();
    ck_assert_int_eq(r.rc, 0);
}

/* --- tests --- */

START_TEST(test_retrain_once_per_cooldown_reference_rolls_forward)
{
    struct run r = run();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_int_eq(status_condition_status(status, COND_MODEL_FRESH), COND_FALSE);
    ck_assert_str_eq(reason(), "Retraining");
    ck_assert(r.in_flight);
    ck_assert_uint_eq(r.phases, PHASE_REQ(PHASE_RETRAINING));
    ck_assert_str_eq(status_str(job(), "state"), "Running");
    ck_assert_int_gt((int)status_num(job(), "pid", 0), 0);
    ck_assert_double_eq_tol(status_num(drift(), "score", -1), 0.667, 1e-9);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(drift(), "driftedFeatures")), 2);
    ck_assert_str_eq(status_str(history(0), "action"), "retrain");
    ck_assert_str_eq(status_str(history(0), "outcome"), "started");
    ck_assert_msg(strstr(fp.events, "RetrainStarted;"), "%s", fp.events);

    wait_notified(1);
    r = run();
    ck_assert_int_eq(r.rc, 0);
    /* recorded: lastRetrainTime, retrains, history, log */
    ck_assert_str_eq(status_str(drift(), "lastRetrainTime"), "2026-11-28T18:00:00Z");
    ck_assert_int_eq((int)status_num(drift(), "retrains", 0), 1);
    ck_assert_str_eq(status_str(job(), "state"), "Succeeded");
    ck_assert_int_eq((int)status_num(job(), "exitCode", -1), 0);
    ck_assert_str_eq(status_str(history(0), "outcome"), "succeeded");
    ck_assert_int_eq(history_len(), 1);
    /* promoted: v2 records 0.91 ≥ 0.70 */
    ck_assert_str_eq(current(), "v2");
    ck_assert_msg(strstr(fp.events, "ModelPromoted;ReferenceUpdated;RetrainSucceeded;"), "%s", fp.events);
    /* the reference rolled forward: same bytes as the current data, no drift now */
    char *a = read_file(path_ref), *b = read_file(path_cur);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    ck_assert_int_eq(status_condition_status(status, COND_MODEL_FRESH), COND_TRUE);
    ck_assert_str_eq(reason(), "NoDrift");
    ck_assert(!r.in_flight);
    ck_assert_uint_eq(r.phases, 0);
    /* the environment the command saw */
    char *env = read_file(envfile);
    char want[400];
    snprintf(want, sizeof want, "default/housing|0.666667|%s|%s\n", path_ref, path_cur);
    ck_assert_str_eq(env, want);
    free(env);
    /* the retraining log */
    char *text = read_file(logpath);
    cJSON *log = cJSON_Parse(text);
    free(text);
    ck_assert_str_eq(cJSON_GetObjectItem(log, "last_retrain_time")->valuestring, "2026-11-28T18:00:00Z");
    cJSON *ev = cJSON_GetObjectItem(log, "events");
    ck_assert_int_eq(cJSON_GetArraySize(ev), 2);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 1), "status")->valuestring, "succeeded");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 1), "model_version")->valuestring, "v2");
    cJSON_Delete(log);
    /* the job's output went to the state folder */
    char out[256];
    snprintf(out, sizeof out, "%s/logs/retrain-default-housing.log", statedir);
    char *joblog = read_file(out);
    ck_assert_msg(strstr(joblog, "trained v2\n"), "%s", joblog);
    free(joblog);

    /* the same drift does not trigger again */
    for (int i = 1; i <= 3; i++) {
        fake_clock_advance(&fc, 6 * HOUR);
        r = run();
        ck_assert_str_eq(reason(), "NoDrift");
    }
    ck_assert_int_eq(lines(envfile), 1);

    /* new drift within the cooldown: CooldownActive until it ends */
    fake_clock_set(&fc, T0 + 19 * HOUR);
    write_csv(path_cur, ROWS, 90);
    set_file("next_version", "v3\n");
    r = run();
    ck_assert_str_eq(reason(), "CooldownActive");
    ck_assert_msg(strstr(cond_message(), "next allowed at 2026-11-29T18:00:00Z"), "%s", cond_message());
    ck_assert_int_eq(r.requeue, 5 * MIN); /* the next check comes before the cooldown's end */
    ck_assert(!r.in_flight);
    fake_clock_set(&fc, T0 + 24 * HOUR - SEC);
    r = run();
    ck_assert_str_eq(reason(), "CooldownActive");
    ck_assert_int_eq(r.requeue, SEC);
    ck_assert_int_eq(lines(envfile), 1);
    /* the cooldown is over: once more */
    fake_clock_set(&fc, T0 + 24 * HOUR);
    retrain_cycle(2);
    ck_assert_int_eq(lines(envfile), 2);
    ck_assert_int_eq((int)status_num(drift(), "retrains", 0), 2);
    ck_assert_str_eq(status_str(drift(), "lastRetrainTime"), "2026-11-29T18:00:00Z");
    ck_assert_str_eq(current(), "v3");
    /* rolled forward again: no trigger, however long after */
    for (int i = 1; i <= 10; i++) {
        fake_clock_advance(&fc, 6 * HOUR);
        r = run();
        ck_assert_str_eq(reason(), "NoDrift");
    }
    ck_assert_int_eq(lines(envfile), 2);
    ck_assert_str_eq(reason(), "NoDrift");
}
END_TEST

START_TEST(test_restart_does_not_retrigger)
{
    retrain_cycle(1);
    ck_assert_str_eq(reason(), "NoDrift");
    /* the status as persisted, a new controller process an hour later, new drift */
    char *persisted = cJSON_PrintUnformatted(status);
    free_reconciler();
    cJSON_Delete(status);
    status = cJSON_Parse(persisted);
    free(persisted);
    new_reconciler();
    write_csv(path_cur, ROWS, 90);
    fake_clock_set(&fc, T0 + HOUR);
    struct run r = run();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_str_eq(reason(), "CooldownActive");
    ck_assert(!r.in_flight);
    ck_assert_int_eq(lines(envfile), 1);
    /* and again, a second restart */
    persisted = cJSON_PrintUnformatted(status);
    free_reconciler();
    cJSON_Delete(status);
    status = cJSON_Parse(persisted);
    free(persisted);
    new_reconciler();
    fake_clock_set(&fc, T0 + 23 * HOUR);
    run();
    ck_assert_str_eq(reason(), "CooldownActive");
    ck_assert_int_eq(lines(envfile), 1);
    fake_clock_set(&fc, T0 + 24 * HOUR);
    retrain_cycle(2);
    ck_assert_int_eq(lines(envfile), 2);
}
END_TEST

START_TEST(test_model_kept_below_min_accuracy)
{
    set_file("next_metrics", "{\"accuracy\": 0.60}\n");
    retrain_cycle(1);
    ck_assert_str_eq(current(), "v1");
    ck_assert_msg(strstr(fp.events, "ModelKept;"), "%s", fp.events);
    char *text = read_file(logpath);
    ck_assert_msg(strstr(text, "kept v1: the newest version v2 records accuracy 0.600 < minAccuracy 0.700"),
                  "%s", text);
    free(text);
    /* the retrain itself succeeded: cooldown runs, reference rolled */
    ck_assert_int_eq((int)status_num(drift(), "retrains", 0), 1);
    ck_assert_str_eq(reason(), "NoDrift");
}
END_TEST

START_TEST(test_failure_backoff_and_retry)
{
    set_file("exit_code", "3\n");
    retrain_cycle(1);
    ck_assert_str_eq(reason(), "RetrainFailed");
    ck_assert_str_eq(status_str(job(), "state"), "Failed");
    ck_assert_int_eq((int)status_num(job(), "exitCode", 0), 3);
    ck_assert_int_eq((int)status_num(job(), "consecutiveFailures", 0), 1);
    ck_assert_ptr_null(cJSON_GetObjectItem(drift(), "lastRetrainTime"));
    ck_assert_str_eq(status_str(history(0), "outcome"), "failed");
    ck_assert_msg(strstr(fp.events, "RetrainFailed;"), "%s", fp.events);
    ck_assert_str_eq(current(), "v1");
    /* the reference did not move: drift remains, retried after the backoff */
    fake_clock_advance(&fc, 4 * MIN);
    struct run r = run();
    ck_assert_str_eq(reason(), "RetrainFailed");
    ck_assert_int_eq(r.requeue, MIN);
    ck_assert_int_eq(lines(envfile), 1);
    fake_clock_advance(&fc, MIN);
    set_file("exit_code", "0\n");
    retrain_cycle(2);
    ck_assert_int_eq(lines(envfile), 2);
    ck_assert_str_eq(reason(), "NoDrift");
    ck_assert_int_eq((int)status_num(drift(), "retrains", 0), 1);
    ck_assert_ptr_null(cJSON_GetObjectItem(job(), "consecutiveFailures"));
}
END_TEST

START_TEST(test_timeout_kills_and_fails)
{
    set_file("hold", "");
    struct run r = run();
    ck_assert_str_eq(reason(), "Retraining");
    /* still running: the loop holds the action and does not judge again */
    fake_clock_advance(&fc, 30 * MIN);
    r = run();
    ck_assert_str_eq(reason(), "Retraining");
    ck_assert(r.in_flight);
    fake_clock_advance(&fc, 30 * MIN); /* the 1 h timeout */
    wait_notified(1);
    r = run();
    ck_assert_str_eq(reason(), "RetrainFailed");
    ck_assert_str_eq(status_str(job(), "state"), "TimedOut");
    ck_assert_msg(strstr(status_str(job(), "message"), "timed out after 1h"), "%s", status_str(job(), "message"));
    ck_assert(!r.in_flight);
}
END_TEST

START_TEST(test_running_retrain_lost_in_restart)
{
    set_file("hold", "");
    run();
    ck_assert_str_eq(status_str(job(), "state"), "Running");
    char *persisted = cJSON_PrintUnformatted(status);
    free_reconciler(); /* the old process goes away (its job is stopped) */
    cJSON_Delete(status);
    status = cJSON_Parse(persisted);
    free(persisted);
    char hold[128];
    snprintf(hold, sizeof hold, "%s/hold", dir);
    unlink(hold);
    new_reconciler();
    fake_clock_advance(&fc, MIN);
    struct run r = run();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_str_eq(status_str(job(), "state"), "Lost");
    ck_assert_int_eq((int)status_num(job(), "consecutiveFailures", 0), 1);
    ck_assert_str_eq(status_str(history(0), "outcome"), "failed");
    ck_assert_str_eq(reason(), "RetrainFailed");
    ck_assert(!r.in_flight);
}
END_TEST

START_TEST(test_blocked_dry_run_and_disabled)
{
    struct run r = run_with(false, true);
    ck_assert_str_eq(reason(), "DriftDetected");
    ck_assert(r.in_flight); /* still the other loop's */
    ck_assert_int_eq(r.requeue, 10 * SEC);
    ck_assert_int_eq(lines(envfile), 0);
    r = run_with(true, false);
    ck_assert_str_eq(reason(), "DriftDetected");
    ck_assert(!r.in_flight);
    const cJSON *planned = cJSON_GetObjectItem(status, "plannedActions");
    ck_assert_int_eq(cJSON_GetArraySize(planned), 1);
    ck_assert_msg(strstr(cJSON_GetArrayItem(planned, 0)->valuestring, "drift: retrain: sh -c"), "%s",
                  cJSON_GetArrayItem(planned, 0)->valuestring);
    ck_assert_int_eq(lines(envfile), 0);
    pl.spec.drift.dry_run = true;
    run();
    ck_assert_int_eq(lines(envfile), 0);
    pl.spec.drift.dry_run = false;
    run();
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(status, "plannedActions")), 0);
    wait_notified(1);
    run();
    ck_assert_int_eq(lines(envfile), 1);
    pl.spec.drift.enabled = false;
    run();
    ck_assert_ptr_null(status_get_condition(status, COND_MODEL_FRESH));
}
END_TEST

START_TEST(test_min_samples_unknown)
{
    write_csv(path_cur, 99, 40);
    struct run r = run();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_int_eq(status_condition_status(status, COND_MODEL_FRESH), COND_UNKNOWN);
    ck_assert_str_eq(reason(), "InsufficientData");
    ck_assert_msg(strstr(cond_message(), "99 in the current data"), "%s", cond_message());
    ck_assert_ptr_null(cJSON_GetObjectItem(drift(), "score"));
    ck_assert_int_eq(lines(envfile), 0);
    /* unreadable data: Unknown too */
    unlink(path_cur);
    fake_clock_advance(&fc, 5 * MIN);
    run();
    ck_assert_str_eq(reason(), "DriftUnavailable");
    ck_assert_int_eq(lines(envfile), 0);
    /* an idle check leaves the status as it was */
    cJSON *before = cJSON_Duplicate(status, 1);
    fake_clock_advance(&fc, 5 * MIN);
    run();
    ck_assert(status_equal(before, status));
    cJSON_Delete(before);
}
END_TEST

START_TEST(test_external_score_source)
{
    char scorefile[128];
    snprintf(scorefile, sizeof scorefile, "%s/score.json", dir);
    write_file(scorefile, "{\"drift\": {\"score\": 0.85}}");
    struct spec_drift *d = &pl.spec.drift;
    d->reference_path = NULL;
    d->current_path = NULL;
    d->score_source.kind = METRIC_SOURCE_FILE;
    d->score_source.path = scorefile;
    d->score_source.json_pointer = "/drift/score";
    retrain_cycle(1);
    char *env = read_file(envfile);
    ck_assert_str_eq(env, "default/housing|0.85||\n");
    free(env);
    /* no reference to roll: the score still says drift, so the cooldown holds it */
    ck_assert_str_eq(reason(), "CooldownActive");
    write_file(scorefile, "{\"drift\": {\"score\": 0.2}}");
    fake_clock_advance(&fc, 5 * MIN);
    run();
    ck_assert_str_eq(reason(), "NoDrift");
}
END_TEST

Suite *drift_reconciler_suite(void)
{
    Suite *s = suite_create("drift_reconciler");
    TCase *tc = tcase_create("loop");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_retrain_once_per_cooldown_reference_rolls_forward);
    tcase_add_test(tc, test_restart_does_not_retrigger);
    tcase_add_test(tc, test_model_kept_below_min_accuracy);
    tcase_add_test(tc, test_failure_backoff_and_retry);
    tcase_add_test(tc, test_timeout_kills_and_fails);
    tcase_add_test(tc, test_running_retrain_lost_in_restart);
    tcase_add_test(tc, test_blocked_dry_run_and_disabled);
    tcase_add_test(tc, test_min_samples_unknown);
    tcase_add_test(tc, test_external_score_source);
    suite_add_tcase(s, tc);
    return s;
}
