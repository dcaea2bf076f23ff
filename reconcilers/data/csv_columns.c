/*
 * csv_columns.c — csv_load_columns (csv_columns.h): one pass that keeps
 * numbers as doubles and texts of text columns; a column that turns out to
 * be text after some numbers is read again in a second pass for its texts.
 */
#include "data/csv_columns.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv.h"
#include "data/missing.h"
#include "data/numtext.h"
#include "base/errors.h"

struct colstate {
    bool numeric;
    bool seen_number; /* a non-missing number was stored */
    bool reread;      /* text column that needs the second pass */
    double *num;
    char **str;
    size_t cap;
};

static int set_err(char **ret_err, const char *path, const char *msg)
{
    if (ret_err) {
        free(*ret_err);
        if (asprintf(ret_err, "%s:1: %s", path, msg) < 0)
            *ret_err = NULL;
    }
    return SH_ENOMEM;
}

static int grow(struct colstate *c, size_t need)
{
    if (need <= c->cap)
        return 0;
    size_t n = c->cap ? c->cap * 2 : 64; /* small: wide files have many columns */
    while (n < need)
        n *= 2;
    if (c->numeric) {
        double *v = realloc(c->num, n * sizeof *v);
        if (!v)
            return SH_ENOMEM;
        c->num = v;
    } else {
        char **s = realloc(c->str, n * sizeof *s);
        if (!s)
            return SH_ENOMEM;
        memset(s + c->cap, 0, (n - c->cap) * sizeof *s);
        c->str = s;
    }
    c->cap = n;
    return 0;
}

/* A column that was numeric (only missing cells or numbers so far) turns to
 * text; when numbers were seen their texts come from a second pass. */
static int to_text(struct colstate *c)
{
    c->numeric = false;
    c->reread = c->seen_number;
    free(c->num);
    c->num = NULL;
    c->str = calloc(c->cap ? c->cap : 1, sizeof *c->str);
    return c->str ? 0 : SH_ENOMEM;
}

void csv_columns_free(struct csv_columns *c)
{
    if (!c || !c->cols)
        return;
    for (size_t i = 0; i < c->ncols; i++) {
        struct csv_column *col = &c->cols[i];
        free(col->name);
        free(col->num);
        if (col->str)
            for (size_t r = 0; r < c->nrows; r++)
                free(col->str[r]);
        free(col->str);
    }
    free(c->cols);
    memset(c, 0, sizeof *c);
}

static void free_states(struct colstate *st, size_t n, size_t rows)
{
    if (!st)
        return;
    for (size_t i = 0; i < n; i++) {
        free(st[i].num);
        if (st[i].str)
            for (size_t r = 0; r < rows; r++)
                free(st[i].str[r]);
        free(st[i].str);
    }
    free(st);
}

/* The second pass: texts of the columns that turned to text late. */
static int reread_texts(struct csv_reader *rd, struct colstate *st, size_t ncols,
                        const struct missing_set *ms, char **ret_err)
{
    struct csv_record rec;
    int k = csv_reader_rewind(rd, ret_err);
    if (k == 0)
        k = csv_reader_header(rd, &rec, ret_err);
    size_t row = 0;
    while (k == 0 && (k = csv_reader_next(rd, &rec, ret_err)) == 1) {
        k = 0;
        if (rec.nfields == 0)
            continue;
        for (size_t c = 0; c < ncols; c++) {
            if (!st[c].reread || row >= st[c].cap)
                continue;
            const struct csv_field *f = &rec.fields[c];
            if (missing_is(ms, f->val, f->len))
                continue;
            if (!(st[c].str[row] = strndup(f->val, f->len)))
                return SH_ENOMEM;
        }
        row++;
    }
    return k;
}

int csv_load_columns(const char *path, const char *const *missing_tokens, size_t ntokens,
                     struct csv_columns *out, char **ret_err)
{
    memset(out, 0, sizeof *out);
    if (ret_err)
        *ret_err = NULL;
    struct missing_set ms;
    missing_set_init(&ms, missing_tokens, ntokens);
    struct csv_reader *rd = NULL;
    int k = csv_reader_open(path, &rd, ret_err);
    if (k != 0)
        return k;
    struct csv_record rec;
    struct colstate *st = NULL;
    size_t ncols = 0, row = 0;
    size_t *missing = NULL;
    char **names = NULL;
    bool any_reread = false;
    k = csv_reader_header(rd, &rec, ret_err);
    if (k != 0)
        goto out;
    ncols = rec.nfields;
    st = calloc(ncols, sizeof *st);
    missing = calloc(ncols, sizeof *missing);
    names = calloc(ncols, sizeof *names);
    if (!st || !missing || !names) {
        k = set_err(ret_err, path, "out of memory");
        goto out;
    }
    for (size_t c = 0; c < ncols; c++) {
        st[c].numeric = true;
        if (!(names[c] = strndup(rec.fields[c].val, rec.fields[c].len))) {
            k = set_err(ret_err, path, "out of memory");
            goto out;
        }
    }
    while ((k = csv_reader_next(rd, &rec, ret_err)) == 1) {
        if (rec.nfields == 0)
            continue;
        for (size_t c = 0; c < ncols; c++) {
            struct colstate *s = &st[c];
            if (row >= s->cap && grow(s, row + 1) != 0) {
                k = set_err(ret_err, path, "out of memory");
                goto out;
            }
            const struct csv_field *f = &rec.fields[c];
            if (missing_is(&ms, f->val, f->len)) {
                missing[c]++;
                if (s->numeric)
                    s->num[row] = NAN;
                continue;
            }
            if (s->numeric) {
                double v;
                if (num_parse(f->val, f->len, &v)) {
                    s->num[row] = v;
                    s->seen_number = true;
                    continue;
                }
                if (to_text(s) != 0) {
                    k = set_err(ret_err, path, "out of memory");
                    goto out;
                }
                any_reread |= s->reread;
            }
            if (!s->reread && !(s->str[row] = strndup(f->val, f->len))) {
                k = set_err(ret_err, path, "out of memory");
                goto out;
            }
        }
        row++;
    }
    if (k < 0)
        goto out;
    k = 0;
    if (any_reread && (k = reread_texts(rd, st, ncols, &ms, ret_err)) != 0) {
        if (k == SH_ENOMEM)
            set_err(ret_err, path, "out of memory");
        goto out;
    }
    out->cols = calloc(ncols ? ncols : 1, sizeof *out->cols);
    if (!out->cols) {
        k = set_err(ret_err, path, "out of memory");
        goto out;
    }
    out->ncols = ncols;
    out->nrows = row;
    for (size_t c = 0; c < ncols; c++) {
        struct csv_column *col = &out->cols[c];
        col->name = names[c];
        names[c] = NULL;
        col->numeric = st[c].numeric;
        col->missing = missing[c];
        if (col->numeric) {
            col->num = st[c].num ? st[c].num : malloc(sizeof(double));
            st[c].num = NULL;
        } else {
            col->str = st[c].str ? st[c].str : calloc(1, sizeof(char *));
            st[c].str = NULL;
        }
        if (!col->num && !col->str) {
            csv_columns_free(out);
            k = set_err(ret_err, path, "out of memory");
            goto out;
        }
    }
out:
    free_states(st, ncols, row);
    if (names)
        for (size_t c = 0; c < ncols; c++)
            free(names[c]);
    free(names);
    free(missing);
    csv_reader_close(rd);
    return k;
}
