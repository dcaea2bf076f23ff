/*
 * folder_source.c — the spec folder as a source of pipelines (folder_source.h).
 *
 * One mutex guards the three tables: `files` (name → what the file held the
 * last time it was read), `pipelines` (key → current snapshot) and `gens`
 * (key → generation bookkeeping). The watch thread (a watchloop,
 * runtime/watchloop.h, whose step polls inotify and the loop's wake fd)
 * rescans under the lock and calls notify for the changed keys after
 * releasing it.
 */
#include "local/folder_source.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strmap.h"
#include "base/yamljson.h"
#include "local/state.h"
#include "runtime/watchloop.h"

#define DEBOUNCE_MS 50
#define MAX_FILES 10000

struct file_entry {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    char **keys; /* the keys this file provided, NULL-terminated */
    bool seen;
};

struct gen_entry {
    int64_t generation;
    int64_t created_ms;
    char uid[40];
    cJSON *spec; /* the spec the generation was counted for */
    bool present;
};

struct folder_source {
    struct watchloop_source ws; /* first: the source, its lock `mu`, `snapshots` */
    char *specs_dir;
    char *state_dir;
    char *namespace_;
    const struct sh_clock *clock;
    int64_t resync_ms;

    /* guarded by ws.mu, like ws.snapshots (key → struct pipeline *) */
    struct strmap *files; /* file name → struct file_entry * */
    struct strmap *gens;  /* key → struct gen_entry * */
    struct strmap *dirty; /* file names inotify reported, forced re-read */

    source_notify_fn *notify;
    void *notify_ctx;
    int inotify_fd;
    struct watchloop *loop;
    int64_t next_resync; /* the loop's: monotonic time of the next full rescan */
};

static bool keylist_contains(const struct watchloop_keys *kl, const char *key)
{
    for (size_t i = 0; i < kl->n; i++)
        if (strcmp(kl->keys[i], key) == 0)
            return true;
    return false;
}

static void keylist_flush(struct folder_source *fs, struct watchloop_keys *kl)
{
    watchloop_keys_flush(kl, fs->notify, fs->notify_ctx);
}

static bool is_spec_file(const char *name)
{
    if (name[0] == '.')
        return false;
    const char *dot = strrchr(name, '.');
    return dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0 ||
                   strcmp(dot, ".json") == 0);
}

static void free_keys(char **keys)
{
    strmap_keys_free(keys);
}

static bool keys_contain(char **keys, const char *key)
{
    for (char **k = keys; k && *k; k++)
        if (strcmp(*k, key) == 0)
            return true;
    return false;
}

/* A DNS-1123 name made from a file name: "Broken Spec.yaml" → "broken-spec". */
static void name_from_file(const char *file, char *buf, size_t size)
{
    size_t j = 0;
    for (const char *c = file; *c && *c != '.' && j + 1 < size; c++) {
        char ch = *c;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
            ch = '-';
        buf[j++] = ch;
    }
    if (j == 0)
        buf[j++] = 'x';
    buf[j] = '\0';
}

/* Looks up (creating from the state folder) the generation entry of key and
 * counts a new generation when `spec` differs from the last one seen. */
static struct gen_entry *gen_lookup(struct folder_source *fs, const char *key, const cJSON *spec,
                                    int64_t now)
{
    struct gen_entry *g = strmap_get(fs->gens, key);
    if (!g) {
        g = calloc(1, sizeof *g);
        if (!g)
            return NULL;
        cJSON *doc = local_state_read(fs->state_dir, key);
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
        const cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generation");
        const char *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "uid"));
        const char *ct =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "creationTimestamp"));
        g->generation = cJSON_IsNumber(gen) ? (int64_t)gen->valuedouble : 0;
        if (!ct || clock_parse_rfc3339(ct, &g->created_ms) != 0)
            g->created_ms = now;
        if (uid && strlen(uid) < sizeof g->uid)
            snprintf(g->uid, sizeof g->uid, "%s", uid);
        else
            fs_uuid4(g->uid);
        const cJSON *old_spec = cJSON_GetObjectItemCaseSensitive(doc, "spec");
        if (old_spec)
            g->spec = cJSON_Duplicate(old_spec, true);
        cJSON_Delete(doc);
        if (strmap_put(fs->gens, key, g, NULL) != 0) {
            cJSON_Delete(g->spec);
            free(g);
            return NULL;
        }
    }
    g->present = true;
    if (spec && (!g->spec || !cJSON_Compare(g->spec, spec, true))) {
        cJSON *copy = cJSON_Duplicate(spec, true);
        if (copy) {
            cJSON_Delete(g->spec);
            g->spec = copy;
            g->generation++;
        }
    }
    if (g->generation < 1)
        g->generation = 1;
    return g;
}

