/*
 * check_rankselect.c — the multi-pass radix select (data/rankselect.c):
 * every rank of random columns (spread values, heavy ties, ±0, negatives,
 * a handful of distinct values, wide magnitudes) equals the sorted array's,
 * whichever first-histogram width, within its pass bound; and the same
 * ranks when the stream is counted and fed in two parts merged after (the
 * two threads of fix-data), with guessed windows kept in pass 1 and the
 * keys and pairs grown from a budget, small or large (a small one sorts the
 * windows' keys into pairs as they come, or gives the windows up): a good
 * guess resolves in no pass, a bad one or a tight budget only costs passes;
 * the count of values below a value in a window, when pass 1 gives it, is
 * the true count. One kind of values lies in one bucket a few ulps apart:
 * the gathered pairs are put in order by every byte of their keys.
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
    case 6: return 1.0 + (double)(rnd() % 100000) * 0x1p-52; /* one bucket, a few ulps apart */
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
    for (int kind = 0; kind < 7; kind++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (size_t w = 0; w < 3; w++)
                check_kind(kind, sizes[s], widths[w]);
}
END_TEST

/* Counted and fed in two interleaved parts, merged; guesses and a budget. */
static int check_parts(int kind, size_t n, const double (*guesses)[2], size_t ng, size_t budget)
{
    double *v = malloc(n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++)
        v[i] = gen(kind, i);
    struct rsel_budget b0 = {budget}, b1 = {budget};
    struct rsel *r = rsel_new(16), *r1 = rsel_new(16);
    ck_assert(r && r1);
    rsel_set_budget(r, &b0);
    rsel_set_budget(r1, &b1);
    for (size_t g = 0; g < ng; g++) {
        ck_assert_int_eq(rsel_guess(r, guesses[g][0], guesses[g][1]), 0);
        ck_assert_int_eq(rsel_guess(r1, guesses[g][0], guesses[g][1]), 0);
    }
    for (size_t i = 0; i < n; i++) /* blocks of 1000 values each way */
        rsel_count((i / 1000) % 2 ? r1 : r, v[i]);
    ck_assert_int_eq(rsel_merge_counts(r, r1), 0);
    rsel_end_count(r);
    ck_assert_uint_eq(rsel_n(r), n);
    /* the values below some values, when pass 1 can tell: as counted */
    for (size_t g = 0; g < 50; g++) {
        size_t below, want = 0;
        double x = v[rnd() % n];
        if (!rsel_count_below(r, x, &below))
            continue;
        for (size_t i = 0; i < n; i++)
            want += v[i] < x;
        ck_assert_msg(below == want, "kind %d: %zu below %.17g, want %zu", kind, below, x, want);
    }
    size_t ranks[] = {0, n / 4, (n - 1) / 2, n / 2, 3 * (n - 1) / 4, n - 1, n / 3};
    size_t nr = sizeof ranks / sizeof ranks[0];
    for (size_t i = 0; i < nr; i++)
        ck_assert_int_eq(rsel_want(r, ranks[i]), 0);
    int passes = 0;
    while (rsel_pending(r)) {
        ck_assert_int_le(++passes, 5);
        ck_assert_int_eq(rsel_begin_pass(r), 0);
        ck_assert_int_eq(rsel_begin_pass_as(r1, r), 0);
        for (size_t i = n; i-- > 0;) /* any order */
            rsel_feed((i / 1000) % 2 ? r1 : r, v[i]);
        ck_assert_int_eq(rsel_merge_pass(r, r1), 0);
        rsel_end_pass(r);
    }
    qsort(v, n, sizeof *v, cmp_key);
    for (size_t i = 0; i < nr; i++) {
        double got = rsel_value(r, ranks[i]);
        ck_assert_msg(memcmp(&got, &v[ranks[i]], sizeof got) == 0,
                      "kind %d n %zu budget %zu rank %zu: %.17g, want %.17g", kind, n, budget,
                      ranks[i], got, v[ranks[i]]);
    }
    rsel_free(r);
    rsel_free(r1);
    ck_assert_uint_eq(b0.left, budget); /* every table given back */
    ck_assert_uint_eq(b1.left, budget);
    free(v);
    return passes;
}

START_TEST(test_parts_guesses_budget_exact)
{
    static const size_t budgets[] = {0, 4096, 64u << 10, 1u << 20, 16u << 20};
    for (int kind = 0; kind < 7; kind++)
        for (size_t b = 0; b < 5; b++) {
            size_t n = 60000;
            /* the guesses: the true quartiles (a good guess), and nonsense */
            double *v = malloc(n * sizeof *v);
            uint64_t saved = rng_state;
            for (size_t i = 0; i < n; i++)
                v[i] = gen(kind, i);
            rng_state = saved;
            qsort(v, n, sizeof *v, cmp_key);
            /* a good guess: windows about the ranks, one a single value */
            double good[][2] = {{v[n / 4 - 900], v[n / 4 + 900]}, {v[(n - 1) / 2 - 3000], v[n / 2 + 3000]},
                                {v[3 * (n - 1) / 4], v[3 * (n - 1) / 4]}, {v[0], v[10]},
                                {v[n - 20], v[n - 1]}, {v[n / 3 - 5], v[n / 3 + 5]}};
            double bad[][2] = {{-1e200, -1e199}, {1e200, 1e201}, {12345.678, 12345.679}};
            free(v);
            saved = rng_state;
            int p_good = check_parts(kind, n, good, 6, budgets[b]);
            rng_state = saved;
            check_parts(kind, n, bad, 3, budgets[b]);
            rng_state = saved;
            check_parts(kind, n, NULL, 0, budgets[b]);
            /* the true buckets with room to gather them: no pass at all */
            if (budgets[b] >= (16u << 20))
                ck_assert_msg(p_good == 0, "kind %d: %d passes with good guesses", kind, p_good);
            /* few distinct values: a small budget holds them as pairs */
            if (budgets[b] >= (64u << 10) && kind == 1)
                ck_assert_msg(p_good == 0, "kind 1, budget %zu: %d passes", budgets[b], p_good);
        }
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
    tcase_add_test(tc, test_parts_guesses_budget_exact);
    suite_add_tcase(s, tc);
    return s;
}
