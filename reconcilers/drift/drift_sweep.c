/* drift_sweep.c — one numeric feature's statistics from spilled columns in bounded memory (drift_sweep.h). */
#include "drift/drift_sweep.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "drift/drift_mem.h"
#include "drift/drift_stats.h"

#define EDGES (DRIFT_PSI_BINS - 1)
#define SPLIT_BUCKETS 4096
#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_PASSES ((64 + RADIX_BITS - 1) / RADIX_BITS)
#define MIN_CAPACITY 4096 /* values: below this the budget is not honoured, the work still done */

/* The walk over the merged distinct values, range after range. */
struct walk {
    size_t n, m;
    double fn, fm;
    size_t i, j; /* values of each side passed so far */
    int pass;    /* 1: KS, W1, mean, deciles; 2: sd, bin counts */
    /* pass 1 */
    bool have_prev;
    double v;
    struct drift_ksum w1, sum;
    double dmax, dmin;
    size_t rank[2 * EDGES];
    double at[2 * EDGES];
    /* pass 2 */
    double mean, edges[EDGES];
    struct drift_ksum sq;
    size_t below_a[EDGES], below_b[EDGES];
};

struct sweep {
    struct drift_sweep_side a, b;
    size_t capacity; /* values held at once: a range's na + nb + max(na, nb) */
    uint64_t *buf;   /* capacity keys */
    double *rbuf;    /* one block */
    size_t (*hist)[RADIX_SIZE];
    size_t ranges;
    struct walk w;
};

static bool fits(const struct sweep *s, size_t na, size_t nb)
{
    return na + nb + (na > nb ? na : nb) <= s->capacity;
}

/* --- the walk ------------------------------------------------------------- */

/* Sorted a[0..na) and b[0..nb): every value above those of earlier feeds. */
static void feed(struct walk *w, const double *a, size_t na, const double *b, size_t nb)
{
    if (w->pass == 2) {
        for (size_t x = 0; x < na; x++) {
            double d = a[x] - w->mean;
            drift_ksum_add(&w->sq, d * d);
        }
        for (int e = 0; e < EDGES; e++) {
            w->below_a[e] += drift_lower_bound(a, na, w->edges[e]);
            w->below_b[e] += drift_lower_bound(b, nb, w->edges[e]);
        }
        w->i += na;
        w->j += nb;
        return;
    }
    for (size_t x = 0; x < na; x++)
        drift_ksum_add(&w->sum, a[x]);
    for (int r = 0; r < 2 * EDGES; r++)
        if (w->rank[r] >= w->i && w->rank[r] - w->i < na)
            w->at[r] = a[w->rank[r] - w->i];
    /* drift_ks and drift_wasserstein's walks, in one */
    size_t x = 0, y = 0, i0 = w->i, j0 = w->j;
    while (x < na || y < nb) {
        double nv = (y >= nb || (x < na && a[x] <= b[y])) ? a[x] : b[y];
        if (w->have_prev)
            drift_ksum_add(&w->w1, fabs((double)(i0 + x) / w->fn - (double)(j0 + y) / w->fm) *
                                       (nv - w->v));
        while (x < na && a[x] <= nv)
            x++;
        while (y < nb && b[y] <= nv)
            y++;
        double d = (double)(i0 + x) / w->fn - (double)(j0 + y) / w->fm;
        if (d > w->dmax)
            w->dmax = d;
        if (-d > w->dmin)
            w->dmin = -d;
        w->v = nv;
        w->have_prev = true;
    }
    w->i += na;
    w->j += nb;
}

