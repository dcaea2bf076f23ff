/*
 * numtext.h — number text ⇄ double for the CSV engine: a strict decimal
 * grammar with an exact fast path (Clinger: up to 19 significant digits,
 * |exponent| ≤ 22, mantissa ≤ 2^53) and strtod for the rest; and the
 * shortest text that reads back to the same double.
 *
 * Grammar (the whole text, no spaces): [+-]? (D+ [. D*] | . D+) ([eE] [+-]? D+)?
 * Hex, inf and nan are not numbers here; values that overflow are not either.
 * Stateless; any thread.
 */
#ifndef SH_NUMTEXT_H
#define SH_NUMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Parses s[0..len) completely as a finite number. Returns true and *out, or false. */
bool num_parse(const char *s, size_t len, double *out);

/* The same, faster for short plain decimals ([-]D+[.D*], at most 8 characters
 * after the sign, read eight or sixteen bytes at a time): s[len..len+16) must
 * be readable (a buffer with padding). */
/* Inline in the callers' loops whatever its size: called per cell, its
 * division's latency is hidden only there (−8% of fix-data's time). */
#ifdef __GNUC__
#define NUM_HOT static inline __attribute__((always_inline))
#else
#define NUM_HOT static inline
#endif
NUM_HOT bool num_parse_padded(const char *s, size_t len, double *out);

/* Where the number s[0..len) lies against [lo, hi], told from its text
 * when that is enough (its sign and integer digits), as parse-then-compare
 * would tell for x, the double num_parse reads: NUM_BELOW (x < lo),
 * NUM_ABOVE (x > hi, and not x < lo), NUM_INSIDE (lo <= x <= hi), or
 * NUM_UNSURE: too close to a bound, a text the fast reading does not take
 * (more than 8 integer or fraction digits, '+', exponent, ...) or NaN
 * bounds: parse it. Any text that is not a number is NUM_UNSURE.
 * s[len..len+16) must be readable (a buffer with padding). */
enum num_side { NUM_INSIDE, NUM_BELOW, NUM_ABOVE, NUM_UNSURE };
static inline enum num_side num_side_padded(const char *s, size_t len, double lo, double hi);

/* Writes the shortest of %.15g, %.16g, %.17g of finite v that reads back to v
 * (no trailing zeros, "-0" for negative zero) into buf; returns its length.
 * size must be at least 32. */
size_t num_format(double v, char *buf, size_t size);

/* ---- the fast paths, inline in the callers' loops (SWAR) ---- */

extern const double num_pow10[23]; /* 1e0 .. 1e22, exact */

/* True when the 8 bytes of x are all ASCII digits. */
static inline bool num_eight_digits_(uint64_t x)
{
    const uint64_t hi = UINT64_C(0xF0F0F0F0F0F0F0F0), zeros = UINT64_C(0x3030303030303030);
    return (x & hi) == zeros && ((x + UINT64_C(0x0606060606060606)) & hi) == zeros;
}

/* The value of 8 ASCII digits, the first in the lowest byte (simdjson's). */
static inline uint64_t num_eight_value_(uint64_t x)
{
    x -= UINT64_C(0x3030303030303030);
    x = (x * 10) + (x >> 8);
    return (((x & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x000F424000000064)) +
            (((x >> 16) & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x0000271000000001))) >>
           32;
}

/* The k (1..8) bytes at p at the top of eight, '0's below them; p[0..8) readable. */
static inline uint64_t num_load_k_(const char *p, size_t k)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    const uint64_t ones = UINT64_C(0x0101010101010101);
    return k < 8 ? (x << (8 * (8 - k))) | ((ones * '0') >> (8 * k)) : x;
}

/* The k (1..8) ASCII digits at p as a number, or -1; p[0..8) readable. */
static inline int64_t num_digits_at_(const char *p, size_t k)
{
    uint64_t x = num_load_k_(p, k);
    return num_eight_digits_(x) ? (int64_t)num_eight_value_(x) : -1;
}

/* Where the first '.' of p[0..n) is (n ≤ 8), or n; p[0..8) readable. */
static inline size_t num_dot_in_(const char *p, size_t n)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    const uint64_t ones = UINT64_C(0x0101010101010101), low7 = ones * 0x7F;
    uint64_t d = x ^ (ones * '.');
    /* exact: a byte of d is 0 iff x has '.' there (no carries across bytes) */
    uint64_t dot = ~(((d & low7) + low7) | d | low7);
    if (n < 8)
        dot &= (UINT64_C(1) << (8 * n)) - 1;
    return dot ? (size_t)__builtin_ctzll(dot) >> 3 : n;
}


#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define NUM_SHAPE16 1
/* The shape of t[0..n) (1 <= n <= 16, t[0..16) readable) as a plain
 * decimal I[.F]: true with ip (the digits of I, 1..8) and fl (of F, 0..8)
 * when it is one; the same texts, and the same ip and fl, as the SWAR
 * tests below take. One sixteen-byte look (SSE2). */
static inline bool num_shape16_(const char *t, size_t n, size_t *ip, size_t *fl)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)t);
    /* '0'..'9' go to -128..-119: below -118, as no other byte */
    __m128i y = _mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - '0')));
    uint32_t full = (UINT32_C(1) << n) - 1;
    uint32_t dig = (uint32_t)_mm_movemask_epi8(_mm_cmplt_epi8(y, _mm_set1_epi8(-118))) & full;
    uint32_t dot = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('.'))) & full;
    if ((dig | dot) != full || (dot & (dot - 1)) != 0)
        return false;
    size_t i = dot ? (size_t)__builtin_ctz(dot) : n, f = dot ? n - i - 1 : 0;
    *ip = i;
    *fl = f;
    return i >= 1 && i <= 8 && f <= 8;
}
#endif

