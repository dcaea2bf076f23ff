/*
 * datafix_par.c — the streaming fix's passes over a plain file on two
 * threads (datafix_stream.h): blocks of lines (blockscan.h) split at commas
 * eight bytes at a time, each worker with its own counts, histograms and
 * text counters, added up after the pass; what depends on the order of the
 * rows (the running sum and min/max of pass 1, the new file's bytes) is
 * done in block order. Before pass 1, a sample spread over the file gives
 * each column's guessed windows and the interior of its bounds; the write
 * pass goes by pass 1's notes when they cover the bounds (datafix_patch.h).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/errors.h"
#include "data/blockscan.h"
#include "data/csv.h"
#include "data/datafix_guess.h"
#include "data/datafix_patch.h"
#include "data/linesplit.h"
#include "data/datafix_stream.h"
#include "data/modecount.h"
#include "data/numtext.h"
#include "data/rankselect.h"

#define BLOCK (512u << 10)
#define PRESCAN (256u << 10)
/* What the guessed windows' keys and the refined buckets' pairs may grow
 * by, each worker, all columns together (rankselect.h): this, or a fifth of
 * the memory left under a limit (--memory-budget: RLIMIT_DATA); under
 * TWO_WORKERS_MIN left, one worker. */
#define GATHER_BUDGET (12u << 20)
#define TWO_WORKERS_MIN (48u << 20)
/* What pass 1's notes of the cells to change may take (datafix_patch.h):
 * this, or a fifth of the memory left under a limit. */
#define PATCH_BUDGET (16u << 20)

/* One worker's part of a column. */
struct pcol {
    size_t miss, below, outliers, capped;
    struct rsel *rs;        /* worker 0: the column's own */
    struct modecount *mc;   /* text columns, pass 1; worker 0: the column's own */
    double *v;              /* pass 1: the block's values in row order */
    size_t nv, vcap;
};

struct pwork {
    _Alignas(64) struct pcol *pc; /* a cache line of its own: the workers write theirs */
    struct span *fs;        /* the fields of the line at hand */
    unsigned char *act;     /* the write pass: what it does to each (enum act) */
    size_t rows;            /* the block's rows */
    size_t total;           /* rows of every block it did */
    char *out;              /* the write pass: the block's new bytes */
    size_t olen, ocap;
};

struct par {
    struct sfix *s;
    struct fixer *f;
    enum scan_mode mode;
    struct atomic_file *w;
    bool own1;              /* worker 1's rsels are its own (pass 1), not s->rs1 */
    bool *num;              /* the column types (a copy: sc[] is written meanwhile) */
    size_t (*tlen)[4];      /* the write pass: the length of each column's text of an act */
    unsigned char *kind;    /* the count and write passes: what each column's cells need (enum kind) */
    size_t maxrep;          /* the write pass by notes: the longest text a cell becomes */
    unsigned nw;
    struct pwork wk[BSCAN_MAX_WORKERS];
};

static void progress_at(struct fixer *f, uint64_t done)
{
    if (f->o->progress)
        f->o->progress(f->o->progress_ctx, done, 2 * f->size);
}

static void par_free(struct par *p)
{
    for (unsigned i = 0; i < BSCAN_MAX_WORKERS; i++) {
        struct pwork *w = &p->wk[i];
        if (w->pc)
            for (size_t c = 0; c < p->f->ncols; c++) {
                free(w->pc[c].v);
                if (i > 0 && p->own1) {
                    modecount_free(w->pc[c].mc);
                    rsel_free(w->pc[c].rs);
                }
            }
        free(w->pc);
        free(w->fs);
        free(w->act);
        free(w->out);
    }
    free(p->num);
    free(p->tlen);
    free(p->kind);
}

/* n zeroed elements of size bytes on cache lines of their own: the two
 * workers write theirs at every cell, and a line they shared would go back
 * and forth between the cores. */
