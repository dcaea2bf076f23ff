/*
 * folder_source.c — the spec folder as a source of pipelines (folder_source.h).
 *
 * One mutex guards the tables: `files` (name → what the file held the
 * last time it was read), `pipelines` (key → current snapshot), `gens`
 * (key → generation bookkeeping), `dirty` (names inotify reported) and
 * `retry` (names whose read is retried once they settle). The watch thread
 * (a watchloop, runtime/watchloop.h, whose step polls inotify and the loop's
 * wake fd) re-reads only the files inotify named, under the lock, and calls
 * notify for the changed keys after releasing it; the whole folder is
 * rescanned at start, on SIGHUP, on an inotify overflow and every resync
 * period (the safety net: files changed without an event).
 *
 * Half-written files: a file is read when its writer closes it
 * (IN_CLOSE_WRITE) or renames it into place (IN_MOVED_TO), never on
 * IN_CREATE or IN_MODIFY; the periodic rescan leaves alone a file modified
 * within the last SETTLE_MS (its close event is on its way). A file that
 * fails to parse within SETTLE_MS of its last modification keeps the
 * pipelines it last provided and is read again once it has settled: only a
 * file that stays broken makes them Invalid.
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

#define DEBOUNCE_MS 2 /* a burst of events is read as one, after this much quiet */
#define SETTLE_MS 500 /* a file modified more recently may still be being written */
#define MAX_FILES 100000

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
    /* the spec the generation was counted for: the one in `last` (a
     * reference, not a copy: usually the installed snapshot itself), or,
     * before the file's first read, the one the state folder held */
    struct pipeline *last;
    cJSON *state_spec;
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
    struct strmap *retry; /* file names that failed to parse mid-write */

    source_notify_fn *notify;
    void *notify_ctx;
    int inotify_fd;
    struct watchloop *loop;
    int64_t next_resync; /* the loop's: monotonic time of the next full rescan */
    int64_t next_retry;  /* guarded by ws.mu: monotonic time to re-read `retry` */
    bool rescan_all;     /* the loop's: inotify overflowed or the folder moved */
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
        g->state_spec = cJSON_DetachItemFromObjectCaseSensitive(doc, "spec");
        cJSON_Delete(doc);
        if (strmap_put(fs->gens, key, g, NULL) != 0) {
            cJSON_Delete(g->state_spec);
            free(g);
            return NULL;
        }
    }
    if (spec) {
        cJSON *last = g->last ? pipeline_object_copy(g->last) : NULL;
        const cJSON *counted =
            g->last ? cJSON_GetObjectItemCaseSensitive(last, "spec") : g->state_spec;
        if (!counted || !cJSON_Compare(counted, spec, true))
            g->generation++;
        cJSON_Delete(last);
    }
    if (g->generation < 1)
        g->generation = 1;
    return g;
}

