/*
 * httpd.h — the housing demo's small HTTP/1.1 server core: one thread, a
 * non-blocking listening socket, up to HTTPD_MAX_CONNS connections polled
 * together, each with a deadline (a slow or silent client is answered 408
 * and dropped, never blocks the others), requests with Content-Length
 * bodies (Expect: 100-continue honoured), one response per connection
 * (Connection: close). The program supplies the routing and the error
 * answers; signals are delivered only inside ppoll (the mask given to
 * httpd_poll), so none is lost between the program's checks and the wait.
 *
 * Header-only (static inline) so the programs and the unit tests share it.
 */
#ifndef HOUSING_HTTPD_H
#define HOUSING_HTTPD_H

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTPD_MAX_CONNS 256
#define HTTPD_MAX_HEAD 16384
#define HTTPD_MAX_BODY 65536

struct httpd_conn {
    int fd; /* -1: free slot */
    char *in;
    size_t in_len;
    char *out; /* the response, once there is one */
    size_t out_len, out_off;
    int64_t deadline;
    int continued; /* sent "100 Continue" */
};

/* Answers one complete request (path without the query string; body NUL-terminated). */
typedef void (*httpd_route_fn)(struct httpd_conn *c, const char *method, const char *path, const char *body);
/* Answers a request that could not be read (400, 408, 411, 413, 431). */
typedef void (*httpd_error_fn)(struct httpd_conn *c, int code, const char *msg);

struct httpd {
    int lfd;
    int timeout_ms;
    httpd_route_fn route;
    httpd_error_fn error;
    struct httpd_conn conns[HTTPD_MAX_CONNS];
};

static inline int64_t httpd_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline const char *httpd_reason(int code)
{
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

/* Sets c's response. extra: more header lines, each ending in \r\n, or NULL. */
static inline void httpd_respond(struct httpd_conn *c, int code, const char *ctype, const char *body, int head_only,
                                 const char *extra)
{
    size_t blen = strlen(body);
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
                     "%sConnection: close\r\n\r\n",
                     code, httpd_reason(code), ctype, blen, extra ? extra : "");
    if (n < 0 || (size_t)n >= sizeof hdr)
        n = 0;
    free(c->out);
    c->out_len = c->out_off = 0;
    c->out = malloc((size_t)n + blen + 1);
    if (!c->out)
        return;
    memcpy(c->out, hdr, (size_t)n);
    memcpy(c->out + n, body, head_only ? 0 : blen);
    c->out_len = (size_t)n + (head_only ? 0 : blen);
}

/* Looks at the bytes read so far: 0 = need more, 1 = answered. */
static inline int httpd_try_request_(struct httpd *h, struct httpd_conn *c)
{
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    size_t hlen = end ? (size_t)(end - c->in) + 4 : 0;
    if ((!end && c->in_len > HTTPD_MAX_HEAD) || hlen > HTTPD_MAX_HEAD) {
        h->error(c, 431, "request head larger than 16 KiB");
        return 1;
    }
    if (!end)
        return 0;
    static char head[HTTPD_MAX_HEAD + 1]; /* the head as one string, lines ending in \r\n */
    memcpy(head, c->in, hlen - 2);
    head[hlen - 2] = '\0';
    char method[16], target[1024], proto[16];
    if (sscanf(head, "%15s %1023s %15s", method, target, proto) != 3 || strncmp(proto, "HTTP/1.", 7) != 0) {
        h->error(c, 400, "malformed request line");
        return 1;
    }
    size_t clen = 0;
    int expect = 0;
    for (char *line = strstr(head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        const char *hd = line + 2;
        if (strncasecmp(hd, "Content-Length:", 15) == 0) {
            char *e;
            errno = 0;
            unsigned long long v = strtoull(hd + 15, &e, 10);
            if (errno || e == hd + 15 || (*e != '\r' && *e != ' ')) {
                h->error(c, 400, "bad Content-Length");
                return 1;
            }
            if (v > HTTPD_MAX_BODY) {
                h->error(c, 413, "body larger than 64 KiB");
                return 1;
            }
            clen = (size_t)v;
        } else if (strncasecmp(hd, "Transfer-Encoding:", 18) == 0) {
            h->error(c, 411, "chunked bodies are not supported; send Content-Length");
            return 1;
        } else if (strncasecmp(hd, "Expect:", 7) == 0 && strcasestr(hd, "100-continue")) {
            expect = 1;
        }
    }
    if (c->in_len < hlen + clen) {
        if (expect && !c->continued) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            c->continued = 1;
            (void)!send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL);
        }
        return 0;
    }
    char *body = c->in + hlen;
    body[clen] = '\0'; /* in has room: it is allocated with a spare byte */
    char *q = strchr(target, '?');
    if (q)
        *q = '\0';
    h->route(c, method, target, body);
    return 1;
}

