/* rankselect.c — multi-pass exact radix select over a stream (rankselect.h). */
#include "data/rankselect.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "data/rankwindow.h"

#define SUB_BITS 12u
#define FIRST_SLOTS 2048u /* > 2 · RSEL_GATHER: the table of a new probe */
#define BUDGET_SLOTS 256u /* the same with a budget: it grows from there */
#define MAX_WANT 64
#define MAX_PROBES MAX_WANT
#define KEYS 256u /* rsel_count_n's keys at a time */
#define MASK_BITS 16u

struct want {
    size_t rank;
    uint64_t prefix; /* the top nbits bits of the key */
    unsigned nbits;
    size_t rel;      /* rank among the values with that prefix */
    bool done;
    double val;
};

struct pair {
    uint64_t key;
    size_t cnt;
};

struct probe {
    uint64_t prefix;
    unsigned nbits, w; /* refined by the next w bits */
    uint32_t *hist;     /* kept from the overflow on (the pairs hold every value before) */
    struct pair *slots; /* open addressing, key 0 = empty (key 0 is no double) */
    size_t nslots;      /* a power of two, at least twice used */
    size_t used;
    bool overflow;      /* more than the rsel's cap distinct values */
    size_t charged;     /* bytes of the table taken from the budget */
};

struct rsel {
    unsigned b1;
    uint32_t *h1;
    size_t n;
    size_t cap;         /* distinct values gathered a probe at most */
    struct rsel_budget *bud; /* or, when set, what the tables may grow by */
    struct want w[MAX_WANT];
    size_t nw;
    struct probe p[MAX_PROBES];
    size_t np;
    struct rwin *win;   /* pass 1's guessed windows (rsel_guess), or NULL */
    uint64_t *grp;      /* after pass 1: h1's sums by GROUP buckets (or NULL) */
    /* a bit per top-mbits key prefix holding some probe, so that most values
     * are passed over with one test */
    uint64_t mask[(1u << MASK_BITS) / 64];
    unsigned mbits;
    bool one_level;     /* the probes' buckets are all of one width: a value is in one at most */
};

static inline uint64_t key_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
}

