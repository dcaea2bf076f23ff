/*
 * client.c — the REST client (client.h).
 *
 * `mu` guards the pool of idle easy handles and the cached token. A call
 * takes a handle (or makes one), sets every option afresh, performs, resets
 * the handle (curl_easy_reset keeps its open connections) and returns it.
 * Response bodies grow in a bounded buffer (max_body).
 *
 * Credentials: the token and the client key only ever go to libcurl (the
 * Authorization header, the key blob); no verbose mode, no header echo.
 * Error messages quote the server's answer, which a proxy or a hostile
 * server could fill with our Authorization header: they are scrubbed of the
 * token and of anything that looks like a bearer token or a private key
 * (scrub_secrets) before they reach the caller (logs, status, events).
 */
#include "kube/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "base/errors.h"
#include "base/fsutil.h"
#include "kube/apistatus.h"
#include "base/log.h"
#include "base/version.h"

#define POOL_MAX 8
#define TOKEN_MAX (64u << 10)
#define RETRY_AFTER_MAX_S 60
#define STREAM_ERR_MAX (64u << 10)

struct kube_client {
    const struct kube_config *cfg;
    struct kube_client_options o;
    char user_agent[64];
    pthread_mutex_t mu;
    CURL *pool[POOL_MAX];
    int npool;
    char *token; /* current bearer token (static, or last read from token_file) */
    struct stat token_st;
};

struct buf {
    char *data;
    size_t len, cap, max;
    bool too_big;
};

struct xfer {
    struct buf body;
    long retry_after_s;
    /* streaming */
    kube_stream_fn *fn;
    void *ctx;
    int fn_rc;
    CURL *h;
    const atomic_bool *stop;
    bool stopped;
};

void kube_client_options_default(struct kube_client_options *o)
{
    *o = (struct kube_client_options){.timeout_ms = 30000,
                                      .connect_timeout_ms = 5000,
                                      .max_attempts = 5,
                                      .backoff_ms = 200,
                                      .backoff_max_ms = 5000,
                                      .retry_budget_ms = 2000,
                                      .max_body = 64u << 20};
}

static void real_sleep(void *ctx, int64_t ms)
{
    (void)ctx;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int kube_client_new(const struct kube_config *cfg, const struct kube_client_options *o,
                    struct kube_client **ret, char **ret_err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return sh_errf(ret_err, SH_EIO, "libcurl initialisation failed");
    struct kube_client *c = calloc(1, sizeof *c);
    if (!c) {
        curl_global_cleanup();
        return SH_ENOMEM;
    }
    c->cfg = cfg;
    kube_client_options_default(&c->o);
    if (o) {
        if (o->timeout_ms > 0)
            c->o.timeout_ms = o->timeout_ms;
        if (o->connect_timeout_ms > 0)
            c->o.connect_timeout_ms = o->connect_timeout_ms;
        if (o->max_attempts > 0)
            c->o.max_attempts = o->max_attempts;
        if (o->retry_budget_ms > 0)
            c->o.retry_budget_ms = o->retry_budget_ms;
        if (o->backoff_ms > 0)
            c->o.backoff_ms = o->backoff_ms;
        if (o->backoff_max_ms > 0)
            c->o.backoff_max_ms = o->backoff_max_ms;
        if (o->max_body > 0)
            c->o.max_body = o->max_body;
        c->o.sleep_ms = o->sleep_ms;
        c->o.sleep_ctx = o->sleep_ctx;
    }
    if (!c->o.sleep_ms)
        c->o.sleep_ms = real_sleep;
    snprintf(c->user_agent, sizeof c->user_agent, "selfheal/%s", SELFHEAL_VERSION);
    pthread_mutex_init(&c->mu, NULL);
    if (cfg->token && !(c->token = strdup(cfg->token))) {
        kube_client_free(c);
        return SH_ENOMEM;
    }
    *ret = c;
    return 0;
}

void kube_client_free(struct kube_client *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->npool; i++)
        curl_easy_cleanup(c->pool[i]);
    pthread_mutex_destroy(&c->mu);
    free(c->token);
    free(c);
    curl_global_cleanup();
}

const struct kube_config *kube_client_config(const struct kube_client *c)
{
    return c->cfg;
}