static inline void httpd_close_(struct httpd_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* Reads what is there; answers when complete. Returns -1 when the connection is done with. */
static inline int httpd_read_(struct httpd *h, struct httpd_conn *c)
{
    for (;;) {
        if (!c->in && !(c->in = malloc(HTTPD_MAX_HEAD + HTTPD_MAX_BODY + 2)))
            return -1;
        size_t room = HTTPD_MAX_HEAD + HTTPD_MAX_BODY + 1 - c->in_len;
        if (room == 0) {
            h->error(c, 413, "request too large");
            return 0;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        if (n == 0)
            return -1; /* the client went away before finishing its request */
        c->in_len += (size_t)n;
        if (httpd_try_request_(h, c))
            return 0;
    }
}

/* Sends what is pending. Returns 1 when all is sent, 0 to wait, -1 on error. */
static inline int httpd_write_(struct httpd_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        c->out_off += (size_t)n;
    }
    return 1;
}

/* Opens the listening socket. Returns 0, or -1 with a message in err. */
static inline int httpd_listen(struct httpd *h, const char *host, const char *port, char *err, size_t errsz)
{
    for (int i = 0; i < HTTPD_MAX_CONNS; i++)
        h->conns[i] = (struct httpd_conn){.fd = -1};
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errsz, "cannot resolve %s:%s: %s", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1, e = 0;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, 128) < 0) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errsz, "cannot listen on %s:%s: %s", host, port, strerror(e));
        return -1;
    }
    h->lfd = fd;
    return 0;
}

/*
 * One round: drops connections past their deadline, waits up to max_wait_ms
 * (less when a deadline is nearer) with the signal mask `mask`, accepts,
 * reads, answers, writes. Returns 0 (also when a signal interrupted the
 * wait), or -1 with errno when polling failed.
 */
static inline int httpd_poll(struct httpd *h, int64_t max_wait_ms, const sigset_t *mask)
{
    struct pollfd pfd[HTTPD_MAX_CONNS + 1];
    int idx[HTTPD_MAX_CONNS + 1];
    int n = 0, nopen = 0;
    int64_t now = httpd_mono_ms(), wake = now + max_wait_ms;
    for (int i = 0; i < HTTPD_MAX_CONNS; i++) {
        struct httpd_conn *c = &h->conns[i];
        if (c->fd < 0)
            continue;
        if (now >= c->deadline) {
            if (!c->out) { /* best effort: tell a slow client why */
                h->error(c, 408, "request not received in time");
                httpd_write_(c);
            }
            httpd_close_(c);
            continue;
        }
        nopen++;
        if (c->deadline < wake)
            wake = c->deadline;
        pfd[n] = (struct pollfd){.fd = c->fd, .events = c->out ? POLLOUT : POLLIN};
        idx[n++] = i;
    }
    if (nopen < HTTPD_MAX_CONNS) {
        pfd[n] = (struct pollfd){.fd = h->lfd, .events = POLLIN};
        idx[n++] = -1;
    }
    int64_t ms = wake > now ? wake - now : 0;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    int r = ppoll(pfd, (nfds_t)n, &ts, mask);
    if (r < 0)
        return errno == EINTR ? 0 : -1;
    for (int k = 0; k < n && r > 0; k++) {
        if (!pfd[k].revents)
            continue;
        if (idx[k] < 0) {
            for (int i = 0; i < HTTPD_MAX_CONNS; i++) {
                if (h->conns[i].fd >= 0)
                    continue;
                int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                    break;
                h->conns[i].fd = fd;
                h->conns[i].deadline = httpd_mono_ms() + h->timeout_ms;
            }
            continue;
        }
        struct httpd_conn *c = &h->conns[idx[k]];
        if (!c->out && httpd_read_(h, c) < 0) {
            httpd_close_(c);
            continue;
        }
        if (c->out) {
            int w = httpd_write_(c);
            if (w != 0) {
                if (w > 0)
                    shutdown(c->fd, SHUT_WR);
                httpd_close_(c);
            }
        }
    }
    return 0;
}

static inline void httpd_close_all(struct httpd *h)
{
    for (int i = 0; i < HTTPD_MAX_CONNS; i++)
        if (h->conns[i].fd >= 0)
            httpd_close_(&h->conns[i]);
    if (h->lfd >= 0)
        close(h->lfd);
    h->lfd = -1;
}

#endif
