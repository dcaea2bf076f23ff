/* notify.c — webhooks for people (notify.h). */
#include "server/notify.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/errors.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/strmap.h"
#include "base/urlguard.h"
#include "runtime/status.h"

#define URL_MAX 4096

/* The defaults of `on` (DESIGN.md "Notifications"): a person is needed, a
 * rollback, a retraining that failed, a recovery that succeeded after failing. */
static const char *const DEFAULT_ON[] = {"NeedsAttention", "RolledBack", "RetrainFailed",
                                         "Recovered", NULL};

static const char *const OUTCOMES[] = {"delivered", "retried", "deduplicated", "dropped",
                                       "failed", NULL};
enum { O_DELIVERED, O_RETRIED, O_DEDUP, O_DROPPED, O_FAILED, O_COUNT };

/* What an event reason says of its loop and action. */
static const struct {
    const char *reason, *loop, *action, *outcome;
} REASONS[] = {
    {"RecoveryStarted", "service", "recover", "started"},
    {"RecoveryFailed", "service", "recover", "failed"},
    {"Recovered", "service", "recover", "succeeded"},
    {"RecoveryExhausted", "service", "recover", "given up"},
    {"RolledBack", "model", "rollback", "started"},
    {"RollbackFailed", "model", "rollback", "failed"},
    {"RollbackIneffective", "model", "rollback", "failed"},
    {"NoGoodVersion", "model", NULL, NULL},
    {"BelowThreshold", "model", NULL, NULL},
    {"MetricUnavailable", "model", NULL, NULL},
    {"RetrainStarted", "drift", "retrain", "started"},
    {"RetrainFailed", "drift", "retrain", "failed"},
    {"RetrainSucceeded", "drift", "retrain", "succeeded"},
    {"DriftDetected", "drift", NULL, NULL},
    {"DataFixed", "dataQuality", "fix-data", "succeeded"},
    {"DataFixFailed", "dataQuality", "fix-data", "failed"},
    {"DataUnfixable", "dataQuality", "fix-data", "refused"},
};

struct item {
    char *ns, *name, *reason, *message, *phase;
    enum event_type type;
    int64_t time_ms;
    int index; /* notify[index] */
    int slack;
    enum notify_url_from from;
    char *env, *file, *secret_name, *secret_key;
};

struct notifier {
    struct notifier_options o;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* queue changed, or stop */
    pthread_cond_t idle_cv; /* the sender went idle */
    struct item **q;
    size_t head, len;
    bool busy, stop, started;
    pthread_t thread;
    struct strmap *last; /* "ns/name\x1freason\x1fi" → int64_t* mono ms of the last queued */
    struct metric_family *fam;
    _Atomic uint64_t counts[O_COUNT];
    unsigned rng;
};

static void count(struct notifier *n, int o, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void count(struct notifier *n, int o, const char *key, const char *fmt, ...)
{
    atomic_fetch_add(&n->counts[o], 1);
    if (n->fam) {
        const char *v[] = {OUTCOMES[o]};
        metrics_add(n->fam, v, 1);
    }
    if (!fmt)
        return;
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o == O_DELIVERED || o == O_DEDUP)
        log_info(key, "%s", msg);
    else
        log_warn(key, "%s", msg);
}

uint64_t notifier_count(struct notifier *n, const char *outcome)
{
    for (int i = 0; i < O_COUNT; i++)
        if (strcmp(OUTCOMES[i], outcome) == 0)
            return atomic_load(&n->counts[i]);
    return 0;
}

static void item_free(struct item *it)
{
    if (!it)
        return;
    free(it->ns);
    free(it->name);
    free(it->reason);
    free(it->message);
    free(it->phase);
    free(it->env);
    free(it->file);
    free(it->secret_name);
    free(it->secret_key);
    free(it);
}

