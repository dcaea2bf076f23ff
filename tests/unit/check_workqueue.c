/*
 * check_workqueue.c — the work queue's properties: dedup, one worker per
 * key, re-add during processing, delayed adds on the fake clock, backoff,
 * forget, shutdown and drain. Thread tests are made deterministic with
 * barriers and explicit hand-offs, never sleeps that must be long enough.
 */
#include <check.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "runtime/workqueue.h"

Suite *workqueue_suite(void);

static struct fake_clock fc;

static struct workqueue *new_queue(void)
{
    fake_clock_init(&fc, 1000000);
    struct wq_options o;
    wq_options_default(&o);
    o.poll_ms = 5;
    struct workqueue *q = NULL;
    ck_assert_int_eq(wq_new(&fc.base, &o, &q), 0);
    return q;
}

static char *try_get(struct workqueue *q)
{
    char *k = NULL;
    int r = wq_try_get(q, &k);
    return r == 0 ? k : NULL;
}

START_TEST(test_dedup_and_fifo)
{
    struct workqueue *q = new_queue();
    wq_add(q, "a");
    wq_add(q, "b");
    wq_add(q, "a");
    struct wq_stats st;
    wq_get_stats(q, &st);
    ck_assert_uint_eq(st.depth, 2);
    ck_assert_uint_eq(st.adds, 2);
    char *k = try_get(q);
    ck_assert_str_eq(k, "a");
    char *k2 = try_get(q);
    ck_assert_str_eq(k2, "b");
    ck_assert_ptr_null(try_get(q));
    wq_done(q, k);
    wq_done(q, k2);
    free(k);
    free(k2);
    wq_free(q);
}
END_TEST

/* A spec change (wq_add_urgent) is served before the periodic checks queued
 * ahead of it; a key already waiting in the normal lane moves up and is
 * still served once; one processing comes back urgent after its done. */
START_TEST(test_urgent_goes_first_once)
{
    struct workqueue *q = new_queue();
    wq_add(q, "a");
    wq_add(q, "b");
    wq_add(q, "c");
    wq_add_urgent(q, "c"); /* queued: moves ahead */
    wq_add_urgent(q, "d"); /* new */
    wq_add(q, "d");        /* no-op: queued urgently */
    struct wq_stats st;
    wq_get_stats(q, &st);
    ck_assert_uint_eq(st.depth, 4);
    ck_assert_uint_eq(st.adds, 4);
    const char *want[] = {"c", "d", "a", "b"};
    char *got[4];
    for (int i = 0; i < 4; i++) {
        got[i] = try_get(q);
        ck_assert_ptr_nonnull(got[i]);
        ck_assert_str_eq(got[i], want[i]);
    }
    ck_assert_ptr_null(try_get(q)); /* c's stale normal-lane item is skipped */
    wq_add(q, "e");
    wq_add_urgent(q, "a"); /* processing: dirty, urgently */
    wq_done(q, got[2]);
    char *k = try_get(q);
    ck_assert_str_eq(k, "a");
    wq_done(q, k);
    free(k);
    k = try_get(q);
    ck_assert_str_eq(k, "e");
    wq_done(q, k);
    free(k);
    ck_assert_ptr_null(try_get(q));
    for (int i = 0; i < 4; i++) {
        if (i != 2)
            wq_done(q, got[i]);
        free(got[i]);
    }
    wq_get_stats(q, &st);
    ck_assert_uint_eq(st.depth, 0);
    wq_free(q);
}
END_TEST

START_TEST(test_readd_during_processing_is_kept_not_doubled)
{
    struct workqueue *q = new_queue();
    wq_add(q, "a");
    char *k = try_get(q);
    ck_assert_str_eq(k, "a");
    /* while "a" is processed, adds do not hand it out again */
    wq_add(q, "a");
    wq_add(q, "a");
    ck_assert_ptr_null(try_get(q));
    struct wq_stats st;
    wq_get_stats(q, &st);
    ck_assert_uint_eq(st.processing, 1);
    ck_assert_uint_eq(st.depth, 0);
    /* at done it comes back exactly once */
    wq_done(q, "a");
    free(k);
    k = try_get(q);
    ck_assert_str_eq(k, "a");
    ck_assert_ptr_null(try_get(q));
    wq_done(q, "a");
    free(k);
    ck_assert_ptr_null(try_get(q));
    wq_free(q);
}
END_TEST

