/* numtext.c — strict number parsing with an exact fast path, shortest formatting (numtext.h). */
#include "data/numtext.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool slow_parse(const char *s, size_t len, double *out)
{
    char small[128];
    char *buf = small;
    if (len >= sizeof small) {
        buf = malloc(len + 1);
        if (!buf)
            return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    bool ok = end == buf + len && isfinite(v) && !(errno == ERANGE && fabs(v) > 1.0);
    if (buf != small)
        free(buf);
    if (ok)
        *out = v;
    return ok;
}

/* Short plain decimals ([-]D+[.D*], at most 18 digits in all): the common case. */
static inline bool short_decimal(const char *s, size_t len, double *out)
{
    size_t i = 0;
    bool neg = s[0] == '-';
    i += neg;
    uint64_t m = 0;
    size_t d0 = i;
    while (i < len && (unsigned)(s[i] - '0') < 10)
        m = m * 10 + (unsigned)(s[i++] - '0');
    if (i == d0)
        return false;
    int frac = 0;
    if (i < len) {
        if (s[i] != '.')
            return false;
        i++;
        size_t f0 = i;
        while (i < len && (unsigned)(s[i] - '0') < 10)
            m = m * 10 + (unsigned)(s[i++] - '0');
        if (i != len)
            return false;
        frac = (int)(i - f0);
    }
    double v = (double)m; /* m < 10^18 < 2^63; exact when m <= 2^53 */
    if (m > (UINT64_C(1) << 53))
        return false;
    if (frac)
        v /= POW10[frac];
    *out = neg ? -v : v;
    return true;
}

bool num_parse(const char *s, size_t len, double *out)
{
    if (len > 0 && len <= 18 && short_decimal(s, len, out))
        return true;
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    uint64_t m = 0;
    int nd = 0;        /* significant digits kept in m */
    bool dropped = false; /* more than 19 significant digits */
    int exp10 = 0;
    size_t ndig = 0;
    while (i < len && (unsigned)(s[i] - '0') < 10) {
        unsigned d = (unsigned)(s[i] - '0');
        if (nd < 19) {
            m = m * 10 + d;
            if (m)
                nd++;
        } else {
            dropped = true;
        }
        i++;
        ndig++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && (unsigned)(s[i] - '0') < 10) {
            unsigned d = (unsigned)(s[i] - '0');
            if (nd < 19) {
                m = m * 10 + d;
                if (m)
                    nd++;
                exp10--;
            } else {
                dropped = true;
            }
            i++;
            ndig++;
        }
    }
    if (ndig == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        size_t estart = i;
        int e = 0;
        while (i < len && (unsigned)(s[i] - '0') < 10) {
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
            i++;
        }
        if (i == estart)
            return false;
        exp10 += eneg ? -e : e;
    }
    if (i != len)
        return false;
    if (!dropped) {
        if (m == 0) {
            *out = neg ? -0.0 : 0.0;
            return true;
        }
        if (m <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
            double v = (double)m;
            v = exp10 >= 0 ? v * POW10[exp10] : v / POW10[-exp10];
            *out = neg ? -v : v;
            return true;
        }
    }
    return slow_parse(s, len, out);
}

/* True when the 8 bytes of x are all ASCII digits. */
static inline bool eight_digits(uint64_t x)
{
    const uint64_t hi = UINT64_C(0xF0F0F0F0F0F0F0F0), zeros = UINT64_C(0x3030303030303030);
    return (x & hi) == zeros && ((x + UINT64_C(0x0606060606060606)) & hi) == zeros;
}

/* The value of 8 ASCII digits, the first in the lowest byte (simdjson's). */
static inline uint64_t eight_value(uint64_t x)
{
    x -= UINT64_C(0x3030303030303030);
    x = (x * 10) + (x >> 8);
    return (((x & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x000F424000000064)) +
            (((x >> 16) & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x0000271000000001))) >>
           32;
}

/* The k (1..8) ASCII digits at p as a number, or -1; p[0..8) readable. */
static inline int64_t digits_at(const char *p, size_t k)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    const uint64_t ones = UINT64_C(0x0101010101010101);
    if (k < 8) /* k digits at the top, '0's below them */
        x = (x << (8 * (8 - k))) | ((ones * '0') >> (8 * k));
    return eight_digits(x) ? (int64_t)eight_value(x) : -1;
}

/* Where the first '.' of p[0..n) is (n ≤ 8), or n; p[0..8) readable. */
static inline size_t dot_in(const char *p, size_t n)
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

bool num_parse_padded(const char *s, size_t len, double *out)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    static const uint64_t P10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
    bool neg = len > 0 && s[0] == '-';
    const char *t = s + neg;
    size_t n = len - neg;
    if (n == 0 || n > 17)
        return num_parse(s, len, out);
    /* [-]I[.F]: I of 1..8 digits, F of 0..8, as short_decimal reads them */
    size_t ip = dot_in(t, n < 8 ? n : 8);
    if (ip == 8 && n > 8)
        return num_parse(s, len, out);
    size_t fl = ip < n ? n - ip - 1 : 0;
    if (ip == 0 || fl > 8)
        return num_parse(s, len, out);
    int64_t iv = digits_at(t, ip), fv = fl ? digits_at(t + ip + 1, fl) : 0;
    if (iv < 0 || fv < 0)
        return num_parse(s, len, out);
    uint64_t m = (uint64_t)iv * P10[fl] + (uint64_t)fv;
    if (m > (UINT64_C(1) << 53))
        return num_parse(s, len, out);
    double v = (double)m;
    if (fl)
        v /= POW10[fl];
    *out = neg ? -v : v;
    return true;
#else
    return num_parse(s, len, out);
#endif
}

/* True when the k (1..8) bytes at p are ASCII digits; p[0..8) readable. */
static inline bool digits_ok(const char *p, size_t k)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    const uint64_t ones = UINT64_C(0x0101010101010101);
    if (k < 8) /* k bytes at the top, '0's below them */
        x = (x << (8 * (8 - k))) | ((ones * '0') >> (8 * k));
    return eight_digits(x);
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
enum num_side num_side_padded(const char *s, size_t len, double lo, double hi)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    bool neg = len > 0 && s[0] == '-';
    const char *t = s + neg;
    size_t n = len - neg;
    if (n == 0 || n > 17)
        return NUM_UNSURE;
    size_t ip = dot_in(t, n < 8 ? n : 8);
    if (ip == 8 && n > 8)
        return NUM_UNSURE;
    size_t fl = ip < n ? n - ip - 1 : 0;
    if (ip == 0 || fl > 8)
        return NUM_UNSURE;
    int64_t iv = digits_at(t, ip);
    if (iv < 0 || (fl && !digits_ok(t + ip + 1, fl)))
        return NUM_UNSURE;
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

size_t num_format(double v, char *buf, size_t size)
{
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, size, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v)
            break;
    }
    return n > 0 ? (size_t)n : 0;
}
