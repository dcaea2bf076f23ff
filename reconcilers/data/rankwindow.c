/* rankwindow.c — the guessed windows of a rank select's first pass (rankwindow.h). */
#include "data/rankwindow.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "data/rankselect.h"

#define FIRST_KEYS 4096u
#define NO_BUDGET (4u << 20)
#define CHUNK 1024u
#define SUB_BITS 8u
#define NSUB (1u << SUB_BITS)

struct kc {
    uint64_t key;
    size_t cnt;
};

struct rwin {
    /* window i: the keys in [edge[2i], edge[2i+1]); sorted, apart */
    uint64_t edge[2 * RWIN_MAX];
    unsigned ne;
    /* keys by place: before window 0, in it, between windows 0 and 1, ... */
    size_t cnt[2 * RWIN_MAX + 1];
    uint64_t *buf;         /* keys in a window, not yet in pairs */
    size_t len, cap;
    struct kc *pairs;      /* the keys sorted so far: distinct, in order */
    size_t np;
    struct rsel_budget *bud;
    struct rsel_budget own; /* the allowance without a budget */
    size_t charged;
    bool counting, over, ended;
    bool raw;                /* after rwin_end: the keys in buf by bucket (by_bucket), not pairs */
    unsigned shift[RWIN_MAX]; /* raw: window i's bucket of key k is (k - its low edge) >> shift[i] */
    uint32_t *sub;           /* raw: where each bucket ends in buf */
    size_t before[RWIN_MAX]; /* after rwin_end: keys before window i */
    size_t first[RWIN_MAX];  /* and its first pair (or key, raw) */
};

struct rwin *rwin_new(struct rsel_budget *bud)
{
    struct rwin *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->own.left = NO_BUDGET;
    w->bud = bud ? bud : &w->own;
    return w;
}

static bool take(struct rwin *w, size_t bytes)
{
    if (!rsel_budget_take(w->bud, bytes))
        return false;
    w->charged += bytes;
    return true;
}

static void give(struct rwin *w, size_t bytes)
{
    rsel_budget_give(w->bud, bytes);
    w->charged -= bytes;
}

static void drop_keys(struct rwin *w)
{
    free(w->buf);
    free(w->pairs);
    free(w->sub);
    w->buf = NULL;
    w->pairs = NULL;
    w->sub = NULL;
    w->len = w->cap = w->np = 0;
    give(w, w->charged);
}

void rwin_free(struct rwin *w)
{
    if (!w)
        return;
    drop_keys(w);
    free(w);
}

void rwin_add(struct rwin *w, uint64_t lo, uint64_t hi)
{
    if (w->counting || hi < lo || hi == UINT64_MAX)
        return;
    uint64_t e[2 * RWIN_MAX + 2];
    unsigned n = 0, i = 0;
    bool placed = false;
    /* the windows in order with [lo, hi + 1) among them, overlaps joined */
    while (i < w->ne || !placed) {
        uint64_t a, b;
        if (!placed && (i == w->ne || lo < w->edge[i])) {
            a = lo;
            b = hi + 1;
            placed = true;
        } else {
            a = w->edge[i];
            b = w->edge[i + 1];
            i += 2;
        }
        if (n > 0 && a <= e[n - 1]) {
            if (b > e[n - 1])
                e[n - 1] = b;
        } else {
            e[n++] = a;
            e[n++] = b;
        }
    }
    if (n > 2 * RWIN_MAX)
        return;
    memcpy(w->edge, e, n * sizeof *e);
    w->ne = n;
}

bool rwin_empty(const struct rwin *w)
{
    return !w || w->ne == 0;
}

