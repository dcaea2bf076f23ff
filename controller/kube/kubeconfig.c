/*
 * kubeconfig.c — kubeconfig files and the in-cluster config (kubeconfig.h).
 *
 * The file is parsed into cJSON by yamljson.h; the context, cluster and user
 * entries are looked up by name; every piece is checked and turned into
 * bytes in memory so that the client never touches the file again (except a
 * tokenFile, which rotates). A config that turns TLS verification off
 * (insecure-skip-tls-verify) is loaded, with a warning logged.
 */
#include "kube/kubeconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/fsutil.h"
#include "kube/base64.h"
#include "base/log.h"
#include "base/yamljson.h"

#define KUBECONFIG_MAX (4u << 20)
#define PEM_MAX (1u << 20)
#define TOKEN_MAX (64u << 10)

void kube_config_free(struct kube_config *c)
{
    if (!c)
        return;
    free(c->server);
    free(c->ca);
    free(c->token);
    free(c->token_file);
    free(c->client_cert);
    free(c->client_key);
    free(c->namespace_);
    free(c->context);
    free(c->origin);
    free(c);
}

/* "kubeconfig ~/.kube/config": the path with $HOME shortened, for messages. */
static char *origin_for(const char *path)
{
    const char *home = getenv("HOME");
    size_t hl = home ? strlen(home) : 0;
    char *s = NULL;
    int r;
    if (hl > 1 && strncmp(path, home, hl) == 0 && path[hl] == '/')
        r = asprintf(&s, "kubeconfig ~%s", path + hl);
    else
        r = asprintf(&s, "kubeconfig %s", path);
    return r < 0 ? NULL : s;
}

static const char *str_field(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* The entry of list `section` (clusters, users, contexts) named `name`; its
 * inner object (`field`) in *ret_inner. */
static const cJSON *find_named(const cJSON *doc, const char *section, const char *field,
                               const char *name, const cJSON **ret_inner)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, section))
    {
        const char *n = str_field(e, "name");
        if (n && strcmp(n, name) == 0) {
            *ret_inner = cJSON_GetObjectItemCaseSensitive(e, field);
            return e;
        }
    }
    return NULL;
}

/* A path from the kubeconfig, made absolute against its folder. */
static char *resolve_path(const char *dir, const char *p)
{
    char *s = NULL;
    if (p[0] == '/' || !dir)
        return strdup(p);
    if (asprintf(&s, "%s/%s", dir, p) < 0)
        return NULL;
    return s;
}

static bool looks_pem(const char *data, size_t len)
{
    return len > 11 && memmem(data, len, "-----BEGIN ", 11) != NULL;
}

/*
 * Reads PEM bytes from `<name>-data` (base64) or `<name>` (a file). Returns
 * 0 with *ret and *ret_len (NULL when neither is set), or an error with a
 * message prefixed by `what` ("kubeconfig X: cluster \"c\"").
 */
static int pem_field(const cJSON *obj, const char *name, const char *dir, const char *what,
                     char **ret, size_t *ret_len, char **ret_err)
{
    char dname[64];
    snprintf(dname, sizeof dname, "%s-data", name);
    const char *data = str_field(obj, dname);
    const char *file = str_field(obj, name);
    char *buf = NULL;
    size_t len = 0;
    if (data) {
        int r = kube_base64_decode(data, &buf, &len);
        if (r == SH_ENOMEM)
            return r;
        if (r != 0)
            return sh_errf(ret_err, SH_EPARSE, "%s: %s: invalid base64", what, dname);
        if (!looks_pem(buf, len)) {
            free(buf);
            return sh_errf(ret_err, SH_EPARSE, "%s: %s: not PEM data (no -----BEGIN line)", what,
                        dname);
        }
    } else if (file) {
        char *path = resolve_path(dir, file);
        if (!path)
            return SH_ENOMEM;
        int r = fs_read_file(path, PEM_MAX, &buf, &len);
        if (r != 0) {
            r = sh_errf(ret_err, r == SH_ENOMEM ? r : SH_EIO, "%s: %s %s: %s", what, name, path,
                     r == SH_ETOOBIG ? "too large" : strerror(errno));
            free(path);
            return r;
        }
        if (!looks_pem(buf, len)) {
            free(buf);
            r = sh_errf(ret_err, SH_EPARSE, "%s: %s %s: not PEM data (no -----BEGIN line)", what,
                     name, path);
            free(path);
            return r;
        }
        free(path);
    }
    *ret = buf;
    *ret_len = len;
    return 0;
}

