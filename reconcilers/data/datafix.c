/* datafix.c — analyse, decide and rewrite a CSV file (datafix.h). */
#include "data/datafix.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/csv.h"
#include "data/missing.h"
#include "data/modecount.h"
#include "data/numtext.h"
#include "data/rankselect.h"
#include "data/datafix_patch.h"
#include "data/datafix_stream.h"
#include "data/blockscan.h"
#include "data/backup.h"
#include "base/atomicfile.h"
#include "base/errors.h"

#define F_CHANGE 1u
#define F_DROP 2u
#define PROGRESS_ROWS 8192
#define STR_(x) #x
#define STR(x) STR_(x)

struct col {
    bool numeric;
    bool seen_number;
    bool recount;     /* turned to text after numbers: count its texts in another pass */
    double *vals;     /* numeric: one per row, NaN = missing */
    struct modecount *mc;
    size_t *miss;     /* text: rows of missing cells */
    unsigned char *missbits; /* numeric: a bit per row, set for a missing cell */
    size_t nmiss, miss_cap;
    char fill_txt[40], lo_txt[40], hi_txt[40];
    char *fill_quoted; /* text fill as written (quoted when needed) */
};

static int nomem(struct fixer *f)
{
    return sh_errf(f->ret_err, SH_ENOMEM, "%s: out of memory", f->path);
}

void datafix_options_default(struct datafix_options *o)
{
    memset(o, 0, sizeof *o);
    o->missing = MISSING_MEDIAN;
    o->iqr_multiplier = 3.0;
    o->outliers = OUTLIER_CAP;
    o->max_fixed_fraction = 0.2;
    o->backup_keep = 5;
}

static void progress(struct fixer *f, uint64_t done)
{
    if (f->o->progress)
        f->o->progress(f->o->progress_ctx, done, 2 * f->size);
}

static int reserve(struct fixer *f, size_t need)
{
    if (need <= f->cap)
        return 0;
    size_t n = f->cap ? f->cap + f->cap / 2 : 64; /* small: wide files have many columns */
    if (n < need)
        n = need;
    for (size_t c = 0; c < f->ncols; c++) {
        if (!f->cols[c].numeric)
            continue;
        double *v = realloc(f->cols[c].vals, n * sizeof *v);
        if (!v)
            return SH_ENOMEM;
        f->cols[c].vals = v;
    }
    unsigned char *fl = realloc(f->flag, n);
    if (!fl)
        return SH_ENOMEM;
    f->flag = fl;
    f->cap = n;
    return 0;
}

static int add_miss(struct col *c, size_t row)
{
    if (c->nmiss == c->miss_cap) {
        size_t n = c->miss_cap ? c->miss_cap * 2 : 64;
        size_t *m = realloc(c->miss, n * sizeof *m);
        if (!m)
            return SH_ENOMEM;
        c->miss = m;
        c->miss_cap = n;
    }
    c->miss[c->nmiss++] = row;
    return 0;
}

/* The column turns to text at row `row`. */
static int to_text(struct col *c, size_t row)
{
    c->numeric = false;
    c->recount = c->seen_number;
    if (!(c->mc = modecount_new()))
        return SH_ENOMEM;
    for (size_t r = 0; r < row; r++)
        if (isnan(c->vals[r]) && add_miss(c, r) != 0)
            return SH_ENOMEM;
    free(c->vals);
    c->vals = NULL;
    return 0;
}

/* Pass 1: types, numeric values, text counts, missing cells. */
static int analyse(struct fixer *f)
{
    struct csv_record rec;
    int k = csv_reader_header(f->rd, &rec, f->ret_err);
    if (k != 0)
        return k;
    f->ncols = rec.nfields;
    f->cols = calloc(f->ncols, sizeof *f->cols);
    f->rep->cols = calloc(f->ncols, sizeof *f->rep->cols);
    if (!f->cols || !f->rep->cols)
        return nomem(f);
    f->rep->ncols = f->ncols;
    for (size_t c = 0; c < f->ncols; c++) {
        f->cols[c].numeric = true;
        if (!(f->rep->cols[c].name = strndup(rec.fields[c].val, rec.fields[c].len)))
            return nomem(f);
    }
    uint64_t body_start = csv_reader_offset(f->rd);
    size_t row = 0;
    while ((k = csv_reader_next(f->rd, &rec, f->ret_err)) == 1) {
        if (rec.nfields == 0)
            continue;
        if (row == 1024 && f->cap < 4096) {
            /* size the arrays from the bytes per row so far */
            uint64_t used = csv_reader_offset(f->rd) - body_start;
            double est = (double)(f->size - body_start) / ((double)used / 1024.0) * 1.02 + 1024;
            if (est > 1024 && est < 1e10 && reserve(f, (size_t)est) != 0)
                return nomem(f);
        }
        if (row >= f->cap && reserve(f, row + 1) != 0)
            return nomem(f);
        f->flag[row] = 0;
        for (size_t c = 0; c < f->ncols; c++) {
            struct col *cl = &f->cols[c];
            const struct csv_field *fd = &rec.fields[c];
            if (missing_is(&f->ms, fd->val, fd->len)) {
                if (cl->numeric)
                    cl->vals[row] = NAN;
                else if (add_miss(cl, row) != 0)
                    return nomem(f);
                continue;
            }
            if (cl->numeric) {
                if (num_parse(fd->val, fd->len, &cl->vals[row])) {
                    cl->seen_number = true;
                    continue;
                }
                if (to_text(cl, row) != 0)
                    return nomem(f);
            }
            if (!cl->recount && modecount_add(cl->mc, fd->val, fd->len) != 0)
                return nomem(f);
        }
        row++;
        if (row % PROGRESS_ROWS == 0)
            progress(f, csv_reader_offset(f->rd));
    }
    if (k < 0)
        return k;
    f->nrows = row;
    f->rep->rows = row;
    bool again = false;
    for (size_t c = 0; c < f->ncols; c++)
        again |= f->cols[c].recount;
    if (!again)
        return 0;
    /* the texts of columns that turned to text late */
    if ((k = csv_reader_rewind(f->rd, f->ret_err)) != 0 ||
        (k = csv_reader_header(f->rd, &rec, f->ret_err)) != 0)
        return k;
    while ((k = csv_reader_next(f->rd, &rec, f->ret_err)) == 1) {
        if (rec.nfields == 0)
            continue;
        for (size_t c = 0; c < f->ncols; c++) {
            const struct csv_field *fd = &rec.fields[c];
            if (f->cols[c].recount && !missing_is(&f->ms, fd->val, fd->len) &&
                modecount_add(f->cols[c].mc, fd->val, fd->len) != 0)
                return nomem(f);
        }
    }
    return k < 0 ? k : 0;
}

