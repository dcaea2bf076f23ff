/*
 * check_kube_lease.c — leader election on the fake clock against an
 * in-memory Lease store with the API server's optimistic concurrency
 * (update with a stale resourceVersion → conflict): one leader at a time,
 * take-over only after the lease duration, a leader that cannot renew stops
 * before its lease expires, release hands over at once, MicroTime format.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/errors.h"
#include "kube/lease.h"

Suite *kube_lease_suite(void);

struct store {
    cJSON *lease; /* NULL: none */
    long rv;
    int updates, creates, conflicts;
};

struct view { /* one replica's connection to the store */
    struct store *st;
    bool down; /* its API calls fail */
    int started, stopped;
};

static const char *rv_of(const cJSON *l)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "metadata"), "resourceVersion"));
}

static void set_rv(cJSON *l, long rv)
{
    char s[32];
    snprintf(s, sizeof s, "%ld", rv);
    cJSON *m = cJSON_GetObjectItem(l, "metadata");
    cJSON_DeleteItemFromObject(m, "resourceVersion");
    cJSON_AddStringToObject(m, "resourceVersion", s);
}

static int f_get(void *ctx, cJSON **ret, char **ret_err)
{
    struct view *v = ctx;
    if (v->down)
        return *ret_err = strdup("down"), SH_EUNAVAIL;
    if (!v->st->lease)
        return *ret_err = strdup("not found"), SH_ENOTFOUND;
    *ret = cJSON_Duplicate(v->st->lease, true);
    return 0;
}

static int f_create(void *ctx, const cJSON *l, cJSON **ret, char **ret_err)
{
    struct view *v = ctx;
    if (v->down)
        return *ret_err = strdup("down"), SH_EUNAVAIL;
    if (v->st->lease)
        return *ret_err = strdup("exists"), SH_EEXISTS;
    v->st->lease = cJSON_Duplicate(l, true);
    set_rv(v->st->lease, ++v->st->rv);
    v->st->creates++;
    *ret = cJSON_Duplicate(v->st->lease, true);
    return 0;
}

static int f_update(void *ctx, const cJSON *l, cJSON **ret, char **ret_err)
{
    struct view *v = ctx;
    if (v->down)
        return *ret_err = strdup("down"), SH_EUNAVAIL;
    const char *rv = rv_of(l);
    if (!rv || strcmp(rv, rv_of(v->st->lease)) != 0) {
        v->st->conflicts++;
        return *ret_err = strdup("conflict"), SH_ECONFLICT;
    }
    cJSON_Delete(v->st->lease);
    v->st->lease = cJSON_Duplicate(l, true);
    set_rv(v->st->lease, ++v->st->rv);
    v->st->updates++;
    *ret = cJSON_Duplicate(v->st->lease, true);
    return 0;
}

static void started(void *ctx)
{
    ((struct view *)ctx)->started++;
}

static void stopped(void *ctx)
{
    ((struct view *)ctx)->stopped++;
}

static struct fake_clock fc;

static struct lease_elector *replica(struct view *v, const char *id)
{
    struct lease_backend b = {.get = f_get, .create = f_create, .update = f_update, .ctx = v};
    struct lease_elector_options o = {.namespace_ = "sys", .name = "selfheal-leader",
                                      .identity = id, .clock = &fc.base,
                                      .on_started = started, .on_stopped = stopped, .cb_ctx = v};
    struct lease_elector *le = NULL;
    ck_assert_int_eq(lease_elector_new(&o, &b, &le), 0);
    return le;
}

static const char *holder(struct store *st)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(st->lease, "spec"), "holderIdentity"));
}

static double spec_num(struct store *st, const char *f)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(st->lease, "spec"), f));
}

START_TEST(test_first_candidate_creates_the_lease_and_leads)
{
    fake_clock_init(&fc, 1764348759468);
    struct store st = {0};
    struct view va = {.st = &st};
    struct lease_elector *a = replica(&va, "a_1");
    ck_assert(!lease_elector_is_leader(a));
    ck_assert_int_eq(lease_elector_step(a), 2000);
    ck_assert(lease_elector_is_leader(a));
    ck_assert_int_eq(va.started, 1);
    ck_assert_int_eq(st.creates, 1);
    ck_assert_str_eq(holder(&st), "a_1");
    ck_assert_int_eq((int)spec_num(&st, "leaseDurationSeconds"), 15);
    /* MicroTime: exactly six fractional digits */
    const char *rt = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(st.lease, "spec"), "renewTime"));
    ck_assert_str_eq(rt, "2025-11-28T16:52:39.468000Z");
    /* renewing keeps it and does not fire started again */
    fake_clock_advance(&fc, 2000);
    lease_elector_step(a);
    ck_assert_int_eq(va.started, 1);
    ck_assert_int_eq(st.updates, 1);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(st.lease, "spec"), "acquireTime")),
                     "2025-11-28T16:52:39.468000Z");
    lease_elector_free(a);
    cJSON_Delete(st.lease);
}
END_TEST

