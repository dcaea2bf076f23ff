/*
 * blockscan.h — one pass over a byte range of a file of lines, on several
 * threads: the range is cut into blocks of whole lines (each ends after a
 * '\n', or at the range's end), read with pread into each worker's own
 * buffer; a worker takes the next block, runs `work` on it (blocks run in
 * any order, two at once), then `ordered` for it in block order, one block
 * at a time (what must see the blocks in file order: sums in row order,
 * the output written in order). Memory: a block buffer a worker (longer
 * lines grow it, up to BSCAN_MAX_LINE).
 *
 * The caller's thread is worker 0; `ordered` runs on whichever worker holds
 * the block, so what must stay on the caller's thread (a progress callback)
 * checks worker == 0. Between two `ordered` calls the mutex hand-over orders
 * their memory: they may share state without locks of their own.
 *
 * The first failure in block order stops the pass: blocks after it are not
 * `ordered`. Only plain text is meant: a line is what ends at '\n', whatever
 * quotes it holds (the caller checks).
 */
#ifndef SH_DATA_BLOCKSCAN_H
#define SH_DATA_BLOCKSCAN_H

#include <stddef.h>
#include <stdint.h>

#define BSCAN_MAX_WORKERS 2
#define BSCAN_MAX_LINE (64u << 20)

struct bscan_ops {
    /* buf[0..len) is whole lines, from file offset off; buf[len..len+16) is
     * readable padding. 0, or an error that stops the pass. */
    int (*work)(void *ctx, unsigned worker, uint64_t idx, const char *buf, size_t len, uint64_t off);
    /* In block order, after work succeeded; end: the offset past the block. */
    int (*ordered)(void *ctx, unsigned worker, uint64_t idx, uint64_t end);
};

/* Workers to use: min(BSCAN_MAX_WORKERS, online CPUs), at least 1. */
unsigned bscan_workers(void);

/*
 * Runs the pass over [start, end) of fd with nworkers threads (the caller's
 * included; fewer when a thread cannot start). Returns 0, the first
 * failure's code in block order, SH_EIO (read error; errno set),
 * SH_ETOOBIG (a line longer than BSCAN_MAX_LINE) or SH_ENOMEM.
 */
int bscan_run(int fd, uint64_t start, uint64_t end, size_t block, unsigned nworkers,
              const struct bscan_ops *ops, void *ctx);

#endif
