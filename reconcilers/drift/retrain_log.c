/* retrain_log.c — the retraining log object, locked and atomic (retrain_log.h). */
#include "drift/retrain_log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/clock.h"
#include "base/errors.h"
#include "base/fsutil.h"

#define LOG_MAX_BYTES (64u << 20)

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

void retrain_event_init(struct retrain_event *e)
{
    memset(e, 0, sizeof *e);
    e->drift_score = NAN;
    e->threshold = NAN;
    e->exit_code = -1;
    e->duration_seconds = -1;
}

static char *msg2(const char *a, const char *b)
{
    char *s = NULL;
    if (asprintf(&s, "%s: %s", a, b) < 0)
        return NULL;
    return s;
}

/* Reads the log object: 0 with *ret (owned; a new one when the file is
 * absent), SH_EIO / SH_EPARSE with *ret_err. */
static int read_log(const char *path, cJSON **ret, char **ret_err)
{
    char *data = NULL;
    size_t len = 0;
    *ret = NULL;
    int r = fs_read_file(path, LOG_MAX_BYTES, &data, &len);
    if (r != 0) {
        if (r == SH_EIO && errno == ENOENT) {
            *ret = cJSON_CreateObject();
            return *ret ? 0 : SH_ENOMEM;
        }
        if (ret_err)
            *ret_err = msg2(path, r == SH_ETOOBIG ? "too large" : strerror(errno));
        return r == SH_ENOMEM ? r : SH_EIO;
    }
    cJSON *o = cJSON_ParseWithLength(data, len);
    free(data);
    const cJSON *ev = o ? cJSON_GetObjectItemCaseSensitive(o, "events") : NULL;
    const cJSON *lt = o ? cJSON_GetObjectItemCaseSensitive(o, "last_retrain_time") : NULL;
    if (!cJSON_IsObject(o) || (ev && !cJSON_IsArray(ev)) || (lt && !cJSON_IsString(lt) && !cJSON_IsNull(lt))) {
        cJSON_Delete(o);
        if (ret_err)
            *ret_err = msg2(path, "not a retraining log (an object with last_retrain_time and events)");
        return SH_EPARSE;
    }
    *ret = o;
    return 0;
}

int retrain_log_last(const char *path, int64_t *ret_ms, char **ret_err)
{
    *ret_ms = 0;
    cJSON *o = NULL;
    int r = read_log(path, &o, ret_err);
    if (r != 0)
        return r;
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(o, "last_retrain_time");
    if (cJSON_IsString(lt) && clock_parse_rfc3339(lt->valuestring, ret_ms) != 0) {
        if (ret_err)
            *ret_err = msg2(path, "last_retrain_time is not an RFC 3339 time");
        cJSON_Delete(o);
        return SH_EPARSE;
    }
    cJSON_Delete(o);
    return 0;
}

/* Takes the lock on "<path>.lock"; -1 when it cannot be taken (then only the mutex holds). */
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

static cJSON *event_json(const struct retrain_event *e)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char ts[40];
    cJSON_AddStringToObject(o, "timestamp", clock_format_rfc3339_ms(e->time_ms, ts, sizeof ts));
    if (e->trigger)
        cJSON_AddStringToObject(o, "trigger", e->trigger);
    if (e->pipeline)
        cJSON_AddStringToObject(o, "pipeline", e->pipeline);
    if (!isnan(e->drift_score))
        cJSON_AddNumberToObject(o, "drift_score", e->drift_score);
    if (!isnan(e->threshold))
        cJSON_AddNumberToObject(o, "threshold", e->threshold);
    cJSON_AddStringToObject(o, "status", e->status ? e->status : "unknown");
    if (e->reason)
        cJSON_AddStringToObject(o, "reason", e->reason);
    if (e->drifted_features) {
        cJSON *a = cJSON_AddArrayToObject(o, "drifted_features");
        for (size_t i = 0; a && i < e->ndrifted; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(e->drifted_features[i]));
    }
    if (e->command) {
        cJSON *a = cJSON_AddArrayToObject(o, "command");
        for (size_t i = 0; a && e->command[i]; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(e->command[i]));
    }
    if (e->exit_code >= 0)
        cJSON_AddNumberToObject(o, "exit_code", e->exit_code);
    if (e->duration_seconds >= 0)
        cJSON_AddNumberToObject(o, "duration_seconds", round(e->duration_seconds * 1000) / 1000);
    if (e->model_version)
        cJSON_AddStringToObject(o, "model_version", e->model_version);
    if (e->model_note)
        cJSON_AddStringToObject(o, "model", e->model_note);
    if (e->log)
        cJSON_AddStringToObject(o, "log", e->log);
    return o;
}

static int write_log(const char *path, cJSON *o, char **ret_err)
{
    char *text = cJSON_Print(o);
    if (!text)
        return SH_ENOMEM;
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
        *ret_err = msg2(path, strerror(errno));
    free(t);
    return r;
}

int retrain_log_append(const char *path, const struct retrain_event *e, bool set_last,
                       char **ret_err, char **ret_warn)
{
    char *dir = fs_dirname(path);
    if (!dir || fs_mkdir_p(dir) != 0) {
        if (ret_err)
            *ret_err = msg2(path, "cannot create its folder");
        free(dir);
        return SH_EIO;
    }
    free(dir);
    cJSON *ev = event_json(e);
    if (!ev)
        return SH_ENOMEM;
    pthread_mutex_lock(&log_mu);
    int lfd = lock_file(path);
    cJSON *o = NULL;
    char *err = NULL;
    int r = read_log(path, &o, &err);
    if (r == SH_EPARSE) {
        char aside[4096];
        snprintf(aside, sizeof aside, "%s.corrupt", path);
        if (rename(path, aside) == 0 && ret_warn &&
            asprintf(ret_warn, "%s; kept it as %s and started a new log", err ? err : path, aside) < 0)
            *ret_warn = NULL;
        o = cJSON_CreateObject();
        r = o ? 0 : SH_ENOMEM;
    } else if (r != 0 && ret_err) {
        *ret_err = err;
        err = NULL;
    }
    free(err);
    if (r == 0) {
        cJSON *events = cJSON_GetObjectItemCaseSensitive(o, "events");
        if (!events)
            events = cJSON_AddArrayToObject(o, "events");
        cJSON *lt = cJSON_GetObjectItemCaseSensitive(o, "last_retrain_time");
        if (!lt)
            lt = cJSON_AddNullToObject(o, "last_retrain_time");
        if (!events || !lt) {
            r = SH_ENOMEM;
        } else {
            cJSON_AddItemToArray(events, ev);
            ev = NULL;
            while (cJSON_GetArraySize(events) > RETRAIN_LOG_MAX_EVENTS)
                cJSON_DeleteItemFromArray(events, 0);
            if (set_last) {
                char ts[32];
                cJSON *nt = cJSON_CreateString(clock_format_rfc3339(e->time_ms, ts, sizeof ts));
                if (!nt || !cJSON_ReplaceItemInObjectCaseSensitive(o, "last_retrain_time", nt)) {
                    cJSON_Delete(nt);
                    r = SH_ENOMEM;
                }
            }
            if (r == 0)
                r = write_log(path, o, ret_err);
        }
    }
    cJSON_Delete(ev);
    cJSON_Delete(o);
    if (lfd >= 0)
        close(lfd);
    pthread_mutex_unlock(&log_mu);
    return r;
}
