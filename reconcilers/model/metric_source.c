/* metric_source.c — the model metric sources: prometheus, http, file (metric_source.h). */
#include "model/metric_source.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/fsutil.h"
#include "base/redact.h"
#include "model/json_pointer.h"
#include "model/metric_fetch.h"

#define SHOW 60

char *metric_prometheus_url(const char *base, const char *query)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    size_t qlen = strlen(query);
    static const char path[] = "/api/v1/query?query=";
    char *out = malloc(blen + sizeof path + qlen * 3 + 1);
    if (!out)
        return NULL;
    memcpy(out, base, blen);
    size_t o = blen;
    memcpy(out + o, path, sizeof path - 1);
    o += sizeof path - 1;
    for (const unsigned char *q = (const unsigned char *)query; *q; q++) {
        unsigned char c = *q;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

/* A Prometheus sample value ("0.82", "NaN", "+Inf") as a finite number. */
static int sample_value(const cJSON *pair, double *ret, char *err, size_t errsize)
{
    const cJSON *v = cJSON_GetArrayItem(pair, 1);
    if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || !cJSON_IsString(v)) {
        snprintf(err, errsize, "prometheus: a sample is not [time, \"value\"]");
        return SH_EPARSE;
    }
    const char *s = v->valuestring;
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end) {
        snprintf(err, errsize, "prometheus: sample value \"%.*s\" is not a number", SHOW, s);
        return SH_EINVAL;
    }
    if (!isfinite(d)) {
        snprintf(err, errsize, "prometheus: sample value %.*s is not a finite number", SHOW, s);
        return SH_EINVAL;
    }
    *ret = d;
    return 0;
}

int metric_prometheus_parse(const char *body, size_t len, double *ret, char *err, size_t errsize)
{
    cJSON *doc = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        snprintf(err, errsize, "prometheus: the answer is not a JSON object");
        return SH_EPARSE;
    }
    int r;
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "status"));
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "resultType"));
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(data, "result");
    if (!status || strcmp(status, "success") != 0) {
        const char *et = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "errorType"));
        const char *em = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "error"));
        char ex[REDACT_EXCERPT_MAX + 4];
        redact_excerpt(em, REDACT_EXCERPT_MAX, ex, sizeof ex);
        snprintf(err, errsize, "prometheus: %.40s%s%s", et ? et : (status ? status : "no status"),
                 em ? ": " : "", em ? ex : "");
        r = SH_EPROTO;
    } else if (!type || !result) {
        snprintf(err, errsize, "prometheus: the answer has no data.resultType or data.result");
        r = SH_EPARSE;
    } else if (strcmp(type, "scalar") == 0) {
        r = sample_value(result, ret, err, errsize);
    } else if (strcmp(type, "vector") == 0) {
        if (!cJSON_IsArray(result)) {
            snprintf(err, errsize, "prometheus: data.result is not an array");
            r = SH_EPARSE;
        } else if (cJSON_GetArraySize(result) == 0) {
            snprintf(err, errsize, "query returned no samples");
            r = SH_ENOTFOUND;
        } else {
            const cJSON *first = cJSON_GetArrayItem(result, 0);
            r = sample_value(cJSON_GetObjectItemCaseSensitive(first, "value"), ret, err, errsize);
        }
    } else {
        snprintf(err, errsize,
                 "prometheus: the query gives a %s; an instant vector or a scalar is needed",
                 strcmp(type, "matrix") == 0 ? "range vector (matrix)" : type);
        r = SH_EINVAL;
    }
    cJSON_Delete(doc);
    return r;
}

int metric_json_value(const char *body, size_t len, const char *pointer, double *ret, char *err,
                      size_t errsize)
{
    const char *where = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(body, len, &where, false);
    if (!doc) {
        long at = where && where >= body ? (long)(where - body) : 0;
        snprintf(err, errsize, "not JSON (error near byte %ld)", at);
        return SH_EPARSE;
    }
    int r = json_pointer_number(doc, pointer, ret, err, errsize);
    cJSON_Delete(doc);
    return r;
}

/* Prefixes err with "prefix: " in place. */
static void prefix_err(char *err, size_t errsize, const char *prefix)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", err);
    snprintf(err, errsize, "%s: %s", prefix, tmp);
}

/* "GET <url>" for messages, credentials redacted (redact.h). */
static void display_get(const char *url, char *out, size_t size)
{
    snprintf(out, size, "GET %s", url);
    redact_inplace(out);
}

