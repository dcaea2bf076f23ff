/*
 * check_manager.c — the reconcile of one key (manager.h): status written only
 * when it changed, Ready and phase derived from the loops' conditions,
 * Invalid specs, deletion, the reset annotation, write failures, events,
 * and the threaded path from source notification to status write.
 *
 * A fake source (a table of snapshots), a fake platform (records writes and
 * events) and a scripted reconciler stand in for the real ones.
 */
#include <check.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/errors.h"
#include "base/log.h"
#include "runtime/manager.h"
#include "base/strmap.h"

Suite *manager_suite(void);

#define T0 1795888800000LL

/* ---- fake source ---- */
struct fake_source {
    struct source base;
    pthread_mutex_t mu;
    struct strmap *items;
    source_notify_fn *notify;
    void *ctx;
};

static int fsrc_start(struct source *s, source_notify_fn *notify, void *ctx, char **err)
{
    (void)err;
    struct fake_source *f = (struct fake_source *)s;
    f->notify = notify;
    f->ctx = ctx;
    return 0;
}

static struct pipeline *fsrc_get(struct source *s, const char *key)
{
    struct fake_source *f = (struct fake_source *)s;
    pthread_mutex_lock(&f->mu);
    struct pipeline *p = pipeline_ref(strmap_get(f->items, key));
    pthread_mutex_unlock(&f->mu);
    return p;
}

static bool fsrc_synced(struct source *s)
{
    (void)s;
    return true;
}

static void fsrc_stop(struct source *s)
{
    (void)s;
}

static char **fsrc_keys(struct source *s, size_t *ret_count)
{
    struct fake_source *f = (struct fake_source *)s;
    pthread_mutex_lock(&f->mu);
    char **keys = strmap_keys(f->items, ret_count);
    pthread_mutex_unlock(&f->mu);
    return keys;
}

static void fsrc_set(struct fake_source *f, const char *key, struct pipeline *p)
{
    void *old = NULL;
    pthread_mutex_lock(&f->mu);
    if (p)
        strmap_put(f->items, key, p, &old);
    else
        old = strmap_remove(f->items, key);
    pthread_mutex_unlock(&f->mu);
    pipeline_unref(old);
    if (f->notify)
        f->notify(f->ctx, key);
}

static void unref_cb(void *ctx, const char *key, void *v)
{
    (void)ctx;
    (void)key;
    pipeline_unref(v);
}

static void fsrc_init(struct fake_source *f)
{
    memset(f, 0, sizeof *f);
    f->base.start = fsrc_start;
    f->base.get = fsrc_get;
    f->base.has_synced = fsrc_synced;
    f->base.stop = fsrc_stop;
    f->base.keys = fsrc_keys;
    pthread_mutex_init(&f->mu, NULL);
    f->items = strmap_new();
}

static void fsrc_destroy(struct fake_source *f)
{
    strmap_foreach(f->items, unref_cb, NULL);
    strmap_free(f->items);
    pthread_mutex_destroy(&f->mu);
}

/* ---- fake platform ---- */
struct fake_platform {
    struct platform base;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int writes;
    int deletes;
    int fail_writes; /* fail this many writes first */
    int events;
    char last_event_reason[64];
    char reasons[1024]; /* every event's reason, "A;B;" */
    cJSON *last_status;
    cJSON *server; /* what load_status finds (another replica's writes) */
    int resyncs;
};

static cJSON *fp_load(struct platform *pf, const struct pipeline *p)
{
    (void)p;
    struct fake_platform *f = (struct fake_platform *)pf;
    return f->server ? cJSON_Duplicate(f->server, true) : NULL;
}

static void fp_resync(struct platform *pf)
{
    ((struct fake_platform *)pf)->resyncs++;
}