static double clip(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* A text value as a CSV field: quoted when it holds a comma, quote or line break. */
static char *csv_quote(const char *s, size_t len)
{
    bool need = len == 0;
    size_t q = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ',' || s[i] == '\n' || s[i] == '\r' || s[i] == '"')
            need = true;
        q += s[i] == '"';
    }
    char *out = malloc(len + q + 3);
    if (!out)
        return NULL;
    char *p = out;
    if (need)
        *p++ = '"';
    for (size_t i = 0; i < len; i++) {
        *p++ = s[i];
        if (s[i] == '"')
            *p++ = '"';
    }
    if (need)
        *p++ = '"';
    *p = '\0';
    return out;
}

static bool bit_get(const unsigned char *b, size_t i)
{
    return (b[i >> 3] >> (i & 7)) & 1u;
}

/* Step 1 for a text column: its mode as the fill, or its rows dropped. */
static int text_fill(struct fixer *f, struct col *cl, struct datafix_column *rc)
{
    rc->missing = cl->nmiss;
    const char *m;
    size_t mlen;
    if (f->o->missing == MISSING_DROP_ROW) {
        for (size_t i = 0; i < cl->nmiss; i++)
            f->flag[cl->miss[i]] |= F_DROP;
    } else if (modecount_mode(cl->mc, &m, &mlen, NULL)) {
        rc->has_fill = true;
        if (!(rc->fill_text = strndup(m, mlen)) || !(cl->fill_quoted = csv_quote(m, mlen)))
            return nomem(f);
    }
    return 0;
}

/* Step 1 for a numeric column: statistics and the fill value of the original
 * non-missing values, which cells are missing (cl->missbits), or their rows
 * dropped. */
static int num_fill(struct fixer *f, struct col *cl, struct datafix_column *rc)
{
    const struct datafix_options *o = f->o;
    if (stats_numeric_skipnan(cl->vals, f->nrows, &rc->stats) != 0)
        return nomem(f);
    rc->missing = f->nrows - rc->stats.n;
    if (!(cl->missbits = calloc(f->nrows / 8 + 1, 1)))
        return nomem(f);
    for (size_t r = 0; r < f->nrows; r++)
        if (isnan(cl->vals[r])) {
            cl->missbits[r >> 3] |= (unsigned char)(1u << (r & 7));
            if (o->missing == MISSING_DROP_ROW)
                f->flag[r] |= F_DROP;
        }
    if (rc->stats.n == 0 || o->missing == MISSING_DROP_ROW)
        return 0;
    double fill = rc->stats.median;
    if (o->missing == MISSING_MEAN)
        fill = rc->stats.mean;
    else if (o->missing == MISSING_MODE && mode_of_doubles(cl->vals, f->nrows, &fill) != 0)
        return nomem(f);
    rc->has_fill = true;
    rc->fill_num = fill;
    return 0;
}

/*
 * Steps 2 and 3 for one numeric column, on cl->vals as imputed (NaN: a row
 * that goes, or a column without values; as_original: nothing was filled or
 * dropped, the statistics of step 1 hold): Q1, Q3 and the bounds, or the
 * reason capping is skipped. Returns the values outside the bounds; with
 * outliers drop-row their rows are flagged F_DROP.
 */
static int num_bounds(struct fixer *f, struct col *cl, struct datafix_column *rc, bool as_original,
                      size_t *ret_out)
{
    const struct datafix_options *o = f->o;
    struct num_stats st = rc->stats;
    *ret_out = 0;
    rc->has_bounds = false;
    rc->capping_skipped = NULL;
    if (!as_original && stats_numeric_skipnan(cl->vals, f->nrows, &st) != 0)
        return nomem(f);
    rc->q1 = st.q1;
    rc->q3 = st.q3;
    if (st.n == 0)
        return 0;
    double iqr = st.q3 - st.q1;
    if (!(iqr > 0)) {
        rc->capping_skipped = "IQR is 0";
        return 0;
    }
    if (stats_distinct_upto(cl->vals, f->nrows, DATAFIX_MIN_DISTINCT) < DATAFIX_MIN_DISTINCT) {
        rc->capping_skipped = "fewer than " STR(DATAFIX_MIN_DISTINCT) " distinct values";
        return 0;
    }
    rc->has_bounds = true;
    rc->lower = st.q1 - o->iqr_multiplier * iqr;
    rc->upper = st.q3 + o->iqr_multiplier * iqr;
    /* never inside the values Q1 and Q3 come from: capping cannot move them */
    if (st.q1_below < rc->lower)
        rc->lower = st.q1_below;
    if (st.q3_above > rc->upper)
        rc->upper = st.q3_above;
    size_t out = 0;
    for (size_t r = 0; r < f->nrows; r++) {
        double v = cl->vals[r];
        if (!(v < rc->lower || v > rc->upper)) /* NaN too */
            continue;
        if (!bit_get(cl->missbits, r))
            out++;
        if (o->outliers == OUTLIER_DROP_ROW)
            f->flag[r] |= F_DROP;
    }
    *ret_out = out;
    return 0;
}

/* The rows flagged F_DROP leave every numeric column's imputed values. */
static void drop_flagged(struct fixer *f)
{
    for (size_t c = 0; c < f->ncols; c++) {
        struct col *cl = &f->cols[c];
        if (!cl->numeric)
            continue;
        for (size_t r = 0; r < f->nrows; r++)
            if (f->flag[r] & F_DROP)
                cl->vals[r] = NAN;
    }
}

static size_t count_dropped(const struct fixer *f)
{
    size_t n = 0;
    for (size_t r = 0; r < f->nrows; r++)
        n += (f->flag[r] & F_DROP) != 0;
    return n;
}

/* Steps 2 and 3 for every numeric column: once, or with outliers drop-row
 * until no row goes (or so many went that the fix is refused anyway). */
static int all_bounds(struct fixer *f)
{
    const struct datafix_options *o = f->o;
    double total = (double)f->nrows * (double)f->ncols;
    size_t dropped = count_dropped(f);
    for (int round = 1;; round++) {
        for (size_t c = 0; c < f->ncols; c++) {
            struct col *cl = &f->cols[c];
            size_t out;
            if (!cl->numeric)
                continue;
            struct datafix_column *rc = &f->rep->cols[c];
            bool as_original = round == 1 && dropped == 0 && rc->missing == 0;
            int k = num_bounds(f, cl, rc, as_original, &out);
            if (k != 0)
                return k;
            rc->outliers += out;
        }
        if (o->outliers != OUTLIER_DROP_ROW)
            return 0;
        size_t now = count_dropped(f);
        if (now == dropped || (double)now * (double)f->ncols > o->max_fixed_fraction * total)
            return 0;
        if (round == DATAFIX_MAX_DROP_ROUNDS) {
            f->rep->refused = true;
            return sh_errf(f->ret_err, SH_EREFUSED,
                           "%s: dropping outlier rows does not settle after %d rounds "
                           "(%zu rows so far); nothing changed",
                           f->path, round, now);
        }
        dropped = now;
        drop_flagged(f);
    }
}

