/* credentials.c — spec `auth`/`tls` references resolved to values (credentials.h). */
#include "runtime/credentials.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strmap.h"

#define WARNED_MAX 4096

static pthread_mutex_t warned_lock = PTHREAD_MUTEX_INITIALIZER;
static struct strmap *warned; /* "key field" -> generation + 1 (as a pointer-sized integer) */

void credentials_warn_insecure(const struct spec_http_auth *a, const char *key,
                               const char *field, int64_t generation)
{
    if (!a || !a->insecure_skip_verify || !key || !field)
        return;
    char id[700];
    snprintf(id, sizeof id, "%s %s", key, field);
    void *mark = (void *)(intptr_t)(generation + 1);
    pthread_mutex_lock(&warned_lock);
    if (warned && strmap_count(warned) >= WARNED_MAX) {
        strmap_free(warned);
        warned = NULL;
    }
    if (!warned)
        warned = strmap_new();
    bool said = warned && strmap_get(warned, id) == mark;
    if (warned && !said)
        strmap_put(warned, id, mark, NULL);
    pthread_mutex_unlock(&warned_lock);
    if (!said)
        log_warn(key,
                 "%s.tls.insecureSkipVerify is true: the server's certificate is not verified "
                 "(anyone on the path can read the credentials and forge the answers)",
                 field);
}

bool credentials_configured(const struct spec_http_auth *a)
{
    return a && (a->bearer_token.kind != SECRET_REF_NONE || a->basic_username ||
                 a->ca_file || a->ca_secret.kind != SECRET_REF_NONE || a->insecure_skip_verify);
}

/* One reference's value: owned in *ret (*ret_len bytes). `what` names it. */
static int read_ref(const struct spec_secret_ref *r, const char *ns,
                    const struct secret_reader *sr, const char *what, bool clean, char **ret,
                    size_t *ret_len, char *err, size_t errsize)
{
    *ret = NULL;
    *ret_len = 0;
    char detail[256] = "";
    int rc = 0;
    if (sr && sr->secrets_only && (r->kind == SECRET_REF_ENV || r->kind == SECRET_REF_FILE)) {
        snprintf(err, errsize,
                 "%s: %s references are not read on a cluster (use secretKeyRef)", what,
                 r->kind == SECRET_REF_ENV ? "env" : "file");
        return SH_EFORBIDDEN;
    }
    switch (r->kind) {
    case SECRET_REF_ENV: {
        const char *v = getenv(r->name);
        if (!v) {
            snprintf(err, errsize, "%s: environment variable %s is not set", what, r->name);
            return SH_ENOTFOUND;
        }
        if (strlen(v) > HTTPCRED_VALUE_MAX) {
            snprintf(err, errsize, "%s: environment variable %s is longer than %u bytes", what,
                     r->name, HTTPCRED_VALUE_MAX);
            return SH_ETOOBIG;
        }
        if (!(*ret = strdup(v)))
            rc = SH_ENOMEM;
        else
            *ret_len = strlen(v);
        break;
    }
    case SECRET_REF_FILE:
        rc = fs_read_file(r->name, HTTPCRED_VALUE_MAX, ret, ret_len);
        if (rc == SH_ETOOBIG) {
            snprintf(err, errsize, "%s: %s is larger than %u bytes", what, r->name,
                     HTTPCRED_VALUE_MAX);
            return rc;
        }
        if (rc != 0) {
            snprintf(err, errsize, "%s: cannot read %s: %s", what, r->name,
                     rc == SH_EIO ? strerror(errno) : sh_strerror(rc));
            return rc;
        }
        break;
    case SECRET_REF_SECRET:
        if (!sr || !sr->read) {
            snprintf(err, errsize,
                     "%s: secretKeyRef %s/%s needs a cluster (use env or file locally)", what,
                     r->name, r->key);
            return SH_EINVAL;
        }
        rc = sr->read(sr->ctx, ns ? ns : "default", r->name, r->key, ret, ret_len, detail,
                      sizeof detail);
        if (rc != 0) {
            snprintf(err, errsize, "%s: %s", what, *detail ? detail : sh_strerror(rc));
            free(*ret);
            *ret = NULL;
            return rc;
        }
        break;
    case SECRET_REF_NONE:
    default:
        return 0;
    }
    if (rc == SH_ENOMEM) {
        snprintf(err, errsize, "out of memory");
        return rc;
    }
    if (clean && (strlen(*ret) != *ret_len || http_credentials_clean(*ret) != 0)) {
        snprintf(err, errsize, "%s: the value is empty or holds a control character", what);
        free(*ret);
        *ret = NULL;
        return SH_EINVAL;
    }
    if (clean)
        *ret_len = strlen(*ret);
    return 0;
}

int credentials_resolve(const struct spec_http_auth *a, const char *ns,
                        const struct secret_reader *sr, const char *field,
                        struct http_credentials *ret, char *err, size_t errsize)
{
    memset(ret, 0, sizeof *ret);
    char ignore[8];
    if (!err || !errsize) {
        err = ignore;
        errsize = sizeof ignore;
    }
    err[0] = '\0';
    if (!credentials_configured(a))
        return 0;
    if (!field)
        field = "spec";
    char what[300];
    size_t len = 0;
    int rc = 0;
    if (a->bearer_token.kind != SECRET_REF_NONE) {
        snprintf(what, sizeof what, "%s.auth.bearerToken", field);
        rc = read_ref(&a->bearer_token, ns, sr, what, true, &ret->bearer, &len, err, errsize);
    } else if (a->basic_username) {
        snprintf(what, sizeof what, "%s.auth.basic.password", field);
        if (!(ret->username = strdup(a->basic_username)))
            rc = SH_ENOMEM;
        else
            rc = read_ref(&a->basic_password, ns, sr, what, true, &ret->password, &len, err,
                          errsize);
    }
    if (rc == 0 && a->ca_file && !(ret->ca_file = strdup(a->ca_file)))
        rc = SH_ENOMEM;
    if (rc == 0 && a->ca_secret.kind != SECRET_REF_NONE) {
        snprintf(what, sizeof what, "%s.tls.caSecretKeyRef", field);
        rc = read_ref(&a->ca_secret, ns, sr, what, false, &ret->ca_pem, &ret->ca_pem_len, err,
                      errsize);
    }
    ret->insecure = a->insecure_skip_verify;
    if (rc == SH_ENOMEM && !err[0])
        snprintf(err, errsize, "out of memory");
    if (rc != 0)
        http_credentials_free(ret);
    return rc;
}