static int fp_write(struct platform *pf, const struct pipeline *p, const cJSON *st, char **err)
{
    (void)p;
    struct fake_platform *f = (struct fake_platform *)pf;
    pthread_mutex_lock(&f->mu);
    if (f->fail_writes > 0) {
        f->fail_writes--;
        pthread_mutex_unlock(&f->mu);
        *err = strdup("disk full");
        return SH_EIO;
    }
    f->writes++;
    cJSON_Delete(f->last_status);
    f->last_status = cJSON_Duplicate(st, true);
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static int fp_delete(struct platform *pf, const char *key)
{
    (void)key;
    struct fake_platform *f = (struct fake_platform *)pf;
    pthread_mutex_lock(&f->mu);
    f->deletes++;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static void fp_event(struct platform *pf, const struct pipeline *p, enum event_type t,
                     const char *reason, const char *msg)
{
    (void)p;
    (void)t;
    (void)msg;
    struct fake_platform *f = (struct fake_platform *)pf;
    pthread_mutex_lock(&f->mu);
    f->events++;
    snprintf(f->last_event_reason, sizeof f->last_event_reason, "%s", reason);
    size_t n = strlen(f->reasons);
    snprintf(f->reasons + n, sizeof f->reasons - n, "%s;", reason);
    pthread_mutex_unlock(&f->mu);
}

static const void *fp_actuators(struct platform *pf, const char *loop)
{
    (void)pf;
    (void)loop;
    return NULL;
}

static void fp_init(struct fake_platform *f)
{
    memset(f, 0, sizeof *f);
    f->base.name = "fake";
    f->base.load_status = fp_load;
    f->base.resync = fp_resync;
    f->base.write_status = fp_write;
    f->base.delete_status = fp_delete;
    f->base.record_event = fp_event;
    f->base.actuators = fp_actuators;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
}

static void fp_destroy(struct fake_platform *f)
{
    cJSON_Delete(f->last_status);
    cJSON_Delete(f->server);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cond);
}

/* ---- scripted reconciler ---- */
struct script {
    enum cond_status healthy; /* what ServiceHealthy becomes */
    unsigned phase_requests;
    int fail;       /* return SH_EIO this many times */
    int calls;
    int resets;
    int forgets;
    int64_t requeue_ms;
    /* a slow reconcile: it waits while `hold` is set, then counts `finished` */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool hold;
    int started, finished;
    char seen_marker[32]; /* status.marker as the reconciler saw it */
};

static int script_reconcile(void *self, struct reconcile_ctx *ctx)
{
    struct script *s = self;
    pthread_mutex_lock(&s->mu);
    s->started++;
    pthread_cond_broadcast(&s->cv);
    while (s->hold)
        pthread_cond_wait(&s->cv, &s->mu);
    s->calls++; /* workers on other keys share the script: counted under its lock */
    const char *marker = status_str(ctx->status, "marker");
    snprintf(s->seen_marker, sizeof s->seen_marker, "%s", marker ? marker : "");
    if (ctx->reset)
        s->resets++;
    bool fail = s->fail > 0;
    if (fail)
        s->fail--;
    pthread_mutex_unlock(&s->mu);
    status_set_condition(ctx->status, COND_SERVICE_HEALTHY, s->healthy,
                         s->healthy == COND_TRUE ? "ProbeSucceeded" : "ProbeFailed",
                         s->healthy == COND_TRUE ? "" : "GET http://x/health: connection refused",
                         ctx->p->generation, ctx->now_ms);
    ctx->phase_requests |= s->phase_requests;
    reconcile_requeue_after(ctx, s->requeue_ms);
    pthread_mutex_lock(&s->mu);
    s->finished++;
    pthread_mutex_unlock(&s->mu);
    return fail ? SH_EIO : 0;
}

static void script_forget(void *self, const char *key)
{
    (void)key;
    ((struct script *)self)->forgets++;
}

static struct pipeline *make_pipeline(const char *name, int64_t gen, const char *yaml_spec_json,
                                      const char *reset)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"selfheal.dev/v1alpha1\",\"kind\":\"SelfHealingPipeline\","
             "\"metadata\":{\"name\":\"%s\"%s%s%s},\"spec\":%s}",
             name, reset ? ",\"annotations\":{\"selfheal.dev/reset\":\"" : "", reset ? reset : "",
             reset ? "\"}" : "", yaml_spec_json);
    cJSON *obj = cJSON_Parse(buf);
    ck_assert_ptr_nonnull(obj);
    struct pipeline *p = NULL;
    char *err = NULL;
    ck_assert_int_eq(pipeline_new(obj, "test", "default", gen, T0, &p, &err), 0);
    free(err);
    return p;
}

