/*
 * pipeline.h — one SelfHealingPipeline as the sources see it: an immutable,
 * reference-counted snapshot of the object (metadata + spec) with its decoded
 * spec or its validation errors.
 *
 * Sources (the spec folder, the Kubernetes informer) build a new snapshot
 * whenever the object changes and hand out references; a worker holds one
 * for the length of a reconcile. Snapshots are never modified after
 * pipeline_new*() returns, so any thread may read them; pipeline_ref and
 * pipeline_unref are atomic.
 */
#ifndef SH_PIPELINE_H
#define SH_PIPELINE_H

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/spec.h"

#define PIPELINE_RESET_ANNOTATION "selfheal.dev/reset"
#define PIPELINE_KEY_MAX 320

struct pipeline {
    atomic_int refs;
    char *key;       /* "namespace/name" */
    char *namespace_;
    char *name;
    char *uid;
    int64_t generation;
    int64_t created_ms;
    cJSON *object;      /* apiVersion, kind, metadata, spec (status removed); owned;
                           NULL once pipeline_compact() ran: then object_text */
    char *object_text;  /* the same object as compact JSON after pipeline_compact() */
    cJSON *last_status; /* status as found at the source (kube object), or NULL */
    char *source;       /* where it came from: a file path, or "kube" */
    char *reset_token;  /* metadata.annotations["selfheal.dev/reset"], or NULL */
    bool valid;
    char *invalid_message; /* "path: message; path: message" when !valid */
    struct spec spec;      /* decoded (defaults when !valid) */
};

/*
 * Builds a snapshot from a whole object (taken: freed on failure too). The
 * spec is decoded and validated; an invalid one still gives a snapshot
 * (valid == false) as long as metadata.name is usable. `namespace_default` is
 * used when metadata.namespace is absent. Returns 0 and *ret, SH_EINVAL when
 * the object has no usable name (*ret_err says why, owned), or SH_ENOMEM.
 */
int pipeline_new(cJSON *object, const char *source, const char *namespace_default,
                 int64_t generation, int64_t created_ms, struct pipeline **ret, char **ret_err);

/*
 * Builds an invalid snapshot for something that could not even be parsed
 * (a broken YAML file): `message` says why. Returns NULL on allocation failure.
 */
struct pipeline *pipeline_new_invalid(const char *namespace_, const char *name, const char *source,
                                      const char *message, int64_t generation, int64_t created_ms);

/*
 * An extra check run on every spec pipeline_new decodes, after validation:
 * `selfheal run --allow-path` installs one that confines the spec's paths
 * (spec_check_paths). Errors it appends make the pipeline invalid, like any
 * other spec error. Returns 0, SH_EINVAL (errors appended) or SH_ENOMEM.
 */
typedef int pipeline_spec_check_fn(const struct spec *s, const void *ctx,
                                   struct spec_errors *errs);

/*
 * Installs the check for every later pipeline_new (NULL: none, the
 * default). `ctx` is borrowed and must outlive every source; call this at
 * start-up before the sources start.
 */
void pipeline_set_spec_check(pipeline_spec_check_fn *fn, const void *ctx);

/*
 * Replaces p->object by its compact JSON text, p->object_text: a few hundred
 * bytes instead of a tree of small allocations (the local source holds one
 * snapshot per pipeline: thousands of them). Only for a snapshot no other
 * thread sees yet. Returns 0 or SH_ENOMEM (p unchanged).
 */
int pipeline_compact(struct pipeline *p);

/* A copy of p's object (from object or object_text), owned; NULL when out
 * of memory. */
cJSON *pipeline_object_copy(const struct pipeline *p);

/* Whether a and b hold the same object (compacted or not). */
bool pipeline_same_object(const struct pipeline *a, const struct pipeline *b);

/* Takes another reference; returns p. NULL is a no-op. */
struct pipeline *pipeline_ref(struct pipeline *p);

/* Drops a reference; the last one frees. NULL is a no-op. */
void pipeline_unref(struct pipeline *p);

/* Formats "namespace/name" into buf; returns buf (truncated if too small). */
char *pipeline_make_key(const char *namespace_, const char *name, char *buf, unsigned long size);

#endif
