/*
 * check_data_reconciler.c — the data loop as the manager calls it, on real
 * files with a recording platform: a dirty file is fixed once (condition
 * Fixed, status counts, history, event, FixingData, action in flight) and
 * not fixed again while unchanged, and a fresh scan of its output (the file
 * rewritten, a new controller) finds nothing to do; new clean data reads Clean; a
 * higher-priority action in flight defers the fix; dry run and paused plan
 * it; a broken or too dirty file is Unfixable with file:line: reason and
 * left untouched; a missing file is Unknown; a disabled section clears its
 * condition. The decision table is checked on its own too.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data_decide.h"
#include "data/data_reconciler.h"
#include "base/errors.h"
#include "runtime/pipeline.h"
#include "runtime/status.h"

Suite *data_reconciler_suite(void);

static char tmpdir[256];
static char path[400];

struct rec_platform {
    struct platform base;
    int events;
    char last_reason[64];
    char last_message[1024];
};

static struct rec_platform rp;

static void record_event(struct platform *pf, const struct pipeline *p, enum event_type type,
                         const char *reason, const char *message)
{
    (void)p;
    (void)type;
    struct rec_platform *r = (struct rec_platform *)pf;
    r->events++;
    snprintf(r->last_reason, sizeof r->last_reason, "%s", reason);
    snprintf(r->last_message, sizeof r->last_message, "%s", message);
}

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_data_rec.XXXXXX", base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(path, sizeof path, "%s/data.csv", tmpdir);
    memset(&rp, 0, sizeof rp);
    rp.base.name = "test";
    rp.base.record_event = record_event;
}

static void teardown(void)
{
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[600];
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(tmpdir);
}

static void put_file(const char *data)
{
    char tmp[500];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(data, f);
    fclose(f);
    ck_assert_int_eq(rename(tmp, path), 0);
}

static char *get_file(void)
{
    static char buf[8192];
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static int count_backups(void)
{
    int n = 0;
    DIR *d = opendir(tmpdir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".bak.") != NULL;
    closedir(d);
    return n;
}

/* A pipeline whose spec has a dataQuality section `dq` (JSON text with %s for the path). */
static struct pipeline *make_pipeline(const char *dq, int64_t generation, const char *extra)
{
    char json[2048];
    char section[1024];
    const char *mark = strstr(dq, "%s");
    ck_assert_ptr_nonnull(mark);
    snprintf(section, sizeof section, "%.*s%s%s", (int)(mark - dq), dq, path, mark + 2);
    snprintf(json, sizeof json,
             "{\"apiVersion\":\"selfheal.dev/v1alpha1\",\"kind\":\"SelfHealingPipeline\","
             "\"metadata\":{\"name\":\"p\"},\"spec\":{%s\"dataQuality\":%s}}",
             extra ? extra : "", section);
    cJSON *obj = cJSON_Parse(json);
    ck_assert_ptr_nonnull(obj);
    struct pipeline *p = NULL;
    char *err = NULL;
    ck_assert_int_eq(pipeline_new(obj, "test", "default", generation, 0, &p, &err), 0);
    ck_assert_msg(p->valid, "invalid: %s", p->invalid_message);
    return p;
}

static const char *DQ = "{\"path\":\"%s\",\"interval\":\"1m\",\"maxFixedFraction\":0.5,"
                        "\"outliers\":{\"multiplier\":1.5}}";

/* x: median 6 of the original values; Q1 3.75, Q3 8.25 of the imputed
 * column, so with k 1.5 the 100 is capped to 15 (16 from the original values) */
static const char DIRTY[] = "x,c\n1,a\n,a\n3,b\n2,a\n100,b\n4,a\n5,a\n6,b\n7,a\n8,a\n9,b\n10,a\n";
static const char FIXED[] = "x,c\n1,a\n6,a\n3,b\n2,a\n15,b\n4,a\n5,a\n6,b\n7,a\n8,a\n9,b\n10,a\n";

