/*
 * httpserver.c — the HTTP server of httpserver.h on libwebsockets 4.1, with
 * its service loop on its own pthread.
 *
 * Binding: we create, bind and listen the socket ourselves and hand it to
 * lws as an adopted raw file descriptor; when it is readable we accept the
 * connections and adopt each with lws_adopt_socket_vhost (HTTP serving mode)
 * on a vhost that does not listen (CONTEXT_PORT_NO_LISTEN_SERVER). So a busy
 * port is a plain EADDRINUSE from bind(2) with our own message, port 0 gives
 * the real port by getsockname(2) with no race, and IPv4/IPv6 literals and
 * host names are resolved by getaddrinfo rather than by lws's interface
 * lookup (which in 4.1 takes interface names and retries a bind that fails).
 *
 * Responses: a handler fills a struct http_response (status, type, owned
 * body); the headers (with Content-Length, so the connection stays alive)
 * are written at once and the body from LWS_CALLBACK_HTTP_WRITEABLE in
 * chunks of CHUNK bytes, copied behind LWS_PRE bytes of headroom. lws_write
 * buffers what the kernel did not take and only calls WRITEABLE again once
 * that is drained; we advance by what it reports. A request with a body is
 * answered after LWS_CALLBACK_HTTP_BODY_COMPLETION (the body is discarded).
 *
 * Event stream: websocket upgrades reach the same protocol (browsers name
 * none, so lws picks the first); LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION
 * refuses any path but the events one. Each websocket session remembers the
 * last sequence it sent and is linked in a list (server thread only). The
 * bus's notify hook calls lws_cancel_service (thread-safe) while at least
 * one session is open (an atomic count; none open, no wake-up); on
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED the loop checks every client's lag
 * (dropping the slow ones) and asks for WRITEABLE; each SERVER_WRITEABLE
 * copies one message out of the ring and writes it.
 *
 * Security: the server is read-only. GET and HEAD (the same answer without
 * its body) are served; every other method gets 405 with `Allow: GET, HEAD`
 * on every path. Every response says `X-Content-Type-Options: nosniff`,
 * `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` and
 * `Cache-Control: no-store` (status and metrics are live data); HTML pages
 * also get a Content-Security-Policy that allows only the server's own
 * scripts, styles and connections (the dashboard needs nothing else).
 *
 * Stopping: a flag and lws_cancel_service wake the loop, the thread is
 * joined, then lws_context_destroy closes every connection (and the
 * adopted listening socket). lws logs only errors, into log_error.
 */
#include "server/httpserver.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/errors.h"
#include "server/eventbus.h"
#include "base/log.h"
#include "base/metrics.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define CHUNK (64 * 1024)
#define TEXT_PLAIN "text/plain; charset=utf-8"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define DEFAULT_MAX_PENDING 1024
#define DROP_GRACE_S 2
#define ALLOW_METHODS "GET, HEAD"
#define HTML_CSP                                                                              \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "         \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct http_response {
    int status;
    char content_type[128];
    char *body;
    size_t len;
    bool set;
};

/* Per connection (lws per-session data); reused by keep-alive requests. */
struct session {
    struct http_response resp;
    size_t sent;
    bool pending;  /* response ready, waiting for the request body to end */
    bool sending;  /* headers written, body (if any) going out */
    bool head;     /* HEAD request: no body */
    bool allow_get; /* 405: add "Allow: GET, HEAD" */
    /* websocket event stream */
    bool ws;
    bool drop;          /* too slow: close at the next WRITEABLE */
    uint64_t last_seq;  /* last sequence sent (or skipped) */
    uint64_t start;     /* the bus head when it connected: the replay is not lag */
    struct lws *wsi;
    struct session *next, *prev;
};

struct route {
    char *path;
    enum http_route_match match;
    http_handler fn;
    void *ctx;
};

