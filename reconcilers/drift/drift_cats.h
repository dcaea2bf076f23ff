/*
 * drift_cats.h — the category counts of one text column, for the
 * Jensen–Shannon distance of categorical features: each distinct text once
 * (an owned copy), in the order it first appeared, with its count.
 * Memory grows with the number of distinct texts, not with the rows.
 * One thread at a time.
 */
#ifndef SH_DRIFT_CATS_H
#define SH_DRIFT_CATS_H

#include <stddef.h>
#include <stdint.h>

struct drift_cats {
    char **keys;     /* by category number, NUL-terminated copies */
    size_t *lens;
    double *counts;  /* by category number */
    size_t n, ncap;  /* categories */
    uint32_t *slots; /* hash slots: category number + 1, 0 empty */
    uint64_t *hashes;
    size_t cap;      /* slots, a power of two */
    size_t total;    /* values counted */
};

/* Counts one value s[0..len) (w times). 0 or SH_ENOMEM (nothing counted then). */
int drift_cats_add(struct drift_cats *c, const char *s, size_t len, double w);

/* The category number of s, or −1 when absent. */
long drift_cats_find(const struct drift_cats *c, const char *s, size_t len);

void drift_cats_free(struct drift_cats *c);

#endif
