/*
 * drift_spill.h — the numbers of a CSV's columns written once to a
 * temporary file, so that the drift statistics can read one column at a
 * time without holding the file in memory.
 *
 *   file     an unnamed temporary file in `dir` (O_TMPFILE; where that is
 *            not supported, a mkstemp file unlinked at once): it has no
 *            name from the start and disappears when closed, whatever
 *            happens — an error, a crash, a kill.
 *   columns  each column buffers `bufvals` doubles in memory and appends
 *            them as one block when full; a column's blocks are read back
 *            in the order they were written (so in row order).
 *
 * One thread writes; once finished, any number of threads may read
 * (pread, no shared position).
 */
#ifndef SH_DRIFT_SPILL_H
#define SH_DRIFT_SPILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct drift_spill_block {
    uint64_t off; /* byte offset in the file */
    size_t n;     /* values */
    int frac;     /* −1: doubles; else int32 values v × 10^frac (see dec below) */
};

struct drift_spill_col {
    struct drift_spill_block *blocks;
    size_t nblocks, bcap;
    size_t count; /* doubles written (buffered included) */
    double *buf;  /* NULL once dropped or finished */
    size_t buflen;
    bool dropped;
    /* dec: 0, or 1 + frac when the writer vouches that every value put so far
     * is the correctly rounded double of a decimal text with at most frac
     * (≤ 9) digits after its point (exponent applied): a full buffer whose
     * values × 10^frac are below 2^31 is then written as those integers,
     * exactly (half the bytes; (double)k / 10^frac gives each value back). */
    int dec;
};

struct drift_spill {
    int fd;
    uint64_t size;
    size_t ncols, bufvals;
    struct drift_spill_col *cols;
};

/* Opens the file in dir (NULL: $TMPDIR, else /tmp). 0, or SH_EIO / SH_ENOMEM
 * with *ret_err. */
int drift_spill_open(struct drift_spill *s, const char *dir, size_t ncols, size_t bufvals,
                     char **ret_err);

int drift_spill_flush_col(struct drift_spill *s, size_t col);

/* Appends v to column col. 0, or SH_EIO (disk full...) / SH_ENOMEM. */
static inline int drift_spill_put(struct drift_spill *s, size_t col, double v)
{
    struct drift_spill_col *c = &s->cols[col];
    c->buf[c->buflen++] = v;
    c->count++;
    return c->buflen == s->bufvals ? drift_spill_flush_col(s, col) : 0;
}

/* Forgets column col (it turned out to be text); frees its buffer. */
void drift_spill_drop(struct drift_spill *s, size_t col);

/* Writes what is buffered and frees the buffers. 0 or SH_EIO / SH_ENOMEM. */
int drift_spill_finish(struct drift_spill *s);

/* Reads block b of column col into dst (room for blocks[b].n doubles). 0 or SH_EIO. */
int drift_spill_read(const struct drift_spill *s, size_t col, size_t b, double *dst);

/* For a block of integers (blocks[b].frac ≥ 0): reads them into dst (room for
 * blocks[b].n doubles' bytes) as int32s, at ((int32_t *)dst)[n..2n), the
 * front left free. 0 or SH_EIO. */
int drift_spill_read_ints(const struct drift_spill *s, size_t col, size_t b, double *dst);

/* The largest block of column col, in doubles. */
size_t drift_spill_max_block(const struct drift_spill *s, size_t col);

/* Closes (so removes) the file and frees everything; safe on a zeroed struct
 * with fd −1 or 0 columns. */
void drift_spill_close(struct drift_spill *s);

#endif