struct http_server {
    char *listen;      /* as given (or the default), for messages */
    char host[256];    /* for http_server_host */
    int port;          /* asked, then bound */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct metrics *metrics;
    int (*ready)(void *ctx, char *reason, size_t size);
    void *ready_ctx;
    http_authorize_fn authorize;
    void *authorize_ctx;
    bool metrics_secure;
    struct route *routes;
    size_t nroutes;
    char *events_path;
    struct eventbus *bus;
    size_t max_pending;
    struct session *clients; /* websocket sessions, server thread only */
    atomic_size_t nclients;  /* their number, read by publishers (bus_notify) */

    int listen_fd;  /* the listening socket (accepted from by the server thread) */
    bool fd_owned; /* we close listen_fd (lws does once it adopted it) */
    struct lws_context *lws;
    struct lws_vhost *vh;
    struct lws_protocols protocols[2];
    pthread_t thread;
    bool started;
    atomic_bool stop;
    bool accept_error_logged;
    unsigned char chunk[LWS_PRE + CHUNK]; /* used by the server thread only */
};

/* ---- responses ------------------------------------------------------------ */

static void response_reset(struct http_response *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

int http_response_take(struct http_response *r, int status, const char *content_type, char *body,
                       size_t len)
{
    free(r->body);
    r->status = status;
    snprintf(r->content_type, sizeof r->content_type, "%s", content_type ? content_type : TEXT_PLAIN);
    r->body = body;
    r->len = body ? len : 0;
    r->set = true;
    return 0;
}

int http_response_json_error(struct http_response *r, int status, const char *message)
{
    char *body = NULL;
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "error", message ? message : "error"))
        body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (body) {
        size_t n = strlen(body);
        char *nl = realloc(body, n + 2);
        if (nl) {
            body = nl;
            body[n] = '\n';
            body[n + 1] = '\0';
        }
    } else {
        body = strdup("{\"error\":\"out of memory\"}\n");
    }
    return http_response_take(r, status, "application/json", body, body ? strlen(body) : 0);
}

static int text_response(struct http_response *r, int status, const char *type, const char *text)
{
    char *body = strdup(text);
    if (!body)
        return http_response_json_error(r, 500, "out of memory");
    return http_response_take(r, status, type, body, strlen(body));
}

/* ---- built-in routes ------------------------------------------------------- */

static int route_healthz(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    return text_response(resp, 200, TEXT_PLAIN, "ok\n");
}

static int route_readyz(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct http_server *s = ctx;
    (void)req;
    char reason[512] = "";
    if (!s->ready || s->ready(s->ready_ctx, reason, sizeof reason))
        return text_response(resp, 200, TEXT_PLAIN, "ok\n");
    char text[600];
    snprintf(text, sizeof text, "%s\n", reason[0] ? reason : "not ready");
    return text_response(resp, 503, TEXT_PLAIN, text);
}

static int route_metrics(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct http_server *s = ctx;
    (void)req;
    if (!s->metrics)
        return http_response_json_error(resp, 404, "not found");
    char *text = metrics_render(s->metrics);
    if (!text)
        return http_response_json_error(resp, 500, "out of memory");
    return http_response_take(resp, 200, METRICS_TYPE, text, strlen(text));
}

/* ---- options ------------------------------------------------------------------ */

static char *fmt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *fmt_err(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return strdup(buf);
}

static void set_err(char **ret_err, char *msg)
{
    if (ret_err) {
        free(*ret_err);
        *ret_err = msg;
    } else {
        free(msg);
    }
}

/* Splits "HOST:PORT" / "[V6]:PORT" / ":PORT". Returns 0 or -1. */
static int split_listen(const char *listen, char *host, size_t hsize, int *port)
{
    const char *colon;
    size_t hlen;
    const char *h = listen;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':')
            return -1;
        h = listen + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return -1;
        hlen = (size_t)(colon - listen);
        if (memchr(listen, ':', hlen))
            return -1; /* a bare IPv6 address: needs brackets */
    }
    if (hlen >= hsize)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    const char *p = colon + 1;
    if (!*p || strlen(p) > 5)
        return -1;
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

