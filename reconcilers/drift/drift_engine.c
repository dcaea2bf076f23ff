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
#include "drift/drift_scan.h"
#include "drift/drift_sweep.h"
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

/* What the plan needs of one data set: its columns' names and types. */
struct side_view {
    size_t ncols, nrows;
    const char **names;
    bool *numeric;
};

static long find_column(const struct side_view *v, const char *name)
{
    for (size_t i = 0; i < v->ncols; i++)
        if (strcmp(v->names[i], name) == 0)
            return (long)i;
    return -1;
}

/* One feature to score: column rc of the reference against cc of the current data. */
struct job {
    size_t rc, cc;
    struct drift_feature *out;
};

/* worker: the scoring thread's number, 0 to MAX_THREADS − 1 */
typedef int (*score_fn)(void *ctx, size_t worker, const struct job *j, const struct drift_params *p);

struct pool {
    struct job *jobs;
    size_t njobs;
    const struct drift_params *p;
    score_fn score;
    void *ctx;
    atomic_size_t next, workers;
    atomic_int err;
};

static void set_statistic(struct drift_feature *f, const struct drift_params *p)
{
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

static void skip_no_values(struct drift_feature *f)
{
    snprintf(f->skip, sizeof f->skip, "no values in the %s data",
             f->nref == 0 ? "reference" : "current");
}

/* --- in-memory columns ------------------------------------------------------ */

struct columns_ctx {
    const struct csv_columns *ref, *cur;
};

static int score_numeric(const struct columns_ctx *c, const struct job *j,
                         const struct drift_params *p)
{
    struct drift_feature *f = j->out;
    double *a = NULL, *b = NULL;
    size_t n = 0, m = 0;
    if (drift_values(c->ref->cols[j->rc].num, c->ref->nrows, &a, &n) != 0 ||
        drift_values(c->cur->cols[j->cc].num, c->cur->nrows, &b, &m) != 0) {
        free(a);
        return SH_ENOMEM;
    }
    f->nref = n;
    f->ncur = m;
    if (n == 0 || m == 0) {
        skip_no_values(f);
    } else {
        f->psi = drift_psi(a, n, b, m);
        f->ks = drift_ks(a, n, b, m);
        f->wasserstein = drift_wasserstein(a, n, b, m);
        double mean, sd;
        drift_mean_sd(a, n, &mean, &sd);
        f->wasserstein_norm = drift_wasserstein_normalise(f->wasserstein, mean, sd);
        f->js = drift_js_binned(a, n, b, m);
        set_statistic(f, p);
    }
    free(a);
    free(b);
    return 0;
}

static int score_categorical(const struct columns_ctx *c, const struct job *j)
{
    struct drift_feature *f = j->out;
    double js = NAN;
    int r = drift_js_strings((const char *const *)c->ref->cols[j->rc].str, c->ref->nrows,
                             (const char *const *)c->cur->cols[j->cc].str, c->cur->nrows, &js,
                             &f->nref, &f->ncur);
    if (r == SH_ENOMEM)
        return r;
    if (r != 0) {
        skip_no_values(f);
        return 0;
    }
    f->js = js;
    f->statistic = js;
    f->scored = true;
    return 0;
}

static int score_columns(void *ctx, size_t worker, const struct job *j,
                         const struct drift_params *p)
{
    (void)worker;
    return j->out->kind == DRIFT_FEATURE_NUMERIC ? score_numeric(ctx, j, p)
                                                 : score_categorical(ctx, j);
}

/* --- scanned files (drift_scan.h) ------------------------------------------ */

struct scans_ctx {
    const struct drift_scan *ref, *cur;
    size_t share; /* memory of one scoring thread */
    const char *tmp_dir;
    struct drift_sweep_buf bufs[MAX_THREADS]; /* by worker */
};

static int score_scanned_numeric(struct scans_ctx *c, size_t worker, const struct job *j,
                                 const struct drift_params *p)
{
    struct drift_feature *f = j->out;
    const struct drift_scan_col *rc = &c->ref->cols[j->rc], *cc = &c->cur->cols[j->cc];
    f->nref = rc->nvalues;
    f->ncur = cc->nvalues;
    if (f->nref == 0 || f->ncur == 0) {
        skip_no_values(f);
        return 0;
    }
    struct drift_sweep_side a = {&c->ref->spill, j->rc, rc->nvalues, rc->min, rc->max, rc->frac >= 0,
                                 rc->frac};
    struct drift_sweep_side b = {&c->cur->spill, j->cc, cc->nvalues, cc->min, cc->max, cc->frac >= 0,
                                 cc->frac};
    struct drift_sweep_result res;
    int r = drift_sweep(&a, &b, c->share, c->tmp_dir, &c->bufs[worker], &res);
    if (r != 0)
        return r;
    f->psi = res.psi;
    f->ks = res.ks;
    f->wasserstein = res.wasserstein;
    f->wasserstein_norm = drift_wasserstein_normalise(res.wasserstein, res.mean, res.sd);
    f->js = res.js;
    set_statistic(f, p);
    return 0;
}

/* JS of the category counts, categories in the order drift_js_strings
 * meets them: the reference's, then the current data's new ones. */
static int score_scanned_categorical(const struct scans_ctx *c, const struct job *j)
{
    struct drift_feature *f = j->out;
    const struct drift_cats *a = &c->ref->cols[j->rc].cats, *b = &c->cur->cols[j->cc].cats;
    f->nref = c->ref->cols[j->rc].nvalues;
    f->ncur = c->cur->cols[j->cc].nvalues;
    if (f->nref == 0 || f->ncur == 0) {
        skip_no_values(f);
        return 0;
    }
    size_t k = a->n;
    double *p = calloc(a->n + b->n, sizeof *p), *q = calloc(a->n + b->n, sizeof *q);
    if (!p || !q) {
        free(p);
        free(q);
        return SH_ENOMEM;
    }
    for (size_t i = 0; i < a->n; i++)
        p[i] = a->counts[i];
    for (size_t i = 0; i < b->n; i++) {
        long at = drift_cats_find(a, b->keys[i], b->lens[i]);
        q[at >= 0 ? (size_t)at : k++] = b->counts[i];
    }
    f->js = drift_js_counts(p, q, k);
    f->statistic = f->js;
    f->scored = true;
    free(p);
    free(q);
    return 0;
}

static int score_scans(void *ctx, size_t worker, const struct job *j, const struct drift_params *p)
{
    return j->out->kind == DRIFT_FEATURE_NUMERIC ? score_scanned_numeric(ctx, worker, j, p)
                                                 : score_scanned_categorical(ctx, j);
}

/* --- the pool ----------------------------------------------------------------- */

static void *worker(void *arg)
{
    struct pool *pl = arg;
    size_t me = atomic_fetch_add(&pl->workers, 1);
    for (;;) {
        size_t i = atomic_fetch_add(&pl->next, 1);
        if (i >= pl->njobs || atomic_load(&pl->err) != 0)
            break;
        int r = pl->score(pl->ctx, me, &pl->jobs[i], pl->p);
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

/* The features of ref against cur (drift_engine.h) and the jobs that score
 * them: 0 with *ret_jobs (owned) and *ret_njobs, or SH_EINVAL / SH_ENOMEM
 * (*out freed). Too few rows: 0 with the Unknown verdict and no jobs. */
static int plan(const struct side_view *ref, const struct side_view *cur,
                const struct drift_params *p, struct drift_report *out, struct job **ret_jobs,
                size_t *ret_njobs)
{
    memset(out, 0, sizeof *out);
    *ret_jobs = NULL;
    *ret_njobs = 0;
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
        long c = find_column(cur, ref->names[i]);
        struct drift_feature *f = add_feature(out, ref->names[i]);
        if (!f) {
            free(jobs);
            drift_report_free(out);
            return SH_ENOMEM;
        }
        f->kind = ref->numeric[i] ? DRIFT_FEATURE_NUMERIC : DRIFT_FEATURE_CATEGORICAL;
        if (c < 0) {
            snprintf(f->skip, sizeof f->skip, "not in the current data");
        } else if (ref->numeric[i] != cur->numeric[c]) {
            snprintf(f->skip, sizeof f->skip, "%s in the reference, %s in the current data",
                     ref->numeric[i] ? "numeric" : "text", cur->numeric[c] ? "numeric" : "text");
        } else {
            jobs[njobs++] = (struct job){.rc = i, .cc = (size_t)c, .out = f};
        }
    }
    for (size_t i = 0; i < cur->ncols; i++) {
        if (find_column(ref, cur->names[i]) >= 0)
            continue;
        struct drift_feature *f = add_feature(out, cur->names[i]);
        if (!f) {
            free(jobs);
            drift_report_free(out);
            return SH_ENOMEM;
        }
        f->kind = cur->numeric[i] ? DRIFT_FEATURE_NUMERIC : DRIFT_FEATURE_CATEGORICAL;
        snprintf(f->skip, sizeof f->skip, "not in the reference data");
    }
    *ret_jobs = jobs;
    *ret_njobs = njobs;
    return 0;
}

/* Plans, scores every job with score(ctx, ...) on the pool, summarises. */
static int compare(const struct side_view *ref, const struct side_view *cur,
                   const struct drift_params *p, score_fn score, void *ctx,
                   struct drift_report *out)
{
    struct job *jobs;
    size_t njobs;
    int r = plan(ref, cur, p, out, &jobs, &njobs);
    if (r != 0 || !out->features) {
        free(jobs);
        return r;
    }
    struct pool pl = {.jobs = jobs, .njobs = njobs, .p = p, .score = score, .ctx = ctx};
    atomic_init(&pl.next, 0);
    atomic_init(&pl.workers, 0);
    atomic_init(&pl.err, 0);
    r = njobs ? run_pool(&pl) : 0;
    free(jobs);
    if (r != 0) {
        drift_report_free(out);
        return r;
    }
    summarise(out, p);
    return 0;
}

/* The names and types of n columns, from arrays of structs. */
static int view_alloc(struct side_view *v, size_t ncols, size_t nrows)
{
    v->ncols = ncols;
    v->nrows = nrows;
    v->names = calloc(ncols + 1, sizeof *v->names);
    v->numeric = calloc(ncols + 1, sizeof *v->numeric);
    return v->names && v->numeric ? 0 : SH_ENOMEM;
}

static void view_free(struct side_view *v)
{
    free(v->names);
    free(v->numeric);
}

static int views_compare(struct side_view *rv, struct side_view *cv, const struct drift_params *p,
                         score_fn score, void *ctx, struct drift_report *out)
{
    int r = compare(rv, cv, p, score, ctx, out);
    view_free(rv);
    view_free(cv);
    return r;
}

int drift_compare_columns(const struct csv_columns *ref, const struct csv_columns *cur,
                          const struct drift_params *p, struct drift_report *out)
{
    memset(out, 0, sizeof *out);
    struct side_view rv, cv;
    int r = view_alloc(&rv, ref->ncols, ref->nrows);
    int r2 = view_alloc(&cv, cur->ncols, cur->nrows);
    if (r || r2) {
        view_free(&rv);
        view_free(&cv);
        return SH_ENOMEM;
    }
    for (size_t i = 0; i < ref->ncols; i++) {
        rv.names[i] = ref->cols[i].name;
        rv.numeric[i] = ref->cols[i].numeric;
    }
    for (size_t i = 0; i < cur->ncols; i++) {
        cv.names[i] = cur->cols[i].name;
        cv.numeric[i] = cur->cols[i].numeric;
    }
    struct columns_ctx ctx = {ref, cur};
    return views_compare(&rv, &cv, p, score_columns, &ctx, out);
}

size_t drift_budget(const struct drift_params *p)
{
    return p->memory_budget ? p->memory_budget : DRIFT_DEFAULT_BUDGET;
}

int drift_compare_scans(const struct drift_scan *ref, const struct drift_scan *cur,
                        const struct drift_params *p, struct drift_report *out)
{
    memset(out, 0, sizeof *out);
    struct side_view rv, cv;
    int r = view_alloc(&rv, ref->ncols, ref->nrows);
    int r2 = view_alloc(&cv, cur->ncols, cur->nrows);
    if (r || r2) {
        view_free(&rv);
        view_free(&cv);
        return SH_ENOMEM;
    }
    for (size_t i = 0; i < ref->ncols; i++) {
        rv.names[i] = ref->cols[i].name;
        rv.numeric[i] = ref->cols[i].numeric;
    }
    for (size_t i = 0; i < cur->ncols; i++) {
        cv.names[i] = cur->cols[i].name;
        cv.numeric[i] = cur->cols[i].numeric;
    }
    /* the sorting memory: three quarters of the budget, shared by the threads */
    size_t nnum = 0;
    for (size_t i = 0; i < ref->ncols; i++)
        nnum += ref->cols[i].numeric;
    int threads = nthreads_for(p, nnum ? nnum : 1);
    struct scans_ctx ctx = {ref, cur, drift_budget(p) / 4 * 3 / (size_t)threads, p->tmp_dir, {{0}}};
    r = views_compare(&rv, &cv, p, score_scans, &ctx, out);
    for (int i = 0; i < MAX_THREADS; i++)
        drift_sweep_buf_free(&ctx.bufs[i]);
    return r;
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