struct run {
    struct reconcile_ctx ctx;
    int rc;
};

static struct run reconcile(struct reconciler *r, struct pipeline *p, cJSON *st, int64_t now,
                            bool in_flight)
{
    struct run out = {.ctx = {.p = p,
                              .spec = &p->spec,
                              .status = st,
                              .now_ms = now,
                              .platform = &rp.base,
                              .paused = p->spec.paused,
                              .action_in_flight = in_flight}};
    out.rc = r->reconcile(r->self, &out.ctx);
    return out;
}

static const char *cond_msg(const cJSON *st)
{
    const cJSON *c = status_get_condition(st, COND_DATA_VALID);
    return c ? status_str(c, "message") : NULL;
}

static const int64_t T0 = 1767225600000;

START_TEST(test_fixes_once_and_reports)
{
    put_file(DIRTY);
    struct pipeline *p = make_pipeline(DQ, 1, NULL);
    struct reconciler r;
    char *err = NULL;
    ck_assert_int_eq(data_reconciler_new(NULL, &r, &err), 0);
    ck_assert_str_eq(r.name, "dataQuality");
    cJSON *st = status_new();
    struct run a = reconcile(&r, p, st, T0, false);
    ck_assert_int_eq(a.rc, 0);
    ck_assert_str_eq(get_file(), FIXED);
    ck_assert_int_eq(status_condition_status(st, COND_DATA_VALID), COND_TRUE);
    ck_assert_str_eq(status_condition_reason(st, COND_DATA_VALID), "Fixed");
    ck_assert(a.ctx.action_in_flight);
    ck_assert(a.ctx.phase_requests & PHASE_REQ(PHASE_FIXING_DATA));
    ck_assert_int_eq(a.ctx.requeue_after_ms, 60000);
    const cJSON *sec = cJSON_GetObjectItem(st, "dataQuality");
    ck_assert_int_eq((int)status_num(sec, "rows", -1), 12);
    ck_assert_int_eq((int)status_num(sec, "missingFixed", -1), 1);
    ck_assert_int_eq((int)status_num(sec, "outliersCapped", -1), 1);
    ck_assert_int_eq(status_time(sec, "lastFixTime", 0), T0);
    ck_assert_ptr_nonnull(strstr(status_str(sec, "lastBackup"), "data.csv.bak.20260101T000000Z"));
    ck_assert_int_eq(count_backups(), 1);
    const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "history"), 0);
    ck_assert_ptr_nonnull(h);
    ck_assert_str_eq(status_str(h, "loop"), "dataQuality");
    ck_assert_str_eq(status_str(h, "action"), "fix-data");
    ck_assert_str_eq(status_str(h, "outcome"), "succeeded");
    ck_assert_ptr_nonnull(strstr(status_str(h, "trigger"), "1 missing cells and 1 outliers"));
    ck_assert_int_eq(rp.events, 1);
    ck_assert_str_eq(rp.last_reason, "DataFixed");

    /* later checks of the unchanged file: no second fix, no new history */
    char *before = cJSON_PrintUnformatted(st);
    for (int i = 1; i <= 3; i++) {
        struct run b = reconcile(&r, p, st, T0 + i * 61000, false);
        ck_assert_int_eq(b.rc, 0);
        ck_assert(!b.ctx.action_in_flight);
        ck_assert_uint_eq(b.ctx.phase_requests, 0);
    }
    char *after = cJSON_PrintUnformatted(st);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    ck_assert_int_eq(count_backups(), 1);
    ck_assert_int_eq(rp.events, 1);

    /* new clean data: Clean, counts follow the file */
    put_file("x,c\n1,a\n2,b\n3,a\n");
    struct run c = reconcile(&r, p, st, T0 + 10 * 61000, false);
    ck_assert_int_eq(c.rc, 0);
    ck_assert_str_eq(status_condition_reason(st, COND_DATA_VALID), "Clean");
    ck_assert_int_eq((int)status_num(cJSON_GetObjectItem(st, "dataQuality"), "rows", -1), 3);
    ck_assert_ptr_null(status_str(cJSON_GetObjectItem(st, "dataQuality"), "fixedVersion"));
    cJSON_Delete(st);
    pipeline_unref(p);
    data_reconciler_free(r.self);
}
END_TEST

