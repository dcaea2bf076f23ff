/* registry.c — the local model registry folder and the local model actuators (registry.h). */
#include "local/registry.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/errors.h"
#include "base/fsutil.h"

#define METRICS_FILE_MAX (1u << 20)

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int registry_natural_cmp(const char *a0, const char *b0)
{
    const char *a = a0, *b = b0;
    while (*a && *b) {
        if (is_digit(*a) && is_digit(*b)) {
            while (*a == '0' && is_digit(a[1]))
                a++;
            while (*b == '0' && is_digit(b[1]))
                b++;
            size_t la = 0, lb = 0;
            while (is_digit(a[la]))
                la++;
            while (is_digit(b[lb]))
                lb++;
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = memcmp(a, b, la);
            if (c)
                return c < 0 ? -1 : 1;
            a += la;
            b += lb;
        } else {
            if (*a != *b)
                return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    if (*a || *b)
        return *a ? 1 : -1;
    int c = strcmp(a0, b0);
    return c < 0 ? -1 : c > 0;
}

static int version_cmp(const void *x, const void *y)
{
    const struct model_version *a = x, *b = y;
    return registry_natural_cmp(a->name, b->name);
}

/* A name that can be a version folder. */
static bool valid_version_name(const char *name)
{
    return name[0] && name[0] != '.' && strcmp(name, REGISTRY_CURRENT) != 0 &&
           !strchr(name, '/') && strlen(name) < MODEL_VERSION_MAX;
}

/* Reads <dir>/<name>/metrics.json into v (has_metric false when absent or unusable). */
static void read_metric(const char *dir, const char *name, const char *metric_name,
                        struct model_version *v)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/%s", dir, name, REGISTRY_METRICS_FILE);
    char *data = NULL;
    size_t len = 0;
    if (fs_read_file(path, METRICS_FILE_MAX, &data, &len) != 0)
        return;
    cJSON *doc = cJSON_ParseWithLength(data, len);
    free(data);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, metric_name);
    if (!cJSON_IsNumber(m))
        m = cJSON_GetObjectItemCaseSensitive(doc, "accuracy");
    if (cJSON_IsNumber(m) && isfinite(m->valuedouble)) {
        v->metric = m->valuedouble;
        v->has_metric = true;
    }
    cJSON_Delete(doc);
}

/* Reads every metric of a list-form spec from <dir>/<name>/metrics.json into
 * v->values (spec order, by name; absent or not a finite number: none). */
static void read_metrics(const char *dir, const char *name, const struct spec_model_metric *defs,
                         size_t n, struct model_version *v)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/%s", dir, name, REGISTRY_METRICS_FILE);
    char *data = NULL;
    size_t len = 0;
    for (size_t k = 0; k < n; k++)
        v->values[k] = (struct model_value){0};
    if (fs_read_file(path, METRICS_FILE_MAX, &data, &len) != 0)
        return;
    cJSON *doc = cJSON_ParseWithLength(data, len);
    free(data);
    for (size_t k = 0; k < n; k++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, defs[k].name);
        if (cJSON_IsNumber(m) && isfinite(m->valuedouble))
            v->values[k] = (struct model_value){.metric = m->valuedouble, .has_metric = true};
    }
    cJSON_Delete(doc);
}

int registry_list(const char *dir, const char *metric_name, struct model_version **ret,
                  size_t *ret_count, char **ret_err)
{
    *ret = NULL;
    *ret_count = 0;
    if (!metric_name || !*metric_name)
        metric_name = "accuracy";
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        (void)sh_errf(ret_err, 0, "model registry %s: %s", dir, strerror(e));
        return e == ENOENT ? SH_ENOTFOUND : SH_EIO;
    }
    struct model_version *list = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!valid_version_name(de->d_name))
            continue;
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (n == REGISTRY_MAX_VERSIONS) {
            (void)sh_errf(ret_err, 0, "model registry %s: more than %d versions", dir, REGISTRY_MAX_VERSIONS);
            r = SH_ETOOBIG;
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct model_version *nl = realloc(list, ncap * sizeof *nl);
            if (!nl) {
                r = SH_ENOMEM;
                break;
            }
            list = nl;
            cap = ncap;
        }
        struct model_version *v = &list[n++];
        memset(v, 0, sizeof *v);
        snprintf(v->name, sizeof v->name, "%s", de->d_name);
        read_metric(dir, de->d_name, metric_name, v);
    }
    closedir(d);
    if (r != 0) {
        if (r == SH_ENOMEM)
            (void)sh_errf(ret_err, 0, "model registry %s: out of memory", dir);
        free(list);
        return r;
    }
    if (n > 1)
        qsort(list, n, sizeof *list, version_cmp);
    *ret = list;
    *ret_count = n;
    return 0;
}

