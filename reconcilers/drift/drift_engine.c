/* drift_engine.c — features, statistics and score of two in-memory data sets (drift_engine.h). */
#include "drift/drift_engine.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drift/drift_stats.h"
#include "base/errors.h"

#define MAX_THREADS 16

void drift_params_default(struct drift_params *p, enum drift_method method)
{
    memset(p, 0, sizeof *p);
    p->method = method;
    p->feature_threshold = method == DRIFT_PSI ? 0.2 : 0.1;
    p->threshold = 0.5;
    p->min_samples = 100;
}

const char *drift_verdict_name(enum drift_verdict v)
{
    switch (v) {
    case DRIFT_VERDICT_NONE:
        return "no drift";
    case DRIFT_VERDICT_DRIFT:
        return "drift";
    default:
        return "unknown";
    }
}

const char *drift_feature_method(const struct drift_feature *f, enum drift_method m)
{
    if (f->kind == DRIFT_FEATURE_CATEGORICAL)
        return "jensenshannon";
    return spec_drift_method_name(m);
}

static const struct csv_column *find_column(const struct csv_columns *c, const char *name)
{
    for (size_t i = 0; i < c->ncols; i++)
        if (strcmp(c->cols[i].name, name) == 0)
            return &c->cols[i];
    return NULL;
}

/* One feature to score. */
struct job {
    const struct csv_column *ref, *cur;
    size_t ref_rows, cur_rows;
    struct drift_feature *out;
};

struct pool {
    struct job *jobs;
    size_t njobs;
    const struct drift_params *p;
    atomic_size_t next;
    atomic_int err;
};

static int score_numeric(const struct job *j, const struct drift_params *p)
{
    struct drift_feature *f = j->out;
    double *a = NULL, *b = NULL;
    size_t n = 0, m = 0;
    if (drift_values(j->ref->num, j->ref_rows, &a, &n) != 0 ||
        drift_values(j->cur->num, j->cur_rows, &b, &m) != 0) {
        free(a);
        return SH_ENOMEM;
    }
    f->nref = n;
    f->ncur = m;
    if (n == 0 || m == 0) {
        snprintf(f->skip, sizeof f->skip, "no values in the %s data", n == 0 ? "reference" : "current");
    } else {
        f->psi = drift_psi(a, n, b, m);
        f->ks = drift_ks(a, n, b, m);
        f->wasserstein = drift_wasserstein(a, n, b, m);
        double mean, sd;
        drift_mean_sd(a, n, &mean, &sd);
        f->wasserstein_norm = drift_wasserstein_normalise(f->wasserstein, mean, sd);
        f->js = drift_js_binned(a, n, b, m);
        switch (p->method) {
        case DRIFT_PSI:
            f->statistic = f->psi;
            break;
        case DRIFT_KS:
            f->statistic = f->ks;
            break;
        case DRIFT_WASSERSTEIN:
            f->statistic = f->wasserstein_norm;
            break;
        case DRIFT_JENSENSHANNON:
            f->statistic = f->js;
            break;
        }
        f->scored = true;
    }
    free(a);
    free(b);
    return 0;
}

static int score_categorical(const struct job *j)
{
    struct drift_feature *f = j->out;
    double js = NAN;
    int r = drift_js_strings((const char *const *)j->ref->str, j->ref_rows,
                             (const char *const *)j->cur->str, j->cur_rows, &js, &f->nref,
                             &f->ncur);
    if (r == SH_ENOMEM)
        return r;
    if (r != 0) {
        snprintf(f->skip, sizeof f->skip, "no values in the %s data",
                 f->nref == 0 ? "reference" : "current");
        return 0;
    }
    f->js = js;
    f->statistic = js;
    f->scored = true;
    return 0;
}

static void *worker(void *arg)
{
    struct pool *pl = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&pl->next, 1);
        if (i >= pl->njobs || atomic_load(&pl->err) != 0)
            break;
        struct job *j = &pl->jobs[i];
        int r = j->out->kind == DRIFT_FEATURE_NUMERIC ? score_numeric(j, pl->p) : score_categorical(j);
        if (r != 0)
            atomic_store(&pl->err, r);
    }
    return NULL;
}

