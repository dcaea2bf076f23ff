/* check_state_flush.c — the status folders' flusher (local/state_flush.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "local/state_flush.h"

Suite *state_flush_suite(void);

static char tmpdir[256], path[320];

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_state_flush.XXXXXX", base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(path, sizeof path, "%s/s.json", tmpdir);
}

static void teardown(void)
{
    unlink(path);
    rmdir(tmpdir);
}

/* Stopping flushes what is pending, however long the tick. */
START_TEST(test_stop_flushes_pending_folders)
{
    struct state_flush *sf = NULL;
    ck_assert_int_eq(state_flush_start(3600 * 1000, &sf), 0);
    ck_assert_int_eq(atomic_file_write_deferred(path, "x", 1), 0);
    ck_assert_uint_eq(atomic_file_pending_folders(), 1);
    state_flush_stop(sf);
    ck_assert_uint_eq(atomic_file_pending_folders(), 0);
}
END_TEST

/* A tick flushes without being asked (polled: no timing is asserted). */
START_TEST(test_tick_flushes_pending_folders)
{
    struct state_flush *sf = NULL;
    ck_assert_int_eq(state_flush_start(1, &sf), 0);
    ck_assert_int_eq(atomic_file_write_deferred(path, "x", 1), 0);
    for (int i = 0; i < 10000 && atomic_file_pending_folders() > 0; i++)
        usleep(1000);
    ck_assert_uint_eq(atomic_file_pending_folders(), 0);
    state_flush_stop(sf);
}
END_TEST

START_TEST(test_stop_null_is_fine)
{
    state_flush_stop(NULL);
}
END_TEST

Suite *state_flush_suite(void)
{
    Suite *s = suite_create("state_flush");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_stop_flushes_pending_folders);
    tcase_add_test(tc, test_tick_flushes_pending_folders);
    tcase_add_test(tc, test_stop_null_is_fine);
    suite_add_tcase(s, tc);
    return s;
}
