/* state.c — documents in the local state folder (state.h). */
#include "local/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/redact.h"
#include "base/clock.h"
#include "base/errors.h"
#include "base/fsutil.h"

#define STATE_DOC_MAX (4u << 20)
#define EVENTS_MAX_BYTES (1u << 20)

int local_state_path(const char *state_dir, const char *key, char *buf, size_t size)
{
    const char *slash = strchr(key, '/');
    if (!slash || strchr(slash + 1, '/') || slash == key || !slash[1])
        return SH_EINVAL;
    int n = snprintf(buf, size, "%s/pipelines/%.*s/%s.json", state_dir, (int)(slash - key), key,
                     slash + 1);
    return (n < 0 || (size_t)n >= size) ? SH_EINVAL : 0;
}

cJSON *local_state_read(const char *state_dir, const char *key)
{
    char path[4096];
    if (local_state_path(state_dir, key, path, sizeof path) != 0)
        return NULL;
    char *data = NULL;
    size_t len = 0;
    if (fs_read_file(path, STATE_DOC_MAX, &data, &len) != 0)
        return NULL;
    cJSON *doc = cJSON_ParseWithLength(data, len);
    free(data);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

int local_state_write(const char *state_dir, const struct pipeline *p, const cJSON *status,
                      char **ret_err)
{
    char path[4096];
    if (local_state_path(state_dir, p->key, path, sizeof path) != 0) {
        if (ret_err)
            *ret_err = strdup("invalid pipeline key");
        return SH_EINVAL;
    }
    cJSON *doc = pipeline_object_copy(p);
    if (!doc)
        return SH_ENOMEM;
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
    if (!cJSON_IsObject(meta)) {
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "metadata");
        meta = cJSON_AddObjectToObject(doc, "metadata");
    }
    char ts[32];
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "uid");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "generation");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "creationTimestamp");
    cJSON_AddStringToObject(meta, "namespace", p->namespace_);
    if (p->uid)
        cJSON_AddStringToObject(meta, "uid", p->uid);
    cJSON_AddNumberToObject(meta, "generation", (double)p->generation);
    cJSON_AddStringToObject(meta, "creationTimestamp",
                            clock_format_rfc3339(p->created_ms, ts, sizeof ts));
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "status");
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "source");
    if (status)
        cJSON_AddItemToObject(doc, "status", cJSON_Duplicate(status, true));
    cJSON_AddStringToObject(doc, "source", p->source);
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    if (!text)
        return SH_ENOMEM;
    redact_inplace(text); /* the spec and status as shown: no credentials */
    size_t len = strlen(text);
    /* the namespace's folder is made on the first write that misses it, not
     * checked on every write (4 mkdir calls a write, 10,000 pipelines) */
    int r = atomic_file_write_deferred(path, text, len); /* group commit: state_flush.h */
    if (r != 0 && errno == ENOENT) {
        char *dir = fs_dirname(path);
        if (!dir) {
            free(text);
            return SH_ENOMEM;
        }
        if (fs_mkdir_p(dir) != 0) {
            if (ret_err && asprintf(ret_err, "%s: %s", dir, strerror(errno)) < 0)
                *ret_err = NULL;
            free(dir);
            free(text);
            return SH_EIO;
        }
        free(dir);
        r = atomic_file_write_deferred(path, text, len);
    }
    free(text);
    if (r != 0 && ret_err && asprintf(ret_err, "write %s: %s", path, strerror(errno)) < 0)
        *ret_err = NULL;
    return r;
}

int local_state_delete(const char *state_dir, const char *key)
{
    char path[4096];
    if (local_state_path(state_dir, key, path, sizeof path) != 0)
        return SH_EINVAL;
    if (unlink(path) != 0 && errno != ENOENT)
        return SH_EIO;
    return 0;
}

static int cmp_doc(const void *a, const void *b)
{
    const cJSON *da = *(const cJSON *const *)a, *db = *(const cJSON *const *)b;
    const cJSON *ma = cJSON_GetObjectItemCaseSensitive(da, "metadata");
    const cJSON *mb = cJSON_GetObjectItemCaseSensitive(db, "metadata");
    const char *na = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ma, "namespace"));
    const char *nb = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(mb, "namespace"));
    int c = strcmp(na ? na : "", nb ? nb : "");
    if (c)
        return c;
    na = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ma, "name"));
    nb = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(mb, "name"));
    return strcmp(na ? na : "", nb ? nb : "");
}

cJSON *local_state_list(const char *state_dir)
{
    cJSON *out = cJSON_CreateArray();
    if (!out)
        return NULL;
    char root[4096];
    snprintf(root, sizeof root, "%s/pipelines", state_dir);
    DIR *d = opendir(root);
    if (!d)
        return out;
    size_t n = 0, cap = 0;
    cJSON **docs = NULL;
    struct dirent *ns;
    while ((ns = readdir(d))) {
        if (ns->d_name[0] == '.')
            continue;
        char nsdir[4096];
        snprintf(nsdir, sizeof nsdir, "%s/%s", root, ns->d_name);
        DIR *d2 = opendir(nsdir);
        if (!d2)
            continue;
        struct dirent *f;
        while ((f = readdir(d2))) {
            size_t len = strlen(f->d_name);
            if (f->d_name[0] == '.' || len < 6 || strcmp(f->d_name + len - 5, ".json") != 0)
                continue;
            char key[PIPELINE_KEY_MAX];
            snprintf(key, sizeof key, "%s/%.*s", ns->d_name, (int)(len - 5), f->d_name);
            cJSON *doc = local_state_read(state_dir, key);
            if (!doc)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                cJSON **nd = realloc(docs, cap * sizeof *nd);
                if (!nd) {
                    cJSON_Delete(doc);
                    break;
                }
                docs = nd;
            }
            docs[n++] = doc;
        }
        closedir(d2);
    }
    closedir(d);
    qsort(docs, n, sizeof *docs, cmp_doc);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(out, docs[i]);
    free(docs);
    return out;
}

static pthread_mutex_t events_mu = PTHREAD_MUTEX_INITIALIZER;

void local_state_event(const char *state_dir, const struct pipeline *p, const char *type,
                       const char *reason, const char *message, long long now_ms)
{
    cJSON *e = cJSON_CreateObject();
    if (!e)
        return;
    char ts[32];
    cJSON_AddStringToObject(e, "time", clock_format_rfc3339(now_ms, ts, sizeof ts));
    cJSON_AddStringToObject(e, "pipeline", p->key);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddStringToObject(e, "reason", reason);
    cJSON_AddStringToObject(e, "message", message);
    char *line = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    if (!line)
        return;
    redact_inplace(line);
    char path[4096], old[4200];
    snprintf(path, sizeof path, "%s/events.jsonl", state_dir);
    snprintf(old, sizeof old, "%s.1", path);
    pthread_mutex_lock(&events_mu);
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size > (off_t)EVENTS_MAX_BYTES)
        rename(path, old);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        size_t len = strlen(line);
        line[len] = '\n'; /* replaces the NUL: write exactly len + 1 bytes */
        ssize_t w = write(fd, line, len + 1);
        (void)w;
        close(fd);
    }
    pthread_mutex_unlock(&events_mu);
    free(line);
}
