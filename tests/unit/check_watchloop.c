/*
 * check_watchloop.c — the watch loop both sources run on: a failed step
 * waits a backoff that doubles up to its cap; a successful step starts it
 * over, progress before a failure too; AGAIN keeps it; stop ends a backoff
 * or a poll at once; a stopped loop starts again. Backoffs are driven by a
 * wait that advances a fake clock (no sleeping); the tests of the real wait
 * measure that stopping is prompt, they never wait for time to pass. Also
 * the changed-keys list and the snapshot table the sources serve from.
 */
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/errors.h"
#include "runtime/watchloop.h"

Suite *watchloop_suite(void);

/* What a scripted step does. */
enum act {
    DO_OK,
    DO_AGAIN,
    DO_RETRY,
    DO_PROGRESS_RETRY, /* watchloop_reset_backoff, then RETRY */
    DO_STOP_AND_RETRY, /* watchloop_request_stop from the step, then RETRY */
    DO_BLOCK,          /* poll the wake fd without a timeout, then STOP */
    DO_REAL_WAIT,      /* watchloop_wait(5 ms) with the real wait, then STOP */
};

#define MAX_REC 64

struct script {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const enum act *acts;
    int nacts;
    int steps;                   /* steps run */
    int64_t backoff_at[MAX_REC]; /* watchloop_backoff_ms at each step */
    int64_t waits[MAX_REC];      /* waits asked of the fake wait */
    int nwaits;
    bool woken_at_entry[MAX_REC]; /* the wake fd was readable when the step began */
    bool real_wait_result;
    bool done; /* the script ran out (the step returned STOP) */
    struct fake_clock fc;
};

static void script_init(struct script *s, const enum act *acts, int n)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->acts = acts;
    s->nacts = n;
    fake_clock_init(&s->fc, 1000000);
}

