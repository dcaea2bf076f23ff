/*
 * metric_source.h — reads the live model metric from a pipeline's
 * `spec.model.metric.source` (controller/runtime/spec.h):
 *
 *   prometheus  GET <url>/api/v1/query?query=<query>: an instant vector
 *               (its first sample) or a scalar; an empty vector is
 *               inconclusive ("query returned no samples")
 *   http        GET <url>: a JSON document, the value at jsonPointer
 *   file        the JSON file at path, the value at jsonPointer
 *
 * The value must be a finite number: NaN, ±Inf, strings, a missing member,
 * an unreachable server or a timeout are all inconclusive readings with a
 * message for the ModelValid condition ("GET http://…: connection
 * refused"). Never a reason to roll back (DESIGN.md "Rollback").
 *
 * Blocking, bounded by the timeout; any thread (see metric_fetch.h).
 */
#ifndef SH_METRIC_SOURCE_H
#define SH_METRIC_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/credentials.h"
#include "runtime/spec.h"

#define METRIC_FILE_MAX (1u << 20)

/*
 * Reads the metric. Returns 0 and *ret, or an SH_E* code with the reason
 * in err: SH_ENOTFOUND (empty result, no such member), SH_EINVAL (not a
 * finite number, bad pointer, no source), SH_EPARSE (not JSON, not a
 * Prometheus answer), or the transport's code (metric_fetch.h).
 */
int metric_source_read(const struct spec_metric_source *src, int64_t timeout_ms, double *ret,
                       char *err, size_t errsize);

/* Where a source's credentials are looked up (runtime/credentials.h). */
struct metric_source_env {
    const char *ns;                       /* the pipeline's namespace */
    const struct secret_reader *secrets;  /* NULL: no secretKeyRef (locally) */
    const char *field;                    /* the source's spec path, for messages */
};

/* Like metric_source_read, resolving the source's `auth`/`tls` in env (NULL:
 * env and file references only). A credential that cannot be resolved is an
 * inconclusive reading naming the reference, never its value. */
int metric_source_read_in(const struct spec_metric_source *src, const struct metric_source_env *env,
                          int64_t timeout_ms, double *ret, char *err, size_t errsize);

/* Parses a Prometheus /api/v1/query answer (the body, any HTTP status):
 * the first sample of a vector or a scalar. Same returns. */
int metric_prometheus_parse(const char *body, size_t len, double *ret, char *err,
                            size_t errsize);

/* Parses a JSON document and reads the finite number at `pointer`. */
int metric_json_value(const char *body, size_t len, const char *pointer, double *ret, char *err,
                      size_t errsize);

/* The query URL: <base>/api/v1/query?query=<percent-encoded query>.
 * Owned, or NULL on allocation failure. */
char *metric_prometheus_url(const char *base, const char *query);

#endif