/* One value v, na times in a and nb times in b (a range too big to hold). */
static void feed_same(struct walk *w, double v, size_t na, size_t nb)
{
    if (w->pass == 2) {
        double d = v - w->mean;
        for (size_t x = 0; x < na; x++)
            drift_ksum_add(&w->sq, d * d);
        for (int e = 0; e < EDGES; e++)
            if (v < w->edges[e]) {
                w->below_a[e] += na;
                w->below_b[e] += nb;
            }
    } else {
        for (size_t x = 0; x < na; x++)
            drift_ksum_add(&w->sum, v);
        for (int r = 0; r < 2 * EDGES; r++)
            if (w->rank[r] >= w->i && w->rank[r] - w->i < na)
                w->at[r] = v;
        if (w->have_prev)
            drift_ksum_add(&w->w1, fabs((double)w->i / w->fn - (double)w->j / w->fm) * (v - w->v));
        double d = (double)(w->i + na) / w->fn - (double)(w->j + nb) / w->fm;
        if (d > w->dmax)
            w->dmax = d;
        if (-d > w->dmin)
            w->dmin = -d;
        w->v = v;
        w->have_prev = true;
    }
    w->i += na;
    w->j += nb;
}

static void walk_start(struct walk *w, size_t n, size_t m)
{
    memset(w, 0, sizeof *w);
    w->n = n;
    w->m = m;
    w->fn = (double)n;
    w->fm = (double)m;
    w->pass = 1;
    for (int k = 1; k < DRIFT_PSI_BINS; k++)
        drift_quantile_ranks(n, (double)k / (double)DRIFT_PSI_BINS, &w->rank[2 * (k - 1)],
                             &w->rank[2 * (k - 1) + 1]);
}

/* After pass 1: the mean and the deciles for pass 2. */
static void walk_second(struct walk *w)
{
    w->mean = drift_ksum_get(&w->sum) / (double)w->n;
    for (int k = 1; k < DRIFT_PSI_BINS; k++)
        w->edges[k - 1] = drift_quantile_lerp(w->n, (double)k / (double)DRIFT_PSI_BINS,
                                              w->at[2 * (k - 1)], w->at[2 * (k - 1) + 1]);
    w->pass = 2;
    w->i = w->j = 0;
}

static void walk_result(const struct walk *w, struct drift_sweep_result *out)
{
    out->ks = w->dmin > w->dmax ? w->dmin : w->dmax;
    out->wasserstein = drift_ksum_get(&w->w1);
    out->mean = w->mean;
    out->sd = sqrt(drift_ksum_get(&w->sq) / (double)w->n);
    size_t cr[DRIFT_PSI_BINS], cc[DRIFT_PSI_BINS];
    drift_bins_from_below(w->below_a, w->n, cr);
    drift_bins_from_below(w->below_b, w->m, cc);
    out->psi = drift_psi_counts(cr, w->n, cc, w->m);
    out->js = drift_js_bins(cr, cc);
}

/* --- sorting --------------------------------------------------------------- */

/* LSD radix sort of k[0..n); t: scratch of n. Only the bits where the keys
 * differ are sorted on (keys relative to their range's low end, and many
 * data sets' low mantissa bits are all zero), in digits of at most
 * RADIX_BITS. */
static void radix_sort(uint64_t *k, uint64_t *t, size_t n, size_t (*h)[RADIX_SIZE])
{
    if (n < 64) {
        for (size_t i = 1; i < n; i++) {
            uint64_t x = k[i];
            size_t j = i;
            for (; j > 0 && k[j - 1] > x; j--)
                k[j] = k[j - 1];
            k[j] = x;
        }
        return;
    }
    uint64_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= k[i] ^ k[0];
    if (!diff)
        return;
    unsigned low = (unsigned)__builtin_ctzll(diff), high = 64 - (unsigned)__builtin_clzll(diff);
    unsigned passes = (high - low + RADIX_BITS - 1) / RADIX_BITS;
    unsigned width = (high - low + passes - 1) / passes;
    const uint64_t mask = ((uint64_t)1 << width) - 1;
    memset(h, 0, passes * sizeof *h);
    for (size_t i = 0; i < n; i++)
        for (unsigned p = 0; p < passes; p++)
            h[p][(k[i] >> (low + p * width)) & mask]++;
    uint64_t *src = k, *dst = t;
    for (unsigned p = 0; p < passes; p++) {
        unsigned shift = low + p * width;
        size_t *c = h[p];
        if (c[(src[0] >> shift) & mask] == n)
            continue;
        size_t sum = 0;
        for (size_t d = 0; d <= mask; d++) {
            size_t x = c[d];
            c[d] = sum;
            sum += x;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i] >> shift) & mask]++] = src[i];
        uint64_t *sw = src;
        src = dst;
        dst = sw;
    }
    if (src != k)
        memcpy(k, src, n * sizeof *k);
}