static void *calloc_lines(size_t n, size_t size)
{
    size_t bytes = (n ? n : 1) * size;
    bytes = (bytes + 63) / 64 * 64;
    void *q = aligned_alloc(64, bytes);
    if (q)
        memset(q, 0, bytes);
    return q;
}

static int par_init(struct par *p, struct sfix *s, enum scan_mode mode)
{
    memset(p, 0, sizeof *p);
    p->s = s;
    p->f = s->f;
    p->mode = mode;
    p->nw = s->nworkers ? s->nworkers : 1;
    if (p->nw > BSCAN_MAX_WORKERS)
        p->nw = BSCAN_MAX_WORKERS;
    if (!(p->num = calloc(p->f->ncols ? p->f->ncols : 1, sizeof *p->num)))
        return SH_ENOMEM;
    for (size_t c = 0; c < p->f->ncols; c++)
        p->num[c] = s->sc[c].numeric;
    for (unsigned i = 0; i < p->nw; i++) {
        p->wk[i].pc = calloc_lines(p->f->ncols, sizeof *p->wk[i].pc);
        p->wk[i].fs = calloc_lines(p->f->ncols, sizeof *p->wk[i].fs);
        p->wk[i].act = calloc_lines(p->f->ncols, sizeof *p->wk[i].act);
        if (!p->wk[i].pc || !p->wk[i].fs || !p->wk[i].act)
            return SH_ENOMEM;
    }
    return 0;
}

/* ---- pass 1 ---- */

/* The bytes of data memory left under RLIMIT_DATA (UINT64_MAX: no limit). */
static uint64_t data_headroom(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_DATA, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return UINT64_MAX;
    uint64_t used = 0;
    FILE *fp = fopen("/proc/self/status", "re");
    char line[256];
    while (fp && fgets(line, sizeof line, fp))
        if (strncmp(line, "VmData:", 7) == 0)
            used = strtoull(line + 7, NULL, 10) * 1024;
    if (fp)
        fclose(fp);
    return (uint64_t)rl.rlim_cur > used ? (uint64_t)rl.rlim_cur - used : 0;
}

/* The column types from the first lines: a column whose first non-missing
 * cell is not a number is text from there on (as in the one-thread pass);
 * the others stay numeric, and a later cell that is not a number sends the
 * file back to the one-thread pass. 0 or PAR_FALLBACK. */
static int prescan(struct par *p)
{
    struct fixer *f = p->f;
    uint64_t left = f->size > p->s->body ? f->size - p->s->body : 0;
    size_t n = left < PRESCAN ? (size_t)left : PRESCAN;
    char *b = malloc(n + 16);
    if (!b)
        return PAR_FALLBACK;
    ssize_t got = pread(csv_reader_fd(f->rd), b, n, (off_t)p->s->body);
    if (got < 0) {
        free(b);
        return PAR_FALLBACK;
    }
    size_t len = (size_t)got;
    if (len < left) { /* whole lines only */
        const char *nl = memrchr(b, '\n', len);
        len = nl ? (size_t)(nl - b) + 1 : 0;
    }
    memset(b + len, 0, 16);
    int k = plain_block(b, len) ? 0 : PAR_FALLBACK;
    bool *known = calloc(f->ncols, sizeof *known);
    if (!known)
        k = PAR_FALLBACK;
    struct span *fs = p->wk[0].fs;
    const char *q = b, *end = b + len;
    while (k == 0 && q < end) {
        size_t eol;
        bool blank;
        q = split_line(q, end, f->ncols, fs, &eol, &blank);
        if (!q) {
            k = PAR_FALLBACK;
            break;
        }
        for (size_t c = 0; !blank && c < f->ncols; c++) {
            double x;
            if (known[c] || missing_is(&f->ms, fs[c].p, fs[c].n))
                continue;
            known[c] = true;
            p->num[c] = num_parse_padded(fs[c].p, fs[c].n, &x);
        }
    }
    free(known);
    free(b);
    return k;
}

