/*
 * datafix_stream.h — inside the streaming fix of datafix.c: its state, shared
 * with the passes that run on two threads over a plain file (datafix_par.c).
 * Not for use outside reconcilers/data/datafix*.c.
 */
#ifndef SH_DATAFIX_STREAM_H
#define SH_DATAFIX_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "data/blockscan.h"
#include "data/datafix.h"
#include "data/missing.h"
#include "data/rankselect.h"

struct csv_reader;
struct atomic_file;
struct col;
struct modecount;
struct patchset;

struct fixer {
    const char *path;
    const struct datafix_options *o;
    struct datafix_report *rep;
    struct missing_set ms;
    struct csv_reader *rd;
    size_t ncols, nrows, cap;
    struct col *cols;
    unsigned char *flag;
    char **ret_err;
    uint64_t size;
    char *real; /* the file's resolved name, while rewriting */
};

struct scol {
    bool numeric, seen_number, recount;
    size_t n, miss;
    double s, c, mn, mx;
    double dist[DATAFIX_MIN_DISTINCT];
    size_t ndist;
    struct rsel *rs;
    struct modecount *mc;
    bool need_p;      /* mean fill: the values below it are being counted */
    bool active;      /* fed in this rank pass */
    size_t p, below;  /* where the fill goes among the sorted values */
    char fill_txt[40], lo_txt[40], hi_txt[40];
    char *fill_quoted;
};

enum scan_mode { SCAN_RANKS, SCAN_COUNT, SCAN_WRITE };

struct sfix {
    struct fixer *f;
    struct scol *sc;
    struct stat st0;
    uint64_t body;      /* offset of the first data line */
    bool par;           /* the file is plain: the later passes run on two threads */
    unsigned nworkers;
    struct rsel **rs1;  /* worker 1's rsel of each column (the later passes) */
    struct rsel_budget bud[BSCAN_MAX_WORKERS]; /* each worker's rsels' pairs */
    struct patchset *ps; /* pass 1's notes of the cells the write pass may change, or NULL */
};

/* Pass 1 on two threads when the file is plain (no quote, NUL or lone CR),
 * the column types are those of its first lines and every later cell fits
 * them: fills s->sc (set up by the caller, the header read) as the one-thread
 * pass would, sets s->par. Returns 0, PAR_FALLBACK (s->sc as it was given:
 * read the file with the one-thread pass) or an error. */
#define PAR_FALLBACK 1
int par_analyse(struct sfix *s, unsigned first_bits);

/* s_scan on two threads, for a file pass 1 found plain (s->par). */
int par_scan(struct sfix *s, enum scan_mode mode, struct atomic_file *w);

/* Pass 1 on one non-missing numeric cell, but for its histogram (datafix.c). */
void s_number_stats(struct scol *c, double x);
/* The same for n cells in row order. */
void s_number_stats_n(struct scol *c, const double *v, size_t n);

#endif