/* Sorts relative keys k[0..n) and turns them into their doubles in place. */
static double *sort_values(struct sweep *s, uint64_t *k, size_t n, uint64_t lo, uint64_t *scratch)
{
    radix_sort(k, scratch, n, s->hist);
    double *v = (double *)(void *)k;
    for (size_t i = 0; i < n; i++) {
        double d = drift_unkey(k[i] + lo);
        memcpy(&v[i], &d, sizeof d);
    }
    return v;
}

/* --- reading ranges --------------------------------------------------------- */

/* The keys − lo of side's values within [lo, hi] into dst (want of them). */
static int load(struct sweep *s, const struct drift_sweep_side *side, uint64_t lo, uint64_t hi,
                uint64_t *dst, size_t want, bool all)
{
    const struct drift_spill_col *c = &side->spill->cols[side->col];
    size_t got = 0;
    uint64_t span = hi - lo;
    for (size_t bl = 0; bl < c->nblocks; bl++) {
        size_t n = c->blocks[bl].n;
        if (all) { /* straight into place */
            if (got + n > want)
                return SH_EIO;
            double *v = (double *)(void *)(dst + got);
            if (drift_spill_read(side->spill, side->col, bl, v) != 0)
                return SH_EIO;
            for (size_t i = 0; i < n; i++) {
                double d;
                memcpy(&d, &v[i], sizeof d);
                dst[got + i] = drift_key(d) - lo;
            }
            got += n;
            continue;
        }
        if (drift_spill_read(side->spill, side->col, bl, s->rbuf) != 0)
            return SH_EIO;
        for (size_t i = 0; i < n; i++) {
            uint64_t k = drift_key(s->rbuf[i]) - lo;
            if (k <= span) {
                if (got == want)
                    return SH_EIO;
                dst[got++] = k;
            }
        }
    }
    return got == want ? 0 : SH_EIO;
}

/* Counts of both sides' keys in [lo, hi] by bucket (key − lo) >> shift. */
static int histogram(struct sweep *s, uint64_t lo, uint64_t hi, unsigned shift, size_t *ha,
                     size_t *hb)
{
    const struct drift_sweep_side *sides[2] = {&s->a, &s->b};
    size_t *hs[2] = {ha, hb};
    uint64_t span = hi - lo;
    for (int k = 0; k < 2; k++) {
        const struct drift_spill_col *c = &sides[k]->spill->cols[sides[k]->col];
        for (size_t bl = 0; bl < c->nblocks; bl++) {
            if (drift_spill_read(sides[k]->spill, sides[k]->col, bl, s->rbuf) != 0)
                return SH_EIO;
            for (size_t i = 0; i < c->blocks[bl].n; i++) {
                uint64_t key = drift_key(s->rbuf[i]) - lo;
                if (key <= span)
                    hs[k][key >> shift]++;
            }
        }
    }
    return 0;
}

/* The values in [lo, hi] (na of a, nb of b, they fit): read, sorted, walked. */
static int range(struct sweep *s, uint64_t lo, uint64_t hi, size_t na, size_t nb, bool all)
{
    uint64_t *ka = s->buf, *kb = s->buf + na, *t = s->buf + na + nb;
    int r = load(s, &s->a, lo, hi, ka, na, all);
    if (r == 0)
        r = load(s, &s->b, lo, hi, kb, nb, all);
    if (r != 0)
        return r;
    double *a = sort_values(s, ka, na, lo, t);
    double *b = sort_values(s, kb, nb, lo, t);
    s->ranges += s->w.pass == 1;
    feed(&s->w, a, na, b, nb);
    if (all) { /* everything is here: pass 2 at once */
        walk_second(&s->w);
        feed(&s->w, a, na, b, nb);
    }
    return 0;
}

