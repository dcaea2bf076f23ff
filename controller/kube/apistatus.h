/*
 * apistatus.h — the API server's `Status` object (kind Status, apiVersion
 * v1): what a failed call (or a watch ERROR event) says, and the one-line
 * message selfheal shows for it:
 *
 *   PATCH /apis/selfheal.dev/v1alpha1/namespaces/ns/selfhealingpipelines/a/status:
 *     409 Conflict: Operation cannot be fulfilled on ...: the object has been modified; ...
 *
 * Stateless; any thread.
 */
#ifndef SH_KUBE_APISTATUS_H
#define SH_KUBE_APISTATUS_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* The `code` a Status may carry: a whole HTTP status from 200 to 599. */
#define KUBE_STATUS_CODE_MIN 200
#define KUBE_STATUS_CODE_MAX 599

struct kube_status {
    long code;                /* HTTP status 200..599; 0 when absent or anything else */
    const char *status;       /* "Failure" | "Success", or NULL */
    const char *reason;       /* "Conflict", "NotFound", "Expired", ..., or NULL */
    const char *message;      /* or NULL */
    long retry_after_seconds; /* details.retryAfterSeconds, 0 when absent */
};

/* Reads a Status object; the strings are borrowed from obj. Returns true
 * when obj is a Status (kind "Status"), false otherwise (*ret zeroed). */
bool kube_status_parse(const cJSON *obj, struct kube_status *ret);

/* The HTTP reason phrase for a status code ("Conflict"), "" when unknown. */
const char *kube_http_reason(long code);

/*
 * Builds "METHOD PATH: CODE Reason: message" (the query string is left out
 * of PATH). The message comes from the Status in `body` (bytes of the
 * response, may be NULL), else from the first line of a plain-text body,
 * else it is omitted. Returns an owned string or NULL (no memory).
 */
char *kube_error_message(const char *method, const char *path, long code, const char *body,
                         size_t body_len);

/* Maps an HTTP status (and the Status reason, may be NULL) to an SH_E* code:
 * 404 SH_ENOTFOUND, 409 Conflict SH_ECONFLICT, 409 AlreadyExists SH_EEXISTS,
 * 400/422 SH_EINVAL, 401 SH_EREFUSED, 403 SH_EFORBIDDEN, 410 SH_EPROTO,
 * 429/5xx SH_EUNAVAIL, anything else SH_EIO. */
int kube_http_error(long code, const char *reason);

#endif
