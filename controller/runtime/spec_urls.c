/*
 * spec_urls.c — spec_check_urls (spec.h): every URL a decoded spec names,
 * checked against the --allow-url patterns (base/urlguard.h). Apart from
 * spec.c so that the decoder alone links without the guard.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/errors.h"
#include "base/urlguard.h"
#include "runtime/spec.h"

static int check_one_url(const struct urlguard *g, const char *field_path, const char *url,
                         struct spec_errors *errs, int *bad)
{
    if (!url || !*url)
        return 0;
    char *why = NULL;
    int r = urlguard_check(g, url, &why);
    if (r == 0)
        return 0;
    if (r == SH_ENOMEM) {
        free(why);
        return r;
    }
    (*bad)++;
    r = spec_errors_add(errs, field_path, "%s", why ? why : "is not an allowed URL");
    free(why);
    return r;
}

static int check_source_url(const struct urlguard *g, const char *base,
                            const struct spec_metric_source *src, struct spec_errors *errs,
                            int *bad)
{
    if (src->kind != METRIC_SOURCE_PROMETHEUS && src->kind != METRIC_SOURCE_HTTP)
        return 0;
    char p[200];
    snprintf(p, sizeof p, "%s.%s.url", base, src->kind == METRIC_SOURCE_HTTP ? "http" : "prometheus");
    return check_one_url(g, p, src->url, errs, bad);
}

int spec_check_urls(const struct spec *s, const struct urlguard *g, struct spec_errors *errs)
{
    if (!s || urlguard_count(g) == 0)
        return 0;
    int bad = 0, r = 0;
    if (s->service.present)
        r |= check_one_url(g, "spec.service.healthCheck.url", s->service.health_check.url, errs,
                           &bad);
    if (s->model.present) {
        r |= check_source_url(g, "spec.model.metric.source", &s->model.metric.source, errs, &bad);
        for (size_t i = 0; i < s->model.nmetrics; i++) {
            char fp[64];
            snprintf(fp, sizeof fp, "spec.model.metrics[%zu].source", i);
            r |= check_source_url(g, fp, &s->model.metrics[i].source, errs, &bad);
        }
    }
    if (s->drift.present)
        r |= check_source_url(g, "spec.drift.score.source", &s->drift.score_source, errs, &bad);
    if (r != 0)
        return SH_ENOMEM;
    return bad ? SH_EINVAL : 0;
}