struct fixture {
    struct fake_clock clock;
    struct fake_source src;
    struct fake_platform pf;
    struct script script;
    struct reconciler rec;
    struct manager *m;
};

static void fixture_init(struct fixture *fx, int nrec)
{
    log_configure(LOG_WARN, LOG_FORMAT_TEXT, NULL); /* keep test output readable */
    fake_clock_init(&fx->clock, T0);
    fsrc_init(&fx->src);
    fp_init(&fx->pf);
    memset(&fx->script, 0, sizeof fx->script);
    fx->script.healthy = COND_TRUE;
    pthread_mutex_init(&fx->script.mu, NULL);
    pthread_cond_init(&fx->script.cv, NULL);
    fx->rec = (struct reconciler){.name = "service", .reconcile = script_reconcile,
                                  .forget = script_forget, .self = &fx->script};
    struct manager_options o = {.workers = 2, .clock = &fx->clock.base, .source = &fx->src.base,
                                .platform = &fx->pf.base, .reconcilers = &fx->rec,
                                .nreconcilers = (size_t)nrec};
    ck_assert_int_eq(manager_new(&o, &fx->m), 0);
}

static void fixture_destroy(struct fixture *fx)
{
    manager_free(fx->m);
    fsrc_destroy(&fx->src);
    fp_destroy(&fx->pf);
    pthread_mutex_destroy(&fx->script.mu);
    pthread_cond_destroy(&fx->script.cv);
}

static const char *cond_field(const cJSON *st, const char *type, const char *field)
{
    return status_str(status_get_condition(st, type), field);
}

START_TEST(test_pipeline_without_sections_is_ready_and_written_once)
{
    struct fixture fx;
    fixture_init(&fx, 0);
    fsrc_set(&fx.src, "default/a", make_pipeline("a", 3, "{}", NULL));
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), 0);
    ck_assert_int_eq(fx.pf.writes, 1);
    ck_assert_str_eq(status_str(fx.pf.last_status, "phase"), "Healthy");
    ck_assert_str_eq(cond_field(fx.pf.last_status, COND_READY, "status"), "True");
    ck_assert_int_eq(status_get_observed_generation(fx.pf.last_status), 3);
    /* an idle pipeline causes no further writes, even as time passes */
    fake_clock_advance(&fx.clock, 3600 * 1000);
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), 0);
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), 0);
    ck_assert_int_eq(fx.pf.writes, 1);
    fixture_destroy(&fx);
}
END_TEST

START_TEST(test_invalid_spec_gets_phase_invalid_with_the_field_path)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    fsrc_set(&fx.src, "default/bad", make_pipeline("bad", 1, "{\"model\":{\"minAccuracy\":1.5}}", NULL));
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/bad", NULL), 0);
    ck_assert_str_eq(status_str(fx.pf.last_status, "phase"), "Invalid");
    ck_assert_str_eq(cond_field(fx.pf.last_status, COND_READY, "status"), "False");
    ck_assert_str_eq(cond_field(fx.pf.last_status, COND_READY, "reason"), "InvalidSpec");
    ck_assert_ptr_nonnull(strstr(cond_field(fx.pf.last_status, COND_READY, "message"),
                                 "spec.model.minAccuracy: must be between 0 and 1, got 1.5"));
    ck_assert_int_eq(fx.script.calls, 0); /* no reconciler acts on an invalid spec */
    fixture_destroy(&fx);
}
END_TEST