/* A step of the wall clock forward (NTP) lets no standby take the lease
 * early, and a step back does not end a leader's term. */
START_TEST(test_wall_clock_steps_neither_shorten_nor_stretch_the_lease)
{
    fake_clock_init(&fc, 1000000);
    struct store st = {0};
    struct view va = {.st = &st}, vb = {.st = &st};
    struct lease_elector *a = replica(&va, "a"), *b = replica(&vb, "b");
    lease_elector_step(a);
    lease_elector_step(b);
    fake_clock_step_wall(&fc, -3600 * 1000);
    ck_assert(lease_elector_is_leader(a));
    lease_elector_step(a);
    ck_assert(lease_elector_is_leader(a));
    /* a stops renewing (killed); the wall clock jumps two hours forward */
    fake_clock_step_wall(&fc, 2 * 3600 * 1000);
    lease_elector_step(b);
    ck_assert(!lease_elector_is_leader(b));
    fake_clock_advance(&fc, 14000);
    lease_elector_step(b);
    ck_assert(!lease_elector_is_leader(b)); /* 14 s of a 15 s lease */
    fake_clock_advance(&fc, 2000);
    lease_elector_step(b);
    ck_assert(lease_elector_is_leader(b));
    lease_elector_free(a);
    lease_elector_free(b);
    cJSON_Delete(st.lease);
}
END_TEST

START_TEST(test_a_standby_never_leads_while_the_leader_renews)
{
    fake_clock_init(&fc, 1000000);
    struct store st = {0};
    struct view va = {.st = &st}, vb = {.st = &st};
    struct lease_elector *a = replica(&va, "a"), *b = replica(&vb, "b");
    lease_elector_step(a);
    for (int i = 0; i < 60; i++) {
        fake_clock_advance(&fc, 1000);
        if (i % 2 == 0)
            lease_elector_step(a);
        lease_elector_step(b);
        ck_assert(lease_elector_is_leader(a));
        ck_assert(!lease_elector_is_leader(b));
    }
    ck_assert_int_eq(vb.started, 0);
    ck_assert_str_eq(holder(&st), "a");
    lease_elector_free(a);
    lease_elector_free(b);
    cJSON_Delete(st.lease);
}
END_TEST

START_TEST(test_take_over_only_after_the_lease_duration_on_our_clock)
{
    fake_clock_init(&fc, 1000000);
    struct store st = {0};
    struct view va = {.st = &st}, vb = {.st = &st};
    struct lease_elector *a = replica(&va, "a"), *b = replica(&vb, "b");
    lease_elector_step(a);
    lease_elector_step(b); /* b sees a's record at t0 */
    /* a dies: it never steps again */
    for (int t = 2000; t < 15000; t += 2000) {
        fake_clock_advance(&fc, 2000);
        lease_elector_step(b);
        ck_assert_msg(!lease_elector_is_leader(b), "b took over after %d ms", t);
    }
    fake_clock_set(&fc, 1000000 + 15000);
    lease_elector_step(b);
    ck_assert(lease_elector_is_leader(b));
    ck_assert_int_eq(vb.started, 1);
    ck_assert_str_eq(holder(&st), "b");
    ck_assert_int_eq((int)spec_num(&st, "leaseTransitions"), 1);
    lease_elector_free(a);
    lease_elector_free(b);
    cJSON_Delete(st.lease);
}
END_TEST

START_TEST(test_a_leader_that_cannot_renew_stops_before_its_lease_expires)
{
    fake_clock_init(&fc, 1000000);
    struct store st = {0};
    struct view va = {.st = &st}, vb = {.st = &st};
    struct lease_elector *a = replica(&va, "a"), *b = replica(&vb, "b");
    lease_elector_step(a);
    lease_elector_step(b);
    va.down = true; /* a is cut off from the API server */
    int64_t a_stopped_at = -1, b_started_at = -1;
    for (int64_t t = 1000; t <= 20000; t += 1000) {
        fake_clock_set(&fc, 1000000 + t);
        if (t % 2000 == 0) {
            lease_elector_step(a);
            lease_elector_step(b);
        }
        if (a_stopped_at < 0 && !lease_elector_is_leader(a))
            a_stopped_at = t;
        if (b_started_at < 0 && lease_elector_is_leader(b))
            b_started_at = t;
        ck_assert_msg(!(lease_elector_is_leader(a) && lease_elector_is_leader(b)),
                      "two leaders at %lld ms", (long long)t);
    }
    ck_assert_int_eq(a_stopped_at, 10000); /* the renew deadline */
    ck_assert_int_eq(va.stopped, 1);
    ck_assert_int_ge(b_started_at, 15000); /* the lease duration */
    ck_assert_int_le(b_started_at, 16000);
    lease_elector_free(a);
    lease_elector_free(b);
    cJSON_Delete(st.lease);
}
END_TEST

