/*
 * check_kube_informer.c — the informer against a real HTTP server that
 * answers with the recorded bytes of a real kube-apiserver: the list
 * (03-get-list) fills the cache and sets has_synced; the watch from the
 * list's resourceVersion (12-watch) notifies adds, spec changes and
 * deletions but not status-only changes; a clean end resumes from the last
 * bookmark; an ERROR 410 (13-too-old-rv) relists and notices objects
 * deleted meanwhile; a cut stream resumes after a backoff, which a clean
 * end resets; an inactive informer (a standby replica) notifies nothing
 * until activated.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/errors.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube_test.h"
#include "base/log.h"
#include "base/strmap.h"

Suite *kube_informer_suite(void);

#define MAX_LINES 64
#define MAX_NOTES 256

struct fake {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *lists[4];
    int nlists, lists_served;
    char *lines[MAX_LINES]; /* watch script: JSON lines, "END", "DROP" */
    int nlines, next;
    bool stopping;
    /* notifications received */
    char notes[MAX_NOTES][128];
    int nnotes;
};

static bool fake_handler(void *ctx, struct kt_server *s, const struct kt_request *rq, int fd)
{
    (void)s;
    struct fake *f = ctx;
    if (!strstr(rq->target, "watch=1")) {
        pthread_mutex_lock(&f->mu);
        int i = f->lists_served < f->nlists ? f->lists_served : f->nlists - 1;
        f->lists_served++;
        char *body = strdup(f->lists[i]);
        pthread_mutex_unlock(&f->mu);
        kt_reply(fd, 200, "", body, strlen(body));
        free(body);
        return true;
    }
    kt_chunked_start(fd, 200);
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->stopping && f->next >= f->nlines)
            pthread_cond_wait(&f->cv, &f->mu);
        if (f->stopping) {
            pthread_mutex_unlock(&f->mu);
            return false;
        }
        char *line = f->lines[f->next++];
        if (strcmp(line, "END") == 0) {
            pthread_mutex_unlock(&f->mu);
            kt_chunked_end(fd);
            return true;
        }
        if (strcmp(line, "DROP") == 0) {
            pthread_mutex_unlock(&f->mu);
            return false;
        }
        pthread_mutex_unlock(&f->mu);
        kt_chunk(fd, line, strlen(line));
        pthread_mutex_lock(&f->mu);
    }
}

static void push_line(struct fake *f, const char *line)
{
    pthread_mutex_lock(&f->mu);
    ck_assert_int_lt(f->nlines, MAX_LINES);
    f->lines[f->nlines++] = strdup(line);
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void on_notify(void *ctx, const char *key)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->mu);
    if (f->nnotes < MAX_NOTES)
        snprintf(f->notes[f->nnotes++], sizeof f->notes[0], "%s", key);
    pthread_mutex_unlock(&f->mu);
}

static int notes_for(struct fake *f, const char *key)
{
    int n = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->nnotes; i++)
        if (strcmp(f->notes[i], key) == 0)
            n++;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* Bounded wait for a condition on the fake (10 s means failure). */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        int i_;                                                                                    \
        for (i_ = 0; i_ < 2000 && !(cond); i_++)                                                   \
            usleep(5000);                                                                          \
        ck_assert_msg((cond), "timed out waiting for " #cond);                                     \
    } while (0)

struct env {
    struct fake f;
    struct kt_server *srv;
    struct kube_config cfg;
    struct kube_client *client;
    struct source *src;
};

static char *golden_list(void)
{
    int n = 0;
    struct kt_exchange *xs = kt_golden("03-get-list.http", &n);
    const struct kt_exchange *x = kt_find(xs, n, "LIST across all namespaces");
    char *b = strndup(x->response_body, x->response_body_len);
    kt_exchanges_free(xs, n);
    return b;
}

/* The de-chunked main stream of 12-watch as lines (without '\n'). */
static int golden_watch_lines(char ***ret)
{
    int n = 0;
    struct kt_exchange *xs = kt_golden("12-watch.http", &n);
    const struct kt_exchange *x = kt_find(xs, n, "timeoutSeconds=70 (stream");
    char **lines = calloc(16, sizeof *lines);
    int k = 0;
    const char *p = x->response_body, *end = p + x->response_body_len;
    while (p < end && k < 16) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        lines[k++] = strndup(p, (size_t)(nl - p) + 1);
        p = nl + 1;
    }
    kt_exchanges_free(xs, n);
    *ret = lines;
    return k;
}