static CURL *handle_take(struct kube_client *c)
{
    pthread_mutex_lock(&c->mu);
    CURL *h = c->npool > 0 ? c->pool[--c->npool] : NULL;
    pthread_mutex_unlock(&c->mu);
    return h ? h : curl_easy_init();
}

static void handle_put(struct kube_client *c, CURL *h)
{
    curl_easy_reset(h);
    pthread_mutex_lock(&c->mu);
    if (c->npool < POOL_MAX) {
        c->pool[c->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h)
        curl_easy_cleanup(h);
}

/* The "Authorization: Bearer ..." header value into hdr, or "" without a
 * token. A token file is re-read when its inode, size or mtime changed. */
static void auth_header(struct kube_client *c, char **hdr)
{
    *hdr = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->cfg->token_file) {
        struct stat st;
        if (stat(c->cfg->token_file, &st) == 0 &&
            (!c->token || st.st_ino != c->token_st.st_ino || st.st_size != c->token_st.st_size ||
             st.st_mtim.tv_sec != c->token_st.st_mtim.tv_sec ||
             st.st_mtim.tv_nsec != c->token_st.st_mtim.tv_nsec)) {
            char *t = NULL;
            size_t len = 0;
            if (fs_read_file(c->cfg->token_file, TOKEN_MAX, &t, &len) == 0) {
                while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' '))
                    t[--len] = '\0';
                if (len > 0) {
                    free(c->token);
                    c->token = t;
                    c->token_st = st;
                    t = NULL;
                }
                free(t);
            }
        }
    }
    if (c->token && asprintf(hdr, "Authorization: Bearer %s", c->token) < 0)
        *hdr = NULL;
    pthread_mutex_unlock(&c->mu);
}

/* Redacts the client's token (exact occurrences) and, via log_redact, bearer
 * tokens and private keys from an error message, in place. */
static void scrub_secrets(struct kube_client *c, char *msg)
{
    if (!msg)
        return;
    static const char redacted[] = "[redacted]";
    pthread_mutex_lock(&c->mu);
    size_t tl = c->token ? strlen(c->token) : 0;
    if (tl >= 4) {
        for (char *p = msg; (p = strstr(p, c->token)) != NULL;) {
            if (tl >= sizeof redacted - 1) {
                memcpy(p, redacted, sizeof redacted - 1);
                memmove(p + sizeof redacted - 1, p + tl, strlen(p + tl) + 1);
                p += sizeof redacted - 1;
            } else {
                memset(p, '*', tl);
                p += tl;
            }
        }
    }
    pthread_mutex_unlock(&c->mu);
    log_redact(msg);
}

static bool buf_append(struct buf *b, const char *data, size_t len)
{
    if (b->len + len > b->max) {
        b->too_big = true;
        return false;
    }
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *nd = realloc(b->data, cap);
        if (!nd)
            return false;
        b->data = nd;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return true;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nmemb;
    if (x->fn) {
        long code = 0;
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
        if (code == 200) {
            x->fn_rc = x->fn(x->ctx, ptr, n);
            return x->fn_rc ? 0 : n;
        }
    }
    return buf_append(&x->body, ptr, n) ? n : 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && strncasecmp(ptr, name, sizeof name - 1) == 0) {
        char val[32];
        size_t vl = n - (sizeof name - 1);
        if (vl >= sizeof val)
            vl = sizeof val - 1;
        memcpy(val, ptr + sizeof name - 1, vl);
        val[vl] = '\0';
        char *end = NULL;
        long s = strtol(val, &end, 10);
        if (end != val && s >= 0)
            x->retry_after_s = s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s;
    }
    return n;
}

static int on_progress(void *userdata, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    struct xfer *x = userdata;
    if (x->stop && atomic_load(x->stop)) {
        x->stopped = true;
        return 1;
    }
    return 0;
}