/* Installs snapshot p (taken) for its key unless an equal one is there. */
static void install(struct folder_source *fs, struct pipeline *p, struct watchloop_keys *changed)
{
    /* the source holds a snapshot per pipeline: as compact text, not a tree */
    (void)pipeline_compact(p);
    struct pipeline *old = strmap_get(fs->ws.snapshots, p->key);
    if (old && old->valid == p->valid && old->generation == p->generation &&
        pipeline_same_object(old, p) &&
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
    /* no search for a duplicate (O(n) per key: O(n²) for a folder of
     * 10,000 files read at once); a key notified twice is queued once */
    watchloop_keys_add(changed, p->key);
}

static void free_gen_entry(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    struct gen_entry *g = value;
    pipeline_unref(g->last);
    cJSON_Delete(g->state_spec);
    free(g);
}

static void remove_key(struct folder_source *fs, const char *key, const char *file,
                       struct watchloop_keys *changed)
{
    struct pipeline *p = strmap_get(fs->ws.snapshots, key);
    if (!p || strcmp(p->source, file) != 0)
        return;
    strmap_remove(fs->ws.snapshots, key);
    pipeline_unref(p);
    /* its generation bookkeeping goes with it (the state folder keeps what
     * survives): a source that has seen many names holds only the live ones */
    struct gen_entry *g = strmap_remove(fs->gens, key);
    if (g)
        free_gen_entry(NULL, key, g);
    watchloop_keys_add(changed, key);
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
static void read_named_doc(struct folder_source *fs, const char *path, cJSON *docs, cJSON *doc,
                           int idx, const char *key, int64_t now,
                           struct watchloop_keys *provided, struct watchloop_keys *changed)
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
    /* the snapshot takes the parsed document itself: no copy */
    cJSON *obj = cJSON_DetachItemViaPointer(docs, doc);
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
        /* the generation's reference spec: the installed snapshot's */
        struct pipeline *cur = strmap_get(fs->ws.snapshots, key);
        if (cur && cur != g->last) {
            pipeline_unref(g->last);
            g->last = pipeline_ref(cur);
            cJSON_Delete(g->state_spec);
            g->state_spec = NULL;
        }
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

static char **keys_copy(char **keys)
{
    size_t n = 0;
    while (keys && keys[n])
        n++;
    char **c = calloc(n + 1, sizeof *c);
    for (size_t i = 0; c && i < n; i++)
        if (!(c[i] = strdup(keys[i]))) {
            strmap_keys_free(c);
            return NULL;
        }
    return c;
}

/* Was the file modified within the last SETTLE_MS (wall clock, as file
 * times are)? */
static bool still_settling(const struct stat *st)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t age_ms = ((int64_t)now.tv_sec - st->st_mtim.tv_sec) * 1000 +
                     (now.tv_nsec - st->st_mtim.tv_nsec) / 1000000;
    return age_ms < SETTLE_MS;
}

/* Builds the snapshots of one file; returns the keys it provides (owned).
 * A file that does not parse but provided pipelines before and is still
 * settling (a writer may be half-way through it) keeps them: *ret_retry is
 * set and the old keys are returned. */
static char **read_file(struct folder_source *fs, const char *name, const char *path,
                        const struct stat *st, char **old_keys, int64_t now,
                        struct watchloop_keys *changed, bool *ret_retry)
{
    struct watchloop_keys provided = {0};
    cJSON *docs = NULL;
    char *err = NULL;
    *ret_retry = false;
    int r = spec_file_parse(path, &docs, &err);
    if (r != 0 && old_keys && old_keys[0] && still_settling(st)) {
        char **keep = keys_copy(old_keys);
        if (keep) {
            log_warn(NULL, "%s does not parse yet (%s); keeping its last good spec, reading it "
                           "again in %d ms",
                     path, err ? err : sh_strerror(r), SETTLE_MS);
            free(err);
            cJSON_Delete(docs);
            *ret_retry = true;
            return keep;
        }
    }
    if (r != 0) {
        log_error(NULL, "%s", err ? err : sh_strerror(r));
        read_broken_file(fs, name, path, old_keys, err ? err : sh_strerror(r), now, &provided,
                         changed);
        free(err);
        cJSON_Delete(docs);
        return keys_take(&provided);
    }
    int idx = 0;
    for (cJSON *doc = docs ? docs->child : NULL, *next; doc; doc = next) {
        next = doc->next; /* read_named_doc takes doc out of the list */
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
        read_named_doc(fs, path, docs, doc, idx, key, now, &provided, changed);
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
        watchloop_keys_add(kl, key); /* map keys: unique */
}

/* (Re)reads one existing file whose stat is st and records what it held.
 * `forced`: read even when the stat says unchanged (inotify named it). */
static void read_one(struct folder_source *fs, const char *name, const struct stat *st,
                     bool forced, int64_t now, struct watchloop_keys *changed)
{
    struct file_entry *fe = strmap_get(fs->files, name);
    if (fe && !forced && fe->dev == st->st_dev && fe->ino == st->st_ino &&
        fe->size == st->st_size && fe->mtime.tv_sec == st->st_mtim.tv_sec &&
        fe->mtime.tv_nsec == st->st_mtim.tv_nsec)
        return;
    if (!fe) {
        fe = calloc(1, sizeof *fe);
        if (!fe || strmap_put(fs->files, name, fe, NULL) != 0) {
            free(fe);
            return;
        }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fs->specs_dir, name);
    bool retry = false;
    char **keys = read_file(fs, name, path, st, fe->keys, now, changed, &retry);
    for (char **k = fe->keys; k && *k; k++)
        if (!keys_contain(keys, *k))
            remove_key(fs, *k, path, changed);
    free_keys(fe->keys);
    fe->keys = keys;
    if (retry) {
        /* not recorded as read: the retry (or the next rescan) reads it */
        memset(&fe->mtime, 0, sizeof fe->mtime);
        strmap_put(fs->retry, name, fs, NULL);
        fs->next_retry = clock_monotonic_ms() + SETTLE_MS;
        return;
    }
    strmap_remove(fs->retry, name);
    fe->dev = st->st_dev;
    fe->ino = st->st_ino;
    fe->size = st->st_size;
    fe->mtime = st->st_mtim;
}

static void clear_map(struct strmap *m)
{
    char **names = strmap_keys(m, NULL);
    for (char **d = names; d && *d; d++)
        strmap_remove(m, *d);
    strmap_keys_free(names);
}

/* The whole folder. `settle`: leave alone files modified within SETTLE_MS
 * that inotify has not named (the periodic rescan: their close event is on
 * its way, and they may be half-written). */
static void rescan_locked(struct folder_source *fs, bool settle, struct watchloop_keys *changed)
{
    size_t n = 0;
    char **names = list_files(fs->specs_dir, &n);
    if (!names) {
        log_error(NULL, "specs folder %s: %s (keeping the pipelines as they were)",
                  fs->specs_dir, strerror(errno));
        return;
    }
    if (n == MAX_FILES)
        log_warn(NULL, "specs folder %s: more than %d spec files; reading the first %d",
                 fs->specs_dir, MAX_FILES, MAX_FILES);
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
    for (size_t i = 0; i < n; i++) {
        struct file_entry *fe = strmap_get(fs->files, names[i]);
        if (fe)
            fe->seen = false;
    }

    /* pass 2: (re)read new and changed files */
    for (size_t i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        bool forced = strmap_get(fs->dirty, names[i]) != NULL;
        if (settle && !forced && still_settling(&sts[i]))
            continue;
        read_one(fs, names[i], &sts[i], forced, now, changed);
    }
    free(sts);
    free(ok);
    strmap_keys_free(names);
    clear_map(fs->dirty);
}

/* Only the files inotify named (and those due for a retry): the ones gone
 * first, so a renamed file's pipelines move to the new name. O(changed
 * files), whatever the size of the folder. */
static void read_dirty_locked(struct folder_source *fs, struct watchloop_keys *changed)
{
    size_t n = 0;
    char **names = strmap_keys(fs->dirty, &n);
    clear_map(fs->dirty);
    if (!names)
        return;
    int64_t now = clock_now_ms(fs->clock);
    struct stat *sts = calloc(n + 1, sizeof *sts);
    if (!sts) {
        fs->rescan_all = true; /* the next step reads everything instead */
        strmap_keys_free(names);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", fs->specs_dir, names[i]);
        if (stat(path, &sts[i]) != 0 || !S_ISREG(sts[i].st_mode)) {
            strmap_remove(fs->retry, names[i]);
            drop_file(fs, names[i], changed);
            free(names[i]);
            names[i] = NULL;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (names[i])
            read_one(fs, names[i], &sts[i], true, now, changed);
    free(sts);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

size_t folder_source_tracked(struct source *src)
{
    struct folder_source *fs = (struct folder_source *)src;
    pthread_mutex_lock(&fs->ws.mu);
    size_t n = strmap_count(fs->gens);
    pthread_mutex_unlock(&fs->ws.mu);
    return n;
}

static void rescan(struct folder_source *fs, bool settle)
{
    struct watchloop_keys changed = {0};
    pthread_mutex_lock(&fs->ws.mu);
    rescan_locked(fs, settle, &changed);
    pthread_mutex_unlock(&fs->ws.mu);
    keylist_flush(fs, &changed);
}

void folder_source_rescan(struct source *src)
{
    rescan((struct folder_source *)src, false);
}

void folder_source_read_changed(struct source *src)
{
    struct folder_source *fs = (struct folder_source *)src;
    struct watchloop_keys changed = {0};
    pthread_mutex_lock(&fs->ws.mu);
    read_dirty_locked(fs, &changed);
    pthread_mutex_unlock(&fs->ws.mu);
    keylist_flush(fs, &changed);
}

void folder_source_mark_changed(struct source *src, const char *name)
{
    struct folder_source *fs = (struct folder_source *)src;
    if (!is_spec_file(name))
        return;
    pthread_mutex_lock(&fs->ws.mu);
    strmap_put(fs->dirty, name, fs, NULL);
    pthread_mutex_unlock(&fs->ws.mu);
}

/* Reads pending inotify events, marking the named files dirty. Returns
 * true when something relevant happened. IN_CREATE alone names no file to
 * read (the writer's close or rename follows), except a symbolic link,
 * which has no close. */
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
            p += sizeof *ev + ev->len;
            if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW)) {
                fs->rescan_all = true;
                any = true;
            }
            if (ev->len == 0 || !is_spec_file(ev->name))
                continue;
            if (ev->mask == IN_CREATE) {
                char path[4096];
                struct stat st;
                snprintf(path, sizeof path, "%s/%s", fs->specs_dir, ev->name);
                if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
                    continue;
            }
            folder_source_mark_changed(&fs->ws.base, ev->name);
            any = true;
        }
    }
    return any;
}

