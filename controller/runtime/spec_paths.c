/*
 * spec_paths.c — spec_check_paths (spec.h): every file and folder a decoded
 * spec names, checked against the --allow-path roots (pathguard.h). Apart
 * from spec.c so that the decoder alone links without the guard. The files
 * of credentials (auth: {file}, tls.caFile) count too: a pipeline must not
 * send a file outside the roots to a server as a token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/pathguard.h"
#include "runtime/spec.h"


static int check_one_path(const struct pathguard *g, const char *field_path, const char *path,
                          struct spec_errors *errs, int *bad)
{
    if (!path || !*path)
        return 0;
    char *why = NULL;
    if (pathguard_check(g, path, &why) == 0)
        return 0;
    (*bad)++;
    int r = spec_errors_add(errs, field_path, "%s", why ? why : "is outside the allowed paths");
    free(why);
    return r;
}

static int check_source_path(const struct pathguard *g, const char *field_path,
                             const struct spec_metric_source *src, struct spec_errors *errs,
                             int *bad)
{
    return src->kind == METRIC_SOURCE_FILE ? check_one_path(g, field_path, src->path, errs, bad) : 0;
}

/* The files of an `auth`/`tls` (bearerToken.file, basic.password.file, caFile) under base. */
static int check_auth_paths(const struct pathguard *g, const char *base,
                            const struct spec_http_auth *a, struct spec_errors *errs, int *bad)
{
    char p[256];
    int r = 0;
    if (a->bearer_token.kind == SECRET_REF_FILE) {
        snprintf(p, sizeof p, "%s.auth.bearerToken.file", base);
        r |= check_one_path(g, p, a->bearer_token.name, errs, bad);
    }
    if (a->basic_password.kind == SECRET_REF_FILE) {
        snprintf(p, sizeof p, "%s.auth.basic.password.file", base);
        r |= check_one_path(g, p, a->basic_password.name, errs, bad);
    }
    snprintf(p, sizeof p, "%s.tls.caFile", base);
    r |= check_one_path(g, p, a->ca_file, errs, bad);
    return r;
}

static int check_source_auth_paths(const struct pathguard *g, const char *base,
                                   const struct spec_metric_source *src, struct spec_errors *errs,
                                   int *bad)
{
    char p[200];
    if (src->kind != METRIC_SOURCE_PROMETHEUS && src->kind != METRIC_SOURCE_HTTP)
        return 0;
    snprintf(p, sizeof p, "%s.%s", base, src->kind == METRIC_SOURCE_HTTP ? "http" : "prometheus");
    return check_auth_paths(g, p, &src->auth, errs, bad);
}

int spec_check_paths(const struct spec *s, const struct pathguard *g, struct spec_errors *errs)
{
    if (!s || pathguard_count(g) == 0)
        return 0;
    int bad = 0, r = 0;
    if (s->service.present) {
        r |= check_auth_paths(g, "spec.service.healthCheck", &s->service.health_check.auth, errs,
                              &bad);
        r |= check_one_path(g, "spec.service.recovery.process.workingDir",
                            s->service.recovery.process.working_dir, errs, &bad);
    }
    if (s->model.present) {
        r |= check_source_path(g, "spec.model.metric.source.file.path", &s->model.metric.source,
                               errs, &bad);
        r |= check_source_auth_paths(g, "spec.model.metric.source", &s->model.metric.source, errs,
                                     &bad);
        for (size_t i = 0; i < s->model.nmetrics; i++) {
            char fp[96];
            snprintf(fp, sizeof fp, "spec.model.metrics[%zu].source.file.path", i);
            r |= check_source_path(g, fp, &s->model.metrics[i].source, errs, &bad);
            snprintf(fp, sizeof fp, "spec.model.metrics[%zu].source", i);
            r |= check_source_auth_paths(g, fp, &s->model.metrics[i].source, errs, &bad);
        }
        const char *reg = s->model.rollback.registry_path;
        if (reg && strcmp(reg, "models") != 0)
            r |= check_one_path(g, "spec.model.rollback.registry.path", reg, errs, &bad);
    }
    if (s->drift.present) {
        r |= check_one_path(g, "spec.drift.reference.path", s->drift.reference_path, errs, &bad);
        r |= check_one_path(g, "spec.drift.current.path", s->drift.current_path, errs, &bad);
        r |= check_source_path(g, "spec.drift.score.source.file.path", &s->drift.score_source,
                               errs, &bad);
        r |= check_source_auth_paths(g, "spec.drift.score.source", &s->drift.score_source, errs,
                                     &bad);
    }
    if (s->data_quality.present)
        r |= check_one_path(g, "spec.dataQuality.path", s->data_quality.path, errs, &bad);
    if (r != 0)
        return SH_ENOMEM;
    return bad ? SH_EINVAL : 0;
}
