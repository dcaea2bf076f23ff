/* datafix_guess.c — the two-thread fix's guesses before pass 1 (datafix_guess.h). */
#include "data/datafix_guess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/csv.h"
#include "data/datafix_patch.h"
#include "data/linesplit.h"
#include "data/numtext.h"
#include "data/rankselect.h"

struct guess {
    struct sfix *s;
    const bool *num;
    struct rsel *const *rs;
    unsigned nw;
    struct span *fs;
};

/* The windows each numeric column's quartiles are likely in: the values
 * of the sample lines (b[0..len), sample()) from a margin of the rows below
 * each of their quartiles to the margin above, guessed to every worker's
 * rsel (rankselect.h). The margin is WINDOW_SIGMAS standard errors of a
 * quantile of that many values (and one more value either side). No guess
 * when memory is short: guesses only save a pass. */
#define WINDOW_SIGMAS 4.0

/* The indexes of col[0..n) (sorted) from quantile q − margin to q + margin,
 * and one more value either side: a run of ties is no margin. */
static void span_of(const double *col, size_t n, double q, double margin, size_t *lo, size_t *hi)
{
    double a = q - margin < 0 ? 0 : q - margin, z = q + margin > 1 ? 1 : q + margin;
    size_t ia = (size_t)floor((double)(n - 1) * a), iz = (size_t)ceil((double)(n - 1) * z);
    while (ia > 0 && col[ia - 1] == col[ia])
        ia--;
    ia -= ia > 0;
    while (iz + 1 < n && col[iz + 1] == col[iz])
        iz++;
    iz += iz + 1 < n;
    *lo = ia;
    *hi = iz;
}

/* Column c's guesses from its sample values col[0..n) (sorted; rows lines,
 * sum their sum): the windows, and the interior of its bounds (datafix_patch.h). */
static void guess_column(const struct guess *p, size_t c, const double *col, size_t n, size_t rows, double sum)
{
    const struct datafix_options *o = p->s->f->o;
    /* the imputed column's quartiles as quantiles of the original values:
     * the fill goes in at quantile pf, the missing cells are mf of n */
    double mf = (double)(rows - n) / (double)n, pf = 0.5;
    if (o->missing == MISSING_MEAN) {
        size_t below = 0;
        while (below < n && col[below] < sum / (double)n)
            below++;
        pf = (double)below / (double)n;
    }
    double qs[6], imp[2];
    size_t nq = 0;
    static const double base[] = {0.25, 0.5, 0.75};
    for (size_t j = 0; j < 3; j++)
        qs[nq++] = base[j];
    if (o->missing == MISSING_MEAN) /* the mean: the values below it */
        qs[nq++] = pf;
    for (size_t j = 0; j < 2; j++) {
        double k = base[2 * j] * (1 + mf);
        imp[j] = k < pf ? k : k >= pf + mf ? k - mf : pf; /* in the fill: the fill's */
        if (imp[j] != pf)
            qs[nq++] = imp[j];
    }
    double margin = WINDOW_SIGMAS * 0.5 / sqrt((double)n);
    size_t ia, iz;
    for (size_t j = 0; j < nq; j++) {
        span_of(col, n, qs[j], margin, &ia, &iz);
        for (unsigned i = 0; i < p->nw; i++)
            rsel_guess(p->rs[i * p->s->f->ncols + c], col[ia], col[iz]);
    }
    if (p->s->ps) {
        size_t q1lo, q1hi, q3lo, q3hi;
        span_of(col, n, imp[0], margin, &q1lo, &q1hi);
        span_of(col, n, imp[1], margin, &q3lo, &q3hi);
        patch_interior(p->s->ps, c, col[q1hi], col[q3lo], o->iqr_multiplier);
    }
}

/* The notes pass 1 would take, from the sample's (m[0..rows·ncols), NaN:
 * missing or text; nmiss missing cells) scaled to the file: when they would
 * not fit their memory, none are taken (the write pass reads every cell). */
static void notes_fit(const struct guess *p, const double *m, size_t rows, size_t nmiss, size_t len)
{
    struct patchset *ps = p->s->ps;
    size_t ncols = p->s->f->ncols, noted = nmiss;
    for (size_t i = 0; i < rows * ncols; i++)
        noted += m[i] < ps->lo[i % ncols] || m[i] > ps->hi[i % ncols];
    uint64_t body = p->s->f->size - p->s->body;
    double want = (double)noted * ((double)body / (double)(len ? len : 1)) * sizeof(struct patch);
    double room = 0;
    for (unsigned i = 0; i < BSCAN_MAX_WORKERS; i++)
        room += (double)ps->v[i].limit * sizeof(struct patch);
    if (want > 0.8 * room) {
        patch_free(ps);
        p->s->ps = NULL;
    }
}

