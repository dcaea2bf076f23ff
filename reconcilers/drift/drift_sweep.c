/* drift_sweep.c — one numeric feature's statistics from spilled columns in bounded memory (drift_sweep.h). */
#include "drift/drift_sweep.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "drift/drift_mem.h"
#include "drift/drift_radix.h"
#include "drift/drift_stats.h"

#define EDGES (DRIFT_PSI_BINS - 1)
#define SPLIT_BUCKETS 4096
#define MIN_CAPACITY 4096 /* values: below this the budget is not honoured, the work still done */
#define KEY_RETRY 1       /* a value has no decimal key: again with the doubles' keys */
#define SIGN UINT64_C(0x8000000000000000)

static const double POW10_22[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

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
    size_t rblock;   /* its size */
    struct drift_radix_hist *hist;
    size_t ranges;
    struct walk w;
    /* decimal keys: the value × 10^frac as an integer (sign bit flipped) */
    bool dec;
    bool kfail; /* a value whose decimal key does not give it back */
    int frac;
    double scale;
};

/* The sort key of v: its decimal key, or the order-preserving bits of the
 * double. A decimal key k gives v back as (double)k / scale (checked here
 * for every value, else kfail): k ↦ (double)k / scale is non-decreasing for
 * |k| ≤ 2^53 (an exact conversion, one rounded division), so sorting the
 * keys sorts the values, and the keys of a column of decimals with few
 * digits differ in far fewer bits than their doubles do (fewer radix passes). */
static inline uint64_t key_of(struct sweep *s, double v)
{
    if (!s->dec)
        return drift_key(v);
    double x = v * s->scale;
    if (!(fabs(x) <= 9007199254740992.0)) {
        s->kfail = true;
        return 0;
    }
    int64_t k = (int64_t)(x < 0 ? x - 0.5 : x + 0.5);
    if ((double)k / s->scale != v || (k == 0 && signbit(v))) {
        s->kfail = true;
        return 0;
    }
    return (uint64_t)k ^ SIGN;
}

static inline double unkey_of(const struct sweep *s, uint64_t k)
{
    return s->dec ? (double)(int64_t)(k ^ SIGN) / s->scale : drift_unkey(k);
}

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


/* Sorts relative keys k[0..n) and turns them into their doubles in place. */
static double *sort_values(struct sweep *s, uint64_t *k, size_t n, uint64_t lo, uint64_t *scratch,
                           uint64_t diff)
{
    drift_radix_sort_diff(k, scratch, n, s->hist, diff);
    double *v = (double *)(void *)k;
    if (s->dec) { /* runs of one key: one division */
        uint64_t prev = 0;
        double d = 0;
        for (size_t i = 0; i < n; i++) {
            if (i == 0 || k[i] != prev) {
                prev = k[i];
                d = unkey_of(s, prev + lo);
            }
            memcpy(&v[i], &d, sizeof d);
        }
        return v;
    }
    for (size_t i = 0; i < n; i++) {
        double d = drift_unkey(k[i] + lo);
        memcpy(&v[i], &d, sizeof d);
    }
    return v;
}

/* --- reading ranges --------------------------------------------------------- */

/* The keys − lo of side's values within [lo, hi] into dst (want of them). */
static int load(struct sweep *s, const struct drift_sweep_side *side, uint64_t lo, uint64_t hi,
                uint64_t *dst, size_t want, bool all, uint64_t *ret_diff)
{
    const struct drift_spill_col *c = &side->spill->cols[side->col];
    size_t got = 0;
    uint64_t kor = 0, kand = ~(uint64_t)0; /* the bits where the keys differ, for the sort */
    uint64_t span = hi - lo;
    for (size_t bl = 0; bl < c->nblocks; bl++) {
        size_t n = c->blocks[bl].n;
        if (all) { /* straight into place */
            if (got + n > want)
                return SH_EIO;
            double *v = (double *)(void *)(dst + got);
            int fb = c->blocks[bl].frac;
            if (s->dec && fb >= 0 && fb <= s->frac && s->frac - fb <= 9) {
                /* integers at 10^fb: the decimal keys at 10^frac, nothing to check
                 * but their size (each is its value's exact decimal) */
                if (drift_spill_read_ints(side->spill, side->col, bl, v) != 0)
                    return SH_EIO;
                const int32_t *ki = (const int32_t *)(const void *)v + n;
                const int64_t mul = (int64_t)POW10_22[s->frac - fb];
                for (size_t i = 0; i < n; i++) { /* forward: key i over ints 2i − n.., read */
                    int32_t x;
                    memcpy(&x, &ki[i], sizeof x);
                    int64_t kk = (int64_t)x * mul;
                    if (kk > (INT64_C(1) << 53) || kk < -(INT64_C(1) << 53))
                        s->kfail = true;
                    uint64_t key = ((uint64_t)kk ^ SIGN) - lo;
                    kor |= key;
                    kand &= key;
                    dst[got + i] = key;
                }
                got += n;
                continue;
            }
            if (drift_spill_read(side->spill, side->col, bl, v) != 0)
                return SH_EIO;
            for (size_t i = 0; i < n; i++) {
                double d;
                memcpy(&d, &v[i], sizeof d);
                uint64_t key = key_of(s, d) - lo;
                kor |= key;
                kand &= key;
                dst[got + i] = key;
            }
            got += n;
            continue;
        }
        if (drift_spill_read(side->spill, side->col, bl, s->rbuf) != 0)
            return SH_EIO;
        for (size_t i = 0; i < n; i++) {
            uint64_t k = key_of(s, s->rbuf[i]) - lo;
            if (k <= span) {
                if (got == want)
                    return SH_EIO;
                kor |= k;
                kand &= k;
                dst[got++] = k;
            }
        }
    }
    *ret_diff = kor & ~kand;
    return got == want ? 0 : SH_EIO;
}

