/*
 * check_model_reconciler.c — the model loop's glue (model_reconciler.h) on
 * the fake clock with a fake platform whose model actuators are the real
 * local registry (a temp folder) and whose service actuators record the
 * reloads; the live metric comes from a real file source. Checks: the
 * ModelValid condition, the rollback (link swapped, history, rollback log,
 * event, reload), the grace period and its verification, the limit and the
 * reset, NoGoodVersion, inconclusive readings, dry run, blocking by a
 * higher-priority loop, one reading per interval, a failed swap.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/auditlog.h"
#include "base/errors.h"
#include "local/registry.h"
#include "model/model_reconciler.h"
#include "model/rollback_note.h"
#include "runtime/status.h"

#include "service/service_actuators.h"

Suite *model_reconciler_suite(void);

#define T0 1795888800000LL
#define SEC 1000LL
#define INTERVAL (60 * SEC)

static char dir[64];
static char registry[128];
static char live[128];
static char logpath[160];
static struct fake_clock fc;
static struct pipeline pl;
static cJSON *status;
static struct reconciler rec;

static void set_current(const char *v);

/* --- the fake platform --- */
static struct {
    struct platform base;
    char events[2048]; /* "Reason;Reason;" */
    char last_message[1024];
    char messages[4096]; /* every message, "message\n" */
    int signals, restarts, last_sig;
    char last_key[128];
    int reload_result;
    bool no_service;
    bool fail_activate;
    int observes;
    const char *move_to_on_observe; /* a deployment moving while the metric is read */
    int move_on;                    /* ... at this observe call */
    bool deployment_missing;        /* observe: the kube actuators' 404 */
    const char *view_error;         /* observe: an error reading the active version */
    char note[MODEL_MADE_MAX];      /* the note the last activate left "with the workload",
                                       given back by observe as view.made */
    int activates;
} fp;

static int fake_signal(const struct service_actuators *sa, const char *key, int sig)
{
    (void)sa;
    fp.signals++;
    fp.last_sig = sig;
    snprintf(fp.last_key, sizeof fp.last_key, "%s", key);
    return fp.reload_result;
}

static int fake_restart(const struct service_actuators *sa, const char *key, char **ret_err)
{
    (void)sa;
    fp.restarts++;
    snprintf(fp.last_key, sizeof fp.last_key, "%s", key);
    if (fp.reload_result != 0 && fp.reload_result != SH_ENOTFOUND && ret_err)
        *ret_err = strdup("exec failed");
    return fp.reload_result;
}

static struct service_actuators service_ops = {.signal_process = fake_signal,
                                               .restart_process = fake_restart};

/* The real registry, with a switch to make the swap fail. */
static int wrap_observe(const struct model_actuators *ma, const struct pipeline *p,
                        struct model_registry_view *ret)
{
    (void)ma;
    const struct model_actuators *real = registry_model_actuators();
    if (++fp.observes == fp.move_on && fp.move_to_on_observe)
        set_current(fp.move_to_on_observe);
    if (fp.deployment_missing) {
        memset(ret, 0, sizeof *ret);
        snprintf(ret->error, sizeof ret->error,
                 "deployment local-api not found in namespace %s (spec.model.rollback.deployment)",
                 p->namespace_);
        ret->workload_missing = true;
        return SH_ENOTFOUND;
    }
    int r = real->observe(real, p, ret);
    snprintf(ret->made, sizeof ret->made, "%s", fp.note);
    if (fp.view_error) {
        ret->current[0] = '\0';
        snprintf(ret->error, sizeof ret->error, "%s", fp.view_error);
    }
    return r;
}

static int wrap_activate(const struct model_actuators *ma, const struct pipeline *p,
                         const char *version, const char *note, char **ret_err)
{
    (void)ma;
    if (fp.fail_activate) {
        *ret_err = strdup("models/current: cannot replace it: Read-only file system");
        return SH_EIO;
    }
    const struct model_actuators *real = registry_model_actuators();
    int r = real->activate(real, p, version, note, ret_err);
    if (r == 0) {
        fp.activates++;
        snprintf(fp.note, sizeof fp.note, "%s", note ? note : "");
    }
    return r;
}

static const struct model_actuators model_ops = {.observe = wrap_observe, .activate = wrap_activate};

static const void *fp_actuators(struct platform *pf, const char *loop)
{
    (void)pf;
    if (strcmp(loop, "model") == 0)
        return &model_ops;
    if (strcmp(loop, "service") == 0 && !fp.no_service)
        return &service_ops;
    return NULL;
}

static void fp_event(struct platform *pf, const struct pipeline *p, enum event_type type,
                     const char *reason, const char *message)
{
    (void)pf;
    (void)p;
    (void)type;
    size_t n = strlen(fp.events);
    snprintf(fp.events + n, sizeof fp.events - n, "%s;", reason);
    snprintf(fp.last_message, sizeof fp.last_message, "%s", message);
    n = strlen(fp.messages);
    snprintf(fp.messages + n, sizeof fp.messages - n, "%s\n", message);
}

