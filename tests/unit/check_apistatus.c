/*
 * check_apistatus.c — the API server's Status object (kube/apistatus.c):
 * which `code` values count as an HTTP status, and what a watch ERROR or a
 * failed call with a bogus code maps to.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/errors.h"
#include "kube/apistatus.h"

Suite *apistatus_suite(void);

static long parsed_code(const char *code_json)
{
    char doc[256];
    snprintf(doc, sizeof doc,
             "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Gone\","
             "\"code\":%s}",
             code_json);
    cJSON *o = cJSON_Parse(doc);
    ck_assert_ptr_nonnull(o);
    struct kube_status st;
    ck_assert(kube_status_parse(o, &st));
    ck_assert_str_eq(st.reason, "Gone");
    long c = st.code;
    cJSON_Delete(o);
    return c;
}

START_TEST(test_real_http_statuses_are_kept)
{
    ck_assert_int_eq(parsed_code("410"), 410);
    ck_assert_int_eq(parsed_code("409"), 409);
    ck_assert_int_eq(parsed_code("429"), 429);
    ck_assert_int_eq(parsed_code("200"), 200);
    ck_assert_int_eq(parsed_code("599"), 599);
    ck_assert_int_eq(parsed_code("4.1e2"), 410);
}
END_TEST

START_TEST(test_anything_else_is_unknown_zero)
{
    static const char *const bad[] = {"0", "1", "100", "101", "199", "600", "999", "1000", "-410",
                                      "409.5", "1e300", "-1e300", "\"410\"", "null", "true",
                                      "[410]", "{}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long c = parsed_code(bad[i]);
        if (c != 0)
            ck_abort_msg("code %s parsed as %ld, want 0", bad[i], c);
    }
}
END_TEST

START_TEST(test_a_bogus_code_never_passes_for_a_known_error)
{
    /* a 1xx code in a watch ERROR must not look like anything the informer
     * acts on (410 relists); 0 maps like any unknown failure */
    cJSON *o = cJSON_Parse("{\"kind\":\"Status\",\"code\":101,\"reason\":\"Expired\"}");
    struct kube_status st;
    ck_assert(kube_status_parse(o, &st));
    ck_assert_int_eq(st.code, 0);
    ck_assert_int_eq(kube_http_error(st.code, st.reason), SH_EIO);
    ck_assert_str_eq(kube_http_reason(st.code), "");
    cJSON_Delete(o);
    /* not a Status at all: false and zeroed */
    o = cJSON_Parse("{\"kind\":\"Widget\",\"code\":410}");
    ck_assert(!kube_status_parse(o, &st));
    ck_assert_int_eq(st.code, 0);
    cJSON_Delete(o);
    ck_assert(!kube_status_parse(NULL, &st));
}
END_TEST

Suite *apistatus_suite(void)
{
    Suite *s = suite_create("apistatus");
    TCase *tc = tcase_create("status");
    tcase_add_test(tc, test_real_http_statuses_are_kept);
    tcase_add_test(tc, test_anything_else_is_unknown_zero);
    tcase_add_test(tc, test_a_bogus_code_never_passes_for_a_known_error);
    suite_add_tcase(s, tc);
    return s;
}