/* Installs snapshot p (taken) for its key unless an equal one is there. */
static void install(struct folder_source *fs, struct pipeline *p, struct watchloop_keys *changed)
{
    struct pipeline *old = strmap_get(fs->ws.snapshots, p->key);
    if (old && old->valid == p->valid && old->generation == p->generation &&
        cJSON_Compare(old->object, p->object, true) &&
        ((!old->invalid_message && !p->invalid_message) ||
         (old->invalid_message && p->invalid_message &&
          strcmp(old->invalid_message, p->invalid_message) == 0))) {
        pipeline_unref(p);
        return;
    }
    if (strmap_put(fs->ws.snapshots, p->key, p, NULL) != 0) {
        pipeline_unref(p);
        return;
    }
    pipeline_unref(old);
    watchloop_keys_add_once(changed, p->key);
}

static void remove_key(struct folder_source *fs, const char *key, const char *file,
                       struct watchloop_keys *changed)
{
    struct pipeline *p = strmap_get(fs->ws.snapshots, key);
    if (!p || strcmp(p->source, file) != 0)
        return;
    strmap_remove(fs->ws.snapshots, key);
    pipeline_unref(p);
    struct gen_entry *g = strmap_get(fs->gens, key);
    if (g)
        g->present = false;
    watchloop_keys_add_once(changed, key);
}

/* Is key already provided by another file that still provides it? */
static const char *owned_elsewhere(struct folder_source *fs, const char *key, const char *path)
{
    struct pipeline *p = strmap_get(fs->ws.snapshots, key);
    if (!p || strcmp(p->source, path) == 0)
        return NULL;
    const char *base = strrchr(p->source, '/');
    struct file_entry *fe = strmap_get(fs->files, base ? base + 1 : p->source);
    return (fe && keys_contain(fe->keys, key)) ? p->source : NULL;
}

/* The file does not parse: every pipeline it provided (or, for a file never
 * seen valid, one named after the file) becomes Invalid with the parser's
 * message `why`. */
static void read_broken_file(struct folder_source *fs, const char *name, const char *path,
                             char **old_keys, const char *why, int64_t now,
                             struct watchloop_keys *provided, struct watchloop_keys *changed)
{
    char pseudo[256];
    size_t n_old = 0;
    for (char **k = old_keys; k && *k; k++)
        n_old++;
    if (n_old == 0) {
        char nm[200];
        name_from_file(name, nm, sizeof nm);
        pipeline_make_key(fs->namespace_, nm, pseudo, sizeof pseudo);
    }
    for (size_t i = 0; i < (n_old ? n_old : 1); i++) {
        const char *key = n_old ? old_keys[i] : pseudo;
        const char *slash = strchr(key, '/');
        struct gen_entry *g = gen_lookup(fs, key, NULL, now);
        if (!g || !slash)
            continue;
        char ns[128];
        snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
        struct pipeline *p =
            pipeline_new_invalid(ns, slash + 1, path, why, g->generation, g->created_ms);
        if (p) {
            watchloop_keys_add_once(provided, key);
            install(fs, p, changed);
        }
    }
}

/* Document idx of the file is not a pipeline with a name: an Invalid one
 * named after the file (and the document's index past the first). */
static void read_nameless_doc(struct folder_source *fs, const char *name, const char *path,
                              const cJSON *doc, int idx, int64_t now,
                              struct watchloop_keys *provided, struct watchloop_keys *changed)
{
    char key[PIPELINE_KEY_MAX], msg[512], fname[200];
    name_from_file(name, fname, sizeof fname);
    if (idx > 1) {
        size_t l = strlen(fname);
        snprintf(fname + l, sizeof fname - l, "-%d", idx);
    }
    if (snprintf(msg, sizeof msg, "%s: document %d: %s", path, idx,
                 cJSON_IsObject(doc) ? "metadata.name: is required"
                                     : "expected a SelfHealingPipeline object") >= (int)sizeof msg)
        msg[sizeof msg - 1] = '\0';
    pipeline_make_key(fs->namespace_, fname, key, sizeof key);
    struct gen_entry *g = gen_lookup(fs, key, NULL, now);
    struct pipeline *p =
        g ? pipeline_new_invalid(fs->namespace_, fname, path, msg, g->generation, g->created_ms)
          : NULL;
    if (p) {
        watchloop_keys_add_once(provided, key);
        install(fs, p, changed);
    }
    log_error(key, "%s", msg);
}

