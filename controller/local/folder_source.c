/*
 * folder_source.c — the spec folder as a source of pipelines (folder_source.h).
 *
 * One mutex guards the three tables: `files` (name → what the file held the
 * last time it was read), `pipelines` (key → current snapshot) and `gens`
 * (key → generation bookkeeping). The watch thread rescans under the lock and
 * calls notify for the changed keys after releasing it.
 */
#include "local/folder_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include "local/state.h"
#include "base/log.h"
#include "base/strmap.h"
#include "base/yamljson.h"

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
    struct source base;
    char *specs_dir;
    char *state_dir;
    char *namespace_;
    const struct sh_clock *clock;
    int64_t resync_ms;

    pthread_mutex_t mu;
    struct strmap *files;     /* file name → struct file_entry * */
    struct strmap *pipelines; /* key → struct pipeline * */
    struct strmap *gens;      /* key → struct gen_entry * */
    struct strmap *dirty;     /* file names inotify reported, forced re-read */
    bool synced;

    source_notify_fn *notify;
    void *notify_ctx;
    int inotify_fd;
    int wake[2];
    pthread_t thread;
    bool running;
};

/* A growable list of keys to notify once the lock is released. */
struct keylist {
    char **keys;
    size_t n, cap;
};

static bool keylist_contains(const struct keylist *kl, const char *key);

static void keylist_add(struct keylist *kl, const char *key)
{
    if (keylist_contains(kl, key))
        return;
    if (kl->n == kl->cap) {
        size_t cap = kl->cap ? kl->cap * 2 : 16;
        char **nk = realloc(kl->keys, cap * sizeof *nk);
        if (!nk)
            return;
        kl->keys = nk;
        kl->cap = cap;
    }
    char *k = strdup(key);
    if (k)
        kl->keys[kl->n++] = k;
}

static bool keylist_contains(const struct keylist *kl, const char *key)
{
    for (size_t i = 0; i < kl->n; i++)
        if (strcmp(kl->keys[i], key) == 0)
            return true;
    return false;
}