static void env_start_backoff(struct env *e, bool inactive, int64_t backoff_ms,
                              int64_t backoff_max_ms);

static void env_start(struct env *e, bool inactive)
{
    env_start_backoff(e, inactive, 20, 100);
}

static void env_start_backoff(struct env *e, bool inactive, int64_t backoff_ms,
                              int64_t backoff_max_ms)
{
    log_configure(LOG_ERROR, LOG_FORMAT_TEXT, NULL);
    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->f.mu, NULL);
    pthread_cond_init(&e->f.cv, NULL);
    e->f.lists[e->f.nlists++] = golden_list();
    e->srv = kt_server_start(fake_handler, &e->f);
    e->cfg.server = e->srv->url;
    e->cfg.token = "t";
    ck_assert_int_eq(kube_client_new(&e->cfg, NULL, &e->client, NULL), 0);
    struct kube_informer_options o = {.client = e->client, .backoff_ms = backoff_ms,
                                      .backoff_max_ms = backoff_max_ms, .resync_ms = -1, .seed = 7,
                                      .inactive = inactive};
    ck_assert_int_eq(kube_informer_new(&o, &e->src), 0);
    ck_assert(!e->src->has_synced(e->src));
    ck_assert_int_eq(e->src->start(e->src, on_notify, &e->f, NULL), 0);
}

static void env_stop(struct env *e)
{
    pthread_mutex_lock(&e->f.mu);
    e->f.stopping = true;
    pthread_cond_broadcast(&e->f.cv);
    pthread_mutex_unlock(&e->f.mu);
    e->src->free(e->src);
    kube_client_free(e->client);
    kt_server_stop(e->srv);
    for (int i = 0; i < e->f.nlists; i++)
        free(e->f.lists[i]);
    for (int i = 0; i < e->f.nlines; i++)
        free(e->f.lines[i]);
    pthread_cond_destroy(&e->f.cv);
    pthread_mutex_destroy(&e->f.mu);
    log_configure(LOG_INFO, LOG_FORMAT_TEXT, NULL);
}

static bool synced(struct env *e)
{
    return e->src->has_synced(e->src);
}

static int gen_of(struct env *e, const char *key)
{
    struct pipeline *p = e->src->get(e->src, key);
    int g = p ? (int)p->generation : -1;
    pipeline_unref(p);
    return g;
}

static bool has_status(struct env *e, const char *key)
{
    struct pipeline *p = e->src->get(e->src, key);
    bool has = p && p->last_status;
    pipeline_unref(p);
    return has;
}

static int watch_requests(struct env *e)
{
    return kt_count(e->srv, "GET /apis/selfheal.dev/v1alpha1/selfhealingpipelines?watch=1");
}

/* The last watch request line. */
static void last_watch(struct env *e, char *buf, size_t size)
{
    buf[0] = '\0';
    char line[2100];
    for (int i = 0; i < KT_MAX_LOG; i++) {
        kt_log_line(e->srv, i, line, sizeof line);
        if (!line[0])
            break;
        if (strstr(line, "watch=1"))
            snprintf(buf, size, "%s", line);
    }
}

START_TEST(test_golden_list_fills_the_cache_then_watches_from_its_resource_version)
{
    struct env e;
    env_start(&e, false);
    WAIT_FOR(synced(&e));
    ck_assert_int_eq(notes_for(&e.f, "golden/alpha"), 1);
    struct pipeline *p = e.src->get(e.src, "golden/alpha");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->source, "kube");
    ck_assert_str_eq(p->namespace_, "golden");
    ck_assert_ptr_null(p->last_status); /* the recorded object had no status yet */
    ck_assert_int_eq(p->generation, 1);
    ck_assert_str_eq(p->uid, "751334d2-f616-401e-9f76-eb3c4146a9ab");
    pipeline_unref(p);
    size_t n = 0;
    char **keys = e.src->keys(e.src, &n);
    ck_assert_uint_eq(n, 1);
    strmap_keys_free(keys);
    WAIT_FOR(watch_requests(&e) == 1);
    char w[2100];
    last_watch(&e, w, sizeof w);
    ck_assert_msg(strstr(w, "resourceVersion=343"), "%s", w);
    ck_assert_msg(strstr(w, "allowWatchBookmarks=true"), "%s", w);
    const char *ts = strstr(w, "timeoutSeconds=");
    ck_assert_ptr_nonnull(ts);
    long secs = strtol(ts + 15, NULL, 10);
    ck_assert_int_ge(secs, 300);
    ck_assert_int_le(secs, 600);
    ck_assert_int_eq(kt_count(e.srv, "GET /apis/selfheal.dev/v1alpha1/selfhealingpipelines?limit=500"), 1);
    env_stop(&e);
}
END_TEST