static int a_work(void *ctx, unsigned wid, uint64_t idx, const char *buf, size_t len, uint64_t off)
{
    struct par *p = ctx;
    struct fixer *f = p->f;
    struct pwork *w = &p->wk[wid];
    struct patchset *ps = p->s->ps;
    struct patch_vec *pv = ps && !ps->v[wid].full ? &ps->v[wid] : NULL;
    size_t first = pv ? pv->n : 0;
    w->rows = 0;
    for (size_t c = 0; c < f->ncols; c++)
        w->pc[c].nv = 0;
    if (!plain_block(buf, len))
        return PAR_FALLBACK;
    const char *q = buf, *end = buf + len;
    struct span *fs = w->fs;
    while (q < end) {
        size_t eol;
        bool blank;
        q = split_line(q, end, f->ncols, fs, &eol, &blank);
        if (!q)
            return PAR_FALLBACK;
        if (blank)
            continue;
        for (size_t c = 0; c < f->ncols; c++) {
            struct pcol *pc = &w->pc[c];
            if (missing_is(&f->ms, fs[c].p, fs[c].n)) {
                pc->miss++;
                if (pv && !patch_add(pv, (size_t)(fs[c].p - buf), fs[c].n, c))
                    pv = NULL;
                continue;
            }
            if (!p->num[c]) {
                if (modecount_add_at(pc->mc, fs[c].p, fs[c].n, idx << 32 | w->rows) != 0)
                    return SH_ENOMEM;
                continue;
            }
            double x;
            if (!num_parse_padded(fs[c].p, fs[c].n, &x))
                return PAR_FALLBACK;
            if (pv && (x < ps->lo[c] || x > ps->hi[c]) && !patch_add(pv, (size_t)(fs[c].p - buf), fs[c].n, c))
                pv = NULL;
            if (pc->nv == pc->vcap) {
                size_t nc = pc->vcap ? pc->vcap * 2 : 4096;
                double *nv = realloc(pc->v, nc * sizeof *nv);
                if (!nv)
                    return SH_ENOMEM;
                pc->v = nv;
                pc->vcap = nc;
            }
            pc->v[pc->nv++] = x;
        }
        w->rows++;
    }
    for (size_t c = 0; c < f->ncols; c++)
        if (w->pc[c].nv)
            rsel_count_n(w->pc[c].rs, w->pc[c].v, w->pc[c].nv);
    if (pv)
        patch_block_done(ps, wid, idx, off, len, first);
    return 0;
}

/* In row order: the sums, min, max and first distinct values. */
static int a_ordered(void *ctx, unsigned wid, uint64_t idx, uint64_t end)
{
    (void)idx;
    struct par *p = ctx;
    struct pwork *w = &p->wk[wid];
    for (size_t c = 0; c < p->f->ncols; c++) {
        struct scol *cl = &p->s->sc[c];
        const struct pcol *pc = &w->pc[c];
        s_number_stats_n(cl, pc->v, pc->nv);
    }
    p->f->nrows += w->rows;
    if (wid == 0)
        progress_at(p->f, end);
    return 0;
}

/* s->sc as the caller set it up (the one-thread pass starts from there). */
static void a_reset(struct sfix *s, unsigned bits)
{
    for (size_t c = 0; c < s->f->ncols; c++) {
        struct scol *cl = &s->sc[c];
        rsel_free(cl->rs);
        modecount_free(cl->mc);
        memset(cl, 0, sizeof *cl);
        cl->numeric = true;
        cl->mn = INFINITY;
        cl->mx = -INFINITY;
        cl->rs = rsel_new(bits);
    }
    s->f->nrows = 0;
}

/* Pass 1's end for every other column from `from` on: the workers' parts
 * added up. */
struct add_job {
    struct par *p;
    size_t from;
    int k;
};