static int read_prometheus(const struct spec_metric_source *src,
                           const struct http_credentials *cred, int64_t timeout_ms, double *ret,
                           char *err, size_t errsize)
{
    if (!src->url || !src->query) {
        snprintf(err, errsize, "prometheus source needs url and query");
        return SH_EINVAL;
    }
    char *url = metric_prometheus_url(src->url, src->query);
    if (!url) {
        snprintf(err, errsize, "out of memory");
        return SH_ENOMEM;
    }
    struct metric_response resp;
    char pre[1024];
    display_get(url, pre, sizeof pre);
    int r = metric_fetch_auth(url, cred, timeout_ms, 0, &resp, err, errsize);
    if (r != 0) {
        prefix_err(err, errsize, pre);
        free(url);
        return r;
    }
    r = metric_prometheus_parse(resp.body, resp.len, ret, err, errsize);
    if (r == SH_EPARSE && (resp.status < 200 || resp.status > 299)) {
        snprintf(err, errsize, "%s: HTTP %ld", pre, resp.status);
        r = SH_EPROTO;
    } else if (r != 0) {
        prefix_err(err, errsize, pre);
    }
    metric_response_free(&resp);
    free(url);
    return r;
}

static int read_http(const struct spec_metric_source *src, const struct http_credentials *cred,
                     int64_t timeout_ms, double *ret, char *err, size_t errsize)
{
    if (!src->url) {
        snprintf(err, errsize, "http source needs url");
        return SH_EINVAL;
    }
    struct metric_response resp;
    int r = metric_fetch_auth(src->url, cred, timeout_ms, 0, &resp, err, errsize);
    char pre[1024];
    display_get(src->url, pre, sizeof pre);
    if (r != 0) {
        prefix_err(err, errsize, pre);
        return r;
    }
    if (resp.status < 200 || resp.status > 299) {
        snprintf(err, errsize, "%s: HTTP %ld", pre, resp.status);
        metric_response_free(&resp);
        return SH_EPROTO;
    }
    r = metric_json_value(resp.body, resp.len, src->json_pointer, ret, err, errsize);
    if (r != 0)
        prefix_err(err, errsize, pre);
    metric_response_free(&resp);
    return r;
}

static int read_file(const struct spec_metric_source *src, double *ret, char *err, size_t errsize)
{
    if (!src->path) {
        snprintf(err, errsize, "file source needs path");
        return SH_EINVAL;
    }
    char *data = NULL;
    size_t len = 0;
    int r = fs_read_file(src->path, METRIC_FILE_MAX, &data, &len);
    if (r == SH_ETOOBIG) {
        snprintf(err, errsize, "%s: larger than %u bytes", src->path, METRIC_FILE_MAX);
        return r;
    }
    if (r != 0) {
        snprintf(err, errsize, "%s: %s", src->path, r == SH_EIO ? strerror(errno) : sh_strerror(r));
        return r;
    }
    r = metric_json_value(data, len, src->json_pointer, ret, err, errsize);
    if (r != 0)
        prefix_err(err, errsize, src->path);
    free(data);
    return r;
}

int metric_source_read(const struct spec_metric_source *src, int64_t timeout_ms, double *ret,
                       char *err, size_t errsize)
{
    return metric_source_read_in(src, NULL, timeout_ms, ret, err, errsize);
}

int metric_source_read_in(const struct spec_metric_source *src, const struct metric_source_env *env,
                          int64_t timeout_ms, double *ret, char *err, size_t errsize)
{
    char ignore[8];
    if (!err || !errsize) {
        err = ignore;
        errsize = sizeof ignore;
    }
    err[0] = '\0';
    int r = SH_EINVAL;
    struct http_credentials cred = {0};
    if (src->kind == METRIC_SOURCE_PROMETHEUS || src->kind == METRIC_SOURCE_HTTP) {
        r = credentials_resolve(&src->auth, env ? env->ns : NULL, env ? env->secrets : NULL,
                                env && env->field ? env->field : "source", &cred, err, errsize);
        if (r != 0) {
            http_credentials_free(&cred);
            redact_inplace(err);
            return r;
        }
    }
    switch (src->kind) {
    case METRIC_SOURCE_PROMETHEUS:
        r = read_prometheus(src, &cred, timeout_ms, ret, err, errsize);
        break;
    case METRIC_SOURCE_HTTP:
        r = read_http(src, &cred, timeout_ms, ret, err, errsize);
        break;
    case METRIC_SOURCE_FILE:
        r = read_file(src, ret, err, errsize);
        break;
    case METRIC_SOURCE_NONE:
    default:
        snprintf(err, errsize, "no metric source configured");
        break;
    }
    http_credentials_free(&cred);
    redact_inplace(err); /* curl's messages may quote the URL */
    return r;
}
