/* drift_scan.c — a CSV's columns typed, numbers spilled, categories counted (drift_scan.h). */
#include "drift/drift_scan.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "data/csv.h"
#include "data/numtext.h"

#define SPILL_MIN_VALUES 16 /* wide files: 100000 columns × 16 × 8 B = 12.8 MB */
#define SPILL_MAX_VALUES 65536
#define FAST_BLOCK (512u << 10) /* the plain-file reader's block */
#define FAST_BAIL 1             /* the plain-file reader met something else: start again */
#define DRIFT_DECIMAL_MAX 22    /* digits after the point for a decimal key (10^22: the last exact power) */

struct scanner {
    const char *path;
    const struct missing_set *ms;
    char **ret_err;
    struct csv_reader *rd;
    struct drift_scan *out;
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
    s->reread = calloc(n ? n : 1, sizeof *s->reread);
    if (!o->cols || !s->reread)
        return nomem(s);
    o->ncols = n;
    for (size_t c = 0; c < n; c++) {
        o->cols[c].numeric = true;
        o->cols[c].min = HUGE_VAL;
        o->cols[c].max = -HUGE_VAL;
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
    for (size_t c = 0; c < n; c++)
        o->spill.cols[c].dec = 1; /* frac 0 so far (drift_scan_col.frac) */
    return 0;
}

/* A column turns to text: its numbers are forgotten; when there were some,
 * its texts come from the second pass. */
static void to_text(struct scanner *s, size_t c)
{
    struct drift_scan_col *col = &s->out->cols[c];
    col->numeric = false;
    drift_spill_drop(&s->out->spill, c);
    if (col->nvalues > 0) { /* numbers were seen (a numeric column counts only them) */
        s->reread[c] = true;
        s->any_reread = true;
    }
}

/* The digits after the point of a number's text (of [+-]D*[.D*][eE[+-]D+],
 * as num_parse took it) once its exponent is applied: "1.25" 2, "1.2e-05"
 * 6, "3e2" 0; −1 beyond DRIFT_DECIMAL_MAX. */
static int text_frac(const char *v, size_t len)
{
    size_t i = 0, e = len;
    long f = 0;
    for (; i < len && v[i] != '.' && v[i] != 'e' && v[i] != 'E'; i++)
        ;
    if (i < len && v[i] == '.')
        for (i++; i < len && v[i] != 'e' && v[i] != 'E'; i++)
            f++;
    e = i;
    if (e < len) {
        long x = 0;
        bool neg = false;
        for (i = e + 1; i < len; i++) {
            if (v[i] == '-')
                neg = true;
            else if (v[i] != '+' && x < 100000)
                x = x * 10 + (v[i] - '0');
        }
        f -= neg ? -x : x;
    }
    if (f < 0)
        f = 0;
    return f > DRIFT_DECIMAL_MAX ? -1 : (int)f;
}

/* Number v in numeric column c, frac digits after its point (−1: not a plain decimal). */
static int number(struct scanner *s, size_t c, double v, int frac)
{
    struct drift_scan_col *col = &s->out->cols[c];
    if (frac != col->frac && col->frac >= 0 && (frac > col->frac || frac < 0)) {
        col->frac = frac;
        /* the spill may write the column's numbers as integers (drift_spill.h) */
        s->out->spill.cols[c].dec = frac >= 0 && frac <= 9 ? frac + 1 : 0;
    }
    if (v == 0)
        v = 0; /* -0 == 0: one key for both */
    col->min = v < col->min ? v : col->min; /* from +inf and −inf (header) */
    col->max = v > col->max ? v : col->max;
    col->nvalues++;
    int r = drift_spill_put(&s->out->spill, c, v);
    return r ? spill_failed(s, r) : 0;
}

static int cell(struct scanner *s, size_t c, const struct csv_field *f)
{
    if (missing_is(s->ms, f->val, f->len))
        return 0;
    struct drift_scan_col *col = &s->out->cols[c];
    if (col->numeric) {
        double v;
        if (num_parse(f->val, f->len, &v))
            return number(s, c, v, text_frac(f->val, f->len));
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

/* --- plain files: lines split and numbers parsed in one go ----------------- */

static const double POW10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                               1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};

/* Bytes an unquoted plain field never holds: its end (',' '\n'), or what
 * only the CSV reader handles (a quote, CR, NUL). */
static const unsigned char STOP[256] = {[','] = 1, ['\n'] = 1, ['\r'] = 1, ['"'] = 1, [0] = 1};

/* m followed by the digits at *pq as a number (wrapping past 19 digits), *pq moved past them. */
static inline uint64_t digits(const char **pq, uint64_t m)
{
    const char *q = *pq;
    for (;;) { /* two at a time: a digit is never a line's last byte */
        unsigned d0 = (unsigned)(unsigned char)q[0] - '0';
        if (d0 >= 10)
            break;
        unsigned d1 = (unsigned)(unsigned char)q[1] - '0';
        if (d1 >= 10) {
            m = m * 10 + d0;
            q++;
            break;
        }
        m = m * 100 + d0 * 10 + d1;
        q += 2;
    }
    *pq = q;
    return m;
}

/* The complete lines of p[0..n) (n > 0, p[n − 1] == '\n'): the records the
 * CSV reader would give, with the same cell() calls in the same order, and
 * short plain decimals ([-]D+[.D*], at most 18 characters, as num_parse's
 * fast path reads them, with the same double) parsed while splitting.
 * FAST_BAIL at anything else (a quote, CR, NUL, a wrong field count). */
static int fast_lines(struct scanner *s, const char *p, size_t n, bool numbers)
{
    const char *end = p + n;
    struct drift_scan *o = s->out;
    const size_t ncols = o->ncols, bufvals = o->spill.bufvals;
    struct drift_scan_col *const cols = o->cols;
    struct drift_spill_col *const scols = o->spill.cols;
    while (p < end) {
        if (*p == '\n') { /* a blank line: no record */
            p++;
            continue;
        }
        for (size_t c = 0; c < ncols; c++) {
            const char *f = p, *q = p;
            char want = c + 1 < ncols ? ',' : '\n';
            if (numbers && cols[c].numeric) {
                bool neg = *q == '-';
                q += neg;
                const char *d0 = q;
                uint64_t m = digits(&q, 0);
                if (q != d0) {
                    int frac = 0;
                    if (*q == '.') {
                        const char *f0 = ++q;
                        m = digits(&q, m);
                        frac = (int)(q - f0);
                    }
                    if (*q == want && q - f <= 18 && m <= (UINT64_C(1) << 53)) {
                        double v = (double)m;
                        if (frac)
                            v /= POW10[frac];
                        if (neg && m)
                            v = -v; /* -0 is 0: one key for both */
                        /* number(), for a plain decimal */
                        struct drift_scan_col *col = &cols[c];
                        if (frac > col->frac && col->frac >= 0) {
                            col->frac = frac;
                            scols[c].dec = frac <= 9 ? frac + 1 : 0;
                        }
                        col->min = v < col->min ? v : col->min;
                        col->max = v > col->max ? v : col->max;
                        col->nvalues++;
                        struct drift_spill_col *sc = &scols[c];
                        sc->buf[sc->buflen++] = v;
                        sc->count++;
                        if (sc->buflen == bufvals) {
                            int r = drift_spill_flush_col(&o->spill, c);
                            if (r != 0)
                                return spill_failed(s, r);
                        }
                        p = q + 1;
                        continue;
                    }
                }
            }
            while (!STOP[(unsigned char)*q])
                q++;
            if (*q != want)
                return FAST_BAIL; /* CR, quote, NUL, too few or too many fields */
            struct csv_field fd = {.val = f, .len = (size_t)(q - f), .raw = f, .raw_len = (size_t)(q - f)};
            int r = cell(s, c, &fd);
            if (r != 0)
                return r;
            p = q + 1;
        }
        o->nrows++;
    }
    return 0;
}

/* The rows of a plain regular file after its header, read in blocks at the
 * reader's offset. 0, FAST_BAIL (not plain: nothing decided, start again
 * with the CSV reader) or an error. */
static int fast_rows(struct scanner *s)
{
    int fd = csv_reader_fd(s->rd);
    struct stat st;
    if (fd < 0 || !csv_reader_plain(s->rd) || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return FAST_BAIL;
    /* a missing token that reads as a number: every cell goes through cell() */
    bool numbers = true;
    for (size_t i = 0; i < s->ms->n; i++) {
        double v;
        if (num_parse(s->ms->tok[i], s->ms->len[i], &v))
            numbers = false;
    }
    char *buf = malloc(FAST_BLOCK + 1);
    if (!buf)
        return nomem(s);
    uint64_t off = csv_reader_offset(s->rd);
    size_t have = 0;
    int k = 0;
    for (;;) {
        ssize_t got = pread(fd, buf + have, FAST_BLOCK - have, (off_t)off);
        if (got < 0) {
            k = FAST_BAIL; /* the CSV reader reports it */
            break;
        }
        off += (uint64_t)got;
        have += (size_t)got;
        if (got == 0) { /* the end: a last line without its line ending */
            if (have > 0) {
                buf[have++] = '\n';
                k = fast_lines(s, buf, have, numbers);
            }
            break;
        }
        const char *nl = memrchr(buf, '\n', have);
        if (!nl) {
            if (have == FAST_BLOCK) {
                k = FAST_BAIL; /* a line longer than the block */
                break;
            }
            continue;
        }
        size_t used = (size_t)(nl - buf) + 1;
        if ((k = fast_lines(s, buf, used, numbers)) != 0)
            break;
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    free(buf);
    return k;
}

static int rows(struct scanner *s, bool fast)
{
    struct csv_record rec;
    int k;
    struct drift_scan *o = s->out;
    if (fast) {
        if ((k = fast_rows(s)) != 0)
            return k;
    } else {
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
    }
    for (size_t c = 0; c < o->ncols; c++)
        if (o->cols[c].nvalues == 0 || !o->cols[c].numeric)
            o->cols[c].min = o->cols[c].max = 0; /* no numbers: as before */
    if ((k = drift_spill_finish(&o->spill)) != 0)
        return spill_failed(s, k);
    return s->any_reread ? reread(s) : 0;
}

static int scan(const char *path, const struct missing_set *ms, const char *tmpdir, size_t budget,
                struct drift_scan *out, char **ret_err, bool fast)
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
        k = rows(&s, fast);
    csv_reader_close(s.rd);
    free(s.reread);
    if (k != 0)
        drift_scan_free(out);
    return k;
}

int drift_scan_file(const char *path, const struct missing_set *ms, const char *tmpdir,
                    size_t budget, struct drift_scan *out, char **ret_err)
{
    int k = scan(path, ms, tmpdir, budget, out, ret_err, true);
    if (k == FAST_BAIL) /* not a plain file: the CSV reader, from the start */
        k = scan(path, ms, tmpdir, budget, out, ret_err, false);
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
