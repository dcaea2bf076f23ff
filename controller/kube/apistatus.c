/* apistatus.c — Status objects and API error messages (apistatus.h). */
#include "kube/apistatus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

#define MSG_MAX 1024

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool kube_status_parse(const cJSON *obj, struct kube_status *ret)
{
    memset(ret, 0, sizeof *ret);
    const char *kind = str_of(obj, "kind");
    if (!kind || strcmp(kind, "Status") != 0)
        return false;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
    /* only a whole HTTP status 200..599 counts (0, 1xx, 600+, 409.5 are "unknown", 0);
     * bounded before the conversion: an out-of-range double is undefined (fuzz_apistatus) */
    if (cJSON_IsNumber(code) && code->valuedouble >= KUBE_STATUS_CODE_MIN &&
        code->valuedouble <= KUBE_STATUS_CODE_MAX &&
        code->valuedouble == (double)(long)code->valuedouble)
        ret->code = (long)code->valuedouble;
    ret->status = str_of(obj, "status");
    ret->reason = str_of(obj, "reason");
    ret->message = str_of(obj, "message");
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(obj, "details");
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(details, "retryAfterSeconds");
    if (cJSON_IsNumber(ra) && ra->valuedouble > 0)
        ret->retry_after_seconds = ra->valuedouble < 86400 ? (long)ra->valuedouble : 86400;
    return true;
}

const char *kube_http_reason(long code)
{
    switch (code) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

/* The first line of a text body, trimmed, into buf. */
static void first_line(const char *body, size_t len, char *buf, size_t size)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    size_t j = 0;
    for (; i < len && body[i] != '\n' && body[i] != '\r' && j + 1 < size; i++)
        buf[j++] = body[i] >= 0x20 || body[i] < 0 ? body[i] : ' ';
    while (j > 0 && buf[j - 1] == ' ')
        j--;
    buf[j] = '\0';
}

char *kube_error_message(const char *method, const char *path, long code, const char *body,
                         size_t body_len)
{
    char msg[MSG_MAX] = "";
    if (body && body_len > 0) {
        cJSON *obj = cJSON_ParseWithLength(body, body_len);
        struct kube_status st;
        if (obj && kube_status_parse(obj, &st) && st.message && *st.message)
            snprintf(msg, sizeof msg, "%s", st.message);
        else if (!cJSON_IsObject(obj)) /* text/plain: "404 page not found" */
            first_line(body, body_len, msg, sizeof msg);
        cJSON_Delete(obj);
    }
    size_t plen = strcspn(path, "?");
    const char *reason = kube_http_reason(code);
    char *s = NULL;
    if (asprintf(&s, "%s %.*s: %ld%s%s%s%s", method, (int)plen, path, code, *reason ? " " : "",
                 reason, *msg ? ": " : "", msg) < 0)
        return NULL;
    return s;
}

int kube_http_error(long code, const char *reason)
{
    switch (code) {
    case 400:
    case 422:
        return SH_EINVAL;
    case 401:
        return SH_EREFUSED;
    case 403:
        return SH_EFORBIDDEN;
    case 404:
        return SH_ENOTFOUND;
    case 409:
        return reason && strcmp(reason, "AlreadyExists") == 0 ? SH_EEXISTS : SH_ECONFLICT;
    case 410:
        return SH_EPROTO;
    case 429:
        return SH_EUNAVAIL;
    default:
        return code >= 500 ? SH_EUNAVAIL : SH_EIO;
    }
}
