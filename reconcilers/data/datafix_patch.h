/*
 * datafix_patch.h — the cells the write pass may change, noted by pass 1 of
 * the two-thread fix (datafix_par.c), so that the write pass copies the
 * file and rewrites those cells without splitting a line.
 *
 * Pass 1 notes every missing cell, and every number outside the column's
 * sure interior: the numbers that lie within the IQR bounds whatever the
 * quartiles turn out to be, as long as each quartile lies in the range
 * the sample put it in (patch_interior). After pass 1 the bounds are
 * known; patch_complete and patch_covers then say whether every number
 * outside them was noted (the quartiles were in their ranges; or else the
 * column's min and max are within the bounds, which the caller tells). When it is not, or the notes outgrew their
 * memory, the write pass reads every cell as before.
 *
 * A note is a block of pass 1 (blockscan.h: the same file cuts into the
 * same blocks) and a cell's place in it. Not for use outside
 * reconcilers/data/datafix*.c.
 */
#ifndef SH_DATAFIX_PATCH_H
#define SH_DATAFIX_PATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/blockscan.h"

struct patch {
    uint32_t off; /* the cell's first byte, in its block */
    uint16_t len;
    uint16_t col;
};

/* One worker's notes (a cache line of its own: the workers write theirs). */
struct patch_vec {
    _Alignas(64) struct patch *p;
    size_t n, cap;
    size_t limit;  /* notes it may hold */
    bool full;     /* it outgrew limit: the notes are no good */
};

struct patch_block {
    uint64_t off;
    size_t len;
    size_t first, n; /* its notes in v[worker] */
    unsigned worker;
    bool seen;
};

struct patchset {
    size_t ncols;
    double *lo, *hi;        /* a number in [lo, hi] is inside the bounds (per column) */
    struct patch_block *blk;
    size_t nblk;
    struct patch_vec v[BSCAN_MAX_WORKERS];
};

/* For a file of `size` bytes cut into blocks of `block`, ncols columns,
 * notes of at most `bytes` all told. NULL without memory or when the file
 * cannot be noted (too many columns). A column's interior is every number
 * (none is noted) until patch_interior. */
struct patchset *patch_new(size_t ncols, uint64_t size, size_t block, size_t bytes);
void patch_free(struct patchset *ps);

/* Column c's Q1 will be at most q1hi and its Q3 at least q3lo, the bounds
 * Q1 − m·IQR and Q3 + m·IQR: its numbers outside the interior that leaves
 * (between the highest lower and the lowest upper bound) are noted. */
void patch_interior(struct patchset *ps, size_t c, double q1hi, double q3lo, double m);

/* A note, by worker wid; false when it cannot be kept (the notes are then
 * no good). */
static inline bool patch_add(struct patch_vec *v, size_t off, size_t len, size_t col)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? 2 * v->cap : 4096;
        if (nc > v->limit)
            nc = v->limit;
        struct patch *np = nc > v->cap ? (struct patch *)realloc(v->p, nc * sizeof *np) : NULL;
        if (!np) {
            v->full = true;
            return false;
        }
        v->p = np;
        v->cap = nc;
    }
    if (off > UINT32_MAX || len > UINT16_MAX) {
        v->full = true;
        return false;
    }
    v->p[v->n++] = (struct patch){(uint32_t)off, (uint16_t)len, (uint16_t)col};
    return true;
}

/* Block idx of pass 1 ([off, off+len)) holds worker wid's notes from `first` on. */
void patch_block_done(struct patchset *ps, unsigned wid, uint64_t idx, uint64_t off, size_t len, size_t first);

/* After pass 1: every note was kept. */
bool patch_complete(const struct patchset *ps);
/* After pass 1: column c's numbers outside [lower, upper] were all noted. */
bool patch_covers(const struct patchset *ps, size_t c, double lower, double upper);

/* The notes of block idx (*p, *n), which must be [off, off+len) as in pass
 * 1; false when it is not (the file changed). */
bool patch_of(const struct patchset *ps, uint64_t idx, uint64_t off, size_t len, const struct patch **p,
              size_t *n);

#endif
