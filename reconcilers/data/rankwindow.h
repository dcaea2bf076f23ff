/*
 * rankwindow.h — the guessed windows of a rank select's first pass
 * (rankselect.h): a few ranges of keys whose every key is kept, so that a
 * rank that falls in one is known after that pass, exactly. The keys are the
 * order-preserving 64-bit keys of rankselect.c; this file knows nothing of
 * doubles.
 *
 * Counting costs a few compares a key and no branch on its place: each key
 * is counted by its place among the windows (before the first, in it,
 * between the first and the second...), and a key in a window is appended to
 * a buffer. A full buffer grows from the budget or is sorted into distinct
 * (key, count) pairs; when even the pairs find no room, the windows are
 * given up (rwin_rank and rwin_below say false: the select's passes find the
 * ranks instead). Memory: what the budget gives, given back by rwin_free.
 * One thread per rwin.
 */
#ifndef SH_RANKWINDOW_H
#define SH_RANKWINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RWIN_MAX 8

struct rwin;
struct rsel_budget;

/* bud: what the buffer and pairs may take, or NULL for a fixed allowance
 * (4 MiB). NULL on ENOMEM. */
struct rwin *rwin_new(struct rsel_budget *bud);
void rwin_free(struct rwin *w);

/* Before any key: keep the keys lo..hi (inclusive). Overlapping windows
 * become one; past RWIN_MAX a window is ignored. */
void rwin_add(struct rwin *w, uint64_t lo, uint64_t hi);
bool rwin_empty(const struct rwin *w);

/* n keys counted. */
void rwin_count_n(struct rwin *w, const uint64_t *k, size_t n);

/* src's keys added to dst's (the same windows, else SH_EINVAL); src is left
 * empty. 0 or SH_EINVAL. */
int rwin_merge(struct rwin *dst, struct rwin *src);
/* After the last key (and merge): the pairs in order. */
void rwin_end(struct rwin *w);

/* After rwin_end: the key of rank `rank` (0-based, among every key counted)
 * when it lies in a window; false otherwise. */
bool rwin_rank(const struct rwin *w, size_t rank, uint64_t *key);
/* After rwin_end: the number of keys < k when k lies in a window. */
bool rwin_below(const struct rwin *w, uint64_t k, size_t *below);

/* a[0..n) in order (tmp: room for n): a radix sort by each byte in which
 * they differ. */
void rwin_sort_keys(uint64_t *a, uint64_t *tmp, size_t n);

#endif
