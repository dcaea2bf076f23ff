/* metric_fetch.c — a bounded HTTP GET on libcurl's easy interface (metric_fetch.h). */
#include "model/metric_fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/urlguard.h"

struct sink {
    char *data;
    size_t len, cap, max;
    bool too_big, nomem;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;
    if (n > s->max - s->len) {
        s->too_big = true;
        return 0; /* aborts the transfer */
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *d = realloc(s->data, cap);
        if (!d) {
            s->nomem = true;
            return 0;
        }
        s->data = d;
        s->cap = cap;
    }
    memcpy(s->data + s->len, ptr, n);
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}

/* A short phrase for a failed transfer. */
static int describe(CURL *c, CURLcode rc, const struct sink *s, const char *ebuf,
                    const struct urlguard_conn *guard, int64_t timeout_ms, char *err,
                    size_t errsize)
{
    long oserr = 0;
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        if (guard->refused[0]) { /* --allow-url refused the address(es) */
            snprintf(err, errsize, "%s", guard->refused);
            return SH_EFORBIDDEN;
        }
        curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
        if (oserr == ECONNREFUSED || oserr == 0)
            snprintf(err, errsize, "connection refused");
        else
            snprintf(err, errsize, "cannot connect: %s", strerror((int)oserr));
        return SH_EUNAVAIL;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(err, errsize, "no answer within %lld ms", (long long)timeout_ms);
        return SH_ETIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        snprintf(err, errsize, "cannot resolve host%s%s", *ebuf ? ": " : "", ebuf);
        return SH_EUNAVAIL;
    case CURLE_WRITE_ERROR:
        if (s->too_big) {
            snprintf(err, errsize, "response larger than %zu bytes", s->max);
            return SH_ETOOBIG;
        }
        if (s->nomem) {
            snprintf(err, errsize, "out of memory");
            return SH_ENOMEM;
        }
        break;
    case CURLE_FILESIZE_EXCEEDED:
        snprintf(err, errsize, "response larger than %zu bytes", s->max);
        return SH_ETOOBIG;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        snprintf(err, errsize, "bad URL (http or https only)%s%s", *ebuf ? ": " : "", ebuf);
        return SH_EINVAL;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        snprintf(err, errsize, "TLS: %s", *ebuf ? ebuf : curl_easy_strerror(rc));
        return SH_EPROTO;
    case CURLE_GOT_NOTHING:
        snprintf(err, errsize, "the server closed the connection without answering");
        return SH_EPROTO;
    default:
        break;
    }
    snprintf(err, errsize, "%s", *ebuf ? ebuf : curl_easy_strerror(rc));
    return SH_EPROTO;
}

int metric_fetch(const char *url, int64_t timeout_ms, size_t max_body, struct metric_response *ret,
                 char *err, size_t errsize)
{
    return metric_fetch_auth(url, NULL, timeout_ms, max_body, ret, err, errsize);
}

int metric_fetch_auth(const char *url, const struct http_credentials *cred, int64_t timeout_ms,
                      size_t max_body, struct metric_response *ret, char *err, size_t errsize)
{
    memset(ret, 0, sizeof *ret);
    if (err && errsize)
        err[0] = '\0';
    if (timeout_ms <= 0)
        timeout_ms = 5000;
    struct sink s = {.max = max_body ? max_body : METRIC_BODY_MAX};
    char ebuf[CURL_ERROR_SIZE] = "";
    char ignore[8];
    if (!err) {
        err = ignore;
        errsize = sizeof ignore;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errsize, "out of memory");
        return SH_ENOMEM;
    }
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "selfheal");
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s.max);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (hdrs)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    struct urlguard_conn guard = {0};
    CURLcode rc = http_credentials_apply(cred, c) == 0 &&
                          urlguard_apply(urlguard_process(), &guard, c, url) == 0
                      ? curl_easy_perform(c)
                      : CURLE_UNKNOWN_OPTION;
    int r = 0;
    if (rc != CURLE_OK) {
        r = describe(c, rc, &s, ebuf, &guard, timeout_ms, err, errsize);
        free(s.data);
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
        if (!s.data && !(s.data = calloc(1, 1))) {
            snprintf(err, errsize, "out of memory");
            r = SH_ENOMEM;
        } else {
            ret->body = s.data;
            ret->len = s.len;
        }
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return r;
}

void metric_response_free(struct metric_response *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->len = 0;
}