static int resolve_listen(struct http_server *s, char **ret_err)
{
    if (split_listen(s->listen, s->host, sizeof s->host, &s->port) != 0) {
        set_err(ret_err, fmt_err("invalid listen address '%s': want ADDR:PORT with a port from 0 to 65535",
                                 s->listen));
        return SH_EINVAL;
    }
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", s->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(s->host[0] ? s->host : NULL, portstr, &hints, &res);
    if (rc != 0 || !res) {
        set_err(ret_err, fmt_err("invalid listen address '%s': %s", s->listen,
                                 rc ? gai_strerror(rc) : "no address"));
        return SH_EINVAL;
    }
    if (!s->host[0]) {
        /* ":PORT": every IPv4 interface */
        struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port),
                                  .sin_addr.s_addr = htonl(INADDR_ANY)};
        memcpy(&s->addr, &any, sizeof any);
        s->addrlen = sizeof any;
        snprintf(s->host, sizeof s->host, "0.0.0.0");
    } else {
        memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
        s->addrlen = res->ai_addrlen;
    }
    freeaddrinfo(res);
    return 0;
}

int http_server_new(const struct http_server_options *o, struct http_server **ret, char **ret_err)
{
    if (!o || !ret)
        return SH_EINVAL;
    *ret = NULL;
    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        return SH_ENOMEM;
    s->listen_fd = -1;
    s->metrics = o->metrics;
    s->ready = o->ready;
    s->ready_ctx = o->ready_ctx;
    s->authorize = o->authorize;
    s->authorize_ctx = o->authorize_ctx;
    s->metrics_secure = o->metrics_secure != 0;
    s->listen = strdup(o->listen && *o->listen ? o->listen : DEFAULT_LISTEN);
    if (!s->listen) {
        free(s);
        return SH_ENOMEM;
    }
    int err = resolve_listen(s, ret_err);
    if (!err)
        err = http_server_route(s, "/healthz", HTTP_ROUTE_EXACT, route_healthz, s);
    if (!err)
        err = http_server_route(s, "/readyz", HTTP_ROUTE_EXACT, route_readyz, s);
    if (!err)
        err = http_server_route(s, "/metrics", HTTP_ROUTE_EXACT, route_metrics, s);
    if (err) {
        http_server_free(s);
        return err;
    }
    *ret = s;
    return 0;
}

int http_server_route(struct http_server *s, const char *path, enum http_route_match m,
                      http_handler h, void *ctx)
{
    if (!s || !path || path[0] != '/' || !h || s->started ||
        (m != HTTP_ROUTE_EXACT && m != HTTP_ROUTE_PREFIX))
        return SH_EINVAL;
    for (size_t i = 0; i < s->nroutes; i++)
        if (s->routes[i].match == m && strcmp(s->routes[i].path, path) == 0)
            return SH_EEXISTS;
    struct route *p = realloc(s->routes, (s->nroutes + 1) * sizeof *p);
    if (!p)
        return SH_ENOMEM;
    s->routes = p;
    char *copy = strdup(path);
    if (!copy)
        return SH_ENOMEM;
    s->routes[s->nroutes++] = (struct route){copy, m, h, ctx};
    return 0;
}

/* A plain GET of the events path (no websocket upgrade). */
static int route_upgrade_required(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    return http_response_json_error(resp, 426, "websocket upgrade required");
}

int http_server_events(struct http_server *s, const char *path, struct eventbus *bus,
                       size_t max_pending)
{
    if (!s || !path || path[0] != '/' || !bus || s->started || s->events_path)
        return SH_EINVAL;
    int err = http_server_route(s, path, HTTP_ROUTE_EXACT, route_upgrade_required, NULL);
    if (err)
        return err;
    s->events_path = strdup(path);
    if (!s->events_path)
        return SH_ENOMEM;
    s->bus = bus;
    s->max_pending = max_pending ? max_pending : DEFAULT_MAX_PENDING;
    return 0;
}

const char *http_server_host(const struct http_server *s)
{
    return s ? s->host : "";
}

int http_server_port(const struct http_server *s)
{
    return s ? s->port : 0;
}

/* ---- dispatch ------------------------------------------------------------------- */

