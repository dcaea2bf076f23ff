/*
 * check_rankwindow.c — the guessed windows of a rank select's first pass
 * (data/rankwindow.c), on keys directly: every rank inside a window and the
 * count below every key of a window equal the sorted array's, whether the
 * keys stay as they came (a big budget: buckets, dense ones selected by
 * radix), are sorted into pairs as the buffer fills (a small budget), or
 * are given up (no budget: nothing is claimed); two parts merged alike in
 * every mix; overlapping windows joined; every byte of the budget given
 * back.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/rankselect.h"
#include "data/rankwindow.h"

Suite *rankwindow_suite(void);

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Keys of a kind: spread, a dense run of neighbours (many keys a bucket),
 * heavy ties. */
static uint64_t gen(int kind)
{
    switch (kind) {
    case 0: return rnd() >> 1;
    case 1: return (rnd() % 10 < 9) ? (UINT64_C(1) << 40) + rnd() % 5000 : rnd() >> 1;
    default: return (UINT64_C(7) << 50) + rnd() % 6;
    }
}

/* n keys counted into two parts (blocks of 500 each way), budget each. */
static void check_mix(int kind, size_t n, size_t budget0, size_t budget1)
{
    uint64_t *k = malloc(n * sizeof *k), *s = malloc(n * sizeof *s);
    ck_assert(k && s);
    for (size_t i = 0; i < n; i++)
        k[i] = gen(kind);
    memcpy(s, k, n * sizeof *k);
    qsort(s, n, sizeof *s, cmp_u64);
    struct rsel_budget b0 = {budget0}, b1 = {budget1};
    struct rwin *w = rwin_new(&b0), *w1 = rwin_new(&b1);
    ck_assert(w && w1);
    /* windows about a quarter, the middle (two overlapping: joined) and the top */
    uint64_t win[][2] = {{s[n / 4 - n / 20], s[n / 4 + n / 20]},
                         {s[n / 2 - n / 30], s[n / 2]},
                         {s[n / 2 - n / 60], s[n / 2 + n / 30]},
                         {s[n - n / 50], s[n - 1]}};
    for (size_t i = 0; i < 4; i++) {
        rwin_add(w, win[i][0], win[i][1]);
        rwin_add(w1, win[i][0], win[i][1]);
    }
    for (size_t i = 0; i < n; i += 500) {
        size_t m = n - i < 500 ? n - i : 500;
        rwin_count_n((i / 500) % 2 ? w1 : w, k + i, m);
    }
    ck_assert_int_eq(rwin_merge(w, w1), 0);
    rwin_end(w);
    size_t claimed = 0;
    for (size_t r = 0; r < n; r++) {
        uint64_t got;
        bool in = false;
        for (size_t i = 0; i < 4; i++)
            in |= s[r] >= win[i][0] && s[r] <= win[i][1];
        if (!rwin_rank(w, r, &got)) {
            /* a rank of a window is known with room for the keys, or for
             * their pairs (few distinct keys) */
            bool room = (budget0 >= (16u << 20) && budget1 >= (16u << 20)) || (kind == 2 && budget0 && budget1);
            ck_assert_msg(!room || !in, "kind %d budgets %zu/%zu: rank %zu in a window unknown", kind, budget0,
                          budget1, r);
            continue;
        }
        claimed++;
        ck_assert_msg(got == s[r], "kind %d budgets %zu/%zu: rank %zu is %llu, want %llu", kind, budget0,
                      budget1, r, (unsigned long long)got, (unsigned long long)s[r]);
    }
    if (budget0 == 0 || budget1 == 0)
        ck_assert_uint_eq(claimed, 0);
    else if (budget0 >= (16u << 20) && budget1 >= (16u << 20))
        ck_assert_uint_gt(claimed, n / 10);
    for (size_t t = 0; t < 200; t++) {
        uint64_t x = s[rnd() % n] + rnd() % 3, below;
        size_t got, want = 0;
        if (!rwin_below(w, x, &got))
            continue;
        for (size_t i = 0; i < n; i++)
            want += s[i] < x;
        below = got;
        ck_assert_msg(below == want, "kind %d: %llu below, want %zu", kind, (unsigned long long)below, want);
    }
    rwin_free(w);
    rwin_free(w1);
    ck_assert_uint_eq(b0.left, budget0);
    ck_assert_uint_eq(b1.left, budget1);
    free(k);
    free(s);
}

START_TEST(test_ranks_exact_every_budget)
{
    static const size_t budgets[] = {0, 48u << 10, 16u << 20};
    for (int kind = 0; kind < 3; kind++)
        for (size_t a = 0; a < 3; a++)
            for (size_t b = 0; b < 3; b++)
                check_mix(kind, 40000, budgets[a], budgets[b]);
}
END_TEST

START_TEST(test_windows_joined_and_capped)
{
    struct rwin *w = rwin_new(NULL);
    ck_assert(rwin_empty(w));
    for (uint64_t i = 0; i < 20; i++) /* 20 apart windows: past RWIN_MAX are ignored */
        rwin_add(w, 100 * i, 100 * i + 10);
    rwin_add(w, 5, 250); /* joins the first three */
    uint64_t keys[] = {0, 5, 10, 11, 150, 250, 251, 700, 710, 711, 5000};
    rwin_count_n(w, keys, sizeof keys / sizeof keys[0]);
    rwin_end(w);
    uint64_t got;
    ck_assert(rwin_rank(w, 4, &got) && got == 150);  /* in the joined window */
    ck_assert(rwin_rank(w, 8, &got) && got == 710);  /* the window of 700 */
    ck_assert(!rwin_rank(w, 9, &got));                /* 711: in none */
    ck_assert(!rwin_rank(w, 10, &got));               /* 5000: past the eighth window */
    size_t below;
    ck_assert(rwin_below(w, 250, &below) && below == 5);
    ck_assert(!rwin_below(w, 550, &below));
    rwin_free(w);
}
END_TEST

START_TEST(test_sort_keys)
{
    size_t n = 5000;
    uint64_t *a = malloc(n * sizeof *a), *t = malloc(n * sizeof *t), *s = malloc(n * sizeof *s);
    ck_assert(a && t && s);
    for (size_t i = 0; i < n; i++)
        a[i] = s[i] = i % 3 ? rnd() : (UINT64_C(0xABCD) << 48) + (rnd() & 0xFF);
    rwin_sort_keys(a, t, n);
    qsort(s, n, sizeof *s, cmp_u64);
    ck_assert_mem_eq(a, s, n * sizeof *a);
    free(a);
    free(t);
    free(s);
}
END_TEST

Suite *rankwindow_suite(void)
{
    Suite *s = suite_create("rankwindow");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ranks_exact_every_budget);
    tcase_add_test(tc, test_windows_joined_and_capped);
    tcase_add_test(tc, test_sort_keys);
    suite_add_tcase(s, tc);
    return s;
}