/* Document idx of the file names pipeline `key`: its snapshot, with the
 * generation counted and the uid kept, unless another file or an earlier
 * document of this one provides the key already. */
static void read_named_doc(struct folder_source *fs, const char *path, const cJSON *doc, int idx,
                           const char *key, int64_t now, struct watchloop_keys *provided,
                           struct watchloop_keys *changed)
{
    const char *other = owned_elsewhere(fs, key, path);
    if (other || keylist_contains(provided, key)) {
        log_error(key, "%s: document %d: duplicate of the pipeline in %s; ignored", path, idx,
                  other ? other : path);
        return;
    }
    struct gen_entry *g = gen_lookup(fs, key, cJSON_GetObjectItemCaseSensitive(doc, "spec"), now);
    if (!g)
        return;
    cJSON *obj = cJSON_Duplicate(doc, true);
    if (!obj)
        return;
    cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    cJSON_DeleteItemFromObjectCaseSensitive(m, "uid");
    cJSON_AddStringToObject(m, "uid", g->uid);
    struct pipeline *p = NULL;
    char *perr = NULL;
    if (pipeline_new(obj, path, fs->namespace_, g->generation, g->created_ms, &p, &perr) == 0) {
        if (!p->valid)
            log_error(key, "invalid spec in %s: %s", path, p->invalid_message);
        watchloop_keys_add_once(provided, key);
        install(fs, p, changed);
    }
    free(perr);
}

/* The list's keys as an owned NULL-terminated array (NULL when out of
 * memory); empties the list. */
static char **keys_take(struct watchloop_keys *kl)
{
    char **keys = calloc(kl->n + 1, sizeof *keys);
    if (keys)
        memcpy(keys, kl->keys, kl->n * sizeof *keys);
    else
        for (size_t i = 0; i < kl->n; i++)
            free(kl->keys[i]);
    free(kl->keys);
    memset(kl, 0, sizeof *kl);
    return keys;
}

/* Builds the snapshots of one file; returns the keys it provides (owned). */
static char **read_file(struct folder_source *fs, const char *name, const char *path,
                        char **old_keys, int64_t now, struct watchloop_keys *changed)
{
    struct watchloop_keys provided = {0};
    cJSON *docs = NULL;
    char *err = NULL;
    int r = spec_file_parse(path, &docs, &err);
    if (r != 0) {
        log_error(NULL, "%s", err ? err : sh_strerror(r));
        read_broken_file(fs, name, path, old_keys, err ? err : sh_strerror(r), now, &provided,
                         changed);
        free(err);
        cJSON_Delete(docs);
        return keys_take(&provided);
    }
    int idx = 0;
    const cJSON *doc;
    cJSON_ArrayForEach(doc, docs)
    {
        idx++;
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
        const char *nm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
        const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "namespace"));
        if (!cJSON_IsObject(doc) || !nm || !*nm) {
            read_nameless_doc(fs, name, path, doc, idx, now, &provided, changed);
            continue;
        }
        char key[PIPELINE_KEY_MAX];
        pipeline_make_key(ns && *ns ? ns : fs->namespace_, nm, key, sizeof key);
        read_named_doc(fs, path, doc, idx, key, now, &provided, changed);
    }
    cJSON_Delete(docs);
    return keys_take(&provided);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the spec files of the folder, sorted. Returns NULL on failure. */
static char **list_files(const char *dir, size_t *ret_n)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    size_t n = 0, cap = 16;
    char **names = calloc(cap + 1, sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d)) && n < MAX_FILES) {
        if (!is_spec_file(e->d_name))
            continue;
        if (n == cap) {
            cap *= 2;
            char **nn = realloc(names, (cap + 1) * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        names[n] = strdup(e->d_name);
        if (names[n])
            n++;
    }
    closedir(d);
    if (!names)
        return NULL;
    names[n] = NULL;
    qsort(names, n, sizeof *names, cmp_name);
    *ret_n = n;
    return names;
}

static void drop_file(struct folder_source *fs, const char *name, struct watchloop_keys *changed)
{
    struct file_entry *fe = strmap_remove(fs->files, name);
    if (!fe)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fs->specs_dir, name);
    for (char **k = fe->keys; k && *k; k++)
        remove_key(fs, *k, path, changed);
    free_keys(fe->keys);
    free(fe);
}

static void unseen_collect(void *ctx, const char *key, void *value)
{
    struct watchloop_keys *kl = ctx;
    struct file_entry *fe = value;
    if (!fe->seen)
        watchloop_keys_add_once(kl, key);
}