static void *add_columns(void *arg)
{
    struct add_job *j = arg;
    struct par *p = j->p;
    for (size_t c = j->from; j->k == 0 && c < p->f->ncols; c += 2) {
        struct scol *cl = &p->s->sc[c];
        cl->seen_number = cl->n > 0;
        for (unsigned i = 0; j->k == 0 && i < p->nw; i++) {
            const struct pcol *pc = &p->wk[i].pc[c];
            cl->miss += pc->miss;
            if (i > 0)
                j->k = cl->numeric ? rsel_merge_counts(cl->rs, pc->rs) : modecount_merge(cl->mc, pc->mc);
        }
        if (j->k == 0 && cl->numeric)
            rsel_end_count(cl->rs);
    }
    return NULL;
}

/* The columns added up on two threads (their windows' keys are put in
 * order there: rankwindow.h), or on this one when no thread starts. */
static int add_up(struct par *p)
{
    struct add_job even = {p, 0, 0}, odd = {p, 1, 0};
    pthread_t th;
    bool two = p->nw > 1 && pthread_create(&th, NULL, add_columns, &odd) == 0;
    add_columns(&even);
    if (two)
        pthread_join(th, NULL);
    else
        add_columns(&odd);
    return even.k ? even.k : odd.k;
}

int par_analyse(struct sfix *s, unsigned bits)
{
    struct fixer *f = s->f;
    struct par p;
    uint64_t room = data_headroom();
    if (room < TWO_WORKERS_MIN)
        s->nworkers = 1;
    size_t gather = room / 5 < GATHER_BUDGET ? (size_t)(room / 5) : GATHER_BUDGET;
    size_t notes = room / 5 < PATCH_BUDGET ? (size_t)(room / 5) : PATCH_BUDGET;
    patch_free(s->ps);
    s->ps = patch_new(f->ncols, f->size, BLOCK, notes); /* none: the write pass reads every cell */
    int k = par_init(&p, s, SCAN_COUNT);
    p.own1 = true;
    if (k == 0)
        k = prescan(&p);
    for (unsigned i = 0; i < BSCAN_MAX_WORKERS; i++)
        s->bud[i].left = gather;
    for (size_t c = 0; k == 0 && c < f->ncols; c++) {
        struct scol *cl = &s->sc[c];
        cl->numeric = p.num[c];
        if (!cl->numeric) {
            rsel_free(cl->rs);
            cl->rs = NULL;
            if (!(cl->mc = modecount_new()))
                k = SH_ENOMEM;
        }
        for (unsigned i = 0; k == 0 && i < p.nw; i++) {
            struct pcol *pc = &p.wk[i].pc[c];
            if (i == 0) {
                pc->rs = cl->rs;
                pc->mc = cl->mc;
            } else if (cl->numeric ? !(pc->rs = rsel_new(bits)) : !(pc->mc = modecount_new())) {
                k = SH_ENOMEM;
            }
            if (k == 0 && pc->rs)
                rsel_set_budget(pc->rs, &s->bud[i]);
        }
    }
    struct rsel **rs = k == 0 ? calloc((size_t)p.nw * (f->ncols ? f->ncols : 1), sizeof *rs) : NULL;
    for (unsigned i = 0; rs && i < p.nw; i++)
        for (size_t c = 0; c < f->ncols; c++)
            rs[i * f->ncols + c] = p.wk[i].pc[c].rs;
    if (rs) /* none without memory: guesses only save work */
        datafix_guess(s, p.num, rs, p.nw);
    free(rs);
    f->nrows = 0;
    static const struct bscan_ops ops = {a_work, a_ordered};
    if (k == 0)
        k = bscan_run(csv_reader_fd(f->rd), s->body, f->size, BLOCK, p.nw, &ops, &p);
    if (k == 0)
        k = add_up(&p);
    par_free(&p);
    if (k != 0 || (s->ps && !patch_complete(s->ps))) {
        patch_free(s->ps);
        s->ps = NULL;
    }
    if (k != 0) { /* whatever it was, the one-thread pass reads the file and tells */
        a_reset(s, bits);
        return PAR_FALLBACK;
    }
    f->rep->rows = f->nrows;
    s->par = true;
    return 0;
}