static void keylist_flush(struct folder_source *fs, struct keylist *kl)
{
    for (size_t i = 0; i < kl->n; i++) {
        if (fs->notify)
            fs->notify(fs->notify_ctx, kl->keys[i]);
        free(kl->keys[i]);
    }
    free(kl->keys);
    memset(kl, 0, sizeof *kl);
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
static void install(struct folder_source *fs, struct pipeline *p, struct keylist *changed)
{
    struct pipeline *old = strmap_get(fs->pipelines, p->key);
    if (old && old->valid == p->valid && old->generation == p->generation &&
        cJSON_Compare(old->object, p->object, true) &&
        ((!old->invalid_message && !p->invalid_message) ||
         (old->invalid_message && p->invalid_message &&
          strcmp(old->invalid_message, p->invalid_message) == 0))) {
        pipeline_unref(p);
        return;
    }
    if (strmap_put(fs->pipelines, p->key, p, NULL) != 0) {
        pipeline_unref(p);
        return;
    }
    pipeline_unref(old);
    keylist_add(changed, p->key);
}

static void remove_key(struct folder_source *fs, const char *key, const char *file,
                       struct keylist *changed)
{
    struct pipeline *p = strmap_get(fs->pipelines, key);
    if (!p || strcmp(p->source, file) != 0)
        return;
    strmap_remove(fs->pipelines, key);
    pipeline_unref(p);
    struct gen_entry *g = strmap_get(fs->gens, key);
    if (g)
        g->present = false;
    keylist_add(changed, key);
}

/* Is key already provided by another file that still provides it? */
static const char *owned_elsewhere(struct folder_source *fs, const char *key, const char *path)
{
    struct pipeline *p = strmap_get(fs->pipelines, key);
    if (!p || strcmp(p->source, path) == 0)
        return NULL;
    const char *base = strrchr(p->source, '/');
    struct file_entry *fe = strmap_get(fs->files, base ? base + 1 : p->source);
    return (fe && keys_contain(fe->keys, key)) ? p->source : NULL;
}

/* Builds the snapshots of one file; returns the keys it provides (owned). */
static char **read_file(struct folder_source *fs, const char *name, const char *path,
                        char **old_keys, int64_t now, struct keylist *changed)
{
    struct keylist provided = {0};
    cJSON *docs = NULL;
    char *err = NULL;
    int r = spec_file_parse(path, &docs, &err);
    if (r != 0) {
        log_error(NULL, "%s", err ? err : sh_strerror(r));
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
            struct pipeline *p = pipeline_new_invalid(ns, slash + 1, path,
                                                      err ? err : sh_strerror(r), g->generation,
                                                      g->created_ms);
            if (p) {
                keylist_add(&provided, key);
                install(fs, p, changed);
            }
        }
        free(err);
        goto out;
    }

    int idx = 0;
    cJSON *doc;
    cJSON_ArrayForEach(doc, docs)
    {
        idx++;
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
        const char *nm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
        const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "namespace"));
        char key[PIPELINE_KEY_MAX], msg[512], fname[200];
        if (!cJSON_IsObject(doc) || !nm || !*nm) {
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
            struct pipeline *p = g ? pipeline_new_invalid(fs->namespace_, fname, path, msg,
                                                          g->generation, g->created_ms)
                                   : NULL;
            if (p) {
                keylist_add(&provided, key);
                install(fs, p, changed);
            }
            log_error(key, "%s", msg);
            continue;
        }
        pipeline_make_key(ns && *ns ? ns : fs->namespace_, nm, key, sizeof key);
        const char *other = owned_elsewhere(fs, key, path);
        if (other || keylist_contains(&provided, key)) {
            log_error(key, "%s: document %d: duplicate of the pipeline in %s; ignored", path, idx,
                      other ? other : path);
            continue;
        }
        struct gen_entry *g =
            gen_lookup(fs, key, cJSON_GetObjectItemCaseSensitive(doc, "spec"), now);
        if (!g)
            continue;
        cJSON *obj = cJSON_Duplicate(doc, true);
        if (!obj)
            continue;
        cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
        cJSON_DeleteItemFromObjectCaseSensitive(m, "uid");
        cJSON_AddStringToObject(m, "uid", g->uid);
        struct pipeline *p = NULL;
        char *perr = NULL;
        if (pipeline_new(obj, path, fs->namespace_, g->generation, g->created_ms, &p, &perr) ==
            0) {
            if (!p->valid)
                log_error(key, "invalid spec in %s: %s", path, p->invalid_message);
            keylist_add(&provided, key);
            install(fs, p, changed);
        }
        free(perr);
    }
out:
    cJSON_Delete(docs);
    /* a NULL-terminated, owned copy of the provided keys */
    char **keys = calloc(provided.n + 1, sizeof *keys);
    if (keys)
        memcpy(keys, provided.keys, provided.n * sizeof *keys);
    else
        for (size_t i = 0; i < provided.n; i++)
            free(provided.keys[i]);
    free(provided.keys);
    return keys;
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

static void drop_file(struct folder_source *fs, const char *name, struct keylist *changed)
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
    struct keylist *kl = ctx;
    struct file_entry *fe = value;
    if (!fe->seen)
        keylist_add(kl, key);
}

static void rescan_locked(struct folder_source *fs, struct keylist *changed)
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
    struct keylist gone = {0};
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
    struct keylist changed = {0};
    pthread_mutex_lock(&fs->mu);
    rescan_locked(fs, &changed);
    pthread_mutex_unlock(&fs->mu);
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
                pthread_mutex_lock(&fs->mu);
                strmap_put(fs->dirty, ev->name, fs, NULL);
                pthread_mutex_unlock(&fs->mu);
                any = true;
            }
            if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW))
                any = true;
            p += sizeof *ev + ev->len;
        }
    }
    return any;
}