START_TEST(test_delayed_add_uses_clock)
{
    struct workqueue *q = new_queue();
    wq_add_after(q, "late", 30000);
    wq_add_after(q, "later", 60000);
    ck_assert_ptr_null(try_get(q));
    fake_clock_advance(&fc, 29999);
    ck_assert_ptr_null(try_get(q));
    fake_clock_advance(&fc, 1);
    char *k = try_get(q);
    ck_assert_str_eq(k, "late");
    ck_assert_ptr_null(try_get(q));
    wq_done(q, k);
    free(k);
    fake_clock_advance(&fc, 30000);
    wq_tick(q);
    struct wq_stats st;
    wq_get_stats(q, &st);
    ck_assert_uint_eq(st.depth, 1);
    ck_assert_uint_eq(st.waiting, 0);
    k = try_get(q);
    ck_assert_str_eq(k, "later");
    wq_done(q, k);
    free(k);
    wq_free(q);
}
END_TEST

/* An NTP step of the wall clock, back or forward, moves no due time: the
 * queue measures delays on the monotonic clock. */
START_TEST(test_wall_clock_steps_do_not_move_due_times)
{
    struct workqueue *q = new_queue();
    wq_add_after(q, "back", 30000);
    fake_clock_step_wall(&fc, -3600 * 1000); /* an hour back */
    fake_clock_advance(&fc, 30000);
    char *k = try_get(q);
    ck_assert_ptr_nonnull(k); /* not an hour and 30 s later */
    ck_assert_str_eq(k, "back");
    wq_done(q, k);
    free(k);
    wq_add_after(q, "forward", 30000);
    fake_clock_step_wall(&fc, 2 * 3600 * 1000); /* two hours forward */
    ck_assert_ptr_null(try_get(q));             /* not early */
    fake_clock_advance(&fc, 29999);
    ck_assert_ptr_null(try_get(q));
    fake_clock_advance(&fc, 1);
    k = try_get(q);
    ck_assert_ptr_nonnull(k);
    wq_done(q, k);
    free(k);
    wq_free(q);
}
END_TEST

START_TEST(test_waiting_key_keeps_earliest_due)
{
    struct workqueue *q = new_queue();
    wq_add_after(q, "k", 10000);
    wq_add_after(q, "k", 50000); /* later: ignored */
    wq_add_after(q, "k", 2000);  /* earlier: wins */
    struct wq_stats st;
    wq_get_stats(q, &st);
    ck_assert_uint_eq(st.waiting, 1);
    fake_clock_advance(&fc, 2000);
    char *k = try_get(q);
    ck_assert_str_eq(k, "k");
    wq_done(q, k);
    free(k);
    fake_clock_advance(&fc, 60000);
    ck_assert_ptr_null(try_get(q));
    wq_free(q);
}
END_TEST

START_TEST(test_heap_orders_many_keys)
{
    struct workqueue *q = new_queue();
    char key[16];
    /* delays in a scrambled order */
    for (int i = 0; i < 200; i++) {
        int d = (i * 37) % 200;
        snprintf(key, sizeof key, "k%03d", d);
        wq_add_after(q, key, 1000 + d * 10);
    }
    for (int d = 0; d < 200; d++) {
        fake_clock_advance(&fc, d == 0 ? 1000 : 10);
        char *k = try_get(q);
        snprintf(key, sizeof key, "k%03d", d);
        ck_assert_ptr_nonnull(k);
        ck_assert_str_eq(k, key);
        ck_assert_ptr_null(try_get(q));
        wq_done(q, k);
        free(k);
    }
    wq_free(q);
}
END_TEST

