/*
 * probe_xfer.h — one probe transfer: the libcurl easy handle with the
 * prober's options (timeouts, no redirects, no proxy, bounded body, the
 * --allow-url guard on every connection), and
 * the verdict on a finished transfer with its failure message.
 *
 * A struct probe_xfer is a slot of the prober: its easy handle is created
 * once and reset between transfers. Only the prober thread touches a slot.
 * probe_failure_message() is pure and thread-safe.
 */
#ifndef SH_PROBE_XFER_H
#define SH_PROBE_XFER_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/httpcred.h"
#include "base/urlguard.h"
#include "service/probe.h"

struct probe_xfer {
    CURL *easy;             /* owned; NULL until the first start */
    void *owner;            /* the prober's target, NULL when the slot is free */
    long timeout_ms;
    size_t body_bytes;
    size_t body_cap;
    bool body_capped;       /* more than body_cap arrived: cut short on purpose */
    int64_t queued_mono_ms; /* when the prober took the due probe */
    int64_t started_mono_ms; /* when the transfer started */
    char errbuf[CURL_ERROR_SIZE];
    struct urlguard_conn guard; /* the process's --allow-url, per connection */
};

struct probe_outcome {
    bool ok;
    long http_status;       /* 0 when no response arrived */
    char message[PROBE_ERROR_MAX]; /* "" when ok */
};

/*
 * Prepares the slot's easy handle for a GET of `url` (copied by curl) that
 * must finish within timeout_ms and reads at most body_cap body bytes. The
 * handle's CURLOPT_PRIVATE is the slot. cred (NULL: none) sets the
 * credentials and TLS settings (copied by curl). Returns 0, SH_ENOMEM or SH_EIO (an
 * option libcurl refused); the slot stays usable either way.
 */
int probe_xfer_prepare(struct probe_xfer *x, const char *url, long timeout_ms, size_t body_cap,
                       const struct http_credentials *cred);

/* Judges a finished transfer (`code` from curl_multi_info_read). */
void probe_xfer_outcome(struct probe_xfer *x, CURLcode code, const char *display_url,
                        const char *host, struct probe_outcome *ret);

/* Frees the slot's easy handle (the caller removed it from the multi). */
void probe_xfer_cleanup(struct probe_xfer *x);

/*
 * Formats "GET <display_url>: <reason>" into buf for a failed transfer:
 * `code` is curl's result (CURLE_OK with a non-2xx http_status means the
 * status was wrong), os_errno is CURLINFO_OS_ERRNO, errbuf curl's detail
 * (may be empty), host the URL's host, timeout_ms the limit that applied.
 */
void probe_failure_message(CURLcode code, long http_status, long os_errno, const char *errbuf,
                           const char *display_url, const char *host, long timeout_ms, char *buf,
                           size_t size);

#endif