START_TEST(test_golden_watch_notifies_adds_spec_changes_and_deletes_not_status_writes)
{
    struct env e;
    env_start(&e, false);
    WAIT_FOR(synced(&e));
    char **lines = NULL;
    int n = golden_watch_lines(&lines);
    ck_assert_int_eq(n, 9);
    /* ADDED beta (gen 1), MODIFIED spec (gen 2), then the status-only MODIFIED */
    push_line(&e.f, lines[0]);
    push_line(&e.f, lines[1]);
    WAIT_FOR(gen_of(&e, "golden/beta") == 2);
    ck_assert_int_eq(notes_for(&e.f, "golden/beta"), 2);
    push_line(&e.f, lines[2]);
    WAIT_FOR(has_status(&e, "golden/beta"));
    ck_assert_int_eq(notes_for(&e.f, "golden/beta"), 2); /* no reconcile for our own status write */
    /* DELETED beta; gamma: ADDED, MODIFIED (deletionTimestamp), DELETED; two bookmarks */
    for (int i = 3; i < 9; i++)
        push_line(&e.f, lines[i]);
    WAIT_FOR(notes_for(&e.f, "golden/gamma") == 3);
    ck_assert_int_eq(notes_for(&e.f, "golden/beta"), 3);
    ck_assert_ptr_null(e.src->get(e.src, "golden/beta"));
    ck_assert_ptr_null(e.src->get(e.src, "golden/gamma"));
    struct kube_informer_stats st;
    kube_informer_stats(e.src, &st);
    ck_assert_uint_eq(st.events, 7);
    /* the stream ends cleanly: the next watch resumes from the bookmark's RV */
    push_line(&e.f, "END");
    WAIT_FOR(watch_requests(&e) == 2);
    char w[2100];
    last_watch(&e, w, sizeof w);
    ck_assert_msg(strstr(w, "resourceVersion=372"), "%s", w);
    kube_informer_stats(e.src, &st);
    ck_assert_uint_eq(st.lists, 1); /* no relist for a clean end */
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    env_stop(&e);
}
END_TEST

START_TEST(test_golden_410_error_event_relists_and_notices_deletions)
{
    struct env e;
    env_start(&e, false);
    pthread_mutex_lock(&e.f.mu); /* the server thread already serves */
    e.f.lists[e.f.nlists++] =
        strdup("{\"apiVersion\":\"example.dev/v1alpha1\",\"items\":[],\"kind\":\"WidgetList\","
               "\"metadata\":{\"continue\":\"\",\"resourceVersion\":\"400\"}}\n");
    pthread_mutex_unlock(&e.f.mu);
    WAIT_FOR(synced(&e));
    ck_assert_int_eq(notes_for(&e.f, "golden/alpha"), 1);
    int n = 0;
    struct kt_exchange *xs = kt_golden("13-too-old-rv.http", &n);
    const struct kt_exchange *x = kt_find(xs, n, "WATCH widgets with resourceVersion=1");
    push_line(&e.f, x->response_body);
    kt_exchanges_free(xs, n);
    /* relisted: alpha is gone, its deletion notified; the new watch starts at 400 */
    WAIT_FOR(notes_for(&e.f, "golden/alpha") == 2);
    ck_assert_ptr_null(e.src->get(e.src, "golden/alpha"));
    WAIT_FOR(watch_requests(&e) == 2);
    char w[2100];
    last_watch(&e, w, sizeof w);
    ck_assert_msg(strstr(w, "resourceVersion=400"), "%s", w);
    char *rv = kube_informer_resource_version(e.src);
    ck_assert_str_eq(rv, "400");
    free(rv);
    env_stop(&e);
}
END_TEST

