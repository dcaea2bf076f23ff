/* probe_url.c — URL checks for the prober (libcurl's URL API). */
#include "service/probe_url.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/errors.h"
#include "base/redact.h"
#include "service/probe.h"

static bool has_part(CURLU *u, CURLUPart part)
{
    char *v = NULL;
    CURLUcode rc = curl_url_get(u, part, &v, 0);
    bool present = rc == CURLUE_OK && v && v[0];
    curl_free(v);
    return present;
}

/* The URL without user and password, owned (malloc), or NULL. */
static char *without_credentials(CURLU *u)
{
    char *rebuilt = NULL;
    if (curl_url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &rebuilt, 0) != CURLUE_OK)
        return NULL;
    char *copy = strdup(rebuilt);
    curl_free(rebuilt);
    return copy;
}

int probe_url_check(const char *url, char **ret_display, char **ret_host)
{
    if (!url || !url[0] || strlen(url) >= PROBE_URL_MAX)
        return SH_EINVAL;
    CURLU *u = curl_url();
    if (!u)
        return SH_ENOMEM;
    int err = SH_EINVAL;
    char *scheme = NULL, *host = NULL, *display = NULL, *host_copy = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
        goto out;
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0])
        goto out;
    err = SH_ENOMEM;
    host_copy = strdup(host);
    if (has_part(u, CURLUPART_USER) || has_part(u, CURLUPART_PASSWORD))
        display = without_credentials(u);
    else
        display = strdup(url);
    if (!host_copy || !display)
        goto out;
    redact_inplace(display); /* secret query parameters too */
    *ret_display = display;
    *ret_host = host_copy;
    display = host_copy = NULL;
    err = 0;
out:
    free(display);
    free(host_copy);
    curl_free(host);
    curl_free(scheme);
    curl_url_cleanup(u);
    return err;
}