/* Counts of both sides' keys in [lo, hi] by bucket (key − lo) >> shift. */
static int histogram(struct sweep *s, const struct drift_sweep_side *A, const struct drift_sweep_side *B,
                     uint64_t lo, uint64_t hi, unsigned shift, size_t *ha, size_t *hb)
{
    const struct drift_sweep_side *sides[2] = {A, B};
    size_t *hs[2] = {ha, hb};
    uint64_t span = hi - lo;
    for (int k = 0; k < 2; k++) {
        const struct drift_spill_col *c = &sides[k]->spill->cols[sides[k]->col];
        for (size_t bl = 0; bl < c->nblocks; bl++) {
            if (drift_spill_read(sides[k]->spill, sides[k]->col, bl, s->rbuf) != 0)
                return SH_EIO;
            for (size_t i = 0; i < c->blocks[bl].n; i++) {
                uint64_t key = key_of(s, s->rbuf[i]) - lo;
                if (key <= span)
                    hs[k][key >> shift]++;
            }
        }
    }
    return 0;
}

/* The values in [lo, hi] (na of a, nb of b, they fit): read, sorted, walked. */
static int range(struct sweep *s, const struct drift_sweep_side *A, const struct drift_sweep_side *B,
                 uint64_t lo, uint64_t hi, size_t na, size_t nb, bool all)
{
    uint64_t *ka = s->buf, *kb = s->buf + na, *t = s->buf + na + nb;
    uint64_t da = 0, db = 0;
    int r = load(s, A, lo, hi, ka, na, all, &da);
    if (r == 0 && !s->kfail)
        r = load(s, B, lo, hi, kb, nb, all, &db);
    if (s->kfail)
        return KEY_RETRY;
    if (r != 0)
        return r;
    double *a = sort_values(s, ka, na, lo, t, da);
    if (s->w.pass == 2) { /* pass 2 needs the current values only counted, not sorted */
        for (size_t i = 0; i < nb; i++) {
            double v = unkey_of(s, kb[i] + lo);
            for (int e = 0; e < EDGES; e++)
                s->w.below_b[e] += v < s->w.edges[e];
        }
        feed(&s->w, a, na, NULL, 0);
        s->w.j += nb;
        return 0;
    }
    double *b = sort_values(s, kb, nb, lo, t, db);
    s->ranges++;
    feed(&s->w, a, na, b, nb);
    if (all) { /* everything is here: pass 2 at once */
        walk_second(&s->w);
        feed(&s->w, a, na, b, nb);
    }
    return 0;
}

/* Ranges of [lo, hi] that fit (or of one bucket that does not). */
struct group {
    uint64_t lo, hi;
    size_t na, nb;
};

struct plan {
    struct group *g;
    size_t ng;
    unsigned shift;
    size_t nbk;
    uint32_t *bucket_group; /* bucket → group */
};

static void plan_free(struct plan *pl)
{
    free(pl->g);
    free(pl->bucket_group);
    memset(pl, 0, sizeof *pl);
}

/* Cuts [lo, hi] (span ≥ 1) into groups of consecutive histogram buckets that
 * fit together. 0, SH_ENOMEM or SH_EIO. */
