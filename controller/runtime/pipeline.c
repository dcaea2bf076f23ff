/* pipeline.c — immutable, reference-counted pipeline snapshots (pipeline.h),
 * validated (plus the installed extra check) when built. */
#include "runtime/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

/* Set once at start-up, before any source thread runs; read-only after. */
static pipeline_spec_check_fn *spec_check;
static const void *spec_check_ctx;

void pipeline_set_spec_check(pipeline_spec_check_fn *fn, const void *ctx)
{
    spec_check = fn;
    spec_check_ctx = ctx;
}

char *pipeline_make_key(const char *namespace_, const char *name, char *buf, unsigned long size)
{
    snprintf(buf, size, "%s/%s", namespace_, name);
    return buf;
}

static const char *meta_str(const cJSON *obj, const char *field)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static struct pipeline *alloc_pipeline(const char *namespace_, const char *name,
                                       const char *source, int64_t generation, int64_t created_ms)
{
    struct pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    atomic_init(&p->refs, 1);
    char key[PIPELINE_KEY_MAX];
    pipeline_make_key(namespace_, name, key, sizeof key);
    p->key = strdup(key);
    p->namespace_ = strdup(namespace_);
    p->name = strdup(name);
    p->source = strdup(source ? source : "");
    p->generation = generation;
    p->created_ms = created_ms;
    spec_init_defaults(&p->spec);
    if (!p->key || !p->namespace_ || !p->name || !p->source) {
        pipeline_unref(p);
        return NULL;
    }
    return p;
}

int pipeline_new(cJSON *object, const char *source, const char *namespace_default,
                 int64_t generation, int64_t created_ms, struct pipeline **ret, char **ret_err)
{
    const char *name = cJSON_IsObject(object) ? meta_str(object, "name") : NULL;
    if (!name || !*name) {
        if (ret_err)
            *ret_err = strdup("metadata.name: required");
        cJSON_Delete(object);
        return SH_EINVAL;
    }
    const char *ns = meta_str(object, "namespace");
    if (!ns || !*ns)
        ns = namespace_default;
    struct pipeline *p = alloc_pipeline(ns, name, source, generation, created_ms);
    if (!p) {
        cJSON_Delete(object);
        return SH_ENOMEM;
    }
    const char *uid = meta_str(object, "uid");
    if (uid && !(p->uid = strdup(uid)))
        goto nomem;
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(object, "metadata"), "annotations");
    const cJSON *reset = cJSON_GetObjectItemCaseSensitive(ann, PIPELINE_RESET_ANNOTATION);
    if (cJSON_IsString(reset) && !(p->reset_token = strdup(reset->valuestring)))
        goto nomem;

    cJSON *st = cJSON_DetachItemFromObjectCaseSensitive(object, "status");
    p->last_status = cJSON_IsObject(st) ? st : NULL;
    if (st && !p->last_status)
        cJSON_Delete(st);
    p->object = object;
    object = NULL;

    struct spec_errors errs = {0};
    spec_free(&p->spec);
    int r = spec_decode_object(p->object, &p->spec, &errs);
    if (r != SH_ENOMEM && spec_check) {
        int pr = spec_check(&p->spec, spec_check_ctx, &errs);
        if (pr != 0)
            r = pr == SH_ENOMEM ? pr : SH_EINVAL;
    }
    if (r == SH_ENOMEM) {
        spec_errors_free(&errs);
        goto nomem;
    }
    p->valid = (r == 0 && errs.count == 0);
    if (!p->valid) {
        p->invalid_message = spec_errors_join(&errs, "; ");
        if (!p->invalid_message) {
            spec_errors_free(&errs);
            goto nomem;
        }
    }
    spec_errors_free(&errs);
    *ret = p;
    return 0;
nomem:
    cJSON_Delete(object);
    pipeline_unref(p);
    return SH_ENOMEM;
}

struct pipeline *pipeline_new_invalid(const char *namespace_, const char *name, const char *source,
                                      const char *message, int64_t generation, int64_t created_ms)
{
    struct pipeline *p = alloc_pipeline(namespace_, name, source, generation, created_ms);
    if (!p)
        return NULL;
    p->valid = false;
    p->invalid_message = strdup(message);
    p->object = cJSON_CreateObject();
    if (!p->invalid_message || !p->object) {
        pipeline_unref(p);
        return NULL;
    }
    cJSON_AddStringToObject(p->object, "apiVersion", SPEC_API_VERSION);
    cJSON_AddStringToObject(p->object, "kind", SPEC_KIND);
    cJSON *meta = cJSON_AddObjectToObject(p->object, "metadata");
    if (meta) {
        cJSON_AddStringToObject(meta, "name", name);
        cJSON_AddStringToObject(meta, "namespace", namespace_);
    }
    return p;
}

int pipeline_compact(struct pipeline *p)
{
    if (!p->object)
        return 0;
    char *text = cJSON_PrintUnformatted(p->object);
    if (!text)
        return SH_ENOMEM;
    cJSON_Delete(p->object);
    p->object = NULL;
    p->object_text = text;
    return 0;
}

cJSON *pipeline_object_copy(const struct pipeline *p)
{
    if (p->object)
        return cJSON_Duplicate(p->object, true);
    return p->object_text ? cJSON_Parse(p->object_text) : cJSON_CreateObject();
}

bool pipeline_same_object(const struct pipeline *a, const struct pipeline *b)
{
    if (a->object_text && b->object_text)
        return strcmp(a->object_text, b->object_text) == 0;
    cJSON *ca = a->object ? a->object : pipeline_object_copy(a);
    cJSON *cb = b->object ? b->object : pipeline_object_copy(b);
    bool same = ca && cb && cJSON_Compare(ca, cb, true);
    if (ca != a->object)
        cJSON_Delete(ca);
    if (cb != b->object)
        cJSON_Delete(cb);
    return same;
}

struct pipeline *pipeline_ref(struct pipeline *p)
{
    if (p)
        atomic_fetch_add(&p->refs, 1);
    return p;
}

void pipeline_unref(struct pipeline *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    free(p->key);
    free(p->namespace_);
    free(p->name);
    free(p->uid);
    free(p->source);
    free(p->reset_token);
    free(p->invalid_message);
    cJSON_Delete(p->object);
    free(p->object_text);
    cJSON_Delete(p->last_status);
    spec_free(&p->spec);
    free(p);
}