/* --- fixture --- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
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

static void set_live(double v)
{
    char json[64];
    snprintf(json, sizeof json, "{\"accuracy\": %.3f}", v);
    write_file(live, json);
}

static void set_current(const char *v)
{
    char p[256];
    snprintf(p, sizeof p, "%s/current", registry);
    unlink(p);
    ck_assert_int_eq(symlink(v, p), 0);
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

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sh-modelrec-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(registry, sizeof registry, "%s/models", dir);
    snprintf(live, sizeof live, "%s/live.json", dir);
    snprintf(logpath, sizeof logpath, "%s/rollback_log.json", registry);
    ck_assert_int_eq(mkdir(registry, 0755), 0);
    /* the brief's example: v1 0.82, v2 0.91, v3 0.65 (current) */
    add_version("v1", 0.82);
    add_version("v2", 0.91);
    add_version("v3", 0.65);
    set_current("v3");
    set_live(0.85);

    fake_clock_init(&fc, T0);
    memset(&fp, 0, sizeof fp);
    fp.base.name = "fake";
    fp.base.actuators = fp_actuators;
    fp.base.record_event = fp_event;

    memset(&pl, 0, sizeof pl);
    pl.key = "default/housing";
    pl.namespace_ = "default";
    pl.name = "housing";
    pl.generation = 1;
    pl.valid = true;
    struct spec_model *m = &pl.spec.model;
    m->present = m->enabled = true;
    pl.spec.service.present = true; /* a service to reload */
    m->metric.name = "accuracy";
    m->metric.source.kind = METRIC_SOURCE_FILE;
    m->metric.source.path = live;
    m->metric.source.json_pointer = "/accuracy";
    m->metric.interval_ms = INTERVAL;
    m->min_accuracy = 0.70;
    m->failure_limit = 1;
    m->rollback.registry_path = registry;
    m->rollback.max_rollbacks = 3;
    m->rollback.window_ms = 24 * 3600 * SEC;
    m->rollback.reload = RELOAD_RESTART;

    status = status_new();
    struct model_reconciler_options o = {.clock = &fc.base};
    char *err = NULL;
    ck_assert_int_eq(model_reconciler_new(&o, &rec, &err), 0);
    ck_assert_str_eq(rec.name, "model");
}

static void teardown(void)
{
    model_reconciler_free(rec.self);
    cJSON_Delete(status);
    char *argv[] = {"rm", "-rf", dir, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execvp("rm", argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
}

struct run {
    int rc;
    bool in_flight;
    unsigned phases;
    int64_t requeue;
};

static struct run run_with(bool paused, bool reset, bool blocked)
{
    struct reconcile_ctx ctx = {.p = &pl,
                                .spec = &pl.spec,
                                .status = status,
                                .now_ms = clock_now_ms(&fc.base),
                                .clock = &fc.base,
                                .platform = &fp.base,
                                .paused = paused,
                                .reset = reset,
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
    return run_with(false, false, false);
}

static const char *reason(void)
{
    return status_condition_reason(status, COND_MODEL_VALID);
}

static const char *cond_message(void)
{
    return status_str(status_get_condition(status, COND_MODEL_VALID), "message");
}

static const cJSON *model(void)
{
    return cJSON_GetObjectItemCaseSensitive(status, "model");
}

static const cJSON *history(int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(status, "history"), i);
}

static int history_len(void)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(status, "history"));
}

static int log_len(void)
{
    char *err = NULL;
    cJSON *arr = auditlog_read(logpath, &err);
    ck_assert_ptr_nonnull(arr);
    int n = cJSON_GetArraySize(arr);
    cJSON_Delete(arr);
    return n;
}

/* --- tests --- */

START_TEST(test_above_threshold_is_valid)
{
    struct run r = run();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_int_eq(status_condition_status(status, COND_MODEL_VALID), COND_TRUE);
    ck_assert_str_eq(reason(), "AboveThreshold");
    ck_assert_str_eq(status_str(model(), "version"), "v3");
    ck_assert_double_eq(status_num(model(), "metric", 0), 0.85);
    ck_assert_str_eq(status_str(model(), "lastGoodVersion"), "v3");
    ck_assert_uint_eq(r.phases, 0);
    ck_assert(!r.in_flight);
    ck_assert_int_eq(r.requeue, INTERVAL);
    ck_assert_str_eq(current(), "v3");
    ck_assert_str_eq(fp.events, "");
    ck_assert_int_eq(history_len(), 0);
}
END_TEST

static int rollbacks_in_history(void)
{
    int n = 0;
    for (int i = 0; i < history_len(); i++)
        n += strcmp(status_str(history(i), "action"), "rollback") == 0;
    return n;
}

/* The controller that rolled back stops before its status write (SIGKILL,
 * lost leadership): the status is the one from before, the workload is on
 * the target and carries the note. Its successor records the rollback once
 * (history, budget, Event), verifies it, and does not roll back again. */
