/* drift_spill.c — per-column blocks of doubles in an unnamed temporary file (drift_spill.h). */
#include "drift/drift_spill.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "drift/drift_mem.h"

static int open_tmp(const char *dir)
{
#ifdef O_TMPFILE
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
#endif
    char *path = NULL;
    if (asprintf(&path, "%s/selfheal-drift-XXXXXX", dir) < 0)
        return -1;
    int t = mkstemp(path);
    if (t >= 0) {
        unlink(path);
        (void)fcntl(t, F_SETFD, FD_CLOEXEC);
    }
    free(path);
    return t;
}

int drift_spill_open(struct drift_spill *s, const char *dir, size_t ncols, size_t bufvals,
                     char **ret_err)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    s->bufvals = bufvals ? bufvals : 1;
    s->cols = calloc(ncols ? ncols : 1, sizeof *s->cols);
    if (!s->cols) {
        if (ret_err)
            *ret_err = strdup("out of memory");
        return SH_ENOMEM;
    }
    s->ncols = ncols;
    s->fd = open_tmp(dir);
    if (s->fd < 0) {
        int e = errno;
        if (ret_err && asprintf(ret_err, "%s: cannot create a temporary file: %s", dir, strerror(e)) < 0)
            *ret_err = NULL;
        drift_spill_close(s);
        return SH_EIO;
    }
    for (size_t c = 0; c < ncols; c++) {
        if (!(s->cols[c].buf = drift_mem_alloc(s->bufvals * sizeof(double)))) {
            if (ret_err)
                *ret_err = strdup("out of memory");
            drift_spill_close(s);
            return SH_ENOMEM;
        }
    }
    return 0;
}

static const double P10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

/* The buffer as int32s in place (c->dec vouches for it), returning their
 * frac, or −1 (left as doubles). k = round(v × 10^frac) is exact: v is
 * within a relative 2^−53 of the decimal r = k / 10^frac and |k| < 2^31,
 * so v × 10^frac is within 2^−20 of k; and (double)k / 10^frac, one
 * rounding of r, is v again. */
static int to_ints(struct drift_spill_col *c)
{
    if (c->dec < 1 || c->dec > 10)
        return -1;
    int frac = c->dec - 1;
    const double S = P10[frac];
    /* four at a time (the compiler's vector code for straight groups) */
    size_t n = c->buflen, n4 = n & ~(size_t)3;
    double b0 = 0, b1 = 0, b2 = 0, b3 = 0; /* the largest |v| */
    const double *d = c->buf;
    for (size_t i = 0; i < n4; i += 4) {
        b0 = fabs(d[i]) > b0 ? fabs(d[i]) : b0;
        b1 = fabs(d[i + 1]) > b1 ? fabs(d[i + 1]) : b1;
        b2 = fabs(d[i + 2]) > b2 ? fabs(d[i + 2]) : b2;
        b3 = fabs(d[i + 3]) > b3 ? fabs(d[i + 3]) : b3;
    }
    for (size_t i = n4; i < n; i++)
        b0 = fabs(d[i]) > b0 ? fabs(d[i]) : b0;
    b0 = b1 > b0 ? b1 : b0;
    b2 = b3 > b2 ? b3 : b2;
    if (!((b2 > b0 ? b2 : b0) * S < 2147483647.0))
        return -1;
    /* forward, in place: ints i..i+3 over the bytes of doubles ≤ i + 1, read already */
    int32_t *k = (int32_t *)(void *)c->buf;
    for (size_t i = 0; i < n4; i += 4) {
        double x0 = d[i] * S, x1 = d[i + 1] * S, x2 = d[i + 2] * S, x3 = d[i + 3] * S;
        int32_t v[4] = {(int32_t)(x0 + copysign(0.5, x0)), (int32_t)(x1 + copysign(0.5, x1)),
                        (int32_t)(x2 + copysign(0.5, x2)), (int32_t)(x3 + copysign(0.5, x3))};
        memcpy(&k[i], v, sizeof v);
    }
    for (size_t i = n4; i < n; i++) {
        double x = d[i] * S;
        int32_t v = (int32_t)(x + copysign(0.5, x));
        memcpy(&k[i], &v, sizeof v);
    }
    return frac;
}

