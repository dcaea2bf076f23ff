/*
 * probe_sched.h — the prober's timetable: a binary min-heap of items ordered
 * by (due time, insertion sequence), so equal due times come out in the
 * order they went in. Items are embedded in their owner (container_of style)
 * and remember their index, so removing or re-timing one is O(log n).
 *
 * Capacity is reserved ahead (probe_sched_reserve when a target is added),
 * so the prober thread can push without ever failing. Not thread-safe: the
 * prober's lock guards it.
 */
#ifndef SH_PROBE_SCHED_H
#define SH_PROBE_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_SCHED_NONE ((size_t)-1)

struct probe_sched_item {
    int64_t due_ms;
    uint64_t seq;
    size_t index; /* PROBE_SCHED_NONE when not in the heap */
};

struct probe_sched {
    struct probe_sched_item **items; /* borrowed items, owned array */
    size_t count;
    size_t cap;
    uint64_t next_seq;
};

/* An empty heap (no allocation). */
void probe_sched_init(struct probe_sched *s);

/* Frees the array (not the items). */
void probe_sched_free(struct probe_sched *s);

/* Marks an item as not scheduled; call once before its first push. */
void probe_sched_item_init(struct probe_sched_item *it);

/* Makes room for `n` items in total. 0 or SH_ENOMEM (the heap is unchanged). */
int probe_sched_reserve(struct probe_sched *s, size_t n);

/* Schedules `it` (not in the heap) at due_ms. Returns 0, or SH_ENOMEM when
 * no room was reserved and growing failed. */
int probe_sched_push(struct probe_sched *s, struct probe_sched_item *it, int64_t due_ms);

/* Takes `it` out of the heap; a no-op when it is not in it. */
void probe_sched_remove(struct probe_sched *s, struct probe_sched_item *it);

/* The earliest item (borrowed), or NULL when empty. */
struct probe_sched_item *probe_sched_peek(const struct probe_sched *s);

/* Removes and returns the earliest item if it is due at `now_ms`, else NULL. */
struct probe_sched_item *probe_sched_pop_due(struct probe_sched *s, int64_t now_ms);

static inline bool probe_sched_contains(const struct probe_sched_item *it)
{
    return it->index != PROBE_SCHED_NONE;
}

#endif