int registry_current(const char *dir, char *name, size_t size, char **ret_err)
{
    if (size)
        name[0] = '\0';
    char link[PATH_MAX], target[PATH_MAX];
    snprintf(link, sizeof link, "%s/%s", dir, REGISTRY_CURRENT);
    struct stat lst;
    if (lstat(link, &lst) != 0) {
        int e = errno;
        (void)sh_errf(ret_err, 0, "%s: %s", link, e == ENOENT ? "no such symlink (no active version)" : strerror(e));
        return e == ENOENT ? SH_ENOTFOUND : SH_EIO;
    }
    if (!S_ISLNK(lst.st_mode)) {
        (void)sh_errf(ret_err, 0, "%s: not a symlink to a version folder", link);
        return SH_EINVAL;
    }
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0) {
        (void)sh_errf(ret_err, 0, "%s: %s", link, strerror(errno));
        return SH_EIO;
    }
    target[n] = '\0';
    struct stat cst;
    if (stat(link, &cst) != 0) {
        (void)sh_errf(ret_err, 0, "%s -> %s: broken symlink (%s)", link, target, strerror(errno));
        return SH_EINVAL;
    }
    /* the version is the last path component of the target */
    while (n > 1 && target[n - 1] == '/')
        target[--n] = '\0';
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    char vpath[PATH_MAX];
    struct stat vst;
    snprintf(vpath, sizeof vpath, "%s/%s", dir, base);
    if (!valid_version_name(base) || stat(vpath, &vst) != 0 || !S_ISDIR(vst.st_mode) ||
        vst.st_dev != cst.st_dev || vst.st_ino != cst.st_ino) {
        (void)sh_errf(ret_err, 0, "%s -> %s: not a version folder of the registry", link, target);
        return SH_EINVAL;
    }
    if (strlen(base) >= size) {
        (void)sh_errf(ret_err, 0, "%s -> %s: version name too long", link, target);
        return SH_EINVAL;
    }
    snprintf(name, size, "%s", base);
    return 0;
}

/* Flushes a folder's entries to disk (after a rename in it). */
int registry_activate(const char *dir, const char *version, char **ret_err)
{
    if (!valid_version_name(version)) {
        (void)sh_errf(ret_err, 0, "'%s' cannot be a version of the registry %s", version, dir);
        return SH_EINVAL;
    }
    char vpath[PATH_MAX], link[PATH_MAX];
    struct stat st;
    snprintf(vpath, sizeof vpath, "%s/%s", dir, version);
    if (stat(vpath, &st) != 0 || !S_ISDIR(st.st_mode)) {
        (void)sh_errf(ret_err, 0, "%s: no such version folder", vpath);
        return SH_ENOTFOUND;
    }
    snprintf(link, sizeof link, "%s/%s", dir, REGISTRY_CURRENT);
    const char *step = "create";
    if (atomic_file_symlink(version, link, &step) != 0) {
        int e = errno;
        if (strcmp(step, "create") == 0)
            (void)sh_errf(ret_err, 0, "%s: cannot create a symlink beside it: %s", link, strerror(e));
        else
            (void)sh_errf(ret_err, 0, "%s: cannot replace it%s: %s", link,
                    e == EISDIR || e == ENOTEMPTY || e == EEXIST ? " (it is a folder, not a symlink)" : "",
                    strerror(e));
        return SH_EIO;
    }
    return 0;
}

/* The local model actuators: the registry named by the pipeline's spec. */

static int la_observe(const struct model_actuators *ma, const struct pipeline *p,
                      struct model_registry_view *ret)
{
    (void)ma;
    memset(ret, 0, sizeof *ret);
    const struct spec_model *m = &p->spec.model;
    const char *dir = m->rollback.registry_path ? m->rollback.registry_path : "models";
    char *err = NULL;
    int r = registry_list(dir, m->metric.name, &ret->versions, &ret->count, &err);
    if (r != 0) {
        snprintf(ret->error, sizeof ret->error, "%s", err ? err : sh_strerror(r));
        free(err);
        return r;
    }
    if (m->nmetrics > 0) { /* the list form: every metric, by its name */
        struct spec_model_metric defs[SPEC_MODEL_METRICS_MAX];
        size_t n = spec_model_metric_list(m, defs);
        for (size_t i = 0; i < ret->count; i++)
            read_metrics(dir, ret->versions[i].name, defs, n, &ret->versions[i]);
    }
    if (registry_current(dir, ret->current, sizeof ret->current, &err) != 0) {
        snprintf(ret->error, sizeof ret->error, "%s", err ? err : "no active version");
        free(err);
    }
    return 0;
}

static int la_activate(const struct model_actuators *ma, const struct pipeline *p,
                       const char *version, const char *note, char **ret_err)
{
    (void)ma;
    (void)note; /* one process owns the folder: nothing to hand over */
    const struct spec_model *m = &p->spec.model;
    return registry_activate(m->rollback.registry_path ? m->rollback.registry_path : "models",
                             version, ret_err);
}

static const struct model_actuators local_actuators = {
    .observe = la_observe,
    .activate = la_activate,
    .impl = NULL,
};

const struct model_actuators *registry_model_actuators(void)
{
    return &local_actuators;
}
