/* urlguard.c — host/CIDR patterns for the URLs specs name, checked on the
 * URL and on each address connected to (urlguard.h). */
#include "base/urlguard.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/errors.h"

#define HOST_MAX 256

enum pat_kind { PAT_NAME, PAT_SUFFIX, PAT_NET };

struct pattern {
    enum pat_kind kind;
    char name[HOST_MAX];   /* NAME: the host; SUFFIX: ".example.com" */
    unsigned char net[16]; /* NET: the address, IPv4 as ::ffff:a.b.c.d */
    int prefix;            /* NET: bits of net (IPv4 ones + 96) */
    int port;              /* 0: any */
};

struct denied {
    char host[HOST_MAX];
    char *why;
};

struct urlguard {
    struct pattern *pats;
    size_t npats;
    struct denied *denied;
    size_t ndenied;
    char *describe;
};

int urlguard_new(struct urlguard **ret)
{
    *ret = calloc(1, sizeof **ret);
    return *ret ? 0 : SH_ENOMEM;
}

size_t urlguard_count(const struct urlguard *g)
{
    return g ? g->npats : 0;
}

const char *urlguard_describe(const struct urlguard *g)
{
    return g && g->describe ? g->describe : "";
}

/* Lowercases and drops one trailing dot. */
static void norm_host(char *h)
{
    for (char *c = h; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    size_t n = strlen(h);
    if (n > 1 && h[n - 1] == '.')
        h[n - 1] = '\0';
}

/* An address literal as 16 bytes (IPv4 mapped). */
static bool parse_addr(const char *s, unsigned char out[16])
{
    struct in_addr a4;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        return true;
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        memcpy(out, &a6, 16);
        return true;
    }
    return false;
}

static bool is_v4(const unsigned char a[16])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, mapped, 12) == 0;
}

static bool in_net(const unsigned char a[16], const unsigned char net[16], int prefix)
{
    int full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, net, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

static int atoi_port(const char *s)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    return end != s && !*end && v > 0 && v <= 65535 ? (int)v : 0;
}

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) >= HOST_MAX)
        return false;
    for (const char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' && *c != '_')
            return false;
    return true;
}

/* Splits "host:port", "[v6]:port", "net/len:port" into host and port (0 none). */
static bool split_port(const char *in, char *host, size_t size, int *port)
{
    *port = 0;
    const char *colon = NULL;
    if (in[0] == '[') {
        const char *close = strchr(in, ']');
        if (!close)
            return false;
        snprintf(host, size, "%.*s%s", (int)(close - in - 1), in + 1, "");
        /* keep a /len written after the bracket: [fd00::]/8 */
        const char *after = close + 1;
        if (*after == '/') {
            size_t n = strcspn(after, ":");
            size_t hl = strlen(host);
            snprintf(host + hl, size - hl, "%.*s", (int)n, after);
            after += n;
        }
        if (*after == ':')
            colon = after;
        else if (*after)
            return false;
    } else {
        colon = strchr(in, ':');
        if (colon && strchr(colon + 1, ':'))
            colon = NULL; /* a bare IPv6 literal: no port */
        snprintf(host, size, "%.*s", colon ? (int)(colon - in) : (int)strlen(in), in);
    }
    if (colon) {
        char *end = NULL;
        long p = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || p < 1 || p > 65535)
            return false;
        *port = (int)p;
    }
    return true;
}