static void script_destroy(struct script *s)
{
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

static bool wake_readable(struct watchloop *wl)
{
    struct pollfd p = {.fd = watchloop_wake_fd(wl), .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

static enum watchloop_next run_act(struct script *s, struct watchloop *wl, enum act a)
{
    switch (a) {
    case DO_OK:
        return WATCHLOOP_OK;
    case DO_AGAIN:
        return WATCHLOOP_AGAIN;
    case DO_RETRY:
        return WATCHLOOP_RETRY;
    case DO_PROGRESS_RETRY:
        watchloop_reset_backoff(wl);
        return WATCHLOOP_RETRY;
    case DO_STOP_AND_RETRY:
        watchloop_request_stop(wl);
        return WATCHLOOP_RETRY;
    case DO_BLOCK: {
        struct pollfd p = {.fd = watchloop_wake_fd(wl), .events = POLLIN};
        poll(&p, 1, -1);
        return WATCHLOOP_STOP;
    }
    case DO_REAL_WAIT:
        s->real_wait_result = watchloop_wait(wl, 5);
        return WATCHLOOP_STOP;
    }
    return WATCHLOOP_STOP;
}

static enum watchloop_next scripted_step(void *ctx, struct watchloop *wl)
{
    struct script *s = ctx;
    pthread_mutex_lock(&s->mu);
    int i = s->steps++;
    if (i < MAX_REC) {
        s->backoff_at[i] = watchloop_backoff_ms(wl);
        s->woken_at_entry[i] = wake_readable(wl);
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    enum watchloop_next next = i < s->nacts ? run_act(s, wl, s->acts[i]) : WATCHLOOP_STOP;
    if (next == WATCHLOOP_STOP) {
        pthread_mutex_lock(&s->mu);
        s->done = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    return next;
}

/* The fake wait: records the wait and moves the fake clock by it. */
static bool fake_wait(void *ctx, struct watchloop *wl, int64_t ms)
{
    struct script *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (s->nwaits < MAX_REC)
        s->waits[s->nwaits++] = ms;
    pthread_mutex_unlock(&s->mu);
    fake_clock_advance(&s->fc, ms);
    return !watchloop_stopping(wl);
}

/* Waits (bounded: 10 s means failure) until pred holds. */
static void await(struct script *s, bool (*pred)(const struct script *, int), int arg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&s->mu);
    int r = 0;
    while (!pred(s, arg) && r == 0)
        r = pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    bool ok = pred(s, arg);
    pthread_mutex_unlock(&s->mu);
    ck_assert_msg(ok, "timed out waiting for the loop");
}

static bool is_done(const struct script *s, int arg)
{
    (void)arg;
    return s->done;
}

static bool has_stepped(const struct script *s, int n)
{
    return s->steps >= n;
}

static struct watchloop *new_loop(struct script *s, int64_t backoff, int64_t cap, bool fake)
{
    struct watchloop_options o = {.name = "test", .step = scripted_step, .ctx = s,
                                  .backoff_ms = backoff, .backoff_max_ms = cap,
                                  .wait = fake ? fake_wait : NULL, .wait_ctx = s};
    struct watchloop *wl = NULL;
    ck_assert_int_eq(watchloop_new(&o, &wl), 0);
    return wl;
}

/* Runs the script to its end on the fake wait. */
static void run_script(struct script *s, int64_t backoff, int64_t cap)
{
    struct watchloop *wl = new_loop(s, backoff, cap, true);
    char *err = NULL;
    ck_assert_int_eq(watchloop_start(wl, &err), 0);
    await(s, is_done, 0);
    watchloop_free(wl);
    ck_assert_ptr_null(err);
}

static void assert_waits(const struct script *s, const int64_t *want, int n)
{
    ck_assert_int_eq(s->nwaits, n);
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(s->waits[i], want[i]);
        sum += want[i];
    }
    /* the loop waited on the fake clock only */
    ck_assert_int_eq(clock_now_ms(&s->fc.base), 1000000 + sum);
}

START_TEST(test_a_failing_step_waits_a_backoff_that_doubles_up_to_the_cap)
{
    static const enum act acts[] = {DO_RETRY, DO_RETRY, DO_RETRY, DO_RETRY,
                                    DO_RETRY, DO_RETRY, DO_RETRY};
    struct script s;
    script_init(&s, acts, 7);
    run_script(&s, 100, 1000);
    static const int64_t want[] = {100, 200, 400, 800, 1000, 1000, 1000};
    assert_waits(&s, want, 7);
    /* backoff_ms tells each step the wait its RETRY causes */
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(s.backoff_at[i], want[i]);
    ck_assert_int_eq(s.steps, 8);
    script_destroy(&s);
}
END_TEST

START_TEST(test_the_defaults_are_800_ms_doubling_to_30_s)
{
    static const enum act acts[] = {DO_RETRY, DO_RETRY, DO_RETRY, DO_RETRY,
                                    DO_RETRY, DO_RETRY, DO_RETRY, DO_RETRY};
    struct script s;
    script_init(&s, acts, 8);
    run_script(&s, 0, 0);
    static const int64_t want[] = {800, 1600, 3200, 6400, 12800, 25600, 30000, 30000};
    assert_waits(&s, want, 8);
    script_destroy(&s);
}
END_TEST

START_TEST(test_a_successful_step_starts_the_backoff_over)
{
    static const enum act acts[] = {DO_RETRY, DO_RETRY, DO_RETRY, DO_OK, DO_RETRY, DO_RETRY};
    struct script s;
    script_init(&s, acts, 6);
    run_script(&s, 100, 1000);
    static const int64_t want[] = {100, 200, 400, 100, 200};
    assert_waits(&s, want, 5);
    script_destroy(&s);
}
END_TEST

START_TEST(test_progress_before_a_failure_waits_the_first_backoff_again)
{
    static const enum act acts[] = {DO_RETRY, DO_RETRY, DO_RETRY, DO_PROGRESS_RETRY, DO_RETRY};
    struct script s;
    script_init(&s, acts, 5);
    run_script(&s, 100, 1000);
    static const int64_t want[] = {100, 200, 400, 100, 200};
    assert_waits(&s, want, 5);
    script_destroy(&s);
}
END_TEST

START_TEST(test_again_steps_at_once_and_keeps_the_backoff)
{
    static const enum act acts[] = {DO_RETRY, DO_RETRY, DO_AGAIN, DO_AGAIN, DO_RETRY};
    struct script s;
    script_init(&s, acts, 5);
    run_script(&s, 100, 1000);
    static const int64_t want[] = {100, 200, 400};
    assert_waits(&s, want, 3);
    ck_assert_int_eq(s.backoff_at[2], 400);
    ck_assert_int_eq(s.backoff_at[3], 400);
    script_destroy(&s);
}
END_TEST

START_TEST(test_a_stop_requested_by_the_step_ends_the_loop_without_a_wait)
{
    static const enum act acts[] = {DO_RETRY, DO_STOP_AND_RETRY, DO_RETRY};
    struct script s;
    script_init(&s, acts, 3);
    struct watchloop *wl = new_loop(&s, 100, 1000, true);
    ck_assert_int_eq(watchloop_start(wl, NULL), 0);
    await(&s, has_stepped, 2);
    watchloop_stop(wl); /* joins: the loop ended on its own */
    ck_assert(watchloop_stopping(wl));
    ck_assert_int_eq(s.steps, 2);
    static const int64_t want[] = {100};
    assert_waits(&s, want, 1);
    watchloop_free(wl);
    script_destroy(&s);
}
END_TEST

START_TEST(test_stop_while_backing_off_returns_at_once)
{
    static const enum act acts[] = {DO_RETRY, DO_RETRY};
    struct script s;
    script_init(&s, acts, 2);
    struct watchloop *wl = new_loop(&s, 600000, 600000, false); /* the real wait: 10 min */
    ck_assert_int_eq(watchloop_start(wl, NULL), 0);
    await(&s, has_stepped, 1);
    int64_t t0 = clock_monotonic_ms();
    watchloop_stop(wl);
    ck_assert_int_lt(clock_monotonic_ms() - t0, 2000);
    ck_assert_int_eq(s.steps, 1);
    watchloop_free(wl);
    script_destroy(&s);
}
END_TEST

START_TEST(test_stop_wakes_a_step_that_polls_the_wake_fd)
{
    static const enum act acts[] = {DO_BLOCK};
    struct script s;
    script_init(&s, acts, 1);
    struct watchloop *wl = new_loop(&s, 100, 1000, true);
    ck_assert_int_eq(watchloop_start(wl, NULL), 0);
    await(&s, has_stepped, 1);
    ck_assert(!watchloop_stopping(wl));
    ck_assert(!atomic_load(watchloop_stop_flag(wl)));
    watchloop_stop(wl);
    ck_assert(s.done);
    ck_assert(atomic_load(watchloop_stop_flag(wl)));
    watchloop_free(wl);
    script_destroy(&s);
}
END_TEST

START_TEST(test_a_stopped_loop_starts_again_with_a_quiet_wake_fd_and_the_first_backoff)
{
    static const enum act acts[] = {DO_RETRY, DO_RETRY, DO_BLOCK, DO_RETRY, DO_BLOCK};
    struct script s;
    script_init(&s, acts, 5);
    struct watchloop *wl = new_loop(&s, 100, 1000, true);
    ck_assert_int_eq(watchloop_start(wl, NULL), 0);
    await(&s, has_stepped, 3);
    watchloop_stop(wl);
    pthread_mutex_lock(&s.mu);
    s.done = false;
    pthread_mutex_unlock(&s.mu);
    ck_assert_int_eq(watchloop_start(wl, NULL), 0);
    ck_assert(!watchloop_stopping(wl));
    await(&s, has_stepped, 5);
    watchloop_stop(wl);
    ck_assert(!s.woken_at_entry[3]);
    ck_assert(!s.woken_at_entry[4]);
    ck_assert_int_eq(s.backoff_at[3], 100); /* started over, not 400 */
    static const int64_t want[] = {100, 200, 100};
    assert_waits(&s, want, 3);
    watchloop_free(wl);
    script_destroy(&s);
}
END_TEST

START_TEST(test_the_real_wait_returns_true_when_its_time_is_up)
{
    static const enum act acts[] = {DO_REAL_WAIT};
    struct script s;
    script_init(&s, acts, 1);
    struct watchloop *wl = new_loop(&s, 100, 1000, false);
    ck_assert_int_eq(watchloop_start(wl, NULL), 0);
    await(&s, is_done, 0);
    watchloop_free(wl);
    ck_assert(s.real_wait_result);
    script_destroy(&s);
}
END_TEST

START_TEST(test_free_accepts_null_and_a_loop_never_started)
{
    watchloop_free(NULL);
    struct script s;
    script_init(&s, NULL, 0);
    struct watchloop *wl = new_loop(&s, 0, 0, true);
    ck_assert_int_eq(watchloop_backoff_ms(wl), 800);
    watchloop_stop(wl);
    watchloop_free(wl);
    ck_assert_int_eq(s.steps, 0);
    script_destroy(&s);
}
END_TEST

struct notes {
    char got[8][32];
    int n;
};

static void note(void *ctx, const char *key)
{
    struct notes *nt = ctx;
    if (nt->n < 8)
        snprintf(nt->got[nt->n++], sizeof nt->got[0], "%s", key);
}

START_TEST(test_keys_add_once_keeps_one_copy_and_flush_notifies_in_order)
{
    struct watchloop_keys kl = {0};
    watchloop_keys_add_once(&kl, "ns/b");
    watchloop_keys_add_once(&kl, "ns/a");
    watchloop_keys_add_once(&kl, "ns/b");
    ck_assert_uint_eq(kl.n, 2);
    watchloop_keys_add(&kl, "ns/a"); /* add keeps duplicates */
    ck_assert_uint_eq(kl.n, 3);
    struct notes nt = {0};
    watchloop_keys_flush(&kl, note, &nt);
    ck_assert_int_eq(nt.n, 3);
    ck_assert_str_eq(nt.got[0], "ns/b");
    ck_assert_str_eq(nt.got[1], "ns/a");
    ck_assert_str_eq(nt.got[2], "ns/a");
    ck_assert_uint_eq(kl.n, 0);
    ck_assert_ptr_null(kl.keys);
}
END_TEST

START_TEST(test_keys_flush_without_notify_only_frees)
{
    struct watchloop_keys kl = {0};
    for (int i = 0; i < 40; i++) { /* past the first growth */
        char k[16];
        snprintf(k, sizeof k, "ns/p%d", i);
        watchloop_keys_add(&kl, k);
    }
    ck_assert_uint_eq(kl.n, 40);
    watchloop_keys_flush(&kl, NULL, NULL);
    ck_assert_uint_eq(kl.n, 0);
    watchloop_keys_flush(&kl, note, NULL); /* empty: nothing to call */
}
END_TEST

static int dummy_start(struct source *src, source_notify_fn *fn, void *ctx, char **ret_err)
{
    (void)src;
    (void)fn;
    (void)ctx;
    (void)ret_err;
    return 0;
}

static void dummy_stop(struct source *src)
{
    (void)src;
}

START_TEST(test_a_source_serves_its_snapshots_by_reference)
{
    struct watchloop_source ws = {0};
    ck_assert_int_eq(watchloop_source_init(&ws, dummy_start, dummy_stop, dummy_stop), 0);
    struct source *src = &ws.base;
    ck_assert_ptr_eq(src->start, dummy_start);
    ck_assert_ptr_eq(src->free, dummy_stop);
    ck_assert(!src->has_synced(src));
    struct pipeline *p = pipeline_new_invalid("ns", "b", "test", "broken", 1, 0);
    struct pipeline *q = pipeline_new_invalid("ns", "a", "test", "broken", 1, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(q);
    pthread_mutex_lock(&ws.mu);
    ck_assert_int_eq(strmap_put(ws.snapshots, p->key, p, NULL), 0);
    ck_assert_int_eq(strmap_put(ws.snapshots, q->key, q, NULL), 0);
    pthread_mutex_unlock(&ws.mu);
    watchloop_source_set_synced(&ws);
    ck_assert(src->has_synced(src));
    size_t n = 0;
    char **keys = src->keys(src, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(keys[0], "ns/a");
    ck_assert_str_eq(keys[1], "ns/b");
    strmap_keys_free(keys);
    struct pipeline *got = src->get(src, "ns/b");
    ck_assert_ptr_eq(got, p);
    ck_assert_ptr_null(src->get(src, "ns/none"));
    watchloop_source_destroy(&ws); /* drops the table's references */
    ck_assert_int_eq(atomic_load(&got->refs), 1);
    pipeline_unref(got);
    watchloop_source_destroy(&ws); /* twice is harmless */
}
END_TEST

Suite *watchloop_suite(void)
{
    Suite *s = suite_create("watchloop");
    TCase *tc = tcase_create("loop");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_a_failing_step_waits_a_backoff_that_doubles_up_to_the_cap);
    tcase_add_test(tc, test_the_defaults_are_800_ms_doubling_to_30_s);
    tcase_add_test(tc, test_a_successful_step_starts_the_backoff_over);
    tcase_add_test(tc, test_progress_before_a_failure_waits_the_first_backoff_again);
    tcase_add_test(tc, test_again_steps_at_once_and_keeps_the_backoff);
    tcase_add_test(tc, test_a_stop_requested_by_the_step_ends_the_loop_without_a_wait);
    tcase_add_test(tc, test_stop_while_backing_off_returns_at_once);
    tcase_add_test(tc, test_stop_wakes_a_step_that_polls_the_wake_fd);
    tcase_add_test(tc, test_a_stopped_loop_starts_again_with_a_quiet_wake_fd_and_the_first_backoff);
    tcase_add_test(tc, test_the_real_wait_returns_true_when_its_time_is_up);
    tcase_add_test(tc, test_free_accepts_null_and_a_loop_never_started);
    suite_add_tcase(s, tc);
    TCase *tk = tcase_create("keys");
    tcase_add_test(tk, test_keys_add_once_keeps_one_copy_and_flush_notifies_in_order);
    tcase_add_test(tk, test_keys_flush_without_notify_only_frees);
    tcase_add_test(tk, test_a_source_serves_its_snapshots_by_reference);
    suite_add_tcase(s, tk);
    return s;
}
