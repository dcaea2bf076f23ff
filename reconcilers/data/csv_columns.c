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

/* One load: the reader, the column states and what the header and the rows gave. */
struct loader {
    const char *path;
    char **ret_err;
    struct missing_set ms;
    struct csv_reader *rd;
    struct colstate *st;
    size_t ncols, row;
    size_t *missing;
    char **names;
    bool any_reread;
};

static int nomem(struct loader *l)
{
    return set_err(l->ret_err, l->path, "out of memory");
}

/* The header: the columns, their names, every one numeric until a text shows. */
static int load_header(struct loader *l)
{
    struct csv_record rec;
    int k = csv_reader_header(l->rd, &rec, l->ret_err);
    if (k != 0)
        return k;
    l->ncols = rec.nfields;
    l->st = calloc(l->ncols, sizeof *l->st);
    l->missing = calloc(l->ncols, sizeof *l->missing);
    l->names = calloc(l->ncols, sizeof *l->names);
    if (!l->st || !l->missing || !l->names)
        return nomem(l);
    for (size_t c = 0; c < l->ncols; c++) {
        l->st[c].numeric = true;
        if (!(l->names[c] = strndup(rec.fields[c].val, rec.fields[c].len)))
            return nomem(l);
    }
    return 0;
}

/* One cell of row l->row in column c: missing, a number, or a text. */
static int load_cell(struct loader *l, size_t c, const struct csv_field *f)
{
    struct colstate *s = &l->st[c];
    if (l->row >= s->cap && grow(s, l->row + 1) != 0)
        return nomem(l);
    if (missing_is(&l->ms, f->val, f->len)) {
        l->missing[c]++;
        if (s->numeric)
            s->num[l->row] = NAN;
        return 0;
    }
    if (s->numeric) {
        double v;
        if (num_parse(f->val, f->len, &v)) {
            s->num[l->row] = v;
            s->seen_number = true;
            return 0;
        }
        if (to_text(s) != 0)
            return nomem(l);
        l->any_reread |= s->reread;
    }
    if (!s->reread && !(s->str[l->row] = strndup(f->val, f->len)))
        return nomem(l);
    return 0;
}

/* The first pass over the rows, then the second one when a column needs it. */
static int load_rows(struct loader *l)
{
    struct csv_record rec;
    int k;
    while ((k = csv_reader_next(l->rd, &rec, l->ret_err)) == 1) {
        if (rec.nfields == 0)
            continue;
        for (size_t c = 0; c < l->ncols; c++)
            if ((k = load_cell(l, c, &rec.fields[c])) != 0)
                return k;
        l->row++;
    }
    if (k < 0)
        return k;
    if (l->any_reread && (k = reread_texts(l->rd, l->st, l->ncols, &l->ms, l->ret_err)) != 0) {
        if (k == SH_ENOMEM)
            nomem(l);
        return k;
    }
    return 0;
}

/* Moves the columns into out (every column gets a non-NULL array). */
static int hand_over(struct loader *l, struct csv_columns *out)
{
    out->cols = calloc(l->ncols ? l->ncols : 1, sizeof *out->cols);
    if (!out->cols)
        return nomem(l);
    out->ncols = l->ncols;
    out->nrows = l->row;
    for (size_t c = 0; c < l->ncols; c++) {
        struct csv_column *col = &out->cols[c];
        struct colstate *s = &l->st[c];
        col->name = l->names[c];
        l->names[c] = NULL;
        col->numeric = s->numeric;
        col->missing = l->missing[c];
        if (col->numeric) {
            col->num = s->num ? s->num : malloc(sizeof(double));
            s->num = NULL;
        } else {
            col->str = s->str ? s->str : calloc(1, sizeof(char *));
            s->str = NULL;
        }
        if (!col->num && !col->str) {
            csv_columns_free(out);
            return nomem(l);
        }
    }
    return 0;
}

static void loader_free(struct loader *l)
{
    free_states(l->st, l->ncols, l->row);
    if (l->names)
        for (size_t c = 0; c < l->ncols; c++)
            free(l->names[c]);
    free(l->names);
    free(l->missing);
    csv_reader_close(l->rd);
}

int csv_load_columns(const char *path, const char *const *missing_tokens, size_t ntokens,
                     struct csv_columns *out, char **ret_err)
{
    memset(out, 0, sizeof *out);
    if (ret_err)
        *ret_err = NULL;
    struct loader l = {.path = path, .ret_err = ret_err};
    missing_set_init(&l.ms, missing_tokens, ntokens);
    int k = csv_reader_open(path, &l.rd, ret_err);
    if (k != 0)
        return k;
    k = load_header(&l);
    if (k == 0)
        k = load_rows(&l);
    if (k == 0)
        k = hand_over(&l, out);
    loader_free(&l);
    return k;
}