static int parse_pattern(const char *text, struct pattern *p)
{
    char host[HOST_MAX];
    memset(p, 0, sizeof *p);
    if (!split_port(text, host, sizeof host, &p->port) || !host[0])
        return SH_EINVAL;
    char *slash = strchr(host, '/');
    if (slash) {
        *slash = '\0';
        char *end = NULL;
        long len = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || !parse_addr(host, p->net))
            return SH_EINVAL;
        int max = is_v4(p->net) && !strchr(host, ':') ? 32 : 128;
        if (len < 0 || len > max)
            return SH_EINVAL;
        p->kind = PAT_NET;
        p->prefix = (int)len + (max == 32 ? 96 : 0);
        return 0;
    }
    if (parse_addr(host, p->net)) {
        p->kind = PAT_NET;
        p->prefix = 128;
        return 0;
    }
    norm_host(host);
    if (strncmp(host, "*.", 2) == 0) {
        if (!valid_name(host + 2))
            return SH_EINVAL;
        p->kind = PAT_SUFFIX;
        snprintf(p->name, sizeof p->name, "%s", host + 1);
        return 0;
    }
    if (!valid_name(host))
        return SH_EINVAL;
    p->kind = PAT_NAME;
    snprintf(p->name, sizeof p->name, "%s", host);
    return 0;
}

int urlguard_add(struct urlguard *g, const char *pattern, char **ret_err)
{
    if (ret_err)
        *ret_err = NULL;
    struct pattern p;
    if (!pattern || parse_pattern(pattern, &p) != 0) {
        if (ret_err && asprintf(ret_err,
                                "--allow-url %s: not a host name (or *.domain), an address or a "
                                "network (10.0.0.0/8), with an optional :port",
                                pattern ? pattern : "") < 0)
            *ret_err = NULL;
        return SH_EINVAL;
    }
    struct pattern *np = realloc(g->pats, (g->npats + 1) * sizeof *np);
    if (!np)
        return SH_ENOMEM;
    g->pats = np;
    g->pats[g->npats++] = p;
    size_t old = g->describe ? strlen(g->describe) : 0;
    char *d = realloc(g->describe, old + strlen(pattern) + 3);
    if (!d)
        return SH_ENOMEM;
    snprintf(d + old, strlen(pattern) + 3, "%s%s", old ? ", " : "", pattern);
    g->describe = d;
    return 0;
}

static int deny_one(struct urlguard *g, const char *host, const char *why)
{
    struct denied *nd = realloc(g->denied, (g->ndenied + 1) * sizeof *nd);
    if (!nd)
        return SH_ENOMEM;
    g->denied = nd;
    struct denied *d = &g->denied[g->ndenied];
    snprintf(d->host, sizeof d->host, "%s", host);
    d->why = strdup(why ? why : "refused");
    if (!d->why)
        return SH_ENOMEM;
    g->ndenied++;
    return 0;
}

/* An address as text: IPv4 dotted (also when mapped), else IPv6. */
static void addr_text(const unsigned char a[16], char *buf, size_t size)
{
    const void *bytes = is_v4(a) ? (const void *)(a + 12) : (const void *)a;
    if (!inet_ntop(is_v4(a) ? AF_INET : AF_INET6, bytes, buf, (socklen_t)size))
        snprintf(buf, size, "?");
}

/* A socket address as 16 bytes (IPv4 mapped) and its port. */
static bool sockaddr_addr(const struct sockaddr *sa, socklen_t len, unsigned char out[16],
                          int *port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, sa, len < sizeof ss ? len : sizeof ss);
    if (ss.ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &in->sin_addr, 4);
        *port = ntohs(in->sin_port);
        return true;
    }
    if (ss.ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        memcpy(out, &in6->sin6_addr, 16);
        *port = ntohs(in6->sin6_port);
        return true;
    }
    return false;
}

int urlguard_deny(struct urlguard *g, const char *host, const char *why)
{
    char h[HOST_MAX];
    int port = 0;
    if (!split_port(host, h, sizeof h, &port))
        snprintf(h, sizeof h, "%s", host);
    norm_host(h);
    int r = deny_one(g, h, why);
    unsigned char a[16];
    if (r != 0 || parse_addr(h, a))
        return r;
    /* a name: the addresses it has now are refused at connect time too */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(h, NULL, &hints, &res) != 0)
        return 0;
    for (struct addrinfo *ai = res; ai && r == 0; ai = ai->ai_next) {
        int ignored = 0;
        char text[INET6_ADDRSTRLEN];
        if (!sockaddr_addr(ai->ai_addr, ai->ai_addrlen, a, &ignored))
            continue;
        addr_text(a, text, sizeof text);
        r = deny_one(g, text, why);
    }
    freeaddrinfo(res);
    return r;
}

