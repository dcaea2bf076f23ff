/* datafix_isolated.c — datafix_run in a forked child under a memory budget
 * (datafix_isolated.h, base/isolate.h): the report comes back over a pipe. */
#include "data/datafix_isolated.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/isolate.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* The reasons num_bounds() gives (static text in the report). */
static const char *const skip_reasons[] = {
    "IQR is 0", "fewer than " STR(DATAFIX_MIN_DISTINCT) " distinct values", NULL};

static void put_stats(struct wbuf *b, const struct num_stats *s)
{
    wbuf_u64(b, s->n);
    const double v[] = {s->mean, s->median, s->q1, s->q3, s->min, s->max, s->q1_below, s->q3_above};
    wbuf_bytes(b, v, sizeof v);
}

static void get_stats(struct rbuf *r, struct num_stats *s)
{
    s->n = rbuf_u64(r);
    double v[8];
    rbuf_bytes(r, v, sizeof v);
    s->mean = v[0], s->median = v[1], s->q1 = v[2], s->q3 = v[3];
    s->min = v[4], s->max = v[5], s->q1_below = v[6], s->q3_above = v[7];
}

void datafix_report_encode(const struct datafix_report *rep, struct wbuf *b)
{
    wbuf_str(b, rep->path);
    wbuf_u64(b, rep->rows);
    wbuf_u64(b, rep->rows_dropped);
    wbuf_u64(b, rep->cols ? rep->ncols : 0);
    for (size_t c = 0; rep->cols && c < rep->ncols; c++) {
        const struct datafix_column *k = &rep->cols[c];
        wbuf_str(b, k->name);
        wbuf_u64(b, (uint64_t)k->numeric | (uint64_t)k->has_fill << 1 |
                        (uint64_t)k->has_bounds << 2);
        wbuf_u64(b, k->missing);
        wbuf_u64(b, k->filled);
        wbuf_u64(b, k->outliers);
        wbuf_u64(b, k->capped);
        wbuf_f64(b, k->fill_num);
        wbuf_str(b, k->fill_text);
        wbuf_f64(b, k->lower);
        wbuf_f64(b, k->upper);
        wbuf_f64(b, k->q1);
        wbuf_f64(b, k->q3);
        uint64_t skip = 0;
        for (size_t i = 0; k->capping_skipped && skip_reasons[i]; i++)
            if (strcmp(k->capping_skipped, skip_reasons[i]) == 0)
                skip = i + 1;
        wbuf_u64(b, skip);
        put_stats(b, &k->stats);
    }
    wbuf_u64(b, rep->cells_changed);
    wbuf_f64(b, rep->fixed_fraction);
    wbuf_u64(b, (uint64_t)rep->refused | (uint64_t)rep->written << 1);
    wbuf_str(b, rep->backup);
    wbuf_u64(b, rep->bytes_in);
    wbuf_u64(b, rep->bytes_out);
}

int datafix_report_decode(const char *data, size_t len, struct datafix_report *rep)
{
    memset(rep, 0, sizeof *rep);
    struct rbuf r = {.p = data, .left = len};
    rep->path = rbuf_str(&r);
    rep->rows = rbuf_u64(&r);
    rep->rows_dropped = rbuf_u64(&r);
    uint64_t ncols = rbuf_u64(&r);
    if (r.bad || ncols > len)
        return SH_EINVAL;
    if (ncols && !(rep->cols = calloc(ncols, sizeof *rep->cols)))
        return SH_ENOMEM;
    rep->ncols = ncols;
    for (size_t c = 0; c < ncols && !r.bad; c++) {
        struct datafix_column *k = &rep->cols[c];
        k->name = rbuf_str(&r);
        uint64_t flags = rbuf_u64(&r);
        k->numeric = flags & 1;
        k->has_fill = flags & 2;
        k->has_bounds = flags & 4;
        k->missing = rbuf_u64(&r);
        k->filled = rbuf_u64(&r);
        k->outliers = rbuf_u64(&r);
        k->capped = rbuf_u64(&r);
        k->fill_num = rbuf_f64(&r);
        k->fill_text = rbuf_str(&r);
        k->lower = rbuf_f64(&r);
        k->upper = rbuf_f64(&r);
        k->q1 = rbuf_f64(&r);
        k->q3 = rbuf_f64(&r);
        uint64_t skip = rbuf_u64(&r);
        k->capping_skipped = skip >= 1 && skip <= 2 ? skip_reasons[skip - 1] : NULL;
        get_stats(&r, &k->stats);
    }
    rep->cells_changed = rbuf_u64(&r);
    rep->fixed_fraction = rbuf_f64(&r);
    uint64_t flags = rbuf_u64(&r);
    rep->refused = flags & 1;
    rep->written = flags & 2;
    rep->backup = rbuf_str(&r);
    rep->bytes_in = rbuf_u64(&r);
    rep->bytes_out = rbuf_u64(&r);
    return r.bad || r.left ? SH_EINVAL : 0;
}

struct job {
    const char *path;
    const struct datafix_options *o;
};

static int work(void *arg, struct wbuf *out, char **ret_err)
{
    struct job *j = arg;
    struct datafix_options o = *j->o;
    o.progress = NULL; /* the caller's callback lives in the parent */
    struct datafix_report rep;
    int rc = datafix_run(j->path, &o, &rep, ret_err);
    datafix_report_encode(&rep, out);
    datafix_report_free(&rep);
    return rc;
}

int datafix_run_isolated(const char *path, const struct datafix_options *o, uint64_t budget,
                         struct datafix_report *rep, char **ret_err)
{
    memset(rep, 0, sizeof *rep);
    struct job j = {.path = path, .o = o};
    char *data = NULL;
    size_t len = 0;
    int rc = isolate_run(budget, work, &j, &data, &len, ret_err);
    if (data) {
        int drc = datafix_report_decode(data, len, rep);
        free(data);
        if (drc) {
            datafix_report_free(rep);
            if (rc == 0) {
                free(*ret_err);
                *ret_err = strdup("the data work's report could not be read back");
                rc = drc == SH_ENOMEM ? SH_ENOMEM : SH_EIO;
            }
        }
    }
    return rc;
}
