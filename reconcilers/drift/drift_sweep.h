/*
 * drift_sweep.h — the statistics of one numeric feature (drift_stats.h's
 * definitions, bit for bit the same results) from the two columns' spilled
 * values (drift_spill.h), in at most `mem` bytes whatever their size.
 *
 * When both columns fit, they are read, sorted (LSD radix on the
 * order-preserving keys) and walked once. Otherwise the key range is cut
 * into ranges that fit (a histogram of the keys), each range's values are
 * written once to a temporary file of parts (unnamed, like the spill) and
 * the ranges are handled in ascending order, each read and sorted in turn
 * (a range still too big is cut again, reading its part once per piece; a
 * range of one value is never stored, only counted): KS is a maximum and
 * Wasserstein, the mean and the PSI bin counts are sums whose terms come in
 * the same order either way, so the results do not depend on the cut. A
 * second sweep over the ranges gives the standard deviation and the bin
 * counts (they need the mean and the reference's deciles).
 * Any thread; the spills are only read.
 */
#ifndef SH_DRIFT_SWEEP_H
#define SH_DRIFT_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drift/drift_spill.h"

/* One side: column col of spill, n values (n ≥ 1) within [min, max].
 * decimal: a hint that every value is a decimal with at most frac (≤ 22)
 * digits after the point; when both sides say so, the values are sorted on
 * their decimal keys (value × 10^frac as an integer, each checked to give
 * the value back; fewer radix passes), else — or when one fails the check —
 * on the doubles' bits. The results are the same bit for bit either way. */
struct drift_sweep_side {
    const struct drift_spill *spill;
    size_t col, n;
    double min, max;
    bool decimal;
    int frac;
};

struct drift_sweep_result {
    double psi, ks, wasserstein, mean, sd, js;
    size_t ranges; /* how many ranges the values were cut into (1: all at once) */
};

/* The big buffer of a thread's sweeps, kept from one feature to the next
 * (mapping fresh memory for each costs a page fault per 4 KiB). Zeroed to
 * start; drift_sweep grows it within its mem; drift_sweep_buf_free at the end. */
struct drift_sweep_buf {
    uint64_t *p;
    size_t cap; /* keys */
};

void drift_sweep_buf_free(struct drift_sweep_buf *b);

/* tmp_dir: where the parts' file goes (NULL: $TMPDIR, else /tmp). Returns 0
 * with *out, or SH_ENOMEM / SH_EIO (a temporary file could not be
 * created, written or read). */
int drift_sweep(const struct drift_sweep_side *ref, const struct drift_sweep_side *cur, size_t mem,
                const char *tmp_dir, struct drift_sweep_buf *buf, struct drift_sweep_result *out);

#endif