static void guess(const struct guess *p, const char *b, size_t len)
{
    struct fixer *f = p->s->f;
    size_t nl = 0, nmiss = 0;
    for (const char *q = b; (q = memchr(q, '\n', (size_t)(b + len - q))) != NULL; q++)
        nl++;
    size_t rows = nl + 1, ncols = f->ncols;
    double *m = malloc(rows * ncols * sizeof *m), *col = malloc(rows * sizeof *col);
    size_t r = 0;
    const char *q = b, *end = b + len;
    while (m && col && q < end && r < rows) {
        size_t eol;
        bool blank;
        struct span *fs = p->fs;
        if (!(q = split_line(q, end, ncols, fs, &eol, &blank)))
            break;
        if (blank)
            continue;
        for (size_t c = 0; c < ncols; c++) {
            double x = NAN;
            bool miss = missing_is(&f->ms, fs[c].p, fs[c].n);
            nmiss += miss;
            if (p->num[c] && !miss && !num_parse_padded(fs[c].p, fs[c].n, &x))
                x = NAN;
            m[r * ncols + c] = x;
        }
        r++;
    }
    for (size_t c = 0; m && col && c < ncols; c++) {
        if (!p->num[c])
            continue;
        size_t n = 0;
        double sum = 0;
        for (size_t i = 0; i < r; i++)
            if (!isnan(m[i * ncols + c]))
                sum += (col[n++] = m[i * ncols + c]);
        if (n == 0)
            continue;
        if (rsel_sort(col, n) != 0)
            break;
        guess_column(p, c, col, n, r, sum);
    }
    if (m && col && p->s->ps)
        notes_fit(p, m, r, nmiss, len);
    free(m);
    free(col);
}

/* What guess() looks at: the lines of slices spread over the body (all of
 * it when it is small), so that an order of the rows does not mislead it:
 * a 64th of the body, at least SAMPLE_MIN and at most SAMPLE_MAX (a bigger
 * sample narrows the windows: the keys of a big file fit the budget).
 * *ret (owned, 16 zero bytes after) or NULL. */
#define SAMPLE_MIN (1u << 20)
#define SAMPLE_MAX (8u << 20)
#define SLICE (16u << 10)
static void sample(const struct guess *p, char **ret, size_t *ret_len)
{
    int fd = csv_reader_fd(p->s->f->rd);
    uint64_t body = p->s->body, left = p->s->f->size > body ? p->s->f->size - body : 0;
    uint64_t want = left / 64 < SAMPLE_MIN ? SAMPLE_MIN : left / 64 > SAMPLE_MAX ? SAMPLE_MAX : left / 64;
    unsigned slices = (unsigned)(want / SLICE);
    size_t cap = (size_t)slices * SLICE, len = 0;
    char *b = malloc(cap + 16);
    *ret = NULL;
    if (!b)
        return;
    for (unsigned i = 0; i < slices; i++) {
        bool whole = left <= cap;
        uint64_t off = whole ? body : body + left / slices * i;
        ssize_t got = pread(fd, b + len, whole ? (size_t)left : SLICE, (off_t)off);
        if (got <= 0)
            continue;
        char *q = b + len, *e = q + got, *nl;
        if (off > body) { /* from the first line that starts in it */
            if (!(nl = memchr(q, '\n', (size_t)(e - q))))
                continue;
            q = nl + 1;
        }
        if (!whole || (uint64_t)got < left) { /* whole lines */
            if (!(nl = memrchr(q, '\n', (size_t)(e - q))))
                continue;
            e = nl + 1;
        }
        memmove(b + len, q, (size_t)(e - q));
        len += (size_t)(e - q);
        if (whole)
            break;
    }
    memset(b + len, 0, 16);
    *ret = b;
    *ret_len = len;
}

void datafix_guess(struct sfix *s, const bool *num, struct rsel *const *rs, unsigned nw)
{
    struct guess g = {s, num, rs, nw, calloc(s->f->ncols ? s->f->ncols : 1, sizeof(struct span))};
    char *smp = NULL;
    size_t len = 0;
    if (g.fs)
        sample(&g, &smp, &len);
    if (smp)
        guess(&g, smp, len);
    free(smp);
    free(g.fs);
}
