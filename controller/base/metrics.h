/*
 * metrics.h — a small thread-safe Prometheus registry that renders the text
 * exposition format 0.0.4 (what /metrics serves).
 *
 * A registry holds metric families in registration order. A family has a
 * name, a help text, a type (counter, gauge or histogram) and label names;
 * its children are keyed by label values and created on first use. Counters
 * must be named *_total. Histograms have fixed upper bounds (ascending, +Inf
 * is implicit) and render _bucket{le=...} (cumulative), _sum and _count.
 *
 * Collectors are callbacks run at every render: each gets an empty scratch
 * registry and registers and fills the families it reports (queue depth,
 * pipelines per phase, ...). Their families are appended after the
 * registry's own; a family whose name is already rendered is skipped, so the
 * output never holds a family twice.
 *
 * Output order is stable: families in registration order (then collectors
 * in the order added), children sorted by label values.
 *
 * All functions are thread-safe. Family handles are owned by the registry
 * and stay valid until metrics_free.
 */
#ifndef SH_METRICS_H
#define SH_METRICS_H

#include <stddef.h>

struct metrics;
struct metric_family;

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metric_opts {
    enum metric_type type;
    const char *name;           /* [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total */
    const char *help;           /* one line of text (newlines are escaped) */
    const char *const *labels;  /* NULL-terminated label names, or NULL for none */
    const double *buckets;      /* histograms: ascending finite upper bounds */
    size_t nbuckets;
};

/* A new, empty registry, or NULL on allocation failure. */
struct metrics *metrics_new(void);

/* Frees the registry and its families. NULL is a no-op. */
void metrics_free(struct metrics *reg);

/*
 * Registers a family; *ret (optional) gets its handle. Returns 0, SH_EINVAL
 * for a bad name, label name or bucket list (or a counter not named *_total),
 * SH_EEXISTS when the name is taken, or SH_ENOMEM.
 */
int metrics_register(struct metrics *reg, const struct metric_opts *o, struct metric_family **ret);

/*
 * Updates the child with the given label values (an array of as many strings
 * as the family has label names; NULL when it has none). Return 0, SH_EINVAL
 * (NULL family, wrong type, negative counter increment, NULL label value) or
 * SH_ENOMEM.
 */
int metrics_add(struct metric_family *f, const char *const *values, double v);     /* counter, gauge */
int metrics_set(struct metric_family *f, const char *const *values, double v);     /* gauge */
int metrics_observe(struct metric_family *f, const char *const *values, double v); /* histogram */

/* Creates the child with the given label values at zero when it does not
 * exist yet (any type): a series exported before its first event, so that
 * rate() and increase() see that first event. 0, SH_EINVAL or SH_ENOMEM. */
int metrics_touch(struct metric_family *f, const char *const *values);

/*
 * A collector fills `scratch` (a fresh registry, freed after the render) with
 * the families it reports. A non-zero return drops its output for this
 * render. It runs on the rendering thread without the registry's lock held.
 */
typedef int (*metrics_collector)(void *ctx, struct metrics *scratch);

/* Adds a collector. Returns 0, SH_EINVAL or SH_ENOMEM. */
int metrics_add_collector(struct metrics *reg, metrics_collector fn, void *ctx);

/* Removes a collector added with the same fn and ctx (no-op if absent). Waits
 * for a render that is running collectors, so ctx may be freed afterwards.
 * Must not be called from a collector. */
void metrics_remove_collector(struct metrics *reg, metrics_collector fn, void *ctx);

/* Renders the exposition text (owned string), or NULL on allocation failure. */
char *metrics_render(struct metrics *reg);

#endif
