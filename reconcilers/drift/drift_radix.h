/*
 * drift_radix.h — sorting the order-preserving 64-bit keys of doubles
 * (drift_stats.h drift_key) for the drift sweep: an LSD radix sort over
 * only the bits where the keys differ (keys relative to their range's low
 * end, and many data sets' low mantissa bits are all zero), in at most
 * DRIFT_RADIX_PASSES digits of up to DRIFT_RADIX_BITS bits (13: four passes
 * for a 52-bit mantissa; 1 M keys in about 8 ms here); keys that differ in
 * at most DRIFT_RADIX_FILL_BITS bits (decimal keys of few distinct values)
 * are counted per value and written again in order. Stateless; any thread.
 */
#ifndef SH_DRIFT_RADIX_H
#define SH_DRIFT_RADIX_H

#include <stddef.h>
#include <stdint.h>

#define DRIFT_RADIX_BITS 13
#define DRIFT_RADIX_SIZE (1u << DRIFT_RADIX_BITS)
#define DRIFT_RADIX_PASSES ((64 + DRIFT_RADIX_BITS - 1) / DRIFT_RADIX_BITS)
#define DRIFT_RADIX_FILL_BITS 16 /* keys differing in this few bits: counted, not moved */

/* The counts of every digit (caller-owned, reused from sort to sort). */
struct drift_radix_hist {
    union { /* no larger than the digits' counts */
        size_t count[DRIFT_RADIX_PASSES][DRIFT_RADIX_SIZE];
        uint32_t fill[(size_t)1 << DRIFT_RADIX_FILL_BITS];
    };
};

/* Sorts k[0..n) ascending; t: scratch of n keys. */
void drift_radix_sort(uint64_t *k, uint64_t *t, size_t n, struct drift_radix_hist *hist);

/* The same, told the bits where the keys differ (OR of all & ~AND of all:
 * exactly those, else the order is wrong), e.g. gathered while the keys
 * were made: one pass less over them. */
void drift_radix_sort_diff(uint64_t *k, uint64_t *t, size_t n, struct drift_radix_hist *hist,
                           uint64_t diff);

#endif