START_TEST(test_failing_condition_makes_ready_false_and_phase_follows_requests)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    fsrc_set(&fx.src, "default/a", make_pipeline("a", 1, "{}", NULL));
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), 0);
    ck_assert_str_eq(status_str(fx.pf.last_status, "phase"), "Healthy");
    int events_before = fx.pf.events;

    fx.script.healthy = COND_FALSE;
    fake_clock_advance(&fx.clock, 1000);
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), 0);
    ck_assert_str_eq(status_str(fx.pf.last_status, "phase"), "Degraded");
    ck_assert_str_eq(cond_field(fx.pf.last_status, COND_READY, "status"), "False");
    ck_assert_str_eq(cond_field(fx.pf.last_status, COND_READY, "reason"), "ProbeFailed");
    /* one Event per change: ServiceHealthy's, not a second one for Ready (issue 22) */
    ck_assert_int_eq(fx.pf.events, events_before + 1);
    ck_assert_str_eq(fx.pf.last_event_reason, "ProbeFailed");

    fx.script.phase_requests = PHASE_REQ(PHASE_RETRAINING) | PHASE_REQ(PHASE_RECOVERING);
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), 0);
    ck_assert_str_eq(status_str(fx.pf.last_status, "phase"), "Recovering");
    fixture_destroy(&fx);
}
END_TEST

START_TEST(test_paused_pipeline_reports_phase_paused)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    fsrc_set(&fx.src, "default/p", make_pipeline("p", 1, "{\"paused\":true}", NULL));
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/p", NULL), 0);
    ck_assert_str_eq(status_str(fx.pf.last_status, "phase"), "Paused");
    ck_assert_int_eq(fx.script.calls, 1); /* observes and reports */
    fixture_destroy(&fx);
}
END_TEST

/* What a person does is an Event: pausing, resuming, resetting. */
START_TEST(test_pause_resume_and_reset_are_events)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    fsrc_set(&fx.src, "default/p", make_pipeline("p", 1, "{}", NULL));
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/p", NULL), 0);
    ck_assert_ptr_null(strstr(fx.pf.reasons, "Paused;"));
    fx.pf.reasons[0] = '\0';
    fsrc_set(&fx.src, "default/p", make_pipeline("p", 2, "{\"paused\":true}", NULL));
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/p", NULL), 0);
    ck_assert_str_eq(fx.pf.reasons, "Paused;");
    fx.pf.reasons[0] = '\0';
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/p", NULL), 0);
    ck_assert_str_eq(fx.pf.reasons, ""); /* level-based: once per change */
    fsrc_set(&fx.src, "default/p", make_pipeline("p", 3, "{}", NULL));
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/p", NULL), 0);
    ck_assert_str_eq(fx.pf.reasons, "Resumed;");
    fx.pf.reasons[0] = '\0';
    fsrc_set(&fx.src, "default/p", make_pipeline("p", 3, "{}", "fixed-1"));
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/p", NULL), 0);
    ck_assert_str_eq(fx.pf.reasons, "Reset;");
    fixture_destroy(&fx);
}
END_TEST

START_TEST(test_deleted_pipeline_is_forgotten_and_its_status_removed)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    fsrc_set(&fx.src, "default/a", make_pipeline("a", 1, "{}", NULL));
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), 0);
    fsrc_set(&fx.src, "default/a", NULL);
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), 0);
    ck_assert_int_eq(fx.script.forgets, 1);
    ck_assert_int_eq(fx.pf.deletes, 1);
    char *snap = manager_snapshot_json(fx.m);
    ck_assert_str_eq(snap, "[]");
    free(snap);
    fixture_destroy(&fx);
}
END_TEST

/* The same pipeline with metadata.uid set. */
static struct pipeline *make_pipeline_uid(const char *name, const char *uid)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"selfheal.dev/v1alpha1\",\"kind\":\"SelfHealingPipeline\","
             "\"metadata\":{\"name\":\"%s\",\"uid\":\"%s\"},\"spec\":{}}",
             name, uid);
    cJSON *obj = cJSON_Parse(buf);
    ck_assert_ptr_nonnull(obj);
    struct pipeline *p = NULL;
    char *err = NULL;
    ck_assert_int_eq(pipeline_new(obj, "test", "default", 1, T0, &p, &err), 0);
    free(err);
    return p;
}