static int nthreads_for(const struct drift_params *p, size_t njobs)
{
    long n = p->threads > 0 ? p->threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    if ((size_t)n > njobs)
        n = (long)njobs;
    return (int)n;
}

static int run_pool(struct pool *pl)
{
    int n = nthreads_for(pl->p, pl->njobs);
    pthread_t th[MAX_THREADS];
    int started = 0;
    for (int i = 1; i < n; i++) {
        if (pthread_create(&th[started], NULL, worker, pl) != 0)
            break;
        started++;
    }
    worker(pl); /* this thread works too */
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    return atomic_load(&pl->err);
}

static struct drift_feature *add_feature(struct drift_report *r, const char *name)
{
    struct drift_feature *f = &r->features[r->nfeatures];
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    if (!f->name)
        return NULL;
    f->psi = f->ks = f->wasserstein = f->wasserstein_norm = f->js = f->statistic = NAN;
    r->nfeatures++;
    return f;
}

static void summarise(struct drift_report *r, const struct drift_params *p)
{
    for (size_t i = 0; i < r->nfeatures; i++) {
        struct drift_feature *f = &r->features[i];
        if (!f->scored)
            continue;
        r->nscored++;
        f->drifted = f->statistic >= p->feature_threshold;
        r->ndrifted += f->drifted;
    }
    if (r->nscored == 0) {
        r->verdict = DRIFT_VERDICT_UNKNOWN;
        snprintf(r->message, sizeof r->message, "no feature to compare (%zu columns in common)",
                 r->nfeatures);
        return;
    }
    r->score = (double)r->ndrifted / (double)r->nscored;
    r->verdict = r->score >= p->threshold ? DRIFT_VERDICT_DRIFT : DRIFT_VERDICT_NONE;
    snprintf(r->message, sizeof r->message, "%s: score %.3f %s threshold %.3f (%zu of %zu features drifted, %s)",
             r->verdict == DRIFT_VERDICT_DRIFT ? "drift" : "no drift", r->score,
             r->verdict == DRIFT_VERDICT_DRIFT ? "≥" : "<", p->threshold, r->ndrifted, r->nscored,
             spec_drift_method_name(p->method));
}

int drift_compare_columns(const struct csv_columns *ref, const struct csv_columns *cur,
                          const struct drift_params *p, struct drift_report *out)
{
    memset(out, 0, sizeof *out);
    out->score = NAN;
    out->ref_rows = ref->nrows;
    out->cur_rows = cur->nrows;
    if (!(p->feature_threshold > 0) || !(p->threshold >= 0 && p->threshold <= 1))
        return SH_EINVAL;
    size_t min = p->min_samples;
    if (ref->nrows < min || cur->nrows < min) {
        out->verdict = DRIFT_VERDICT_UNKNOWN;
        snprintf(out->message, sizeof out->message,
                 "too few rows to judge: %zu in the reference, %zu in the current data "
                 "(minSamples %zu)",
                 ref->nrows, cur->nrows, min);
        return 0;
    }
    out->features = calloc(ref->ncols + cur->ncols + 1, sizeof *out->features);
    struct job *jobs = calloc(ref->ncols + 1, sizeof *jobs);
    if (!out->features || !jobs) {
        free(jobs);
        drift_report_free(out);
        return SH_ENOMEM;
    }
    size_t njobs = 0;
    for (size_t i = 0; i < ref->ncols; i++) {
        const struct csv_column *rc = &ref->cols[i];
        const struct csv_column *cc = find_column(cur, rc->name);
        struct drift_feature *f = add_feature(out, rc->name);
        if (!f) {
            free(jobs);
            drift_report_free(out);
            return SH_ENOMEM;
        }
        f->kind = rc->numeric ? DRIFT_FEATURE_NUMERIC : DRIFT_FEATURE_CATEGORICAL;
        if (!cc) {
            snprintf(f->skip, sizeof f->skip, "not in the current data");
        } else if (rc->numeric != cc->numeric) {
            snprintf(f->skip, sizeof f->skip, "%s in the reference, %s in the current data",
                     rc->numeric ? "numeric" : "text", cc->numeric ? "numeric" : "text");
        } else {
            jobs[njobs++] = (struct job){.ref = rc, .cur = cc, .ref_rows = ref->nrows,
                                         .cur_rows = cur->nrows, .out = f};
        }
    }
    for (size_t i = 0; i < cur->ncols; i++) {
        if (find_column(ref, cur->cols[i].name))
            continue;
        struct drift_feature *f = add_feature(out, cur->cols[i].name);
        if (!f) {
            free(jobs);
            drift_report_free(out);
            return SH_ENOMEM;
        }
        f->kind = cur->cols[i].numeric ? DRIFT_FEATURE_NUMERIC : DRIFT_FEATURE_CATEGORICAL;
        snprintf(f->skip, sizeof f->skip, "not in the reference data");
    }
    struct pool pl = {.jobs = jobs, .njobs = njobs, .p = p};
    atomic_init(&pl.next, 0);
    atomic_init(&pl.err, 0);
    int r = njobs ? run_pool(&pl) : 0;
    free(jobs);
    if (r != 0) {
        drift_report_free(out);
        return r;
    }
    summarise(out, p);
    return 0;
}