/* The fill and bounds as written, and which rows change. */
static void mark_changes(struct fixer *f)
{
    const struct datafix_options *o = f->o;
    size_t changed = 0;
    for (size_t c = 0; c < f->ncols; c++) {
        struct col *cl = &f->cols[c];
        struct datafix_column *rc = &f->rep->cols[c];
        if (!cl->numeric) {
            if (!rc->has_fill)
                continue;
            for (size_t i = 0; i < cl->nmiss; i++)
                if (!(f->flag[cl->miss[i]] & F_DROP)) {
                    f->flag[cl->miss[i]] |= F_CHANGE;
                    rc->filled++;
                }
            changed += rc->filled;
            continue;
        }
        bool cap = o->outliers == OUTLIER_CAP && rc->has_bounds;
        if (rc->has_bounds) {
            num_format(rc->lower, cl->lo_txt, sizeof cl->lo_txt);
            num_format(rc->upper, cl->hi_txt, sizeof cl->hi_txt);
        }
        if (rc->has_fill) {
            if (cap)
                rc->fill_num = clip(rc->fill_num, rc->lower, rc->upper);
            num_format(rc->fill_num, cl->fill_txt, sizeof cl->fill_txt);
        }
        for (size_t r = 0; r < f->nrows; r++) {
            if (f->flag[r] & F_DROP)
                continue;
            if (bit_get(cl->missbits, r)) {
                if (rc->has_fill) {
                    f->flag[r] |= F_CHANGE;
                    rc->filled++;
                }
            } else if (cap && (cl->vals[r] < rc->lower || cl->vals[r] > rc->upper)) {
                f->flag[r] |= F_CHANGE;
                rc->capped++;
            }
        }
        changed += rc->filled + rc->capped;
    }
    f->rep->rows_dropped = count_dropped(f);
    changed += f->rep->rows_dropped * f->ncols;
    f->rep->cells_changed = changed;
    double total = (double)f->nrows * (double)f->ncols;
    f->rep->fixed_fraction = total > 0 ? (double)changed / total : 0;
}

/* The fix of datafix.h, decided: step 1 on the original values, the imputed
 * columns (fills in, dropped rows out), steps 2–3, the changes. */
static int decide(struct fixer *f)
{
    if (f->nrows)
        memset(f->flag, 0, f->nrows);
    for (size_t c = 0; c < f->ncols; c++) {
        struct col *cl = &f->cols[c];
        struct datafix_column *rc = &f->rep->cols[c];
        rc->numeric = cl->numeric;
        int k = cl->numeric ? num_fill(f, cl, rc) : text_fill(f, cl, rc);
        if (k != 0)
            return k;
    }
    for (size_t c = 0; c < f->ncols; c++) {
        struct col *cl = &f->cols[c];
        const struct datafix_column *rc = &f->rep->cols[c];
        if (!cl->numeric || !rc->has_fill)
            continue;
        for (size_t r = 0; r < f->nrows; r++)
            if (isnan(cl->vals[r]))
                cl->vals[r] = rc->fill_num;
    }
    drop_flagged(f);
    int k = all_bounds(f);
    if (k != 0)
        return k;
    mark_changes(f);
    return 0;
}

static int put(struct atomic_file *w, const char *p, size_t n)
{
    return atomic_file_put(w, p, n);
}

/* One changed row, field by field. */
static void write_row(struct fixer *f, struct atomic_file *w, const struct csv_record *rec, size_t row)
{
    bool cap = f->o->outliers == OUTLIER_CAP;
    for (size_t c = 0; c < f->ncols; c++) {
        if (c)
            put(w, ",", 1);
        const struct col *cl = &f->cols[c];
        const struct datafix_column *rc = &f->rep->cols[c];
        const struct csv_field *fd = &rec->fields[c];
        const char *t = NULL;
        if (cl->numeric) {
            double v = cl->vals[row];
            if (bit_get(cl->missbits, row)) {
                if (rc->has_fill)
                    t = cl->fill_txt;
            } else if (cap && rc->has_bounds) {
                if (v < rc->lower)
                    t = cl->lo_txt;
                else if (v > rc->upper)
                    t = cl->hi_txt;
            }
        } else if (rc->has_fill && missing_is(&f->ms, fd->val, fd->len)) {
            t = cl->fill_quoted;
        }
        if (t)
            put(w, t, strlen(t));
        else
            put(w, fd->raw, fd->raw_len);
    }
    put(w, rec->raw + rec->raw_len - rec->eol_len, rec->eol_len);
}

/* Splits a line of a plain file (no quotes) at its commas into pf[0..ncols). */
static int split_plain(struct csv_record *rec, struct csv_field *pf, size_t ncols)
{
    const char *p = rec->raw, *end = rec->raw + rec->raw_len - rec->eol_len;
    size_t n = 0;
    for (;;) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        const char *e = c ? c : end;
        if (n == ncols)
            return -1;
        pf[n].val = pf[n].raw = p;
        pf[n].len = pf[n].raw_len = (size_t)(e - p);
        n++;
        if (!c)
            break;
        p = c + 1;
    }
    if (n != ncols)
        return -1;
    rec->fields = pf;
    return 0;
}

/* Gives the replacement up: w (NULL ok) and the backup removed. */
static void out_abort(struct fixer *f, struct atomic_file *w)
{
    atomic_file_abort(w);
    if (f->rep->backup)
        unlink(f->rep->backup);
    free(f->rep->backup);
    f->rep->backup = NULL;
}

/*
 * The replacement, in the order DESIGN.md asks: the original (symlinks
 * resolved, a regular file) backed up first when backups are kept, then the
 * new content streamed to a temporary file beside it (atomicfile.h) that
 * takes the original's mode. Sets f->real and f->rep->backup (owned by f /
 * the report); out_abort undoes both.
 */