/* Reads a token file, trimming trailing whitespace; SH_EIO when empty. */
static int read_token(const char *path, char **ret)
{
    char *buf = NULL;
    size_t len = 0;
    int r = fs_read_file(path, TOKEN_MAX, &buf, &len);
    if (r != 0)
        return r;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t'))
        buf[--len] = '\0';
    if (len == 0) {
        free(buf);
        errno = ENODATA;
        return SH_EIO;
    }
    *ret = buf;
    return 0;
}

static int load_cluster(struct kube_config *c, const cJSON *doc, const char *cluster,
                        const char *dir, char **ret_err)
{
    const cJSON *cl = NULL;
    if (!find_named(doc, "clusters", "cluster", cluster, &cl))
        return sh_errf(ret_err, SH_ENOTFOUND, "%s: cluster \"%s\" not found", c->origin, cluster);
    char what[512];
    snprintf(what, sizeof what, "%s: cluster \"%s\"", c->origin, cluster);
    const char *server = str_field(cl, "server");
    if (!server)
        return sh_errf(ret_err, SH_EINVAL, "%s has no server", what);
    if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
        return sh_errf(ret_err, SH_EINVAL, "%s: server \"%s\" is not an http(s) URL", what, server);
    size_t sl = strlen(server);
    while (sl > 0 && server[sl - 1] == '/')
        sl--;
    if (!(c->server = strndup(server, sl)))
        return SH_ENOMEM;
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(cl, "insecure-skip-tls-verify");
    c->insecure = cJSON_IsTrue(ins);
    return pem_field(cl, "certificate-authority", dir, what, &c->ca, &c->ca_len, ret_err);
}

static int load_user(struct kube_config *c, const cJSON *doc, const char *user, const char *dir,
                     char **ret_err)
{
    const cJSON *u = NULL;
    if (!find_named(doc, "users", "user", user, &u))
        return sh_errf(ret_err, SH_ENOTFOUND, "%s: user \"%s\" not found", c->origin, user);
    char what[512];
    snprintf(what, sizeof what, "%s: user \"%s\"", c->origin, user);
    if (cJSON_GetObjectItemCaseSensitive(u, "exec"))
        return sh_errf(ret_err, SH_EINVAL,
                    "%s uses an exec credential plugin, which selfheal does not support; use a "
                    "token or a client certificate",
                    what);
    if (cJSON_GetObjectItemCaseSensitive(u, "auth-provider"))
        return sh_errf(ret_err, SH_EINVAL,
                    "%s uses an auth-provider, which selfheal does not support; use a token or "
                    "a client certificate",
                    what);
    const char *token = str_field(u, "token");
    const char *token_file = str_field(u, "tokenFile");
    if (token) {
        if (!(c->token = strdup(token)))
            return SH_ENOMEM;
    } else if (token_file) {
        if (!(c->token_file = resolve_path(dir, token_file)))
            return SH_ENOMEM;
        char *t = NULL;
        int r = read_token(c->token_file, &t);
        if (r != 0)
            return r == SH_ENOMEM ? r
                                  : sh_errf(ret_err, SH_EIO, "%s: tokenFile %s: %s", what,
                                         c->token_file, strerror(errno));
        free(t);
    }
    int r = pem_field(u, "client-certificate", dir, what, &c->client_cert, &c->client_cert_len,
                      ret_err);
    if (r == 0)
        r = pem_field(u, "client-key", dir, what, &c->client_key, &c->client_key_len, ret_err);
    if (r != 0)
        return r;
    if (!!c->client_cert != !!c->client_key)
        return sh_errf(ret_err, SH_EINVAL, "%s has a client %s but no client %s", what,
                    c->client_cert ? "certificate" : "key",
                    c->client_cert ? "key (client-key or client-key-data)"
                                   : "certificate (client-certificate or client-certificate-data)");
    if (!c->token && !c->token_file && !c->client_cert) {
        if (str_field(u, "username") || str_field(u, "password"))
            return sh_errf(ret_err, SH_EINVAL,
                        "%s uses basic auth (username/password), which selfheal does not "
                        "support; use a token or a client certificate",
                        what);
        return sh_errf(ret_err, SH_EINVAL,
                    "%s has no credentials (token, tokenFile, or client-certificate and "
                    "client-key)",
                    what);
    }
    return 0;
}

