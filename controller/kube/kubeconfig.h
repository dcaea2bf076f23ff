/*
 * kubeconfig.h — where the API server is and how to authenticate to it:
 * a kubeconfig file (parsed with libyaml through yamljson.h) or the pod's
 * service account (in-cluster).
 *
 * Everything the client needs is resolved at load time into memory: the
 * server URL, the CA bundle and the client certificate/key as PEM bytes
 * (files are read, *-data fields base64-decoded), a static token or the
 * path of a token file (the client re-reads it when it changes, so rotated
 * service-account tokens are picked up). Relative paths in a kubeconfig are
 * relative to the kubeconfig's folder, as kubectl does.
 *
 * Not supported (a clear error says so): exec credential plugins,
 * auth-provider, basic auth; with several files in $KUBECONFIG only the first
 * is read (no merging).
 *
 * A loaded config is immutable; any thread may read it.
 */
#ifndef SH_KUBE_KUBECONFIG_H
#define SH_KUBE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define KUBE_SA_ROOT "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_config {
    char *server;             /* "https://host:port", no trailing slash */
    char *ca;                 /* PEM bundle to verify the server, or NULL: system store */
    size_t ca_len;
    bool insecure;            /* insecure-skip-tls-verify */
    char *token;              /* static bearer token, or NULL */
    char *token_file;         /* bearer token read from this file, or NULL */
    char *client_cert;        /* PEM, or NULL */
    size_t client_cert_len;
    char *client_key;         /* PEM, or NULL */
    size_t client_key_len;
    char *namespace_;         /* the context's namespace; "default" when none */
    char *context;            /* the context used, or "in-cluster" */
    char *origin;             /* for messages: "kubeconfig ~/.kube/config" or "in-cluster config" */
};

struct kube_config_options {
    const char *kubeconfig; /* --kubeconfig, or NULL */
    const char *context;    /* --context, or NULL: current-context */
    const char *sa_root;    /* service-account folder, NULL: KUBE_SA_ROOT (tests) */
    bool in_cluster;        /* force the in-cluster config */
};

/*
 * Loads the config the way controller-runtime does: --kubeconfig, then the
 * first file of $KUBECONFIG, then in-cluster when KUBERNETES_SERVICE_HOST is
 * set, then ~/.kube/config. Returns 0 and *ret (owned, kube_config_free), or
 * SH_ENOTFOUND / SH_EIO / SH_EPARSE / SH_EINVAL with *ret_err (owned), e.g.
 * `kubeconfig ~/.kube/config: context "x" not found`.
 */
int kube_config_load(const struct kube_config_options *o, struct kube_config **ret,
                     char **ret_err);

/* Loads one kubeconfig file with the given context (NULL: current-context). */
int kube_config_load_file(const char *path, const char *context, struct kube_config **ret,
                          char **ret_err);

/* Loads the in-cluster config: KUBERNETES_SERVICE_HOST/PORT and the files
 * token, ca.crt, namespace under sa_root (NULL: KUBE_SA_ROOT). */
int kube_config_in_cluster(const char *sa_root, struct kube_config **ret, char **ret_err);

/* NULL is a no-op. */
void kube_config_free(struct kube_config *c);

#endif
