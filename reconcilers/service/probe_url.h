/*
 * probe_url.h — checks a health-check URL before the prober accepts it, and
 * derives what failure messages show: the URL without credentials and the
 * host name (for "could not resolve host"). Pure, thread-safe.
 */
#ifndef SH_PROBE_URL_H
#define SH_PROBE_URL_H

/*
 * Accepts absolute http:// and https:// URLs with a host, shorter than
 * PROBE_URL_MAX. On success returns 0 with owned strings in *ret_display
 * (the URL as given, or rebuilt without user and password when it had
 * them) and *ret_host ("127.0.0.1", "[::1]", "nohost.invalid"). Returns
 * SH_EINVAL for anything else, SH_ENOMEM; the outputs are untouched then.
 */
int probe_url_check(const char *url, char **ret_display, char **ret_host);

#endif