/* ---- the later passes ---- */

/* Room for n more bytes of output. */
static int out_room(struct pwork *w, size_t n)
{
    if (w->olen + n <= w->ocap)
        return 0;
    size_t nc = w->ocap ? w->ocap : 4096;
    while (nc < w->olen + n)
        nc *= 2;
    char *no = realloc(w->out, nc);
    if (!no)
        return SH_ENOMEM;
    w->out = no;
    w->ocap = nc;
    return 0;
}

static int put_out(struct pwork *w, const char *b, size_t n)
{
    if (n == 0) /* w->out may be NULL yet */
        return 0;
    if (out_room(w, n) != 0)
        return SH_ENOMEM;
    memcpy(w->out + w->olen, b, n);
    w->olen += n;
    return 0;
}

/* What the write pass does to a cell. */
enum act { A_KEEP, A_FILL, A_LO, A_HI };

/* Copies n bytes eight at a time: s[0..n+7) readable, d[0..n+7) writable. */
static inline void copy8(char *d, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i += 8)
        memcpy(d + i, s + i, 8);
}

/* A changed line, field by field (as s_write_row): w->act of each cell. A
 * kept field is copied with the comma after it; the line's fields and the
 * numeric texts (40-byte arrays) are readable past their end, the text fill
 * (its own allocation) is not. */
static int write_line(struct par *p, struct pwork *w, const struct span *fs, const char *eol, size_t eol_len)
{
    size_t ncols = p->f->ncols;
    for (size_t c = 0; c < ncols; c++) {
        const struct scol *cl = &p->s->sc[c];
        unsigned a = w->act[c];
        bool more = c + 1 < ncols;
        const char *t = a == A_KEEP ? fs[c].p
                        : a == A_FILL ? (cl->numeric ? cl->fill_txt : cl->fill_quoted)
                        : a == A_LO   ? cl->lo_txt
                                      : cl->hi_txt;
        size_t n = a == A_KEEP ? fs[c].n + more : p->tlen[c][a];
        if (out_room(w, n + 16) != 0)
            return SH_ENOMEM;
        if (a == A_FILL && !cl->numeric)
            memcpy(w->out + w->olen, t, n);
        else
            copy8(w->out + w->olen, t, n);
        w->olen += n;
        if (a != A_KEEP && more)
            w->out[w->olen++] = ',';
    }
    for (size_t i = 0; i < eol_len; i++) /* room: the 16 above */
        w->out[w->olen++] = eol[i];
    return 0;
}

/* Where the number t[0..n) lies against the column's bounds (none: inside
 * for any number): from its text when that tells, else parsed (numtext.h).
 * NUM_UNSURE when it is not a number (the file changed). */
static inline enum num_side side_of(const struct datafix_column *rc, const char *t, size_t n)
{
    double lo = rc->has_bounds ? rc->lower : -INFINITY;
    double hi = rc->has_bounds ? rc->upper : INFINITY;
    enum num_side side = num_side_padded(t, n, lo, hi);
    if (side != NUM_UNSURE)
        return side;
    double x;
    if (!num_parse_padded(t, n, &x))
        return NUM_UNSURE;
    return x < lo ? NUM_BELOW : x > hi ? NUM_ABOVE : NUM_INSIDE;
}

/* What the count and write passes look at in a column's cells: nothing (a
 * numeric column without bounds or fill), whether it is missing (a text
 * column; a numeric one whose values pass 1 found all within the bounds: a
 * number there is inside, as pass 1 read every cell of it as a number), or
 * also its side of the bounds. */
enum kind { K_NONE, K_TEXT, K_MISSING, K_SIDE };

