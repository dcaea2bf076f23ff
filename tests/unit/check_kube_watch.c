/*
 * check_kube_watch.c — the watch-stream decoder on the recorded bytes of a
 * real kube-apiserver (12-watch: ADDED/MODIFIED/DELETED/BOOKMARK; 13: the
 * ERROR event with code 410), split at every possible point and fed byte
 * by byte; bounded lines; malformed input.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "kube/apistatus.h"
#include "kube/watch.h"
#include "kube_test.h"

Suite *kube_watch_suite(void);

#define MAX_EV 64

struct got {
    int n;
    enum kube_event_type type[MAX_EV];
    char name[MAX_EV][64];
    char rv[MAX_EV][32];
    long code[MAX_EV];
};

static int record(void *ctx, enum kube_event_type type, cJSON *obj)
{
    struct got *g = ctx;
    ck_assert_int_lt(g->n, MAX_EV);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
    const char *rv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion"));
    g->type[g->n] = type;
    snprintf(g->name[g->n], sizeof g->name[0], "%s", name ? name : "");
    snprintf(g->rv[g->n], sizeof g->rv[0], "%s", rv ? rv : "");
    struct kube_status st;
    g->code[g->n] = kube_status_parse(obj, &st) ? st.code : 0;
    g->n++;
    cJSON_Delete(obj);
    return 0;
}

/* The main stream of 12-watch, de-chunked (5257 bytes). */
static char *watch_body(size_t *len)
{
    int n = 0;
    struct kt_exchange *xs = kt_golden("12-watch.http", &n);
    const struct kt_exchange *x = kt_find(xs, n, "timeoutSeconds=70 (stream");
    ck_assert_uint_eq(x->response_body_len, 5257);
    char *b = malloc(x->response_body_len);
    memcpy(b, x->response_body, x->response_body_len);
    *len = x->response_body_len;
    kt_exchanges_free(xs, n);
    return b;
}

static void check_recorded(const struct got *g)
{
    static const enum kube_event_type want_t[] = {KUBE_EV_ADDED,    KUBE_EV_MODIFIED, KUBE_EV_MODIFIED,
                                                  KUBE_EV_DELETED,  KUBE_EV_ADDED,    KUBE_EV_MODIFIED,
                                                  KUBE_EV_DELETED,  KUBE_EV_BOOKMARK, KUBE_EV_BOOKMARK};
    static const char *const want_name[] = {"beta", "beta", "beta", "beta", "gamma",
                                            "gamma", "gamma", "", ""};
    static const char *const want_rv[] = {"365", "367", "368", "369", "370",
                                          "371", "372", "372", "372"};
    ck_assert_int_eq(g->n, 9);
    for (int i = 0; i < 9; i++) {
        ck_assert_msg(g->type[i] == want_t[i], "event %d: %s, expected %s", i,
                      kube_event_type_name(g->type[i]), kube_event_type_name(want_t[i]));
        ck_assert_str_eq(g->name[i], want_name[i]);
        ck_assert_str_eq(g->rv[i], want_rv[i]);
    }
}

START_TEST(test_golden_stream_split_at_every_point_gives_the_same_events)
{
    size_t len = 0;
    char *b = watch_body(&len);
    for (size_t cut = 0; cut <= len; cut++) {
        struct got g = {0};
        struct kube_watch_decoder d;
        kube_watch_init(&d, 0, record, &g);
        ck_assert_int_eq(kube_watch_feed(&d, b, cut), 0);
        ck_assert_int_eq(kube_watch_feed(&d, b + cut, len - cut), 0);
        ck_assert_int_eq(kube_watch_finish(&d), 0);
        check_recorded(&g);
        kube_watch_free(&d);
    }
    free(b);
}
END_TEST

START_TEST(test_golden_stream_byte_by_byte_and_in_odd_chunks)
{
    size_t len = 0;
    char *b = watch_body(&len);
    static const size_t sizes[] = {1, 2, 3, 7, 64, 511, 4096};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        struct got g = {0};
        struct kube_watch_decoder d;
        kube_watch_init(&d, 0, record, &g);
        for (size_t off = 0; off < len; off += sizes[s]) {
            size_t n = len - off < sizes[s] ? len - off : sizes[s];
            ck_assert_int_eq(kube_watch_feed(&d, b + off, n), 0);
        }
        ck_assert_int_eq(kube_watch_finish(&d), 0);
        check_recorded(&g);
        ck_assert_uint_eq(d.events, 9);
        kube_watch_free(&d);
    }
    free(b);
}
END_TEST

