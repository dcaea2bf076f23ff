/*
 * check_eventbus.c — the event ring: sequence numbers, JSON shape and the
 * fake-clock timestamp, reading after a sequence, overwriting the oldest
 * when full (the reader sees the gap), the notify hook, concurrent
 * publishers, and the platform tap forwarding record_event.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/errors.h"
#include "server/eventbus.h"

Suite *eventbus_suite(void);

static struct fake_clock fc;

static struct eventbus *new_bus(size_t cap)
{
    fake_clock_init(&fc, 1800000000123LL);
    struct eventbus *b = NULL;
    ck_assert_int_eq(eventbus_new(cap, &fc.base, &b), 0);
    return b;
}

static cJSON *next_obj(struct eventbus *b, uint64_t after, uint64_t *seq)
{
    char *json = NULL;
    size_t len = 0;
    ck_assert_int_eq(eventbus_next(b, after, &json, &len, seq), 0);
    ck_assert_uint_eq(len, strlen(json));
    cJSON *o = cJSON_Parse(json);
    free(json);
    ck_assert_ptr_nonnull(o);
    return o;
}

START_TEST(test_sequence_and_shape)
{
    struct eventbus *b = new_bus(8);
    ck_assert_uint_eq(eventbus_head(b), 0);
    char *json = NULL;
    ck_assert_int_eq(eventbus_next(b, 0, &json, NULL, NULL), SH_ENOTFOUND);
    ck_assert_uint_eq(eventbus_publish(b, "Warning", "ProbeFailed", "demo", "housing", "refused"), 1);
    fake_clock_advance(&fc, 1000);
    ck_assert_uint_eq(eventbus_publish(b, "Normal", "RecoveryStarted", "demo", "housing", "restart"), 2);
    ck_assert_uint_eq(eventbus_head(b), 2);
    ck_assert_uint_eq(eventbus_oldest(b), 1);

    uint64_t seq = 0;
    cJSON *o = next_obj(b, 0, &seq);
    ck_assert_uint_eq(seq, 1);
    ck_assert_int_eq((int)cJSON_GetObjectItem(o, "seq")->valuedouble, 1);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "type")->valuestring, "Warning");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "reason")->valuestring, "ProbeFailed");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "namespace")->valuestring, "demo");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "name")->valuestring, "housing");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "message")->valuestring, "refused");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "time")->valuestring, "2027-01-15T08:00:00.123Z");
    cJSON_Delete(o);

    o = next_obj(b, 1, &seq);
    ck_assert_uint_eq(seq, 2);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "reason")->valuestring, "RecoveryStarted");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "time")->valuestring, "2027-01-15T08:00:01.123Z");
    cJSON_Delete(o);
    ck_assert_int_eq(eventbus_next(b, 2, &json, NULL, NULL), SH_ENOTFOUND);
    ck_assert_ptr_null(json);
    eventbus_free(b);
}
END_TEST

START_TEST(test_controller_wide_event_has_no_name)
{
    struct eventbus *b = new_bus(4);
    eventbus_publish(b, NULL, "Started", NULL, NULL, NULL);
    cJSON *o = next_obj(b, 0, NULL);
    ck_assert_ptr_null(cJSON_GetObjectItem(o, "namespace"));
    ck_assert_ptr_null(cJSON_GetObjectItem(o, "name"));
    ck_assert_str_eq(cJSON_GetObjectItem(o, "type")->valuestring, "Normal");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "message")->valuestring, "");
    cJSON_Delete(o);
    eventbus_free(b);
}
END_TEST

START_TEST(test_ring_overwrites_oldest)
{
    struct eventbus *b = new_bus(3);
    char msg[16];
    for (int i = 1; i <= 7; i++) {
        snprintf(msg, sizeof msg, "m%d", i);
        ck_assert_uint_eq(eventbus_publish(b, "Normal", "R", "n", "p", msg), (uint64_t)i);
    }
    ck_assert_uint_eq(eventbus_oldest(b), 5);
    uint64_t seq = 0;
    /* after 1: 2..4 are gone; the oldest kept comes next */
    cJSON *o = next_obj(b, 1, &seq);
    ck_assert_uint_eq(seq, 5);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "message")->valuestring, "m5");
    cJSON_Delete(o);
    o = next_obj(b, 6, &seq);
    ck_assert_uint_eq(seq, 7);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "message")->valuestring, "m7");
    cJSON_Delete(o);
    eventbus_free(b);
}
END_TEST

