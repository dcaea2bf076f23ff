/* drift_radix.c — LSD radix sort of 64-bit keys over the bits where they differ (drift_radix.h). */
#include "drift/drift_radix.h"

#include <string.h>

/* LSD radix sort of k[0..n); t: scratch of n. Only the bits where the keys
 * differ are sorted on (keys relative to their range's low end, and many
 * data sets' low mantissa bits are all zero), in digits of at most
 * DRIFT_RADIX_BITS; up to DRIFT_RADIX_FILL_BITS of them, a counting sort. */
void drift_radix_sort(uint64_t *k, uint64_t *t, size_t n, struct drift_radix_hist *hist)
{
    if (n < 64) {
        for (size_t i = 1; i < n; i++) {
            uint64_t x = k[i];
            size_t j = i;
            for (; j > 0 && k[j - 1] > x; j--)
                k[j] = k[j - 1];
            k[j] = x;
        }
        return;
    }
    uint64_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= k[i] ^ k[0];
    drift_radix_sort_diff(k, t, n, hist, diff);
}

void drift_radix_sort_diff(uint64_t *k, uint64_t *t, size_t n, struct drift_radix_hist *hist,
                           uint64_t diff)
{
    if (n < 64) {
        drift_radix_sort(k, t, n, hist);
        return;
    }
    if (!diff)
        return;
    unsigned low = (unsigned)__builtin_ctzll(diff), high = 64 - (unsigned)__builtin_clzll(diff);
    if (high - low <= DRIFT_RADIX_FILL_BITS && n <= UINT32_MAX) {
        /* few bits: one count per value of them (in the counts' memory), the
         * keys written again from the counts (the other bits are the same in
         * every key): no scatter, no scratch */
        uint32_t *cnt = hist->fill;
        const uint64_t mask = ((uint64_t)1 << (high - low)) - 1;
        memset(cnt, 0, (mask + 1) * sizeof *cnt);
        for (size_t i = 0; i < n; i++)
            cnt[(k[i] >> low) & mask]++;
        const uint64_t rest = k[0] & ~(mask << low);
        size_t i = 0;
        for (uint64_t d = 0; d <= mask; d++) {
            const uint64_t key = rest | (d << low);
            for (uint32_t x = cnt[d]; x > 0; x--)
                k[i++] = key;
        }
        return;
    }
    unsigned passes = (high - low + DRIFT_RADIX_BITS - 1) / DRIFT_RADIX_BITS;
    unsigned width = (high - low + passes - 1) / passes;
    const uint64_t mask = ((uint64_t)1 << width) - 1;
    size_t(*h)[DRIFT_RADIX_SIZE] = hist->count;
    memset(h, 0, passes * sizeof *h);
    if (passes == 2) { /* the common case without the inner loop */
        for (size_t i = 0; i < n; i++) {
            h[0][(k[i] >> low) & mask]++;
            h[1][(k[i] >> (low + width)) & mask]++;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            for (unsigned p = 0; p < passes; p++)
                h[p][(k[i] >> (low + p * width)) & mask]++;
    }
    uint64_t *src = k, *dst = t;
    for (unsigned p = 0; p < passes; p++) {
        unsigned shift = low + p * width;
        size_t *c = h[p];
        if (c[(src[0] >> shift) & mask] == n)
            continue;
        size_t sum = 0;
        for (size_t d = 0; d <= mask; d++) {
            size_t x = c[d];
            c[d] = sum;
            sum += x;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i] >> shift) & mask]++] = src[i];
        uint64_t *sw = src;
        src = dst;
        dst = sw;
    }
    if (src != k)
        memcpy(k, src, n * sizeof *k);
}