/* Sets the options every request shares. Returns the header list (owned). */
static struct curl_slist *setup(struct kube_client *c, CURL *h, const char *method,
                                const char *url, const char *content_type, struct xfer *x,
                                char *errbuf)
{
    const struct kube_config *cfg = c->cfg;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (cfg->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (cfg->ca) {
        struct curl_blob ca = {.data = cfg->ca, .len = cfg->ca_len, .flags = CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    }
    if (cfg->client_cert && cfg->client_key) {
        struct curl_blob cert = {.data = cfg->client_cert, .len = cfg->client_cert_len,
                                 .flags = CURL_BLOB_COPY};
        struct curl_blob key = {.data = cfg->client_key, .len = cfg->client_key_len,
                                .flags = CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
    }
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    char ct[128];
    if (content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        hdrs = hdrs ? curl_slist_append(hdrs, ct) : NULL;
    }
    char *auth = NULL;
    auth_header(c, &auth);
    if (auth && hdrs)
        hdrs = curl_slist_append(hdrs, auth);
    free(auth);
    if (hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    return hdrs;
}

static int transport_error(CURLcode cc)
{
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return SH_ETIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return SH_EUNAVAIL;
    case CURLE_OUT_OF_MEMORY:
        return SH_ENOMEM;
    default:
        return SH_EIO;
    }
}

static bool idempotent(const char *method)
{
    return strcmp(method, "POST") != 0;
}

/* An answer outside 2xx: its SH_E* code and message from the Status body,
 * and the Retry-After a 429's Status carries when the header had none. */
static int status_error(const char *method, const char *path, long code, struct xfer *x,
                        char **ret_msg)
{
    const char *reason = NULL;
    cJSON *st_obj = x->body.len ? cJSON_ParseWithLength(x->body.data, x->body.len) : NULL;
    struct kube_status st;
    if (kube_status_parse(st_obj, &st)) {
        reason = st.reason;
        if (!x->retry_after_s && st.retry_after_seconds && code == 429)
            x->retry_after_s = st.retry_after_seconds;
    }
    int r = kube_http_error(code, reason);
    cJSON_Delete(st_obj);
    *ret_msg = kube_error_message(method, path, code, x->body.data, x->body.len);
    return r;
}

int kube_call(struct kube_client *c, const char *method, const char *path, const cJSON *body,
              const char *content_type, cJSON **ret_body, long *ret_code, char **ret_err)
{
    if (ret_code)
        *ret_code = 0;
    char *url = NULL, *payload = NULL;
    if (asprintf(&url, "%s%s", c->cfg->server, path) < 0)
        return SH_ENOMEM;
    if (body && !(payload = cJSON_PrintUnformatted(body))) {
        free(url);
        return SH_ENOMEM;
    }
    int64_t delay = c->o.backoff_ms;
    int64_t slept = 0; /* within c->o.retry_budget_ms */
    int r = SH_EIO;
    char *msg = NULL;
    for (int attempt = 1;; attempt++) {
        free(msg);
        msg = NULL;
        CURL *h = handle_take(c);
        if (!h) {
            r = SH_ENOMEM;
            break;
        }
        struct xfer x = {.body = {.max = c->o.max_body}, .h = h};
        char errbuf[CURL_ERROR_SIZE] = "";
        struct curl_slist *hdrs =
            setup(c, h, method, url, payload ? (content_type ? content_type : KUBE_CT_JSON) : NULL,
                  &x, errbuf);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->o.timeout_ms);
        if (payload) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
        }
        CURLcode cc = curl_easy_perform(h);
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_slist_free_all(hdrs);
        handle_put(c, h);
        if (ret_code)
            *ret_code = code;
        bool retry = false;
        if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && x.body.too_big)) {
            r = transport_error(cc);
            sh_errf(&msg, r, "%s %.*s: %s", method, (int)strcspn(path, "?"), path,
                 errbuf[0] ? errbuf : curl_easy_strerror(cc));
            retry = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                    (idempotent(method) && r != SH_ENOMEM);
        } else if (x.body.too_big) {
            r = sh_errf(&msg, SH_ETOOBIG, "%s %.*s: response larger than %zu bytes", method,
                     (int)strcspn(path, "?"), path, c->o.max_body);
        } else if (code >= 200 && code < 300) {
            r = 0;
            if (ret_body) {
                *ret_body = NULL;
                if (x.body.len > 0 && !(*ret_body = cJSON_ParseWithLength(x.body.data, x.body.len)))
                    r = sh_errf(&msg, SH_EPROTO, "%s %.*s: %ld: the response is not JSON", method,
                             (int)strcspn(path, "?"), path, code);
            }
        } else {
            r = status_error(method, path, code, &x, &msg);
            retry = code == 429 || code >= 500;
        }
        free(x.body.data);
        if (!retry || attempt >= c->o.max_attempts)
            break;
        int64_t wait = delay;
        if (x.retry_after_s > 0)
            wait = x.retry_after_s * 1000;
        if (slept + wait > c->o.retry_budget_ms) {
            /* past the budget: no sleeping in the caller's worker */
            char *longer = NULL;
            if (msg && asprintf(&longer, "%s (retry in %.1f s)", msg, (double)wait / 1000.0) >= 0) {
                free(msg);
                msg = longer;
            }
            break;
        }
        c->o.sleep_ms(c->o.sleep_ctx, wait);
        slept += wait;
        delay = delay * 2 > c->o.backoff_max_ms ? c->o.backoff_max_ms : delay * 2;
    }
    if (r == 0) {
        free(msg);
        msg = NULL;
    }
    scrub_secrets(c, msg);
    if (ret_err)
        *ret_err = msg;
    else
        free(msg);
    free(url);
    free(payload);
    return r;
}

