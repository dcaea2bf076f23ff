/* probe_sched.c — the binary min-heap of probe_sched.h. */
#include "service/probe_sched.h"

#include <stdlib.h>

#include "base/errors.h"

static bool before(const struct probe_sched_item *a, const struct probe_sched_item *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void place(struct probe_sched *s, size_t i, struct probe_sched_item *it)
{
    s->items[i] = it;
    it->index = i;
}

static void sift_up(struct probe_sched *s, size_t i)
{
    struct probe_sched_item *it = s->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(it, s->items[parent]))
            break;
        place(s, i, s->items[parent]);
        i = parent;
    }
    place(s, i, it);
}

static void sift_down(struct probe_sched *s, size_t i)
{
    struct probe_sched_item *it = s->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= s->count)
            break;
        if (child + 1 < s->count && before(s->items[child + 1], s->items[child]))
            child++;
        if (!before(s->items[child], it))
            break;
        place(s, i, s->items[child]);
        i = child;
    }
    place(s, i, it);
}

void probe_sched_init(struct probe_sched *s)
{
    s->items = NULL;
    s->count = 0;
    s->cap = 0;
    s->next_seq = 0;
}

void probe_sched_free(struct probe_sched *s)
{
    free(s->items);
    probe_sched_init(s);
}

void probe_sched_item_init(struct probe_sched_item *it)
{
    it->due_ms = 0;
    it->seq = 0;
    it->index = PROBE_SCHED_NONE;
}

int probe_sched_reserve(struct probe_sched *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 16;
    while (cap < n)
        cap *= 2;
    struct probe_sched_item **items = realloc(s->items, cap * sizeof *items);
    if (!items)
        return SH_ENOMEM;
    s->items = items;
    s->cap = cap;
    return 0;
}

int probe_sched_push(struct probe_sched *s, struct probe_sched_item *it, int64_t due_ms)
{
    int err = probe_sched_reserve(s, s->count + 1);
    if (err)
        return err;
    it->due_ms = due_ms;
    it->seq = s->next_seq++;
    s->items[s->count] = it;
    it->index = s->count++;
    sift_up(s, it->index);
    return 0;
}

void probe_sched_remove(struct probe_sched *s, struct probe_sched_item *it)
{
    size_t i = it->index;
    if (i == PROBE_SCHED_NONE)
        return;
    it->index = PROBE_SCHED_NONE;
    struct probe_sched_item *last = s->items[--s->count];
    if (i == s->count)
        return;
    place(s, i, last);
    if (i > 0 && before(last, s->items[(i - 1) / 2]))
        sift_up(s, i);
    else
        sift_down(s, i);
}

struct probe_sched_item *probe_sched_peek(const struct probe_sched *s)
{
    return s->count ? s->items[0] : NULL;
}

struct probe_sched_item *probe_sched_pop_due(struct probe_sched *s, int64_t now_ms)
{
    struct probe_sched_item *top = probe_sched_peek(s);
    if (!top || top->due_ms > now_ms)
        return NULL;
    probe_sched_remove(s, top);
    return top;
}
