/*
 * metrics.c — the Prometheus registry of metrics.h: families, children keyed
 * by label values (a sorted array per family), collectors, and the text
 * exposition format 0.0.4.
 *
 * Locking: `lock` guards the families and their children; `collect_lock`
 * guards the collector list and is held while collectors run, so removing a
 * collector waits for a render in progress. Collectors run before the
 * registry is rendered and without `lock`, so they may update the registry's
 * own families (their values then show in the same render).
 */
#include "base/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

struct child {
    char **values;     /* nlabels label values */
    double value;      /* counter, gauge */
    double sum;        /* histogram */
    uint64_t count;    /* histogram */
    uint64_t *buckets; /* histogram: per-bucket (non-cumulative) counts, nbuckets */
};

struct metric_family {
    struct metrics *reg;
    enum metric_type type;
    char *name;
    char *help;
    char **labels;
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    struct child **children; /* sorted by label values */
    size_t nchildren, capchildren;
    struct metric_family *next;
};

struct collector {
    metrics_collector fn;
    void *ctx;
};

struct metrics {
    pthread_mutex_t lock;
    struct metric_family *first, *last;
    pthread_mutex_t collect_lock;
    struct collector *collectors;
    size_t ncollectors;
};

/* ---- a growing string ---------------------------------------------------- */

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_reserve(struct sbuf *b, size_t extra)
{
    if (b->oom || b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sbuf *b, char c)
{
    sb_putn(b, &c, 1);
}

/* Escapes \ and newline, and " when quoted (label values). */
static void sb_escaped(struct sbuf *b, const char *s, bool quoted)
{
    for (; *s; s++) {
        if (*s == '\\')
            sb_puts(b, "\\\\");
        else if (*s == '\n')
            sb_puts(b, "\\n");
        else if (*s == '"' && quoted)
            sb_puts(b, "\\\"");
        else
            sb_putc(b, *s);
    }
}

/* A float as Prometheus parses it: the shortest text that reads back exactly. */
static void format_value(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
    } else if (isinf(v)) {
        snprintf(buf, size, "%s", v > 0 ? "+Inf" : "-Inf");
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, size, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    }
}

static void sb_value(struct sbuf *b, double v)
{
    char buf[40];
    format_value(v, buf, sizeof buf);
    sb_puts(b, buf);
}

/* ---- names ----------------------------------------------------------------- */

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- registry ---------------------------------------------------------------- */

struct metrics *metrics_new(void)
{
    struct metrics *reg = calloc(1, sizeof *reg);
    if (!reg)
        return NULL;
    pthread_mutex_init(&reg->lock, NULL);
    pthread_mutex_init(&reg->collect_lock, NULL);
    return reg;
}

static void child_free(struct child *c, size_t nlabels)
{
    if (!c)
        return;
    for (size_t i = 0; i < nlabels; i++)
        free(c->values[i]);
    free(c->values);
    free(c->buckets);
    free(c);
}

static void family_free(struct metric_family *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nchildren; i++)
        child_free(f->children[i], f->nlabels);
    free(f->children);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->labels);
    free(f->bounds);
    free(f->name);
    free(f->help);
    free(f);
}

void metrics_free(struct metrics *reg)
{
    if (!reg)
        return;
    struct metric_family *f = reg->first;
    while (f) {
        struct metric_family *next = f->next;
        family_free(f);
        f = next;
    }
    free(reg->collectors);
    pthread_mutex_destroy(&reg->lock);
    pthread_mutex_destroy(&reg->collect_lock);
    free(reg);
}

