/*
 * urlguard.h — which hosts the URLs of specs may name (`--allow-url`), so
 * that whoever may create a pipeline cannot make the controller send
 * requests from its network position to anything it can reach (the cloud
 * metadata service, the API server, internal admin ports). Checked twice:
 * on the URL when a spec is validated (urlguard_check), and on every
 * address a request is about to connect to (urlguard_apply on the libcurl
 * handle, urlguard_check_address).
 *
 * Patterns, any number, a URL is allowed when its host matches one:
 *
 *   prometheus.monitoring.svc   a host name, exactly (case-insensitive)
 *   *.example.com               any name below example.com (not itself)
 *   10.0.0.0/8, fd00::/8        an IP address in the network
 *   192.0.2.7, ::1              one address
 *   any of those with :PORT     only that port (host:9090, 10.0.0.0/8:443,
 *                               [fd00::]/8:443)
 *
 * A name pattern allows the name whatever it resolves to, except to an
 * always-forbidden address (below). A network pattern allows the addresses
 * in it whatever the name: a URL naming a host no name pattern matches
 * passes validation when a network pattern takes its port, and is judged
 * when connecting, on the address the name resolved to.
 *
 * With at least one pattern, some hosts and addresses are refused whatever
 * the patterns say: link-local addresses (169.254.0.0/16, fe80::/10: the
 * cloud metadata service), fd00:ec2::254 (its IPv6 address) and
 * metadata.google.internal, plus the hosts added with urlguard_deny() (the
 * API server) and the addresses they resolved to. An empty guard allows
 * everything (unconfined) and sets nothing on a handle.
 *
 * Immutable once set up; any thread may check.
 */
#ifndef SH_URLGUARD_H
#define SH_URLGUARD_H

#include <curl/curl.h>
#include <stddef.h>
#include <sys/socket.h>

struct urlguard;

/* An empty guard in *ret. 0 or SH_ENOMEM. */
int urlguard_new(struct urlguard **ret);

/* Adds a pattern. 0, SH_EINVAL with *ret_err (owned: "--allow-url 10.0.0/8:
 * not a host name, an address or a network") or SH_ENOMEM. */
int urlguard_add(struct urlguard *g, const char *pattern, char **ret_err);

/* Refuses `host` (a name or an address, as URLs write it; a port is
 * ignored) whatever the patterns, saying `why` ("the Kubernetes API
 * server"). A name is resolved now, once, and each of its addresses is
 * refused at connect time too. 0 or SH_ENOMEM. */
int urlguard_deny(struct urlguard *g, const char *host, const char *why);

/* How many patterns; 0: unconfined. NULL counts as 0. */
size_t urlguard_count(const struct urlguard *g);

/* The patterns joined by ", " for messages (borrowed; "" when none). */
const char *urlguard_describe(const struct urlguard *g);

/*
 * Checks an http(s) URL before any request. 0 when allowed or when only
 * the address it resolves to can tell (a name, with a network pattern that
 * takes its port); always 0 with an empty or NULL guard. Else SH_EINVAL
 * with *ret_err (owned; names the host, never the URL's credentials: "host
 * 169.254.169.254 is a link-local address (the cloud metadata service);
 * specs may not call it"), or SH_ENOMEM.
 */
int urlguard_check(const struct urlguard *g, const char *url, char **ret_err);

/* The longest reason a connection is refused with, terminator included. */
#define URLGUARD_WHY_MAX 512

/*
 * Checks one address (sa, an AF_INET or AF_INET6 socket address with the
 * port) that a request to `host` (the URL's host; "" when unknown) is about
 * to connect to. Refused when the address is always forbidden; else allowed
 * when a network pattern holds it (and its port), or when host is a name a
 * name pattern matches; else refused. 0 when allowed (always with an empty
 * or NULL guard), else SH_EINVAL with the reason in why ("address 127.0.0.1
 * of host localhost (port 8000) is not in the allowed URLs (--allow-url
 * 10.0.0.0/8)").
 */
int urlguard_check_address(const struct urlguard *g, const char *host, const struct sockaddr *sa,
                           socklen_t len, char *why, size_t size);

/* What urlguard_apply checks one handle's connections with; the caller owns
 * it and keeps it alive as long as the transfer. */
struct urlguard_conn {
    const struct urlguard *g;
    char host[256];                /* the URL's host, for the reason */
    char refused[URLGUARD_WHY_MAX]; /* why a connection was refused; "" none */
};

/*
 * Holds every connection the easy handle opens for `url` to g: with
 * patterns, sets CURLOPT_OPENSOCKETFUNCTION (each address the host resolved
 * to is checked with urlguard_check_address before a socket is opened for
 * it; a refused one gets no socket, its reason is kept in c->refused and
 * curl tries the next address or fails with CURLE_COULDNT_CONNECT),
 * CURLOPT_PROXY "" (the request goes straight to the server, so the address
 * checked is the server's) and CURLOPT_FOLLOWLOCATION 0 (redirects are
 * never followed). With an empty or NULL guard it sets nothing. Clears
 * c->refused. Call it after curl_easy_reset. Returns 0 or SH_EIO (an
 * option libcurl refused).
 */
int urlguard_apply(const struct urlguard *g, struct urlguard_conn *c, CURL *easy, const char *url);

/* The guard of this process's outbound requests that specs cause (health
 * checks, metric sources, webhooks): set once by `selfheal run` before
 * any request starts and cleared (NULL) before the guard is freed. NULL
 * until set: unconfined. */
void urlguard_set_process(const struct urlguard *g);
const struct urlguard *urlguard_process(void);

/* NULL is a no-op. */
void urlguard_free(struct urlguard *g);

#endif