START_TEST(test_an_unrecorded_rollback_is_recorded_by_the_successor)
{
    pl.uid = "uid-1";
    ck_assert_int_eq(run().rc, 0); /* v3 seen serving */
    fake_clock_advance(&fc, INTERVAL);
    cJSON *before = cJSON_Duplicate(status, true);
    set_live(0.65);
    ck_assert_int_eq(run().rc, 0);
    ck_assert_str_eq(current(), "v2");
    ck_assert_int_eq(fp.activates, 1);
    struct rollback_note rn;
    ck_assert(rollback_note_parse(fp.note, &rn));
    ck_assert_str_eq(rn.uid, "uid-1");
    ck_assert_str_eq(rn.from, "v3");
    ck_assert_str_eq(rn.to, "v2");
    ck_assert_int_eq(rn.basis_ms, 0);
    ck_assert_int_eq(rn.at_ms, T0 + INTERVAL);
    /* a second controller: the first one's status write never happened */
    cJSON_Delete(status);
    status = before;
    model_reconciler_free(rec.self);
    struct model_reconciler_options o = {.clock = &fc.base};
    char *err = NULL;
    ck_assert_int_eq(model_reconciler_new(&o, &rec, &err), 0);
    fp.events[0] = '\0';
    fake_clock_advance(&fc, 20 * SEC);
    set_live(0.91);
    ck_assert_int_eq(run().rc, 0);
    ck_assert_int_eq(fp.activates, 1); /* not rolled back again */
    ck_assert_int_eq(rollbacks_in_history(), 1);
    ck_assert_str_eq(status_str(history(0), "from"), "v3");
    ck_assert_str_eq(status_str(history(0), "to"), "v2");
    ck_assert_ptr_nonnull(strstr(status_str(history(0), "trigger"), "status write lost"));
    ck_assert_double_eq(status_num(model(), "rollbacksInWindow", 0), 1);
    ck_assert_str_eq(status_str(model(), "version"), "v2");
    ck_assert_ptr_nonnull(strstr(fp.events, "RolledBack;"));
    ck_assert_ptr_nonnull(strstr(fp.messages, "v3 → v2 was made 20.0 s ago but not recorded"));
    /* verified like any rollback: the first conclusive reading after its grace */
    fake_clock_advance(&fc, INTERVAL);
    ck_assert_int_eq(run().rc, 0);
    ck_assert_str_eq(status_str(history(0), "outcome"), "succeeded"); /* 0.91 */
    ck_assert_double_eq(status_num(history(0), "durationSeconds", 0), 80);
    /* recorded once: later checks leave it */
    fake_clock_advance(&fc, INTERVAL);
    ck_assert_int_eq(run().rc, 0);
    ck_assert_int_eq(rollbacks_in_history(), 1);
    ck_assert_double_eq(status_num(model(), "rollbacksInWindow", 0), 1);
    ck_assert_int_eq(fp.activates, 1);
}
END_TEST

START_TEST(test_a_note_of_another_pipeline_or_a_recorded_rollback_is_ignored)
{
    pl.uid = "uid-2";
    struct rollback_note rn = {.basis_ms = 0, .at_ms = T0 - 5 * SEC};
    snprintf(rn.uid, sizeof rn.uid, "uid-old"); /* a deleted pipeline of the same name */
    snprintf(rn.from, sizeof rn.from, "v2");
    snprintf(rn.to, sizeof rn.to, "v3");
    ck_assert_int_eq(rollback_note_format(&rn, fp.note, sizeof fp.note), 0);
    ck_assert_int_eq(run().rc, 0);
    ck_assert_int_eq(history_len(), 0);
    /* ours, but the workload has moved on since (not on its target) */
    snprintf(rn.uid, sizeof rn.uid, "uid-2");
    snprintf(rn.to, sizeof rn.to, "v1");
    ck_assert_int_eq(rollback_note_format(&rn, fp.note, sizeof fp.note), 0);
    fake_clock_advance(&fc, INTERVAL);
    ck_assert_int_eq(run().rc, 0);
    ck_assert_int_eq(history_len(), 0);
    /* a recorded rollback: its note's basis is older than the status */
    set_live(0.65);
    fake_clock_advance(&fc, INTERVAL);
    ck_assert_int_eq(run().rc, 0);
    ck_assert_int_eq(rollbacks_in_history(), 1);
    fake_clock_advance(&fc, INTERVAL);
    set_live(0.91);
    ck_assert_int_eq(run().rc, 0);
    fake_clock_advance(&fc, INTERVAL);
    ck_assert_int_eq(run().rc, 0);
    ck_assert_int_eq(rollbacks_in_history(), 1);
    /* a status whose model loop never ran (section removed and added again):
     * an old note of ours is not adopted */
    cJSON_Delete(status);
    status = status_new();
    struct rollback_note mine = {.basis_ms = 0, .at_ms = clock_now_ms(&fc.base) - SEC};
    snprintf(mine.uid, sizeof mine.uid, "uid-2");
    snprintf(mine.from, sizeof mine.from, "v3");
    snprintf(mine.to, sizeof mine.to, "%s", current());
    ck_assert_int_eq(rollback_note_format(&mine, fp.note, sizeof fp.note), 0);
    fake_clock_advance(&fc, INTERVAL);
    ck_assert_int_eq(run().rc, 0);
    ck_assert_int_eq(rollbacks_in_history(), 0);
    /* malformed notes are not notes */
    struct rollback_note out;
    ck_assert(!rollback_note_parse("", &out));
    ck_assert(!rollback_note_parse("{\"uid\":\"u\",\"basis\":0,\"at\":5,\"from\":\"a\"}", &out));
    ck_assert(!rollback_note_parse("{\"uid\":\"u\",\"basis\":-1,\"at\":5,\"from\":\"a\",\"to\":\"b\"}", &out));
    ck_assert(!rollback_note_parse("not json", &out));
    ck_assert(rollback_note_parse("{\"uid\":\"u\",\"basis\":0,\"at\":5,\"from\":\"\",\"to\":\"b\"}", &out));
    ck_assert(!rollback_note_unrecorded(&out, "u", 5, "b")); /* not after the basis... */
    ck_assert(rollback_note_unrecorded(&out, "u", 0, "b"));
    ck_assert(!rollback_note_unrecorded(&out, NULL, 0, "b"));
}
END_TEST