static int out_begin(struct fixer *f, struct atomic_file **ret)
{
    char **ret_err = f->ret_err;
    f->real = realpath(f->path, NULL);
    if (!f->real)
        return sh_errf(ret_err, SH_EIO, "%s: %s", f->path, strerror(errno));
    struct stat st;
    if (stat(f->real, &st) != 0 || !S_ISREG(st.st_mode))
        return sh_errf(ret_err, SH_EIO, "%s: not a regular file", f->path);
    if (f->o->backup_keep > 0 &&
        !(f->rep->backup = data_backup_make(f->real, f->o->now_ms, st.st_mode)))
        return sh_errf(ret_err, SH_EIO, "%s: cannot make a backup: %s", f->path, strerror(errno));
    int k = atomic_file_begin(f->real, (int)(st.st_mode & 07777), ret);
    if (k == 0)
        return 0;
    int e = errno;
    out_abort(f, NULL);
    if (k == SH_ENOMEM)
        return nomem(f);
    return sh_errf(ret_err, SH_EIO, "%s: cannot create a temporary file in its folder: %s", f->path,
                strerror(e));
}

/* Puts the new file in place (a failed folder flush after the rename is no
 * failure: the content is there), then prunes old backups. */
static int out_commit(struct fixer *f, struct atomic_file *w)
{
    bool replaced = false;
    if (atomic_file_commit(w, &replaced) != 0 && !replaced) {
        int e = errno;
        out_abort(f, NULL);
        return sh_errf(f->ret_err, SH_EIO, "%s: cannot write the fixed file: %s", f->real, strerror(e));
    }
    if (f->o->backup_keep > 0)
        data_backup_prune(f->real, f->o->backup_keep);
    return 0;
}

/* Pass 2: the new file, through out_begin / out_commit. */
static int rewrite(struct fixer *f)
{
    char **ret_err = f->ret_err;
    struct stat before, after, now_st;
    int fd = csv_reader_fd(f->rd);
    if (fstat(fd, &before) != 0)
        return sh_errf(ret_err, SH_EIO, "%s: %s", f->path, strerror(errno));
    struct atomic_file *w = NULL;
    int k = out_begin(f, &w);
    if (k != 0)
        return k;
    struct csv_record rec;
    if ((k = csv_reader_rewind(f->rd, ret_err)) != 0 ||
        (k = csv_reader_header(f->rd, &rec, ret_err)) != 0) {
        out_abort(f, w);
        return k;
    }
    put(w, rec.raw, rec.raw_len);
    size_t row = 0;
    bool plain = csv_reader_plain(f->rd);
    struct csv_field *pf = plain ? calloc(f->ncols, sizeof *pf) : NULL;
    if (plain && !pf) {
        out_abort(f, w);
        return nomem(f);
    }
    while ((k = plain ? csv_reader_next_line(f->rd, &rec, ret_err)
                      : csv_reader_next(f->rd, &rec, ret_err)) == 1) {
        if (rec.nfields == 0) {
            put(w, rec.raw, rec.raw_len);
            continue;
        }
        if (row >= f->nrows)
            break;
        unsigned fl = f->flag[row];
        if (fl & F_DROP) {
            /* the row is left out */
        } else if (!(fl & F_CHANGE)) {
            put(w, rec.raw, rec.raw_len);
        } else if (plain && split_plain(&rec, pf, f->ncols) != 0) {
            break; /* not what pass 1 read: reported as a change of the file */
        } else {
            write_row(f, w, &rec, row);
        }
        row++;
        if (row % PROGRESS_ROWS == 0)
            progress(f, f->size + csv_reader_offset(f->rd));
    }
    free(pf);
    if (k < 0) {
        out_abort(f, w);
        return k;
    }
    if (row != f->nrows || k == 1 || fstat(fd, &after) != 0 || after.st_size != before.st_size ||
        after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
        after.st_mtim.tv_nsec != before.st_mtim.tv_nsec || stat(f->path, &now_st) != 0 ||
        now_st.st_ino != before.st_ino || now_st.st_dev != before.st_dev) {
        out_abort(f, w);
        return sh_errf(ret_err, SH_ECONFLICT, "%s: the file changed while it was being fixed; nothing changed",
                    f->path);
    }
    f->rep->bytes_out = atomic_file_bytes(w);
    k = out_commit(f, w);
    if (k != 0)
        return k;
    f->rep->written = true;
    progress(f, 2 * f->size);
    return 0;
}

/*
 * The streaming fix (missing median | mean, outliers cap | none: the
 * defaults): nothing per row is kept, so memory does not grow with the file.
 *  pass 1    types, counts, mean, min, max, up to DATAFIX_MIN_DISTINCT distinct
 *            values, text counts, and a radix histogram per numeric column
 *            (rankselect.h), which also keeps the values in windows about
 *            the quartiles of a sample of the file (when the guess holds,
 *            no pass 2); on two threads, also notes of the cells the last
 *            pass may change (datafix_patch.h);
 *  passes 2+ the ranks of the median, Q1, Q3 of the original values and the
 *            ranks of the imputed column's Q1 and Q3, found exactly; the
 *            imputed column is the original values with the fill inserted
 *            `missing` times at a place where it sorts (after rank
 *            (n−1)/2 for the median; after the values below the mean), so
 *            its ranks are ranks of the original values (or the fill);
 *  last      the new file (the changed cells counted on the way: too many
 *            abandons it, refused; from pass 1's notes when they cover the
 *            bounds), or, with nothing to fill or a dry run, a counting pass
 *            first.
 * Text columns keep an exact count of their distinct texts (modecount.h):
 * that memory grows with the distinct texts, not with the rows. A plain
 * file (no quote, NUL or lone CR) is read in blocks of lines on two threads
 * (datafix_par.c); any other, or one whose types change past its first
 * lines, by the one-thread reader below, with the same results.
 */
static void sfix_free(struct sfix *s)
{
    if (s->rs1)
        for (size_t c = 0; c < s->f->ncols; c++)
            rsel_free(s->rs1[c]);
    free(s->rs1);
    patch_free(s->ps);
    if (s->sc)
        for (size_t c = 0; c < s->f->ncols; c++) {
            rsel_free(s->sc[c].rs);
            modecount_free(s->sc[c].mc);
            free(s->sc[c].fill_quoted);
        }
    free(s->sc);
}

void s_number_stats(struct scol *c, double x)
{
    c->n++;
    double t = c->s + x;
    c->c += fabs(c->s) >= fabs(x) ? (c->s - t) + x : (x - t) + c->s;
    c->s = t;
    c->mn = x < c->mn ? x : c->mn;
    c->mx = x > c->mx ? x : c->mx;
    if (c->ndist < DATAFIX_MIN_DISTINCT) {
        size_t j = 0;
        while (j < c->ndist && c->dist[j] != x)
            j++;
        if (j == c->ndist)
            c->dist[c->ndist++] = x;
    }
}

