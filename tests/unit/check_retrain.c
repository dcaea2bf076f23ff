/*
 * check_retrain.c — the retraining rules (drift_decide.h) on the fake clock:
 * once per cooldown, lastRetrainTime surviving a restart (status written and
 * read back), no trigger once the reference rolled forward, RetrainFailed
 * with backoff and at most one retry per cooldown window; the background
 * job (local/retrain_job.h) with real processes: environment, log file, exit
 * status, exec failure, timeout on the fake clock killing the whole process
 * group, stop; the retraining log (retrain_log.h).
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drift/drift_decide.h"
#include "local/retrain_job.h"
#include "drift/retrain_log.h"
#include "base/errors.h"
#include "base/fsutil.h"

Suite *retrain_suite(void);

#define T0 1795888800000LL /* 2026-11-28T18:00:00Z */
#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

static struct spec_drift sd;
static struct drift_state st;
static struct drift_observation obs;
static struct drift_decision d;

static void decide_setup(void)
{
    memset(&sd, 0, sizeof sd);
    sd.present = sd.enabled = true;
    sd.threshold = 0.5;
    sd.cooldown_ms = 24 * HOUR;
    sd.interval_ms = 5 * MIN;
    static char *argv[] = {"train", NULL};
    sd.retrain.command.argv = argv;
    sd.retrain.command.argc = 1;
    memset(&st, 0, sizeof st);
    st.job.exit_code = -1;
    memset(&obs, 0, sizeof obs);
    obs.ok = true;
    obs.verdict = DRIFT_VERDICT_DRIFT;
    obs.score = 0.857;
    snprintf(obs.message, sizeof obs.message, "drift: score 0.857 ≥ threshold 0.500");
}

static void decide_at(int64_t now)
{
    struct drift_decide_in in = {.spec = &sd, .obs = &obs, .prev = &st, .now_ms = now};
    drift_decide(&in, &d);
}

/* Writes st into a status section and reads it back: what a restarted controller sees. */
static void restart(void)
{
    cJSON *sec = cJSON_CreateObject();
    ck_assert_int_eq(drift_state_write(&st, sec), 0);
    char *text = cJSON_PrintUnformatted(sec);
    cJSON_Delete(sec);
    cJSON *back = cJSON_Parse(text);
    free(text);
    drift_state_read(back, &st);
    cJSON_Delete(back);
}

START_TEST(test_once_per_cooldown)
{
    decide_at(T0);
    ck_assert(d.start);
    ck_assert_str_eq(d.reason, "Retraining");
    drift_state_started(&st, &sd, T0, 123, NULL, "/tmp/log");
    drift_state_finished(&st, true, "Succeeded", 0, "exit status 0", T0 + 10 * MIN);
    ck_assert_int_eq(st.last_retrain_ms, T0 + 10 * MIN);
    ck_assert_int_eq(st.retrains, 1);
    /* drift again an hour later: cooldown, and it says until when */
    decide_at(T0 + 70 * MIN);
    ck_assert(!d.start);
    ck_assert_int_eq(d.cond, COND_FALSE);
    ck_assert_str_eq(d.reason, "CooldownActive");
    ck_assert_int_eq(d.next_ms, T0 + 10 * MIN + 24 * HOUR);
    ck_assert_msg(strstr(d.message, "2026-11-29T18:10:00Z"), "%s", d.message);
    decide_at(T0 + 10 * MIN + 24 * HOUR - 1);
    ck_assert(!d.start);
    decide_at(T0 + 10 * MIN + 24 * HOUR);
    ck_assert(d.start);
}
END_TEST

