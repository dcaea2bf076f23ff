/* drift_scan.c — a CSV's columns typed, numbers spilled, categories counted (drift_scan.h). */
#include "drift/drift_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "data/csv.h"
#include "data/numtext.h"

#define SPILL_MIN_VALUES 16 /* wide files: 100000 columns × 16 × 8 B = 12.8 MB */
#define SPILL_MAX_VALUES 65536

struct scanner {
    const char *path;
    const struct missing_set *ms;
    char **ret_err;
    struct csv_reader *rd;
    struct drift_scan *out;
    bool *seen_number; /* per column */
    bool *reread;      /* per column: text after numbers, texts counted in pass 2 */
    bool any_reread;
};

static int nomem(struct scanner *s)
{
    if (s->ret_err) {
        free(*s->ret_err);
        if (asprintf(s->ret_err, "%s:1: out of memory", s->path) < 0)
            *s->ret_err = NULL;
    }
    return SH_ENOMEM;
}

static int spill_failed(struct scanner *s, int r)
{
    if (r == SH_ENOMEM)
        return nomem(s);
    if (s->ret_err) {
        free(*s->ret_err);
        if (asprintf(s->ret_err, "%s: cannot write the temporary file of its numbers (disk full?)",
                     s->path) < 0)
            *s->ret_err = NULL;
    }
    return SH_EIO;
}

static int header(struct scanner *s, size_t budget, const char *tmpdir)
{
    struct csv_record rec;
    int k = csv_reader_header(s->rd, &rec, s->ret_err);
    if (k != 0)
        return k;
    struct drift_scan *o = s->out;
    size_t n = rec.nfields;
    o->cols = calloc(n ? n : 1, sizeof *o->cols);
    s->seen_number = calloc(n ? n : 1, sizeof *s->seen_number);
    s->reread = calloc(n ? n : 1, sizeof *s->reread);
    if (!o->cols || !s->seen_number || !s->reread)
        return nomem(s);
    o->ncols = n;
    for (size_t c = 0; c < n; c++) {
        o->cols[c].numeric = true;
        if (!(o->cols[c].name = strndup(rec.fields[c].val, rec.fields[c].len)))
            return nomem(s);
    }
    size_t per = budget / 8 / sizeof(double) / (n ? n : 1);
    if (per < SPILL_MIN_VALUES)
        per = SPILL_MIN_VALUES;
    if (per > SPILL_MAX_VALUES)
        per = SPILL_MAX_VALUES;
    char *err = NULL;
    k = drift_spill_open(&o->spill, tmpdir, n, per, &err);
    if (k != 0) {
        if (s->ret_err) {
            free(*s->ret_err);
            *s->ret_err = err;
        } else {
            free(err);
        }
        return k;
    }
    return 0;
}

/* A column turns to text: its numbers are forgotten; when there were some,
 * its texts come from the second pass. */
static void to_text(struct scanner *s, size_t c)
{
    struct drift_scan_col *col = &s->out->cols[c];
    col->numeric = false;
    drift_spill_drop(&s->out->spill, c);
    if (s->seen_number[c]) {
        s->reread[c] = true;
        s->any_reread = true;
    }
}

static int cell(struct scanner *s, size_t c, const struct csv_field *f)
{
    if (missing_is(s->ms, f->val, f->len))
        return 0;
    struct drift_scan_col *col = &s->out->cols[c];
    if (col->numeric) {
        double v;
        if (num_parse(f->val, f->len, &v)) {
            if (v == 0)
                v = 0; /* -0 == 0: one key for both */
            if (col->nvalues == 0 || v < col->min)
                col->min = v;
            if (col->nvalues == 0 || v > col->max)
                col->max = v;
            col->nvalues++;
            s->seen_number[c] = true;
            int r = drift_spill_put(&s->out->spill, c, v);
            return r ? spill_failed(s, r) : 0;
        }
        to_text(s, c);
        col->nvalues = 0;
    }
    if (s->reread[c])
        return 0;
    col->nvalues++;
    return drift_cats_add(&col->cats, f->val, f->len, 1) ? nomem(s) : 0;
}

/* The second pass: the texts of the columns that turned to text late. */
static int reread(struct scanner *s)
{
    struct csv_record rec;
    int k = csv_reader_rewind(s->rd, s->ret_err);
    if (k == 0)
        k = csv_reader_header(s->rd, &rec, s->ret_err);
    while (k == 0 && (k = csv_reader_next(s->rd, &rec, s->ret_err)) == 1) {
        k = 0;
        if (rec.nfields == 0)
            continue;
        for (size_t c = 0; c < s->out->ncols; c++) {
            const struct csv_field *f = &rec.fields[c];
            if (!s->reread[c] || missing_is(s->ms, f->val, f->len))
                continue;
            s->out->cols[c].nvalues++;
            if (drift_cats_add(&s->out->cols[c].cats, f->val, f->len, 1) != 0)
                return nomem(s);
        }
    }
    return k;
}

static int rows(struct scanner *s)
{
    struct csv_record rec;
    int k;
    struct drift_scan *o = s->out;
    while ((k = csv_reader_next(s->rd, &rec, s->ret_err)) == 1) {
        if (rec.nfields == 0)
            continue;
        for (size_t c = 0; c < o->ncols; c++)
            if ((k = cell(s, c, &rec.fields[c])) != 0)
                return k;
        o->nrows++;
    }
    if (k < 0)
        return k;
    if ((k = drift_spill_finish(&o->spill)) != 0)
        return spill_failed(s, k);
    return s->any_reread ? reread(s) : 0;
}

int drift_scan_file(const char *path, const struct missing_set *ms, const char *tmpdir,
                    size_t budget, struct drift_scan *out, char **ret_err)
{
    memset(out, 0, sizeof *out);
    out->spill.fd = -1;
    if (ret_err)
        *ret_err = NULL;
    struct scanner s = {.path = path, .ms = ms, .ret_err = ret_err, .out = out};
    int k = csv_reader_open(path, &s.rd, ret_err);
    if (k == 0)
        k = header(&s, budget, tmpdir);
    if (k == 0)
        k = rows(&s);
    csv_reader_close(s.rd);
    free(s.seen_number);
    free(s.reread);
    if (k != 0)
        drift_scan_free(out);
    return k;
}

void drift_scan_free(struct drift_scan *s)
{
    if (!s)
        return;
    for (size_t c = 0; c < s->ncols && s->cols; c++) {
        free(s->cols[c].name);
        drift_cats_free(&s->cols[c].cats);
    }
    free(s->cols);
    drift_spill_close(&s->spill);
    memset(s, 0, sizeof *s);
    s->spill.fd = -1;
}