static char *dup0(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- payloads ------------------------------------------------------------- */

char *notify_payload(int slack, const char *ns, const char *name, const char *reason,
                     const char *message, const char *phase, enum event_type type,
                     int64_t time_ms)
{
    const char *loop = NULL, *action = NULL, *outcome = NULL;
    for (size_t i = 0; i < sizeof REASONS / sizeof *REASONS; i++)
        if (strcmp(REASONS[i].reason, reason) == 0) {
            loop = REASONS[i].loop;
            action = REASONS[i].action;
            outcome = REASONS[i].outcome;
        }
    char t[40];
    clock_format_rfc3339_ms(time_ms, t, sizeof t);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
#define STR_OR_NULL(k, v) ((v) ? cJSON_AddStringToObject(o, k, v) : cJSON_AddNullToObject(o, k))
    if (!slack) {
        cJSON_AddStringToObject(o, "version", NOTIFY_PAYLOAD_VERSION);
        STR_OR_NULL("pipeline", name);
        STR_OR_NULL("namespace", ns);
        STR_OR_NULL("loop", loop);
        STR_OR_NULL("reason", reason);
        STR_OR_NULL("message", message);
        STR_OR_NULL("phase", phase);
        cJSON_AddStringToObject(o, "time", t);
        cJSON_AddStringToObject(o, "type", type == EVENT_WARNING ? "Warning" : "Normal");
        STR_OR_NULL("action", action);
        STR_OR_NULL("outcome", outcome);
    } else {
        /* Slack incoming webhook: text (the fallback) and Block Kit blocks */
        char text[3000], ctx[400];
        snprintf(text, sizeof text, "%s *%s/%s*: %s — %s", type == EVENT_WARNING ? ":warning:" : ":information_source:",
                 ns ? ns : "", name ? name : "", reason, message ? message : "");
        snprintf(ctx, sizeof ctx, "selfheal · phase %s%s%s%s%s · %s", phase ? phase : "unknown",
                 loop ? " · loop " : "", loop ? loop : "", action ? " · " : "",
                 action ? action : "", t);
        cJSON_AddStringToObject(o, "text", text);
        cJSON *blocks = cJSON_AddArrayToObject(o, "blocks");
        cJSON *b1 = cJSON_CreateObject(), *b2 = cJSON_CreateObject();
        if (blocks && b1 && b2) {
            cJSON_AddStringToObject(b1, "type", "section");
            cJSON *tx = cJSON_AddObjectToObject(b1, "text");
            cJSON_AddStringToObject(tx, "type", "mrkdwn");
            cJSON_AddStringToObject(tx, "text", text);
            cJSON_AddStringToObject(b2, "type", "context");
            cJSON *els = cJSON_AddArrayToObject(b2, "elements");
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "type", "mrkdwn");
            cJSON_AddStringToObject(e, "text", ctx);
            cJSON_AddItemToArray(els, e);
            cJSON_AddItemToArray(blocks, b1);
            cJSON_AddItemToArray(blocks, b2);
        } else {
            cJSON_Delete(b1);
            cJSON_Delete(b2);
        }
    }
#undef STR_OR_NULL
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ---- offering ------------------------------------------------------------- */

static bool wants(const struct spec_notify *t, const char *reason)
{
    if (!t->on) {
        for (const char *const *d = DEFAULT_ON; *d; d++)
            if (strcmp(*d, reason) == 0)
                return true;
        return false;
    }
    for (size_t i = 0; i < t->non; i++)
        if (strcmp(t->on[i], reason) == 0)
            return true;
    return false;
}

/* True when (key, reason, i) may send now (and records it). */
static bool window_allows(struct notifier *n, const char *pkey, const char *reason, size_t i,
                          int64_t window_ms)
{
    char k[600];
    snprintf(k, sizeof k, "%s\x1f%s\x1f%zu", pkey, reason, i);
    int64_t now = clock_mono_ms(n->o.clock);
    int64_t *last = strmap_get(n->last, k);
    if (last && window_ms > 0 && now - *last < window_ms)
        return false;
    if (!last) {
        last = malloc(sizeof *last);
        if (!last || strmap_put(n->last, k, last, NULL) != 0) {
            free(last);
            return true;
        }
    }
    *last = now;
    return true;
}

static const char *where(const struct spec_notify *t, char *buf, size_t size)
{
    switch (t->url_from) {
    case NOTIFY_URL_ENV:
        snprintf(buf, size, "env %s", t->env);
        break;
    case NOTIFY_URL_FILE:
        snprintf(buf, size, "file %s", t->file);
        break;
    case NOTIFY_URL_SECRET:
        snprintf(buf, size, "secret %s/%s", t->secret_name, t->secret_key);
        break;
    default:
        snprintf(buf, size, "no URL");
    }
    return buf;
}

void notifier_offer(struct notifier *n, const struct pipeline *p, enum event_type type,
                    const char *reason, const char *message, const char *phase)
{
    if (!n || !p || !reason || !p->valid)
        return;
    for (size_t i = 0; i < p->spec.nnotify; i++) {
        const struct spec_notify *t = &p->spec.notify[i];
        if (!wants(t, reason))
            continue;
        pthread_mutex_lock(&n->mu);
        bool ok = window_allows(n, p->key, reason, i, t->window_ms);
        pthread_mutex_unlock(&n->mu);
        char wb[300];
        if (!ok) {
            count(n, O_DEDUP, p->key, "notification %s to notify[%zu] skipped: one was sent within its window",
                  reason, i);
            continue;
        }
        struct item *it = calloc(1, sizeof *it);
        if (it) {
            it->ns = dup0(p->namespace_);
            it->name = dup0(p->name);
            it->reason = dup0(reason);
            it->message = dup0(message);
            it->phase = dup0(phase);
            it->type = type;
            it->time_ms = clock_now_ms(n->o.clock);
            it->index = (int)i;
            it->slack = t->format == NOTIFY_FORMAT_SLACK;
            it->from = t->url_from;
            it->env = dup0(t->env);
            it->file = dup0(t->file);
            it->secret_name = dup0(t->secret_name);
            it->secret_key = dup0(t->secret_key);
        }
        pthread_mutex_lock(&n->mu);
        bool queued = false;
        if (it && it->ns && it->reason && !n->stop && n->len < n->o.queue_capacity) {
            n->q[(n->head + n->len) % n->o.queue_capacity] = it;
            n->len++;
            queued = true;
            pthread_cond_signal(&n->cv);
        }
        pthread_mutex_unlock(&n->mu);
        if (!queued) {
            item_free(it);
            count(n, O_DROPPED, p->key, "notification %s to notify[%zu] (%s) dropped: the queue is full",
                  reason, i, where(t, wb, sizeof wb));
        }
    }
}

/* ---- sending -------------------------------------------------------------- */

struct resp {
    int64_t retry_after_ms; /* -1: none */
};

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct resp *r = ud;
    size_t len = size * nitems;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && strncasecmp(buf, name, sizeof name - 1) == 0) {
        char tmp[64];
        size_t n = len - (sizeof name - 1);
        if (n >= sizeof tmp)
            n = sizeof tmp - 1;
        memcpy(tmp, buf + sizeof name - 1, n);
        tmp[n] = '\0';
        char *end;
        long long secs = strtoll(tmp, &end, 10);
        if (end != tmp && secs >= 0)
            r->retry_after_ms = secs * 1000;
    }
    return len;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