static inline double val_of(uint64_t k)
{
    uint64_t u = (k >> 63) ? k & ~(UINT64_C(1) << 63) : ~k;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

struct rsel *rsel_new(unsigned first_bits)
{
    if (first_bits < 8 || first_bits > 16)
        first_bits = 16;
    struct rsel *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->b1 = first_bits;
    r->mbits = MASK_BITS;
    r->cap = RSEL_GATHER;
    if (!(r->h1 = calloc((size_t)1 << first_bits, sizeof *r->h1))) {
        free(r);
        return NULL;
    }
    return r;
}

bool rsel_budget_take(struct rsel_budget *b, size_t n)
{
    size_t left = atomic_load(&b->left);
    do {
        if (left < n)
            return false;
    } while (!atomic_compare_exchange_weak(&b->left, &left, left - n));
    return true;
}

void rsel_budget_give(struct rsel_budget *b, size_t n)
{
    atomic_fetch_add(&b->left, n);
}

void rsel_set_budget(struct rsel *r, struct rsel_budget *b)
{
    r->bud = b;
    r->cap = b ? SIZE_MAX : RSEL_GATHER;
}

static void probes_free(struct rsel *r)
{
    for (size_t i = 0; i < r->np; i++) {
        if (r->bud) /* the growth goes back */
            rsel_budget_give(r->bud, r->p[i].charged);
        free(r->p[i].hist);
        free(r->p[i].slots);
    }
    r->np = 0;
}

void rsel_free(struct rsel *r)
{
    if (!r)
        return;
    probes_free(r);
    rwin_free(r->win);
    free(r->grp);
    free(r->h1);
    free(r);
}

/* The mask of the probes. */
static void set_mask(struct rsel *r)
{
    memset(r->mask, 0, sizeof r->mask);
    unsigned b = MASK_BITS;
    for (size_t i = 0; i < r->np; i++)
        if (r->p[i].nbits < b)
            b = r->p[i].nbits;
    r->mbits = b;
    r->one_level = true;
    for (size_t i = 1; i < r->np; i++)
        r->one_level &= r->p[i].nbits == r->p[0].nbits;
    for (size_t i = 0; i < r->np; i++) {
        uint64_t top = r->p[i].prefix >> (r->p[i].nbits - b);
        r->mask[top >> 6] |= UINT64_C(1) << (top & 63);
    }
}

/* A new probe of the bucket prefix/nbits. 0 or SH_ENOMEM. */
static int add_probe(struct rsel *r, uint64_t prefix, unsigned nbits)
{
    struct probe *p = &r->p[r->np++];
    memset(p, 0, sizeof *p);
    p->prefix = prefix;
    p->nbits = nbits;
    p->w = 64 - nbits < SUB_BITS ? 64 - nbits : SUB_BITS;
    p->nslots = r->bud ? BUDGET_SLOTS : FIRST_SLOTS;
    p->hist = calloc((size_t)1 << p->w, sizeof *p->hist);
    p->slots = calloc(p->nslots, sizeof *p->slots);
    return p->hist && p->slots ? 0 : SH_ENOMEM;
}

static inline size_t slot_of(uint64_t k, size_t nslots)
{
    return (size_t)((k * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (nslots - 1);
}

/* Twice the slots; false when there is no memory or budget (the probe
 * overflows). */
static bool grow(struct rsel_budget *bud, struct probe *p)
{
    size_t ns = p->nslots * 2, more = p->nslots * sizeof(struct pair);
    if (!bud || !rsel_budget_take(bud, more))
        return false;
    struct pair *sl = calloc(ns, sizeof *sl);
    if (!sl) {
        rsel_budget_give(bud, more);
        return false;
    }
    p->charged += more;
    for (size_t i = 0; i < p->nslots; i++) {
        if (!p->slots[i].key)
            continue;
        size_t h = slot_of(p->slots[i].key, ns);
        while (sl[h].key)
            h = (h + 1) & (ns - 1);
        sl[h] = p->slots[i];
    }
    free(p->slots);
    p->slots = sl;
    p->nslots = ns;
    return true;
}

static inline void hist_add(struct probe *p, uint64_t k, size_t n)
{
    p->hist[(k >> (64 - p->nbits - p->w)) & (((uint64_t)1 << p->w) - 1)] += (uint32_t)n;
}

/* p gathers no more: its histogram, zero until now, takes the pairs' counts. */
static void overflow(struct probe *p)
{
    for (size_t i = 0; i < p->nslots; i++)
        if (p->slots[i].key)
            hist_add(p, p->slots[i].key, p->slots[i].cnt);
    p->overflow = true;
}

/* n values of key k into a probe that has not overflowed: a pair, or the
 * histogram when there is no room for one. */
static void gather_n(const struct rsel *r, struct probe *p, uint64_t k, size_t n)
{
    size_t h = slot_of(k, p->nslots);
    for (;;) {
        struct pair *s = &p->slots[h];
        if (s->key == k) {
            s->cnt += n;
            return;
        }
        if (s->key == 0)
            break;
        h = (h + 1) & (p->nslots - 1);
    }
    bool full = 2 * (p->used + 1) > p->nslots;
    if (p->used == r->cap || (full && !grow(r->bud, p))) {
        overflow(p);
        hist_add(p, k, n);
        return;
    }
    if (full) { /* grown: its place in the new table */
        h = slot_of(k, p->nslots);
        while (p->slots[h].key)
            h = (h + 1) & (p->nslots - 1);
    }
    p->slots[h].key = k;
    p->slots[h].cnt = n;
    p->used++;
}

static inline void feed_key(struct rsel *r, uint64_t k)
{
    uint64_t top = k >> (64 - r->mbits);
    if (!((r->mask[top >> 6] >> (top & 63)) & 1))
        return;
    for (size_t i = 0; i < r->np; i++) {
        struct probe *p = &r->p[i];
        if ((k >> (64 - p->nbits)) != p->prefix)
            continue;
        if (p->overflow)
            hist_add(p, k, 1);
        else
            gather_n(r, p, k, 1);
        if (r->one_level)
            break;
    }
}

/* h1 changes: its group sums are no more. */
static inline void h1_changes(struct rsel *r)
{
    if (r->grp) {
        free(r->grp);
        r->grp = NULL;
    }
}

void rsel_count(struct rsel *r, double v)
{
    h1_changes(r);
    uint64_t k = key_of(v);
    r->h1[k >> (64 - r->b1)]++;
    r->n++;
    rwin_count_n(r->win, &k, 1);
    if (r->np)
        feed_key(r, k);
}

/* As rsel_count of each, in order (pass 1 has no probes: its guesses are
 * windows). */
void rsel_count_n(struct rsel *r, const double *v, size_t n)
{
    h1_changes(r);
    uint32_t *h1 = r->h1;
    unsigned shift = 64 - r->b1;
    uint64_t k[KEYS];
    for (size_t i = 0; i < n;) {
        size_t m = n - i < KEYS ? n - i : KEYS;
        for (size_t j = 0; j < m; j++) {
            k[j] = key_of(v[i + j]);
            h1[k[j] >> shift]++;
        }
        rwin_count_n(r->win, k, m);
        for (size_t j = 0; r->np && j < m; j++)
            feed_key(r, k[j]);
        i += m;
    }
    r->n += n;
}

size_t rsel_n(const struct rsel *r)
{
    return r->n;
}

int rsel_guess(struct rsel *r, double lo, double hi)
{
    if (isnan(lo) || isnan(hi) || r->n > 0)
        return 0;
    if (!r->win && !(r->win = rwin_new(r->bud)))
        return SH_ENOMEM;
    rwin_add(r->win, key_of(lo), key_of(hi));
    return 0;
}

/* Moves w down into the bucket of hist (2^bits counts, refining w's prefix)
 * holding its rank. grp, when given: the sums of hist's runs of GROUP
 * buckets, passed over whole while the rank is beyond them. */
#define GROUP 256u
static void descend(struct want *w, const uint32_t *hist, unsigned bits, const uint64_t *grp)
{
    size_t cum = 0, nb = (size_t)1 << bits, b = 0;
    for (size_t g = 0; grp && g < nb / GROUP && w->rel >= cum + grp[g]; g++) {
        cum += grp[g];
        b += GROUP;
    }
    for (; b < nb; b++) {
        if (w->rel < cum + hist[b])
            break;
        cum += hist[b];
    }
    w->prefix = (w->prefix << bits) | b;
    w->nbits += bits;
    w->rel -= cum;
    if (w->nbits == 64) {
        w->done = true;
        w->val = val_of(w->prefix);
    }
}

static int cmp_pair(const void *a, const void *b)
{
    uint64_t x = ((const struct pair *)a)->key, y = ((const struct pair *)b)->key;
    return x < y ? -1 : x > y;
}

/* a[0..n) (distinct keys that share their top nbits bits) in key order: a
 * radix sort by the bytes below those bits, or qsort without memory for it. */
static void sort_pairs(struct pair *a, size_t n, unsigned nbits)
{
    struct pair *tmp = n >= 64 ? malloc(n * sizeof *tmp) : NULL;
    if (!tmp) {
        qsort(a, n, sizeof *a, cmp_pair);
        return;
    }
    struct pair *src = a, *dst = tmp;
    for (unsigned sh = 0; sh < 64 - nbits; sh += 8) {
        size_t pos[256] = {0};
        for (size_t i = 0; i < n; i++)
            pos[(src[i].key >> sh) & 255]++;
        if (pos[(src[0].key >> sh) & 255] == n) /* one byte value: in order already */
            continue;
        for (size_t b = 0, sum = 0; b < 256; b++) {
            size_t c = pos[b];
            pos[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[pos[(src[i].key >> sh) & 255]++] = src[i];
        struct pair *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
    free(tmp);
}

/* After a pass: the gathered pairs of p in key order (when complete). */
static void finish(struct probe *p)
{
    if (p->overflow)
        return;
    size_t m = 0;
    for (size_t s = 0; s < p->nslots; s++)
        if (p->slots[s].key)
            p->slots[m++] = p->slots[s];
    sort_pairs(p->slots, m, p->nbits);
    p->used = m;
}

/* w, in p's bucket, resolved from p's pairs or one level down its histogram. */
static void resolve(struct want *w, const struct probe *p)
{
    if (p->overflow) {
        descend(w, p->hist, p->w, NULL);
        return;
    }
    size_t cum = 0;
    for (size_t s = 0; s < p->used; s++) {
        if (w->rel < cum + p->slots[s].cnt) {
            w->done = true;
            w->val = val_of(p->slots[s].key);
            return;
        }
        cum += p->slots[s].cnt;
    }
}

void rsel_end_count(struct rsel *r)
{
    size_t nb = (size_t)1 << r->b1;
    free(r->grp); /* without memory, descend reads h1 bucket by bucket */
    if (nb >= GROUP && (r->grp = calloc(nb / GROUP, sizeof *r->grp)) != NULL)
        for (size_t b = 0; b < nb; b++)
            r->grp[b / GROUP] += r->h1[b];
    rwin_end(r->win);
}

bool rsel_count_below(const struct rsel *r, double v, size_t *ret)
{
    if (isnan(v) || v == 0) /* ±0: key order is not < there */
        return false;
    return rwin_below(r->win, key_of(v), ret);
}

int rsel_want(struct rsel *r, size_t rank)
{
    for (size_t i = 0; i < r->nw; i++)
        if (r->w[i].rank == rank)
            return 0;
    if (r->nw == MAX_WANT || rank >= r->n)
        return SH_ENOMEM;
    struct want *w = &r->w[r->nw++];
    memset(w, 0, sizeof *w);
    w->rank = w->rel = rank;
    w->val = NAN;
    descend(w, r->h1, r->b1, r->grp);
    uint64_t k;
    if (!w->done && rwin_rank(r->win, rank, &k)) {
        w->done = true;
        w->val = val_of(k);
    }
    return 0;
}

bool rsel_pending(const struct rsel *r)
{
    for (size_t i = 0; i < r->nw; i++)
        if (!r->w[i].done)
            return true;
    return false;
}

int rsel_begin_pass(struct rsel *r)
{
    probes_free(r);
    for (size_t i = 0; i < r->nw; i++) {
        const struct want *w = &r->w[i];
        if (w->done)
            continue;
        size_t j = 0;
        while (j < r->np && !(r->p[j].prefix == w->prefix && r->p[j].nbits == w->nbits))
            j++;
        if (j < r->np)
            continue;
        if (add_probe(r, w->prefix, w->nbits) != 0)
            return SH_ENOMEM;
    }
    set_mask(r);
    return 0;
}

void rsel_feed(struct rsel *r, double v)
{
    feed_key(r, key_of(v));
}

void rsel_end_pass(struct rsel *r)
{
    for (size_t j = 0; j < r->np; j++) {
        struct probe *p = &r->p[j];
        finish(p);
        for (size_t i = 0; i < r->nw; i++) {
            struct want *w = &r->w[i];
            if (!w->done && w->prefix == p->prefix && w->nbits == p->nbits)
                resolve(w, p);
        }
    }
    probes_free(r);
}

/* Adds src's probes to dst's (the same buckets, in the same order) and frees src's. */
static int merge_probes(struct rsel *dst, struct rsel *src)
{
    int k = dst->np == src->np ? 0 : SH_EINVAL;
    for (size_t j = 0; k == 0 && j < dst->np; j++) {
        struct probe *d = &dst->p[j], *s = &src->p[j];
        if (d->prefix != s->prefix || d->nbits != s->nbits) {
            k = SH_EINVAL;
            break;
        }
        if (s->overflow) { /* s's counts are in its histogram */
            if (!d->overflow)
                overflow(d);
            size_t nb = (size_t)1 << d->w;
            for (size_t b = 0; b < nb; b++)
                d->hist[b] += s->hist[b];
            continue;
        }
        for (size_t i = 0; i < s->nslots; i++) { /* s's counts are in its pairs */
            if (!s->slots[i].key)
                continue;
            if (d->overflow)
                hist_add(d, s->slots[i].key, s->slots[i].cnt);
            else
                gather_n(dst, d, s->slots[i].key, s->slots[i].cnt);
        }
    }
    probes_free(src);
    return k;
}

int rsel_merge_counts(struct rsel *dst, struct rsel *src)
{
    if (dst->b1 != src->b1)
        return SH_EINVAL;
    size_t nb = (size_t)1 << dst->b1;
    h1_changes(dst);
    for (size_t b = 0; b < nb; b++)
        dst->h1[b] += src->h1[b];
    dst->n += src->n;
    if (rwin_empty(dst->win) != rwin_empty(src->win))
        return SH_EINVAL;
    int k = dst->win && src->win ? rwin_merge(dst->win, src->win) : 0;
    int k2 = merge_probes(dst, src);
    return k ? k : k2;
}

int rsel_begin_pass_as(struct rsel *r, const struct rsel *like)
{
    probes_free(r);
    for (size_t i = 0; i < like->np; i++)
        if (add_probe(r, like->p[i].prefix, like->p[i].nbits) != 0)
            return SH_ENOMEM;
    set_mask(r);
    return 0;
}

int rsel_merge_pass(struct rsel *dst, struct rsel *src)
{
    return merge_probes(dst, src);
}

int rsel_sort(double *v, size_t n)
{
    uint64_t *k = malloc(2 * (n ? n : 1) * sizeof *k);
    if (!k)
        return SH_ENOMEM;
    for (size_t i = 0; i < n; i++)
        k[i] = key_of(v[i]);
    rwin_sort_keys(k, k + n, n);
    for (size_t i = 0; i < n; i++)
        v[i] = val_of(k[i]);
    free(k);
    return 0;
}

double rsel_value(const struct rsel *r, size_t rank)
{
    for (size_t i = 0; i < r->nw; i++)
        if (r->w[i].rank == rank && r->w[i].done)
            return r->w[i].val;
    return NAN;
}