START_TEST(test_backoff_doubles_and_caps)
{
    struct workqueue *q = new_queue();
    int64_t expect = 5;
    for (int i = 0; i < 30; i++) {
        ck_assert_int_eq(wq_backoff_ms(q, "x"), expect);
        wq_add_rate_limited(q, "x");
        expect = expect * 2 > 1000000 ? 1000000 : expect * 2;
    }
    ck_assert_int_eq(wq_failures(q, "x"), 30);
    ck_assert_int_eq(wq_backoff_ms(q, "x"), 1000000);
    /* other keys are independent */
    ck_assert_int_eq(wq_backoff_ms(q, "y"), 5);
    wq_forget(q, "x");
    ck_assert_int_eq(wq_failures(q, "x"), 0);
    ck_assert_int_eq(wq_backoff_ms(q, "x"), 5);
    struct wq_stats st;
    wq_get_stats(q, &st);
    ck_assert_uint_eq(st.retries, 30);
    wq_free(q);
}
END_TEST

START_TEST(test_rate_limited_add_is_delayed)
{
    struct workqueue *q = new_queue();
    wq_add_rate_limited(q, "x"); /* 5 ms */
    ck_assert_ptr_null(try_get(q));
    fake_clock_advance(&fc, 5);
    char *k = try_get(q);
    ck_assert_str_eq(k, "x");
    wq_add_rate_limited(q, "x"); /* 10 ms, while processing */
    wq_done(q, "x");
    free(k);
    fake_clock_advance(&fc, 9);
    ck_assert_ptr_null(try_get(q));
    fake_clock_advance(&fc, 1);
    k = try_get(q);
    ck_assert_str_eq(k, "x");
    wq_done(q, k);
    free(k);
    wq_free(q);
}
END_TEST

START_TEST(test_oldest_age)
{
    struct workqueue *q = new_queue();
    wq_add(q, "a");
    fake_clock_advance(&fc, 1500);
    wq_add(q, "b");
    struct wq_stats st;
    wq_get_stats(q, &st);
    ck_assert_int_eq(st.oldest_age_ms, 1500);
    wq_free(q);
}
END_TEST

/* ---- threads -------------------------------------------------------------- */

struct worker_ctx {
    struct workqueue *q;
    _Atomic int active[8];  /* workers currently holding key i */
    _Atomic int violations; /* two workers held one key */
    _Atomic int processed[8];
    _Atomic int total;
};

static void *worker(void *arg)
{
    struct worker_ctx *c = arg;
    char *k;
    while (wq_get(c->q, &k) == 0) {
        int i = k[0] - '0';
        if (atomic_fetch_add(&c->active[i], 1) != 0)
            atomic_fetch_add(&c->violations, 1);
        /* hold the key a moment while the producer keeps adding it */
        for (volatile int spin = 0; spin < 20000; spin++)
            ;
        atomic_fetch_sub(&c->active[i], 1);
        atomic_fetch_add(&c->processed[i], 1);
        atomic_fetch_add(&c->total, 1);
        wq_done(c->q, k);
        free(k);
    }
    return NULL;
}

START_TEST(test_never_two_workers_on_one_key)
{
    struct worker_ctx c = {.q = new_queue()};
    pthread_t th[6];
    for (int i = 0; i < 6; i++)
        pthread_create(&th[i], NULL, worker, &c);
    char key[2] = {0, 0};
    for (int round = 0; round < 3000; round++) {
        key[0] = (char)('0' + round % 8);
        wq_add(c.q, key);
    }
    /* every key is processed at least once after its last add */
    struct wq_stats st;
    do {
        wq_get_stats(c.q, &st);
    } while (st.depth > 0 || st.processing > 0);
    ck_assert_int_eq(wq_shutdown_drain(c.q, 5000), 0);
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(atomic_load(&c.violations), 0);
    for (int i = 0; i < 8; i++)
        ck_assert_int_ge(atomic_load(&c.processed[i]), 1);
    /* dedup: far fewer reconciles than adds */
    ck_assert_int_le(atomic_load(&c.total), 3000);
    wq_free(c.q);
}
END_TEST

static void *blocked_get(void *arg)
{
    struct workqueue *q = arg;
    char *k = NULL;
    intptr_t r = wq_get(q, &k);
    free(k);
    return (void *)r;
}