static unsigned char kind_of(const struct par *p, size_t c)
{
    const struct scol *cl = &p->s->sc[c];
    const struct datafix_column *rc = &p->f->rep->cols[c];
    if (!cl->numeric)
        return p->w && rc->has_fill ? K_TEXT : K_NONE;
    if (!rc->has_bounds)
        return rc->has_fill ? K_MISSING : K_NONE;
    return cl->mn >= rc->lower && cl->mx <= rc->upper ? K_MISSING : K_SIDE;
}

/* The count or write pass on a line's cells: the outliers counted, what
 * changes in w->act. 1 when a cell changes, 0 when none, -1 when a numeric
 * cell is no number. */
static int mark_line(struct par *p, struct pwork *w, const struct span *fs)
{
    struct fixer *f = p->f;
    bool cap = f->o->outliers == OUTLIER_CAP;
    int change = 0;
    for (size_t c = 0; c < f->ncols; c++) {
        const struct datafix_column *rc = &f->rep->cols[c];
        unsigned char a = A_KEEP, kd = p->kind[c];
        if (kd == K_NONE) {
            /* nothing to do */
        } else if (missing_is(&f->ms, fs[c].p, fs[c].n)) {
            if (rc->has_fill)
                a = A_FILL;
        } else if (kd == K_SIDE) {
            enum num_side side = side_of(rc, fs[c].p, fs[c].n);
            if (side == NUM_UNSURE)
                return -1;
            if (side != NUM_INSIDE) {
                w->pc[c].outliers++;
                if (cap) {
                    w->pc[c].capped++;
                    a = side == NUM_BELOW ? A_LO : A_HI;
                }
            }
        }
        w->act[c] = a;
        change |= a != A_KEEP;
    }
    return change;
}

/* A rank pass on a line's cells. 0, or -1 when a numeric cell is no number. */
static int rank_line(struct par *p, struct pwork *w, const struct span *fs)
{
    struct fixer *f = p->f;
    for (size_t c = 0; c < f->ncols; c++) {
        const struct scol *cl = &p->s->sc[c];
        if (!cl->numeric || !cl->active || missing_is(&f->ms, fs[c].p, fs[c].n))
            continue;
        double x;
        if (!num_parse_padded(fs[c].p, fs[c].n, &x))
            return -1;
        w->pc[c].below += cl->need_p && x < (cl->s + cl->c) / (double)cl->n;
        rsel_feed(w->pc[c].rs, x);
    }
    return 0;
}

/* A block of a later pass. Unchanged lines (and blank ones) are copied in
 * runs, a changed one field by field. */
static int l_work(void *ctx, unsigned wid, uint64_t idx, const char *buf, size_t len, uint64_t off)
{
    (void)idx;
    (void)off;
    struct par *p = ctx;
    struct pwork *w = &p->wk[wid];
    bool ranks = p->mode == SCAN_RANKS;
    w->olen = 0;
    w->rows = 0;
    const char *q = buf, *end = buf + len, *run = buf;
    struct span *fs = w->fs;
    while (q < end) {
        const char *line = q;
        size_t eol;
        bool blank;
        q = split_line(q, end, p->f->ncols, fs, &eol, &blank);
        if (!q)
            return SH_ECONFLICT;
        if (blank)
            continue;
        int change = ranks ? rank_line(p, w, fs) : mark_line(p, w, fs);
        if (change < 0)
            return SH_ECONFLICT;
        w->rows++;
        if (!p->w || !change)
            continue;
        int k = put_out(w, run, (size_t)(line - run));
        if (k == 0)
            k = write_line(p, w, fs, q - eol, eol);
        if (k != 0)
            return k;
        run = q;
    }
    return p->w ? put_out(w, run, (size_t)(end - run)) : 0;
}

/* The write pass from pass 1's notes (datafix_patch.h): a block copied, its
 * noted cells rewritten as write_line would. A noted cell that is not
 * where and what pass 1 saw means the file changed. */