START_TEST(test_is_leader_turns_false_at_the_deadline_even_if_no_step_runs)
{
    fake_clock_init(&fc, 5000000);
    struct store st = {0};
    struct view va = {.st = &st};
    struct lease_elector *a = replica(&va, "a");
    lease_elector_step(a);
    fake_clock_advance(&fc, 9999);
    ck_assert(lease_elector_is_leader(a));
    fake_clock_advance(&fc, 1); /* a renew call hanging in the elector thread */
    ck_assert(!lease_elector_is_leader(a));
    lease_elector_free(a);
    cJSON_Delete(st.lease);
}
END_TEST

START_TEST(test_release_hands_over_at_once)
{
    fake_clock_init(&fc, 1000000);
    struct store st = {0};
    struct view va = {.st = &st}, vb = {.st = &st};
    struct lease_elector *a = replica(&va, "a"), *b = replica(&vb, "b");
    lease_elector_step(a);
    lease_elector_step(b);
    ck_assert_int_eq(lease_elector_release(a), 0);
    ck_assert(!lease_elector_is_leader(a));
    ck_assert_int_eq(va.stopped, 1);
    ck_assert_str_eq(holder(&st), "");
    fake_clock_advance(&fc, 2000);
    lease_elector_step(b);
    ck_assert(lease_elector_is_leader(b));
    ck_assert_str_eq(holder(&st), "b");
    /* releasing when not leading does nothing */
    int updates = st.updates;
    ck_assert_int_eq(lease_elector_release(a), 0);
    ck_assert_int_eq(st.updates, updates);
    lease_elector_free(a);
    lease_elector_free(b);
    cJSON_Delete(st.lease);
}
END_TEST

/* Two candidates read the same free record; only the first update wins. */
START_TEST(test_simultaneous_candidates_cannot_both_win)
{
    fake_clock_init(&fc, 1000000);
    struct store st = {0};
    st.lease = cJSON_Parse("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                           "\"metadata\":{\"name\":\"selfheal-leader\",\"namespace\":\"sys\",\"resourceVersion\":\"7\"},"
                           "\"spec\":{\"holderIdentity\":\"\",\"leaseDurationSeconds\":1}}");
    st.rv = 7;
    struct view va = {.st = &st}, vb = {.st = &st};
    struct lease_elector *a = replica(&va, "a"), *b = replica(&vb, "b");
    /* interleave by hand: b reads, a takes it, b's update must conflict */
    cJSON *b_read = cJSON_Duplicate(st.lease, true);
    lease_elector_step(a);
    ck_assert(lease_elector_is_leader(a));
    char *err = NULL;
    cJSON *out = NULL;
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(b_read, "spec"), "holderIdentity", cJSON_CreateString("b"));
    ck_assert_int_eq(f_update(&vb, b_read, &out, &err), SH_ECONFLICT);
    free(err);
    cJSON_Delete(b_read);
    lease_elector_step(b);
    ck_assert(!lease_elector_is_leader(b));
    ck_assert_str_eq(holder(&st), "a");
    lease_elector_free(a);
    lease_elector_free(b);
    cJSON_Delete(st.lease);
}
END_TEST

START_TEST(test_options_must_keep_deadline_below_lease_and_retry_below_deadline)
{
    struct store st = {0};
    struct view v = {.st = &st};
    struct lease_backend b = {.get = f_get, .create = f_create, .update = f_update, .ctx = &v};
    struct lease_elector *le = NULL;
    struct lease_elector_options o = {.lease_ms = 10000, .renew_deadline_ms = 10000};
    ck_assert_int_eq(lease_elector_new(&o, &b, &le), SH_EINVAL);
    o = (struct lease_elector_options){.retry_ms = 10000};
    ck_assert_int_eq(lease_elector_new(&o, &b, &le), SH_EINVAL);
    o = (struct lease_elector_options){0};
    ck_assert_int_eq(lease_elector_new(&o, &b, &le), 0);
    /* default identity: hostname_uuid */
    const char *id = lease_elector_identity(le);
    const char *us = strrchr(id, '_');
    ck_assert_ptr_nonnull(us);
    ck_assert_uint_eq(strlen(us + 1), 36);
    lease_elector_free(le);
}
END_TEST

Suite *kube_lease_suite(void)
{
    Suite *s = suite_create("kube_lease");
    TCase *tc = tcase_create("lease");
    tcase_add_test(tc, test_first_candidate_creates_the_lease_and_leads);
    tcase_add_test(tc, test_a_standby_never_leads_while_the_leader_renews);
    tcase_add_test(tc, test_wall_clock_steps_neither_shorten_nor_stretch_the_lease);
    tcase_add_test(tc, test_take_over_only_after_the_lease_duration_on_our_clock);
    tcase_add_test(tc, test_a_leader_that_cannot_renew_stops_before_its_lease_expires);
    tcase_add_test(tc, test_is_leader_turns_false_at_the_deadline_even_if_no_step_runs);
    tcase_add_test(tc, test_release_hands_over_at_once);
    tcase_add_test(tc, test_simultaneous_candidates_cannot_both_win);
    tcase_add_test(tc, test_options_must_keep_deadline_below_lease_and_retry_below_deadline);
    suite_add_tcase(s, tc);
    return s;
}
