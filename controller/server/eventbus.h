/*
 * eventbus.h — the controller's recent events, for the live dashboard: a
 * bounded in-memory ring of JSON messages, each with a sequence number
 * (1, 2, 3, ...). Publishing is thread-safe and never blocks on readers: it
 * copies the message into the ring (overwriting the oldest when full) and
 * calls the notify hook (the HTTP server wakes its loop). Readers ask for
 * the next message after a sequence number they saw.
 *
 * A message is one JSON object:
 *   {"seq":7,"time":"2026-11-29T03:40:00.123Z","timeMs":...,"type":"Warning",
 *    "reason":"ProbeFailed","namespace":"demo","name":"housing",
 *    "message":"GET /healthz: connection refused"}
 *
 * eventbus_tap_init wraps a platform so that every record_event (the
 * reconcilers' events and the manager's condition changes) is also
 * published here.
 */
#ifndef SH_EVENTBUS_H
#define SH_EVENTBUS_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/platform.h"

struct eventbus;
struct sh_clock;

#define EVENTBUS_DEFAULT_CAPACITY 1024

/* Creates a bus keeping the last capacity messages (0: the default). clock
 * stamps the messages (NULL: the real clock). Returns 0 or SH_ENOMEM. */
int eventbus_new(size_t capacity, const struct sh_clock *clock, struct eventbus **ret);

/* Frees the bus. NULL is a no-op. */
void eventbus_free(struct eventbus *b);

/* Publishes an event. type is "Normal" or "Warning"; namespace_/name may be
 * NULL (controller-wide events). Returns the new sequence number, or 0 when
 * out of memory (nothing is published). */
uint64_t eventbus_publish(struct eventbus *b, const char *type, const char *reason,
                          const char *namespace_, const char *name, const char *message);

/* The last sequence number published (0: none yet). */
uint64_t eventbus_head(struct eventbus *b);

/* The oldest sequence number still in the ring (head + 1 when empty). */
uint64_t eventbus_oldest(struct eventbus *b);

/* Copies the first message with a sequence number greater than after: when
 * after is older than the ring, that is the oldest one still kept (the caller
 * sees the gap in the numbers). Returns 0 with *ret_json (owned, NUL-ended)
 * and *ret_seq, SH_ENOTFOUND when there is none yet, or SH_ENOMEM. */
int eventbus_next(struct eventbus *b, uint64_t after, char **ret_json, size_t *ret_len,
                  uint64_t *ret_seq);

/* Sets the hook called (outside the lock) after each publish; fn NULL
 * clears it. The hook must be quick and must not publish. */
void eventbus_set_notify(struct eventbus *b, void (*fn)(void *ctx), void *ctx);

/* A platform whose record_event goes to inner and is also published to bus;
 * the other operations go to inner unchanged. Use &tap.base as the platform;
 * inner and bus must outlive it. */
struct eventbus_tap {
    struct platform base;
    struct eventbus *bus;
    struct platform *inner;
};

void eventbus_tap_init(struct eventbus_tap *t, struct eventbus *bus, struct platform *inner);

#endif