/* Issue 21: after a fix the same rule finds nothing to do. The file is
 * rewritten with the same bytes (a new fingerprint: the loop scans it
 * again), and a new controller without the status scans it too: both read
 * Clean, nothing is fixed a second time. */
START_TEST(test_next_round_finds_nothing)
{
    put_file(DIRTY);
    struct pipeline *p = make_pipeline(DQ, 1, NULL);
    struct reconciler r;
    ck_assert_int_eq(data_reconciler_new(NULL, &r, NULL), 0);
    cJSON *st = status_new();
    struct run a = reconcile(&r, p, st, T0, false);
    ck_assert_int_eq(a.rc, 0);
    ck_assert_str_eq(status_condition_reason(st, COND_DATA_VALID), "Fixed");
    ck_assert_int_eq(rp.events, 1);
    char *fixed = strdup(get_file());
    put_file(fixed);
    for (int i = 1; i <= 2; i++) {
        struct run b = reconcile(&r, p, st, T0 + i * 61000, false);
        ck_assert_int_eq(b.rc, 0);
        ck_assert(!b.ctx.action_in_flight);
        ck_assert_uint_eq(b.ctx.phase_requests, 0);
        ck_assert_str_eq(status_condition_reason(st, COND_DATA_VALID), "Clean");
        ck_assert_int_eq(status_condition_status(st, COND_DATA_VALID), COND_TRUE);
    }
    ck_assert_str_eq(get_file(), fixed);
    ck_assert_int_eq(count_backups(), 1);
    ck_assert_int_eq(rp.events, 1);
    ck_assert_str_eq(fixed, FIXED);
    free(fixed);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(st, "history")), 1);
    /* a new controller, no status: the fixed file is clean, also in dry run */
    struct reconciler r2;
    ck_assert_int_eq(data_reconciler_new(NULL, &r2, NULL), 0);
    cJSON *st2 = status_new();
    struct run c = reconcile(&r2, p, st2, T0 + 5 * 61000, false);
    ck_assert_int_eq(c.rc, 0);
    ck_assert_str_eq(status_condition_reason(st2, COND_DATA_VALID), "Clean");
    ck_assert_ptr_null(cJSON_GetObjectItem(st2, "history"));
    ck_assert_str_eq(get_file(), FIXED);
    struct pipeline *q = make_pipeline(
        "{\"path\":\"%s\",\"dryRun\":true,\"maxFixedFraction\":0.5,\"outliers\":{\"multiplier\":1.5}}", 2,
        NULL);
    struct run d = reconcile(&r2, q, st2, T0 + 6 * 61000, false);
    ck_assert_int_eq(d.rc, 0);
    ck_assert_str_eq(status_condition_reason(st2, COND_DATA_VALID), "Clean");
    ck_assert_ptr_null(cJSON_GetObjectItem(st2, "plannedActions"));
    ck_assert_int_eq(rp.events, 1);
    cJSON_Delete(st);
    cJSON_Delete(st2);
    pipeline_unref(p);
    pipeline_unref(q);
    data_reconciler_free(r.self);
    data_reconciler_free(r2.self);
}
END_TEST