/* The loop's step: waits for inotify events (or the next retry or full
 * rescan), lets a burst settle, reads what changed. Ends the loop when
 * stopped or when poll() fails. */
static enum watchloop_next watch_step(void *arg, struct watchloop *wl)
{
    struct folder_source *fs = arg;
    struct pollfd pfd[2] = {{.fd = watchloop_wake_fd(wl), .events = POLLIN},
                            {.fd = fs->inotify_fd, .events = POLLIN}};
    pthread_mutex_lock(&fs->ws.mu); /* a SIGHUP rescan may set them */
    bool retrying = strmap_count(fs->retry) > 0;
    int64_t next_retry = fs->next_retry;
    pthread_mutex_unlock(&fs->ws.mu);
    int64_t due = fs->next_resync;
    if (retrying && next_retry < due)
        due = next_retry;
    int64_t wait = due - clock_monotonic_ms();
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
        /* a burst (a rename's pair of events, many files saved at once) is
         * read as one: wait until the folder is quiet (bounded) */
        for (int i = 0; i < 10; i++) {
            struct pollfd q = {.fd = fs->inotify_fd, .events = POLLIN};
            if (poll(&q, 1, DEBOUNCE_MS) <= 0)
                break;
            changed |= drain_inotify(fs);
        }
    }
    int64_t now = clock_monotonic_ms();
    if (retrying && now >= next_retry) {
        pthread_mutex_lock(&fs->ws.mu);
        char **names = strmap_keys(fs->retry, NULL);
        for (char **n = names; n && *n; n++)
            strmap_put(fs->dirty, *n, fs, NULL);
        strmap_keys_free(names);
        clear_map(fs->retry);
        pthread_mutex_unlock(&fs->ws.mu);
        changed = true;
    }
    if (fs->rescan_all || now >= fs->next_resync) {
        fs->rescan_all = false;
        rescan(fs, fs->inotify_fd >= 0);
        fs->next_resync = clock_monotonic_ms() + fs->resync_ms;
    } else if (changed) {
        folder_source_read_changed(&fs->ws.base);
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
    strmap_free(fs->retry);
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
    fs->retry = strmap_new();
    if (r == 0)
        r = watchloop_new(&(struct watchloop_options){.name = "folder watch",
                                                      .step = watch_step, .ctx = fs},
                          &fs->loop);
    if (r != 0 || !fs->specs_dir || !fs->state_dir || !fs->namespace_ || !fs->files ||
        !fs->gens || !fs->dirty || !fs->retry) {
        fs_free(&fs->ws.base);
        return SH_ENOMEM;
    }
    *ret = &fs->ws.base;
    return 0;
}
