/* numtext.c — strict number parsing with an exact fast path, shortest formatting (numtext.h). */
#include "data/numtext.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double num_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
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
        v /= num_pow10[frac];
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
            v = exp10 >= 0 ? v * num_pow10[exp10] : v / num_pow10[-exp10];
            *out = neg ? -v : v;
            return true;
        }
    }
    return slow_parse(s, len, out);
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
