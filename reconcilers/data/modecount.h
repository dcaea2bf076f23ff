/*
 * modecount.h — the mode (most frequent value; ties → the value seen first)
 * of a column: a counter of texts (open addressing, values in first-seen
 * order) and the same for doubles. One thread per counter.
 */
#ifndef SH_DATA_MODECOUNT_H
#define SH_DATA_MODECOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct modecount;

struct modecount *modecount_new(void);
void modecount_free(struct modecount *m);

/* Counts one text. 0 or SH_ENOMEM. */
int modecount_add(struct modecount *m, const char *s, size_t len);

/*
 * Counting in parts (datafix_par.c: two threads, each its own counter):
 * modecount_add_at counts a text first seen at `pos` (any increasing
 * numbering of the cells, e.g. block << 32 | row), and modecount_merge adds
 * src's counts to dst. The mode's ties then go to the smallest pos, i.e.
 * the value seen first, as with one counter fed in order. Use either
 * modecount_add or modecount_add_at on a counter, not both. 0 or SH_ENOMEM.
 */
int modecount_add_at(struct modecount *m, const char *s, size_t len, uint64_t pos);
int modecount_merge(struct modecount *dst, const struct modecount *src);

/* The mode: true with *ret (borrowed, NUL-terminated), its length and its
 * count; false when nothing was counted. */
bool modecount_mode(const struct modecount *m, const char **ret, size_t *ret_len, size_t *ret_count);

/* Number of distinct values counted. */
size_t modecount_distinct(const struct modecount *m);

/* The mode of the non-NaN values of v (ties → first seen; −0 counts as 0).
 * Returns 0 with *ret, SH_ENOTFOUND when there are none, SH_ENOMEM. */
int mode_of_doubles(const double *v, size_t n, double *ret);

#endif