static int plan_groups(struct sweep *s, const struct drift_sweep_side *A,
                       const struct drift_sweep_side *B, uint64_t lo, uint64_t hi, struct plan *pl)
{
    memset(pl, 0, sizeof *pl);
    uint64_t span = hi - lo;
    while ((span >> pl->shift) >= SPLIT_BUCKETS)
        pl->shift++;
    pl->nbk = (size_t)(span >> pl->shift) + 1;
    size_t *ha = calloc(2 * pl->nbk, sizeof *ha);
    pl->g = calloc(pl->nbk, sizeof *pl->g);
    pl->bucket_group = calloc(pl->nbk, sizeof *pl->bucket_group);
    int r = ha && pl->g && pl->bucket_group ? 0 : SH_ENOMEM;
    size_t *hb = ha + pl->nbk;
    if (r == 0)
        r = histogram(s, A, B, lo, hi, pl->shift, ha, hb);
    for (size_t k = 0; r == 0 && k < pl->nbk;) {
        size_t k1 = k, ga = ha[k], gb = hb[k];
        while (k1 + 1 < pl->nbk && fits(s, ga + ha[k1 + 1], gb + hb[k1 + 1])) {
            k1++;
            ga += ha[k1];
            gb += hb[k1];
        }
        struct group *g = &pl->g[pl->ng];
        g->lo = lo + ((uint64_t)k << pl->shift);
        g->hi = k1 + 1 < pl->nbk ? lo + ((uint64_t)(k1 + 1) << pl->shift) - 1 : hi;
        g->na = ga;
        g->nb = gb;
        for (size_t x = k; x <= k1; x++)
            pl->bucket_group[x] = (uint32_t)pl->ng;
        pl->ng++;
        k = k1 + 1;
    }
    free(ha);
    if (r != 0)
        plan_free(pl);
    return r;
}

/* The values in [lo, hi] (na of A, nb of B), in ranges that fit: each range
 * is read from A and B again (used below the top level, on a part that
 * already had its own file). */
static int split(struct sweep *s, const struct drift_sweep_side *A, const struct drift_sweep_side *B,
                 uint64_t lo, uint64_t hi, size_t na, size_t nb)
{
    if (na + nb == 0)
        return 0;
    if (fits(s, na, nb))
        return range(s, A, B, lo, hi, na, nb, false);
    if (lo == hi) {
        feed_same(&s->w, unkey_of(s, lo), na, nb);
        return 0;
    }
    struct plan pl;
    int r = plan_groups(s, A, B, lo, hi, &pl);
    for (size_t g = 0; r == 0 && g < pl.ng; g++)
        r = split(s, A, B, pl.g[g].lo, pl.g[g].hi, pl.g[g].na, pl.g[g].nb);
    plan_free(&pl);
    return r;
}

/* Writes each value of A and B in [lo, hi] to its group's columns of part
 * (2g for A, 2g + 1 for B): one read of the columns instead of one per range. */
static int partition(struct sweep *s, const struct drift_sweep_side *A,
                     const struct drift_sweep_side *B, uint64_t lo, const struct plan *pl,
                     struct drift_spill *part)
{
    const struct drift_sweep_side *sides[2] = {A, B};
    for (size_t k = 0; k < 2; k++) {
        const struct drift_spill_col *c = &sides[k]->spill->cols[sides[k]->col];
        for (size_t bl = 0; bl < c->nblocks; bl++) {
            if (drift_spill_read(sides[k]->spill, sides[k]->col, bl, s->rbuf) != 0)
                return SH_EIO;
            for (size_t i = 0; i < c->blocks[bl].n; i++) {
                uint64_t key = key_of(s, s->rbuf[i]) - lo;
                if ((key >> pl->shift) >= pl->nbk)
                    return SH_EIO; /* outside the range: cannot be */
                size_t g = pl->bucket_group[key >> pl->shift];
                int r = drift_spill_put(part, 2 * g + k, s->rbuf[i]);
                if (r != 0)
                    return r;
            }
        }
    }
    return drift_spill_finish(part);
}

/* Both passes over values that do not fit at once: cut into groups, each
 * group's values written to a file of its own, then each group swept
 * (split) in pass 1 and again in pass 2. */
