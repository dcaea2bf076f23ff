/*
 * watch.c — the watch-stream decoder (watch.h). Bytes are appended to a
 * line buffer only up to the next '\n'; each new read is scanned once.
 */
#include "kube/watch.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

#define DEFAULT_MAX_LINE (16u << 20)

static const char *const type_names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};

const char *kube_event_type_name(enum kube_event_type t)
{
    return (unsigned)t < sizeof type_names / sizeof type_names[0] ? type_names[t] : "?";
}

void kube_watch_init(struct kube_watch_decoder *d, size_t max_line, kube_watch_fn *fn, void *ctx)
{
    *d = (struct kube_watch_decoder){.max_line = max_line ? max_line : DEFAULT_MAX_LINE,
                                     .fn = fn,
                                     .ctx = ctx};
}

void kube_watch_free(struct kube_watch_decoder *d)
{
    free(d->line);
    d->line = NULL;
    d->len = d->cap = 0;
}

static int append(struct kube_watch_decoder *d, const char *buf, size_t n)
{
    if (d->len + n > d->max_line)
        return SH_ETOOBIG;
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap : 4096;
        while (cap < d->len + n)
            cap *= 2;
        if (cap > d->max_line)
            cap = d->max_line;
        char *nl = realloc(d->line, cap);
        if (!nl)
            return SH_ENOMEM;
        d->line = nl;
        d->cap = cap;
    }
    memcpy(d->line + d->len, buf, n);
    d->len += n;
    return 0;
}

static int decode_line(struct kube_watch_decoder *d, const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i == n)
        return 0; /* blank line */
    cJSON *ev = cJSON_ParseWithLength(s + i, n - i);
    if (!ev)
        return SH_EPROTO;
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "type"));
    int t = -1;
    for (size_t k = 0; type && k < sizeof type_names / sizeof type_names[0]; k++)
        if (strcmp(type, type_names[k]) == 0)
            t = (int)k;
    cJSON *obj = cJSON_DetachItemFromObjectCaseSensitive(ev, "object");
    cJSON_Delete(ev);
    if (t < 0 || !cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return SH_EPROTO;
    }
    d->events++;
    return d->fn(d->ctx, (enum kube_event_type)t, obj);
}

int kube_watch_feed(struct kube_watch_decoder *d, const char *buf, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(buf, '\n', len);
        size_t n = nl ? (size_t)(nl - buf) : len;
        int r;
        if (nl && d->len == 0) {
            if (n > d->max_line)
                return SH_ETOOBIG;
            r = decode_line(d, buf, n); /* a whole line in this read: no copy */
        } else {
            if ((r = append(d, buf, n)) != 0)
                return r;
            if (!nl)
                return 0;
            r = decode_line(d, d->line, d->len);
            d->len = 0;
        }
        if (r != 0)
            return r;
        buf += n + 1;
        len -= n + 1;
    }
    return 0;
}

int kube_watch_finish(struct kube_watch_decoder *d)
{
    if (d->len == 0)
        return 0;
    int r = decode_line(d, d->line, d->len);
    d->len = 0;
    return r;
}
