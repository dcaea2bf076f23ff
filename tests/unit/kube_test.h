/*
 * kube_test.h — helpers shared by the check_kube_*.c suites (header only,
 * static functions): the recorded kube-apiserver transcripts in
 * $SH_KUBE_GOLDEN (default /work/shared/kube-golden, see its README.md) and
 * a small real HTTP/1.1 server on loopback whose answers a test scripts
 * (one thread per connection, keep-alive, Content-Length or chunked bodies,
 * streams the test feeds line by line).
 */
#ifndef SH_TESTS_KUBE_TEST_H
#define SH_TESTS_KUBE_TEST_H

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fsutil.h"

#define KT_UNUSED __attribute__((unused))

/* ---- golden transcripts ---- */

struct kt_exchange {
    char title[512];
    char request_line[2048];
    char *request_body;
    size_t request_body_len;
    int status;
    char *response_head; /* status line + headers, LF-separated */
    char *response_body;
    size_t response_body_len;
};

KT_UNUSED static const char *kt_golden_dir(void)
{
    const char *d = getenv("SH_KUBE_GOLDEN");
    return d && *d ? d : "/work/shared/kube-golden";
}

KT_UNUSED static void kt_exchanges_free(struct kt_exchange *x, int n)
{
    for (int i = 0; i < n; i++) {
        free(x[i].request_body);
        free(x[i].response_head);
        free(x[i].response_body);
    }
    free(x);
}

/* The body after a "=== ... BODY (N bytes...)\n" line at p: N bytes, or up
 * to the next "\n=== END" when the note says it was truncated or raw. */
KT_UNUSED static char *kt_body(const char *p, const char *end, size_t *ret_len, const char **ret_next)
{
    const char *hdr_end = memchr(p, '\n', (size_t)(end - p));
    ck_assert_ptr_nonnull(hdr_end);
    size_t n = strtoul(strchr(p, '(') + 1, NULL, 10);
    bool exact = !memmem(p, (size_t)(hdr_end - p), "TRUNCATED", 9) &&
                 !memmem(p, (size_t)(hdr_end - p), "RAW", 3) &&
                 !memmem(p, (size_t)(hdr_end - p), "OMITTED", 7);
    const char *b = hdr_end + 1;
    if (!exact || (size_t)(end - b) < n) {
        const char *e = memmem(b, (size_t)(end - b), "\n=== END", 8);
        n = e ? (size_t)(e - b) : (size_t)(end - b);
    }
    char *s = malloc(n + 1);
    memcpy(s, b, n);
    s[n] = '\0';
    *ret_len = n;
    *ret_next = b + n;
    return s;
}

/* Reads every exchange of a golden file (e.g. "12-watch.http"). Fails the
 * test when the file is missing: the golden bytes are the point. */
KT_UNUSED static struct kt_exchange *kt_golden(const char *file, int *ret_n)
{
    char path[1024], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", kt_golden_dir(), file);
    int r = fs_read_file(path, 1u << 24, &data, &len);
    ck_assert_msg(r == 0, "golden transcript %s missing (set SH_KUBE_GOLDEN)", path);
    const char *p = data, *end = data + len;
    int n = 0, cap = 8;
    struct kt_exchange *xs = calloc((size_t)cap, sizeof *xs);
    struct kt_exchange *cur = NULL;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        size_t ll = (size_t)(eol - p);
        if (ll > 5 && strncmp(p, "#### ", 5) == 0) {
            if (n == cap) {
                cap *= 2;
                xs = realloc(xs, (size_t)cap * sizeof *xs);
                memset(xs + n, 0, (size_t)(cap - n) * sizeof *xs);
            }
            cur = &xs[n++];
            snprintf(cur->title, sizeof cur->title, "%.*s", (int)(ll - 5), p + 5);
        } else if (cur && ll == 11 && strncmp(p, "=== REQUEST", 11) == 0) {
            const char *rl = eol + 1;
            const char *rle = memchr(rl, '\n', (size_t)(end - rl));
            snprintf(cur->request_line, sizeof cur->request_line, "%.*s", (int)(rle - rl), rl);
        } else if (cur && ll == 12 && strncmp(p, "=== RESPONSE", 12) == 0) {
            const char *h = eol + 1;
            const char *he = memmem(h, (size_t)(end - h), "\n===", 4);
            cur->response_head = strndup(h, (size_t)(he - h));
            cur->status = (int)strtol(h + 9, NULL, 10);
        } else if (cur && strncmp(p, "=== REQUEST BODY (", 18) == 0) {
            cur->request_body = kt_body(p, end, &cur->request_body_len, &eol);
        } else if (cur && strncmp(p, "=== RESPONSE BODY (", 19) == 0) {
            cur->response_body = kt_body(p, end, &cur->response_body_len, &eol);
        }
        p = eol < end ? eol + 1 : end;
    }
    free(data);
    *ret_n = n;
    return xs;
}

