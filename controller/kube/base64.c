/* base64.c — strict base64 decoding (base64.h). */
#include "kube/base64.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int kube_base64_decode(const char *in, char **ret, size_t *ret_len)
{
    size_t n = 0;
    for (const char *p = in; *p; p++)
        if (!is_space(*p))
            n++;
    if (n % 4 != 0)
        return SH_EPARSE;
    char *out = malloc(n / 4 * 3 + 1);
    if (!out)
        return SH_ENOMEM;
    size_t len = 0, seen = 0;
    int quad[4], q = 0, pad = 0;
    for (const char *p = in; *p; p++) {
        if (is_space(*p))
            continue;
        seen++;
        int v;
        if (*p == '=') {
            /* only in the last quad, in its last one or two places */
            if (!((seen == n && q == 3) || (seen == n - 1 && q == 2)))
                goto bad;
            pad++;
            v = 0;
        } else {
            if (pad || (v = b64_value(*p)) < 0)
                goto bad;
        }
        quad[q++] = v;
        if (q == 4) {
            unsigned long bits = ((unsigned long)quad[0] << 18) | ((unsigned long)quad[1] << 12) |
                                 ((unsigned long)quad[2] << 6) | (unsigned long)quad[3];
            out[len++] = (char)((bits >> 16) & 0xff);
            if (pad < 2)
                out[len++] = (char)((bits >> 8) & 0xff);
            if (pad < 1)
                out[len++] = (char)(bits & 0xff);
            q = 0;
        }
    }
    out[len] = '\0';
    *ret = out;
    *ret_len = len;
    return 0;
bad:
    free(out);
    return SH_EPARSE;
}