START_TEST(test_cooldown_survives_restart)
{
    drift_state_started(&st, &sd, T0, 123, NULL, "/tmp/log");
    drift_state_finished(&st, true, "Succeeded", 0, "exit status 0", T0 + 5 * MIN);
    restart();
    ck_assert_int_eq(st.last_retrain_ms, T0 + 5 * MIN);
    ck_assert_int_eq(st.retrains, 1);
    ck_assert_int_eq(st.job.phase, DRIFT_JOB_SUCCEEDED);
    decide_at(T0 + 2 * HOUR);
    ck_assert(!d.start);
    ck_assert_str_eq(d.reason, "CooldownActive");
    restart();
    decide_at(T0 + 5 * MIN + 24 * HOUR);
    ck_assert(d.start);
}
END_TEST

START_TEST(test_reference_rolled_forward_no_trigger)
{
    drift_state_started(&st, &sd, T0, 1, NULL, NULL);
    drift_state_finished(&st, true, "Succeeded", 0, "", T0 + MIN);
    obs.verdict = DRIFT_VERDICT_NONE;
    obs.score = 0;
    snprintf(obs.message, sizeof obs.message, "no drift: score 0.000 < threshold 0.500");
    /* however long after: no drift, no retrain */
    for (int64_t t = T0 + MIN; t < T0 + 72 * HOUR; t += 6 * HOUR) {
        decide_at(t);
        ck_assert(!d.start);
        ck_assert_int_eq(d.cond, COND_TRUE);
        ck_assert_str_eq(d.reason, "NoDrift");
    }
}
END_TEST

START_TEST(test_failure_backoff_one_retry_per_window)
{
    decide_at(T0);
    ck_assert(d.start);
    drift_state_started(&st, &sd, T0, 1, NULL, NULL);
    drift_state_finished(&st, false, "Failed", 3, "exit status 3", T0 + MIN);
    ck_assert_int_eq(st.last_retrain_ms, 0);
    ck_assert_int_eq(st.job.failures, 1);
    decide_at(T0 + 2 * MIN);
    ck_assert(!d.start);
    ck_assert_str_eq(d.reason, "RetrainFailed");
    ck_assert_int_eq(d.next_ms, T0 + MIN + DRIFT_RETRY_BACKOFF_MS);
    ck_assert_msg(strstr(d.message, "exit status 3"), "%s", d.message);
    /* the retry after the backoff: the second attempt of the window */
    decide_at(T0 + MIN + DRIFT_RETRY_BACKOFF_MS);
    ck_assert(d.start);
    drift_state_started(&st, &sd, T0 + 6 * MIN, 2, NULL, NULL);
    ck_assert_int_eq(st.job.window_attempts, 2);
    drift_state_finished(&st, false, "Failed", 3, "exit status 3", T0 + 7 * MIN);
    restart();
    /* no third attempt in this cooldown window, whatever the backoff says */
    decide_at(T0 + 7 * MIN + 2 * DRIFT_RETRY_BACKOFF_MS);
    ck_assert(!d.start);
    ck_assert_str_eq(d.reason, "RetrainFailed");
    ck_assert_int_eq(d.next_ms, T0 + 24 * HOUR);
    decide_at(T0 + 24 * HOUR - 1);
    ck_assert(!d.start);
    decide_at(T0 + 24 * HOUR);
    ck_assert(d.start);
    drift_state_started(&st, &sd, T0 + 24 * HOUR, 3, NULL, NULL);
    ck_assert_int_eq(st.job.window_attempts, 1);
    ck_assert_int_eq(st.job.window_start_ms, T0 + 24 * HOUR);
    drift_state_finished(&st, true, "Succeeded", 0, "", T0 + 25 * HOUR);
    ck_assert_int_eq(st.job.failures, 0);
    decide_at(T0 + 26 * HOUR);
    ck_assert_str_eq(d.reason, "CooldownActive");
}
END_TEST

