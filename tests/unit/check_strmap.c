/* check_strmap.c — the string-keyed hash map (strmap.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"

Suite *strmap_suite(void);

START_TEST(test_strmap_puts_gets_replaces_and_removes)
{
    struct strmap *m = strmap_new();
    int a = 1, b = 2;
    void *old = &a;
    ck_assert_int_eq(strmap_put(m, "default/x", &a, &old), 0);
    ck_assert_ptr_null(old);
    ck_assert_ptr_eq(strmap_get(m, "default/x"), &a);
    ck_assert_int_eq(strmap_put(m, "default/x", &b, &old), 0);
    ck_assert_ptr_eq(old, &a);
    ck_assert_uint_eq(strmap_count(m), 1);
    ck_assert_ptr_eq(strmap_remove(m, "default/x"), &b);
    ck_assert_ptr_null(strmap_remove(m, "default/x"));
    ck_assert_ptr_null(strmap_get(m, "default/x"));
    ck_assert_uint_eq(strmap_count(m), 0);
    strmap_free(m);
}
END_TEST

START_TEST(test_strmap_grows_and_lists_sorted_keys)
{
    struct strmap *m = strmap_new();
    char key[32];
    for (int i = 999; i >= 0; i--) {
        snprintf(key, sizeof key, "k%04d", i);
        ck_assert_int_eq(strmap_put(m, key, (void *)(long)(i + 1), NULL), 0);
    }
    ck_assert_uint_eq(strmap_count(m), 1000);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%04d", i);
        ck_assert_int_eq((int)(long)strmap_get(m, key), i + 1);
    }
    size_t n = 0;
    char **keys = strmap_keys(m, &n);
    ck_assert_uint_eq(n, 1000);
    ck_assert_str_eq(keys[0], "k0000");
    ck_assert_str_eq(keys[999], "k0999");
    ck_assert_ptr_null(keys[1000]);
    strmap_keys_free(keys);
    strmap_free(m);
}
END_TEST

Suite *strmap_suite(void)
{
    Suite *s = suite_create("strmap");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_strmap_puts_gets_replaces_and_removes);
    tcase_add_test(tc, test_strmap_grows_and_lists_sorted_keys);
    suite_add_tcase(s, tc);
    return s;
}