/* The first exchange whose title contains `needle` (or request line). */
KT_UNUSED static const struct kt_exchange *kt_find(const struct kt_exchange *xs, int n,
                                                    const char *needle)
{
    for (int i = 0; i < n; i++)
        if (strstr(xs[i].title, needle) || strstr(xs[i].request_line, needle))
            return &xs[i];
    ck_abort_msg("no golden exchange matching '%s'", needle);
    return NULL;
}

/* ---- a scripted HTTP server ---- */

#define KT_MAX_CONNS 64
#define KT_MAX_LOG 512

struct kt_request {
    char method[16];
    char target[2048]; /* path?query */
    char headers[8192];
    char *body;
    size_t body_len;
};

struct kt_server;
/* Answers one request on fd (kt_reply / kt_chunk...); return false to close. */
typedef bool kt_handler(void *ctx, struct kt_server *s, const struct kt_request *rq, int fd);

struct kt_server {
    int lfd, port;
    pthread_t acceptor;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    kt_handler *handler;
    void *ctx;
    bool stopping;
    int fds[KT_MAX_CONNS];
    pthread_t threads[KT_MAX_CONNS];
    int nconns;
    /* request log: "METHOD target" and bodies */
    char *log[KT_MAX_LOG];
    char *log_body[KT_MAX_LOG];
    int nlog;
    char url[64];
};

KT_UNUSED static void kt_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

KT_UNUSED static void kt_reply(int fd, int status, const char *extra_headers, const char *body,
                               size_t len)
{
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                     status, extra_headers ? extra_headers : "", len);
    kt_write_all(fd, head, (size_t)n);
    kt_write_all(fd, body, len);
}

KT_UNUSED static void kt_chunked_start(int fd, int status)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d OK\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n",
                     status);
    kt_write_all(fd, head, (size_t)n);
}

KT_UNUSED static void kt_chunk(int fd, const char *data, size_t len)
{
    char h[32];
    int n = snprintf(h, sizeof h, "%zx\r\n", len);
    kt_write_all(fd, h, (size_t)n);
    kt_write_all(fd, data, len);
    kt_write_all(fd, "\r\n", 2);
}

KT_UNUSED static void kt_chunked_end(int fd)
{
    kt_write_all(fd, "0\r\n\r\n", 5);
}

struct kt_conn_arg {
    struct kt_server *s;
    int fd;
};

KT_UNUSED static bool kt_read_request(int fd, struct kt_request *rq)
{
    char buf[16384];
    size_t len = 0;
    char *hend = NULL;
    while (!(hend = memmem(buf, len, "\r\n\r\n", 4))) {
        if (len == sizeof buf)
            return false;
        ssize_t r = recv(fd, buf + len, sizeof buf - len, 0);
        if (r <= 0)
            return false;
        len += (size_t)r;
    }
    size_t hlen = (size_t)(hend - buf) + 4;
    memset(rq, 0, sizeof *rq);
    if (sscanf(buf, "%15s %2047s", rq->method, rq->target) != 2)
        return false;
    snprintf(rq->headers, sizeof rq->headers, "%.*s", (int)hlen, buf);
    size_t clen = 0;
    const char *cl = strcasestr(rq->headers, "\r\nContent-Length:");
    if (cl)
        clen = strtoul(cl + 17, NULL, 10);
    rq->body = malloc(clen + 1);
    size_t have = len - hlen < clen ? len - hlen : clen;
    memcpy(rq->body, buf + hlen, have);
    while (have < clen) {
        ssize_t r = recv(fd, rq->body + have, clen - have, 0);
        if (r <= 0) {
            free(rq->body);
            return false;
        }
        have += (size_t)r;
    }
    rq->body[clen] = '\0';
    rq->body_len = clen;
    return true;
}

