/* modecount.c — counting texts and doubles for the mode (modecount.h). */
#include "data/modecount.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

struct mc_entry {
    char *s;
    size_t len;
    size_t count;
    uint64_t hash;
    uint64_t first; /* where it was first seen: ties of the mode go to the smallest */
};

struct modecount {
    struct mc_entry *e; /* first-seen order */
    size_t n, cap;
    uint32_t *slots; /* index + 1, 0 = empty */
    size_t nslots;
};

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

struct modecount *modecount_new(void)
{
    struct modecount *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->nslots = 64;
    m->slots = calloc(m->nslots, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void modecount_free(struct modecount *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->e[i].s);
    free(m->e);
    free(m->slots);
    free(m);
}

static int rehash(struct modecount *m)
{
    size_t ns = m->nslots * 2;
    uint32_t *sl = calloc(ns, sizeof *sl);
    if (!sl)
        return SH_ENOMEM;
    for (size_t i = 0; i < m->n; i++) {
        size_t j = (size_t)m->e[i].hash & (ns - 1);
        while (sl[j])
            j = (j + 1) & (ns - 1);
        sl[j] = (uint32_t)(i + 1);
    }
    free(m->slots);
    m->slots = sl;
    m->nslots = ns;
    return 0;
}

/* Counts n of s, first seen at pos (kept when it is earlier). */
static int add_n(struct modecount *m, const char *s, size_t len, size_t n, uint64_t pos)
{
    uint64_t h = fnv1a(s, len);
    size_t j = (size_t)h & (m->nslots - 1);
    while (m->slots[j]) {
        struct mc_entry *e = &m->e[m->slots[j] - 1];
        if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0) {
            e->count += n;
            if (pos < e->first)
                e->first = pos;
            return 0;
        }
        j = (j + 1) & (m->nslots - 1);
    }
    if (m->n >= UINT32_MAX - 1)
        return SH_ENOMEM;
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 16;
        struct mc_entry *ne = realloc(m->e, nc * sizeof *ne);
        if (!ne)
            return SH_ENOMEM;
        m->e = ne;
        m->cap = nc;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return SH_ENOMEM;
    memcpy(copy, s, len);
    copy[len] = '\0';
    m->e[m->n] = (struct mc_entry){copy, len, n, h, pos};
    m->slots[j] = (uint32_t)(m->n + 1);
    m->n++;
    if (m->n * 2 > m->nslots)
        return rehash(m);
    return 0;
}

int modecount_add(struct modecount *m, const char *s, size_t len)
{
    return add_n(m, s, len, 1, m->n);
}

int modecount_add_at(struct modecount *m, const char *s, size_t len, uint64_t pos)
{
    return add_n(m, s, len, 1, pos);
}

int modecount_merge(struct modecount *dst, const struct modecount *src)
{
    for (size_t i = 0; i < src->n; i++) {
        const struct mc_entry *e = &src->e[i];
        int k = add_n(dst, e->s, e->len, e->count, e->first);
        if (k != 0)
            return k;
    }
    return 0;
}

bool modecount_mode(const struct modecount *m, const char **ret, size_t *ret_len, size_t *ret_count)
{
    const struct mc_entry *best = NULL;
    for (size_t i = 0; i < m->n; i++)
        if (!best || m->e[i].count > best->count ||
            (m->e[i].count == best->count && m->e[i].first < best->first))
            best = &m->e[i];
    if (!best)
        return false;
    *ret = best->s;
    if (ret_len)
        *ret_len = best->len;
    if (ret_count)
        *ret_count = best->count;
    return true;
}

size_t modecount_distinct(const struct modecount *m)
{
    return m->n;
}

int mode_of_doubles(const double *v, size_t n, double *ret)
{
    struct modecount *m = modecount_new();
    if (!m)
        return SH_ENOMEM;
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        double x = v[i];
        if (x != x)
            continue;
        if (x == 0)
            x = 0.0;
        r = modecount_add(m, (const char *)&x, sizeof x);
    }
    const char *best;
    if (r == 0 && modecount_mode(m, &best, NULL, NULL))
        memcpy(ret, best, sizeof *ret);
    else if (r == 0)
        r = SH_ENOTFOUND;
    modecount_free(m);
    return r;
}