static int p_work(void *ctx, unsigned wid, uint64_t idx, const char *buf, size_t len, uint64_t off)
{
    struct par *p = ctx;
    struct fixer *f = p->f;
    struct pwork *w = &p->wk[wid];
    const struct patch *pt;
    size_t n;
    w->olen = 0;
    w->rows = 0;
    if (!patch_of(p->s->ps, idx, off, len, &pt, &n))
        return SH_ECONFLICT;
    if (out_room(w, len + n * p->maxrep) != 0)
        return SH_ENOMEM;
    bool cap = f->o->outliers == OUTLIER_CAP;
    char *o = w->out;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = pt[i].col, at = pt[i].off, cn = pt[i].len, a = A_KEEP;
        const char *t = buf + at;
        if (at < pos || at + cn > len || (at > 0 && t[-1] != ',' && t[-1] != '\n') ||
            (at + cn < len && t[cn] != ',' && t[cn] != '\n' && t[cn] != '\r'))
            return SH_ECONFLICT;
        const struct datafix_column *rc = &f->rep->cols[c];
        if (missing_is(&f->ms, t, cn)) {
            a = rc->has_fill ? A_FILL : A_KEEP;
        } else if (!p->s->sc[c].numeric) {
            return SH_ECONFLICT;
        } else if (p->kind[c] == K_SIDE) {
            enum num_side side = side_of(rc, t, cn);
            if (side == NUM_UNSURE)
                return SH_ECONFLICT;
            if (side != NUM_INSIDE) {
                w->pc[c].outliers++;
                if (cap) {
                    w->pc[c].capped++;
                    a = side == NUM_BELOW ? A_LO : A_HI;
                }
            }
        }
        if (a == A_KEEP)
            continue;
        const struct scol *cl = &p->s->sc[c];
        const char *r = a == A_FILL ? (cl->numeric ? cl->fill_txt : cl->fill_quoted) : a == A_LO ? cl->lo_txt : cl->hi_txt;
        memcpy(o + w->olen, buf + pos, at - pos);
        w->olen += at - pos;
        memcpy(o + w->olen, r, p->tlen[c][a]);
        w->olen += p->tlen[c][a];
        pos = at + cn;
    }
    memcpy(o + w->olen, buf + pos, len - pos);
    w->olen += len - pos;
    return 0;
}

/* Every number outside its column's bounds was noted by pass 1: the write
 * pass can go by the notes. */
static bool notes_do(const struct par *p)
{
    const struct patchset *ps = p->s->ps;
    if (!ps || !p->w || !patch_complete(ps))
        return false;
    for (size_t c = 0; c < p->f->ncols; c++) {
        const struct datafix_column *rc = &p->f->rep->cols[c];
        if (p->kind[c] == K_SIDE && !patch_covers(ps, c, rc->lower, rc->upper))
            return false;
    }
    return true;
}

static int l_ordered(void *ctx, unsigned wid, uint64_t idx, uint64_t end)
{
    (void)idx;
    struct par *p = ctx;
    struct pwork *w = &p->wk[wid];
    w->total += w->rows;
    if (p->w && w->olen)
        atomic_file_put(p->w, w->out, w->olen);
    if (wid == 0)
        progress_at(p->f, p->f->size + end);
    return 0;
}

