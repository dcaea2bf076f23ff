/*
 * linesplit.h — a plain CSV line split at its commas, sixteen bytes at a
 * time (SSE2), else eight (SWAR), else one; and the test that a block of
 * lines is plain (no quote, NUL or lone CR). For the two-thread passes of
 * fix-data (datafix_par.c, datafix_guess.c).
 */
#ifndef SH_DATA_LINESPLIT_H
#define SH_DATA_LINESPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A field: its bytes. */
struct span {
    const char *p;
    size_t n;
};

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define SPLIT16 1
/* Bit i set when w[i] is ',' or '\n' (w[0..16) readable). */
static inline uint32_t seps16(const char *w)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)w);
    __m128i a = _mm_cmpeq_epi8(x, _mm_set1_epi8(',')), b = _mm_cmpeq_epi8(x, _mm_set1_epi8('\n'));
    return (uint32_t)_mm_movemask_epi8(_mm_or_si128(a, b));
}
#endif

#if !defined(SPLIT16) && defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR 1
/* The high bit of each byte of x that is ',' or '\n' (exact: no carries). */
static inline uint64_t seps(uint64_t x)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), low7 = ones * 0x7F;
    uint64_t a = x ^ (ones * ','), b = x ^ (ones * '\n');
    uint64_t za = ~(((a & low7) + low7) | a | low7), zb = ~(((b & low7) + low7) | b | low7);
    return za | zb;
}
#endif

/* The line's last field ends at e ('\n' or lim): its CR off, *eol set. */
static inline const char *end_line(const char *p, const char *e, const char *lim, size_t c,
                                   size_t ncols, struct span *fs, size_t *eol, bool *blank)
{
    size_t n = (size_t)(e - p);
    size_t cr = n > 0 && p[n - 1] == '\r';
    *eol = (e < lim) + cr;
    n -= cr;
    if (c == 0 && n == 0) {
        *blank = true;
        return e + (e < lim);
    }
    if (c + 1 != ncols)
        return NULL;
    fs[c] = (struct span){p, n};
    return e + (e < lim);
}

/* A ',' at e ends field *c (from *p): false when the line would have more
 * than ncols fields. */
static inline bool take_field(const char **p, const char *e, size_t *c, size_t ncols, struct span *fs)
{
    if (*c + 1 == ncols)
        return false;
    fs[(*c)++] = (struct span){*p, (size_t)(e - *p)};
    *p = e + 1;
    return true;
}

/*
 * Splits the line at p (up to '\n' or lim) into fs[0..ncols). Returns the
 * start of the next line and *eol (its ending's bytes: 0, 1 or 2 with CR),
 * *blank for an empty line; NULL when the line has not ncols fields.
 * p[..lim+8) is readable: sixteen bytes are looked at a time (SSE2), else
 * eight (SWAR); the bytes left, one at a time.
 */
static inline const char *split_line(const char *p, const char *lim, size_t ncols, struct span *fs,
                                     size_t *eol, bool *blank)
{
    *blank = false;
    size_t c = 0;
    const char *w = p;
#ifdef SPLIT16
    for (; w + 8 <= lim; w += 16) { /* w[0..16) is readable: lim[0..8) is */
        for (uint32_t m = seps16(w); m; m &= m - 1) {
            const char *e = w + __builtin_ctz(m);
            if (e >= lim)
                break;
            if (*e == '\n')
                return end_line(p, e, lim, c, ncols, fs, eol, blank);
            if (!take_field(&p, e, &c, ncols, fs))
                return NULL;
        }
    }
#elif defined(SWAR)
    for (; w < lim; w += 8) {
        uint64_t x;
        memcpy(&x, w, sizeof x);
        for (uint64_t m = seps(x); m; m &= m - 1) {
            const char *e = w + (__builtin_ctzll(m) >> 3);
            if (e >= lim)
                break;
            if (*e == '\n')
                return end_line(p, e, lim, c, ncols, fs, eol, blank);
            if (!take_field(&p, e, &c, ncols, fs))
                return NULL;
        }
    }
#endif
    for (const char *e = w; e < lim; e++) { /* the bytes left */
        if (*e == '\n')
            return end_line(p, e, lim, c, ncols, fs, eol, blank);
        if (*e == ',' && !take_field(&p, e, &c, ncols, fs))
            return NULL;
    }
    return end_line(p, lim, lim, c, ncols, fs, eol, blank);
}

/* True when the block is plain: no quote, no NUL, every CR before a LF. */
static inline bool plain_block(const char *b, size_t len)
{
    if (memchr(b, '"', len) || memchr(b, '\0', len))
        return false;
    const char *p = b, *end = b + len;
    while ((p = memchr(p, '\r', (size_t)(end - p))) != NULL) {
        if (p + 1 >= end || p[1] != '\n')
            return false;
        p++;
    }
    return true;
}

#endif
