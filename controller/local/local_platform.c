/* local_platform.c — the local implementation of platform.h. */
#include "local/local_platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/redact.h"
#include "base/fsutil.h"
#include "local/state.h"
#include "local/state_flush.h"
#include "base/log.h"

#define MAX_LOOPS 8
/* How long a status file's rename may wait for its folder's flush. */
#define STATUS_FLUSH_MS 50

struct local_platform {
    struct platform base;
    char *state_dir;
    const struct sh_clock *clock;
    struct state_flush *flush; /* flushes the status folders (group commit) */
    struct {
        const char *loop;
        const void *ops;
    } actuators[MAX_LOOPS];
};

static cJSON *lp_load_status(struct platform *pf, const struct pipeline *p)
{
    struct local_platform *lp = pf->impl;
    cJSON *doc = local_state_read(lp->state_dir, p->key);
    cJSON *st = cJSON_DetachItemFromObjectCaseSensitive(doc, "status");
    cJSON_Delete(doc);
    if (st && !cJSON_IsObject(st)) {
        cJSON_Delete(st);
        return NULL;
    }
    return st;
}

static int lp_write_status(struct platform *pf, const struct pipeline *p, const cJSON *status,
                           char **ret_err)
{
    struct local_platform *lp = pf->impl;
    return local_state_write(lp->state_dir, p, status, ret_err);
}

static int lp_delete_status(struct platform *pf, const char *key)
{
    struct local_platform *lp = pf->impl;
    return local_state_delete(lp->state_dir, key);
}

static void lp_record_clean(struct platform *pf, const struct pipeline *p, enum event_type type,
                            const char *reason, const char *message)
{
    struct local_platform *lp = pf->impl;
    const char *t = type == EVENT_WARNING ? "Warning" : "Normal";
    log_msg(type == EVENT_WARNING ? LOG_WARN : LOG_INFO, p->key, "event %s %s: %s", t, reason,
            message);
    local_state_event(lp->state_dir, p, t, reason, message, clock_now_ms(lp->clock));
}

/* Every message leaves redacted (a last line of defence: redact.h). */
static void lp_record_event(struct platform *pf, const struct pipeline *p, enum event_type type,
                            const char *reason, const char *message)
{
    char *clean = redact_dup(message);
    lp_record_clean(pf, p, type, reason, clean ? clean : "");
    free(clean);
}

static const void *lp_actuators(struct platform *pf, const char *loop)
{
    struct local_platform *lp = pf->impl;
    for (int i = 0; i < MAX_LOOPS; i++)
        if (lp->actuators[i].loop && strcmp(lp->actuators[i].loop, loop) == 0)
            return lp->actuators[i].ops;
    return NULL;
}

void local_platform_set_actuators(struct platform *pf, const char *loop, const void *ops)
{
    struct local_platform *lp = pf->impl;
    for (int i = 0; i < MAX_LOOPS; i++) {
        if (!lp->actuators[i].loop || strcmp(lp->actuators[i].loop, loop) == 0) {
            lp->actuators[i].loop = loop;
            lp->actuators[i].ops = ops;
            return;
        }
    }
}

const char *local_platform_state_dir(const struct platform *pf)
{
    const struct local_platform *lp = pf->impl;
    return lp->state_dir;
}

int local_platform_new(const char *state_dir, const struct sh_clock *clock, struct platform **ret,
                       char **ret_err)
{
    if (fs_mkdir_p(state_dir) != 0) {
        if (ret_err && asprintf(ret_err, "state folder %s: %s", state_dir, strerror(errno)) < 0)
            *ret_err = NULL;
        return SH_EIO;
    }
    struct local_platform *lp = calloc(1, sizeof *lp);
    if (!lp || !(lp->state_dir = strdup(state_dir))) {
        free(lp);
        return SH_ENOMEM;
    }
    lp->clock = clock;
    if (state_flush_start(STATUS_FLUSH_MS, &lp->flush) != 0) {
        free(lp->state_dir);
        free(lp);
        return SH_ENOMEM;
    }
    lp->base.name = "local";
    lp->base.load_status = lp_load_status;
    lp->base.write_status = lp_write_status;
    lp->base.delete_status = lp_delete_status;
    lp->base.record_event = lp_record_event;
    lp->base.actuators = lp_actuators;
    lp->base.impl = lp;
    *ret = &lp->base;
    return 0;
}

void local_platform_free(struct platform *pf)
{
    if (!pf)
        return;
    struct local_platform *lp = pf->impl;
    state_flush_stop(lp->flush);
    free(lp->state_dir);
    free(lp);
}
