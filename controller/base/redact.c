/* redact.c — credentials out of messages, in place (redact.h). */
#include "base/redact.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const secret_params[] = {"token", "access_token", "api_key", "apikey",
                                            "password", "sig", "secret", "client_secret"};

/* Removes n bytes at p and puts `with` there (never longer than n, or the
 * first n characters of a run of `fill`). Returns the length put there. */
static size_t replace(char *p, size_t n, const char *with, char fill)
{
    size_t wl = strlen(with);
    if (n < wl) {
        memset(p, fill, n);
        return n;
    }
    memcpy(p, with, wl);
    memmove(p + wl, p + n, strlen(p + n) + 1);
    return wl;
}

/* Where a URL's authority ends. */
static bool authority_end(char c)
{
    return c == '\0' || c == '/' || c == '?' || c == '#' || isspace((unsigned char)c) ||
           strchr("\"'<>\\`,;()[]{}", c) != NULL;
}

/* Where a query value ends. */
static bool value_end(char c)
{
    return c == '\0' || c == '&' || c == '#' || isspace((unsigned char)c) ||
           strchr("\"'<>\\`;)]}", c) != NULL;
}

/* "scheme://user:pass@host": the userinfo (start and length) of the URL
 * whose "://" is at sep, or 0. */
static size_t userinfo_at(const char *sep, const char **ret_start)
{
    const char *a = sep + 3, *at = NULL, *q = a;
    for (; !authority_end(*q); q++)
        if (*q == '@')
            at = q;
    if (!at || at == a)
        return 0;
    *ret_start = a;
    return (size_t)(at - a);
}

/* The length of the secret parameter name at p followed by '=', or 0. */
static size_t secret_param_at(const char *p)
{
    for (size_t i = 0; i < sizeof secret_params / sizeof *secret_params; i++) {
        size_t n = strlen(secret_params[i]);
        if (strncasecmp(p, secret_params[i], n) == 0 && p[n] == '=')
            return n + 1;
    }
    return 0;
}

static size_t redact_urls(char *msg)
{
    size_t count = 0;
    for (char *p = msg; (p = strstr(p, "://")) != NULL;) {
        const char *start = NULL;
        size_t n = userinfo_at(p, &start);
        p += 3;
        if (n && strncmp(start, REDACTED, n) != 0) {
            p += replace(p, n, REDACTED, 'x');
            count++;
        }
    }
    for (char *p = msg; (p = strpbrk(p, "?&")) != NULL; p++) {
        size_t nl = secret_param_at(p + 1);
        if (!nl)
            continue;
        char *v = p + 1 + nl;
        size_t n = 0;
        while (!value_end(v[n]) && !(v[n] == ':' && (v[n + 1] == ' ' || !v[n + 1])))
            n++; /* "…?token=abc: connection refused": the colon is the message's */
        if (n && !(n == sizeof REDACTED - 1 && strncmp(v, REDACTED, n) == 0)) {
            replace(v, n, REDACTED, 'x');
            count++;
        }
        p = v;
        if (!*p)
            break;
    }
    return count;
}

/* The first occurrence of word (lowercase, len bytes) in s in any case, as
 * strcasestr(3) finds it (ASCII, the C locale) — without its per-call setup,
 * which dominated the cost of redacting every status and Event: a library
 * scan for the first letter, then a compare. */
static char *find_ci(char *s, const char *word, size_t len)
{
    const char first[3] = {word[0], (char)toupper((unsigned char)word[0]), '\0'};
    for (char *p = s; (p = strpbrk(p, first)) != NULL; p++)
        if (strncasecmp(p, word, len) == 0)
            return p;
    return NULL;
}

/* "Bearer TOKEN", "Authorization: Basic B64" (any case). */
static size_t redact_schemes(char *msg)
{
    static const char redacted[] = "[redacted]";
    static const struct {
        const char *word;
        size_t len;
    } schemes[] = {{"bearer ", 7}, {"authorization: basic ", 21}};
    size_t count = 0;
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
        for (char *p = msg; (p = find_ci(p, schemes[i].word, schemes[i].len)) != NULL;) {
            char *t = p + schemes[i].len;
            size_t n = strcspn(t, " \t\r\n\"',;\\");
            if (n && strncmp(t, redacted, n) != 0) {
                n = replace(t, n, redacted, '*');
                count++;
            }
            p = t + n;
        }
    }
    return count;
}

/* PEM private keys: from -----BEGIN ...PRIVATE KEY----- to the END line (or the end). */
static size_t redact_pem(char *msg)
{
    static const char key[] = "[redacted private key]";
    size_t count = 0;
    for (char *p = msg; (p = strstr(p, "-----BEGIN ")) != NULL;) {
        char *eol = strstr(p + 11, "-----");
        if (!eol || !memmem(p, (size_t)(eol - p), "PRIVATE KEY", 11)) {
            p += 11;
            continue;
        }
        char *end = strstr(eol + 5, "-----END ");
        char *stop = end ? strstr(end + 9, "-----") : NULL;
        size_t n = stop ? (size_t)(stop + 5 - p) : strlen(p);
        if (n >= sizeof key - 1) {
            memcpy(p, key, sizeof key - 1);
            memmove(p + sizeof key - 1, p + n, strlen(p + n) + 1);
            p += sizeof key - 1;
        } else {
            memset(p, '*', n);
            p += n;
        }
        count++;
    }
    return count;
}

size_t redact_inplace(char *msg)
{
    if (!msg)
        return 0;
    return redact_urls(msg) + redact_schemes(msg) + redact_pem(msg);
}

char *redact_dup(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    redact_inplace(d);
    return d;
}

bool redact_url_has_credentials(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    bool has = d && redact_urls(d) > 0;
    free(d);
    return has;
}

size_t redact_json(cJSON *node)
{
    size_t count = 0;
    for (; node; node = node->next) {
        if (cJSON_IsString(node) && node->valuestring)
            count += redact_inplace(node->valuestring);
        if (node->child)
            count += redact_json(node->child);
    }
    return count;
}

char *redact_excerpt(const char *s, size_t max, char *out, size_t outsize)
{
    if (!outsize)
        return out;
    if (!s)
        s = "";
    size_t n = 0, room = outsize > 4 ? outsize - 4 : 0;
    if (max > room)
        max = room;
    for (; s[n] && n < max; n++)
        out[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
    bool cut = s[n] != '\0';
    if (cut && outsize > 4)
        memcpy(out + n, "...", 3), n += 3;
    out[n < outsize ? n : outsize - 1] = '\0';
    redact_inplace(out);
    return out;
}
