/* check_clock.c — the fake clock and the RFC 3339 helpers of clock.h. */
#include <check.h>

#include "base/clock.h"
#include "base/errors.h"

Suite *clock_suite(void);

START_TEST(test_fake_clock_moves_only_when_told)
{
    struct fake_clock fc;
    fake_clock_init(&fc, 1000);
    ck_assert_int_eq(clock_now_ms(&fc.base), 1000);
    fake_clock_advance(&fc, 24LL * 3600 * 1000);
    ck_assert_int_eq(clock_now_ms(&fc.base), 1000 + 24LL * 3600 * 1000);
    fake_clock_set(&fc, 5);
    ck_assert_int_eq(clock_now_ms(&fc.base), 5);
}
END_TEST

START_TEST(test_wall_steps_leave_the_monotonic_face_alone)
{
    struct fake_clock fc;
    fake_clock_init(&fc, 1000);
    ck_assert_int_eq(clock_mono_ms(&fc.base), 1000);
    fake_clock_step_wall(&fc, -3600 * 1000);
    ck_assert_int_eq(clock_now_ms(&fc.base), 1000 - 3600 * 1000);
    ck_assert_int_eq(clock_mono_ms(&fc.base), 1000);
    fake_clock_advance(&fc, 500); /* time passes: both move */
    ck_assert_int_eq(clock_mono_ms(&fc.base), 1500);
    fake_clock_set(&fc, clock_now_ms(&fc.base) + 250);
    ck_assert_int_eq(clock_mono_ms(&fc.base), 1750);
    /* the real clock's monotonic face never goes back */
    int64_t a = clock_mono_ms(NULL), b = clock_mono_ms(NULL);
    ck_assert_int_le(a, b);
}
END_TEST

START_TEST(test_rfc3339_round_trips_and_accepts_offsets)
{
    char buf[32];
    int64_t ms = 0;
    ck_assert_int_eq(clock_parse_rfc3339("2026-11-28T18:00:00Z", &ms), 0);
    ck_assert_int_eq(ms, 1795888800000LL);
    ck_assert_str_eq(clock_format_rfc3339(ms, buf, sizeof buf), "2026-11-28T18:00:00Z");
    ck_assert_int_eq(clock_parse_rfc3339("2026-11-28T19:00:00.250+01:00", &ms), 0);
    ck_assert_int_eq(ms, 1795888800250LL);
    ck_assert_int_eq(clock_parse_rfc3339("2026-11-28 18:00", &ms), SH_EPARSE);
    ck_assert_int_eq(clock_parse_rfc3339("2026-11-28T18:00:00", &ms), SH_EPARSE);
}
END_TEST

Suite *clock_suite(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fake_clock_moves_only_when_told);
    tcase_add_test(tc, test_rfc3339_round_trips_and_accepts_offsets);
    tcase_add_test(tc, test_wall_steps_leave_the_monotonic_face_alone);
    suite_add_tcase(s, tc);
    return s;
}
