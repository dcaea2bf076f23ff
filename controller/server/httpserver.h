/*
 * httpserver.h — the controller's HTTP server (libwebsockets), serving
 * /healthz, /readyz, /metrics and the routes the controller adds (the JSON
 * API), on its own thread.
 *
 * Built-in routes (GET only):
 *   /healthz  200 "ok\n"
 *   /readyz   200 "ok\n", or 503 with the reason from the ready callback
 *   /metrics  200, the registry in text format 0.0.4 (404 without a registry)
 * Any other path is a 404 and any method but GET a 405, both with a JSON body
 * {"error": "..."}. Connections are kept alive (HTTP/1.1).
 *
 * Handlers run on the server thread, one at a time, and must be quick. Routes
 * are added before http_server_start. A HTTP_ROUTE_PREFIX route "/a/b"
 * matches "/a/b" and "/a/b/..." (not "/a/bc"); exact routes win over prefix
 * routes, the longest prefix over shorter ones. The path handlers see is
 * URL-decoded by libwebsockets; the query is its decoded arguments joined
 * with '&'.
 *
 * Event stream (http_server_events): a websocket at a path (the controller
 * uses /api/v1/events) sending each eventbus message as one text message.
 * Without a query a client gets the events published after it connected;
 * with "?since=SEQ" it first gets the ones after SEQ still in the ring (the
 * oldest kept when SEQ is older; nothing old when SEQ is ahead of the bus).
 * A plain GET of the path is a 426 {"error": "websocket upgrade required"}.
 * What clients send is ignored. The server never buffers messages per
 * client: it reads each from the ring when the client's socket can take it.
 * A client more than max_pending live messages behind, or whose next
 * message left the ring, is dropped with a close frame 1008 "slow client:
 * N events behind; reconnect with ?since=SEQ" (or closed after 2 s when its
 * socket cannot even take that). Publishing never waits for a client.
 */
#ifndef SH_HTTPSERVER_H
#define SH_HTTPSERVER_H

#include <stddef.h>

struct metrics;
struct http_server;
struct eventbus;

struct http_request {
    const char *method;
    const char *path;
    const char *query; /* may be "" */
};

struct http_response; /* opaque */

/* Fills resp (http_response_take or http_response_json_error) and returns 0;
 * a non-zero return, or no response, is answered with a 500. */
typedef int (*http_handler)(void *ctx, const struct http_request *req, struct http_response *resp);

enum http_route_match { HTTP_ROUTE_EXACT, HTTP_ROUTE_PREFIX };

/*
 * Who may read (on a cluster; NULL: the server is open, as locally). Called
 * on the server thread before the handler of every guarded request: the
 * JSON API, the event stream's upgrade, and /metrics when metrics_secure.
 * /healthz, /readyz, the dashboard's page and its static files (no data in
 * them) stay open. `token` is the request's bearer token ("" when none:
 * `Authorization: Bearer T`, or for the event stream only, whose browser
 * client cannot set headers, the `access_token` query argument); `namespace_`
 * the pipeline's namespace (/api/v1/pipelines/NS/...) or NULL (the list, the
 * event stream: cluster-wide); `path` the request's path. Returns 200
 * (allowed), 401 (no or bad token), 403 (not allowed) or 503 (cannot
 * decide), with a short reason in why. Must be quick (cache decisions).
 */
typedef int (*http_authorize_fn)(void *ctx, const char *token, const char *namespace_,
                                 const char *path, char *why, size_t whysize);

struct http_server_options {
    const char *listen;      /* "ADDR:PORT", default "127.0.0.1:8080"; port 0 = any free port */
    struct metrics *metrics; /* /metrics renders it; NULL → 404 */
    int (*ready)(void *ctx, char *reason, size_t size); /* /readyz: 1 ready, 0 not (reason filled) */
    void *ready_ctx;
    http_authorize_fn authorize; /* NULL: open */
    void *authorize_ctx;
    int metrics_secure; /* /metrics also goes through authorize */
};

/* Creates a server (nothing is bound yet). Returns 0, or SH_EINVAL with
 * *ret_err (owned) for a bad listen address, or SH_ENOMEM. */
int http_server_new(const struct http_server_options *o, struct http_server **ret, char **ret_err);

/* Adds a route; before start only. Returns 0, SH_EINVAL, SH_EEXISTS (same
 * path and match) or SH_ENOMEM. */
int http_server_route(struct http_server *s, const char *path, enum http_route_match m,
                      http_handler h, void *ctx);

/* Serves bus at path as a websocket (see above); before start only; once.
 * path must not be an exact route already. max_pending 0: 1024. Returns 0,
 * SH_EINVAL, SH_EEXISTS or SH_ENOMEM. */
int http_server_events(struct http_server *s, const char *path, struct eventbus *bus,
                       size_t max_pending);

/* Binds and starts the thread. Returns 0, or SH_EIO with *ret_err (owned),
 * e.g. "listen 127.0.0.1:8080: address already in use". */
int http_server_start(struct http_server *s, char **ret_err);

/* The host of the listen address ("127.0.0.1"; "0.0.0.0" when none given). */
const char *http_server_host(const struct http_server *s);

/* The bound port (also when 0 was asked), or the asked one before start. */
int http_server_port(const struct http_server *s);

/* Stops the thread (open connections are closed) and frees. NULL is a no-op. */
void http_server_free(struct http_server *s);

/* Sets the response: takes ownership of body (malloc'd; may be NULL when len
 * is 0). content_type NULL: text/plain. Returns 0. */
int http_response_take(struct http_response *r, int status, const char *content_type, char *body,
                       size_t len);

/* Sets a JSON error response {"error": message}. Returns 0. */
int http_response_json_error(struct http_response *r, int status, const char *message);

#endif