void drift_report_free(struct drift_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfeatures; i++)
        free(r->features[i].name);
    free(r->features);
    r->features = NULL;
    r->nfeatures = 0;
}

static void put_num(cJSON *o, const char *k, double v)
{
    if (!isnan(v))
        cJSON_AddNumberToObject(o, k, v);
}

cJSON *drift_report_json(const struct drift_report *r, const struct drift_params *p)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "verdict", drift_verdict_name(r->verdict));
    cJSON_AddBoolToObject(o, "drift", r->verdict == DRIFT_VERDICT_DRIFT);
    put_num(o, "score", r->score);
    cJSON_AddNumberToObject(o, "threshold", p->threshold);
    cJSON_AddStringToObject(o, "method", spec_drift_method_name(p->method));
    cJSON_AddNumberToObject(o, "featureThreshold", p->feature_threshold);
    cJSON_AddNumberToObject(o, "minSamples", (double)p->min_samples);
    cJSON_AddNumberToObject(o, "referenceRows", (double)r->ref_rows);
    cJSON_AddNumberToObject(o, "currentRows", (double)r->cur_rows);
    cJSON_AddNumberToObject(o, "scoredFeatures", (double)r->nscored);
    cJSON *drifted = cJSON_AddArrayToObject(o, "driftedFeatures");
    cJSON *fs = cJSON_AddArrayToObject(o, "features");
    for (size_t i = 0; i < r->nfeatures && fs && drifted; i++) {
        const struct drift_feature *f = &r->features[i];
        cJSON *x = cJSON_CreateObject();
        if (!x)
            break;
        cJSON_AddItemToArray(fs, x);
        cJSON_AddStringToObject(x, "name", f->name);
        cJSON_AddStringToObject(x, "type", f->kind == DRIFT_FEATURE_NUMERIC ? "numeric" : "categorical");
        if (!f->scored) {
            cJSON_AddStringToObject(x, "skipped", f->skip);
            continue;
        }
        cJSON_AddNumberToObject(x, "referenceValues", (double)f->nref);
        cJSON_AddNumberToObject(x, "currentValues", (double)f->ncur);
        put_num(x, "psi", f->psi);
        put_num(x, "ks", f->ks);
        put_num(x, "wasserstein", f->wasserstein);
        put_num(x, "wassersteinNormalised", f->wasserstein_norm);
        put_num(x, "jensenshannon", f->js);
        cJSON_AddStringToObject(x, "method", drift_feature_method(f, p->method));
        put_num(x, "statistic", f->statistic);
        cJSON_AddBoolToObject(x, "drifted", f->drifted);
        if (f->drifted)
            cJSON_AddItemToArray(drifted, cJSON_CreateString(f->name));
    }
    cJSON_AddStringToObject(o, "message", r->message);
    return o;
}