/* One POST, its connections held to --allow-url (guard->refused says why
 * one was refused). Returns the HTTP status, or -1 with *ret_why (a static
 * string, never the URL) on a transport error. */
static long post(struct notifier *n, const char *url, const char *body, struct resp *r,
                 struct urlguard_conn *guard, const char **ret_why)
{
    CURL *c = curl_easy_init();
    if (!c) {
        *ret_why = "cannot create a curl handle";
        return -1;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "selfheal-notifier");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)n->o.attempt_timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)n->o.attempt_timeout_ms);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    r->retry_after_ms = -1;
    CURLcode rc = urlguard_apply(urlguard_process(), guard, c, url) == 0 ? curl_easy_perform(c)
                                                                         : CURLE_UNKNOWN_OPTION;
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        *ret_why = curl_easy_strerror(rc); /* the code's text: no host, no path */
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* The URL of a target, read now. Returns 0 and *ret (owned), or -1 with why. */
static int resolve(struct notifier *n, const struct item *it, char **ret, char *why, size_t size)
{
    *ret = NULL;
    char *v = NULL;
    switch (it->from) {
    case NOTIFY_URL_ENV: {
        const char *e = getenv(it->env);
        if (!e || !*e) {
            snprintf(why, size, "the environment variable %s is not set", it->env);
            return -1;
        }
        v = strdup(e);
        break;
    }
    case NOTIFY_URL_FILE: {
        size_t len = 0;
        if (fs_read_file(it->file, URL_MAX, &v, &len) != 0) {
            snprintf(why, size, "cannot read the file %s", it->file);
            return -1;
        }
        break;
    }
    case NOTIFY_URL_SECRET: {
        char *err = NULL;
        if (!n->o.resolve_secret) {
            snprintf(why, size, "secretKeyRef needs the Kubernetes platform");
            return -1;
        }
        if (n->o.resolve_secret(n->o.secret_ctx, it->ns, it->secret_name, it->secret_key, &v,
                                &err) != 0) {
            snprintf(why, size, "secret %s/%s: %s", it->secret_name, it->secret_key,
                     err ? err : "cannot read it");
            free(err);
            return -1;
        }
        free(err);
        break;
    }
    default:
        snprintf(why, size, "no urlFrom");
        return -1;
    }
    if (!v) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    /* trim surrounding whitespace (a file's newline) */
    size_t l = strlen(v);
    while (l && isspace((unsigned char)v[l - 1]))
        v[--l] = '\0';
    size_t s = 0;
    while (isspace((unsigned char)v[s]))
        s++;
    memmove(v, v + s, l - s + 1);
    if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
        snprintf(why, size, "the URL is not an http:// or https:// URL");
        free(v);
        return -1;
    }
    *ret = v;
    return 0;
}