int drift_spill_flush_col(struct drift_spill *s, size_t col)
{
    struct drift_spill_col *c = &s->cols[col];
    if (c->buflen == 0)
        return 0;
    if (c->nblocks == c->bcap) {
        size_t n = c->bcap ? c->bcap * 2 : 16;
        struct drift_spill_block *b = realloc(c->blocks, n * sizeof *b);
        if (!b)
            return SH_ENOMEM;
        c->blocks = b;
        c->bcap = n;
    }
    const char *p = (const char *)c->buf;
    size_t left = c->buflen * sizeof(double);
    uint64_t off = s->size;
    int frac = to_ints(c);
    if (frac >= 0)
        left = c->buflen * sizeof(int32_t);
    while (left > 0) {
        ssize_t w = pwrite(s->fd, p, left, (off_t)s->size);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return SH_EIO;
        p += w;
        left -= (size_t)w;
        s->size += (uint64_t)w;
    }
    c->blocks[c->nblocks++] = (struct drift_spill_block){.off = off, .n = c->buflen, .frac = frac};
    c->buflen = 0;
    return 0;
}

void drift_spill_drop(struct drift_spill *s, size_t col)
{
    struct drift_spill_col *c = &s->cols[col];
    drift_mem_free(c->buf, s->bufvals * sizeof(double));
    free(c->blocks);
    memset(c, 0, sizeof *c);
    c->dropped = true;
}

int drift_spill_finish(struct drift_spill *s)
{
    int r = 0;
    for (size_t c = 0; c < s->ncols; c++) {
        if (!s->cols[c].buf)
            continue;
        if (r == 0)
            r = drift_spill_flush_col(s, c);
        drift_mem_free(s->cols[c].buf, s->bufvals * sizeof(double));
        s->cols[c].buf = NULL;
    }
    return r;
}

static int read_at(const struct drift_spill *s, uint64_t off, char *p, size_t left);

int drift_spill_read_ints(const struct drift_spill *s, size_t col, size_t b, double *dst)
{
    const struct drift_spill_block *bl = &s->cols[col].blocks[b];
    if (bl->frac < 0)
        return SH_EIO;
    return read_at(s, bl->off, (char *)dst + bl->n * sizeof(int32_t), bl->n * sizeof(int32_t));
}

int drift_spill_read(const struct drift_spill *s, size_t col, size_t b, double *dst)
{
    const struct drift_spill_block *bl = &s->cols[col].blocks[b];
    if (bl->frac < 0)
        return read_at(s, bl->off, (char *)dst, bl->n * sizeof(double));
    int r = drift_spill_read_ints(s, col, b, dst);
    if (r != 0)
        return r;
    /* forward: double i covers ints 2i − n and 2i − n + 1, both ≤ i, read already */
    const int32_t *k = (const int32_t *)(const void *)dst + bl->n;
    const double S = P10[bl->frac];
    for (size_t i = 0; i < bl->n; i++) {
        int32_t v;
        memcpy(&v, &k[i], sizeof v);
        dst[i] = (double)v / S;
    }
    return 0;
}

static int read_at(const struct drift_spill *s, uint64_t off, char *p, size_t left)
{
    while (left > 0) {
        ssize_t n = pread(s->fd, p, left, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return SH_EIO;
        p += n;
        left -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

size_t drift_spill_max_block(const struct drift_spill *s, size_t col)
{
    size_t m = 0;
    for (size_t b = 0; b < s->cols[col].nblocks; b++)
        if (s->cols[col].blocks[b].n > m)
            m = s->cols[col].blocks[b].n;
    return m;
}

void drift_spill_close(struct drift_spill *s)
{
    if (!s)
        return;
    for (size_t c = 0; c < s->ncols && s->cols; c++) {
        drift_mem_free(s->cols[c].buf, s->bufvals * sizeof(double));
        free(s->cols[c].blocks);
    }
    if (s->cols && s->fd >= 0) /* a zeroed struct has no file (fd 0 is not ours) */
        close(s->fd);
    free(s->cols);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}