void s_number_stats_n(struct scol *c, const double *v, size_t n)
{
    double s = c->s, cc = c->c, mn = c->mn, mx = c->mx;
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        double t = s + x;
        cc += fabs(s) >= fabs(x) ? (s - t) + x : (x - t) + s;
        s = t;
        mn = x < mn ? x : mn;
        mx = x > mx ? x : mx;
    }
    c->s = s;
    c->c = cc;
    c->mn = mn;
    c->mx = mx;
    c->n += n;
    for (size_t i = 0; i < n && c->ndist < DATAFIX_MIN_DISTINCT; i++) {
        size_t j = 0;
        while (j < c->ndist && c->dist[j] != v[i])
            j++;
        if (j == c->ndist)
            c->dist[c->ndist++] = v[i];
    }
}

/* Pass 1 on one non-missing numeric cell. */
static void s_number(struct scol *c, double x)
{
    s_number_stats(c, x);
    rsel_count(c->rs, x);
}

static int s_analyse(struct sfix *s)
{
    struct fixer *f = s->f;
    struct csv_record rec;
    int k = csv_reader_header(f->rd, &rec, f->ret_err);
    if (k != 0)
        return k;
    f->ncols = rec.nfields;
    s->sc = calloc(f->ncols, sizeof *s->sc);
    f->rep->cols = calloc(f->ncols, sizeof *f->rep->cols);
    if (!s->sc || !f->rep->cols)
        return nomem(f);
    f->rep->ncols = f->ncols;
    /* the first histogram: 256 KiB a column, less for wide files */
    unsigned bits = f->ncols <= 64 ? 16 : f->ncols <= 1024 ? 12 : 8;
    for (size_t c = 0; c < f->ncols; c++) {
        struct scol *cl = &s->sc[c];
        cl->numeric = true;
        cl->mn = INFINITY;
        cl->mx = -INFINITY;
        if (!(cl->rs = rsel_new(bits)))
            return nomem(f);
        if (!(f->rep->cols[c].name = strndup(rec.fields[c].val, rec.fields[c].len)))
            return nomem(f);
    }
    s->body = csv_reader_offset(f->rd);
    if ((k = par_analyse(s, bits)) != PAR_FALLBACK)
        return k;
    size_t row = 0;
    while ((k = csv_reader_next(f->rd, &rec, f->ret_err)) == 1) {
        if (rec.nfields == 0)
            continue;
        for (size_t c = 0; c < f->ncols; c++) {
            struct scol *cl = &s->sc[c];
            const struct csv_field *fd = &rec.fields[c];
            if (missing_is(&f->ms, fd->val, fd->len)) {
                cl->miss++;
                continue;
            }
            if (cl->numeric) {
                double x;
                if (num_parse(fd->val, fd->len, &x)) {
                    cl->seen_number = true;
                    s_number(cl, x);
                    continue;
                }
                cl->numeric = false;
                cl->recount = cl->seen_number;
                rsel_free(cl->rs);
                cl->rs = NULL;
                if (!(cl->mc = modecount_new()))
                    return nomem(f);
            }
            if (!cl->recount && modecount_add(cl->mc, fd->val, fd->len) != 0)
                return nomem(f);
        }
        row++;
        if (row % PROGRESS_ROWS == 0)
            progress(f, csv_reader_offset(f->rd));
    }
    if (k < 0)
        return k;
    f->nrows = f->rep->rows = row;
    s->par = csv_reader_plain(f->rd);
    bool again = false;
    for (size_t c = 0; c < f->ncols; c++)
        again |= s->sc[c].recount;
    if (!again)
        return 0;
    if ((k = csv_reader_rewind(f->rd, f->ret_err)) != 0 ||
        (k = csv_reader_header(f->rd, &rec, f->ret_err)) != 0)
        return k;
    while ((k = csv_reader_next(f->rd, &rec, f->ret_err)) == 1) {
        if (rec.nfields == 0)
            continue;
        for (size_t c = 0; c < f->ncols; c++) {
            const struct csv_field *fd = &rec.fields[c];
            if (s->sc[c].recount && !missing_is(&f->ms, fd->val, fd->len) &&
                modecount_add(s->sc[c].mc, fd->val, fd->len) != 0)
                return nomem(f);
        }
    }
    return k < 0 ? k : 0;
}

static int s_conflict(struct fixer *f)
{
    return sh_errf(f->ret_err, SH_ECONFLICT, "%s: the file changed while it was being fixed; nothing changed",
                   f->path);
}

/* The imputed column's sorted value of rank k: the original values with
 * `miss` copies of the fill after position p. */
static size_t imp_rank(const struct scol *cl, size_t k, bool *is_fill)
{
    *is_fill = k >= cl->p && k < cl->p + cl->miss;
    return k < cl->p ? k : k - cl->miss;
}

static int want_quant(struct scol *cl, size_t n, double q, bool imputed)
{
    size_t lo = (size_t)floor((double)(n - 1) * q);
    for (size_t k = lo; k <= lo + 1 && k < n; k++) {
        bool fill = false;
        size_t r = imputed ? imp_rank(cl, k, &fill) : k;
        int e = fill ? 0 : rsel_want(cl->rs, r);
        if (e != 0)
            return e;
    }
    return 0;
}

static int want_imputed(struct scol *cl)
{
    size_t big = cl->n + cl->miss;
    int k = want_quant(cl, big, 0.25, true);
    return k ? k : want_quant(cl, big, 0.75, true);
}

/* The ranks wanted after pass 1. */
static int s_wants(struct sfix *s)
{
    struct fixer *f = s->f;
    for (size_t c = 0; c < f->ncols; c++) {
        struct scol *cl = &s->sc[c];
        if (!cl->numeric || cl->n == 0)
            continue;
        size_t n = cl->n;
        if (want_quant(cl, n, 0.25, false) || want_quant(cl, n, 0.75, false) ||
            rsel_want(cl->rs, (n - 1) / 2) || rsel_want(cl->rs, n / 2))
            return nomem(f);
        size_t below = 0;
        if (f->o->missing == MISSING_MEAN && cl->miss > 0 &&
            !rsel_count_below(cl->rs, (cl->s + cl->c) / (double)n, &below)) {
            cl->need_p = true; /* the values below the mean: counted by a pass */
            continue;
        }
        cl->p = f->o->missing == MISSING_MEAN && cl->miss > 0 ? below : (n - 1) / 2 + 1;
        if (want_imputed(cl) != 0)
            return nomem(f);
    }
    return 0;
}