/* Waits ms unless stopped; returns false when stopped. Called with mu held. */
static bool wait_locked(struct notifier *n, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!n->stop)
        if (pthread_cond_timedwait(&n->cv, &n->mu, &ts) != 0)
            break;
    return !n->stop;
}

static void deliver(struct notifier *n, struct item *it)
{
    char key[600], why[400];
    snprintf(key, sizeof key, "%s/%s", it->ns, it->name);
    char *url = NULL;
    if (resolve(n, it, &url, why, sizeof why) != 0) {
        count(n, O_FAILED, key, "notification %s to notify[%d] failed: %s", it->reason, it->index, why);
        return;
    }
    char *refused = NULL; /* --allow-url, on the URL read now: names the host, never the path */
    if (urlguard_check(urlguard_process(), url, &refused) != 0) {
        count(n, O_FAILED, key, "notification %s to notify[%d] failed: %s", it->reason, it->index,
              refused ? refused : "out of memory");
        free(refused);
        free(url);
        return;
    }
    char *body = notify_payload(it->slack, it->ns, it->name, it->reason, it->message, it->phase,
                                it->type, it->time_ms);
    if (!body) {
        free(url);
        count(n, O_FAILED, key, "notification %s to notify[%d] failed: out of memory", it->reason,
              it->index);
        return;
    }
    for (int attempt = 1;; attempt++) {
        struct resp r;
        struct urlguard_conn guard = {0};
        const char *terr = NULL;
        long st = post(n, url, body, &r, &guard, &terr);
        if (st >= 200 && st < 300) {
            count(n, O_DELIVERED, key, "notification %s delivered to notify[%d] (attempt %d)",
                  it->reason, it->index, attempt);
            break;
        }
        if (st < 0 && guard.refused[0]) { /* the address is not allowed: no retry will be */
            count(n, O_FAILED, key, "notification %s to notify[%d] failed: %s", it->reason,
                  it->index, guard.refused);
            break;
        }
        char what[200];
        if (st < 0)
            snprintf(what, sizeof what, "%s", terr ? terr : "transport error");
        else
            snprintf(what, sizeof what, "HTTP %ld%s", st,
                     st >= 300 && st <= 399 ? " (redirects are not followed)" : "");
        bool retry = st < 0 || st >= 500 || st == 429;
        if (!retry || attempt >= n->o.max_attempts) {
            count(n, O_FAILED, key, "notification %s to notify[%d] given up after %d attempt(s): %s",
                  it->reason, it->index, attempt, what);
            break;
        }
        int64_t delay = n->o.backoff_ms;
        for (int k = 1; k < attempt && delay < n->o.max_backoff_ms; k++)
            delay *= 2;
        if (delay > n->o.max_backoff_ms)
            delay = n->o.max_backoff_ms;
        delay += (int64_t)(rand_r(&n->rng) % (unsigned)(delay / 2 + 1)); /* jitter */
        if (st == 429 && r.retry_after_ms >= 0)
            delay = r.retry_after_ms < n->o.max_backoff_ms ? r.retry_after_ms : n->o.max_backoff_ms;
        count(n, O_RETRIED, key, "notification %s to notify[%d]: attempt %d: %s; retrying in %.1f s",
              it->reason, it->index, attempt, what, (double)delay / 1000.0);
        pthread_mutex_lock(&n->mu);
        bool go_on = wait_locked(n, delay);
        pthread_mutex_unlock(&n->mu);
        if (!go_on) {
            count(n, O_DROPPED, key, "notification %s to notify[%d] dropped: shutting down",
                  it->reason, it->index);
            break;
        }
    }
    free(body);
    free(url);
}