KT_UNUSED static void *kt_conn_main(void *arg)
{
    struct kt_conn_arg *a = arg;
    struct kt_server *s = a->s;
    int fd = a->fd;
    free(a);
    struct kt_request rq;
    while (kt_read_request(fd, &rq)) {
        pthread_mutex_lock(&s->mu);
        if (s->nlog < KT_MAX_LOG) {
            char *line = NULL;
            if (asprintf(&line, "%s %s", rq.method, rq.target) < 0)
                line = NULL;
            s->log[s->nlog] = line;
            s->log_body[s->nlog] = strdup(rq.body);
            s->nlog++;
        }
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        bool keep = s->handler(s->ctx, s, &rq, fd);
        free(rq.body);
        if (!keep)
            break;
    }
    shutdown(fd, SHUT_RDWR);
    return NULL;
}

KT_UNUSED static void *kt_accept_main(void *arg)
{
    struct kt_server *s = arg;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_mutex_lock(&s->mu);
        if (s->stopping || s->nconns == KT_MAX_CONNS) {
            pthread_mutex_unlock(&s->mu);
            close(fd);
            if (s->stopping)
                return NULL;
            continue;
        }
        struct kt_conn_arg *a = malloc(sizeof *a);
        a->s = s;
        a->fd = fd;
        s->fds[s->nconns] = fd;
        pthread_create(&s->threads[s->nconns], NULL, kt_conn_main, a);
        s->nconns++;
        pthread_mutex_unlock(&s->mu);
    }
}

KT_UNUSED static struct kt_server *kt_server_start(kt_handler *h, void *ctx)
{
    struct kt_server *s = calloc(1, sizeof *s);
    s->handler = h;
    s->ctx = ctx;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(s->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(s->lfd, 64), 0);
    socklen_t sl = sizeof sa;
    getsockname(s->lfd, (struct sockaddr *)&sa, &sl);
    s->port = ntohs(sa.sin_port);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    pthread_create(&s->acceptor, NULL, kt_accept_main, s);
    return s;
}

/* Stops: closes the listener and every connection, joins the threads. */
KT_UNUSED static void kt_server_stop(struct kt_server *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    for (int i = 0; i < s->nconns; i++)
        shutdown(s->fds[i], SHUT_RDWR);
    pthread_mutex_unlock(&s->mu);
    shutdown(s->lfd, SHUT_RDWR);
    close(s->lfd);
    pthread_join(s->acceptor, NULL);
    for (int i = 0; i < s->nconns; i++) {
        pthread_join(s->threads[i], NULL);
        close(s->fds[i]);
    }
    for (int i = 0; i < s->nlog; i++) {
        free(s->log[i]);
        free(s->log_body[i]);
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* How many logged requests start with prefix ("PATCH /apis"). */
KT_UNUSED static int kt_count(struct kt_server *s, const char *prefix)
{
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nlog; i++)
        if (s->log[i] && strncmp(s->log[i], prefix, strlen(prefix)) == 0)
            n++;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* The i-th logged request line (copied into buf), "" when none. */
KT_UNUSED static const char *kt_log_line(struct kt_server *s, int i, char *buf, size_t size)
{
    pthread_mutex_lock(&s->mu);
    snprintf(buf, size, "%s", i < s->nlog && s->log[i] ? s->log[i] : "");
    pthread_mutex_unlock(&s->mu);
    return buf;
}

/* Waits (bounded, 10 s: a failure, not a timing guess) until at least n
 * requests starting with prefix were received. */
KT_UNUSED static bool kt_wait_count(struct kt_server *s, const char *prefix, int n)
{
    for (int i = 0; i < 2000; i++) {
        if (kt_count(s, prefix) >= n)
            return true;
        usleep(5000);
    }
    return false;
}

#endif