static void *watch_thread(void *arg)
{
    struct folder_source *fs = arg;
    int64_t next_resync = clock_monotonic_ms() + fs->resync_ms;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = fs->wake[0], .events = POLLIN},
                                {.fd = fs->inotify_fd, .events = POLLIN}};
        int64_t wait = next_resync - clock_monotonic_ms();
        if (wait < 0)
            wait = 0;
        int nfds = fs->inotify_fd >= 0 ? 2 : 1;
        int r = poll(pfd, (nfds_t)nfds, (int)wait);
        if (r < 0 && errno != EINTR)
            break;
        if (pfd[0].revents)
            break;
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
        if (changed || clock_monotonic_ms() >= next_resync) {
            folder_source_rescan(&fs->base);
            next_resync = clock_monotonic_ms() + fs->resync_ms;
        }
    }
    return NULL;
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
    if (pipe2(fs->wake, O_CLOEXEC) != 0) {
        if (ret_err && asprintf(ret_err, "pipe: %s", strerror(errno)) < 0)
            *ret_err = NULL;
        return SH_EIO;
    }
    folder_source_rescan(src);
    pthread_mutex_lock(&fs->mu);
    fs->synced = true;
    pthread_mutex_unlock(&fs->mu);
    if (pthread_create(&fs->thread, NULL, watch_thread, fs) != 0) {
        if (ret_err)
            *ret_err = strdup("cannot start the folder watch thread");
        return SH_ENOMEM;
    }
    fs->running = true;
    return 0;
}

static struct pipeline *fs_get(struct source *src, const char *key)
{
    struct folder_source *fs = (struct folder_source *)src;
    pthread_mutex_lock(&fs->mu);
    struct pipeline *p = pipeline_ref(strmap_get(fs->pipelines, key));
    pthread_mutex_unlock(&fs->mu);
    return p;
}

static bool fs_has_synced(struct source *src)
{
    struct folder_source *fs = (struct folder_source *)src;
    pthread_mutex_lock(&fs->mu);
    bool s = fs->synced;
    pthread_mutex_unlock(&fs->mu);
    return s;
}

static char **fs_keys(struct source *src, size_t *ret_count)
{
    struct folder_source *fs = (struct folder_source *)src;
    pthread_mutex_lock(&fs->mu);
    char **k = strmap_keys(fs->pipelines, ret_count);
    pthread_mutex_unlock(&fs->mu);
    return k;
}

static void fs_stop(struct source *src)
{
    struct folder_source *fs = (struct folder_source *)src;
    if (!fs->running)
        return;
    ssize_t w = write(fs->wake[1], "x", 1);
    (void)w;
    pthread_join(fs->thread, NULL);
    fs->running = false;
}

static void free_pipeline_entry(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    pipeline_unref(value);
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
    if (fs->pipelines)
        strmap_foreach(fs->pipelines, free_pipeline_entry, NULL);
    if (fs->files)
        strmap_foreach(fs->files, free_file_entry, NULL);
    if (fs->gens)
        strmap_foreach(fs->gens, free_gen_entry, NULL);
    strmap_free(fs->pipelines);
    strmap_free(fs->files);
    strmap_free(fs->gens);
    strmap_free(fs->dirty);
    if (fs->inotify_fd >= 0)
        close(fs->inotify_fd);
    if (fs->wake[0] >= 0) {
        close(fs->wake[0]);
        close(fs->wake[1]);
    }
    pthread_mutex_destroy(&fs->mu);
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
    fs->base.start = fs_start;
    fs->base.get = fs_get;
    fs->base.has_synced = fs_has_synced;
    fs->base.keys = fs_keys;
    fs->base.stop = fs_stop;
    fs->base.free = fs_free;
    fs->inotify_fd = -1;
    fs->wake[0] = fs->wake[1] = -1;
    pthread_mutex_init(&fs->mu, NULL);
    fs->clock = opts->clock;
    fs->resync_ms = opts->resync_ms > 0 ? opts->resync_ms : 10000;
    fs->specs_dir = strdup(opts->specs_dir);
    fs->state_dir = strdup(opts->state_dir);
    fs->namespace_ = strdup(opts->namespace_ ? opts->namespace_ : "default");
    fs->files = strmap_new();
    fs->pipelines = strmap_new();
    fs->gens = strmap_new();
    fs->dirty = strmap_new();
    if (!fs->specs_dir || !fs->state_dir || !fs->namespace_ || !fs->files || !fs->pipelines ||
        !fs->gens || !fs->dirty) {
        fs_free(&fs->base);
        return SH_ENOMEM;
    }
    *ret = &fs->base;
    return 0;
}