/* Deleted and recreated with the same name and spec while the controller did
 * not see the deletion (a watch gap, then a relist): the new object has no
 * status yet, so it must get one, not inherit the old object's memory. */
START_TEST(test_recreated_pipeline_gets_its_own_status)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    fsrc_set(&fx.src, "default/a", make_pipeline_uid("a", "uid-1"));
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), 0);
    ck_assert_int_eq(fx.pf.writes, 1);
    int events = fx.pf.events;
    ck_assert_int_gt(events, 0);
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), 0);
    ck_assert_int_eq(fx.pf.writes, 1); /* same object, nothing new */

    fsrc_set(&fx.src, "default/a", make_pipeline_uid("a", "uid-2"));
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), 0);
    ck_assert_int_eq(fx.pf.writes, 2);
    ck_assert_str_eq(status_str(fx.pf.last_status, "phase"), "Healthy");
    ck_assert_int_eq(fx.script.forgets, 1); /* the old object's memos are dropped */
    ck_assert_int_eq(fx.pf.deletes, 1);
    ck_assert_int_gt(fx.pf.events, events); /* the new object gets its own events */
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), 0);
    ck_assert_int_eq(fx.pf.writes, 2);
    ck_assert_int_eq(fx.script.forgets, 1);
    fixture_destroy(&fx);
}
END_TEST

START_TEST(test_reset_annotation_is_seen_once_per_new_value)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    fsrc_set(&fx.src, "default/a", make_pipeline("a", 1, "{}", "first"));
    manager_reconcile_key(fx.m, "default/a", NULL);
    manager_reconcile_key(fx.m, "default/a", NULL);
    ck_assert_int_eq(fx.script.resets, 1);
    ck_assert_str_eq(status_str(fx.pf.last_status, "observedReset"), "first");
    fsrc_set(&fx.src, "default/a", make_pipeline("a", 1, "{}", "second"));
    manager_reconcile_key(fx.m, "default/a", NULL);
    ck_assert_int_eq(fx.script.resets, 2);
    fixture_destroy(&fx);
}
END_TEST

START_TEST(test_failed_status_write_is_an_error_and_is_retried)
{
    struct fixture fx;
    fixture_init(&fx, 0);
    fx.pf.fail_writes = 1;
    fsrc_set(&fx.src, "default/a", make_pipeline("a", 1, "{}", NULL));
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), SH_EIO);
    ck_assert_int_eq(fx.pf.writes, 0);
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", NULL), 0);
    ck_assert_int_eq(fx.pf.writes, 1);
    fixture_destroy(&fx);
}
END_TEST

START_TEST(test_reconciler_error_and_requeue_are_returned)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    fx.script.fail = 1;
    fx.script.requeue_ms = 5000;
    fsrc_set(&fx.src, "default/a", make_pipeline("a", 1, "{}", NULL));
    int64_t requeue = 0;
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", &requeue), SH_EIO);
    ck_assert_int_eq(fx.pf.writes, 1); /* what it observed is still recorded */
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/a", &requeue), 0);
    ck_assert_int_eq(requeue, 5000);
    fixture_destroy(&fx);
}
END_TEST

START_TEST(test_workers_reconcile_notified_keys_and_stop_cleanly)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    char *err = NULL;
    ck_assert_int_eq(manager_start(fx.m, &err), 0);
    char name[32], key[64];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "p%d", i);
        snprintf(key, sizeof key, "default/p%d", i);
        fsrc_set(&fx.src, key, make_pipeline(name, 1, "{}", NULL));
    }
    pthread_mutex_lock(&fx.pf.mu);
    while (fx.pf.writes < 20)
        pthread_cond_wait(&fx.pf.cond, &fx.pf.mu);
    pthread_mutex_unlock(&fx.pf.mu);
    /* stop first: the status cache is updated after the write the test saw */
    ck_assert_int_eq(manager_stop(fx.m, 10000), 0);
    size_t counts[PHASE__COUNT];
    manager_phase_counts(fx.m, counts);
    ck_assert_uint_eq(counts[PHASE_HEALTHY], 20);
    ck_assert_int_eq(fx.pf.writes, 20);
    fixture_destroy(&fx);
}
END_TEST