START_TEST(test_shutdown_wakes_blocked_workers)
{
    struct workqueue *q = new_queue();
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, blocked_get, q);
    wq_shutdown(q);
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(th[i], &r);
        ck_assert_int_eq((int)(intptr_t)r, SH_ESTOPPED);
    }
    /* adds after shutdown are ignored */
    wq_add(q, "a");
    char *k = NULL;
    ck_assert_int_eq(wq_try_get(q, &k), SH_ESTOPPED);
    wq_free(q);
}
END_TEST

struct drain_ctx {
    struct workqueue *q;
    pthread_barrier_t taken;
    pthread_barrier_t release;
};

static void *slow_worker(void *arg)
{
    struct drain_ctx *d = arg;
    char *k = NULL;
    if (wq_get(d->q, &k) != 0)
        return NULL;
    pthread_barrier_wait(&d->taken);
    pthread_barrier_wait(&d->release);
    wq_done(d->q, k);
    free(k);
    return NULL;
}

struct drain_call {
    struct workqueue *q;
    int result;
};

static void *drain_thread(void *arg)
{
    struct drain_call *c = arg;
    c->result = wq_shutdown_drain(c->q, 10000);
    return NULL;
}

START_TEST(test_drain_waits_for_in_flight)
{
    struct drain_ctx d = {.q = new_queue()};
    pthread_barrier_init(&d.taken, NULL, 2);
    pthread_barrier_init(&d.release, NULL, 2);
    pthread_t w;
    pthread_create(&w, NULL, slow_worker, &d);
    wq_add(d.q, "busy");
    pthread_barrier_wait(&d.taken); /* the worker holds "busy" */

    /* a short drain times out while the key is held */
    ck_assert_int_eq(wq_shutdown_drain(d.q, 20), SH_ETIMEOUT);

    struct drain_call c = {.q = d.q, .result = 99};
    pthread_t dt;
    pthread_create(&dt, NULL, drain_thread, &c);
    pthread_barrier_wait(&d.release); /* let the worker finish */
    pthread_join(dt, NULL);
    pthread_join(w, NULL);
    ck_assert_int_eq(c.result, 0);
    pthread_barrier_destroy(&d.taken);
    pthread_barrier_destroy(&d.release);
    wq_free(d.q);
}
END_TEST

START_TEST(test_blocked_get_sees_fake_clock_move)
{
    struct workqueue *q = new_queue();
    wq_add_after(q, "t", 3600 * 1000);
    pthread_t th;
    /* a worker blocks; moving the fake clock an hour releases the key */
    pthread_create(&th, NULL, blocked_get, q);
    fake_clock_advance(&fc, 3600 * 1000);
    void *r;
    pthread_join(th, &r);
    ck_assert_int_eq((int)(intptr_t)r, 0);
    wq_done(q, "t");
    wq_free(q);
}
END_TEST

Suite *workqueue_suite(void)
{
    Suite *s = suite_create("workqueue");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_dedup_and_fifo);
    tcase_add_test(tc, test_urgent_goes_first_once);
    tcase_add_test(tc, test_readd_during_processing_is_kept_not_doubled);
    tcase_add_test(tc, test_delayed_add_uses_clock);
    tcase_add_test(tc, test_waiting_key_keeps_earliest_due);
    tcase_add_test(tc, test_wall_clock_steps_do_not_move_due_times);
    tcase_add_test(tc, test_heap_orders_many_keys);
    tcase_add_test(tc, test_backoff_doubles_and_caps);
    tcase_add_test(tc, test_rate_limited_add_is_delayed);
    tcase_add_test(tc, test_oldest_age);
    suite_add_tcase(s, tc);
    TCase *th = tcase_create("threads");
    tcase_set_timeout(th, 30);
    tcase_add_test(th, test_never_two_workers_on_one_key);
    tcase_add_test(th, test_shutdown_wakes_blocked_workers);
    tcase_add_test(th, test_drain_waits_for_in_flight);
    tcase_add_test(th, test_blocked_get_sees_fake_clock_move);
    suite_add_tcase(s, th);
    return s;
}
