/*
 * urlguard.h — which hosts the URLs of specs may name (`--allow-url`), so
 * that whoever may create a pipeline cannot make the controller send
 * requests from its network position to anything it can reach (the cloud
 * metadata service, the API server, internal admin ports).
 *
 * Patterns, any number, a URL is allowed when its host matches one:
 *
 *   prometheus.monitoring.svc   a host name, exactly (case-insensitive)
 *   *.example.com               any name below example.com (not itself)
 *   10.0.0.0/8, fd00::/8        an IP address literal in the network
 *   192.0.2.7, ::1              one address
 *   any of those with :PORT     only that port (host:9090, 10.0.0.0/8:443,
 *                               [fd00::]/8:443)
 *
 * Names match names and networks match address literals: a name is not
 * resolved (no DNS at validation time). With at least one pattern, some
 * hosts are refused whatever the patterns say: link-local addresses
 * (169.254.0.0/16, fe80::/10: the cloud metadata service) and
 * metadata.google.internal, plus the hosts added with urlguard_deny() (the
 * API server). An empty guard allows everything (unconfined).
 *
 * Immutable once set up; any thread may check.
 */
#ifndef SH_URLGUARD_H
#define SH_URLGUARD_H

#include <stddef.h>

struct urlguard;

/* An empty guard in *ret. 0 or SH_ENOMEM. */
int urlguard_new(struct urlguard **ret);

/* Adds a pattern. 0, SH_EINVAL with *ret_err (owned: "--allow-url 10.0.0/8:
 * not a host name, an address or a network") or SH_ENOMEM. */
int urlguard_add(struct urlguard *g, const char *pattern, char **ret_err);

/* Refuses `host` (a name or an address, as URLs write it) whatever the
 * patterns, saying `why` ("the Kubernetes API server"). 0 or SH_ENOMEM. */
int urlguard_deny(struct urlguard *g, const char *host, const char *why);

/* How many patterns; 0: unconfined. NULL counts as 0. */
size_t urlguard_count(const struct urlguard *g);

/* The patterns joined by ", " for messages (borrowed; "" when none). */
const char *urlguard_describe(const struct urlguard *g);

/*
 * Checks an http(s) URL. 0 when allowed (always with an empty or NULL
 * guard), else SH_EINVAL with *ret_err (owned; names the host, never the
 * URL's credentials: "host 169.254.169.254 is a link-local address (the
 * cloud metadata service); specs may not call it"), or SH_ENOMEM.
 */
int urlguard_check(const struct urlguard *g, const char *url, char **ret_err);

/* NULL is a no-op. */
void urlguard_free(struct urlguard *g);

#endif