/* Splits the next data record (plain files: by commas). 1, 0 at the end, or an error. */
static int s_next(struct fixer *f, bool plain, struct csv_record *rec, struct csv_field *pf)
{
    int k = plain ? csv_reader_next_line(f->rd, rec, f->ret_err) : csv_reader_next(f->rd, rec, f->ret_err);
    if (k == 1 && plain && rec->nfields > 0 && split_plain(rec, pf, f->ncols) != 0)
        return SH_ECONFLICT;
    return k;
}

/* One changed row, field by field (s_scan decided it changes). */
static void s_write_row(struct sfix *s, struct atomic_file *w, const struct csv_record *rec)
{
    struct fixer *f = s->f;
    bool cap = f->o->outliers == OUTLIER_CAP;
    for (size_t c = 0; c < f->ncols; c++) {
        if (c)
            put(w, ",", 1);
        const struct scol *cl = &s->sc[c];
        const struct datafix_column *rc = &f->rep->cols[c];
        const struct csv_field *fd = &rec->fields[c];
        const char *t = NULL;
        bool miss = missing_is(&f->ms, fd->val, fd->len);
        if (!cl->numeric) {
            if (rc->has_fill && miss)
                t = cl->fill_quoted;
        } else if (miss) {
            if (rc->has_fill)
                t = cl->fill_txt;
        } else if (cap && rc->has_bounds) {
            double v = 0;
            num_parse(fd->val, fd->len, &v);
            if (v < rc->lower)
                t = cl->lo_txt;
            else if (v > rc->upper)
                t = cl->hi_txt;
        }
        if (t)
            put(w, t, strlen(t));
        else
            put(w, fd->raw, fd->raw_len);
    }
    put(w, rec->raw + rec->raw_len - rec->eol_len, rec->eol_len);
}

/* A later pass: ranks (feeding the selections), counting the changes, or
 * writing the new file to w while counting them. */
static int s_scan(struct sfix *s, enum scan_mode mode, struct atomic_file *w)
{
    struct fixer *f = s->f;
    struct csv_record rec;
    int k;
    if (s->par)
        return par_scan(s, mode, w);
    if ((k = csv_reader_rewind(f->rd, f->ret_err)) != 0 ||
        (k = csv_reader_header(f->rd, &rec, f->ret_err)) != 0)
        return k;
    if (w)
        put(w, rec.raw, rec.raw_len);
    bool plain = csv_reader_plain(f->rd);
    struct csv_field *pf = plain ? calloc(f->ncols, sizeof *pf) : NULL;
    if (plain && !pf)
        return nomem(f);
    bool cap = f->o->outliers == OUTLIER_CAP;
    size_t row = 0;
    while ((k = s_next(f, plain, &rec, pf)) == 1) {
        if (rec.nfields == 0) {
            if (w)
                put(w, rec.raw, rec.raw_len);
            continue;
        }
        bool change = false;
        for (size_t c = 0; c < f->ncols; c++) {
            struct scol *cl = &s->sc[c];
            struct datafix_column *rc = &f->rep->cols[c];
            const struct csv_field *fd = &rec.fields[c];
            if (!cl->numeric) {
                change |= mode == SCAN_WRITE && rc->has_fill && missing_is(&f->ms, fd->val, fd->len);
                continue;
            }
            if (mode == SCAN_RANKS ? !cl->active : !rc->has_bounds && !rc->has_fill)
                continue;
            if (missing_is(&f->ms, fd->val, fd->len)) {
                change |= rc->has_fill;
                continue;
            }
            double x;
            if (!num_parse(fd->val, fd->len, &x)) {
                k = SH_ECONFLICT;
                goto out;
            }
            if (mode == SCAN_RANKS) {
                cl->below += cl->need_p && x < (cl->s + cl->c) / (double)cl->n;
                rsel_feed(cl->rs, x);
            } else if (rc->has_bounds && (x < rc->lower || x > rc->upper)) {
                rc->outliers++;
                if (cap) {
                    rc->capped++;
                    change = true;
                }
            }
        }
        row++;
        if (w) {
            if (!change)
                put(w, rec.raw, rec.raw_len);
            else
                s_write_row(s, w, &rec);
        }
        if (row % PROGRESS_ROWS == 0)
            progress(f, f->size + csv_reader_offset(f->rd));
    }
out:
    free(pf);
    if (k == SH_ECONFLICT || (k == 0 && row != f->nrows))
        return s_conflict(f);
    return k;
}

/* The rank passes, until every wanted rank is known. */
static int s_ranks(struct sfix *s)
{
    struct fixer *f = s->f;
    for (int pass = 0;; pass++) {
        bool any = false;
        for (size_t c = 0; c < f->ncols; c++) {
            struct scol *cl = &s->sc[c];
            cl->active = cl->numeric && cl->rs && (cl->need_p || rsel_pending(cl->rs));
            if (cl->active && rsel_begin_pass(cl->rs) != 0)
                return nomem(f);
            any |= cl->active;
        }
        if (!any)
            return 0;
        if (pass > 8) /* 5 suffice for any data: the file changes under us */
            return s_conflict(f);
        int k = s_scan(s, SCAN_RANKS, NULL);
        if (k != 0)
            return k;
        for (size_t c = 0; c < f->ncols; c++) {
            struct scol *cl = &s->sc[c];
            if (!cl->active)
                continue;
            rsel_end_pass(cl->rs);
            if (cl->need_p) {
                cl->need_p = false;
                cl->p = cl->below;
                if (want_imputed(cl) != 0)
                    return nomem(f);
            }
        }
    }
}

/* numpy's _lerp */
static double s_lerp(double a, double b, double t)
{
    double d = b - a;
    return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/* numpy's linear quantile q of n sorted values given by at(k). */
static double s_quant(const struct scol *cl, size_t n, double q, bool imputed, double fill)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    double a, b;
    bool is_fill;
    size_t r = imputed ? imp_rank(cl, lo, &is_fill) : (is_fill = false, lo);
    a = is_fill ? fill : rsel_value(cl->rs, r);
    if (lo >= n - 1)
        return a;
    r = imputed ? imp_rank(cl, lo + 1, &is_fill) : (is_fill = false, lo + 1);
    b = is_fill ? fill : rsel_value(cl->rs, r);
    return s_lerp(a, b, h - (double)lo);
}

static double s_at(const struct scol *cl, size_t k, bool imputed, double fill)
{
    bool is_fill = false;
    size_t r = imputed ? imp_rank(cl, k, &is_fill) : k;
    return is_fill ? fill : rsel_value(cl->rs, r);
}

/* Steps 1–2 for a numeric column from the ranks: the statistics of the
 * original values, the fill, the imputed column's quartiles and the bounds. */