void rwin_sort_keys(uint64_t *a, uint64_t *tmp, size_t n)
{
    uint64_t *src = a, *dst = tmp;
    for (unsigned sh = 0; sh < 64 && n > 1; sh += 8) {
        size_t pos[256] = {0};
        for (size_t i = 0; i < n; i++)
            pos[(src[i] >> sh) & 255]++;
        if (pos[(src[0] >> sh) & 255] == n)
            continue;
        for (size_t b = 0, sum = 0; b < 256; b++) {
            size_t c = pos[b];
            pos[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[pos[(src[i] >> sh) & 255]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

/* The sorted, distinct pairs b[0..nb) added to w's. False without memory or budget. */
static bool add_pairs(struct rwin *w, const struct kc *b, size_t nb)
{
    if (nb == 0)
        return true;
    size_t m = w->np + nb, i = 0, j = 0, o = 0;
    if (!take(w, m * sizeof(struct kc)))
        return false;
    struct kc *out = malloc(m * sizeof *out);
    if (!out) {
        give(w, m * sizeof *out);
        return false;
    }
    while (i < w->np || j < nb) {
        if (j == nb || (i < w->np && w->pairs[i].key < b[j].key)) {
            out[o++] = w->pairs[i++];
        } else if (i == w->np || b[j].key < w->pairs[i].key) {
            out[o++] = b[j++];
        }
        else { /* the same key */
            out[o++] = (struct kc){b[j].key, b[j].cnt + w->pairs[i].cnt};
            i++;
            j++;
        }
    }
    free(w->pairs);
    give(w, (w->np + m - o) * sizeof *out);
    struct kc *fit = realloc(out, o * sizeof *out);
    w->pairs = fit ? fit : out;
    w->np = o;
    return true;
}

static int cmp_key(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The buffer's keys into the pairs. False without memory or budget. */
static bool compact(struct rwin *w)
{
    if (w->len == 0)
        return true;
    size_t scratch = w->len * sizeof(uint64_t);
    bool taken = take(w, scratch);
    uint64_t *tmp = taken ? malloc(scratch) : NULL;
    if (tmp)
        rwin_sort_keys(w->buf, tmp, w->len);
    else /* no room for the radix sort's scratch */
        qsort(w->buf, w->len, sizeof *w->buf, cmp_key);
    free(tmp);
    if (taken)
        give(w, scratch);
    size_t d = 1;
    for (size_t i = 1; i < w->len; i++)
        d += w->buf[i] != w->buf[i - 1];
    if (!take(w, d * sizeof(struct kc)))
        return false;
    struct kc *run = malloc(d * sizeof *run);
    bool ok = run != NULL;
    if (ok) {
        size_t o = 0;
        for (size_t i = 0; i < w->len; i++) {
            if (i == 0 || w->buf[i] != w->buf[i - 1])
                run[o++] = (struct kc){w->buf[i], 0};
            run[o - 1].cnt++;
        }
        ok = add_pairs(w, run, d);
        free(run);
    }
    give(w, d * sizeof(struct kc));
    if (ok)
        w->len = 0;
    return ok;
}

/* Room for more keys: a bigger buffer, else the buffer sorted away. The
 * buffer grows only while as much again is left, for the pairs. */
static bool make_room(struct rwin *w)
{
    size_t grow = w->cap ? w->cap / 2 : FIRST_KEYS, half = atomic_load(&w->bud->left) / 2 / sizeof *w->buf;
    if (grow > half)
        grow = half;
    size_t nc = w->cap + grow, more = grow * sizeof *w->buf;
    if (grow >= 64 && take(w, more)) {
        uint64_t *nb = realloc(w->buf, nc * sizeof *nb);
        if (nb) {
            w->buf = nb;
            w->cap = nc;
            return true;
        }
        give(w, more);
    }
    return w->cap > 0 && compact(w);
}

/* n keys, with room in the buffer for n more. */
static void count_run(struct rwin *w, const uint64_t *k, size_t n)
{
    uint64_t e[2 * RWIN_MAX];
    size_t cnt[2 * RWIN_MAX + 1] = {0};
    unsigned ne = w->ne;
    memcpy(e, w->edge, sizeof e);
    uint64_t *buf = w->buf + w->len;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t key = k[i];
        unsigned at = 0;
        for (unsigned j = 0; j < ne; j++)
            at += key >= e[j];
        cnt[at]++;
        buf[len] = key; /* kept when in a window (an odd place) */
        len += at & 1;
    }
    for (unsigned j = 0; j <= ne; j++)
        w->cnt[j] += cnt[j];
    w->len += len;
}

void rwin_count_n(struct rwin *w, const uint64_t *k, size_t n)
{
    if (!w || w->ne == 0 || w->over)
        return;
    w->counting = true;
    while (n > 0) {
        if (w->len == w->cap && !make_room(w)) {
            w->over = true;
            drop_keys(w);
            return;
        }
        size_t m = w->cap - w->len;
        if (m > n)
            m = n;
        if (m > CHUNK)
            m = CHUNK;
        count_run(w, k, m);
        k += m;
        n -= m;
    }
}

/* Room for n more keys in one buffer. False without memory or budget. */
static bool reserve(struct rwin *w, size_t n)
{
    if (w->cap - w->len >= n)
        return true;
    size_t nc = w->len + n;
    if (!take(w, (nc - w->cap) * sizeof *w->buf))
        return false;
    uint64_t *nb = realloc(w->buf, nc * sizeof *nb);
    if (!nb) {
        give(w, (nc - w->cap) * sizeof *w->buf);
        return false;
    }
    w->buf = nb;
    w->cap = nc;
    return true;
}

int rwin_merge(struct rwin *dst, struct rwin *src)
{
    if (dst->ne != src->ne || memcmp(dst->edge, src->edge, dst->ne * sizeof *dst->edge) != 0)
        return SH_EINVAL;
    dst->counting = src->counting = true;
    if (dst->over || src->over) {
        dst->over = true;
    } else if (dst->np == 0 && src->np == 0 && reserve(dst, src->len)) { /* the keys as they are */
        if (src->len) /* (no buffer yet without keys) */
            memcpy(dst->buf + dst->len, src->buf, src->len * sizeof *src->buf);
        dst->len += src->len;
    } else if (!compact(src) || !compact(dst) || !add_pairs(dst, src->pairs, src->np)) {
        dst->over = true;
    }
    if (dst->over)
        drop_keys(dst);
    for (unsigned j = 0; j <= dst->ne; j++)
        dst->cnt[j] += src->cnt[j];
    drop_keys(src);
    return 0;
}

/* Where key k (in a window) goes in by_bucket. */
static inline size_t sub_of(const struct rwin *w, uint64_t k)
{
    unsigned place = 0;
    for (unsigned j = 0; j < w->ne; j++)
        place += k >= w->edge[j];
    unsigned i = place >> 1;
    return (size_t)i * (NSUB + 1) + (size_t)((k - w->edge[2 * i]) >> w->shift[i]);
}

/* Keys never sorted into pairs: put in order of (window, bucket of the
 * window's top SUB_BITS bits of range), each bucket's keys together in no
 * order. After it, w->sub[t] is the end in buf of bucket t = window ·
 * (NSUB + 1) + bucket (and the start of t + 1). False without memory or
 * budget. */
static bool by_bucket(struct rwin *w)
{
    unsigned nw = w->ne / 2;
    size_t nsub = (size_t)nw * (NSUB + 1), bytes = w->len * sizeof *w->buf + nsub * sizeof *w->sub;
    if (w->len > UINT32_MAX || !take(w, bytes))
        return false;
    uint64_t *out = malloc((w->len ? w->len : 1) * sizeof *out);
    uint32_t *sub = calloc(nsub, sizeof *sub);
    if (!out || !sub) {
        free(out);
        free(sub);
        give(w, bytes);
        return false;
    }
    for (unsigned i = 0; i < nw; i++) {
        uint64_t width = w->edge[2 * i + 1] - 1 - w->edge[2 * i];
        unsigned bits = width ? 64 - (unsigned)__builtin_clzll(width) : 0;
        w->shift[i] = bits > SUB_BITS ? bits - SUB_BITS : 0;
    }
    for (size_t j = 0; j < w->len; j++)
        sub[sub_of(w, w->buf[j])]++;
    for (size_t t = 0, sum = 0; t < nsub; t++) { /* the starts */
        size_t c = sub[t];
        sub[t] = (uint32_t)sum;
        sum += c;
    }
    for (size_t j = 0; j < w->len; j++)
        out[sub[sub_of(w, w->buf[j])]++] = w->buf[j];
    free(w->buf);
    give(w, w->cap * sizeof *w->buf);
    w->buf = out;
    w->cap = w->len;
    w->sub = sub;
    w->raw = true;
    return true;
}

void rwin_end(struct rwin *w)
{
    if (!w || w->ne == 0 || w->ended)
        return;
    w->counting = true;
    if (!w->over && w->np == 0 && by_bucket(w)) {
        /* ranks are selected from the keys */
    } else if (!w->over && compact(w)) {
        free(w->buf); /* the pairs stay */
        w->buf = NULL;
        give(w, w->cap * sizeof *w->buf);
        w->cap = w->len = 0;
        size_t p = 0;
        for (unsigned i = 0; 2 * i < w->ne; i++) {
            while (p < w->np && w->pairs[p].key < w->edge[2 * i])
                p++;
            w->first[i] = p;
        }
    } else {
        w->over = true;
        drop_keys(w);
        return;
    }
    size_t cum = 0;
    for (unsigned i = 0; 2 * i < w->ne; i++) {
        cum += w->cnt[2 * i];
        w->before[i] = cum;
        cum += w->cnt[2 * i + 1];
    }
    w->ended = true;
}

/* The key of rank rel among the keys of k[0..n) in lo..hi (more than rel of
 * them): a radix select, SUB_BITS bits of the range at a time, the keys of
 * the bucket that holds the rank copied out when they are few. */
static uint64_t select_key(const uint64_t *k, size_t n, uint64_t lo, uint64_t hi, size_t rel)
{
    size_t h[(1u << SUB_BITS) + 1];
    uint64_t *own = NULL;
    while (lo < hi) {
        unsigned bits = 64 - (unsigned)__builtin_clzll(hi - lo);
        unsigned shift = bits > SUB_BITS ? bits - SUB_BITS : 0;
        size_t nb = (size_t)((hi - lo) >> shift) + 1, out = nb; /* h[nb]: the keys out of range */
        memset(h, 0, (nb + 1) * sizeof *h);
        for (size_t i = 0; i < n; i++) {
            uint64_t d = k[i] - lo;
            h[d <= hi - lo ? d >> shift : out]++;
        }
        size_t b = 0;
        while (rel >= h[b])
            rel -= h[b++];
        uint64_t blo = lo + ((uint64_t)b << shift);
        uint64_t bhi = shift == 0 || hi - blo < ((uint64_t)1 << shift) ? hi : blo + ((uint64_t)1 << shift) - 1;
        if (shift == 0)
            bhi = blo;
        uint64_t *few = h[b] <= n / 8 ? malloc(h[b] * sizeof *few) : NULL;
        if (few) {
            size_t m = 0;
            for (size_t i = 0; i < n; i++)
                if (k[i] - blo <= bhi - blo)
                    few[m++] = k[i];
            free(own);
            k = own = few;
            n = m;
        }
        lo = blo;
        hi = bhi;
    }
    free(own);
    return lo;
}

/* Raw: the key of rank rel in window i. */
static uint64_t raw_rank(const struct rwin *w, unsigned i, size_t rel)
{
    size_t t = (size_t)i * (NSUB + 1), begin = t ? w->sub[t - 1] : 0;
    while (rel >= w->sub[t] - begin) {
        rel -= w->sub[t] - begin;
        begin = w->sub[t++];
    }
    const uint64_t *k = w->buf + begin;
    size_t n = w->sub[t] - begin;
    if (n > 32) {
        uint64_t lo = w->edge[2 * i] + ((uint64_t)(t - (size_t)i * (NSUB + 1)) << w->shift[i]);
        uint64_t hi = w->edge[2 * i + 1] - 1 - lo < ((uint64_t)1 << w->shift[i]) - 1 ? w->edge[2 * i + 1] - 1
                                                                                    : lo + ((uint64_t)1 << w->shift[i]) - 1;
        return select_key(k, n, lo, hi, rel);
    }
    uint64_t a[32];
    for (size_t j = 0; j < n; j++) { /* insertion sort */
        size_t m = j;
        for (; m > 0 && a[m - 1] > k[j]; m--)
            a[m] = a[m - 1];
        a[m] = k[j];
    }
    return a[rel];
}

bool rwin_rank(const struct rwin *w, size_t rank, uint64_t *key)
{
    if (!w || !w->ended || w->over)
        return false;
    for (unsigned i = 0; 2 * i < w->ne; i++) {
        size_t in = w->cnt[2 * i + 1];
        if (rank < w->before[i] || rank - w->before[i] >= in)
            continue;
        size_t rel = rank - w->before[i];
        if (w->raw) {
            *key = raw_rank(w, i, rel);
            return true;
        }
        for (size_t p = w->first[i]; p < w->np; p++) {
            if (rel < w->pairs[p].cnt) {
                *key = w->pairs[p].key;
                return true;
            }
            rel -= w->pairs[p].cnt;
        }
        return false; /* not reached: the pairs hold the window's count */
    }
    return false;
}

bool rwin_below(const struct rwin *w, uint64_t k, size_t *below)
{
    if (!w || !w->ended || w->over)
        return false;
    for (unsigned i = 0; 2 * i < w->ne; i++) {
        if (k < w->edge[2 * i] || k >= w->edge[2 * i + 1])
            continue;
        size_t n = w->before[i];
        if (w->raw) { /* the buckets below k's, then k's */
            size_t t0 = (size_t)i * (NSUB + 1), t = t0 + (size_t)((k - w->edge[2 * i]) >> w->shift[i]);
            size_t begin = t ? w->sub[t - 1] : 0, start = t0 ? w->sub[t0 - 1] : 0;
            n += begin - start;
            for (size_t j = begin; j < w->sub[t]; j++)
                n += w->buf[j] < k;
        } else
            for (size_t p = w->first[i]; p < w->np && w->pairs[p].key < k; p++)
                n += w->pairs[p].cnt;
        *below = n;
        return true;
    }
    return false;
}
