/*
 * auditlog.c — JSON audit files updated under locks and written atomically
 * (see auditlog.h); the array logs as its first format.
 */
#include "base/auditlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/redact.h"
#include "base/errors.h"
#include "base/fsutil.h"

#define AUDITLOG_MAX_BYTES (64u << 20)

static pthread_mutex_t audit_mu = PTHREAD_MUTEX_INITIALIZER;

/* "a: b" as an owned string (NULL on allocation failure). */
static char *msg(const char *a, const char *b)
{
    char *out = NULL;
    if (asprintf(&out, "%s: %s", a, b) < 0)
        return NULL;
    return out;
}

int auditlog_load(const char *path, const struct auditlog_format *fmt, cJSON **ret,
                  char **ret_err)
{
    char *data = NULL;
    size_t len = 0;
    *ret = NULL;
    int r = fs_read_file(path, AUDITLOG_MAX_BYTES, &data, &len);
    if (r != 0) {
        if (r == SH_EIO && errno == ENOENT) {
            *ret = fmt->create();
            return *ret ? 0 : SH_ENOMEM;
        }
        if (ret_err)
            *ret_err = msg(path, r == SH_ETOOBIG ? "too large" : strerror(errno));
        return r == SH_ENOMEM ? r : SH_EIO;
    }
    cJSON *doc = cJSON_ParseWithLength(data, len);
    free(data);
    if (!fmt->valid(doc)) {
        cJSON_Delete(doc);
        if (ret_err)
            *ret_err = msg(path, fmt->invalid);
        return SH_EPARSE;
    }
    *ret = doc;
    return 0;
}

/* Takes an exclusive lock on "<path>.lock" (another process may update);
 * -1 when it cannot be taken (then only the mutex holds). */
static int lock_file(const char *path)
{
    char lp[4096];
    snprintf(lp, sizeof lp, "%s.lock", path);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* The log read for an update; a refused one kept aside and started anew. */
static int load_or_start(const char *path, const struct auditlog_format *fmt, cJSON **ret,
                         char **ret_err, char **ret_warn)
{
    char *err = NULL;
    int r = auditlog_load(path, fmt, ret, &err);
    if (r == SH_EPARSE || (r != 0 && fmt->aside_unreadable)) {
        /* keep the unreadable log aside rather than losing or refusing */
        char aside[4096];
        snprintf(aside, sizeof aside, "%s.corrupt", path);
        if (rename(path, aside) == 0 && ret_warn &&
            asprintf(ret_warn, "%s; kept it as %s and started a new log", err ? err : path, aside) < 0)
            *ret_warn = NULL;
        *ret = fmt->create();
        r = *ret ? 0 : SH_ENOMEM;
    } else if (r != 0 && ret_err) {
        *ret_err = err;
        err = NULL;
    }
    free(err);
    return r;
}

/* The document as indented JSON and a newline, atomically. */
static int write_doc(const char *path, const cJSON *doc, char **ret_err)
{
    char *text = cJSON_Print(doc);
    if (!text)
        return SH_ENOMEM;
    redact_inplace(text);
    size_t n = strlen(text);
    char *t = realloc(text, n + 2);
    if (!t) {
        free(text);
        return SH_ENOMEM;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    int r = atomic_file_write(path, t, n + 1);
    if (r != 0 && ret_err)
        *ret_err = msg(path, strerror(errno));
    free(t);
    return r;
}

int auditlog_update(const char *path, const struct auditlog_format *fmt,
                    int (*edit)(cJSON *doc, void *arg), void *arg, char **ret_err,
                    char **ret_warn)
{
    char *dir = fs_dirname(path);
    if (!dir || fs_mkdir_p(dir) != 0) {
        if (ret_err)
            *ret_err = msg(path, "cannot create its folder");
        free(dir);
        return SH_EIO;
    }
    free(dir);
    pthread_mutex_lock(&audit_mu);
    int lfd = lock_file(path);
    cJSON *doc = NULL;
    int r = load_or_start(path, fmt, &doc, ret_err, ret_warn);
    if (r == 0)
        r = edit(doc, arg);
    if (r == 0)
        r = write_doc(path, doc, ret_err);
    cJSON_Delete(doc);
    if (lfd >= 0)
        close(lfd);
    pthread_mutex_unlock(&audit_mu);
    return r;
}

/* --- the array logs ------------------------------------------------------- */

static bool array_valid(const cJSON *doc)
{
    return cJSON_IsArray(doc);
}

static cJSON *array_create(void)
{
    return cJSON_CreateArray();
}

const struct auditlog_format auditlog_array = {
    .valid = array_valid,
    .create = array_create,
    .invalid = "not a JSON array",
    .aside_unreadable = true,
};

struct append_arg {
    const cJSON *entry;
    size_t max_entries;
};

static int append_entry(cJSON *arr, void *arg)
{
    const struct append_arg *a = arg;
    cJSON *copy = cJSON_Duplicate(a->entry, 1);
    if (!copy)
        return SH_ENOMEM;
    cJSON_AddItemToArray(arr, copy);
    while (a->max_entries > 0 && (size_t)cJSON_GetArraySize(arr) > a->max_entries)
        cJSON_DeleteItemFromArray(arr, 0);
    return 0;
}

int auditlog_append(const char *path, const cJSON *entry, size_t max_entries, char **ret_err,
                    char **ret_warn)
{
    struct append_arg a = {entry, max_entries};
    return auditlog_update(path, &auditlog_array, append_entry, &a, ret_err, ret_warn);
}

cJSON *auditlog_read(const char *path, char **ret_err)
{
    cJSON *arr = NULL;
    return auditlog_load(path, &auditlog_array, &arr, ret_err) == 0 ? arr : NULL;
}
