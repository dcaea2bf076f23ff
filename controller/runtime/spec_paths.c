/*
 * spec_paths.c — spec_check_paths (spec.h): every file and folder a decoded
 * spec names, checked against the --allow-path roots (pathguard.h). Apart
 * from spec.c so that the decoder alone links without the guard.
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

int spec_check_paths(const struct spec *s, const struct pathguard *g, struct spec_errors *errs)
{
    if (!s || pathguard_count(g) == 0)
        return 0;
    int bad = 0, r = 0;
    if (s->service.present)
        r |= check_one_path(g, "spec.service.recovery.process.workingDir",
                            s->service.recovery.process.working_dir, errs, &bad);
    if (s->model.present) {
        r |= check_source_path(g, "spec.model.metric.source.file.path", &s->model.metric.source,
                               errs, &bad);
        for (size_t i = 0; i < s->model.nmetrics; i++) {
            char fp[96];
            snprintf(fp, sizeof fp, "spec.model.metrics[%zu].source.file.path", i);
            r |= check_source_path(g, fp, &s->model.metrics[i].source, errs, &bad);
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
    }
    if (s->data_quality.present)
        r |= check_one_path(g, "spec.dataQuality.path", s->data_quality.path, errs, &bad);
    if (r != 0)
        return SH_ENOMEM;
    return bad ? SH_EINVAL : 0;
}