static void rescan_locked(struct folder_source *fs, struct watchloop_keys *changed)
{
    size_t n = 0;
    char **names = list_files(fs->specs_dir, &n);
    if (!names) {
        log_error(NULL, "specs folder %s: %s (keeping the pipelines as they were)",
                  fs->specs_dir, strerror(errno));
        return;
    }
    int64_t now = clock_now_ms(fs->clock);
    struct stat *sts = calloc(n + 1, sizeof *sts);
    bool *ok = calloc(n + 1, sizeof *ok);
    if (!sts || !ok) {
        free(sts);
        free(ok);
        strmap_keys_free(names);
        return;
    }
    /* pass 1: which files still exist; drop the ones that went away first,
     * so a renamed file's pipelines move to the new name */
    struct watchloop_keys gone = {0};
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", fs->specs_dir, names[i]);
        ok[i] = stat(path, &sts[i]) == 0 && S_ISREG(sts[i].st_mode);
        struct file_entry *fe = strmap_get(fs->files, names[i]);
        if (fe && ok[i])
            fe->seen = true;
    }
    strmap_foreach(fs->files, unseen_collect, &gone);
    for (size_t i = 0; i < gone.n; i++) {
        drop_file(fs, gone.keys[i], changed);
        free(gone.keys[i]);
    }
    free(gone.keys);

    /* pass 2: (re)read new and changed files */
    for (size_t i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        struct file_entry *fe = strmap_get(fs->files, names[i]);
        bool forced = strmap_get(fs->dirty, names[i]) != NULL;
        if (fe && !forced && fe->dev == sts[i].st_dev && fe->ino == sts[i].st_ino &&
            fe->size == sts[i].st_size && fe->mtime.tv_sec == sts[i].st_mtim.tv_sec &&
            fe->mtime.tv_nsec == sts[i].st_mtim.tv_nsec) {
            fe->seen = false;
            continue;
        }
        if (!fe) {
            fe = calloc(1, sizeof *fe);
            if (!fe || strmap_put(fs->files, names[i], fe, NULL) != 0) {
                free(fe);
                continue;
            }
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", fs->specs_dir, names[i]);
        char **keys = read_file(fs, names[i], path, fe->keys, now, changed);
        for (char **k = fe->keys; k && *k; k++)
            if (!keys_contain(keys, *k))
                remove_key(fs, *k, path, changed);
        free_keys(fe->keys);
        fe->keys = keys;
        fe->dev = sts[i].st_dev;
        fe->ino = sts[i].st_ino;
        fe->size = sts[i].st_size;
        fe->mtime = sts[i].st_mtim;
        fe->seen = false;
    }
    free(sts);
    free(ok);
    strmap_keys_free(names);
    char **dirty = strmap_keys(fs->dirty, NULL);
    for (char **d = dirty; d && *d; d++)
        strmap_remove(fs->dirty, *d);
    strmap_keys_free(dirty);
}

void folder_source_rescan(struct source *src)
{
    struct folder_source *fs = (struct folder_source *)src;
    struct watchloop_keys changed = {0};
    pthread_mutex_lock(&fs->ws.mu);
    rescan_locked(fs, &changed);
    pthread_mutex_unlock(&fs->ws.mu);
    keylist_flush(fs, &changed);
}

/* Reads pending inotify events, marking the named files dirty. Returns
 * true when something relevant happened. */
static bool drain_inotify(struct folder_source *fs)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool any = false;
    for (;;) {
        ssize_t len = read(fs->inotify_fd, buf, sizeof buf);
        if (len <= 0)
            break;
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->len > 0 && is_spec_file(ev->name)) {
                pthread_mutex_lock(&fs->ws.mu);
                strmap_put(fs->dirty, ev->name, fs, NULL);
                pthread_mutex_unlock(&fs->ws.mu);
                any = true;
            }
            if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW))
                any = true;
            p += sizeof *ev + ev->len;
        }
    }
    return any;
}

/* The loop's step: waits for inotify events (or the next full rescan),
 * lets a burst settle, rescans. Ends the loop when stopped or when poll()
 * fails. */