START_TEST(test_below_threshold_rolls_back_and_reloads)
{
    set_live(0.65);
    struct run r = run();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_str_eq(current(), "v2"); /* the newest older version with ≥ 0.70 */
    ck_assert_int_eq(status_condition_status(status, COND_MODEL_VALID), COND_FALSE);
    ck_assert_str_eq(reason(), "RolledBack");
    ck_assert_ptr_nonnull(strstr(cond_message(), "rolled back v3 → v2"));
    ck_assert_ptr_nonnull(strstr(cond_message(), "restarted the service"));
    ck_assert(r.in_flight);
    ck_assert_uint_eq(r.phases, PHASE_REQ(PHASE_ROLLING_BACK));
    ck_assert_int_eq(r.requeue, INTERVAL);
    /* reload */
    ck_assert_int_eq(fp.restarts, 1);
    ck_assert_int_eq(fp.signals, 0);
    ck_assert_str_eq(fp.last_key, "default/housing");
    ck_assert_ptr_nonnull(strstr(fp.events, "RolledBack;"));
    /* status.model */
    ck_assert_str_eq(status_str(model(), "version"), "v2");
    ck_assert_double_eq(status_num(model(), "rollbacksInWindow", 0), 1);
    /* 0.65 was v3's reading: never shown beside v2 (issue 22 item 11) */
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(model(), "metric"));
    const cJSON *vers = cJSON_GetObjectItemCaseSensitive(model(), "versions");
    ck_assert_int_eq(cJSON_GetArraySize(vers), 2);
    ck_assert_str_eq(status_str(cJSON_GetArrayItem(vers, 0), "version"), "v3");
    ck_assert_str_eq(status_str(cJSON_GetArrayItem(vers, 1), "version"), "v2");
    ck_assert_double_eq(status_num(cJSON_GetArrayItem(vers, 1), "metric", 0), 0.91);
    ck_assert_ptr_nonnull(status_str(model(), "lastRollbackTime"));
    /* history ledger */
    ck_assert_int_eq(history_len(), 1);
    ck_assert_str_eq(status_str(history(0), "loop"), "model");
    ck_assert_str_eq(status_str(history(0), "action"), "rollback");
    ck_assert_str_eq(status_str(history(0), "from"), "v3");
    ck_assert_str_eq(status_str(history(0), "to"), "v2");
    ck_assert_str_eq(status_str(history(0), "outcome"), "started");
    /* rollback log */
    char *err = NULL;
    cJSON *arr = auditlog_read(logpath, &err);
    ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
    const cJSON *e = cJSON_GetArrayItem(arr, 0);
    ck_assert_str_eq(status_str(e, "from_version"), "v3");
    ck_assert_str_eq(status_str(e, "to_version"), "v2");
    ck_assert_str_eq(status_str(e, "pipeline"), "default/housing");
    ck_assert_str_eq(status_str(e, "trigger"), "controller");
    ck_assert_double_eq(status_num(e, "current_metric", 0), 0.65);
    ck_assert_double_eq(status_num(e, "threshold", 0), 0.70);
    ck_assert_double_eq(status_num(e, "to_version_metric", 0), 0.91);
    ck_assert_str_eq(status_str(e, "reload"), "restart");
    cJSON_Delete(arr);
}
END_TEST

START_TEST(test_grace_then_verified)
{
    set_live(0.65);
    run();
    ck_assert_str_eq(current(), "v2");
    /* inside the grace period nothing is read: a broken source changes nothing */
    unlink(live);
    cJSON *before = cJSON_Duplicate(status, true);
    fake_clock_advance(&fc, 30 * SEC);
    struct run r = run();
    ck_assert_int_eq(r.rc, 0);
    ck_assert(r.in_flight);
    ck_assert_uint_eq(r.phases, PHASE_REQ(PHASE_ROLLING_BACK));
    ck_assert_int_eq(r.requeue, 30 * SEC);
    ck_assert(status_equal(before, status));
    cJSON_Delete(before);
    /* after it, the first conclusive reading verifies the rollback */
    fake_clock_advance(&fc, 30 * SEC);
    set_live(0.91);
    r = run();
    ck_assert(!r.in_flight);
    ck_assert_uint_eq(r.phases, 0);
    ck_assert_str_eq(reason(), "AboveThreshold");
    ck_assert_str_eq(status_str(history(0), "outcome"), "succeeded");
    ck_assert_double_eq(status_num(history(0), "durationSeconds", 0), 60);
    ck_assert_str_eq(status_str(model(), "lastGoodVersion"), "v2");
    ck_assert_int_eq(fp.restarts, 1);
}
END_TEST

