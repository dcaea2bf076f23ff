/* httpcred.c — resolved HTTP credentials handed to libcurl (httpcred.h). */
#include "base/httpcred.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool http_credentials_empty(const struct http_credentials *c)
{
    return !c || (!c->bearer && !c->username && !c->password && !c->ca_file && !c->ca_pem &&
                  !c->insecure);
}

bool http_credentials_equal(const struct http_credentials *a, const struct http_credentials *b)
{
    if (http_credentials_empty(a) || http_credentials_empty(b))
        return http_credentials_empty(a) && http_credentials_empty(b);
    return str_eq(a->bearer, b->bearer) && str_eq(a->username, b->username) &&
           str_eq(a->password, b->password) && str_eq(a->ca_file, b->ca_file) &&
           a->ca_pem_len == b->ca_pem_len &&
           (a->ca_pem_len == 0 || memcmp(a->ca_pem, b->ca_pem, a->ca_pem_len) == 0) &&
           a->insecure == b->insecure;
}

static int dup_into(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = strdup(s);
    return *out ? 0 : SH_ENOMEM;
}

int http_credentials_copy(const struct http_credentials *src, struct http_credentials *ret)
{
    memset(ret, 0, sizeof *ret);
    if (!src)
        return 0;
    int r = dup_into(src->bearer, &ret->bearer);
    if (!r)
        r = dup_into(src->username, &ret->username);
    if (!r)
        r = dup_into(src->password, &ret->password);
    if (!r)
        r = dup_into(src->ca_file, &ret->ca_file);
    if (!r && src->ca_pem) {
        ret->ca_pem = malloc(src->ca_pem_len + 1);
        if (!ret->ca_pem) {
            r = SH_ENOMEM;
        } else {
            memcpy(ret->ca_pem, src->ca_pem, src->ca_pem_len);
            ret->ca_pem[src->ca_pem_len] = '\0';
            ret->ca_pem_len = src->ca_pem_len;
        }
    }
    ret->insecure = src->insecure;
    if (r)
        http_credentials_free(ret);
    return r;
}

int http_credentials_apply(const struct http_credentials *c, CURL *easy)
{
    if (http_credentials_empty(c))
        return 0;
    CURLcode rc = CURLE_OK;
    if (c->bearer) {
        rc = curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(easy, CURLOPT_XOAUTH2_BEARER, c->bearer);
    } else if (c->username) {
        rc = curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(easy, CURLOPT_USERNAME, c->username);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(easy, CURLOPT_PASSWORD, c->password ? c->password : "");
    }
    if (rc == CURLE_OK && c->ca_file)
        rc = curl_easy_setopt(easy, CURLOPT_CAINFO, c->ca_file);
    if (rc == CURLE_OK && c->ca_pem) {
        struct curl_blob blob = {.data = c->ca_pem, .len = c->ca_pem_len,
                                 .flags = CURL_BLOB_COPY};
        rc = curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (rc == CURLE_OK && c->insecure) {
        rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return rc == CURLE_OK ? 0 : SH_EIO;
}

int http_credentials_clean(char *value)
{
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == '\n' || value[n - 1] == '\r' || value[n - 1] == ' ' ||
                     value[n - 1] == '\t'))
        value[--n] = '\0';
    if (n == 0)
        return SH_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
            return SH_EINVAL;
    return 0;
}

void http_credentials_free(struct http_credentials *c)
{
    if (!c)
        return;
    free(c->bearer);
    free(c->username);
    if (c->password)
        memset(c->password, 0, strlen(c->password));
    free(c->password);
    free(c->ca_file);
    free(c->ca_pem);
    memset(c, 0, sizeof *c);
}
