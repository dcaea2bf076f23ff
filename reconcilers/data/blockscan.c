/* blockscan.c — a pass over a file's lines in blocks, on two threads (blockscan.h). */
#include "data/blockscan.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"

#define PAD 16
#define TAIL 4096

struct scan {
    int fd;
    uint64_t next, end; /* the next block starts at next */
    uint64_t nidx;      /* its index */
    uint64_t turn;      /* the block whose `ordered` step is next */
    bool stop;
    int err;
    int err_errno;
    const struct bscan_ops *ops;
    void *ctx;
    size_t block;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

struct worker {
    struct scan *s;
    unsigned id;
    char *buf;
    size_t cap;
};

unsigned bscan_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= BSCAN_MAX_WORKERS ? BSCAN_MAX_WORKERS : 1;
}

/* Reads up to n bytes at off into b; the bytes read, or -1 (errno). */
static ssize_t read_at(int fd, char *b, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, b + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

/* Under the lock: where the next block ends, told by its last TAIL bytes
 * (read here: little), so that the block itself is read after the lock, the
 * two workers' copies at once. False when those bytes hold no line's end or
 * the block is the range's last (take reads it whole). */
static bool take_cut(struct scan *s, size_t *len, uint64_t *off, uint64_t *idx)
{
    char tail[TAIL];
    size_t want = s->block, tn = want < TAIL ? want : TAIL;
    if (s->end - s->next <= want || read_at(s->fd, tail, tn, s->next + want - tn) != (ssize_t)tn)
        return false;
    const char *nl = memrchr(tail, '\n', tn);
    if (!nl)
        return false;
    *len = want - tn + (size_t)(nl - tail) + 1;
    *off = s->next;
    *idx = s->nidx++;
    s->next += *len;
    return true;
}

/* After the lock: the block take_cut found into w->buf. 0 or an error; a
 * file shorter than it was gives fewer bytes (the caller sees rows missing). */
static int read_block(struct worker *w, size_t *len, uint64_t off)
{
    if (*len + PAD > w->cap) {
        char *nb = realloc(w->buf, *len + PAD);
        if (!nb)
            return SH_ENOMEM;
        w->buf = nb;
        w->cap = *len + PAD;
    }
    ssize_t got = read_at(w->s->fd, w->buf, *len, off);
    if (got < 0)
        return SH_EIO;
    *len = (size_t)got;
    memset(w->buf + *len, 0, PAD);
    return 0;
}

/* Under the lock: the next block, its end found by take_cut (*later: read
 * it after the lock) or read into w->buf here. 1 with the block (len, off,
 * idx), 0 at the end, or an error. */
static int take(struct worker *w, size_t *len, uint64_t *off, uint64_t *idx, bool *later)
{
    struct scan *s = w->s;
    if (s->next >= s->end)
        return 0;
    if ((*later = take_cut(s, len, off, idx)))
        return 1;
    size_t want = s->block;
    for (;;) {
        uint64_t left = s->end - s->next;
        size_t n = left < want ? (size_t)left : want;
        if (n + PAD > w->cap) {
            char *nb = realloc(w->buf, n + PAD);
            if (!nb)
                return SH_ENOMEM;
            w->buf = nb;
            w->cap = n + PAD;
        }
        ssize_t got = read_at(s->fd, w->buf, n, s->next);
        if (got < 0)
            return SH_EIO;
        size_t g = (size_t)got;
        if (g == 0) { /* shorter than it was: the caller sees the rows missing */
            s->next = s->end;
            return 0;
        }
        size_t cut = g;
        if (g == left || g < n) {
            cut = g; /* the range's end */
        } else {
            const char *nl = memrchr(w->buf, '\n', g);
            if (!nl) {
                if (want >= BSCAN_MAX_LINE)
                    return SH_ETOOBIG;
                want *= 2;
                continue;
            }
            cut = (size_t)(nl - w->buf) + 1;
        }
        memset(w->buf + cut, 0, PAD);
        *len = cut;
        *off = s->next;
        *idx = s->nidx++;
        s->next += cut;
        if (g < n)
            s->next = s->end;
        return 1;
    }
}

/* Records the failure of block idx (called at its turn). */
static void fail_at(struct scan *s, int err)
{
    if (!s->stop) {
        s->stop = true;
        s->err = err;
        s->err_errno = errno;
    }
}

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    struct scan *s = w->s;
    for (;;) {
        size_t len = 0;
        uint64_t off = 0, idx = 0;
        bool later = false;
        pthread_mutex_lock(&s->mu);
        int k = s->stop ? 0 : take(w, &len, &off, &idx, &later);
        if (k < 0) { /* a read failure: it stops the pass at once, in order or not */
            fail_at(s, k);
            pthread_cond_broadcast(&s->cv);
        }
        pthread_mutex_unlock(&s->mu);
        if (k <= 0)
            return NULL;
        k = later ? read_block(w, &len, off) : 0;
        if (k == 0)
            k = s->ops->work(s->ctx, w->id, idx, w->buf, len, off);
        pthread_mutex_lock(&s->mu);
        while (!s->stop && s->turn != idx)
            pthread_cond_wait(&s->cv, &s->mu);
        bool go = !s->stop;
        pthread_mutex_unlock(&s->mu);
        if (!go)
            return NULL;
        if (k == 0 && s->ops->ordered)
            k = s->ops->ordered(s->ctx, w->id, idx, off + len);
        pthread_mutex_lock(&s->mu);
        if (k != 0)
            fail_at(s, k);
        s->turn++;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        if (k != 0)
            return NULL;
    }
}

int bscan_run(int fd, uint64_t start, uint64_t end, size_t block, unsigned nworkers,
              const struct bscan_ops *ops, void *ctx)
{
    struct scan s = {.fd = fd, .next = start, .end = end, .ops = ops, .ctx = ctx, .block = block};
    struct worker w[BSCAN_MAX_WORKERS];
    pthread_t th[BSCAN_MAX_WORKERS];
    bool started[BSCAN_MAX_WORKERS] = {false};
    if (nworkers < 1)
        nworkers = 1;
    if (nworkers > BSCAN_MAX_WORKERS)
        nworkers = BSCAN_MAX_WORKERS;
    if (block < 4096)
        block = s.block = 4096;
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    for (unsigned i = 0; i < nworkers; i++)
        w[i] = (struct worker){.s = &s, .id = i};
    for (unsigned i = 1; i < nworkers; i++)
        started[i] = pthread_create(&th[i], NULL, run_worker, &w[i]) == 0;
    run_worker(&w[0]);
    for (unsigned i = 1; i < nworkers; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    for (unsigned i = 0; i < nworkers; i++)
        free(w[i].buf);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    errno = s.err_errno;
    return s.err;
}