START_TEST(test_ineffective_rollbacks_then_limit_then_reset)
{
    pl.spec.model.rollback.max_rollbacks = 2;
    add_version("v4", 0.95);
    set_current("v4");
    set_live(0.5);
    run();
    ck_assert_str_eq(current(), "v2");
    fake_clock_advance(&fc, INTERVAL);
    struct run r = run();
    /* still low: the first rollback failed, the next goes further back */
    ck_assert_str_eq(status_str(history(0), "outcome"), "failed");
    ck_assert_ptr_nonnull(strstr(fp.events, "RollbackIneffective;"));
    ck_assert_str_eq(current(), "v1");
    ck_assert_str_eq(status_str(history(1), "to"), "v1");
    ck_assert_str_eq(status_str(history(1), "outcome"), "started");
    ck_assert(r.in_flight);
    fake_clock_advance(&fc, INTERVAL);
    r = run();
    /* two rollbacks in the window: a person is needed */
    ck_assert_str_eq(current(), "v1");
    ck_assert_uint_eq(r.phases, PHASE_REQ(PHASE_NEEDS_ATTENTION));
    ck_assert_str_eq(reason(), "BelowThreshold");
    ck_assert_ptr_nonnull(strstr(cond_message(), "2 rollbacks within the window"));
    ck_assert_str_eq(status_str(history(1), "outcome"), "failed");
    ck_assert_int_eq(log_len(), 2);
    /* it stays so, reading once per interval */
    fake_clock_advance(&fc, INTERVAL);
    r = run();
    ck_assert_uint_eq(r.phases, PHASE_REQ(PHASE_NEEDS_ATTENTION));
    fake_clock_advance(&fc, SEC);
    r = run();
    ck_assert_uint_eq(r.phases, PHASE_REQ(PHASE_NEEDS_ATTENTION));
    ck_assert_int_eq(r.requeue, INTERVAL - SEC);
    /* a reset clears the count at once; v1 is the oldest: NoGoodVersion */
    r = run_with(false, true, false);
    ck_assert_str_eq(reason(), "NoGoodVersion");
    ck_assert_uint_eq(r.phases, PHASE_REQ(PHASE_NEEDS_ATTENTION));
    ck_assert_str_eq(current(), "v1");
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(model(), "rollbacksInWindow"));
    ck_assert_int_eq(fp.restarts, 2);
}
END_TEST

START_TEST(test_a_reset_during_the_grace_period_is_kept)
{
    pl.spec.model.rollback.max_rollbacks = 1;
    set_live(0.6);
    run();
    ck_assert_str_eq(current(), "v2");
    fake_clock_advance(&fc, INTERVAL / 2);
    struct run r = run_with(false, true, false); /* the annotation changes now */
    ck_assert(r.in_flight);
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(model(), "rollbacksInWindow"));
    fake_clock_advance(&fc, INTERVAL / 2);
    r = run();
    /* without the reset this would be the limit (1 rollback in the window) */
    ck_assert_str_eq(current(), "v1");
    ck_assert_str_eq(reason(), "RolledBack");
}
END_TEST

START_TEST(test_no_good_version_does_nothing)
{
    set_current("v1");
    set_live(0.6);
    struct run r = run();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_str_eq(reason(), "NoGoodVersion");
    ck_assert_int_eq(status_condition_status(status, COND_MODEL_VALID), COND_FALSE);
    ck_assert_uint_eq(r.phases, PHASE_REQ(PHASE_NEEDS_ATTENTION));
    ck_assert(!r.in_flight);
    ck_assert_str_eq(current(), "v1");
    ck_assert_int_eq(log_len(), 0);
    ck_assert_int_eq(history_len(), 0);
    ck_assert_int_eq(fp.restarts, 0);
    /* stuck there, the same reading rewrites nothing */
    cJSON *before = cJSON_Duplicate(status, true);
    for (int i = 0; i < 3; i++) {
        fake_clock_advance(&fc, INTERVAL);
        run();
        ck_assert(status_equal(before, status));
    }
    cJSON_Delete(before);
}
END_TEST

