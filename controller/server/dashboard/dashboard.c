/*
 * dashboard.c — the routes of dashboard.h: each answer is a copy of an
 * asset from assets.c (the HTTP server takes ownership of the body).
 */
#include "server/dashboard/dashboard.h"

#include <stdlib.h>
#include <string.h>

#include "server/dashboard/assets.h"
#include "base/errors.h"
#include "server/httpserver.h"

static int serve_asset(struct http_response *resp, const char *path)
{
    for (size_t i = 0; i < dashboard_nassets; i++) {
        const struct dashboard_asset *a = &dashboard_assets[i];
        if (strcmp(a->path, path) != 0)
            continue;
        char *body = malloc(a->len + 1);
        if (!body)
            return http_response_json_error(resp, 500, "out of memory");
        memcpy(body, a->data, a->len);
        body[a->len] = '\0';
        return http_response_take(resp, 200, a->content_type, body, a->len);
    }
    return http_response_json_error(resp, 404, "not found");
}

static int route_page(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    return serve_asset(resp, "/dashboard/index.html");
}

static int route_assets(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    return serve_asset(resp, req->path);
}

int dashboard_register(struct http_server *s)
{
    int err = http_server_route(s, "/", HTTP_ROUTE_EXACT, route_page, NULL);
    if (!err)
        err = http_server_route(s, "/dashboard", HTTP_ROUTE_PREFIX, route_assets, NULL);
    return err;
}
