/*
 * strmap.h — a small string-keyed hash map (open hashing, chained).
 *
 * Keys are copied; values are opaque pointers owned by the caller (the map
 * never frees them). Not thread-safe: callers hold their own lock. Used for
 * the per-key tables of the manager, the sources and the actuators.
 */
#ifndef SH_STRMAP_H
#define SH_STRMAP_H

#include <stddef.h>

struct strmap;

/* Returns a new empty map, or NULL on allocation failure. */
struct strmap *strmap_new(void);

/* Frees the map and its key copies (not the values). NULL is a no-op. */
void strmap_free(struct strmap *m);

/* Returns the value for key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);

/* Sets key to value; *ret_old (optional) receives the replaced value or NULL.
 * Returns 0 or SH_ENOMEM (the map is then unchanged). */
int strmap_put(struct strmap *m, const char *key, void *value, void **ret_old);

/* Removes key; returns its value or NULL when absent. */
void *strmap_remove(struct strmap *m, const char *key);

size_t strmap_count(const struct strmap *m);

/* Calls fn for each entry, in no particular order. fn must not change the map. */
void strmap_foreach(const struct strmap *m, void (*fn)(void *ctx, const char *key, void *value),
                    void *ctx);

/* Returns the keys, sorted, as an owned NULL-terminated array of owned
 * strings (free with strmap_keys_free), or NULL on allocation failure. */
char **strmap_keys(const struct strmap *m, size_t *ret_count);
void strmap_keys_free(char **keys);

#endif