static struct metric_family *find_family(struct metrics *reg, const char *name)
{
    for (struct metric_family *f = reg->first; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static int check_opts(const struct metric_opts *o)
{
    if (!o || !valid_name(o->name, true) || (o->type == METRIC_COUNTER && !ends_with(o->name, "_total")))
        return SH_EINVAL;
    if (o->type != METRIC_COUNTER && o->type != METRIC_GAUGE && o->type != METRIC_HISTOGRAM)
        return SH_EINVAL;
    for (size_t i = 0; o->labels && o->labels[i]; i++) {
        const char *l = o->labels[i];
        if (!valid_name(l, false) || strncmp(l, "__", 2) == 0)
            return SH_EINVAL;
        if (o->type == METRIC_HISTOGRAM && strcmp(l, "le") == 0)
            return SH_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(o->labels[j], l) == 0)
                return SH_EINVAL;
    }
    if (o->type == METRIC_HISTOGRAM) {
        if (o->nbuckets > 0 && !o->buckets)
            return SH_EINVAL;
        for (size_t i = 0; i < o->nbuckets; i++) {
            if (!isfinite(o->buckets[i]) || (i > 0 && o->buckets[i] <= o->buckets[i - 1]))
                return SH_EINVAL;
        }
    }
    return 0;
}

int metrics_register(struct metrics *reg, const struct metric_opts *o, struct metric_family **ret)
{
    if (!reg)
        return SH_EINVAL;
    int err = check_opts(o);
    if (err)
        return err;
    struct metric_family *f = calloc(1, sizeof *f);
    if (!f)
        return SH_ENOMEM;
    f->reg = reg;
    f->type = o->type;
    f->name = strdup(o->name);
    f->help = strdup(o->help ? o->help : "");
    while (o->labels && o->labels[f->nlabels])
        f->nlabels++;
    bool oom = !f->name || !f->help;
    if (!oom && f->nlabels) {
        f->labels = calloc(f->nlabels, sizeof *f->labels);
        oom = !f->labels;
        for (size_t i = 0; !oom && i < f->nlabels; i++)
            oom = !(f->labels[i] = strdup(o->labels[i]));
    }
    if (!oom && o->type == METRIC_HISTOGRAM && o->nbuckets) {
        f->bounds = malloc(o->nbuckets * sizeof *f->bounds);
        oom = !f->bounds;
        if (!oom) {
            memcpy(f->bounds, o->buckets, o->nbuckets * sizeof *f->bounds);
            f->nbounds = o->nbuckets;
        }
    }
    if (oom) {
        family_free(f);
        return SH_ENOMEM;
    }
    pthread_mutex_lock(&reg->lock);
    if (find_family(reg, f->name)) {
        pthread_mutex_unlock(&reg->lock);
        family_free(f);
        return SH_EEXISTS;
    }
    if (reg->last)
        reg->last->next = f;
    else
        reg->first = f;
    reg->last = f;
    pthread_mutex_unlock(&reg->lock);
    if (ret)
        *ret = f;
    return 0;
}

/* ---- children ------------------------------------------------------------------ */

static int cmp_values(char *const *a, const char *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int c = strcmp(a[i], b[i]);
        if (c)
            return c;
    }
    return 0;
}