/* The URL's host (lowercased, brackets removed) and port, as libcurl itself
 * reads them (its URL parser: the same one the request will use, so no
 * "user@host" or backslash trick reads differently here and there). */
static bool url_host(const char *url, char *host, size_t size, int *port)
{
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return false;
    CURLU *u = curl_url();
    if (!u)
        return false;
    char *h = NULL, *p = NULL;
    bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK && h && p;
    if (ok) {
        size_t n = strlen(h);
        if (n >= 2 && h[0] == '[' && h[n - 1] == ']')
            snprintf(host, size, "%.*s", (int)(n - 2), h + 1);
        else
            snprintf(host, size, "%s", h);
        char *pct = strchr(host, '%'); /* an IPv6 zone id */
        if (pct)
            *pct = '\0';
        *port = atoi_port(p);
        norm_host(host);
        ok = host[0] && *port > 0;
    }
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return ok;
}

static bool matches(const struct pattern *p, const char *host, bool is_addr,
                    const unsigned char addr[16], int port)
{
    if (p->port && p->port != port)
        return false;
    switch (p->kind) {
    case PAT_NAME:
        return !is_addr && strcmp(p->name, host) == 0;
    case PAT_SUFFIX: {
        size_t hl = strlen(host), sl = strlen(p->name);
        return !is_addr && hl > sl && strcmp(host + hl - sl, p->name) == 0;
    }
    case PAT_NET:
        return is_addr && in_net(addr, p->net, p->prefix);
    }
    return false;
}

/* Hands *msg (owned, set by an asprintf that returned n) to *ret_err. Call
 * as refuse(ret_err, asprintf(&msg, ...), &msg): the pointer is read after
 * the call, whatever the order the arguments are evaluated in. */
static int refuse(char **ret_err, int n, char **msg)
{
    if (n < 0)
        return SH_ENOMEM;
    if (ret_err)
        *ret_err = *msg;
    else
        free(*msg);
    return SH_EINVAL;
}

/* Why an address is refused whatever the patterns (a phrase), or NULL. */
static const char *always_forbidden(const struct urlguard *g, const unsigned char a[16])
{
    static const unsigned char ll4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254};
    static const unsigned char ll6[16] = {0xfe, 0x80};
    /* fd00:ec2::254, the metadata service's IPv6 address */
    static const unsigned char ec2[16] = {0xfd, 0, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54};
    if (in_net(a, ll4, 112) || in_net(a, ll6, 10))
        return "a link-local address (the cloud metadata service)";
    if (memcmp(a, ec2, 16) == 0)
        return "the cloud metadata service";
    for (size_t i = 0; i < g->ndenied; i++) {
        unsigned char d[16];
        if (parse_addr(g->denied[i].host, d) && memcmp(d, a, 16) == 0)
            return g->denied[i].why;
    }
    return NULL;
}

/* A network pattern that takes this port: a name's address may match it. */
static bool a_network_takes(const struct urlguard *g, int port)
{
    for (size_t i = 0; i < g->npats; i++)
        if (g->pats[i].kind == PAT_NET && (!g->pats[i].port || g->pats[i].port == port))
            return true;
    return false;
}

int urlguard_check(const struct urlguard *g, const char *url, char **ret_err)
{
    if (ret_err)
        *ret_err = NULL;
    if (!g || g->npats == 0 || !url)
        return 0;
    char host[HOST_MAX];
    int port = 0;
    char *msg = NULL;
    if (!url_host(url, host, sizeof host, &port))
        return refuse(ret_err, asprintf(&msg, "has no host the URL guard can read"), &msg);
    unsigned char addr[16];
    bool is_addr = parse_addr(host, addr);
    const char *why = is_addr ? always_forbidden(g, addr) : NULL;
    for (size_t i = 0; !why && i < g->ndenied; i++)
        if (strcmp(g->denied[i].host, host) == 0)
            why = g->denied[i].why;
    if (!why && strcmp(host, "metadata.google.internal") == 0)
        why = "the cloud metadata service";
    if (why)
        return refuse(ret_err, asprintf(&msg, "host %s is %s; specs may not call it", host, why),
                      &msg);
    for (size_t i = 0; i < g->npats; i++)
        if (matches(&g->pats[i], host, is_addr, addr, port))
            return 0;
    if (!is_addr && a_network_takes(g, port))
        return 0; /* judged on its address when connecting */
    return refuse(ret_err,
                  asprintf(&msg, "host %s (port %d) is not in the allowed URLs (--allow-url %s)",
                           host, port, g->describe),
                  &msg);
}