static void *sender(void *arg)
{
    struct notifier *n = arg;
    pthread_mutex_lock(&n->mu);
    for (;;) {
        while (!n->stop && n->len == 0) {
            n->busy = false;
            pthread_cond_broadcast(&n->idle_cv);
            pthread_cond_wait(&n->cv, &n->mu);
        }
        if (n->stop)
            break;
        struct item *it = n->q[n->head];
        n->head = (n->head + 1) % n->o.queue_capacity;
        n->len--;
        n->busy = true;
        pthread_mutex_unlock(&n->mu);
        deliver(n, it);
        item_free(it);
        pthread_mutex_lock(&n->mu);
    }
    n->busy = false;
    pthread_cond_broadcast(&n->idle_cv);
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

int notifier_flush(struct notifier *n, int64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int r = 0;
    pthread_mutex_lock(&n->mu);
    while ((n->len || n->busy) && !n->stop)
        if (pthread_cond_timedwait(&n->idle_cv, &n->mu, &ts) != 0) {
            r = SH_ETIMEOUT;
            break;
        }
    pthread_mutex_unlock(&n->mu);
    return r;
}

static void free_last(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    free(value);
}

void notifier_free(struct notifier *n)
{
    if (!n)
        return;
    if (n->started) {
        pthread_mutex_lock(&n->mu);
        n->stop = true;
        pthread_cond_broadcast(&n->cv);
        pthread_mutex_unlock(&n->mu);
        pthread_join(n->thread, NULL);
    }
    while (n->len) {
        struct item *it = n->q[n->head];
        n->head = (n->head + 1) % n->o.queue_capacity;
        n->len--;
        char key[600];
        snprintf(key, sizeof key, "%s/%s", it->ns, it->name);
        count(n, O_DROPPED, key, "notification %s to notify[%d] dropped: shutting down", it->reason,
              it->index);
        item_free(it);
    }
    if (n->last) {
        strmap_foreach(n->last, free_last, NULL);
        strmap_free(n->last);
    }
    free(n->q);
    pthread_cond_destroy(&n->cv);
    pthread_cond_destroy(&n->idle_cv);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

int notifier_new(const struct notifier_options *o, struct notifier **ret)
{
    *ret = NULL;
    struct notifier *n = calloc(1, sizeof *n);
    if (!n)
        return SH_ENOMEM;
    if (o)
        n->o = *o;
    if (!n->o.queue_capacity)
        n->o.queue_capacity = 256;
    if (n->o.max_attempts <= 0)
        n->o.max_attempts = 5;
    if (n->o.attempt_timeout_ms <= 0)
        n->o.attempt_timeout_ms = 5000;
    if (n->o.backoff_ms <= 0)
        n->o.backoff_ms = 1000;
    if (n->o.max_backoff_ms <= 0)
        n->o.max_backoff_ms = 60000;
    n->rng = (unsigned)clock_monotonic_ms() ^ (unsigned)(uintptr_t)n;
    pthread_mutex_init(&n->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->cv, &ca);
    pthread_cond_init(&n->idle_cv, &ca);
    pthread_condattr_destroy(&ca);
    n->q = calloc(n->o.queue_capacity, sizeof *n->q);
    n->last = strmap_new();
    if (!n->q || !n->last) {
        notifier_free(n);
        return SH_ENOMEM;
    }
    if (n->o.metrics) {
        static const char *const labels[] = {"outcome", NULL};
        struct metric_opts mo = {.type = METRIC_COUNTER,
                                 .name = "selfheal_notifications_total",
                                 .help = "Notifications to people (spec.notify) by outcome: delivered, "
                                         "retried (an attempt to retry), deduplicated (within the window), "
                                         "dropped (queue full, shutdown), failed (given up).",
                                 .labels = labels};
        if (metrics_register(n->o.metrics, &mo, &n->fam) != 0) {
            notifier_free(n);
            return SH_ENOMEM;
        }
        for (int i = 0; i < O_COUNT; i++) {
            const char *v[] = {OUTCOMES[i]};
            metrics_add(n->fam, v, 0);
        }
    }
    if (pthread_create(&n->thread, NULL, sender, n) != 0) {
        notifier_free(n);
        return SH_EIO;
    }
    n->started = true;
    *ret = n;
    return 0;
}

/* ---- the platform tap ----------------------------------------------------- */

struct phase_memo {
    char phase[32];
};

static struct platform *inner_of(struct platform *pf)
{
    return ((struct notifier_tap *)pf->impl)->inner;
}

/* phases by pipeline key live in the notifier's map under "\x1dphase\x1d<key>" */
static void remember_phase(struct notifier *n, const char *key, const char *phase, char *old,
                           size_t size, bool *known)
{
    char k[600];
    snprintf(k, sizeof k, "\x1dphase\x1d%s", key);
    pthread_mutex_lock(&n->mu);
    struct phase_memo *m = strmap_get(n->last, k);
    *known = m != NULL;
    snprintf(old, size, "%s", m ? m->phase : "");
    if (!m && (m = calloc(1, sizeof *m)) != NULL && strmap_put(n->last, k, m, NULL) != 0) {
        free(m);
        m = NULL;
    }
    if (m)
        snprintf(m->phase, sizeof m->phase, "%s", phase);
    pthread_mutex_unlock(&n->mu);
}

static void last_phase(struct notifier *n, const char *key, char *buf, size_t size)
{
    char k[600];
    snprintf(k, sizeof k, "\x1dphase\x1d%s", key);
    pthread_mutex_lock(&n->mu);
    struct phase_memo *m = strmap_get(n->last, k);
    snprintf(buf, size, "%s", m ? m->phase : "");
    pthread_mutex_unlock(&n->mu);
}

static cJSON *tap_load_status(struct platform *pf, const struct pipeline *p)
{
    struct notifier_tap *t = pf->impl;
    cJSON *st = t->inner->load_status(t->inner, p);
    const char *ph = status_str(st, "phase");
    if (ph && p) {
        char old[32];
        bool known;
        remember_phase(t->n, p->key, ph, old, sizeof old, &known);
    }
    return st;
}

static int tap_write_status(struct platform *pf, const struct pipeline *p, const cJSON *status,
                            char **ret_err)
{
    struct notifier_tap *t = pf->impl;
    int r = t->inner->write_status(t->inner, p, status, ret_err);
    const char *ph = status_str(status, "phase");
    if (r != 0 || !ph || !p)
        return r;
    char old[32];
    bool known;
    remember_phase(t->n, p->key, ph, old, sizeof old, &known);
    if (strcmp(old, ph) == 0)
        return r;
    /* a phase change: what the conditions that are not True say */
    char msg[1024];
    size_t len = (size_t)snprintf(msg, sizeof msg, "phase %s%s%s", known && old[0] ? old : "",
                                  known && old[0] ? " → " : "", ph);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(status, "conditions"))
    {
        const char *cs = status_str(c, "status");
        const char *type = status_str(c, "type");
        if (!cs || !type || strcmp(cs, "True") == 0 || strcmp(type, "Ready") == 0 || len >= sizeof msg)
            continue;
        const char *reason = status_str(c, "reason"), *m = status_str(c, "message");
        len += (size_t)snprintf(msg + len, sizeof msg - len, "; %s %s%s%s%s", type, cs,
                                reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
        if (m && len < sizeof msg)
            len += (size_t)snprintf(msg + len, sizeof msg - len, ": %s", m);
    }
    notifier_offer(t->n, p, strcmp(ph, "Healthy") == 0 ? EVENT_NORMAL : EVENT_WARNING, ph, msg, ph);
    return r;
}

static int tap_delete_status(struct platform *pf, const char *key)
{
    struct platform *in = inner_of(pf);
    return in->delete_status(in, key);
}

static void tap_record_event(struct platform *pf, const struct pipeline *p, enum event_type type,
                             const char *reason, const char *message)
{
    struct notifier_tap *t = pf->impl;
    t->inner->record_event(t->inner, p, type, reason, message);
    if (!p)
        return;
    char ph[32];
    last_phase(t->n, p->key, ph, sizeof ph);
    notifier_offer(t->n, p, type, reason, message, ph[0] ? ph : NULL);
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

void notifier_tap_init(struct notifier_tap *t, struct notifier *n, struct platform *inner)
{
    memset(t, 0, sizeof *t);
    t->n = n;
    t->inner = inner;
    t->base.name = inner->name;
    t->base.load_status = tap_load_status;
    t->base.write_status = tap_write_status;
    t->base.delete_status = tap_delete_status;
    t->base.record_event = tap_record_event;
    t->base.actuators = tap_actuators;
    t->base.resync = inner->resync ? tap_resync : NULL;
    t->base.secrets = inner->secrets; /* the specs' secretKeyRef credentials */
    t->base.impl = t;
}