/* Finds or creates the child for values; called with the lock held. */
static struct child *get_child(struct metric_family *f, const char *const *values)
{
    for (size_t i = 0; i < f->nlabels; i++)
        if (!values || !values[i])
            return NULL;
    size_t lo = 0, hi = f->nchildren;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_values(f->children[mid]->values, values, f->nlabels);
        if (c == 0)
            return f->children[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (f->nchildren == f->capchildren) {
        size_t cap = f->capchildren ? f->capchildren * 2 : 4;
        struct child **p = realloc(f->children, cap * sizeof *p);
        if (!p)
            return NULL;
        f->children = p;
        f->capchildren = cap;
    }
    struct child *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    bool oom = false;
    if (f->nlabels) {
        c->values = calloc(f->nlabels, sizeof *c->values);
        oom = !c->values;
        for (size_t i = 0; !oom && i < f->nlabels; i++)
            oom = !(c->values[i] = strdup(values[i]));
    }
    if (!oom && f->type == METRIC_HISTOGRAM && f->nbounds) {
        c->buckets = calloc(f->nbounds, sizeof *c->buckets);
        oom = !c->buckets;
    }
    if (oom) {
        if (c->values)
            for (size_t i = 0; i < f->nlabels; i++)
                free(c->values[i]);
        free(c->values);
        free(c->buckets);
        free(c);
        return NULL;
    }
    memmove(&f->children[lo + 1], &f->children[lo], (f->nchildren - lo) * sizeof *f->children);
    f->children[lo] = c;
    f->nchildren++;
    return c;
}

enum update_op { OP_ADD, OP_SET, OP_OBSERVE, OP_TOUCH };

static int update(struct metric_family *f, const char *const *values, double v, enum update_op op)
{
    if (!f)
        return SH_EINVAL;
    switch (op) {
    case OP_ADD:
        if (f->type == METRIC_HISTOGRAM || (f->type == METRIC_COUNTER && !(v >= 0)))
            return SH_EINVAL;
        break;
    case OP_SET:
        if (f->type != METRIC_GAUGE)
            return SH_EINVAL;
        break;
    case OP_OBSERVE:
        if (f->type != METRIC_HISTOGRAM)
            return SH_EINVAL;
        break;
    case OP_TOUCH:
        break;
    }
    for (size_t i = 0; i < f->nlabels; i++)
        if (!values || !values[i])
            return SH_EINVAL;
    pthread_mutex_lock(&f->reg->lock);
    struct child *c = get_child(f, values);
    if (!c) {
        pthread_mutex_unlock(&f->reg->lock);
        return SH_ENOMEM;
    }
    switch (op) {
    case OP_ADD:
        c->value += v;
        break;
    case OP_SET:
        c->value = v;
        break;
    case OP_OBSERVE:
        c->sum += v;
        c->count++;
        for (size_t i = 0; i < f->nbounds; i++) {
            if (v <= f->bounds[i]) {
                c->buckets[i]++;
                break;
            }
        }
        break;
    case OP_TOUCH:
        break;
    }
    pthread_mutex_unlock(&f->reg->lock);
    return 0;
}

int metrics_add(struct metric_family *f, const char *const *values, double v)
{
    return update(f, values, v, OP_ADD);
}

int metrics_set(struct metric_family *f, const char *const *values, double v)
{
    return update(f, values, v, OP_SET);
}

int metrics_observe(struct metric_family *f, const char *const *values, double v)
{
    return update(f, values, v, OP_OBSERVE);
}

int metrics_touch(struct metric_family *f, const char *const *values)
{
    return update(f, values, 0, OP_TOUCH);
}

/* ---- collectors ------------------------------------------------------------------- */

int metrics_add_collector(struct metrics *reg, metrics_collector fn, void *ctx)
{
    if (!reg || !fn)
        return SH_EINVAL;
    pthread_mutex_lock(&reg->collect_lock);
    struct collector *p = realloc(reg->collectors, (reg->ncollectors + 1) * sizeof *p);
    if (!p) {
        pthread_mutex_unlock(&reg->collect_lock);
        return SH_ENOMEM;
    }
    reg->collectors = p;
    reg->collectors[reg->ncollectors++] = (struct collector){fn, ctx};
    pthread_mutex_unlock(&reg->collect_lock);
    return 0;
}

void metrics_remove_collector(struct metrics *reg, metrics_collector fn, void *ctx)
{
    if (!reg)
        return;
    pthread_mutex_lock(&reg->collect_lock);
    for (size_t i = 0; i < reg->ncollectors; i++) {
        if (reg->collectors[i].fn == fn && reg->collectors[i].ctx == ctx) {
            memmove(&reg->collectors[i], &reg->collectors[i + 1],
                    (reg->ncollectors - i - 1) * sizeof *reg->collectors);
            reg->ncollectors--;
            break;
        }
    }
    pthread_mutex_unlock(&reg->collect_lock);
}

/* ---- rendering -------------------------------------------------------------------- */

static const char *type_name(enum metric_type t)
{
    switch (t) {
    case METRIC_COUNTER:
        return "counter";
    case METRIC_GAUGE:
        return "gauge";
    case METRIC_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

/* name{l1="v1",...[,le="x"]} value\n */
static void render_sample(struct sbuf *b, const struct metric_family *f, const struct child *c,
                          const char *suffix, const char *le, double v)
{
    sb_puts(b, f->name);
    sb_puts(b, suffix);
    if (f->nlabels || le) {
        sb_putc(b, '{');
        for (size_t i = 0; i < f->nlabels; i++) {
            if (i)
                sb_putc(b, ',');
            sb_puts(b, f->labels[i]);
            sb_puts(b, "=\"");
            sb_escaped(b, c->values[i], true);
            sb_putc(b, '"');
        }
        if (le) {
            if (f->nlabels)
                sb_putc(b, ',');
            sb_puts(b, "le=\"");
            sb_puts(b, le);
            sb_putc(b, '"');
        }
        sb_putc(b, '}');
    }
    sb_putc(b, ' ');
    sb_value(b, v);
    sb_putc(b, '\n');
}

static void render_family(struct sbuf *b, const struct metric_family *f)
{
    sb_puts(b, "# HELP ");
    sb_puts(b, f->name);
    sb_putc(b, ' ');
    sb_escaped(b, f->help, false);
    sb_puts(b, "\n# TYPE ");
    sb_puts(b, f->name);
    sb_putc(b, ' ');
    sb_puts(b, type_name(f->type));
    sb_putc(b, '\n');
    for (size_t i = 0; i < f->nchildren; i++) {
        const struct child *c = f->children[i];
        if (f->type != METRIC_HISTOGRAM) {
            render_sample(b, f, c, "", NULL, c->value);
            continue;
        }
        uint64_t cum = 0;
        for (size_t j = 0; j < f->nbounds; j++) {
            char le[40];
            cum += c->buckets[j];
            format_value(f->bounds[j], le, sizeof le);
            render_sample(b, f, c, "_bucket", le, (double)cum);
        }
        render_sample(b, f, c, "_bucket", "+Inf", (double)c->count);
        render_sample(b, f, c, "_sum", NULL, c->sum);
        render_sample(b, f, c, "_count", NULL, (double)c->count);
    }
}

/* Names rendered so far, to keep collector output from repeating a family. */
struct names {
    const char **v;
    size_t n, cap;
};

static bool names_has(const struct names *ns, const char *name)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], name) == 0)
            return true;
    return false;
}

