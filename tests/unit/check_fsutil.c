/*
 * check_fsutil.c — the file helpers of controller/base/fsutil.h: a whole
 * file read at every size around its first 4 KiB buffer and its limit, a
 * missing file, and the shape of a random UUID.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/fsutil.h"

Suite *fsutil_suite(void);

static char dir[256];
static char path[320];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_fsutil.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f", dir);
}

static void teardown(void)
{
    unlink(path);
    rmdir(dir);
}

/* Writes n bytes (a pattern) to path; returns the pattern (owned). */
static char *make_file(size_t n)
{
    char *data = malloc(n + 1);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + (i * 7 + i / 13) % 26);
    data[n] = '\0';
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
    return data;
}

START_TEST(test_fsutil_read_file_whole_at_every_size)
{
    static const size_t sizes[] = {0, 1, 19, 300, 4095, 4096, 4097, 8191, 8192, 8193, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        char *want = make_file(n);
        char *got = NULL;
        size_t len = 12345;
        ck_assert_int_eq(fs_read_file(path, 1 << 20, &got, &len), 0);
        ck_assert_uint_eq(len, n);
        ck_assert_int_eq(got[n], '\0');
        ck_assert_msg(memcmp(got, want, n) == 0, "content differs at size %zu", n);
        free(got);
        /* exactly at the limit is fine, one byte over is too big */
        got = NULL;
        ck_assert_int_eq(fs_read_file(path, n, &got, NULL), 0);
        free(got);
        if (n > 0) {
            got = NULL;
            ck_assert_int_eq(fs_read_file(path, n - 1, &got, &len), SH_ETOOBIG);
            ck_assert_ptr_null(got);
        }
        free(want);
    }
}
END_TEST

START_TEST(test_fsutil_read_file_missing_is_eio)
{
    char *got = NULL;
    ck_assert_int_eq(fs_read_file(path, 100, &got, NULL), SH_EIO);
    ck_assert_ptr_null(got);
}
END_TEST

START_TEST(test_fsutil_uuid4_is_lowercase_8_4_4_4_12_version_4)
{
    char a[37], b[37];
    fs_uuid4(a);
    fs_uuid4(b);
    ck_assert_uint_eq(strlen(a), 36);
    ck_assert_str_ne(a, b);
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            ck_assert_int_eq(a[i], '-');
        else
            ck_assert_msg(strchr("0123456789abcdef", a[i]) && a[i], "bad char at %zu: %s", i, a);
    }
    ck_assert_int_eq(a[14], '4');
    ck_assert_msg(strchr("89ab", a[19]) != NULL, "variant: %s", a);
}
END_TEST

Suite *fsutil_suite(void)
{
    Suite *s = suite_create("fsutil");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_fsutil_read_file_whole_at_every_size);
    tcase_add_test(tc, test_fsutil_read_file_missing_is_eio);
    tcase_add_test(tc, test_fsutil_uuid4_is_lowercase_8_4_4_4_12_version_4);
    suite_add_tcase(s, tc);
    return s;
}