START_TEST(test_a_cut_stream_resumes_from_the_last_event)
{
    struct env e;
    env_start(&e, false);
    WAIT_FOR(synced(&e));
    char **lines = NULL;
    int n = golden_watch_lines(&lines);
    push_line(&e.f, lines[0]); /* beta ADDED at 365 */
    push_line(&e.f, "DROP");
    WAIT_FOR(watch_requests(&e) == 2);
    char w[2100];
    last_watch(&e, w, sizeof w);
    ck_assert_msg(strstr(w, "resourceVersion=365"), "%s", w);
    struct kube_informer_stats st;
    kube_informer_stats(e.src, &st);
    ck_assert_uint_eq(st.lists, 1);
    ck_assert_int_eq(gen_of(&e, "golden/beta"), 1);
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    env_stop(&e);
}
END_TEST

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* After an outage (failed watches: the backoff grew to 1280 ms) a watch that
 * ends cleanly without events proves the server is back: the next failure
 * waits the initial backoff again, not 2560 ms. */
START_TEST(test_a_clean_watch_end_resets_the_backoff)
{
    struct env e;
    env_start_backoff(&e, false, 20, 5000);
    WAIT_FOR(synced(&e));
    for (int i = 0; i < 6; i++) /* backoffs 20, 40, 80, 160, 320, 640; next 1280 */
        push_line(&e.f, "DROP");
    push_line(&e.f, "END");
    WAIT_FOR(watch_requests(&e) == 8); /* 6 dropped, 1 clean, the 8th waiting */
    push_line(&e.f, "DROP");
    int64_t t0 = mono_ms();
    WAIT_FOR(watch_requests(&e) == 9);
    int64_t took = mono_ms() - t0;
    ck_assert_msg(took < 640, "the watch after a clean end and one failure came after %lld ms",
                  (long long)took);
    env_stop(&e);
}
END_TEST

START_TEST(test_an_inactive_informer_keeps_its_cache_but_notifies_only_once_active)
{
    struct env e;
    env_start(&e, true);
    WAIT_FOR(synced(&e));
    char **lines = NULL;
    int n = golden_watch_lines(&lines);
    push_line(&e.f, lines[0]);
    WAIT_FOR(gen_of(&e, "golden/beta") == 1);
    ck_assert_int_eq(notes_for(&e.f, "golden/alpha"), 0);
    ck_assert_int_eq(notes_for(&e.f, "golden/beta"), 0);
    kube_informer_set_active(e.src, true);
    ck_assert_int_eq(notes_for(&e.f, "golden/alpha"), 1);
    ck_assert_int_eq(notes_for(&e.f, "golden/beta"), 1);
    push_line(&e.f, lines[1]);
    WAIT_FOR(notes_for(&e.f, "golden/beta") == 2);
    kube_informer_set_active(e.src, false);
    push_line(&e.f, lines[3]); /* beta DELETED while standing by */
    WAIT_FOR(gen_of(&e, "golden/beta") == -1);
    ck_assert_int_eq(notes_for(&e.f, "golden/beta"), 2);
    kube_informer_set_active(e.src, true); /* the missed deletion is notified too */
    ck_assert_int_eq(notes_for(&e.f, "golden/beta"), 3);
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    env_stop(&e);
}
END_TEST

START_TEST(test_paths_of_the_resource)
{
    char b[256];
    ck_assert_str_eq(kube_shp_path(b, sizeof b, "ns", "a", "status"),
                     "/apis/selfheal.dev/v1alpha1/namespaces/ns/selfhealingpipelines/a/status");
    ck_assert_str_eq(kube_shp_path(b, sizeof b, NULL, NULL, NULL),
                     "/apis/selfheal.dev/v1alpha1/selfhealingpipelines");
}
END_TEST

Suite *kube_informer_suite(void)
{
    Suite *s = suite_create("kube_informer");
    TCase *tc = tcase_create("informer");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_golden_list_fills_the_cache_then_watches_from_its_resource_version);
    tcase_add_test(tc, test_golden_watch_notifies_adds_spec_changes_and_deletes_not_status_writes);
    tcase_add_test(tc, test_golden_410_error_event_relists_and_notices_deletions);
    tcase_add_test(tc, test_a_cut_stream_resumes_from_the_last_event);
    tcase_add_test(tc, test_a_clean_watch_end_resets_the_backoff);
    tcase_add_test(tc, test_an_inactive_informer_keeps_its_cache_but_notifies_only_once_active);
    tcase_add_test(tc, test_paths_of_the_resource);
    suite_add_tcase(s, tc);
    return s;
}
