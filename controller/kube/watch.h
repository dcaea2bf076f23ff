/*
 * watch.h — the decoder of a watch stream: newline-delimited JSON events
 * `{"type": "ADDED|MODIFIED|DELETED|BOOKMARK|ERROR", "object": {...}}` as the
 * API server sends them (one per HTTP chunk, but nothing here relies on
 * that: bytes may arrive split anywhere, several events per read).
 *
 * A line is bounded (max_line): a longer one is an error and the caller
 * abandons the stream (and relists). The decoder is owned by one thread.
 */
#ifndef SH_KUBE_WATCH_H
#define SH_KUBE_WATCH_H

#include <cjson/cJSON.h>
#include <stddef.h>

enum kube_event_type {
    KUBE_EV_ADDED,
    KUBE_EV_MODIFIED,
    KUBE_EV_DELETED,
    KUBE_EV_BOOKMARK,
    KUBE_EV_ERROR,
};

/* One event; `object` is taken (the callee frees it). Returns 0 to go on,
 * non-zero to stop decoding (kube_watch_feed returns that value). */
typedef int kube_watch_fn(void *ctx, enum kube_event_type type, cJSON *object);

struct kube_watch_decoder {
    char *line; /* the partial line so far */
    size_t len, cap, max_line;
    kube_watch_fn *fn;
    void *ctx;
    unsigned long events; /* events delivered */
};

/* Sets up d (caller-allocated); max_line 0 means 16 MiB. */
void kube_watch_init(struct kube_watch_decoder *d, size_t max_line, kube_watch_fn *fn, void *ctx);

/*
 * Feeds bytes. Every complete line is decoded and handed to fn in order.
 * Returns 0; SH_ETOOBIG when a line exceeds max_line; SH_EPROTO for a line
 * that is not a JSON event of a known type with an object; SH_ENOMEM; or
 * fn's non-zero value. After an error the decoder must not be fed again.
 */
int kube_watch_feed(struct kube_watch_decoder *d, const char *buf, size_t len);

/* At the end of the stream: decodes a last line that had no '\n'. Returns as
 * kube_watch_feed. */
int kube_watch_finish(struct kube_watch_decoder *d);

/* Frees the line buffer. */
void kube_watch_free(struct kube_watch_decoder *d);

/* "ADDED", ... */
const char *kube_event_type_name(enum kube_event_type t);

#endif