START_TEST(test_waits_for_action_in_flight)
{
    put_file(DIRTY);
    struct pipeline *p = make_pipeline(DQ, 1, NULL);
    struct reconciler r;
    ck_assert_int_eq(data_reconciler_new(NULL, &r, NULL), 0);
    cJSON *st = status_new();
    struct run a = reconcile(&r, p, st, T0, true);
    ck_assert_int_eq(a.rc, 0);
    ck_assert_str_eq(get_file(), DIRTY);
    ck_assert_str_eq(status_condition_reason(st, COND_DATA_VALID), "FixPending");
    ck_assert_int_eq(status_condition_status(st, COND_DATA_VALID), COND_FALSE);
    ck_assert(a.ctx.phase_requests & PHASE_REQ(PHASE_DEGRADED));
    ck_assert_int_eq(a.ctx.requeue_after_ms, 5000); /* looks again soon */
    ck_assert_ptr_null(cJSON_GetObjectItem(st, "history"));
    /* once nothing is in flight, it fixes */
    struct run b = reconcile(&r, p, st, T0 + 5000, false);
    ck_assert_int_eq(b.rc, 0);
    ck_assert_str_eq(status_condition_reason(st, COND_DATA_VALID), "Fixed");
    ck_assert_str_ne(get_file(), DIRTY);
    cJSON_Delete(st);
    pipeline_unref(p);
    data_reconciler_free(r.self);
}
END_TEST

START_TEST(test_dry_run_and_paused_plan)
{
    const char *variants[][2] = {
        {"{\"path\":\"%s\",\"dryRun\":true,\"maxFixedFraction\":0.5,\"outliers\":{\"multiplier\":1.5}}",
         NULL},
        {"{\"path\":\"%s\",\"maxFixedFraction\":0.5,\"outliers\":{\"multiplier\":1.5}}", "\"paused\":true,"},
    };
    for (int v = 0; v < 2; v++) {
        put_file(DIRTY);
        struct pipeline *p = make_pipeline(variants[v][0], 1, variants[v][1]);
        struct reconciler r;
        ck_assert_int_eq(data_reconciler_new(NULL, &r, NULL), 0);
        cJSON *st = status_new();
        struct run a = reconcile(&r, p, st, T0, false);
        ck_assert_int_eq(a.rc, 0);
        ck_assert_str_eq(get_file(), DIRTY);
        ck_assert_int_eq(count_backups(), 0);
        ck_assert_str_eq(status_condition_reason(st, COND_DATA_VALID), "FixPlanned");
        const cJSON *plan = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "plannedActions"), 0);
        ck_assert_ptr_nonnull(plan);
        ck_assert_ptr_nonnull(strstr(plan->valuestring, "dataQuality: fix-data: 1 missing cells and 1 outliers"));
        ck_assert(!a.ctx.action_in_flight);
        cJSON_Delete(st);
        pipeline_unref(p);
        data_reconciler_free(r.self);
    }
}
END_TEST

START_TEST(test_broken_and_too_dirty_unfixable)
{
    put_file("x,c\n1,a\n2,b,3\n");
    struct pipeline *p = make_pipeline(DQ, 1, NULL);
    struct reconciler r;
    ck_assert_int_eq(data_reconciler_new(NULL, &r, NULL), 0);
    cJSON *st = status_new();
    struct run a = reconcile(&r, p, st, T0, false);
    ck_assert_int_eq(a.rc, 0);
    ck_assert_int_eq(status_condition_status(st, COND_DATA_VALID), COND_FALSE);
    ck_assert_str_eq(status_condition_reason(st, COND_DATA_VALID), "Unfixable");
    char want[600];
    snprintf(want, sizeof want, "%s:3: wrong number of fields: expected 2, got 3", path);
    ck_assert_str_eq(cond_msg(st), want);
    ck_assert(a.ctx.phase_requests & PHASE_REQ(PHASE_DEGRADED));
    ck_assert(!a.ctx.action_in_flight);
    ck_assert_str_eq(rp.last_reason, "DataUnfixable");
    ck_assert_str_eq(get_file(), "x,c\n1,a\n2,b,3\n");
    /* the same verdict again: no second event */
    reconcile(&r, p, st, T0 + 61000, false);
    ck_assert_int_eq(rp.events, 1);
    /* too dirty: more than maxFixedFraction */
    put_file("x,c\n1,\n,\n,b\n4,\n");
    struct run b = reconcile(&r, p, st, T0 + 2 * 61000, false);
    ck_assert_int_eq(b.rc, 0);
    ck_assert_str_eq(status_condition_reason(st, COND_DATA_VALID), "Unfixable");
    ck_assert_ptr_nonnull(strstr(cond_msg(st), "would change, more than maxFixedFraction 0.5"));
    ck_assert_str_eq(get_file(), "x,c\n1,\n,\n,b\n4,\n");
    /* the file disappears: Unknown */
    unlink(path);
    struct run c = reconcile(&r, p, st, T0 + 3 * 61000, false);
    ck_assert_int_eq(c.rc, 0);
    ck_assert_int_eq(status_condition_status(st, COND_DATA_VALID), COND_UNKNOWN);
    ck_assert_str_eq(status_condition_reason(st, COND_DATA_VALID), "DataUnavailable");
    cJSON_Delete(st);
    pipeline_unref(p);
    data_reconciler_free(r.self);
}
END_TEST