int urlguard_check_address(const struct urlguard *g, const char *host, const struct sockaddr *sa,
                           socklen_t len, char *why, size_t size)
{
    if (why && size)
        why[0] = '\0';
    if (!g || g->npats == 0)
        return 0;
    char ignore[8];
    if (!why || !size) {
        why = ignore;
        size = sizeof ignore;
    }
    host = host ? host : "";
    unsigned char addr[16];
    int port = 0;
    if (!sa || !sockaddr_addr(sa, len, addr, &port)) {
        snprintf(why, size, "host %s: not an IPv4 or IPv6 address; specs may not call it", host);
        return SH_EINVAL;
    }
    char text[INET6_ADDRSTRLEN], of[HOST_MAX + 16] = "";
    addr_text(addr, text, sizeof text);
    unsigned char hostaddr[16];
    bool host_is_addr = parse_addr(host, hostaddr);
    if (host[0] && !host_is_addr)
        snprintf(of, sizeof of, " of host %s", host);
    const char *forbidden = always_forbidden(g, addr);
    if (forbidden) {
        snprintf(why, size, "address %s%s is %s; specs may not call it", text, of, forbidden);
        return SH_EINVAL;
    }
    for (size_t i = 0; i < g->npats; i++) {
        const struct pattern *p = &g->pats[i];
        bool net = p->kind == PAT_NET && matches(p, text, true, addr, port);
        bool name = p->kind != PAT_NET && host[0] && !host_is_addr &&
                    matches(p, host, false, addr, port);
        if (net || name)
            return 0;
    }
    snprintf(why, size, "address %s%s (port %d) is not in the allowed URLs (--allow-url %s)", text,
             of, port, g->describe);
    return SH_EINVAL;
}

/* CURLOPT_OPENSOCKETFUNCTION: a socket only for an address the guard allows. */
static curl_socket_t open_checked(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct urlguard_conn *c = clientp;
    char why[URLGUARD_WHY_MAX];
    if (purpose == CURLSOCKTYPE_IPCXN &&
        urlguard_check_address(c->g, c->host, &a->addr, a->addrlen, why, sizeof why) != 0) {
        if (!c->refused[0]) /* the first reason: the others say the same of another address */
            snprintf(c->refused, sizeof c->refused, "%s", why);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

int urlguard_apply(const struct urlguard *g, struct urlguard_conn *c, CURL *easy, const char *url)
{
    memset(c, 0, sizeof *c);
    if (!g || g->npats == 0)
        return 0;
    c->g = g;
    int port = 0;
    if (!url || !url_host(url, c->host, sizeof c->host, &port))
        c->host[0] = '\0';
    bool ok = curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_checked) == CURLE_OK &&
              curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, (void *)c) == CURLE_OK &&
              curl_easy_setopt(easy, CURLOPT_PROXY, "") == CURLE_OK &&
              curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    return ok ? 0 : SH_EIO;
}

static _Atomic(const struct urlguard *) process_guard;

void urlguard_set_process(const struct urlguard *g)
{
    atomic_store(&process_guard, g);
}

const struct urlguard *urlguard_process(void)
{
    return atomic_load(&process_guard);
}

void urlguard_free(struct urlguard *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->ndenied; i++)
        free(g->denied[i].why);
    free(g->denied);
    free(g->pats);
    free(g->describe);
    free(g);
}