int kube_get(struct kube_client *c, const char *path, cJSON **ret_body, char **ret_err)
{
    return kube_call(c, "GET", path, NULL, NULL, ret_body, NULL, ret_err);
}

int kube_post(struct kube_client *c, const char *path, const cJSON *body, cJSON **ret_body,
              char **ret_err)
{
    return kube_call(c, "POST", path, body, KUBE_CT_JSON, ret_body, NULL, ret_err);
}

int kube_put(struct kube_client *c, const char *path, const cJSON *body, cJSON **ret_body,
             char **ret_err)
{
    return kube_call(c, "PUT", path, body, KUBE_CT_JSON, ret_body, NULL, ret_err);
}

int kube_patch_merge(struct kube_client *c, const char *path, const cJSON *patch,
                     cJSON **ret_body, char **ret_err)
{
    return kube_call(c, "PATCH", path, patch, KUBE_CT_MERGE_PATCH, ret_body, NULL, ret_err);
}

int kube_delete(struct kube_client *c, const char *path, char **ret_err)
{
    return kube_call(c, "DELETE", path, NULL, NULL, NULL, NULL, ret_err);
}

int kube_stream(struct kube_client *c, const char *path, long timeout_ms, kube_stream_fn *fn,
                void *ctx, const atomic_bool *stop, long *ret_code, char **ret_err)
{
    if (ret_code)
        *ret_code = 0;
    char *url = NULL;
    if (asprintf(&url, "%s%s", c->cfg->server, path) < 0)
        return SH_ENOMEM;
    CURL *h = curl_easy_init();
    if (!h) {
        free(url);
        return SH_ENOMEM;
    }
    struct xfer x = {.body = {.max = STREAM_ERR_MAX}, .fn = fn, .ctx = ctx, .h = h, .stop = stop};
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = setup(c, h, "GET", url, NULL, &x, errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (ret_code)
        *ret_code = code;
    int r = 0;
    if (x.stopped) {
        r = SH_ESTOPPED;
    } else if (x.fn_rc) {
        r = x.fn_rc;
    } else if (code != 0 && code != 200 && (cc == CURLE_OK || x.body.too_big)) {
        const char *reason = NULL;
        cJSON *st_obj = x.body.len ? cJSON_ParseWithLength(x.body.data, x.body.len) : NULL;
        struct kube_status st;
        if (kube_status_parse(st_obj, &st))
            reason = st.reason;
        r = kube_http_error(code, reason);
        cJSON_Delete(st_obj);
        if (ret_err) {
            *ret_err = kube_error_message("GET", path, code, x.body.data, x.body.len);
            scrub_secrets(c, *ret_err);
        }
    } else if (cc != CURLE_OK) {
        r = sh_errf(ret_err, cc == CURLE_OPERATION_TIMEDOUT ? SH_ETIMEOUT : transport_error(cc),
                 "GET %.*s: %s", (int)strcspn(path, "?"), path,
                 errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    free(x.body.data);
    free(url);
    return r;
}