static int sweep_parts(struct sweep *s, uint64_t lo, uint64_t hi, size_t part_mem,
                       const char *tmp_dir)
{
    struct plan pl;
    int r = lo == hi ? 0 : plan_groups(s, &s->a, &s->b, lo, hi, &pl);
    if (r == 0 && lo != hi && s->kfail) { /* the histogram read every value */
        plan_free(&pl);
        return KEY_RETRY;
    }
    if (lo == hi || r != 0) { /* one value: nothing to sort */
        if (r == 0) {
            feed_same(&s->w, unkey_of(s, lo), s->a.n, s->b.n);
            walk_second(&s->w);
            feed_same(&s->w, unkey_of(s, lo), s->a.n, s->b.n);
        }
        return r;
    }
    struct drift_spill part;
    size_t per = part_mem / sizeof(double) / (2 * pl.ng);
    size_t block = s->rblock;
    if (per > block)
        per = block;
    if (per < 64)
        per = 64 < block ? 64 : block;
    r = drift_spill_open(&part, tmp_dir, 2 * pl.ng, per, NULL);
    if (r == 0)
        r = partition(s, &s->a, &s->b, lo, &pl, &part);
    for (int pass = 1; r == 0 && pass <= 2; pass++) {
        if (pass == 2)
            walk_second(&s->w);
        for (size_t g = 0; r == 0 && g < pl.ng; g++) {
            struct drift_sweep_side A = {.spill = &part, .col = 2 * g};
            struct drift_sweep_side B = {.spill = &part, .col = 2 * g + 1};
            r = split(s, &A, &B, pl.g[g].lo, pl.g[g].hi, pl.g[g].na, pl.g[g].nb);
        }
    }
    drift_spill_close(&part);
    plan_free(&pl);
    return r;
}

void drift_sweep_buf_free(struct drift_sweep_buf *b)
{
    drift_mem_free(b->p, b->cap * sizeof *b->p);
    b->p = NULL;
    b->cap = 0;
}

int drift_sweep(const struct drift_sweep_side *ref, const struct drift_sweep_side *cur, size_t mem,
                const char *tmp_dir, struct drift_sweep_buf *buf, struct drift_sweep_result *out)
{
    memset(out, 0, sizeof *out);
    struct sweep s = {.a = *ref, .b = *cur};
    size_t n = ref->n, m = cur->n;
    size_t rblock = drift_spill_max_block(ref->spill, ref->col);
    size_t cblock = drift_spill_max_block(cur->spill, cur->col);
    size_t block = rblock > cblock ? rblock : cblock;
    size_t fixed = sizeof *s.hist + block * sizeof(double) + 2 * SPLIT_BUCKETS * sizeof(size_t);
    s.capacity = mem > fixed ? (mem - fixed) / sizeof(uint64_t) : 0;
    if (s.capacity < MIN_CAPACITY)
        s.capacity = MIN_CAPACITY;
    bool all = fits(&s, n, m);
    size_t part_mem = 0;
    if (all) {
        s.capacity = n + m + (n > m ? n : m);
    } else { /* a quarter for the buffers of the parts' file */
        part_mem = mem / 4;
        s.capacity = mem - part_mem > fixed ? (mem - part_mem - fixed) / sizeof(uint64_t) : 0;
        if (s.capacity < MIN_CAPACITY)
            s.capacity = MIN_CAPACITY;
    }
    if (buf->cap < s.capacity || (!all && buf->cap > s.capacity)) {
        drift_sweep_buf_free(buf);
        if ((buf->p = drift_mem_alloc(s.capacity * sizeof *buf->p)))
            buf->cap = s.capacity;
    }
    s.buf = buf->p;
    s.hist = malloc(sizeof *s.hist);
    s.rblock = block ? block : 1;
    s.rbuf = all ? NULL : malloc(s.rblock * sizeof *s.rbuf);
    int r = s.buf && s.hist && (all || s.rbuf) ? 0 : SH_ENOMEM;
    walk_start(&s.w, n, m);
    int frac = ref->frac > cur->frac ? ref->frac : cur->frac;
    s.dec = ref->decimal && cur->decimal && frac <= 22;
    s.frac = frac;
    s.scale = s.dec ? POW10_22[frac] : 1;
    for (int attempt = 0; r == 0 && attempt < 2; attempt++) {
        if (attempt == 1) { /* a value without a decimal key (found before any walk) */
            s.dec = false;
            s.kfail = false;
            s.ranges = 0;
            walk_start(&s.w, n, m);
        }
        uint64_t ka = key_of(&s, ref->min), kb = key_of(&s, cur->min);
        uint64_t lo = ka < kb ? ka : kb;
        ka = key_of(&s, ref->max), kb = key_of(&s, cur->max);
        uint64_t hi = ka > kb ? ka : kb;
        if (s.kfail)
            r = KEY_RETRY;
        else if (all)
            r = range(&s, &s.a, &s.b, lo, hi, n, m, true);
        else
            r = sweep_parts(&s, lo, hi, part_mem, tmp_dir);
        if (r != KEY_RETRY)
            break;
        r = attempt == 0 ? 0 : SH_EIO; /* the doubles' keys never fail */
    }
    if (r == 0) {
        walk_result(&s.w, out);
        out->ranges = s.ranges;
    }
    free(s.hist);
    free(s.rbuf);
    return r;
}