/* A reconcile that outlasts the shutdown budget: manager_stop says so and
 * leaves the worker running, and nothing it uses is freed meanwhile (a
 * manager_free then is a no-op; under ASan a use after free would show). */
START_TEST(test_stop_past_the_budget_never_frees_what_a_worker_uses)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    fx.script.hold = true;
    char *err = NULL;
    ck_assert_int_eq(manager_start(fx.m, &err), 0);
    fsrc_set(&fx.src, "default/slow", make_pipeline("slow", 1, "{}", NULL));
    pthread_mutex_lock(&fx.script.mu);
    while (fx.script.started == 0)
        pthread_cond_wait(&fx.script.cv, &fx.script.mu);
    pthread_mutex_unlock(&fx.script.mu);
    ck_assert_int_eq(manager_stop(fx.m, 50), SH_ETIMEOUT);
    manager_free(fx.m); /* what cmd_run did at this point: must not free */
    pthread_mutex_lock(&fx.script.mu);
    ck_assert_int_eq(fx.script.finished, 0);
    fx.script.hold = false;
    pthread_cond_broadcast(&fx.script.cv);
    pthread_mutex_unlock(&fx.script.mu);
    ck_assert_int_eq(manager_stop(fx.m, 10000), 0); /* waits for it, joins */
    ck_assert_int_eq(fx.script.finished, 1);
    ck_assert_int_eq(fx.pf.writes, 1); /* its status was written */
    fixture_destroy(&fx);
}
END_TEST

/* Replica A led, B took over and wrote (attempt counters, NeedsAttention),
 * A leads again: its cached status is B's now, not its own stale one. */
START_TEST(test_regained_leadership_reloads_status_and_forgets_memos)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    fsrc_set(&fx.src, "default/p", make_pipeline("p", 1, "{}", NULL));
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/p", NULL), 0);
    ck_assert_str_eq(fx.script.seen_marker, "");
    /* B's writes, on the server */
    fx.pf.server = cJSON_Parse("{\"marker\":\"written-by-B\",\"phase\":\"NeedsAttention\"}");
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/p", NULL), 0);
    ck_assert_str_eq(fx.script.seen_marker, ""); /* not leading again yet: cached */
    manager_resync(fx.m);
    ck_assert_int_eq(fx.pf.resyncs, 1);
    ck_assert_int_eq(manager_reconcile_key(fx.m, "default/p", NULL), 0);
    ck_assert_str_eq(fx.script.seen_marker, "written-by-B");
    ck_assert_int_eq(fx.script.forgets, 1); /* the reconcilers' memos dropped */
    ck_assert_str_eq(status_str(fx.pf.last_status, "marker"), "written-by-B");
    fixture_destroy(&fx);
}
END_TEST

Suite *manager_suite(void)
{
    Suite *s = suite_create("manager");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_pipeline_without_sections_is_ready_and_written_once);
    tcase_add_test(tc, test_invalid_spec_gets_phase_invalid_with_the_field_path);
    tcase_add_test(tc, test_failing_condition_makes_ready_false_and_phase_follows_requests);
    tcase_add_test(tc, test_paused_pipeline_reports_phase_paused);
    tcase_add_test(tc, test_pause_resume_and_reset_are_events);
    tcase_add_test(tc, test_regained_leadership_reloads_status_and_forgets_memos);
    tcase_add_test(tc, test_stop_past_the_budget_never_frees_what_a_worker_uses);
    tcase_add_test(tc, test_deleted_pipeline_is_forgotten_and_its_status_removed);
    tcase_add_test(tc, test_recreated_pipeline_gets_its_own_status);
    tcase_add_test(tc, test_reset_annotation_is_seen_once_per_new_value);
    tcase_add_test(tc, test_failed_status_write_is_an_error_and_is_retried);
    tcase_add_test(tc, test_reconciler_error_and_requeue_are_returned);
    tcase_add_test(tc, test_workers_reconcile_notified_keys_and_stop_cleanly);
    suite_add_tcase(s, tc);
    return s;
}
