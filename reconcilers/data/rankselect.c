/* rankselect.c — multi-pass exact radix select over a stream (rankselect.h). */
#include "data/rankselect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

#define SUB_BITS 12u
#define HASH_SLOTS 2048u /* > 2 · RSEL_GATHER */
#define MAX_WANT 64

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
    uint32_t *hist;
    struct pair *slots; /* open addressing, key 0 = empty (key 0 is no double) */
    size_t used;
    bool overflow;
};

struct rsel {
    unsigned b1;
    uint32_t *h1;
    size_t n;
    struct want w[MAX_WANT];
    size_t nw;
    struct probe p[MAX_WANT];
    size_t np;
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
    if (!(r->h1 = calloc((size_t)1 << first_bits, sizeof *r->h1))) {
        free(r);
        return NULL;
    }
    return r;
}

static void probes_free(struct rsel *r)
{
    for (size_t i = 0; i < r->np; i++) {
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
    free(r->h1);
    free(r);
}

void rsel_count(struct rsel *r, double v)
{
    r->h1[key_of(v) >> (64 - r->b1)]++;
    r->n++;
}

size_t rsel_n(const struct rsel *r)
{
    return r->n;
}

/* Moves w down into the bucket of hist (2^bits counts, refining w's prefix)
 * holding its rank. */
static void descend(struct want *w, const uint32_t *hist, unsigned bits)
{
    size_t cum = 0, nb = (size_t)1 << bits, b = 0;
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
    descend(w, r->h1, r->b1);
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
        struct probe *p = &r->p[r->np++];
        memset(p, 0, sizeof *p);
        p->prefix = w->prefix;
        p->nbits = w->nbits;
        p->w = 64 - w->nbits < SUB_BITS ? 64 - w->nbits : SUB_BITS;
        p->hist = calloc((size_t)1 << p->w, sizeof *p->hist);
        p->slots = calloc(HASH_SLOTS, sizeof *p->slots);
        if (!p->hist || !p->slots)
            return SH_ENOMEM;
    }
    return 0;
}

static void gather(struct probe *p, uint64_t k)
{
    size_t h = (size_t)((k * UINT64_C(0x9E3779B97F4A7C15)) >> 53) & (HASH_SLOTS - 1);
    for (;;) {
        struct pair *s = &p->slots[h];
        if (s->key == k) {
            s->cnt++;
            return;
        }
        if (s->key == 0) {
            if (p->used == RSEL_GATHER) {
                p->overflow = true;
                return;
            }
            s->key = k;
            s->cnt = 1;
            p->used++;
            return;
        }
        h = (h + 1) & (HASH_SLOTS - 1);
    }
}

void rsel_feed(struct rsel *r, double v)
{
    uint64_t k = key_of(v);
    for (size_t i = 0; i < r->np; i++) {
        struct probe *p = &r->p[i];
        if ((k >> (64 - p->nbits)) != p->prefix)
            continue;
        p->hist[(k >> (64 - p->nbits - p->w)) & (((uint64_t)1 << p->w) - 1)]++;
        if (!p->overflow)
            gather(p, k);
    }
}

static int cmp_pair(const void *a, const void *b)
{
    uint64_t x = ((const struct pair *)a)->key, y = ((const struct pair *)b)->key;
    return x < y ? -1 : x > y;
}

void rsel_end_pass(struct rsel *r)
{
    for (size_t j = 0; j < r->np; j++) {
        struct probe *p = &r->p[j];
        if (!p->overflow) {
            size_t m = 0;
            for (size_t s = 0; s < HASH_SLOTS; s++)
                if (p->slots[s].key)
                    p->slots[m++] = p->slots[s];
            qsort(p->slots, m, sizeof *p->slots, cmp_pair);
            p->used = m;
        }
        for (size_t i = 0; i < r->nw; i++) {
            struct want *w = &r->w[i];
            if (w->done || w->prefix != p->prefix || w->nbits != p->nbits)
                continue;
            if (p->overflow) {
                descend(w, p->hist, p->w);
                continue;
            }
            size_t cum = 0;
            for (size_t s = 0; s < p->used; s++) {
                if (w->rel < cum + p->slots[s].cnt) {
                    w->done = true;
                    w->val = val_of(p->slots[s].key);
                    break;
                }
                cum += p->slots[s].cnt;
            }
        }
    }
    probes_free(r);
}

double rsel_value(const struct rsel *r, size_t rank)
{
    for (size_t i = 0; i < r->nw; i++)
        if (r->w[i].rank == rank && r->w[i].done)
            return r->w[i].val;
    return NAN;
}
