/* state_flush.c — the flusher thread of status folders (state_flush.h). */
#include "local/state_flush.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/atomicfile.h"
#include "base/errors.h"
#include "base/log.h"

struct state_flush {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    int interval_ms;
};

static void flush_now(void)
{
    if (atomic_file_pending_folders() > 0 && atomic_file_flush_folders() != 0)
        log_warn(NULL, "flushing the status folder: %s", strerror(errno));
}

static void *flush_main(void *arg)
{
    struct state_flush *sf = arg;
    pthread_mutex_lock(&sf->mu);
    while (!sf->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        long long ns = ts.tv_nsec + (long long)sf->interval_ms * 1000000LL;
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        pthread_cond_timedwait(&sf->cv, &sf->mu, &ts);
        pthread_mutex_unlock(&sf->mu);
        flush_now();
        pthread_mutex_lock(&sf->mu);
    }
    pthread_mutex_unlock(&sf->mu);
    return NULL;
}

int state_flush_start(int interval_ms, struct state_flush **ret)
{
    struct state_flush *sf = calloc(1, sizeof *sf);
    if (!sf)
        return SH_ENOMEM;
    sf->interval_ms = interval_ms > 0 ? interval_ms : 1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&sf->mu, NULL);
    pthread_cond_init(&sf->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&sf->thread, NULL, flush_main, sf) != 0) {
        pthread_cond_destroy(&sf->cv);
        pthread_mutex_destroy(&sf->mu);
        free(sf);
        return SH_ENOMEM;
    }
    *ret = sf;
    return 0;
}

void state_flush_stop(struct state_flush *sf)
{
    if (!sf)
        return;
    pthread_mutex_lock(&sf->mu);
    sf->stop = true;
    pthread_cond_signal(&sf->cv);
    pthread_mutex_unlock(&sf->mu);
    pthread_join(sf->thread, NULL);
    flush_now();
    pthread_cond_destroy(&sf->cv);
    pthread_mutex_destroy(&sf->mu);
    free(sf);
}
