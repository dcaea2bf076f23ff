/*
 * credentials.h — resolves a spec's `auth` and `tls` (struct spec_http_auth)
 * to the values a request sends (struct http_credentials, base/httpcred.h).
 *
 *   {env: NAME}                  the controller's environment variable
 *   {file: PATH}                 the file (at most HTTPCRED_VALUE_MAX bytes)
 *   {secretKeyRef: {name, key}}  a Secret in the pipeline's namespace, read
 *                                through a struct secret_reader (on a
 *                                cluster: kube/secrets.h, cached briefly);
 *                                without one (locally) it is an error
 *
 * A trailing newline is trimmed; an empty value or one with a control
 * character is an error. Error messages name the reference ("spec.…
 * bearerToken: environment variable PROM_TOKEN is not set", "Secret
 * prom/token has no key \"tok\"") and never the value.
 *
 * Any thread; the reader must be thread-safe.
 */
#ifndef SH_CREDENTIALS_H
#define SH_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/httpcred.h"
#include "runtime/spec.h"

/* Reads Secrets for secretKeyRef. `read` returns 0 and an owned value
 * (NUL-terminated, *ret_len bytes without the NUL), or an SH_E* code with a
 * message in err (never the value): SH_ENOTFOUND for a missing Secret or
 * key. Must be safe to call from several threads at once. */
struct secret_reader {
    int (*read)(void *ctx, const char *ns, const char *name, const char *key, char **ret,
                size_t *ret_len, char *err, size_t errsize);
    void *ctx;
    /* On a cluster: env and file references are refused, so that whoever
     * may create a pipeline cannot send the controller's environment or
     * files (its service account token) to a URL of their choice. */
    bool secrets_only;
};

/*
 * Resolves a into *ret for a pipeline in namespace ns (NULL: "default").
 * `field` is the spec path of a for messages ("spec.service.healthCheck").
 * sr may be NULL (no Secrets: a secretKeyRef is then an error). Returns 0,
 * or an SH_E* code with the reason in err and *ret empty. *ret must be
 * http_credentials_free()d in every case.
 */
int credentials_resolve(const struct spec_http_auth *a, const char *ns,
                        const struct secret_reader *sr, const char *field,
                        struct http_credentials *ret, char *err, size_t errsize);

/*
 * Logs a warning that `field`.tls.insecureSkipVerify is true for pipeline
 * `key`, once per key, field and generation (a bounded table of what was
 * said: the one piece of process state here). No-op when a does not skip
 * verification. Any thread.
 */
void credentials_warn_insecure(const struct spec_http_auth *a, const char *key,
                               const char *field, int64_t generation);

/* True when a names any credential or TLS setting. */
bool credentials_configured(const struct spec_http_auth *a);

#endif