START_TEST(test_a_missing_deployment_is_a_configuration_error)
{
    fp.deployment_missing = true;
    set_live(0.6); /* below: would be NoGoodVersion/BelowThreshold if judged */
    for (int i = 0; i < 4; i++) {
        struct run r = run();
        ck_assert_int_eq(r.rc, 0);
        ck_assert_str_eq(reason(), "DeploymentNotFound");
        ck_assert_int_eq(status_condition_status(status, COND_MODEL_VALID), COND_UNKNOWN);
        ck_assert_uint_eq(r.phases, PHASE_REQ(PHASE_NEEDS_ATTENTION));
        fake_clock_advance(&fc, INTERVAL);
    }
    ck_assert_ptr_nonnull(strstr(cond_message(), "deployment local-api not found in namespace default"));
    ck_assert_ptr_null(strstr(cond_message(), "NoGoodVersion"));
    ck_assert_int_eq(history_len(), 0);
    ck_assert_double_eq(status_num(model(), "belowCount", 0), 0);
    ck_assert_str_eq(fp.events, "");
    /* it appears: the next check judges the model by itself */
    fp.deployment_missing = false;
    run();
    ck_assert_str_eq(reason(), "RolledBack");
    ck_assert_str_eq(current(), "v2");
}
END_TEST

START_TEST(test_a_registry_error_is_not_appended_to_unrelated_messages)
{
    fp.view_error = "GET /apis/apps/v1/namespaces/default/deployments/x: 403 Forbidden";
    run(); /* above the threshold */
    ck_assert_str_eq(reason(), "AboveThreshold");
    ck_assert_ptr_null(strstr(cond_message(), "403"));
    fake_clock_advance(&fc, INTERVAL);
    unlink(live);
    run();
    ck_assert_str_eq(reason(), "MetricUnavailable");
    ck_assert_ptr_null(strstr(cond_message(), "403"));
    /* where it explains the verdict (no version to roll back to), it stays */
    fake_clock_advance(&fc, INTERVAL);
    set_live(0.6);
    run();
    ck_assert_str_eq(reason(), "NoGoodVersion");
    ck_assert_ptr_nonnull(strstr(cond_message(), "403 Forbidden"));
}
END_TEST

START_TEST(test_no_service_section_nothing_to_reload)
{
    pl.spec.service.present = false;
    set_live(0.6);
    run();
    ck_assert_str_eq(current(), "v2");
    ck_assert_int_eq(fp.restarts, 0);
    ck_assert_ptr_nonnull(strstr(cond_message(), "not reloaded: the pipeline has no service section"));
}
END_TEST

START_TEST(test_a_stale_reading_is_cleared)
{
    run();
    ck_assert_double_eq(status_num(model(), "metric", 0), 0.85);
    fake_clock_advance(&fc, INTERVAL);
    unlink(live);
    run();
    ck_assert_str_eq(reason(), "MetricUnavailable");
    ck_assert_str_eq(status_str(model(), "version"), "v3");
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(model(), "metric"));
    /* v3's evidence stays in the ledger */
    const cJSON *vers = cJSON_GetObjectItemCaseSensitive(model(), "versions");
    ck_assert_double_eq(status_num(cJSON_GetArrayItem(vers, cJSON_GetArraySize(vers) - 1), "metric", 0),
                        0.85);
}
END_TEST

START_TEST(test_unavailable_metric_never_rolls_back)
{
    unlink(live);
    for (int i = 0; i < 5; i++) {
        struct run r = run();
        ck_assert_int_eq(r.rc, 0);
        ck_assert_int_eq(status_condition_status(status, COND_MODEL_VALID), COND_UNKNOWN);
        ck_assert_str_eq(reason(), "MetricUnavailable");
        ck_assert_ptr_nonnull(strstr(cond_message(), "live.json: No such file or directory"));
        ck_assert_uint_eq(r.phases, PHASE_REQ(PHASE_DEGRADED));
        fake_clock_advance(&fc, INTERVAL);
    }
    write_file(live, "{\"accuracy\": \"NaN\"}");
    run();
    ck_assert_str_eq(reason(), "MetricUnavailable");
    ck_assert_ptr_nonnull(strstr(cond_message(), "/accuracy: not a number"));
    ck_assert_str_eq(current(), "v3");
    ck_assert_int_eq(log_len(), 0);
    ck_assert_int_eq(history_len(), 0);
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(model(), "metric"));
}
END_TEST

START_TEST(test_dry_run_plans_and_never_acts)
{
    pl.spec.model.dry_run = true;
    set_live(0.65);
    struct run r = run();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_str_eq(current(), "v3");
    ck_assert(!r.in_flight);
    const cJSON *plans = cJSON_GetObjectItemCaseSensitive(status, "plannedActions");
    ck_assert_int_eq(cJSON_GetArraySize(plans), 1);
    ck_assert_str_eq(cJSON_GetArrayItem(plans, 0)->valuestring,
                     "model: roll back v3 → v2 (recorded accuracy 0.910)");
    ck_assert_str_eq(reason(), "BelowThreshold");
    ck_assert_ptr_nonnull(strstr(cond_message(), "dry run: would roll back v3 → v2"));
    ck_assert_int_eq(history_len(), 0);
    ck_assert_int_eq(log_len(), 0);
    ck_assert_int_eq(fp.restarts, 0);
    /* paused works the same; a good reading clears the plan */
    pl.spec.model.dry_run = false;
    fake_clock_advance(&fc, INTERVAL);
    run_with(true, false, false);
    ck_assert_str_eq(current(), "v3");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(status, "plannedActions")), 1);
    fake_clock_advance(&fc, INTERVAL);
    set_live(0.8);
    run_with(true, false, false);
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(status, "plannedActions"));
}
END_TEST