static enum watchloop_next watch_step(void *arg, struct watchloop *wl)
{
    struct folder_source *fs = arg;
    struct pollfd pfd[2] = {{.fd = watchloop_wake_fd(wl), .events = POLLIN},
                            {.fd = fs->inotify_fd, .events = POLLIN}};
    int64_t wait = fs->next_resync - clock_monotonic_ms();
    if (wait < 0)
        wait = 0;
    int nfds = fs->inotify_fd >= 0 ? 2 : 1;
    int r = poll(pfd, (nfds_t)nfds, (int)wait);
    if (r < 0 && errno != EINTR)
        return WATCHLOOP_STOP;
    if (pfd[0].revents)
        return WATCHLOOP_STOP;
    bool changed = false;
    if (nfds == 2 && (pfd[1].revents & POLLIN)) {
        changed = drain_inotify(fs);
        /* debounce: wait until the folder is quiet for DEBOUNCE_MS (bounded) */
        for (int i = 0; i < 10; i++) {
            struct pollfd q = {.fd = fs->inotify_fd, .events = POLLIN};
            if (poll(&q, 1, DEBOUNCE_MS) <= 0)
                break;
            changed |= drain_inotify(fs);
        }
    }
    if (changed || clock_monotonic_ms() >= fs->next_resync) {
        folder_source_rescan(&fs->ws.base);
        fs->next_resync = clock_monotonic_ms() + fs->resync_ms;
    }
    return WATCHLOOP_AGAIN;
}

static int fs_start(struct source *src, source_notify_fn *notify, void *ctx, char **ret_err)
{
    struct folder_source *fs = (struct folder_source *)src;
    struct stat st;
    if (stat(fs->specs_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        int e = S_ISDIR(st.st_mode) ? errno : ENOTDIR;
        if (ret_err && asprintf(ret_err, "specs folder %s: %s", fs->specs_dir, strerror(e)) < 0)
            *ret_err = NULL;
        return SH_EIO;
    }
    fs->notify = notify;
    fs->notify_ctx = ctx;
    fs->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fs->inotify_fd >= 0 &&
        inotify_add_watch(fs->inotify_fd, fs->specs_dir,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
                              IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
        log_warn(NULL, "inotify on %s: %s; falling back to rescans every %lld ms", fs->specs_dir,
                 strerror(errno), (long long)fs->resync_ms);
        close(fs->inotify_fd);
        fs->inotify_fd = -1;
    }
    folder_source_rescan(src);
    watchloop_source_set_synced(&fs->ws);
    fs->next_resync = clock_monotonic_ms() + fs->resync_ms;
    return watchloop_start(fs->loop, ret_err);
}

static void fs_stop(struct source *src)
{
    struct folder_source *fs = (struct folder_source *)src;
    if (fs->loop)
        watchloop_stop(fs->loop);
}

static void free_file_entry(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    struct file_entry *fe = value;
    free_keys(fe->keys);
    free(fe);
}

static void free_gen_entry(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    struct gen_entry *g = value;
    cJSON_Delete(g->spec);
    free(g);
}

static void fs_free(struct source *src)
{
    struct folder_source *fs = (struct folder_source *)src;
    if (!fs)
        return;
    fs_stop(src);
    if (fs->files)
        strmap_foreach(fs->files, free_file_entry, NULL);
    if (fs->gens)
        strmap_foreach(fs->gens, free_gen_entry, NULL);
    strmap_free(fs->files);
    strmap_free(fs->gens);
    strmap_free(fs->dirty);
    if (fs->inotify_fd >= 0)
        close(fs->inotify_fd);
    watchloop_free(fs->loop);
    watchloop_source_destroy(&fs->ws);
    free(fs->specs_dir);
    free(fs->state_dir);
    free(fs->namespace_);
    free(fs);
}

int folder_source_new(const struct folder_source_options *opts, struct source **ret)
{
    struct folder_source *fs = calloc(1, sizeof *fs);
    if (!fs)
        return SH_ENOMEM;
    int r = watchloop_source_init(&fs->ws, fs_start, fs_stop, fs_free);
    fs->inotify_fd = -1;
    fs->clock = opts->clock;
    fs->resync_ms = opts->resync_ms > 0 ? opts->resync_ms : 10000;
    fs->specs_dir = strdup(opts->specs_dir);
    fs->state_dir = strdup(opts->state_dir);
    fs->namespace_ = strdup(opts->namespace_ ? opts->namespace_ : "default");
    fs->files = strmap_new();
    fs->gens = strmap_new();
    fs->dirty = strmap_new();
    if (r == 0)
        r = watchloop_new(&(struct watchloop_options){.name = "folder watch",
                                                      .step = watch_step, .ctx = fs},
                          &fs->loop);
    if (r != 0 || !fs->specs_dir || !fs->state_dir || !fs->namespace_ || !fs->files ||
        !fs->gens || !fs->dirty) {
        fs_free(&fs->ws.base);
        return SH_ENOMEM;
    }
    *ret = &fs->ws.base;
    return 0;
}