START_TEST(test_backoff_doubles_and_is_capped)
{
    sd.cooldown_ms = 0; /* no window limit: only the backoff spaces attempts */
    int64_t t = T0;
    int64_t want[] = {5 * MIN, 10 * MIN, 20 * MIN, 40 * MIN};
    for (int i = 0; i < 4; i++) {
        drift_state_started(&st, &sd, t, 1, NULL, NULL);
        drift_state_finished(&st, false, "Failed", 1, "exit status 1", t);
        decide_at(t);
        ck_assert_str_eq(d.reason, "RetrainFailed");
        ck_assert_int_eq(d.next_ms - t, want[i]);
        t = d.next_ms;
        decide_at(t);
        ck_assert(d.start);
    }
    /* capped at 7 days */
    st.job.failures = 40;
    st.job.last_failure_ms = t;
    decide_at(t);
    ck_assert_int_eq(d.next_ms - t, DRIFT_RETRY_BACKOFF_MAX_MS);
}
END_TEST

START_TEST(test_reset_clears_failures_not_cooldown)
{
    drift_state_started(&st, &sd, T0, 1, NULL, NULL);
    drift_state_finished(&st, true, "Succeeded", 0, "", T0);
    drift_state_started(&st, &sd, T0 + 25 * HOUR, 1, NULL, NULL);
    drift_state_finished(&st, false, "Failed", 1, "", T0 + 25 * HOUR);
    decide_at(T0 + 25 * HOUR + MIN);
    ck_assert_str_eq(d.reason, "RetrainFailed");
    drift_state_reset(&st);
    decide_at(T0 + 25 * HOUR + MIN);
    ck_assert(d.start);
    ck_assert_int_eq(st.last_retrain_ms, T0);
}
END_TEST

START_TEST(test_conditions_without_action)
{
    /* running */
    struct drift_decide_in in = {.spec = &sd, .obs = &obs, .prev = &st, .now_ms = T0, .running = true};
    st.job.start_ms = T0;
    drift_decide(&in, &d);
    ck_assert(!d.start && d.retraining);
    ck_assert_str_eq(d.reason, "Retraining");
    /* blocked by a higher-priority loop */
    in.running = false;
    in.blocked = true;
    drift_decide(&in, &d);
    ck_assert(!d.start && !d.retraining);
    ck_assert_str_eq(d.reason, "DriftDetected");
    ck_assert(strstr(d.message, "higher-priority"));
    /* dry run: planned only */
    in.blocked = false;
    in.dry_run = true;
    drift_decide(&in, &d);
    ck_assert(!d.start && d.plan);
    /* no command */
    in.dry_run = false;
    in.cannot_run = "no retrain.command to run";
    drift_decide(&in, &d);
    ck_assert(!d.start && !d.plan);
    ck_assert(strstr(d.message, "no retrain.command"));
    /* unknown verdict and unreadable data: Unknown, never drift */
    in.cannot_run = NULL;
    obs.verdict = DRIFT_VERDICT_UNKNOWN;
    drift_decide(&in, &d);
    ck_assert(!d.start);
    ck_assert_int_eq(d.cond, COND_UNKNOWN);
    ck_assert_str_eq(d.reason, "InsufficientData");
    obs.ok = false;
    drift_decide(&in, &d);
    ck_assert_int_eq(d.cond, COND_UNKNOWN);
    ck_assert_str_eq(d.reason, "DriftUnavailable");
}
END_TEST