START_TEST(test_blocked_by_a_higher_priority_action)
{
    set_live(0.5);
    struct run r = run_with(false, false, true);
    ck_assert_int_eq(r.rc, 0);
    ck_assert(r.in_flight);
    ck_assert_str_eq(current(), "v3");
    ck_assert_ptr_null(status_get_condition(status, COND_MODEL_VALID));
    ck_assert_int_gt(r.requeue, 0);
    /* once the other loop is done, the same moment is judged */
    r = run();
    ck_assert_str_eq(current(), "v2");
    ck_assert(r.in_flight);
}
END_TEST

START_TEST(test_one_reading_per_interval)
{
    run();
    ck_assert_str_eq(reason(), "AboveThreshold");
    set_live(0.5);
    fake_clock_advance(&fc, 10 * SEC);
    struct run r = run(); /* reconciled for another loop: not due */
    ck_assert_str_eq(reason(), "AboveThreshold");
    ck_assert_str_eq(current(), "v3");
    ck_assert_int_eq(r.requeue, 50 * SEC);
    /* a spec change is looked at at once */
    pl.generation = 2;
    run();
    ck_assert_str_eq(current(), "v2");
}
END_TEST

START_TEST(test_reload_by_signal)
{
    pl.spec.model.rollback.reload = RELOAD_SIGNAL;
    fp.reload_result = SH_ENOTFOUND;
    set_live(0.6);
    run();
    ck_assert_str_eq(current(), "v2");
    ck_assert_int_eq(fp.signals, 1);
    ck_assert_int_eq(fp.last_sig, SIGHUP);
    ck_assert_int_eq(fp.restarts, 0);
    ck_assert_ptr_nonnull(strstr(cond_message(), "no supervised service process to signal"));
    ck_assert_ptr_null(strstr(fp.events, "ReloadFailed"));
    /* a failing restart is reported; the rollback stands */
    pl.spec.model.rollback.reload = RELOAD_RESTART;
    fp.reload_result = SH_EIO;
    fake_clock_advance(&fc, INTERVAL);
    run();
    ck_assert_str_eq(current(), "v1");
    ck_assert_ptr_nonnull(strstr(fp.events, "ReloadFailed;"));
    ck_assert_ptr_nonnull(strstr(cond_message(), "restart of the service failed: exec failed"));
    /* reload none, and a platform without service actuators */
    pl.spec.model.rollback.reload = RELOAD_NONE;
    set_current("v3");
    fake_clock_advance(&fc, INTERVAL);
    run();
    ck_assert_ptr_nonnull(strstr(cond_message(), "not reloaded (reload: none)"));
    ck_assert_int_eq(fp.restarts, 1);
}
END_TEST

START_TEST(test_failed_swap_is_recorded_and_retried)
{
    char p[256];
    snprintf(p, sizeof p, "%s/current", registry);
    unlink(p);
    ck_assert_int_eq(mkdir(p, 0755), 0); /* a folder where the link should be */
    set_live(0.6);
    /* without a known current version, nothing is older than it */
    struct run r = run();
    ck_assert_str_eq(reason(), "NoGoodVersion");
    ck_assert_ptr_nonnull(strstr(cond_message(), "not a symlink"));
    ck_assert_int_eq(rmdir(p), 0);
    set_current("v3");

    fake_clock_advance(&fc, INTERVAL);
    fp.fail_activate = true;
    r = run();
    ck_assert_int_eq(r.rc, SH_EIO);
    ck_assert_str_eq(current(), "v3");
    ck_assert_ptr_nonnull(strstr(fp.events, "RollbackFailed;"));
    ck_assert_str_eq(reason(), "BelowThreshold");
    ck_assert_ptr_nonnull(strstr(cond_message(), "rollback v3 → v2 failed: models/current"));
    ck_assert_str_eq(status_str(history(0), "outcome"), "failed");
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(model(), "rollbacksInWindow"));
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(model(), "lastRollbackTime"));
    ck_assert_uint_eq(r.phases, PHASE_REQ(PHASE_DEGRADED));
    ck_assert(!r.in_flight);
    ck_assert_int_eq(fp.restarts, 0);
    ck_assert_int_eq(log_len(), 0);
    /* retried on the manager's backoff, not an interval later */
    fp.fail_activate = false;
    fake_clock_advance(&fc, 5);
    r = run();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_str_eq(current(), "v2");
    ck_assert_int_eq(history_len(), 2);
    ck_assert_double_eq(status_num(model(), "rollbacksInWindow", 0), 1);
}
END_TEST

START_TEST(test_disabled_and_absent_sections)
{
    run();
    ck_assert_ptr_nonnull(status_get_condition(status, COND_MODEL_VALID));
    pl.spec.model.enabled = false;
    set_live(0.1);
    struct run r = run();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_ptr_null(status_get_condition(status, COND_MODEL_VALID));
    ck_assert_ptr_nonnull(model());
    ck_assert_str_eq(current(), "v3");
    pl.spec.model.present = false;
    run();
    ck_assert_ptr_null(model());
}
END_TEST