int par_scan(struct sfix *s, enum scan_mode mode, struct atomic_file *out)
{
    struct fixer *f = s->f;
    struct par p;
    int k = par_init(&p, s, mode);
    p.w = out;
    if (k == 0 && out && !(p.tlen = calloc(f->ncols ? f->ncols : 1, sizeof *p.tlen)))
        k = SH_ENOMEM;
    if (k == 0 && !(p.kind = calloc(f->ncols ? f->ncols : 1, sizeof *p.kind)))
        k = SH_ENOMEM;
    for (size_t c = 0; k == 0 && c < f->ncols; c++)
        p.kind[c] = kind_of(&p, c);
    for (size_t c = 0; k == 0 && out && c < f->ncols; c++) {
        const struct scol *cl = &s->sc[c];
        const char *fill = cl->numeric ? cl->fill_txt : cl->fill_quoted;
        p.tlen[c][A_FILL] = fill ? strlen(fill) : 0;
        p.tlen[c][A_LO] = strlen(cl->lo_txt);
        p.tlen[c][A_HI] = strlen(cl->hi_txt);
    }
    if (k == 0 && mode == SCAN_RANKS && p.nw > 1 && !s->rs1 &&
        !(s->rs1 = calloc(f->ncols, sizeof *s->rs1)))
        k = SH_ENOMEM;
    for (size_t c = 0; k == 0 && c < f->ncols; c++) {
        struct scol *cl = &s->sc[c];
        if (mode != SCAN_RANKS || !cl->active)
            continue;
        p.wk[0].pc[c].rs = cl->rs;
        for (unsigned i = 1; k == 0 && i < p.nw; i++) {
            if (!s->rs1[c] && !(s->rs1[c] = rsel_new(8)))
                k = SH_ENOMEM;
            if (k == 0) {
                rsel_set_budget(s->rs1[c], &s->bud[i]);
                k = rsel_begin_pass_as(s->rs1[c], cl->rs);
            }
            p.wk[i].pc[c].rs = s->rs1[c];
        }
    }
    if (k == 0 && out) {
        /* the header as read */
        char *h = malloc(s->body ? s->body : 1);
        ssize_t got = h ? pread(csv_reader_fd(f->rd), h, s->body, 0) : -1;
        if (!h)
            k = SH_ENOMEM;
        else if (got != (ssize_t)s->body)
            k = SH_ECONFLICT;
        else
            atomic_file_put(out, h, s->body);
        free(h);
    }
    static const struct bscan_ops ops = {l_work, l_ordered}, notes = {p_work, l_ordered};
    bool by_notes = k == 0 && mode == SCAN_WRITE && notes_do(&p);
    for (size_t c = 0; by_notes && c < f->ncols; c++)
        for (unsigned a = A_FILL; a <= A_HI; a++)
            if (p.tlen[c][a] > p.maxrep)
                p.maxrep = p.tlen[c][a];
    if (k == 0)
        k = bscan_run(csv_reader_fd(f->rd), s->body, f->size, BLOCK, p.nw, by_notes ? &notes : &ops, &p);
    int e = errno;
    size_t rows = by_notes ? f->nrows : 0; /* the notes' blocks are pass 1's, whose rows were counted */
    for (unsigned i = 0; i < p.nw; i++) {
        rows += p.wk[i].total;
        for (size_t c = 0; c < f->ncols; c++) {
            struct scol *cl = &s->sc[c];
            struct datafix_column *rc = &f->rep->cols[c];
            const struct pcol *pc = &p.wk[i].pc[c];
            cl->below += pc->below;
            rc->outliers += pc->outliers;
            rc->capped += pc->capped;
            if (i > 0 && mode == SCAN_RANKS && cl->active && k == 0)
                k = rsel_merge_pass(cl->rs, s->rs1[c]);
        }
    }
    par_free(&p);
    if (k == 0 && rows != f->nrows)
        k = SH_ECONFLICT;
    if (k == SH_ECONFLICT || k == SH_ETOOBIG)
        return sh_errf(f->ret_err, SH_ECONFLICT,
                       "%s: the file changed while it was being fixed; nothing changed", f->path);
    if (k == SH_ENOMEM)
        return sh_errf(f->ret_err, SH_ENOMEM, "%s: out of memory", f->path);
    if (k == SH_EIO)
        return sh_errf(f->ret_err, SH_EIO, "%s: read error: %s", f->path, strerror(e));
    return k;
}
