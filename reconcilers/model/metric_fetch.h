/*
 * metric_fetch.h — one bounded HTTP GET with libcurl's easy interface, for
 * the model metric sources (a Prometheus query, a JSON document).
 *
 * The whole transfer (connect included) is bounded by a timeout, the body
 * by a size ceiling; only http and https are allowed, redirects are not
 * followed, TLS is verified, and every connection is held to the process's
 * --allow-url guard (base/urlguard.h: a refused address is SH_EFORBIDDEN
 * with the guard's reason). Failures come back as a short phrase for the
 * condition message ("connection refused", "no answer within 2000 ms",
 * "response larger than 1048576 bytes").
 *
 * Call curl_global_init() once before threads start (the model reconciler's
 * constructor does); then any thread.
 */
#ifndef SH_METRIC_FETCH_H
#define SH_METRIC_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "base/httpcred.h"

#define METRIC_BODY_MAX (1u << 20)

struct metric_response {
    long status;  /* HTTP status code */
    char *body;   /* owned, NUL-terminated */
    size_t len;
};

/*
 * GETs url. Returns 0 with *ret filled (any HTTP status: the caller judges
 * it), or an SH_E* code (SH_EUNAVAIL, SH_ETIMEOUT, SH_ETOOBIG, SH_EPROTO,
 * SH_EINVAL, SH_EFORBIDDEN, SH_ENOMEM) with the reason in err. `max_body` 0 means
 * METRIC_BODY_MAX.
 */
int metric_fetch(const char *url, int64_t timeout_ms, size_t max_body, struct metric_response *ret,
                 char *err, size_t errsize);

/* Like metric_fetch, sending cred's credentials and TLS settings (NULL:
 * none). A 401 or 403 is an answer like any other (the caller judges it). */
int metric_fetch_auth(const char *url, const struct http_credentials *cred, int64_t timeout_ms,
                      size_t max_body, struct metric_response *ret, char *err, size_t errsize);

void metric_response_free(struct metric_response *r);

#endif
