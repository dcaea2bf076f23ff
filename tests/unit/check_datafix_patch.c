/*
 * check_datafix_patch.c — pass 1's notes of the cells the write pass may
 * change (data/datafix_patch.c): a block's notes come back only for the
 * block pass 1 saw there; the interior of a column's bounds is the one
 * the ranges of its quartiles allow, and covers exactly the bounds that
 * contain it; notes past their memory, or of a block past the table, make
 * the set incomplete; too many columns cannot be noted.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>

#include "data/datafix_patch.h"

Suite *datafix_patch_suite(void);

START_TEST(test_blocks_and_notes)
{
    struct patchset *ps = patch_new(3, 1u << 20, 4096, 1u << 20);
    ck_assert_ptr_nonnull(ps);
    struct patch_vec *v = &ps->v[1];
    ck_assert(patch_add(v, 10, 2, 0));
    ck_assert(patch_add(v, 30, 0, 2));
    patch_block_done(ps, 1, 5, 8192, 4000, 0);
    ck_assert(patch_add(v, 7, 3, 1));
    patch_block_done(ps, 1, 6, 12192, 4090, 2);
    const struct patch *p;
    size_t n;
    ck_assert(patch_of(ps, 5, 8192, 4000, &p, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(p[0].off, 10);
    ck_assert_uint_eq(p[1].col, 2);
    ck_assert(patch_of(ps, 6, 12192, 4090, &p, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(p[0].len, 3);
    ck_assert(!patch_of(ps, 5, 8192, 4001, &p, &n)); /* cut elsewhere: the file changed */
    ck_assert(!patch_of(ps, 5, 8193, 4000, &p, &n));
    ck_assert(!patch_of(ps, 7, 16282, 10, &p, &n)); /* never seen */
    ck_assert(patch_complete(ps));
    patch_block_done(ps, 0, 1u << 30, 0, 1, 0); /* past the table */
    ck_assert(!patch_complete(ps));
    patch_free(ps);
}
END_TEST

START_TEST(test_limit_makes_incomplete)
{
    struct patchset *ps = patch_new(2, 1u << 20, 4096, 2 * 100 * sizeof(struct patch));
    ck_assert_ptr_nonnull(ps);
    struct patch_vec *v = &ps->v[0];
    size_t kept = 0;
    for (int i = 0; i < 150; i++)
        kept += patch_add(v, (size_t)i, 1, 0);
    ck_assert_uint_eq(kept, 100);
    ck_assert(!patch_complete(ps));
    patch_free(ps);
    ps = patch_new(2, 1u << 20, 4096, 1u << 20);
    ck_assert(!patch_add(&ps->v[0], (size_t)UINT32_MAX + 1, 1, 0)); /* no place to keep */
    ck_assert(!patch_complete(ps));
    patch_free(ps);
    ck_assert_ptr_null(patch_new(70000, 1u << 20, 4096, 1u << 20));
}
END_TEST

START_TEST(test_interior_and_cover)
{
    struct patchset *ps = patch_new(2, 1u << 20, 4096, 1u << 20);
    ck_assert(!patch_covers(ps, 0, -1e300, 1e300)); /* no interior: nothing noted */
    /* Q1 ≤ 12, Q3 ≥ 20, m 1.5: the lower bound ≤ 12 − 12 = 0, the upper ≥ 20 + 12 = 32 */
    patch_interior(ps, 0, 12, 20, 1.5);
    ck_assert_double_eq(ps->lo[0], 0);
    ck_assert_double_eq(ps->hi[0], 32);
    ck_assert(patch_covers(ps, 0, -3, 35));
    ck_assert(patch_covers(ps, 0, 0, 32));
    ck_assert(!patch_covers(ps, 0, 0.5, 35)); /* a number in [0, 0.5) was not noted */
    ck_assert(!patch_covers(ps, 0, -3, 31));
    patch_interior(ps, 1, 20, 12, 1.5); /* overlapping ranges: no interior */
    ck_assert(isinf(ps->lo[1]) && isinf(ps->hi[1]));
    ck_assert(!patch_covers(ps, 1, -1e300, 1e300));
    patch_free(ps);
}
END_TEST

Suite *datafix_patch_suite(void)
{
    Suite *s = suite_create("datafix_patch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_blocks_and_notes);
    tcase_add_test(tc, test_limit_makes_incomplete);
    tcase_add_test(tc, test_interior_and_cover);
    suite_add_tcase(s, tc);
    return s;
}
