/*
 * eventbus.c — the ring of eventbus.h: a fixed array of slots under one
 * mutex; slot (seq - 1) % capacity holds message seq. The notify hook is
 * read under the lock and called after it is released, so publishers never
 * wait for a reader beyond one memcpy-sized critical section.
 */
#include "server/eventbus.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/redact.h"
#include "base/errors.h"

struct slot {
    uint64_t seq;
    char *json;
    size_t len;
};

struct eventbus {
    pthread_mutex_t mu;
    const struct sh_clock *clock;
    struct slot *slots;
    size_t capacity;
    uint64_t head; /* last published */
    void (*notify)(void *ctx);
    void *notify_ctx;
};

int eventbus_new(size_t capacity, const struct sh_clock *clock, struct eventbus **ret)
{
    if (!ret)
        return SH_EINVAL;
    *ret = NULL;
    struct eventbus *b = calloc(1, sizeof *b);
    if (!b)
        return SH_ENOMEM;
    b->capacity = capacity ? capacity : EVENTBUS_DEFAULT_CAPACITY;
    b->slots = calloc(b->capacity, sizeof *b->slots);
    if (!b->slots) {
        free(b);
        return SH_ENOMEM;
    }
    b->clock = clock ? clock : clock_real();
    pthread_mutex_init(&b->mu, NULL);
    *ret = b;
    return 0;
}

void eventbus_free(struct eventbus *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->capacity; i++)
        free(b->slots[i].json);
    free(b->slots);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static void format_time(int64_t ms, char *buf, size_t size)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%03dZ", base, (int)(ms % 1000));
}

/* The message without its seq (added under the lock, in front). */
static char *event_body(struct eventbus *b, const char *type, const char *reason,
                        const char *namespace_, const char *name, const char *message)
{
    int64_t now = clock_now_ms(b->clock);
    char when[48];
    format_time(now, when, sizeof when);
    cJSON *o = cJSON_CreateObject();
    char *out = NULL;
    if (o && cJSON_AddStringToObject(o, "time", when) &&
        cJSON_AddNumberToObject(o, "timeMs", (double)now) &&
        cJSON_AddStringToObject(o, "type", type ? type : "Normal") &&
        cJSON_AddStringToObject(o, "reason", reason ? reason : "") &&
        (!namespace_ || cJSON_AddStringToObject(o, "namespace", namespace_)) &&
        (!name || cJSON_AddStringToObject(o, "name", name)) &&
        cJSON_AddStringToObject(o, "message", message ? message : ""))
        out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    redact_inplace(out);
    return out;
}

uint64_t eventbus_publish(struct eventbus *b, const char *type, const char *reason,
                          const char *namespace_, const char *name, const char *message)
{
    if (!b)
        return 0;
    char *body = event_body(b, type, reason, namespace_, name, message);
    if (!body)
        return 0;
    size_t blen = strlen(body); /* "{...}": we insert "seq":N, after the '{' */
    size_t size = blen + 32;
    char *json = malloc(size);
    if (!json) {
        free(body);
        return 0;
    }
    pthread_mutex_lock(&b->mu);
    uint64_t seq = ++b->head;
    int n = snprintf(json, size, "{\"seq\":%llu%s%s", (unsigned long long)seq,
                     blen > 2 ? "," : "", body + 1);
    struct slot *s = &b->slots[(seq - 1) % b->capacity];
    free(s->json);
    s->seq = seq;
    s->json = json;
    s->len = n > 0 ? (size_t)n : 0;
    void (*fn)(void *) = b->notify;
    void *ctx = b->notify_ctx;
    pthread_mutex_unlock(&b->mu);
    free(body);
    if (fn)
        fn(ctx);
    return seq;
}

uint64_t eventbus_head(struct eventbus *b)
{
    pthread_mutex_lock(&b->mu);
    uint64_t h = b->head;
    pthread_mutex_unlock(&b->mu);
    return h;
}

static uint64_t oldest_locked(const struct eventbus *b)
{
    return b->head > b->capacity ? b->head - b->capacity + 1 : 1;
}

uint64_t eventbus_oldest(struct eventbus *b)
{
    pthread_mutex_lock(&b->mu);
    uint64_t o = b->head == 0 ? 1 : oldest_locked(b);
    pthread_mutex_unlock(&b->mu);
    return o;
}

int eventbus_next(struct eventbus *b, uint64_t after, char **ret_json, size_t *ret_len,
                  uint64_t *ret_seq)
{
    if (!b || !ret_json)
        return SH_EINVAL;
    *ret_json = NULL;
    int err = 0;
    pthread_mutex_lock(&b->mu);
    if (after >= b->head) {
        err = SH_ENOTFOUND;
    } else {
        uint64_t seq = after + 1;
        uint64_t oldest = oldest_locked(b);
        if (seq < oldest)
            seq = oldest;
        const struct slot *s = &b->slots[(seq - 1) % b->capacity];
        char *copy = malloc(s->len + 1);
        if (!copy) {
            err = SH_ENOMEM;
        } else {
            memcpy(copy, s->json, s->len);
            copy[s->len] = '\0';
            *ret_json = copy;
            if (ret_len)
                *ret_len = s->len;
            if (ret_seq)
                *ret_seq = s->seq;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return err;
}

void eventbus_set_notify(struct eventbus *b, void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&b->mu);
    b->notify = fn;
    b->notify_ctx = fn ? ctx : NULL;
    pthread_mutex_unlock(&b->mu);
}

/* ---- the platform tap ------------------------------------------------------ */

static struct platform *inner_of(struct platform *pf)
{
    return ((struct eventbus_tap *)pf->impl)->inner;
}

static cJSON *tap_load_status(struct platform *pf, const struct pipeline *p)
{
    struct platform *in = inner_of(pf);
    return in->load_status(in, p);
}

static int tap_write_status(struct platform *pf, const struct pipeline *p, const cJSON *status,
                            char **ret_err)
{
    struct platform *in = inner_of(pf);
    return in->write_status(in, p, status, ret_err);
}

static int tap_delete_status(struct platform *pf, const char *key)
{
    struct platform *in = inner_of(pf);
    return in->delete_status(in, key);
}

static void tap_record_event(struct platform *pf, const struct pipeline *p, enum event_type type,
                             const char *reason, const char *message)
{
    struct eventbus_tap *t = pf->impl;
    t->inner->record_event(t->inner, p, type, reason, message);
    eventbus_publish(t->bus, type == EVENT_WARNING ? "Warning" : "Normal", reason,
                     p ? p->namespace_ : NULL, p ? p->name : NULL, message);
}

static const void *tap_actuators(struct platform *pf, const char *loop)
{
    struct platform *in = inner_of(pf);
    return in->actuators ? in->actuators(in, loop) : NULL;
}

static void tap_resync(struct platform *pf)
{
    struct platform *in = inner_of(pf);
    if (in->resync)
        in->resync(in);
}

void eventbus_tap_init(struct eventbus_tap *t, struct eventbus *bus, struct platform *inner)
{
    memset(t, 0, sizeof *t);
    t->bus = bus;
    t->inner = inner;
    t->base.name = inner->name;
    t->base.load_status = tap_load_status;
    t->base.write_status = tap_write_status;
    t->base.delete_status = tap_delete_status;
    t->base.record_event = tap_record_event;
    t->base.actuators = tap_actuators;
    t->base.resync = tap_resync;
    t->base.secrets = inner->secrets;
    t->base.impl = t;
}