START_TEST(test_disabled_section_clears)
{
    put_file(DIRTY);
    struct pipeline *p = make_pipeline(DQ, 1, NULL);
    struct reconciler r;
    ck_assert_int_eq(data_reconciler_new(NULL, &r, NULL), 0);
    cJSON *st = status_new();
    reconcile(&r, p, st, T0, false);
    ck_assert_ptr_nonnull(status_get_condition(st, COND_DATA_VALID));
    struct pipeline *q = make_pipeline("{\"path\":\"%s\",\"enabled\":false}", 2, NULL);
    struct run b = reconcile(&r, q, st, T0 + 1, false);
    ck_assert_int_eq(b.rc, 0);
    ck_assert_ptr_null(status_get_condition(st, COND_DATA_VALID));
    r.forget(r.self, p->key);
    cJSON_Delete(st);
    pipeline_unref(p);
    pipeline_unref(q);
    data_reconciler_free(r.self);
}
END_TEST

START_TEST(test_decide_table)
{
    struct data_decide_in in = {.scan = DATA_SCAN_DIRTY};
    ck_assert_int_eq(data_decide(&in), DATA_FIX);
    in.action_in_flight = true;
    ck_assert_int_eq(data_decide(&in), DATA_WAIT);
    in.dry_run = true;
    ck_assert_int_eq(data_decide(&in), DATA_PLAN);
    in.scan = DATA_SCAN_BROKEN;
    ck_assert_int_eq(data_decide(&in), DATA_UNFIXABLE);
    in.scan = DATA_SCAN_TOO_DIRTY;
    ck_assert_int_eq(data_decide(&in), DATA_UNFIXABLE);
    in.scan = DATA_SCAN_CLEAN;
    ck_assert_int_eq(data_decide(&in), DATA_CLEAN);
    in.scan = DATA_SCAN_OURS;
    ck_assert_int_eq(data_decide(&in), DATA_FIXED);
    in.scan = DATA_SCAN_UNAVAILABLE;
    ck_assert_int_eq(data_decide(&in), DATA_UNAVAILABLE);
    ck_assert_str_eq(data_verdict_reason(DATA_UNFIXABLE), "Unfixable");
    ck_assert_str_eq(data_verdict_reason(DATA_CLEAN), "Clean");
}
END_TEST

Suite *data_reconciler_suite(void)
{
    Suite *s = suite_create("data_reconciler");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_fixes_once_and_reports);
    tcase_add_test(tc, test_next_round_finds_nothing);
    tcase_add_test(tc, test_waits_for_action_in_flight);
    tcase_add_test(tc, test_dry_run_and_paused_plan);
    tcase_add_test(tc, test_broken_and_too_dirty_unfixable);
    tcase_add_test(tc, test_disabled_section_clears);
    tcase_add_test(tc, test_decide_table);
    suite_add_tcase(s, tc);
    return s;
}