START_TEST(test_golden_error_event_410_is_decoded_with_its_status)
{
    int n = 0;
    struct kt_exchange *xs = kt_golden("13-too-old-rv.http", &n);
    const struct kt_exchange *x = kt_find(xs, n, "WATCH widgets with resourceVersion=1");
    ck_assert_int_eq(x->status, 200); /* not an HTTP 410 */
    for (size_t cut = 0; cut <= x->response_body_len; cut++) {
        struct got g = {0};
        struct kube_watch_decoder d;
        kube_watch_init(&d, 0, record, &g);
        ck_assert_int_eq(kube_watch_feed(&d, x->response_body, cut), 0);
        ck_assert_int_eq(kube_watch_feed(&d, x->response_body + cut, x->response_body_len - cut), 0);
        ck_assert_int_eq(kube_watch_finish(&d), 0);
        ck_assert_int_eq(g.n, 1);
        ck_assert_int_eq(g.type[0], KUBE_EV_ERROR);
        ck_assert_int_eq(g.code[0], 410);
        kube_watch_free(&d);
    }
    /* and the Status itself */
    const char *line = strstr(x->response_body, "\"object\":") + 9;
    cJSON *obj = cJSON_ParseWithLength(line, strlen(line) - 2); /* minus "}\n" */
    struct kube_status st;
    ck_assert(kube_status_parse(obj, &st));
    ck_assert_str_eq(st.reason, "Expired");
    ck_assert_str_eq(st.message, "too old resource version: 1 (340)");
    ck_assert_str_eq(st.status, "Failure");
    cJSON_Delete(obj);
    kt_exchanges_free(xs, n);
}
END_TEST

START_TEST(test_a_line_longer_than_the_limit_is_refused_however_it_is_split)
{
    size_t len = 0;
    char *b = watch_body(&len);
    /* the first event is 545 bytes: a 400-byte limit refuses it */
    for (size_t cut = 0; cut <= 600; cut += 50) {
        struct got g = {0};
        struct kube_watch_decoder d;
        kube_watch_init(&d, 400, record, &g);
        int r = kube_watch_feed(&d, b, cut);
        if (r == 0)
            r = kube_watch_feed(&d, b + cut, len - cut);
        ck_assert_int_eq(r, SH_ETOOBIG);
        ck_assert_int_eq(g.n, 0);
        ck_assert_uint_le(d.cap, 400);
        kube_watch_free(&d);
    }
    free(b);
}
END_TEST

START_TEST(test_malformed_lines_are_protocol_errors)
{
    static const char *const bad[] = {
        "not json\n",
        "{\"type\":\"ADDED\"}\n",                          /* no object */
        "{\"type\":\"SOMETHING\",\"object\":{}}\n",        /* unknown type */
        "{\"object\":{\"metadata\":{}}}\n",                /* no type */
        "{\"type\":\"ADDED\",\"object\":[1,2]}\n",         /* object not an object */
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}", /* truncated, then finish */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct got g = {0};
        struct kube_watch_decoder d;
        kube_watch_init(&d, 0, record, &g);
        int r = kube_watch_feed(&d, bad[i], strlen(bad[i]));
        if (r == 0)
            r = kube_watch_finish(&d);
        ck_assert_msg(r == SH_EPROTO, "case %zu: %d", i, r);
        ck_assert_int_eq(g.n, 0);
        kube_watch_free(&d);
    }
}
END_TEST

START_TEST(test_blank_lines_and_crlf_are_tolerated_and_a_last_line_without_newline_counts)
{
    const char *s = "\n\r\n{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\r\n"
                    "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"x\",\"resourceVersion\":\"10\"}}}";
    struct got g = {0};
    struct kube_watch_decoder d;
    kube_watch_init(&d, 0, record, &g);
    ck_assert_int_eq(kube_watch_feed(&d, s, strlen(s)), 0);
    ck_assert_int_eq(g.n, 1);
    ck_assert_int_eq(kube_watch_finish(&d), 0);
    ck_assert_int_eq(g.n, 2);
    ck_assert_int_eq(g.type[1], KUBE_EV_DELETED);
    ck_assert_str_eq(g.rv[1], "10");
    kube_watch_free(&d);
}
END_TEST

static int stop_at_second(void *ctx, enum kube_event_type type, cJSON *obj)
{
    (void)type;
    int *n = ctx;
    cJSON_Delete(obj);
    return ++*n == 2 ? 42 : 0;
}

START_TEST(test_a_callback_can_stop_decoding)
{
    size_t len = 0;
    char *b = watch_body(&len);
    int n = 0;
    struct kube_watch_decoder d;
    kube_watch_init(&d, 0, stop_at_second, &n);
    ck_assert_int_eq(kube_watch_feed(&d, b, len), 42);
    ck_assert_int_eq(n, 2);
    kube_watch_free(&d);
    free(b);
}
END_TEST

Suite *kube_watch_suite(void)
{
    Suite *s = suite_create("kube_watch");
    TCase *tc = tcase_create("decoder");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_golden_stream_split_at_every_point_gives_the_same_events);
    tcase_add_test(tc, test_golden_stream_byte_by_byte_and_in_odd_chunks);
    tcase_add_test(tc, test_golden_error_event_410_is_decoded_with_its_status);
    tcase_add_test(tc, test_a_line_longer_than_the_limit_is_refused_however_it_is_split);
    tcase_add_test(tc, test_malformed_lines_are_protocol_errors);
    tcase_add_test(tc, test_blank_lines_and_crlf_are_tolerated_and_a_last_line_without_newline_counts);
    tcase_add_test(tc, test_a_callback_can_stop_decoding);
    suite_add_tcase(s, tc);
    return s;
}
