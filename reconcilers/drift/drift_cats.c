/* drift_cats.c — insertion-ordered category counts (drift_cats.h): open
 * addressing on FNV-1a hashes. */
#include "drift/drift_cats.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

#define SMALL_CATS 8

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static int grow_slots(struct drift_cats *c)
{
    size_t ncap = c->cap ? c->cap * 2 : 64;
    uint32_t *slots = calloc(ncap, sizeof *slots);
    uint64_t *hashes = malloc(ncap * sizeof *hashes);
    if (!slots || !hashes) {
        free(slots);
        free(hashes);
        return SH_ENOMEM;
    }
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->slots[i])
            continue;
        size_t s = c->hashes[i] & (ncap - 1);
        while (slots[s])
            s = (s + 1) & (ncap - 1);
        slots[s] = c->slots[i];
        hashes[s] = c->hashes[i];
    }
    free(c->slots);
    free(c->hashes);
    c->slots = slots;
    c->hashes = hashes;
    c->cap = ncap;
    return 0;
}

static int grow_cats(struct drift_cats *c)
{
    size_t n = c->ncap ? c->ncap * 2 : 32;
    char **keys = realloc(c->keys, n * sizeof *keys);
    if (!keys)
        return SH_ENOMEM;
    c->keys = keys;
    size_t *lens = realloc(c->lens, n * sizeof *lens);
    if (!lens)
        return SH_ENOMEM;
    c->lens = lens;
    double *counts = realloc(c->counts, n * sizeof *counts);
    if (!counts)
        return SH_ENOMEM;
    c->counts = counts;
    c->ncap = n;
    return 0;
}

/* The slot holding s, or the empty slot where it would go. */
static size_t lookup(const struct drift_cats *c, const char *s, size_t len, uint64_t h)
{
    size_t slot = h & (c->cap - 1);
    while (c->slots[slot]) {
        size_t k = c->slots[slot] - 1;
        if (c->hashes[slot] == h && c->lens[k] == len && memcmp(c->keys[k], s, len) == 0)
            break;
        slot = (slot + 1) & (c->cap - 1);
    }
    return slot;
}

long drift_cats_find(const struct drift_cats *c, const char *s, size_t len)
{
    if (!c->cap)
        return -1;
    size_t slot = lookup(c, s, len, hash_bytes(s, len));
    return c->slots[slot] ? (long)c->slots[slot] - 1 : -1;
}

int drift_cats_add(struct drift_cats *c, const char *s, size_t len, double w)
{
    if (c->n <= SMALL_CATS) { /* a few categories: compared, not hashed */
        for (size_t i = 0; i < c->n; i++)
            if (c->lens[i] == len && memcmp(c->keys[i], s, len) == 0) {
                c->counts[i] += w;
                c->total++;
                return 0;
            }
    }
    if ((c->n + 1) * 2 > c->cap && grow_slots(c) != 0)
        return SH_ENOMEM;
    uint64_t h = hash_bytes(s, len);
    size_t slot = lookup(c, s, len, h);
    if (c->slots[slot]) {
        c->counts[c->slots[slot] - 1] += w;
        c->total++;
        return 0;
    }
    if (c->n >= UINT32_MAX - 1 || (c->n == c->ncap && grow_cats(c) != 0))
        return SH_ENOMEM;
    char *k = malloc(len + 1);
    if (!k)
        return SH_ENOMEM;
    memcpy(k, s, len);
    k[len] = '\0';
    c->keys[c->n] = k;
    c->lens[c->n] = len;
    c->counts[c->n] = w;
    c->slots[slot] = (uint32_t)(c->n + 1);
    c->hashes[slot] = h;
    c->n++;
    c->total++;
    return 0;
}

void drift_cats_free(struct drift_cats *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->keys[i]);
    free(c->keys);
    free(c->lens);
    free(c->counts);
    free(c->slots);
    free(c->hashes);
    memset(c, 0, sizeof *c);
}