/* The values in [lo, hi] (na of a, nb of b), in ranges that fit. */
static int split(struct sweep *s, uint64_t lo, uint64_t hi, size_t na, size_t nb)
{
    if (na + nb == 0)
        return 0;
    if (fits(s, na, nb))
        return range(s, lo, hi, na, nb, false);
    if (lo == hi) {
        feed_same(&s->w, drift_unkey(lo), na, nb);
        return 0;
    }
    uint64_t span = hi - lo;
    unsigned shift = 0;
    while ((span >> shift) >= SPLIT_BUCKETS)
        shift++;
    size_t nbk = (size_t)(span >> shift) + 1;
    size_t *ha = calloc(2 * nbk, sizeof *ha);
    if (!ha)
        return SH_ENOMEM;
    size_t *hb = ha + nbk;
    int r = histogram(s, lo, hi, shift, ha, hb);
    for (size_t k = 0; r == 0 && k < nbk;) {
        size_t k1 = k, ga = ha[k], gb = hb[k];
        while (k1 + 1 < nbk && fits(s, ga + ha[k1 + 1], gb + hb[k1 + 1])) {
            k1++;
            ga += ha[k1];
            gb += hb[k1];
        }
        uint64_t glo = lo + ((uint64_t)k << shift);
        uint64_t ghi = k1 + 1 < nbk ? lo + ((uint64_t)(k1 + 1) << shift) - 1 : hi;
        r = split(s, glo, ghi, ga, gb);
        k = k1 + 1;
    }
    free(ha);
    return r;
}

void drift_sweep_buf_free(struct drift_sweep_buf *b)
{
    drift_mem_free(b->p, b->cap * sizeof *b->p);
    b->p = NULL;
    b->cap = 0;
}

int drift_sweep(const struct drift_sweep_side *ref, const struct drift_sweep_side *cur, size_t mem,
                struct drift_sweep_buf *buf, struct drift_sweep_result *out)
{
    memset(out, 0, sizeof *out);
    struct sweep s = {.a = *ref, .b = *cur};
    size_t n = ref->n, m = cur->n;
    size_t rblock = drift_spill_max_block(ref->spill, ref->col);
    size_t cblock = drift_spill_max_block(cur->spill, cur->col);
    size_t block = rblock > cblock ? rblock : cblock;
    size_t fixed = RADIX_PASSES * sizeof *s.hist + block * sizeof(double) + 2 * SPLIT_BUCKETS * sizeof(size_t);
    s.capacity = mem > fixed ? (mem - fixed) / sizeof(uint64_t) : 0;
    if (s.capacity < MIN_CAPACITY)
        s.capacity = MIN_CAPACITY;
    bool all = fits(&s, n, m);
    if (all)
        s.capacity = n + m + (n > m ? n : m);
    if (buf->cap < s.capacity) {
        drift_sweep_buf_free(buf);
        if ((buf->p = drift_mem_alloc(s.capacity * sizeof *buf->p)))
            buf->cap = s.capacity;
    }
    s.buf = buf->p;
    s.hist = malloc(RADIX_PASSES * sizeof *s.hist);
    s.rbuf = all ? NULL : malloc((block ? block : 1) * sizeof *s.rbuf);
    int r = s.buf && s.hist && (all || s.rbuf) ? 0 : SH_ENOMEM;
    walk_start(&s.w, n, m);
    uint64_t ka = drift_key(ref->min), kb = drift_key(cur->min);
    uint64_t lo = ka < kb ? ka : kb;
    ka = drift_key(ref->max), kb = drift_key(cur->max);
    uint64_t hi = ka > kb ? ka : kb;
    if (r == 0 && all) {
        r = range(&s, lo, hi, n, m, true);
    } else if (r == 0) {
        r = split(&s, lo, hi, n, m);
        if (r == 0) {
            walk_second(&s.w);
            r = split(&s, lo, hi, n, m);
        }
    }
    if (r == 0) {
        walk_result(&s.w, out);
        out->ranges = s.ranges;
    }
    free(s.hist);
    free(s.rbuf);
    return r;
}
