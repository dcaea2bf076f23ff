/*
 * check_redact.c — credentials out of every message (base/redact.h): URL
 * userinfo, secret query parameters in any case, bearer and basic
 * Authorization values, private keys; never longer, idempotent, JSON kept
 * valid; excerpts of outside text short and sanitised.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/redact.h"

Suite *redact_suite(void);

static void expect(const char *in, const char *want)
{
    char *d = redact_dup(in);
    ck_assert_ptr_nonnull(d);
    ck_assert_msg(strcmp(d, want) == 0, "redact(\"%s\") = \"%s\", want \"%s\"", in, d, want);
    ck_assert_uint_le(strlen(d), strlen(in));
    char *again = redact_dup(d);
    ck_assert_str_eq(again, d); /* idempotent */
    free(again);
    free(d);
}

START_TEST(test_redact_url_userinfo_becomes_xxxxx)
{
    expect("GET http://admin:PASSWORD@prometheus:9090/api/v1/query?query=up: connection refused",
           "GET http://xxxxx@prometheus:9090/api/v1/query?query=up: connection refused");
    expect("https://tok3n@h/x", "https://xxxxx@h/x");
    expect("see http://a:b@h and https://u:pw1234@k:1/", "see http://xxx@h and https://xxxxx@k:1/");
    expect("http://host/path@notuser", "http://host/path@notuser");
    expect("mailto:me@example.com", "mailto:me@example.com");
}
END_TEST

START_TEST(test_redact_secret_query_parameters_in_any_case)
{
    expect("GET http://h/m?token=SECRETTOKEN&x=1", "GET http://h/m?token=xxxxx&x=1");
    expect("GET http://h/m?token=SECRETTOKEN: refused", "GET http://h/m?token=xxxxx: refused");
    expect("http://h/?a=1&Access_Token=abcdefgh#f", "http://h/?a=1&Access_Token=xxxxx#f");
    expect("u?api_key=K1234567 u?apikey=K7654321 u?password=hunter22 u?sig=s1g5ig",
           "u?api_key=xxxxx u?apikey=xxxxx u?password=xxxxx u?sig=xxxxx");
    expect("http://h/?tokens=1&mytoken=2&query=token", "http://h/?tokens=1&mytoken=2&query=token");
}
END_TEST

START_TEST(test_redact_authorization_values)
{
    expect("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig",
           "Authorization: Bearer [redacted]");
    expect("authorization: basic YWRtaW46cGFzc3dvcmQ=", "authorization: basic [redacted]");
    expect("bearer abc", "bearer ***");
    /* any case, after near misses that start with the same letter */
    expect("a b bear bearer: BeArEr tok3n", "a b bear bearer: BeArEr *****");
    expect("auth AUTHORIZATION: basiC dXNlcjpwdw== and BEARER x, bearer y",
           "auth AUTHORIZATION: basiC [redacted] and BEARER *, bearer *");
}
END_TEST

START_TEST(test_redact_private_key)
{
    expect("x -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- y",
           "x [redacted private key] y");
}
END_TEST

START_TEST(test_redact_json_keeps_json_valid)
{
    cJSON *o = cJSON_Parse("{\"url\":\"http://admin:PASSWORD@h:1/?token=T0KENVALUE\","
                           "\"list\":[\"Bearer abcdefghijklmnop\"],\"n\":1}");
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(redact_json(o), 3);
    char *text = cJSON_PrintUnformatted(o);
    ck_assert_str_eq(text, "{\"url\":\"http://xxxxx@h:1/?token=xxxxx\","
                           "\"list\":[\"Bearer [redacted]\"],\"n\":1}");
    free(text);
    cJSON_Delete(o);
    /* redacting serialised JSON never eats a quote */
    char doc[] = "{\"a\":\"http://u:p@h\",\"b\":\"?token=abc\\\"\",\"c\":\"Bearer x\\\"y\"}";
    redact_inplace(doc);
    cJSON *back = cJSON_Parse(doc);
    ck_assert_msg(back != NULL, "not JSON after redaction: %s", doc);
    cJSON_Delete(back);
}
END_TEST

START_TEST(test_redact_excerpt_is_short_and_sanitised)
{
    char out[REDACT_EXCERPT_MAX + 4];
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    redact_excerpt(big, REDACT_EXCERPT_MAX, out, sizeof out);
    ck_assert_uint_eq(strlen(out), REDACT_EXCERPT_MAX + 3);
    ck_assert(strcmp(out + REDACT_EXCERPT_MAX, "...") == 0);
    redact_excerpt("bad\n\x1b[31m http://a:SECRET@h", 100, out, sizeof out);
    ck_assert_str_eq(out, "bad??[31m http://xxxxx@h");
    ck_assert(redact_url_has_credentials("http://u:p@h"));
    ck_assert(redact_url_has_credentials("http://h/?sig=1"));
    ck_assert(!redact_url_has_credentials("http://h/?q=1"));
    ck_assert_uint_eq(redact_inplace(NULL), 0);
}
END_TEST

Suite *redact_suite(void)
{
    Suite *s = suite_create("redact");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_redact_url_userinfo_becomes_xxxxx);
    tcase_add_test(tc, test_redact_secret_query_parameters_in_any_case);
    tcase_add_test(tc, test_redact_authorization_values);
    tcase_add_test(tc, test_redact_private_key);
    tcase_add_test(tc, test_redact_json_keeps_json_valid);
    tcase_add_test(tc, test_redact_excerpt_is_short_and_sanitised);
    suite_add_tcase(s, tc);
    return s;
}