static void s_bounds(struct fixer *f, struct scol *cl, struct datafix_column *rc)
{
    struct num_stats *st = &rc->stats;
    size_t n = cl->n;
    rc->missing = cl->miss;
    st->n = n;
    if (n == 0) {
        stats_numeric(NULL, 0, st);
        rc->q1 = rc->q3 = NAN;
        return;
    }
    st->mean = (cl->s + cl->c) / (double)n;
    st->min = cl->mn;
    st->max = cl->mx;
    st->q1 = s_quant(cl, n, 0.25, false, 0);
    st->q3 = s_quant(cl, n, 0.75, false, 0);
    st->median = n % 2 ? rsel_value(cl->rs, n / 2)
                       : (rsel_value(cl->rs, n / 2 - 1) + rsel_value(cl->rs, n / 2)) / 2.0;
    st->q1_below = rsel_value(cl->rs, (size_t)floor((double)(n - 1) * 0.25));
    double h3 = (double)(n - 1) * 0.75;
    size_t l3 = (size_t)floor(h3);
    st->q3_above = rsel_value(cl->rs, h3 > (double)l3 && l3 + 1 < n ? l3 + 1 : l3);
    double fill = f->o->missing == MISSING_MEAN ? st->mean : st->median;
    rc->has_fill = true;
    rc->fill_num = fill;
    size_t big = n + cl->miss;
    rc->q1 = s_quant(cl, big, 0.25, true, fill);
    rc->q3 = s_quant(cl, big, 0.75, true, fill);
    double iqr = rc->q3 - rc->q1;
    if (!(iqr > 0)) {
        rc->capping_skipped = "IQR is 0";
        return;
    }
    size_t nd = cl->ndist;
    if (nd < DATAFIX_MIN_DISTINCT && cl->miss > 0) {
        size_t j = 0;
        while (j < nd && cl->dist[j] != fill)
            j++;
        nd += j == nd;
    }
    if (nd < DATAFIX_MIN_DISTINCT) {
        rc->capping_skipped = "fewer than " STR(DATAFIX_MIN_DISTINCT) " distinct values";
        return;
    }
    rc->has_bounds = true;
    rc->lower = rc->q1 - f->o->iqr_multiplier * iqr;
    rc->upper = rc->q3 + f->o->iqr_multiplier * iqr;
    double below = s_at(cl, (size_t)floor((double)(big - 1) * 0.25), true, fill);
    double hb = (double)(big - 1) * 0.75;
    size_t lb = (size_t)floor(hb);
    double above = s_at(cl, hb > (double)lb && lb + 1 < big ? lb + 1 : lb, true, fill);
    if (below < rc->lower)
        rc->lower = below;
    if (above > rc->upper)
        rc->upper = above;
}

/* The fills and bounds as written; the filled cells. */
static int s_decide(struct sfix *s)
{
    struct fixer *f = s->f;
    for (size_t c = 0; c < f->ncols; c++) {
        struct scol *cl = &s->sc[c];
        struct datafix_column *rc = &f->rep->cols[c];
        rc->numeric = cl->numeric;
        if (!cl->numeric) {
            rc->missing = cl->miss;
            const char *m;
            size_t mlen;
            if (modecount_mode(cl->mc, &m, &mlen, NULL)) {
                rc->has_fill = true;
                if (!(rc->fill_text = strndup(m, mlen)) || !(cl->fill_quoted = csv_quote(m, mlen)))
                    return nomem(f);
                rc->filled = cl->miss;
            }
            continue;
        }
        s_bounds(f, cl, rc);
        bool cap = f->o->outliers == OUTLIER_CAP && rc->has_bounds;
        if (rc->has_bounds) {
            num_format(rc->lower, cl->lo_txt, sizeof cl->lo_txt);
            num_format(rc->upper, cl->hi_txt, sizeof cl->hi_txt);
        }
        if (rc->has_fill) {
            if (cap)
                rc->fill_num = clip(rc->fill_num, rc->lower, rc->upper);
            num_format(rc->fill_num, cl->fill_txt, sizeof cl->fill_txt);
            rc->filled = cl->miss;
        }
    }
    return 0;
}

static size_t s_tally(struct fixer *f)
{
    size_t changed = 0;
    for (size_t c = 0; c < f->ncols; c++)
        changed += f->rep->cols[c].filled + f->rep->cols[c].capped;
    f->rep->cells_changed = changed;
    double total = (double)f->nrows * (double)f->ncols;
    f->rep->fixed_fraction = total > 0 ? (double)changed / total : 0;
    return changed;
}

static int s_refuse(struct fixer *f)
{
    f->rep->refused = true;
    return sh_errf(f->ret_err, SH_EREFUSED,
                   "%s: %zu of %zu cells (%.1f%%) would change, more than maxFixedFraction %g; "
                   "nothing changed",
                   f->path, f->rep->cells_changed, f->nrows * f->ncols, 100.0 * f->rep->fixed_fraction,
                   f->o->max_fixed_fraction);
}

static bool s_same_file(struct sfix *s)
{
    struct stat after, now_st;
    const struct stat *b = &s->st0;
    return fstat(csv_reader_fd(s->f->rd), &after) == 0 && after.st_size == b->st_size &&
           after.st_mtim.tv_sec == b->st_mtim.tv_sec && after.st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           stat(s->f->path, &now_st) == 0 && now_st.st_ino == b->st_ino && now_st.st_dev == b->st_dev;
}

/* The count pass when it is needed, then the new file. */
static int s_output(struct sfix *s)
{
    struct fixer *f = s->f;
    const struct datafix_options *o = f->o;
    size_t certain = s_tally(f); /* the fills; the capped cells are counted by a pass */
    int k;
    if (o->dry_run || certain == 0) {
        if ((k = s_scan(s, SCAN_COUNT, NULL)) != 0)
            return k;
        progress(f, f->size);
        if (s_tally(f) > 0 && f->rep->fixed_fraction > o->max_fixed_fraction)
            return s_refuse(f);
        if (o->dry_run || f->rep->cells_changed == 0)
            return 0;
        for (size_t c = 0; c < f->ncols; c++)
            f->rep->cols[c].outliers = f->rep->cols[c].capped = 0; /* counted again */
    } else if (f->rep->fixed_fraction > o->max_fixed_fraction) {
        if ((k = s_scan(s, SCAN_COUNT, NULL)) != 0)
            return k;
        s_tally(f);
        return s_refuse(f);
    }
    struct atomic_file *w = NULL;
    if ((k = out_begin(f, &w)) != 0)
        return k;
    if ((k = s_scan(s, SCAN_WRITE, w)) != 0) {
        out_abort(f, w);
        return k;
    }
    s_tally(f);
    if (f->rep->fixed_fraction > o->max_fixed_fraction) {
        out_abort(f, w);
        return s_refuse(f);
    }
    if (!s_same_file(s)) {
        out_abort(f, w);
        return s_conflict(f);
    }
    f->rep->bytes_out = atomic_file_bytes(w);
    if ((k = out_commit(f, w)) != 0)
        return k;
    f->rep->written = true;
    progress(f, 2 * f->size);
    return 0;
}