START_TEST(test_failure_limit_waits_for_consecutive_readings)
{
    pl.spec.model.failure_limit = 2;
    set_live(0.6);
    struct run r = run();
    ck_assert_str_eq(reason(), "BelowThreshold");
    ck_assert_uint_eq(r.phases, PHASE_REQ(PHASE_DEGRADED));
    ck_assert_str_eq(current(), "v3");
    fake_clock_advance(&fc, INTERVAL);
    run();
    ck_assert_str_eq(current(), "v2");
}
END_TEST

/* A registry version without metrics.json that was seen serving at 0.91 is a
 * good version; the evidence lives in status, so a restarted controller (a
 * new reconciler, the same status) still knows it. */
START_TEST(test_own_readings_are_evidence_across_a_restart)
{
    char p[256];
    for (int i = 1; i <= 3; i++) {
        snprintf(p, sizeof p, "%s/w%d", registry, i);
        ck_assert_int_eq(mkdir(p, 0755), 0);
    }
    const char *seq[][2] = {{"w1", "0.82"}, {"w2", "0.91"}};
    for (int i = 0; i < 2; i++) {
        set_current(seq[i][0]);
        set_live(strtod(seq[i][1], NULL));
        ck_assert_int_eq(run().rc, 0);
        fake_clock_advance(&fc, INTERVAL);
    }
    const cJSON *vers = cJSON_GetObjectItemCaseSensitive(model(), "versions");
    const cJSON *w2 = cJSON_GetArrayItem(vers, cJSON_GetArraySize(vers) - 1);
    ck_assert_str_eq(status_str(w2, "version"), "w2");
    ck_assert_double_eq(status_num(w2, "metric", 0), 0.91);
    ck_assert_str_eq(status_str(w2, "evidence"), "observed");

    /* the controller restarts: a new reconciler on the same status */
    model_reconciler_free(rec.self);
    struct model_reconciler_options o = {.clock = &fc.base};
    char *err = NULL;
    ck_assert_int_eq(model_reconciler_new(&o, &rec, &err), 0);

    set_current("w3");
    set_live(0.65);
    ck_assert_int_eq(run().rc, 0);
    ck_assert_str_eq(current(), "w2");
    ck_assert_str_eq(reason(), "RolledBack");
    ck_assert_ptr_nonnull(strstr(cond_message(), "rolled back w3 → w2 (evidence 0.910)"));
}
END_TEST

/* The version moved between the reading and the check after it: the
 * reading belongs to no version (inconclusive), never v3's evidence. */
START_TEST(test_a_reading_across_a_version_change_is_discarded)
{
    set_live(0.91);
    fp.move_to_on_observe = "v2";
    fp.move_on = 2; /* observe before the reading, then after it */
    struct run r = run();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_str_eq(reason(), "MetricUnavailable");
    ck_assert_ptr_nonnull(strstr(cond_message(), "changed during the reading (v3 → v2)"));
    const cJSON *vers = cJSON_GetObjectItemCaseSensitive(model(), "versions");
    const cJSON *v;
    cJSON_ArrayForEach(v, vers)
    {
        const char *ev = status_str(v, "evidence");
        ck_assert(!ev || strcmp(ev, "observed") != 0); /* no reading credited to anyone */
    }
}
END_TEST

Suite *model_reconciler_suite(void)
{
    Suite *s = suite_create("model_reconciler");
    TCase *tc = tcase_create("model_reconciler");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_above_threshold_is_valid);
    tcase_add_test(tc, test_an_unrecorded_rollback_is_recorded_by_the_successor);
    tcase_add_test(tc, test_a_note_of_another_pipeline_or_a_recorded_rollback_is_ignored);
    tcase_add_test(tc, test_below_threshold_rolls_back_and_reloads);
    tcase_add_test(tc, test_own_readings_are_evidence_across_a_restart);
    tcase_add_test(tc, test_a_reading_across_a_version_change_is_discarded);
    tcase_add_test(tc, test_grace_then_verified);
    tcase_add_test(tc, test_ineffective_rollbacks_then_limit_then_reset);
    tcase_add_test(tc, test_a_reset_during_the_grace_period_is_kept);
    tcase_add_test(tc, test_no_good_version_does_nothing);
    tcase_add_test(tc, test_a_missing_deployment_is_a_configuration_error);
    tcase_add_test(tc, test_a_stale_reading_is_cleared);
    tcase_add_test(tc, test_a_registry_error_is_not_appended_to_unrelated_messages);
    tcase_add_test(tc, test_no_service_section_nothing_to_reload);
    tcase_add_test(tc, test_unavailable_metric_never_rolls_back);
    tcase_add_test(tc, test_dry_run_plans_and_never_acts);
    tcase_add_test(tc, test_blocked_by_a_higher_priority_action);
    tcase_add_test(tc, test_one_reading_per_interval);
    tcase_add_test(tc, test_reload_by_signal);
    tcase_add_test(tc, test_failed_swap_is_recorded_and_retried);
    tcase_add_test(tc, test_disabled_and_absent_sections);
    tcase_add_test(tc, test_failure_limit_waits_for_consecutive_readings);
    suite_add_tcase(s, tc);
    return s;
}