START_TEST(test_state_round_trip)
{
    st.has_score = true;
    st.score = 0.85714;
    snprintf(st.drifted[0], sizeof st.drifted[0], "age");
    st.ndrifted = 1;
    drift_state_started(&st, &sd, T0 - 1, 1, "old-job", NULL);
    drift_state_finished(&st, false, "Failed", 1, "exit status 1", T0 - 1);
    drift_state_started(&st, &sd, T0, 4321, "housing-retrain-1234abcd-2", "/var/log/x.log");
    cJSON *sec = cJSON_CreateObject();
    ck_assert_int_eq(drift_state_write(&st, sec), 0);
    ck_assert_double_eq_tol(cJSON_GetObjectItem(sec, "score")->valuedouble, 0.857, 1e-12);
    const cJSON *j = cJSON_GetObjectItem(sec, "retrainJob");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "state")->valuestring, "Running");
    ck_assert_int_eq(cJSON_GetObjectItem(j, "pid")->valueint, 4321);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "startTime")->valuestring, "2026-11-28T18:00:00Z");
    ck_assert_ptr_null(cJSON_GetObjectItem(sec, "lastRetrainTime"));
    struct drift_state back;
    drift_state_read(sec, &back);
    ck_assert_int_eq(back.job.phase, DRIFT_JOB_RUNNING);
    ck_assert_str_eq(back.drifted[0], "age");
    /* the attempt counter (it names the next Job) and the Job's name survive a restart */
    ck_assert_int_eq(back.job.attempts, 2);
    ck_assert_str_eq(back.job.name, "housing-retrain-1234abcd-2");
    /* writing what was read changes nothing (no status churn) */
    cJSON *sec2 = cJSON_CreateObject();
    ck_assert_int_eq(drift_state_write(&back, sec2), 0);
    ck_assert(cJSON_Compare(sec, sec2, true));
    cJSON_Delete(sec);
    cJSON_Delete(sec2);
}
END_TEST

/* --- the background job ---------------------------------------------------- */

static char dir[64];
static atomic_int exits;

static void on_exit_cb(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&exits, 1);
}

static void job_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sh-retrain-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    atomic_store(&exits, 0);
}

static void job_teardown(void)
{
    char *argv[] = {"rm", "-rf", dir, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execvp("rm", argv);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
}

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (fs_read_file(path, 1 << 20, &data, &len) != 0)
        return strdup("");
    return data;
}

START_TEST(test_job_env_log_and_success)
{
    char logp[128];
    snprintf(logp, sizeof logp, "%s/logs/job.log", dir);
    char *argv[] = {"sh", "-c", "echo pipeline=$SELFHEAL_PIPELINE score=$SELFHEAL_DRIFT_SCORE; echo oops >&2", NULL};
    const char *names[] = {"SELFHEAL_PIPELINE", "SELFHEAL_DRIFT_SCORE"};
    const char *values[] = {"default/housing", "0.85"};
    struct retrain_job_spec s = {.argv = argv, .env_names = names, .env_values = values, .nenv = 2,
                                 .log_path = logp, .on_exit = on_exit_cb};
    struct retrain_job *j = NULL;
    char *err = NULL;
    ck_assert_int_eq(retrain_job_start(&s, &j, &err), 0);
    ck_assert_int_eq(retrain_job_wait(j, 10000), 0);
    struct retrain_job_result r;
    retrain_job_result(j, &r);
    ck_assert_int_eq(r.state, RETRAIN_JOB_SUCCEEDED);
    ck_assert_int_eq(r.exit_code, 0);
    ck_assert_str_eq(retrain_job_state_name(r.state), "Succeeded");
    retrain_job_free(j);
    ck_assert_int_eq(atomic_load(&exits), 1);
    char *log = slurp(logp);
    ck_assert_msg(strstr(log, "pipeline=default/housing score=0.85\n"), "log: %s", log);
    ck_assert_msg(strstr(log, "oops\n"), "stderr goes to the log too: %s", log);
    free(log);
}
END_TEST

START_TEST(test_job_failure_and_exec_error)
{
    char *argv[] = {"sh", "-c", "exit 3", NULL};
    struct retrain_job_spec s = {.argv = argv, .on_exit = on_exit_cb};
    struct retrain_job *j = NULL;
    ck_assert_int_eq(retrain_job_start(&s, &j, NULL), 0);
    ck_assert_int_eq(retrain_job_wait(j, 10000), 0);
    struct retrain_job_result r;
    retrain_job_result(j, &r);
    ck_assert_int_eq(r.state, RETRAIN_JOB_FAILED);
    ck_assert_int_eq(r.exit_code, 3);
    ck_assert_str_eq(r.message, "exit status 3");
    retrain_job_free(j);

    char *bad[] = {"/nonexistent/train-model", NULL};
    s.argv = bad;
    char *err = NULL;
    j = NULL;
    ck_assert_int_eq(retrain_job_start(&s, &j, &err), SH_ENOTFOUND);
    ck_assert_ptr_null(j);
    ck_assert_msg(strstr(err, "cannot run '/nonexistent/train-model': No such file"), "%s", err);
    free(err);
    char *empty[] = {NULL};
    s.argv = empty;
    err = NULL;
    ck_assert_int_eq(retrain_job_start(&s, &j, &err), SH_EINVAL);
    free(err);
    ck_assert_int_eq(atomic_load(&exits), 1);
}
END_TEST