static void count_notify(void *ctx)
{
    (*(int *)ctx)++;
}

START_TEST(test_notify_hook)
{
    struct eventbus *b = new_bus(4);
    int calls = 0;
    eventbus_set_notify(b, count_notify, &calls);
    eventbus_publish(b, "Normal", "A", "n", "p", "x");
    eventbus_publish(b, "Normal", "B", "n", "p", "y");
    ck_assert_int_eq(calls, 2);
    eventbus_set_notify(b, NULL, NULL);
    eventbus_publish(b, "Normal", "C", "n", "p", "z");
    ck_assert_int_eq(calls, 2);
    eventbus_free(b);
}
END_TEST

#define THREADS 4
#define PER_THREAD 500

static void *publisher(void *arg)
{
    struct eventbus *b = arg;
    for (int i = 0; i < PER_THREAD; i++)
        eventbus_publish(b, "Normal", "Tick", "n", "p", "t");
    return NULL;
}

START_TEST(test_concurrent_publishers_get_distinct_sequences)
{
    struct eventbus *b = new_bus(THREADS * PER_THREAD);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, publisher, b), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(eventbus_head(b), THREADS * PER_THREAD);
    uint64_t after = 0, seq = 0;
    for (int i = 1; i <= THREADS * PER_THREAD; i++) {
        char *json = NULL;
        ck_assert_int_eq(eventbus_next(b, after, &json, NULL, &seq), 0);
        ck_assert_uint_eq(seq, (uint64_t)i);
        cJSON *o = cJSON_Parse(json);
        ck_assert_int_eq((int)cJSON_GetObjectItem(o, "seq")->valuedouble, i);
        cJSON_Delete(o);
        free(json);
        after = seq;
    }
    eventbus_free(b);
}
END_TEST

/* a fake inner platform recording what reached it */
static int inner_events;
static char inner_reason[64];

static void inner_record(struct platform *pf, const struct pipeline *p, enum event_type type,
                         const char *reason, const char *message)
{
    (void)pf;
    (void)p;
    (void)type;
    (void)message;
    inner_events++;
    snprintf(inner_reason, sizeof inner_reason, "%s", reason);
}

static int inner_delete(struct platform *pf, const char *key)
{
    (void)pf;
    return strcmp(key, "n/p") == 0 ? 0 : SH_ENOTFOUND;
}

START_TEST(test_tap_forwards_and_publishes)
{
    struct eventbus *b = new_bus(4);
    struct platform inner = {.name = "fake", .record_event = inner_record,
                             .delete_status = inner_delete};
    struct eventbus_tap tap;
    eventbus_tap_init(&tap, b, &inner);
    struct platform *pf = &tap.base;
    ck_assert_str_eq(pf->name, "fake");
    struct pipeline p = {.key = "ns1/svc", .namespace_ = "ns1", .name = "svc"};
    inner_events = 0;
    pf->record_event(pf, &p, EVENT_WARNING, "DriftDetected", "psi 0.4 > 0.2");
    ck_assert_int_eq(inner_events, 1);
    ck_assert_str_eq(inner_reason, "DriftDetected");
    ck_assert_int_eq(pf->delete_status(pf, "n/p"), 0);
    ck_assert_int_eq(pf->delete_status(pf, "x/y"), SH_ENOTFOUND);
    ck_assert_ptr_null(pf->actuators(pf, "service"));
    cJSON *o = next_obj(b, 0, NULL);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "type")->valuestring, "Warning");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "reason")->valuestring, "DriftDetected");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "namespace")->valuestring, "ns1");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "name")->valuestring, "svc");
    cJSON_Delete(o);
    eventbus_free(b);
}
END_TEST

Suite *eventbus_suite(void)
{
    Suite *s = suite_create("eventbus");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_sequence_and_shape);
    tcase_add_test(tc, test_controller_wide_event_has_no_name);
    tcase_add_test(tc, test_ring_overwrites_oldest);
    tcase_add_test(tc, test_notify_hook);
    tcase_add_test(tc, test_concurrent_publishers_get_distinct_sequences);
    tcase_add_test(tc, test_tap_forwards_and_publishes);
    suite_add_tcase(s, tc);
    return s;
}