static bool names_add(struct names *ns, const char *name)
{
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 32;
        const char **p = realloc(ns->v, cap * sizeof *p);
        if (!p)
            return false;
        ns->v = p;
        ns->cap = cap;
    }
    ns->v[ns->n++] = name;
    return true;
}

char *metrics_render(struct metrics *reg)
{
    if (!reg)
        return NULL;
    struct sbuf b = {0};
    struct names seen = {0};
    struct metrics **scratch = NULL;
    size_t nscratch = 0;
    bool oom = false;

    /* Collectors first, so they may also refresh the registry's own values. */
    pthread_mutex_lock(&reg->collect_lock);
    if (reg->ncollectors) {
        scratch = calloc(reg->ncollectors, sizeof *scratch);
        oom = !scratch;
    }
    for (size_t i = 0; !oom && i < reg->ncollectors; i++) {
        struct metrics *s = metrics_new();
        if (!s) {
            oom = true;
            break;
        }
        if (reg->collectors[i].fn(reg->collectors[i].ctx, s) != 0) {
            metrics_free(s);
            continue;
        }
        scratch[nscratch++] = s;
    }
    pthread_mutex_unlock(&reg->collect_lock);

    pthread_mutex_lock(&reg->lock);
    for (const struct metric_family *f = reg->first; !oom && f; f = f->next) {
        render_family(&b, f);
        oom = !names_add(&seen, f->name);
    }
    pthread_mutex_unlock(&reg->lock);

    for (size_t i = 0; i < nscratch; i++) {
        pthread_mutex_lock(&scratch[i]->lock);
        for (const struct metric_family *f = scratch[i]->first; !oom && f; f = f->next) {
            if (names_has(&seen, f->name))
                continue;
            render_family(&b, f);
            oom = !names_add(&seen, f->name);
        }
        pthread_mutex_unlock(&scratch[i]->lock);
    }
    /* `seen` borrows names from the scratch registries: free it first. */
    free(seen.v);
    for (size_t i = 0; i < nscratch; i++)
        metrics_free(scratch[i]);
    free(scratch);

    if (!oom && !b.p)
        sb_putn(&b, "", 0); /* an empty registry renders "" */
    if (oom || b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