/* datafix_run for the options the streaming fix covers. */
static int s_run(struct fixer *f)
{
    struct sfix s = {.f = f, .nworkers = bscan_workers()};
    int k = fstat(csv_reader_fd(f->rd), &s.st0) != 0 ? sh_errf(f->ret_err, SH_EIO, "%s: %s", f->path, strerror(errno)) : 0;
    if (k == 0)
        k = s_analyse(&s);
    if (k == 0)
        k = s_wants(&s);
    if (k == 0)
        k = s_ranks(&s);
    if (k == 0)
        k = s_decide(&s);
    if (k == 0)
        k = s_output(&s);
    sfix_free(&s);
    return k;
}

static void fixer_free(struct fixer *f)
{
    if (f->cols)
        for (size_t c = 0; c < f->ncols; c++) {
            free(f->cols[c].vals);
            free(f->cols[c].miss);
            free(f->cols[c].missbits);
            free(f->cols[c].fill_quoted);
            modecount_free(f->cols[c].mc);
        }
    free(f->cols);
    free(f->flag);
    free(f->real);
    csv_reader_close(f->rd);
}

int datafix_run(const char *path, const struct datafix_options *o, struct datafix_report *rep,
                char **ret_err)
{
    memset(rep, 0, sizeof *rep);
    if (ret_err)
        *ret_err = NULL;
    struct fixer f = {.path = path, .o = o, .rep = rep, .ret_err = ret_err};
    if (!(rep->path = strdup(path)))
        return sh_errf(ret_err, SH_ENOMEM, "%s: out of memory", path);
    missing_set_init(&f.ms, o->missing_tokens, o->ntokens);
    int k = csv_reader_open(path, &f.rd, ret_err);
    if (k != 0)
        return k;
    f.size = csv_reader_size(f.rd);
    rep->bytes_in = f.size;
    if ((o->missing == MISSING_MEDIAN || o->missing == MISSING_MEAN) &&
        (o->outliers == OUTLIER_CAP || o->outliers == OUTLIER_NONE) && csv_reader_fd(f.rd) >= 0) {
        k = s_run(&f);
        fixer_free(&f);
        return k;
    }
    k = analyse(&f);
    if (k == 0)
        k = decide(&f);
    if (k == 0)
        progress(&f, f.size);
    if (k == 0 && rep->cells_changed > 0 &&
        rep->fixed_fraction > o->max_fixed_fraction) {
        rep->refused = true;
        k = sh_errf(ret_err, SH_EREFUSED,
                 "%s: %zu of %zu cells (%.1f%%) would change, more than maxFixedFraction %g; "
                 "nothing changed",
                 path, rep->cells_changed, f.nrows * f.ncols, 100.0 * rep->fixed_fraction,
                 o->max_fixed_fraction);
    }
    if (k == 0 && rep->cells_changed > 0 && !o->dry_run)
        k = rewrite(&f);
    fixer_free(&f);
    return k;
}

void datafix_report_free(struct datafix_report *rep)
{
    if (!rep)
        return;
    if (rep->cols)
        for (size_t c = 0; c < rep->ncols; c++) {
            free(rep->cols[c].name);
            free(rep->cols[c].fill_text);
        }
    free(rep->cols);
    free(rep->path);
    free(rep->backup);
    memset(rep, 0, sizeof *rep);
}

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
}

cJSON *datafix_report_json(const struct datafix_report *rep)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "path", rep->path ? rep->path : "");
    cJSON_AddNumberToObject(o, "rows", (double)rep->rows);
    cJSON_AddNumberToObject(o, "columns", (double)rep->ncols);
    cJSON_AddNumberToObject(o, "cellsChanged", (double)rep->cells_changed);
    cJSON_AddNumberToObject(o, "rowsDropped", (double)rep->rows_dropped);
    cJSON_AddNumberToObject(o, "fixedFraction", rep->fixed_fraction);
    cJSON_AddBoolToObject(o, "refused", rep->refused);
    cJSON_AddBoolToObject(o, "written", rep->written);
    if (rep->backup)
        cJSON_AddStringToObject(o, "backup", rep->backup);
    else
        cJSON_AddNullToObject(o, "backup");
    cJSON *cols = cJSON_AddArrayToObject(o, "columnReports");
    for (size_t c = 0; cols && c < rep->ncols; c++) {
        const struct datafix_column *rc = &rep->cols[c];
        cJSON *j = cJSON_CreateObject();
        if (!j)
            break;
        cJSON_AddItemToArray(cols, j);
        cJSON_AddStringToObject(j, "name", rc->name ? rc->name : "");
        cJSON_AddStringToObject(j, "type", rc->numeric ? "numeric" : "text");
        cJSON_AddNumberToObject(j, "missing", (double)rc->missing);
        cJSON_AddNumberToObject(j, "filled", (double)rc->filled);
        if (rc->has_fill) {
            if (rc->numeric)
                cJSON_AddNumberToObject(j, "fillValue", rc->fill_num);
            else
                cJSON_AddStringToObject(j, "fillValue", rc->fill_text);
        }
        if (rc->numeric) {
            cJSON_AddNumberToObject(j, "outliers", (double)rc->outliers);
            cJSON_AddNumberToObject(j, "capped", (double)rc->capped);
            if (rc->has_bounds) {
                add_num(j, "lower", rc->lower);
                add_num(j, "upper", rc->upper);
            }
            cJSON_AddNumberToObject(j, "values", (double)rc->stats.n);
            add_num(j, "mean", rc->stats.mean);
            add_num(j, "median", rc->stats.median);
            add_num(j, "q1", rc->q1);
            add_num(j, "q3", rc->q3);
            if (rc->capping_skipped)
                cJSON_AddStringToObject(j, "cappingSkipped", rc->capping_skipped);
            add_num(j, "min", rc->stats.min);
            add_num(j, "max", rc->stats.max);
        }
    }
    return o;
}

int datafix_fingerprint(const char *path, char *buf, size_t size)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return SH_EIO;
    snprintf(buf, size, "%llu:%llu:%lld:%lld.%09ld", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
             (long)st.st_mtim.tv_nsec);
    return 0;
}
