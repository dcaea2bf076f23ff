/*
 * rankselect.h — exact order statistics of a stream of doubles read several
 * times (a column of a file too big to hold), in memory independent of the
 * number of values: a radix select over the order-preserving 64-bit key of
 * each value's IEEE-754 bits.
 *
 *   pass 1   rsel_count every value: a histogram of the top `first_bits`
 *            bits of the key (16 bits: 256 KiB);
 *   then     rsel_want the ranks wanted (0-based, < rsel_n), and while
 *            rsel_pending: rsel_begin_pass, rsel_feed every value again (in
 *            any order), rsel_end_pass. Each pass, the values of each bucket
 *            holding a wanted rank are gathered as distinct (value, count)
 *            pairs up to RSEL_GATHER, and past that counted by their next
 *            12 key bits (the pairs so far added in); a bucket of at most
 *            that many distinct values resolves its ranks exactly, else the
 *            ranks go down one level.
 *            Ties cost nothing (one pair); the worst case is 5 passes
 *            (16 + 4·12 bits); housing-like columns take one.
 *   rsel_value the value of a resolved rank.
 *
 * Order: that of the keys, i.e. of the values with −0 before +0 (as the
 * in-memory selection of stats.c, whose buckets use the same keys). NaN must
 * not be fed. Memory: the first histogram, and per distinct bucket being
 * refined 16 KiB + RSEL_GATHER pairs (or more from a budget,
 * rsel_set_budget), for one pass. One thread per rsel.
 *
 * Guessed windows: before pass 1, rsel_guess(lo, hi) names a range of
 * values (e.g. the values 1% of the rows either side of a quartile of the
 * first rows), and pass 1 keeps every value in it (rankwindow.h), from the
 * budget; rsel_end_count after pass 1. A wanted rank that falls in a window
 * is then known without a pass of its own: a good guess saves a whole pass
 * over the data, a bad one costs nothing but a few compares a value.
 */
#ifndef SH_RANKSELECT_H
#define SH_RANKSELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RSEL_GATHER 768

struct rsel;

/* first_bits: 8..16. NULL on ENOMEM. */
struct rsel *rsel_new(unsigned first_bits);
void rsel_free(struct rsel *r);

/* Bytes the gathered pairs and windows of several rsels may grow by,
 * together (the threads that share a budget take from it atomically). With
 * a budget a probe gathers as many distinct values as the budget lets it,
 * not RSEL_GATHER: more ranks are resolved in a pass. Which probes get the
 * memory changes only how many passes it takes, never a value. */
struct rsel_budget {
    _Atomic size_t left;
};
/* n bytes from b, or false when fewer are left; and back. */
bool rsel_budget_take(struct rsel_budget *b, size_t n);
void rsel_budget_give(struct rsel_budget *b, size_t n);
void rsel_set_budget(struct rsel *r, struct rsel_budget *b);

/* Before pass 1 (after rsel_set_budget): also keep every value in lo..hi
 * (at most RWIN_MAX windows, overlapping ones joined; more are ignored).
 * 0 or SH_ENOMEM. */
int rsel_guess(struct rsel *r, double lo, double hi);
/* After pass 1 (and rsel_merge_counts), before rsel_want. */
void rsel_end_count(struct rsel *r);

/* After rsel_end_count: the number of values < v, when pass 1 tells it
 * exactly (v lies in a window kept whole; v not ±0). False otherwise: a
 * pass must count them. */
bool rsel_count_below(const struct rsel *r, double v, size_t *ret);

/* Pass 1: one value; n values. */
void rsel_count(struct rsel *r, double v);
void rsel_count_n(struct rsel *r, const double *v, size_t n);
size_t rsel_n(const struct rsel *r);

/* A rank wanted (< rsel_n); after pass 1, any time. 0 or SH_ENOMEM. */
int rsel_want(struct rsel *r, size_t rank);
/* True while a wanted rank is not known. */
bool rsel_pending(const struct rsel *r);
/* A refinement pass: begin, feed every value, end. 0 or SH_ENOMEM. */
int rsel_begin_pass(struct rsel *r);
void rsel_feed(struct rsel *r, double v);
void rsel_end_pass(struct rsel *r);
/*
 * Two threads on one stream (datafix_par.c): each counts or feeds its part
 * into its own rsel, and the parts are added up after. rsel_merge_counts
 * adds src's pass-1 histogram and windows to dst (same first_bits, the
 * same guesses); rsel_begin_pass_as
 * begins a pass on r probing the buckets of `like`'s pass (r has no wanted
 * ranks of its own); rsel_merge_pass adds src's pass to dst's (begun alike)
 * and ends src's. The result is that of one rsel fed every value. 0 or
 * SH_ENOMEM / SH_EINVAL (not alike).
 */
int rsel_merge_counts(struct rsel *dst, struct rsel *src);
int rsel_begin_pass_as(struct rsel *r, const struct rsel *like);
int rsel_merge_pass(struct rsel *dst, struct rsel *src);

/* v[0..n) (no NaN) sorted in the select's order. 0 or SH_ENOMEM. */
int rsel_sort(double *v, size_t n);

/* The value of a wanted, resolved rank (NaN otherwise). */
double rsel_value(const struct rsel *r, size_t rank);

#endif
