/*
 * check_rankselect.c — the multi-pass radix select (data/rankselect.c):
 * every rank of random columns (spread values, heavy ties, ±0, negatives,
 * a handful of distinct values, wide magnitudes) equals the sorted array's,
 * whichever first-histogram width, within its pass bound.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/rankselect.h"

Suite *rankselect_suite(void);

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int cmp_key(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (x < y)
        return -1;
    if (x > y)
        return 1;
    return signbit(y) - signbit(x); /* −0 before +0 */
}

static double gen(int kind, size_t i)
{
    switch (kind) {
    case 0: return (double)(rnd() % 1000000) / 100.0 - 5000.0;
    case 1: return (double)(rnd() % 7);             /* heavy ties */
    case 2: return (rnd() % 2) ? 0.0 : -0.0;        /* signed zeros */
    case 3: return ldexp((double)(rnd() % 1000), (int)(rnd() % 200) - 100) * ((rnd() & 1) ? 1 : -1);
    case 4: return i % 3000 == 0 ? 1e300 : 1.0 + (double)(rnd() % 100000) * 1e-12; /* one bucket */
    default: return (double)i;
    }
}

static void check_kind(int kind, size_t n, unsigned bits)
{
    double *v = malloc(n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++)
        v[i] = gen(kind, i);
    struct rsel *r = rsel_new(bits);
    ck_assert_ptr_nonnull(r);
    for (size_t i = 0; i < n; i++)
        rsel_count(r, v[i]);
    ck_assert_uint_eq(rsel_n(r), n);
    size_t ranks[] = {0, n / 4, (n - 1) / 2, n / 2, 3 * (n - 1) / 4, n - 1, n / 3, 17 % n};
    size_t nr = sizeof ranks / sizeof ranks[0];
    for (size_t i = 0; i < nr; i++)
        ck_assert_int_eq(rsel_want(r, ranks[i]), 0);
    int passes = 0;
    while (rsel_pending(r)) {
        ck_assert_int_le(++passes, 5);
        ck_assert_int_eq(rsel_begin_pass(r), 0);
        for (size_t i = 0; i < n; i++)
            rsel_feed(r, v[i]);
        rsel_end_pass(r);
    }
    qsort(v, n, sizeof *v, cmp_key);
    for (size_t i = 0; i < nr; i++) {
        double got = rsel_value(r, ranks[i]);
        ck_assert_msg(memcmp(&got, &v[ranks[i]], sizeof got) == 0,
                      "kind %d n %zu bits %u rank %zu: %.17g, want %.17g", kind, n, bits, ranks[i], got,
                      v[ranks[i]]);
    }
    rsel_free(r);
    free(v);
}

START_TEST(test_every_rank_exact)
{
    static const size_t sizes[] = {1, 2, 3, 10, 1000, 200000};
    static const unsigned widths[] = {16, 12, 8};
    for (int kind = 0; kind < 6; kind++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (size_t w = 0; w < 3; w++)
                check_kind(kind, sizes[s], widths[w]);
}
END_TEST

START_TEST(test_ties_resolve_in_one_pass)
{
    struct rsel *r = rsel_new(16);
    for (int i = 0; i < 100000; i++)
        rsel_count(r, (double)(i % 5));
    ck_assert_int_eq(rsel_want(r, 50000), 0);
    ck_assert(rsel_pending(r));
    ck_assert_int_eq(rsel_begin_pass(r), 0);
    for (int i = 0; i < 100000; i++)
        rsel_feed(r, (double)(i % 5));
    rsel_end_pass(r);
    ck_assert(!rsel_pending(r));
    ck_assert(rsel_value(r, 50000) == 2.0);
    ck_assert(isnan(rsel_value(r, 3)));
    rsel_free(r);
}
END_TEST

Suite *rankselect_suite(void)
{
    Suite *s = suite_create("rankselect");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_every_rank_exact);
    tcase_add_test(tc, test_ties_resolve_in_one_pass);
    suite_add_tcase(s, tc);
    return s;
}