static bool gone(pid_t pid)
{
    char p[64], buf[256];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return true;
    bool zombie = false;
    if (fgets(buf, sizeof buf, f)) {
        char *rp = strrchr(buf, ')');
        zombie = rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
    }
    fclose(f);
    return zombie;
}

START_TEST(test_job_timeout_on_fake_clock_kills_group)
{
    struct fake_clock fc;
    fake_clock_init(&fc, T0);
    char pidfile[128], script[400];
    snprintf(pidfile, sizeof pidfile, "%s/child.pid", dir);
    /* a grandchild in the same group, then wait */
    snprintf(script, sizeof script, "sleep 300 & echo $! > %s.tmp && mv %s.tmp %s; wait", pidfile, pidfile,
             pidfile);
    char *argv[] = {"sh", "-c", script, NULL};
    struct retrain_job_spec s = {.argv = argv, .timeout_ms = HOUR, .clock = &fc.base, .on_exit = on_exit_cb};
    struct retrain_job *j = NULL;
    ck_assert_int_eq(retrain_job_start(&s, &j, NULL), 0);
    /* the grandchild is running */
    char *text = NULL;
    for (int i = 0; i < 500 && !(text = (access(pidfile, R_OK) == 0 ? slurp(pidfile) : NULL)); i++)
        usleep(10000);
    ck_assert_ptr_nonnull(text);
    pid_t grandchild = (pid_t)strtol(text, NULL, 10);
    free(text);
    ck_assert_int_gt(grandchild, 0);
    /* before the timeout on the fake clock it keeps running */
    fake_clock_advance(&fc, HOUR - 1);
    ck_assert_int_eq(retrain_job_wait(j, 100), SH_ETIMEOUT);
    fake_clock_advance(&fc, 1);
    ck_assert_int_eq(retrain_job_wait(j, 10000), 0);
    struct retrain_job_result r;
    retrain_job_result(j, &r);
    ck_assert_int_eq(r.state, RETRAIN_JOB_TIMED_OUT);
    ck_assert_str_eq(r.message, "timed out after 1h: process group killed");
    ck_assert_int_eq(r.end_ms, T0 + HOUR);
    retrain_job_free(j);
    bool ok = false;
    for (int i = 0; i < 200 && !(ok = gone(grandchild)); i++)
        usleep(10000);
    ck_assert_msg(ok, "the grandchild %d survived the group kill", (int)grandchild);
    ck_assert_int_eq(atomic_load(&exits), 1);
}
END_TEST

START_TEST(test_job_stop)
{
    char *argv[] = {"sleep", "300", NULL};
    struct retrain_job_spec s = {.argv = argv, .on_exit = on_exit_cb};
    struct retrain_job *j = NULL;
    ck_assert_int_eq(retrain_job_start(&s, &j, NULL), 0);
    struct retrain_job_result r;
    retrain_job_result(j, &r);
    ck_assert_int_eq(r.state, RETRAIN_JOB_RUNNING);
    ck_assert_int_gt(r.pid, 0);
    retrain_job_stop(j);
    retrain_job_result(j, &r);
    ck_assert_int_eq(r.state, RETRAIN_JOB_STOPPED);
    retrain_job_free(j);
    ck_assert_int_eq(atomic_load(&exits), 1);
}
END_TEST

/* --- the retraining log ------------------------------------------------------ */

