/* probe_xfer.c — the easy handle of one probe and the verdict on it. */
#include "service/probe_xfer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/errors.h"

/* Counts and discards the body; beyond the cap, stops the transfer (curl
 * then reports CURLE_WRITE_ERROR, which the outcome reads as "cut short"). */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    (void)data;
    struct probe_xfer *x = userdata;
    size_t n = size * nmemb;
    x->body_bytes += n;
    if (x->body_bytes > x->body_cap) {
        x->body_capped = true;
        return 0;
    }
    return n;
}

#define SETOPT_(h, opt, val)                                                                  \
    do {                                                                                      \
        if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK)                                  \
            return SH_EIO;                                                                    \
    } while (0)

int probe_xfer_prepare(struct probe_xfer *x, const char *url, long timeout_ms, size_t body_cap,
                       const struct http_credentials *cred)
{
    if (x->easy) {
        curl_easy_reset(x->easy);
    } else {
        x->easy = curl_easy_init();
        if (!x->easy)
            return SH_ENOMEM;
    }
    x->timeout_ms = timeout_ms;
    x->body_bytes = 0;
    x->body_cap = body_cap;
    x->body_capped = false;
    x->errbuf[0] = '\0';
    CURL *h = x->easy;
    if (curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OUT_OF_MEMORY)
        return SH_ENOMEM;
    SETOPT_(h, CURLOPT_PRIVATE, (void *)x);
    SETOPT_(h, CURLOPT_HTTPGET, 1L);
    SETOPT_(h, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT_(h, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT_(h, CURLOPT_PROXY, "");
    SETOPT_(h, CURLOPT_NOSIGNAL, 1L);
    SETOPT_(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    SETOPT_(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    SETOPT_(h, CURLOPT_USERAGENT, "selfheal-probe/1");
    SETOPT_(h, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT_(h, CURLOPT_WRITEDATA, (void *)x);
    SETOPT_(h, CURLOPT_ERRORBUFFER, x->errbuf);
    SETOPT_(h, CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT_(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (http_credentials_apply(cred, h) != 0)
        return SH_EIO;
    if (urlguard_apply(urlguard_process(), &x->guard, h, url) != 0)
        return SH_EIO;
    return 0;
}

static bool is_tls_error(CURLcode code)
{
    switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return true;
    default:
        return false;
    }
}

/* curl's detail when it has one, else its generic phrase for the code. */
static const char *detail(CURLcode code, const char *errbuf)
{
    return errbuf && errbuf[0] ? errbuf : curl_easy_strerror(code);
}

void probe_failure_message(CURLcode code, long http_status, long os_errno, const char *errbuf,
                           const char *display_url, const char *host, long timeout_ms, char *buf,
                           size_t size)
{
    char reason[PROBE_ERROR_MAX];
    char sysbuf[128];
    if (code == CURLE_OK && http_status >= 300 && http_status <= 399) {
        snprintf(reason, sizeof reason, "HTTP %ld (redirects are not followed)", http_status);
    } else if (code == CURLE_OK) {
        snprintf(reason, sizeof reason, "HTTP %ld", http_status);
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
        snprintf(reason, sizeof reason, "timed out after %ld ms", timeout_ms);
    } else if (code == CURLE_COULDNT_RESOLVE_HOST) {
        snprintf(reason, sizeof reason, "could not resolve host \"%s\"", host ? host : "");
    } else if (code == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED) {
        snprintf(reason, sizeof reason, "connection refused");
    } else if (code == CURLE_COULDNT_CONNECT && os_errno != 0) {
        snprintf(reason, sizeof reason, "could not connect: %s",
                 strerror_r((int)os_errno, sysbuf, sizeof sysbuf));
    } else if ((code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR) && os_errno == ECONNRESET) {
        snprintf(reason, sizeof reason, "connection reset by peer");
    } else if (code == CURLE_GOT_NOTHING) {
        snprintf(reason, sizeof reason, "connection closed without a response");
    } else if (code == CURLE_PARTIAL_FILE) {
        snprintf(reason, sizeof reason, "response cut short (HTTP %ld)", http_status);
    } else if (is_tls_error(code)) {
        snprintf(reason, sizeof reason, "TLS error: %s", detail(code, errbuf));
    } else {
        snprintf(reason, sizeof reason, "%s", detail(code, errbuf));
    }
    snprintf(buf, size, "GET %s: %s", display_url, reason);
}

void probe_xfer_outcome(struct probe_xfer *x, CURLcode code, const char *display_url,
                        const char *host, struct probe_outcome *ret)
{
    long status = 0, os_errno = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &os_errno);
    if (code == CURLE_WRITE_ERROR && x->body_capped)
        code = CURLE_OK; /* enough body seen: judged on the status line */
    ret->http_status = status;
    ret->ok = code == CURLE_OK && status >= 200 && status <= 299;
    ret->message[0] = '\0';
    if (!ret->ok && code == CURLE_COULDNT_CONNECT && x->guard.refused[0])
        snprintf(ret->message, sizeof ret->message, "GET %s: %s", display_url, x->guard.refused);
    else if (!ret->ok)
        probe_failure_message(code, status, os_errno, x->errbuf, display_url, host, x->timeout_ms,
                              ret->message, sizeof ret->message);
}

void probe_xfer_cleanup(struct probe_xfer *x)
{
    if (x->easy)
        curl_easy_cleanup(x->easy);
    x->easy = NULL;
    x->owner = NULL;
}
