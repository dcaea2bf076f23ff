/* strmap.c — the chained hash map of strmap.h (FNV-1a, doubling at load 1). */
#include "base/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

struct entry {
    struct entry *next;
    void *value;
    uint64_t hash;
    char key[];
};

struct strmap {
    struct entry **buckets;
    size_t nbuckets;
    size_t count;
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

struct strmap *strmap_new(void)
{
    struct strmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->nbuckets = 16;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    return m;
}

void strmap_free(struct strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct entry *e = m->buckets[i];
        while (e) {
            struct entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    free(m);
}

static struct entry **find_slot(const struct strmap *m, const char *key, uint64_t h)
{
    struct entry **pe = &m->buckets[h % m->nbuckets];
    while (*pe && ((*pe)->hash != h || strcmp((*pe)->key, key) != 0))
        pe = &(*pe)->next;
    return pe;
}

void *strmap_get(const struct strmap *m, const char *key)
{
    struct entry *e = *find_slot(m, key, hash_key(key));
    return e ? e->value : NULL;
}

static void grow(struct strmap *m)
{
    size_t n = m->nbuckets * 2;
    struct entry **b = calloc(n, sizeof *b);
    if (!b)
        return; /* stays correct, only slower */
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct entry *e = m->buckets[i];
        while (e) {
            struct entry *next = e->next;
            e->next = b[e->hash % n];
            b[e->hash % n] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

int strmap_put(struct strmap *m, const char *key, void *value, void **ret_old)
{
    uint64_t h = hash_key(key);
    struct entry **pe = find_slot(m, key, h);
    if (*pe) {
        if (ret_old)
            *ret_old = (*pe)->value;
        (*pe)->value = value;
        return 0;
    }
    size_t len = strlen(key);
    struct entry *e = malloc(sizeof *e + len + 1);
    if (!e)
        return SH_ENOMEM;
    memcpy(e->key, key, len + 1);
    e->hash = h;
    e->value = value;
    e->next = NULL;
    *pe = e;
    m->count++;
    if (ret_old)
        *ret_old = NULL;
    if (m->count > m->nbuckets)
        grow(m);
    return 0;
}

void *strmap_remove(struct strmap *m, const char *key)
{
    struct entry **pe = find_slot(m, key, hash_key(key));
    struct entry *e = *pe;
    if (!e)
        return NULL;
    void *v = e->value;
    *pe = e->next;
    free(e);
    m->count--;
    return v;
}

size_t strmap_count(const struct strmap *m)
{
    return m->count;
}

void strmap_foreach(const struct strmap *m, void (*fn)(void *ctx, const char *key, void *value),
                    void *ctx)
{
    for (size_t i = 0; i < m->nbuckets; i++)
        for (struct entry *e = m->buckets[i]; e; e = e->next)
            fn(ctx, e->key, e->value);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **strmap_keys(const struct strmap *m, size_t *ret_count)
{
    char **keys = calloc(m->count + 1, sizeof *keys);
    if (!keys)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (struct entry *e = m->buckets[i]; e; e = e->next) {
            keys[n] = strdup(e->key);
            if (!keys[n]) {
                strmap_keys_free(keys);
                return NULL;
            }
            n++;
        }
    }
    qsort(keys, n, sizeof *keys, cmp_str);
    if (ret_count)
        *ret_count = n;
    return keys;
}

void strmap_keys_free(char **keys)
{
    if (!keys)
        return;
    for (char **k = keys; *k; k++)
        free(*k);
    free(keys);
}
