/* json_pointer.c — RFC 6901 JSON pointers over cJSON (json_pointer.h). */
#include "model/json_pointer.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

#define TOKEN_MAX 1024

/* Shows at most this many bytes of a pointer in messages. */
#define SHOW_MAX 200

static const char *kind_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsNumber(v))
        return "a number";
    return "an unknown value";
}

/*
 * Decodes the reference token starting at p (up to the next '/' or the end)
 * into tok. Returns the length of the encoded token, or -1 on a bad escape
 * or a token too long.
 */
static long decode_token(const char *p, char *tok, size_t size)
{
    size_t o = 0;
    const char *s = p;
    for (; *s && *s != '/'; s++) {
        char c = *s;
        if (c == '~') {
            if (s[1] == '0')
                c = '~';
            else if (s[1] == '1')
                c = '/';
            else
                return -1;
            s++;
        }
        if (o + 1 >= size)
            return -1;
        tok[o++] = c;
    }
    tok[o] = '\0';
    return (long)(s - p);
}

/* An array index per RFC 6901: "0" or [1-9][0-9]*. */
static bool parse_index(const char *tok, size_t *ret)
{
    if (!*tok || (tok[0] == '0' && tok[1]) || strlen(tok) > 9)
        return false;
    size_t v = 0;
    for (const char *c = tok; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        v = v * 10 + (size_t)(*c - '0');
    }
    *ret = v;
    return true;
}

const cJSON *json_pointer_get(const cJSON *doc, const char *pointer, char *err, size_t errsize)
{
    if (err && errsize)
        err[0] = '\0';
    if (!pointer || !*pointer)
        return doc;
    if (pointer[0] != '/') {
        if (err)
            snprintf(err, errsize, "%.*s: a JSON pointer must be empty or start with '/'",
                     SHOW_MAX, pointer);
        return NULL;
    }
    char tok[TOKEN_MAX];
    const cJSON *cur = doc;
    const char *p = pointer;
    while (*p == '/') {
        p++;
        long n = decode_token(p, tok, sizeof tok);
        int upto = (int)(p - pointer) + (n > 0 ? (int)n : 0);
        if (n < 0) {
            if (err)
                snprintf(err, errsize, "%.*s: bad escape (only ~0 and ~1) or token too long",
                         SHOW_MAX, pointer);
            return NULL;
        }
        if (cJSON_IsObject(cur)) {
            const cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, tok);
            if (!next) {
                if (err)
                    snprintf(err, errsize, "%.*s: no member \"%.*s\"", upto > SHOW_MAX ? SHOW_MAX : upto,
                             pointer, SHOW_MAX, tok);
                return NULL;
            }
            cur = next;
        } else if (cJSON_IsArray(cur)) {
            size_t idx;
            if (!parse_index(tok, &idx)) {
                if (err)
                    snprintf(err, errsize, "%.*s: \"%.*s\" is not an array index",
                             upto > SHOW_MAX ? SHOW_MAX : upto, pointer, SHOW_MAX, tok);
                return NULL;
            }
            int size = cJSON_GetArraySize(cur);
            if (idx >= (size_t)size) {
                if (err)
                    snprintf(err, errsize, "%.*s: index %zu out of range (%d element%s)",
                             upto > SHOW_MAX ? SHOW_MAX : upto, pointer, idx, size,
                             size == 1 ? "" : "s");
                return NULL;
            }
            cur = cJSON_GetArrayItem(cur, (int)idx);
        } else {
            int before = (int)(p - pointer) - 1;
            if (err && before > 0)
                snprintf(err, errsize, "%.*s: %s has no member \"%.*s\"",
                         before > SHOW_MAX ? SHOW_MAX : before, pointer, kind_name(cur),
                         SHOW_MAX, tok);
            else if (err)
                snprintf(err, errsize, "the document is %s: no member \"%.*s\"", kind_name(cur),
                         SHOW_MAX, tok);
            return NULL;
        }
        p += n;
    }
    return cur;
}

int json_pointer_number(const cJSON *doc, const char *pointer, double *ret, char *err,
                        size_t errsize)
{
    const cJSON *v = json_pointer_get(doc, pointer, err, errsize);
    if (!v)
        return pointer && *pointer && pointer[0] != '/' ? SH_EINVAL : SH_ENOTFOUND;
    const char *show = pointer && *pointer ? pointer : "(the document)";
    if (!cJSON_IsNumber(v)) {
        if (err)
            snprintf(err, errsize, "%.*s: not a number (%s)", SHOW_MAX, show, kind_name(v));
        return SH_EINVAL;
    }
    if (!isfinite(v->valuedouble)) {
        if (err)
            snprintf(err, errsize, "%.*s: not a finite number", SHOW_MAX, show);
        return SH_EINVAL;
    }
    *ret = v->valuedouble;
    return 0;
}