START_TEST(test_log_last_time_and_events)
{
    char path[128];
    snprintf(path, sizeof path, "%s/.github/triggers/retraining_log.json", dir);
    int64_t last = -1;
    ck_assert_int_eq(retrain_log_last(path, &last, NULL), 0);
    ck_assert_int_eq(last, 0);
    struct retrain_event e;
    retrain_event_init(&e);
    e.time_ms = T0;
    e.trigger = "cli";
    e.drift_score = 0.85;
    e.threshold = 0.5;
    e.status = "triggered";
    ck_assert_int_eq(retrain_log_append(path, &e, true, NULL, NULL), 0);
    e.time_ms = T0 + HOUR;
    e.status = "skipped";
    ck_assert_int_eq(retrain_log_append(path, &e, false, NULL, NULL), 0);
    ck_assert_int_eq(retrain_log_last(path, &last, NULL), 0);
    ck_assert_int_eq(last, T0);
    char *text = slurp(path);
    cJSON *o = cJSON_Parse(text);
    free(text);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "last_retrain_time")->valuestring, "2026-11-28T18:00:00Z");
    cJSON *ev = cJSON_GetObjectItem(o, "events");
    ck_assert_int_eq(cJSON_GetArraySize(ev), 2);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 1), "status")->valuestring, "skipped");
    ck_assert_double_eq_tol(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 0), "drift_score")->valuedouble, 0.85, 1e-12);
    cJSON_Delete(o);
}
END_TEST

START_TEST(test_log_corrupt_kept_aside)
{
    char path[128], aside[160];
    snprintf(path, sizeof path, "%s/retraining_log.json", dir);
    snprintf(aside, sizeof aside, "%s.corrupt", path);
    FILE *f = fopen(path, "w");
    fputs("[1, 2", f);
    fclose(f);
    int64_t last;
    char *err = NULL;
    ck_assert_int_eq(retrain_log_last(path, &last, &err), SH_EPARSE);
    ck_assert_msg(strstr(err, "not a retraining log"), "%s", err);
    free(err);
    struct retrain_event e;
    retrain_event_init(&e);
    e.time_ms = T0;
    e.status = "succeeded";
    char *warn = NULL;
    ck_assert_int_eq(retrain_log_append(path, &e, true, NULL, &warn), 0);
    ck_assert_ptr_nonnull(warn);
    free(warn);
    ck_assert_int_eq(access(aside, F_OK), 0);
    ck_assert_int_eq(retrain_log_last(path, &last, NULL), 0);
    ck_assert_int_eq(last, T0);
}
END_TEST

Suite *retrain_suite(void)
{
    Suite *s = suite_create("retrain");
    TCase *tc = tcase_create("decide");
    tcase_add_checked_fixture(tc, decide_setup, NULL);
    tcase_add_test(tc, test_once_per_cooldown);
    tcase_add_test(tc, test_cooldown_survives_restart);
    tcase_add_test(tc, test_reference_rolled_forward_no_trigger);
    tcase_add_test(tc, test_failure_backoff_one_retry_per_window);
    tcase_add_test(tc, test_backoff_doubles_and_is_capped);
    tcase_add_test(tc, test_reset_clears_failures_not_cooldown);
    tcase_add_test(tc, test_conditions_without_action);
    tcase_add_test(tc, test_state_round_trip);
    suite_add_tcase(s, tc);
    TCase *tj = tcase_create("job");
    tcase_add_checked_fixture(tj, job_setup, job_teardown);
    tcase_set_timeout(tj, 30);
    tcase_add_test(tj, test_job_env_log_and_success);
    tcase_add_test(tj, test_job_failure_and_exec_error);
    tcase_add_test(tj, test_job_timeout_on_fake_clock_kills_group);
    tcase_add_test(tj, test_job_stop);
    tcase_add_test(tj, test_log_last_time_and_events);
    tcase_add_test(tj, test_log_corrupt_kept_aside);
    suite_add_tcase(s, tj);
    return s;
}
