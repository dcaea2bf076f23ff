/* mergepatch.c — JSON merge patch diff and apply (mergepatch.h). */
#include "kube/mergepatch.h"

#include <stdbool.h>

#include "base/errors.h"

cJSON *kube_merge_diff(const cJSON *from, const cJSON *to)
{
    if (!cJSON_IsObject(from))
        return cJSON_Duplicate(to, true);
    cJSON *patch = cJSON_CreateObject();
    if (!patch)
        return NULL;
    const cJSON *f;
    cJSON_ArrayForEach(f, from)
    {
        if (!cJSON_GetObjectItemCaseSensitive(to, f->string)) {
            cJSON *n = cJSON_CreateNull();
            if (!n || !cJSON_AddItemToObject(patch, f->string, n)) {
                cJSON_Delete(n);
                goto nomem;
            }
        }
    }
    const cJSON *t;
    cJSON_ArrayForEach(t, to)
    {
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(from, t->string);
        cJSON *d = NULL;
        if (old && cJSON_IsObject(old) && cJSON_IsObject(t)) {
            if (cJSON_Compare(old, t, true))
                continue;
            d = kube_merge_diff(old, t);
        } else if (old && cJSON_Compare(old, t, true)) {
            continue;
        } else {
            d = cJSON_Duplicate(t, true);
        }
        if (!d || !cJSON_AddItemToObject(patch, t->string, d)) {
            cJSON_Delete(d);
            goto nomem;
        }
    }
    return patch;
nomem:
    cJSON_Delete(patch);
    return NULL;
}

int kube_merge_apply(cJSON *target, const cJSON *patch)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, patch)
    {
        if (cJSON_IsNull(p)) {
            cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
            continue;
        }
        cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, p->string);
        if (cJSON_IsObject(p) && cJSON_IsObject(cur)) {
            int r = kube_merge_apply(cur, p);
            if (r != 0)
                return r;
            continue;
        }
        cJSON *v;
        if (cJSON_IsObject(p)) {
            /* a patch object onto a non-object: apply it to an empty object */
            v = cJSON_CreateObject();
            if (v && kube_merge_apply(v, p) != 0) {
                cJSON_Delete(v);
                v = NULL;
            }
        } else {
            v = cJSON_Duplicate(p, true);
        }
        if (!v)
            return SH_ENOMEM;
        if (cur)
            cJSON_ReplaceItemInObjectCaseSensitive(target, p->string, v);
        else if (!cJSON_AddItemToObject(target, p->string, v)) {
            cJSON_Delete(v);
            return SH_ENOMEM;
        }
    }
    return 0;
}
