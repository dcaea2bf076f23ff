/*
 * auditlog.c — append-only JSON-array audit logs (see auditlog.h).
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

cJSON *auditlog_read(const char *path, char **ret_err)
{
    char *data = NULL;
    size_t len = 0;
    int r = fs_read_file(path, AUDITLOG_MAX_BYTES, &data, &len);
    if (r != 0) {
        if (errno == ENOENT)
            return cJSON_CreateArray();
        if (ret_err)
            *ret_err = msg(path, strerror(errno));
        return NULL;
    }
    cJSON *arr = cJSON_ParseWithLength(data, len);
    free(data);
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        if (ret_err)
            *ret_err = msg(path, "not a JSON array");
        return NULL;
    }
    return arr;
}

/* Takes an exclusive lock on "<path>.lock" (another process may append). */
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

int auditlog_append(const char *path, const cJSON *entry, size_t max_entries, char **ret_err,
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
    char *err = NULL;
    cJSON *arr = auditlog_read(path, &err);
    if (!arr) {
        /* keep the unreadable log aside rather than losing or refusing */
        char aside[4096];
        snprintf(aside, sizeof aside, "%s.corrupt", path);
        if (rename(path, aside) == 0 && ret_warn &&
            asprintf(ret_warn, "%s; kept it as %s and started a new log", err ? err : path, aside) < 0)
            *ret_warn = NULL;
        free(err);
        arr = cJSON_CreateArray();
    }
    int rc = SH_ENOMEM;
    cJSON *copy = cJSON_Duplicate(entry, 1);
    if (arr && copy) {
        cJSON_AddItemToArray(arr, copy);
        copy = NULL;
        while (max_entries > 0 && (size_t)cJSON_GetArraySize(arr) > max_entries)
            cJSON_DeleteItemFromArray(arr, 0);
        char *text = cJSON_Print(arr);
        if (text) {
            size_t n = strlen(text);
            char *withnl = realloc(text, n + 2);
            if (withnl) {
                withnl[n] = '\n';
                withnl[n + 1] = '\0';
                text = withnl;
            }
            rc = atomic_file_write(path, text, strlen(text));
            if (rc != 0 && ret_err)
                *ret_err = msg(path, strerror(errno));
            free(text);
        }
    }
    cJSON_Delete(copy);
    cJSON_Delete(arr);
    if (lfd >= 0)
        close(lfd);
    pthread_mutex_unlock(&audit_mu);
    return rc;
}
