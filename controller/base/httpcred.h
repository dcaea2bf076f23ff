/*
 * httpcred.h — the credentials and TLS settings of one outbound HTTP
 * request (a metric source, a health check, a webhook), already resolved to
 * their values, and how they are handed to libcurl.
 *
 * The values are secrets: they go to libcurl as options (CURLOPT_XOAUTH2_BEARER,
 * CURLOPT_USERNAME/PASSWORD, CURLOPT_CAINFO_BLOB), never into a header list
 * that could be logged, never into a message. Redirects are never followed
 * by our requests, so they cannot reach another host either.
 *
 * Where the values come from (an environment variable, a file, a Secret) is
 * runtime/credentials.h's business; this module knows nothing of pipelines.
 * A struct http_credentials owns its strings; any thread may use one it
 * owns.
 */
#ifndef SH_HTTPCRED_H
#define SH_HTTPCRED_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

/* The longest secret value accepted (a token, a password, a CA bundle). */
#define HTTPCRED_VALUE_MAX (256u * 1024u)

struct http_credentials {
    char *bearer;   /* "Authorization: Bearer <bearer>" when set */
    char *username; /* basic auth when set (password may be "") */
    char *password;
    char *ca_file;  /* verify the server against this PEM file, or */
    char *ca_pem;   /* against this PEM bundle (ca_pem_len bytes) */
    size_t ca_pem_len;
    bool insecure;  /* do not verify the server's certificate (warned about) */
};

/* True when c sets nothing (NULL included): a plain request. */
bool http_credentials_empty(const struct http_credentials *c);

/* True when a and b set the same values (NULL equals an empty set). */
bool http_credentials_equal(const struct http_credentials *a, const struct http_credentials *b);

/* Deep copy into *ret (cleared first; src NULL gives an empty set). Returns 0
 * or SH_ENOMEM (*ret then empty). */
int http_credentials_copy(const struct http_credentials *src, struct http_credentials *ret);

/*
 * Sets c's options on the easy handle (curl copies every string, so c may be
 * freed after the call). NULL or empty c sets nothing. Returns 0, or SH_EIO
 * when libcurl refused an option.
 */
int http_credentials_apply(const struct http_credentials *c, CURL *easy);

/*
 * Checks a secret value as read from its source and trims the trailing
 * whitespace a file or a Secret usually carries ("token\n"), in place.
 * Returns 0, or SH_EINVAL when the value is empty or holds a control
 * character (it would split an HTTP header). Never quotes the value.
 */
int http_credentials_clean(char *value);

/* Frees what c owns and clears it. NULL is a no-op. */
void http_credentials_free(struct http_credentials *c);

#endif