/* ±m / 10^fl into *out, exactly as num_parse reads it, when m fits a
 * double exactly (m ≤ 2^53); false otherwise (the caller parses). */
static inline bool num_scaled_(uint64_t m, size_t fl, bool neg, double *out)
{
    if (m > (UINT64_C(1) << 53))
        return false;
    double v = (double)m;
    if (fl)
        v /= num_pow10[fl];
    *out = neg ? -v : v;
    return true;
}

NUM_HOT bool num_parse_padded(const char *s, size_t len, double *out)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    static const uint64_t P10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
    bool neg = len > 0 && s[0] == '-';
    const char *t = s + neg;
    size_t n = len - neg;
    if (n == 0 || n > 17)
        return num_parse(s, len, out);
#ifdef NUM_SHAPE16
    if (n <= 16) { /* the shape checked: the digits' values only */
        size_t ip, fl;
        if (!num_shape16_(t, n, &ip, &fl))
            return num_parse(s, len, out);
        uint64_t a, b;
        memcpy(&a, t, sizeof a);
        memcpy(&b, t + ip + 1, sizeof b);
        const uint64_t zeros = UINT64_C(0x3030303030303030);
        a = ip < 8 ? (a << (8 * (8 - ip))) | (zeros >> (8 * ip)) : a;
        b = fl == 0 ? zeros : fl < 8 ? (b << (8 * (8 - fl))) | (zeros >> (8 * fl)) : b;
        uint64_t m = num_eight_value_(a) * P10[fl] + num_eight_value_(b);
        return num_scaled_(m, fl, neg, out) || num_parse(s, len, out);
    }
#endif
    /* [-]I[.F]: I of 1..8 digits, F of 0..8, as short_decimal reads them */
    size_t ip = num_dot_in_(t, n < 8 ? n : 8);
    if (ip == 8 && n > 8)
        return num_parse(s, len, out);
    size_t fl = ip < n ? n - ip - 1 : 0;
    if (ip == 0 || fl > 8)
        return num_parse(s, len, out);
    int64_t iv = num_digits_at_(t, ip), fv = fl ? num_digits_at_(t + ip + 1, fl) : 0;
    if (iv < 0 || fv < 0)
        return num_parse(s, len, out);
    uint64_t m = (uint64_t)iv * P10[fl] + (uint64_t)fv;
    return num_scaled_(m, fl, neg, out) || num_parse(s, len, out);
#else
    return num_parse(s, len, out);
#endif
}

/* True when the k (1..8) bytes at p are ASCII digits; p[0..8) readable. */
static inline bool num_digits_ok_(const char *p, size_t k)
{
    return num_eight_digits_(num_load_k_(p, k));
}

/*
 * The texts num_parse_padded reads on its fast path ([-]I[.F], I of 1..8
 * digits, F of 0..8): the value is ±I exactly when F is empty, else within
 * [I, I+1) (its sign's side). x, the correctly rounded double of the value,
 * is then in [L, U], the ends rounded the same way (they are exact: I <
 * 10^8); rounding to nearest keeps order (v >= L gives x >= L). So x < lo
 * when U < lo, x > hi when L > hi, and lo <= x <= hi when lo <= L and
 * U <= hi; else it takes the parse.
 */
static inline enum num_side num_side_padded(const char *s, size_t len, double lo, double hi)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    bool neg = len > 0 && s[0] == '-';
    const char *t = s + neg;
    size_t n = len - neg;
    if (n == 0 || n > 17)
        return NUM_UNSURE;
    size_t ip, fl;
    int64_t iv;
#ifdef NUM_SHAPE16
    if (n <= 16) {
        if (!num_shape16_(t, n, &ip, &fl))
            return NUM_UNSURE;
        uint64_t a;
        memcpy(&a, t, sizeof a);
        if (ip < 8)
            a = (a << (8 * (8 - ip))) | (UINT64_C(0x3030303030303030) >> (8 * ip));
        iv = (int64_t)num_eight_value_(a);
    } else
#endif
    {
        ip = num_dot_in_(t, n < 8 ? n : 8);
        if (ip == 8 && n > 8)
            return NUM_UNSURE;
        fl = ip < n ? n - ip - 1 : 0;
        if (ip == 0 || fl > 8)
            return NUM_UNSURE;
        iv = num_digits_at_(t, ip);
        if (iv < 0 || (fl && !num_digits_ok_(t + ip + 1, fl)))
            return NUM_UNSURE;
    }
    double a = (double)iv, l, u;
    if (fl == 0)
        l = u = neg ? -a : a;
    else if (neg)
        l = -(a + 1), u = -a;
    else
        l = a, u = a + 1;
    if (u < lo)
        return NUM_BELOW;
    if (l > hi && l >= lo) /* x > hi, and x < lo (tested first) cannot be */
        return NUM_ABOVE;
    return l >= lo && u <= hi ? NUM_INSIDE : NUM_UNSURE;
#else
    (void)s, (void)len, (void)lo, (void)hi;
    return NUM_UNSURE;
#endif
}

#endif