static bool prefix_matches(const char *prefix, const char *path)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0)
        return false;
    return path[n] == '\0' || path[n] == '/' || (n > 0 && prefix[n - 1] == '/');
}

static const struct route *find_route(const struct http_server *s, const char *path)
{
    const struct route *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct route *r = &s->routes[i];
        if (r->match == HTTP_ROUTE_EXACT && strcmp(r->path, path) == 0)
            return r;
        if (r->match == HTTP_ROUTE_PREFIX && prefix_matches(r->path, path) &&
            strlen(r->path) >= best_len) {
            best = r;
            best_len = strlen(r->path);
        }
    }
    return best;
}

static const char *request_method(struct lws *wsi)
{
    static const struct {
        enum lws_token_indexes tok;
        const char *name;
    } methods[] = {
        {WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
        {WSI_TOKEN_PUT_URI, "PUT"},       {WSI_TOKEN_PATCH_URI, "PATCH"},
        {WSI_TOKEN_DELETE_URI, "DELETE"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
        {WSI_TOKEN_HEAD_URI, "HEAD"},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (lws_hdr_total_length(wsi, methods[i].tok) > 0)
            return methods[i].name;
    return "UNKNOWN";
}

/* The decoded query arguments joined with '&' ("" when none or too long). */
static void request_query(struct lws *wsi, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0;; i++) {
        int n = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0)
            break;
        if (used + (size_t)n + 2 > size) {
            buf[0] = '\0';
            return;
        }
        if (i > 0)
            buf[used++] = '&';
        if (lws_hdr_copy_fragment(wsi, buf + used, (int)(size - used), WSI_TOKEN_HTTP_URI_ARGS, i) < 0) {
            buf[0] = '\0';
            return;
        }
        used += strlen(buf + used);
    }
}

/* True when the request announces a body (answered after it is read). */
static bool request_has_body(struct lws *wsi)
{
    char cl[32] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
        lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
        return strtoull(cl, NULL, 10) > 0;
    return false;
}

/* Adds one "name: value" header; non-zero when it does not fit. */
static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

/* The headers every response carries (see the top of the file). */
static int add_security_headers(struct lws *wsi, const struct http_response *r, unsigned char **p,
                                unsigned char *end)
{
    if (add_header(wsi, "x-content-type-options:", "nosniff", p, end) ||
        add_header(wsi, "x-frame-options:", "DENY", p, end) ||
        add_header(wsi, "referrer-policy:", "no-referrer", p, end) ||
        add_header(wsi, "cache-control:", "no-store", p, end))
        return -1;
    if (strncmp(r->content_type, "text/html", 9) == 0 &&
        add_header(wsi, "content-security-policy:", HTML_CSP, p, end))
        return -1;
    return 0;
}

static int send_headers(struct lws *wsi, struct session *ss)
{
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    struct http_response *r = &ss->resp;
    if (ss->head) {
        free(r->body);
        r->body = NULL;
        r->len = 0;
    }
    if (lws_add_http_common_headers(wsi, (unsigned int)r->status, r->content_type,
                                    (lws_filepos_t)r->len, &p, end))
        return -1;
    if (ss->allow_get && add_header(wsi, "allow:", ALLOW_METHODS, &p, end))
        return -1;
    if (r->status == 401 && add_header(wsi, "www-authenticate:", "Bearer realm=\"selfheal\"", &p, end))
        return -1;
    if (add_security_headers(wsi, r, &p, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    ss->pending = false;
    ss->sending = true;
    ss->sent = 0;
    lws_callback_on_writable(wsi);
    return 0;
}

/* ---- who may read ----------------------------------------------------------- */

#define TOKEN_MAX 8192

/* Paths that need no token: the probes, the dashboard's static files. */
static bool path_is_open(const struct http_server *s, const char *path)
{
    if (!s->authorize || strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0)
        return true;
    if (strcmp(path, "/metrics") == 0)
        return !s->metrics_secure;
    return strcmp(path, "/") == 0 || strcmp(path, "/dashboard") == 0 ||
           strncmp(path, "/dashboard/", 11) == 0;
}

/* The bearer token of the request into buf ("" when none); with
 * from_query, the access_token argument is accepted too. */
static void request_token(struct lws *wsi, const char *query, bool from_query, char *buf,
                          size_t size)
{
    buf[0] = '\0';
    char *h = malloc(TOKEN_MAX);
    if (h && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
        lws_hdr_copy(wsi, h, TOKEN_MAX, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
        strncasecmp(h, "bearer ", 7) == 0) {
        const char *t = h + 7;
        while (*t == ' ')
            t++;
        snprintf(buf, size, "%s", t);
    }
    free(h);
    for (const char *p = query; from_query && !buf[0] && p && *p;) {
        if (strncmp(p, "access_token=", 13) == 0) {
            size_t n = strcspn(p + 13, "&");
            snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), p + 13);
        }
        p = strchr(p, '&');
        if (p)
            p++;
    }
}

/* The namespace a request is about: /api/v1/pipelines/NS[/...] → NS. */
static void request_namespace(const char *path, char *buf, size_t size)
{
    static const char prefix[] = "/api/v1/pipelines/";
    buf[0] = '\0';
    if (strncmp(path, prefix, sizeof prefix - 1) == 0) {
        const char *ns = path + sizeof prefix - 1;
        size_t n = strcspn(ns, "/");
        if (n < size)
            snprintf(buf, size, "%.*s", (int)n, ns);
    }
}

/* 200 when the request may go on; else the status with why filled. */
static int check_access(struct http_server *s, struct lws *wsi, const char *path,
                        const char *query, bool from_query, char *why, size_t whysize)
{
    if (path_is_open(s, path))
        return 200;
    char *token = malloc(TOKEN_MAX);
    if (!token) {
        snprintf(why, whysize, "out of memory");
        return 503;
    }
    request_token(wsi, query, from_query, token, TOKEN_MAX);
    char ns[256];
    request_namespace(path, ns, sizeof ns);
    int st;
    if (!token[0]) {
        snprintf(why, whysize, "a bearer token is required (Authorization: Bearer TOKEN; "
                               "docs/security.md)");
        st = 401;
    } else {
        why[0] = '\0';
        st = s->authorize(s->authorize_ctx, token, ns[0] ? ns : NULL, path, why, whysize);
    }
    memset(token, 0, TOKEN_MAX);
    free(token);
    if (st != 200 && !why[0])
        snprintf(why, whysize, "%s", st == 401 ? "unauthorized" : st == 403 ? "forbidden" : "cannot check access");
    return st;
}

static int on_request(struct http_server *s, struct lws *wsi, struct session *ss, const char *uri)
{
    response_reset(&ss->resp);
    memset(ss, 0, sizeof *ss);
    char query[2048];
    request_query(wsi, query, sizeof query);
    struct http_request req = {.method = request_method(wsi), .path = uri ? uri : "/", .query = query};

    ss->head = strcmp(req.method, "HEAD") == 0;
    if (ss->head)
        req.method = "GET"; /* handlers answer HEAD as GET; the body is dropped */
    if (strcmp(req.method, "GET") != 0) {
        ss->allow_get = true;
        http_response_json_error(&ss->resp, 405, "method not allowed");
    } else {
        const struct route *r = find_route(s, req.path);
        char why[512];
        int access = r ? check_access(s, wsi, req.path, query, false, why, sizeof why) : 200;
        if (access != 200) {
            http_response_json_error(&ss->resp, access, why);
        } else if (!r) {
            http_response_json_error(&ss->resp, 404, "not found");
        } else if (r->fn(r->ctx, &req, &ss->resp) != 0 || !ss->resp.set) {
            http_response_json_error(&ss->resp, 500, "internal error");
        }
    }
    if (request_has_body(wsi)) {
        ss->pending = true; /* answered at LWS_CALLBACK_HTTP_BODY_COMPLETION */
        return 0;
    }
    return send_headers(wsi, ss);
}

static int on_writeable(struct http_server *s, struct lws *wsi, struct session *ss)
{
    if (!ss->sending)
        return 0;
    struct http_response *r = &ss->resp;
    if (ss->sent < r->len) {
        size_t left = r->len - ss->sent;
        size_t n = left < CHUNK ? left : CHUNK;
        memcpy(s->chunk + LWS_PRE, r->body + ss->sent, n);
        int w = lws_write(wsi, s->chunk + LWS_PRE, n, n == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
        if (w < 0)
            return -1;
        ss->sent += (size_t)w < n ? (size_t)w : n;
        if (ss->sent < r->len) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    response_reset(r);
    ss->sending = false;
    if (lws_http_transaction_completed(wsi))
        return -1; /* not keep-alive: close */
    return 0;
}

/* ---- websocket event stream ------------------------------------------------ */

/* A publisher's hook: wake the loop only when a client may be waiting (with
 * none, 10,000 Events at start would each wake the server thread for
 * nothing). No event is missed: ws_open counts itself before it reads the
 * bus's head, and a publisher reads the count after it moved the head, so
 * one of the two sees the other. */
static void bus_notify(void *ctx)
{
    struct http_server *s = ctx;
    if (atomic_load(&s->nclients) > 0)
        lws_cancel_service(s->lws);
}

/* The "since" argument of the query ("since=12"), or -1. */
static long long query_since(const char *query)
{
    const char *p = query;
    while (p && *p) {
        if (strncmp(p, "since=", 6) == 0) {
            char *end = NULL;
            long long v = strtoll(p + 6, &end, 10);
            if (end != p + 6 && (*end == '\0' || *end == '&') && v >= 0)
                return v;
            return -1;
        }
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return -1;
}

static bool is_events_path(struct http_server *s, struct lws *wsi)
{
    char uri[512];
    if (!s->events_path || lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return false;
    return strcmp(uri, s->events_path) == 0;
}

/* At the upgrade request, before the handshake answer: the sequence to
 * start after, kept in the wsi's opaque pointer until ESTABLISHED (so an
 * event published as soon as the client sees the answer is not skipped). */
static int ws_filter(struct http_server *s, struct lws *wsi)
{
    if (!is_events_path(s, wsi) || !s->bus)
        return 1; /* refuse the upgrade */
    char query[TOKEN_MAX + 256];
    request_query(wsi, query, sizeof query);
    char why[512];
    int access = check_access(s, wsi, s->events_path, query, true, why, sizeof why);
    if (access != 200) {
        log_debug(NULL, "http server: event stream refused (%d): %s", access, why);
        return 1; /* refuse the upgrade */
    }
    long long since = query_since(query);
    uint64_t head = eventbus_head(s->bus);
    uint64_t oldest = eventbus_oldest(s->bus);
    uint64_t after;
    if (since < 0 || (uint64_t)since > head)
        after = head;
    else if ((uint64_t)since + 1 < oldest)
        after = oldest - 1;
    else
        after = (uint64_t)since;
    lws_set_opaque_user_data(wsi, (void *)(uintptr_t)(after + 1));
    return 0;
}

static void ws_open(struct http_server *s, struct lws *wsi, struct session *ss)
{
    response_reset(&ss->resp);
    memset(ss, 0, sizeof *ss);
    ss->ws = true;
    ss->wsi = wsi;
    atomic_fetch_add(&s->nclients, 1); /* before the head is read: bus_notify */
    uintptr_t start = (uintptr_t)lws_get_opaque_user_data(wsi);
    uint64_t head = eventbus_head(s->bus);
    ss->last_seq = start ? (uint64_t)start - 1 : head;
    ss->start = head; /* the replay up to here is not lag */
    ss->next = s->clients;
    if (s->clients)
        s->clients->prev = ss;
    s->clients = ss;
    if (ss->last_seq < head)
        lws_callback_on_writable(wsi);
}

static void ws_close(struct http_server *s, struct session *ss)
{
    if (!ss->ws)
        return;
    if (ss->prev)
        ss->prev->next = ss->next;
    else if (s->clients == ss)
        s->clients = ss->next;
    if (ss->next)
        ss->next->prev = ss->prev;
    ss->next = ss->prev = NULL;
    ss->ws = false;
    atomic_fetch_sub(&s->nclients, 1);
}

/* New events: drop the clients too far behind, wake the others. */
static void ws_wake(struct http_server *s)
{
    if (!s->bus)
        return;
    uint64_t head = eventbus_head(s->bus);
    uint64_t oldest = eventbus_oldest(s->bus);
    for (struct session *c = s->clients; c; c = c->next) {
        if (c->drop || c->last_seq >= head)
            continue;
        uint64_t base = c->last_seq > c->start ? c->last_seq : c->start;
        if (head - base > s->max_pending || c->last_seq + 1 < oldest) {
            c->drop = true;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, DROP_GRACE_S);
        }
        lws_callback_on_writable(c->wsi);
    }
}

static int ws_writeable(struct http_server *s, struct lws *wsi, struct session *ss)
{
    if (!ss->ws)
        return 0;
    if (ss->drop) {
        char why[124];
        int n = snprintf(why, sizeof why, "slow client: %llu events behind; reconnect with ?since=%llu",
                         (unsigned long long)(eventbus_head(s->bus) - ss->last_seq),
                         (unsigned long long)ss->last_seq);
        if (n < 0 || (size_t)n >= sizeof why)
            n = (int)sizeof why - 1;
        lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why, (size_t)n);
        return -1;
    }
    char *json = NULL;
    size_t len = 0;
    uint64_t seq = 0;
    int err = eventbus_next(s->bus, ss->last_seq, &json, &len, &seq);
    if (err == SH_ENOTFOUND)
        return 0;
    if (err)
        return -1;
    unsigned char *buf = len <= CHUNK ? s->chunk : malloc(LWS_PRE + len);
    if (!buf) {
        free(json);
        return -1;
    }
    memcpy(buf + LWS_PRE, json, len);
    free(json);
    int w = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
    if (buf != s->chunk)
        free(buf);
    if (w < (int)len)
        return -1;
    ss->last_seq = seq;
    if (seq < eventbus_head(s->bus))
        lws_callback_on_writable(wsi);
    return 0;
}

static const char *errno_phrase(int e, char *buf, size_t size);

static void accept_all(struct http_server *s)
{
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && !s->accept_error_logged) {
                s->accept_error_logged = true;
                char why[128];
                log_error(NULL, "http server: accept: %s", errno_phrase(errno, why, sizeof why));
            }
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (!lws_adopt_socket_vhost(s->vh, fd)) /* lws closed fd */
            log_error(NULL, "http server: cannot adopt a connection");
    }
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct http_server *s = lws_context_user(lws_get_context(wsi));
    struct session *ss = user;
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE: /* the listening socket is readable */
        accept_all(s);
        return 0;
    case LWS_CALLBACK_RAW_ADOPT_FILE:
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        return 0;
    case LWS_CALLBACK_HTTP:
        if (!ss)
            return -1;
        return on_request(s, wsi, ss, in);
    case LWS_CALLBACK_HTTP_BODY:
        return 0; /* discarded */
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return ws_filter(s, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        if (!ss || !s->bus)
            return -1;
        ws_open(s, wsi, ss);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ss ? ws_writeable(s, wsi, ss) : -1;
    case LWS_CALLBACK_RECEIVE:
        return 0; /* read-only: what clients send is ignored */
    case LWS_CALLBACK_CLOSED:
        if (ss)
            ws_close(s, ss);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        ws_wake(s);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (ss && ss->pending)
            return send_headers(wsi, ss);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!ss)
            return -1;
        return on_writeable(s, wsi, ss);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (ss) {
            response_reset(&ss->resp);
            ss->pending = ss->sending = false;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void lws_log_to_ours(int level, const char *line)
{
    (void)level;
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    log_error(NULL, "libwebsockets: %.*s", (int)n, line);
}

static void lws_log_setup(void)
{
    lws_set_log_level(LLL_ERR, lws_log_to_ours);
}

static const char *errno_phrase(int e, char *buf, size_t size)
{
    switch (e) {
    case EADDRINUSE:
        return "address already in use";
    case EADDRNOTAVAIL:
        return "address not available";
    case EACCES:
        return "permission denied";
    default:
        break;
    }
    char tmp[128];
    snprintf(buf, size, "%s", strerror_r(e, tmp, sizeof tmp));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

static int bind_listen(struct http_server *s, char **ret_err)
{
    char why[128];
    int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_err(ret_err, fmt_err("listen %s: %s", s->listen, errno_phrase(errno, why, sizeof why)));
        return SH_EIO;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* no TIME_WAIT wait on restart */
    if (bind(fd, (struct sockaddr *)&s->addr, s->addrlen) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        set_err(ret_err, fmt_err("listen %s: %s", s->listen, errno_phrase(e, why, sizeof why)));
        return SH_EIO;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0) {
        if (bound.ss_family == AF_INET)
            s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
        else if (bound.ss_family == AF_INET6)
            s->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
    }
    s->listen_fd = fd;
    s->fd_owned = true;
    return 0;
}

static void *serve(void *arg)
{
    struct http_server *s = arg;
    while (!atomic_load(&s->stop)) {
        if (lws_service(s->lws, 0) < 0) {
            log_error(NULL, "http server on %s: the service loop failed; not serving any more",
                      s->listen);
            break;
        }
    }
    return NULL;
}

int http_server_start(struct http_server *s, char **ret_err)
{
    static pthread_once_t log_once = PTHREAD_ONCE_INIT;
    if (!s || s->started)
        return SH_EINVAL;
    int err = bind_listen(s, ret_err);
    if (err)
        return err;
    pthread_once(&log_once, lws_log_setup);

    s->protocols[0] = (struct lws_protocols){
        .name = "selfheal-http",
        .callback = callback,
        .per_session_data_size = sizeof(struct session),
        .tx_packet_size = CHUNK, /* one send(2) per chunk (default: 4 KB at a time) */
    };
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = s->protocols;
    info.user = s;
    info.gid = -1;
    info.uid = -1;
    info.vhost_name = "selfheal";
    s->lws = lws_create_context(&info);
    if (s->lws)
        s->vh = lws_create_vhost(s->lws, &info);
    if (!s->vh) {
        set_err(ret_err, fmt_err("listen %s: cannot set up the HTTP server (libwebsockets)", s->listen));
        err = SH_EIO;
        goto fail;
    }
    lws_sock_file_fd_type desc = {.filefd = s->listen_fd};
    struct lws *lw = lws_adopt_descriptor_vhost(s->vh, LWS_ADOPT_RAW_FILE_DESC, desc, NULL, NULL);
    s->fd_owned = false; /* lws owns it now (it closes it when adoption fails) */
    if (!lw) {
        set_err(ret_err, fmt_err("listen %s: cannot adopt the listening socket", s->listen));
        err = SH_EIO;
        goto fail;
    }
    atomic_store(&s->stop, false);
    if (pthread_create(&s->thread, NULL, serve, s) != 0) {
        set_err(ret_err, fmt_err("listen %s: cannot start the server thread", s->listen));
        err = SH_EIO;
        goto fail;
    }
    s->started = true;
    if (s->bus)
        eventbus_set_notify(s->bus, bus_notify, s);
    return 0;
fail:
    if (s->lws)
        lws_context_destroy(s->lws);
    s->lws = NULL;
    s->vh = NULL;
    if (s->fd_owned)
        close(s->listen_fd);
    s->fd_owned = false;
    s->listen_fd = -1;
    return err;
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    if (s->started) {
        if (s->bus)
            eventbus_set_notify(s->bus, NULL, NULL);
        atomic_store(&s->stop, true);
        lws_cancel_service(s->lws);
        pthread_join(s->thread, NULL);
    }
    if (s->lws)
        lws_context_destroy(s->lws);
    if (s->fd_owned)
        close(s->listen_fd);
    for (size_t i = 0; i < s->nroutes; i++)
        free(s->routes[i].path);
    free(s->routes);
    free(s->events_path);
    free(s->listen);
    free(s);
}