static int load_doc(struct kube_config *c, const cJSON *doc, const char *context, const char *dir,
                    char **ret_err)
{
    if (!cJSON_IsObject(doc))
        return sh_errf(ret_err, SH_EPARSE, "%s: not a kubeconfig (expected a mapping)", c->origin);
    const char *ctx_name = context && *context ? context : str_field(doc, "current-context");
    if (!ctx_name)
        return sh_errf(ret_err, SH_EINVAL, "%s: no current-context is set and no --context given",
                    c->origin);
    const cJSON *ctx = NULL;
    if (!find_named(doc, "contexts", "context", ctx_name, &ctx))
        return sh_errf(ret_err, SH_ENOTFOUND, "%s: context \"%s\" not found", c->origin, ctx_name);
    if (!(c->context = strdup(ctx_name)))
        return SH_ENOMEM;
    const char *cluster = str_field(ctx, "cluster");
    const char *user = str_field(ctx, "user");
    if (!cluster)
        return sh_errf(ret_err, SH_EINVAL, "%s: context \"%s\" names no cluster", c->origin,
                    ctx_name);
    if (!user)
        return sh_errf(ret_err, SH_EINVAL, "%s: context \"%s\" names no user", c->origin, ctx_name);
    const char *ns = str_field(ctx, "namespace");
    if (!(c->namespace_ = strdup(ns ? ns : "default")))
        return SH_ENOMEM;
    int r = load_cluster(c, doc, cluster, dir, ret_err);
    if (r == 0)
        r = load_user(c, doc, user, dir, ret_err);
    return r;
}

int kube_config_load_file(const char *path, const char *context, struct kube_config **ret,
                          char **ret_err)
{
    struct kube_config *c = calloc(1, sizeof *c);
    if (!c || !(c->origin = origin_for(path))) {
        free(c);
        return SH_ENOMEM;
    }
    char *buf = NULL, *dir = NULL, *perr = NULL;
    size_t len = 0;
    cJSON *docs = NULL;
    int r = fs_read_file(path, KUBECONFIG_MAX, &buf, &len);
    if (r != 0) {
        r = r == SH_ENOMEM ? r
                           : sh_errf(ret_err, r == SH_ETOOBIG ? r : (errno == ENOENT ? SH_ENOTFOUND : SH_EIO),
                                  "%s: %s", c->origin,
                                  r == SH_ETOOBIG ? "too large" : strerror(errno));
        goto out;
    }
    r = yaml_parse_documents(buf, len, path, &docs, &perr);
    if (r != 0) {
        r = sh_errf(ret_err, r, "%s: %s", c->origin, perr ? perr : sh_strerror(r));
        goto out;
    }
    if (cJSON_GetArraySize(docs) != 1) {
        r = sh_errf(ret_err, SH_EPARSE, "%s: expected one YAML document, found %d", c->origin,
                 cJSON_GetArraySize(docs));
        goto out;
    }
    if (!(dir = fs_dirname(path))) {
        r = SH_ENOMEM;
        goto out;
    }
    r = load_doc(c, cJSON_GetArrayItem(docs, 0), context, dir, ret_err);
    if (r == 0 && c->insecure)
        log_warn(NULL,
                 "%s: context \"%s\": insecure-skip-tls-verify is true: the API server's "
                 "certificate is NOT verified, so anyone on the network path can impersonate it "
                 "and receive the credentials; remove it and set certificate-authority-data",
                 c->origin, c->context);
out:
    free(buf);
    free(dir);
    free(perr);
    cJSON_Delete(docs);
    if (r != 0) {
        kube_config_free(c);
        return r;
    }
    *ret = c;
    return 0;
}

