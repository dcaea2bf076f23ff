/*
 * rollback_note.c — the note a rollback leaves with the workload
 * (rollback_note.h): format, parse, and whether the status lacks it.
 */
#include "model/rollback_note.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/errors.h"

int rollback_note_format(const struct rollback_note *n, char *buf, size_t size)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "uid", n->uid) ||
        !cJSON_AddNumberToObject(o, "basis", (double)n->basis_ms) ||
        !cJSON_AddNumberToObject(o, "at", (double)n->at_ms) ||
        !cJSON_AddStringToObject(o, "from", n->from) || !cJSON_AddStringToObject(o, "to", n->to)) {
        cJSON_Delete(o);
        return SH_ENOMEM;
    }
    int r = size > 8 && cJSON_PrintPreallocated(o, buf, (int)size - 5, false) ? 0 : SH_EINVAL;
    cJSON_Delete(o);
    return r;
}

static bool copy_str(const cJSON *o, const char *name, char *out, size_t size)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
    if (!s || strlen(s) >= size)
        return false;
    memcpy(out, s, strlen(s) + 1);
    return true;
}

static bool copy_ms(const cJSON *o, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9.0e15)
        return false;
    *out = (int64_t)v->valuedouble;
    return true;
}

bool rollback_note_parse(const char *text, struct rollback_note *ret)
{
    memset(ret, 0, sizeof *ret);
    cJSON *o = text && *text ? cJSON_Parse(text) : NULL;
    bool ok = cJSON_IsObject(o) && copy_str(o, "uid", ret->uid, sizeof ret->uid) &&
              copy_ms(o, "basis", &ret->basis_ms) && copy_ms(o, "at", &ret->at_ms) &&
              copy_str(o, "from", ret->from, sizeof ret->from) &&
              copy_str(o, "to", ret->to, sizeof ret->to) && ret->to[0];
    cJSON_Delete(o);
    if (!ok)
        memset(ret, 0, sizeof *ret);
    return ok;
}

bool rollback_note_unrecorded(const struct rollback_note *n, const char *uid,
                              int64_t last_rollback_ms, const char *current)
{
    return uid && *uid && strcmp(n->uid, uid) == 0 && n->basis_ms == last_rollback_ms &&
           n->at_ms > last_rollback_ms && current && strcmp(current, n->to) == 0;
}