int kube_config_in_cluster(const char *sa_root, struct kube_config **ret, char **ret_err)
{
    const char *root = sa_root ? sa_root : KUBE_SA_ROOT;
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return sh_errf(ret_err, SH_ENOTFOUND,
                    "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                    "must be set (not running in a pod?)");
    struct kube_config *c = calloc(1, sizeof *c);
    if (!c)
        return SH_ENOMEM;
    int r = SH_ENOMEM;
    char path[4096];
    bool v6 = strchr(host, ':') != NULL;
    if (asprintf(&c->server, v6 ? "https://[%s]:%s" : "https://%s:%s", host, port) < 0) {
        c->server = NULL;
        goto fail;
    }
    if (!(c->origin = strdup("in-cluster config")) || !(c->context = strdup("in-cluster")))
        goto fail;
    snprintf(path, sizeof path, "%s/token", root);
    if (!(c->token_file = strdup(path)))
        goto fail;
    char *t = NULL;
    if ((r = read_token(path, &t)) != 0) {
        if (r != SH_ENOMEM)
            r = sh_errf(ret_err, SH_EIO, "in-cluster config: token %s: %s", path, strerror(errno));
        goto fail;
    }
    free(t);
    snprintf(path, sizeof path, "%s/ca.crt", root);
    if ((r = fs_read_file(path, PEM_MAX, &c->ca, &c->ca_len)) != 0) {
        if (r != SH_ENOMEM)
            r = sh_errf(ret_err, SH_EIO, "in-cluster config: CA %s: %s", path,
                     r == SH_ETOOBIG ? "too large" : strerror(errno));
        goto fail;
    }
    snprintf(path, sizeof path, "%s/namespace", root);
    char *ns = NULL;
    if (read_token(path, &ns) != 0)
        ns = strdup("default");
    if (!(c->namespace_ = ns)) {
        r = SH_ENOMEM;
        goto fail;
    }
    *ret = c;
    return 0;
fail:
    kube_config_free(c);
    return r;
}

int kube_config_load(const struct kube_config_options *o, struct kube_config **ret,
                     char **ret_err)
{
    if (o->in_cluster)
        return kube_config_in_cluster(o->sa_root, ret, ret_err);
    if (o->kubeconfig && *o->kubeconfig)
        return kube_config_load_file(o->kubeconfig, o->context, ret, ret_err);
    const char *env = getenv("KUBECONFIG");
    if (env && *env) {
        /* a colon-separated list: the first non-empty entry is read */
        const char *colon = strchr(env, ':');
        while (colon == env) {
            env++;
            colon = strchr(env, ':');
        }
        if (*env) {
            char *first = colon ? strndup(env, (size_t)(colon - env)) : strdup(env);
            if (!first)
                return SH_ENOMEM;
            int r = kube_config_load_file(first, o->context, ret, ret_err);
            free(first);
            return r;
        }
    }
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    if (host && *host)
        return kube_config_in_cluster(o->sa_root, ret, ret_err);
    const char *home = getenv("HOME");
    if (!home || !*home)
        return sh_errf(ret_err, SH_ENOTFOUND,
                    "no kubeconfig: give --kubeconfig, set KUBECONFIG or HOME, or run in a pod");
    char path[4096];
    snprintf(path, sizeof path, "%s/.kube/config", home);
    return kube_config_load_file(path, o->context, ret, ret_err);
}
