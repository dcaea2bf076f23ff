/* data_reconciler.c — the data-quality loop: scan, decide, fix (data_reconciler.h). */
#include "data/data_reconciler.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_decide.h"
#include "data/datafix.h"
#include "data/datafix_isolated.h"
#include "base/errors.h"
#include "base/log.h"
#include "runtime/status.h"
#include "base/strmap.h"

#define LOOP "dataQuality"
#define FP_MAX 96
#define WAIT_RETRY_MS 5000

struct memo {
    int64_t next_check_ms;
    int64_t generation;
    unsigned phase_requests;
    bool settled;         /* the last verdict holds until the file or spec changes */
    char fp[FP_MAX];      /* the file scanned last */
};

struct data_reconciler {
    struct data_reconciler_options o;
    uint64_t budget; /* the data work's memory budget (isolate.h); 0: none */
    pthread_mutex_t mu;
    struct strmap *memos;
};

static bool memo_get(struct data_reconciler *dr, const char *key, struct memo *ret)
{
    pthread_mutex_lock(&dr->mu);
    struct memo *m = strmap_get(dr->memos, key);
    if (m)
        *ret = *m;
    pthread_mutex_unlock(&dr->mu);
    return m != NULL;
}

static void memo_put(struct data_reconciler *dr, const char *key, const struct memo *v)
{
    pthread_mutex_lock(&dr->mu);
    struct memo *m = strmap_get(dr->memos, key);
    if (!m && (m = malloc(sizeof *m)) != NULL && strmap_put(dr->memos, key, m, NULL) != 0) {
        free(m);
        m = NULL;
    }
    if (m)
        *m = *v;
    pthread_mutex_unlock(&dr->mu);
}

static void memo_forget(struct data_reconciler *dr, const char *key)
{
    pthread_mutex_lock(&dr->mu);
    free(strmap_remove(dr->memos, key));
    pthread_mutex_unlock(&dr->mu);
}

static void options_from_spec(const struct spec_data_quality *dq, int64_t now,
                              struct datafix_options *o)
{
    datafix_options_default(o);
    o->missing = dq->missing_values;
    o->iqr_multiplier = dq->outliers.multiplier;
    o->outliers = dq->outliers.action;
    o->missing_tokens = (const char *const *)dq->missing_tokens;
    o->ntokens = dq->missing_token_count;
    o->max_fixed_fraction = dq->max_fixed_fraction;
    o->backup_keep = dq->backup_keep;
    o->now_ms = now;
}

static void totals(const struct datafix_report *rep, size_t *missing, size_t *outliers,
                   size_t *filled, size_t *capped)
{
    *missing = *outliers = *filled = *capped = 0;
    for (size_t c = 0; c < rep->ncols; c++) {
        *missing += rep->cols[c].missing;
        *outliers += rep->cols[c].outliers;
        *filled += rep->cols[c].filled;
        *capped += rep->cols[c].capped;
    }
}

/* "12 missing cells and 3 outliers in PATH (15 cells, 0.4%)" */
static void describe(const struct datafix_report *rep, const char *path, char *buf, size_t size)
{
    size_t missing, outliers, filled, capped;
    totals(rep, &missing, &outliers, &filled, &capped);
    snprintf(buf, size, "%zu missing cells and %zu outliers in %s (%zu cells to change, %.2f%%%s)",
             missing, outliers, path, rep->cells_changed, 100.0 * rep->fixed_fraction,
             rep->rows_dropped ? ", rows dropped" : "");
}

static void set_cond(struct reconcile_ctx *ctx, enum data_verdict v, const char *msg)
{
    enum cond_status cs = COND_FALSE;
    if (v == DATA_CLEAN || v == DATA_FIXED || v == DATA_FIX)
        cs = COND_TRUE;
    else if (v == DATA_UNAVAILABLE)
        cs = COND_UNKNOWN;
    status_set_condition(ctx->status, COND_DATA_VALID, cs, data_verdict_reason(v), msg,
                         ctx->p->generation, ctx->now_ms);
}

/* The fix itself: backup, rewrite, status, history, event. */
static int act(struct data_reconciler *dr, struct reconcile_ctx *ctx, cJSON *sec,
               const char *path, const char *trigger, struct memo *memo)
{
    const struct spec_data_quality *dq = &ctx->spec->data_quality;
    struct platform *pf = ctx->platform;
    struct datafix_options o;
    options_from_spec(dq, ctx->now_ms, &o);
    struct datafix_report rep;
    char *err = NULL;
    int64_t t0 = clock_monotonic_ms();
    /* in a child under the budget: a file too big fails this loop, not the controller */
    int r = datafix_run_isolated(path, &o, dr->budget, &rep, &err);
    double secs = (double)(clock_monotonic_ms() - t0) / 1000.0;
    char msg[1024];
    struct history_entry h = {.time_ms = ctx->now_ms,
                              .loop = LOOP,
                              .action = "fix-data",
                              .trigger = trigger,
                              .from = path,
                              .duration_seconds = secs};
    ctx->action_in_flight = true;
    if (r != 0 || !rep.written) {
        snprintf(msg, sizeof msg, "fixing %s failed: %s", path,
                 err ? err : r ? sh_strerror(r) : "the file was not written");
        h.outcome = "failed";
        status_history_add(ctx->status, &h);
        pf->record_event(pf, ctx->p, EVENT_WARNING, "DataFixFailed", msg);
        log_warn(ctx->p->key, "%s", msg);
        bool unfixable = r == SH_EPARSE || r == SH_EREFUSED || r == SH_ENOMEM;
        enum data_verdict v = unfixable ? DATA_UNFIXABLE : DATA_UNAVAILABLE;
        set_cond(ctx, v, msg);
        ctx->phase_requests |= PHASE_REQ(PHASE_DEGRADED);
        memo->phase_requests = PHASE_REQ(PHASE_DEGRADED);
        memo->settled = false;
        datafix_report_free(&rep);
        free(err);
        /* a file that changed under us or an I/O error: the manager's backoff retries */
        return unfixable ? 0 : (r ? r : SH_EIO);
    }
    size_t missing, outliers, filled, capped;
    totals(&rep, &missing, &outliers, &filled, &capped);
    snprintf(msg, sizeof msg, "filled %zu missing cells and capped %zu outliers in %s%s%s%s", filled,
             capped, path, rep.rows_dropped ? " (rows dropped)" : "",
             rep.backup ? "; backup " : "", rep.backup ? rep.backup : "");
    h.to = rep.backup;
    h.outcome = "succeeded";
    status_history_add(ctx->status, &h);
    pf->record_event(pf, ctx->p, EVENT_NORMAL, "DataFixed", msg);
    log_info(ctx->p->key, "%s", msg);
    set_cond(ctx, DATA_FIX, msg);
    status_put_num(sec, "rows", (double)(rep.rows - rep.rows_dropped));
    status_put_num(sec, "missingFixed", (double)filled);
    status_put_num(sec, "outliersCapped", (double)capped);
    status_put_time(sec, "lastFixTime", ctx->now_ms);
    status_put_str(sec, "lastBackup", rep.backup);
    char fp[FP_MAX];
    if (datafix_fingerprint(path, fp, sizeof fp) == 0) {
        status_put_str(sec, "fixedVersion", fp);
        snprintf(memo->fp, sizeof memo->fp, "%s", fp);
        memo->settled = true;
    }
    ctx->phase_requests |= PHASE_REQ(PHASE_FIXING_DATA);
    memo->phase_requests = 0;
    datafix_report_free(&rep);
    free(err);
    return 0;
}

/* One scan and what follows from it. */
static int check(struct data_reconciler *dr, struct reconcile_ctx *ctx, cJSON *sec,
                 struct memo *memo, const char *fp, bool have_fp)
{
    const struct spec_data_quality *dq = &ctx->spec->data_quality;
    const char *path = dq->path;
    struct data_decide_in in = {.dry_run = ctx->paused || dq->dry_run,
                                .action_in_flight = ctx->action_in_flight};
    struct datafix_report rep = {0};
    char *err = NULL;
    char msg[1024];
    const char *fixed = status_str(sec, "fixedVersion");
    snprintf(memo->fp, sizeof memo->fp, "%s", have_fp ? fp : "");
    if (!have_fp) {
        in.scan = DATA_SCAN_UNAVAILABLE;
        snprintf(msg, sizeof msg, "%s: cannot be read", path);
    } else if (fixed && strcmp(fixed, fp) == 0) {
        in.scan = DATA_SCAN_OURS;
    } else {
        struct datafix_options o;
        options_from_spec(dq, ctx->now_ms, &o);
        o.dry_run = true;
        int r = datafix_run_isolated(path, &o, dr->budget, &rep, &err);
        /* over the memory budget: unfixable here until the budget is raised */
        if (r == SH_EPARSE || r == SH_ENOMEM)
            in.scan = DATA_SCAN_BROKEN;
        else if (r == SH_EREFUSED)
            in.scan = DATA_SCAN_TOO_DIRTY;
        else if (r != 0)
            in.scan = DATA_SCAN_UNAVAILABLE;
        else
            in.scan = rep.cells_changed ? DATA_SCAN_DIRTY : DATA_SCAN_CLEAN;
        if (r != 0)
            snprintf(msg, sizeof msg, "%s%s%s", r == SH_ENOMEM ? path : "",
                     r == SH_ENOMEM ? ": " : "", err ? err : sh_strerror(r));
    }
    enum data_verdict v = data_decide(&in);
    int ret = 0;
    char what[600];
    what[0] = '\0';
    if (in.scan == DATA_SCAN_DIRTY)
        describe(&rep, path, what, sizeof what);
    memo->settled = v != DATA_WAIT && v != DATA_UNAVAILABLE;
    memo->phase_requests = 0;
    switch (v) {
    case DATA_CLEAN:
        snprintf(msg, sizeof msg, "%s: %zu rows, no missing cells or outliers", path, rep.rows);
        set_cond(ctx, v, msg);
        status_put_num(sec, "rows", (double)rep.rows);
        status_put_str(sec, "fixedVersion", NULL);
        break;
    case DATA_FIXED:
        /* the condition and counts of our fix stay as they are */
        if (status_condition_status(ctx->status, COND_DATA_VALID) != COND_TRUE)
            set_cond(ctx, v, "the file is as the last fix wrote it");
        break;
    case DATA_UNFIXABLE: {
        const cJSON *prev = status_get_condition(ctx->status, COND_DATA_VALID);
        const char *pm = prev ? status_str(prev, "message") : NULL;
        if (!pm || strcmp(pm, msg) != 0) {
            ctx->platform->record_event(ctx->platform, ctx->p, EVENT_WARNING, "DataUnfixable", msg);
            log_warn(ctx->p->key, "data unfixable: %s", msg);
        }
        set_cond(ctx, v, msg);
        memo->phase_requests = PHASE_REQ(PHASE_DEGRADED);
        break;
    }
    case DATA_UNAVAILABLE:
        set_cond(ctx, v, msg);
        memo->phase_requests = PHASE_REQ(PHASE_DEGRADED);
        break;
    case DATA_PLAN: {
        char plan[700];
        snprintf(plan, sizeof plan, "fix-data: %s", what);
        status_plan(ctx->status, LOOP, plan);
        snprintf(msg, sizeof msg, "%s; dry run: not fixed", what);
        set_cond(ctx, v, msg);
        memo->phase_requests = PHASE_REQ(PHASE_DEGRADED);
        break;
    }
    case DATA_WAIT:
        snprintf(msg, sizeof msg, "%s; waiting for the action in flight", what);
        set_cond(ctx, v, msg);
        memo->phase_requests = PHASE_REQ(PHASE_DEGRADED);
        break;
    case DATA_FIX:
        ret = act(dr, ctx, sec, path, what, memo);
        break;
    }
    ctx->phase_requests |= memo->phase_requests;
    datafix_report_free(&rep);
    free(err);
    return ret;
}

static int dr_reconcile(void *self, struct reconcile_ctx *ctx)
{
    struct data_reconciler *dr = self;
    const struct pipeline *p = ctx->p;
    const struct spec_data_quality *dq = &ctx->spec->data_quality;
    if (!dq->present || !dq->enabled || !dq->path || !*dq->path) {
        status_remove_condition(ctx->status, COND_DATA_VALID);
        status_plan_clear(ctx->status, LOOP);
        if (!dq->present)
            status_remove_section(ctx->status, LOOP);
        memo_forget(dr, p->key);
        return 0;
    }
    cJSON *sec = status_section(ctx->status, LOOP);
    if (!sec)
        return SH_ENOMEM;
    int64_t now = ctx->now_ms;
    int64_t interval = dq->interval_ms > 0 ? dq->interval_ms : 300000;
    struct memo memo = {0};
    bool known = memo_get(dr, p->key, &memo);
    char fp[FP_MAX];
    bool have_fp = datafix_fingerprint(dq->path, fp, sizeof fp) == 0;
    bool changed_spec = !known || ctx->reset || memo.generation != p->generation;
    bool due = changed_spec || now >= memo.next_check_ms;
    /* a settled verdict on an unchanged file holds; a waiting fix retries soon */
    if (due && !changed_spec && memo.settled && have_fp && strcmp(fp, memo.fp) == 0)
        due = false, memo.next_check_ms = now + interval;
    if (!due) {
        ctx->phase_requests |= memo.phase_requests;
        memo_put(dr, p->key, &memo);
        reconcile_requeue_after(ctx, memo.next_check_ms - now);
        return 0;
    }
    memo.generation = p->generation;
    status_plan_clear(ctx->status, LOOP);
    int r = check(dr, ctx, sec, &memo, fp, have_fp);
    int64_t next = memo.settled ? interval : (interval < WAIT_RETRY_MS ? interval : WAIT_RETRY_MS);
    memo.next_check_ms = now + next;
    memo_put(dr, p->key, &memo);
    reconcile_requeue_after(ctx, next);
    return r;
}

static void dr_forget(void *self, const char *key)
{
    memo_forget(self, key);
}

static void free_memo(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    free(value);
}

void data_reconciler_free(void *self)
{
    struct data_reconciler *dr = self;
    if (!dr)
        return;
    if (dr->memos) {
        strmap_foreach(dr->memos, free_memo, NULL);
        strmap_free(dr->memos);
    }
    pthread_mutex_destroy(&dr->mu);
    free(dr);
}

int data_reconciler_new(const struct data_reconciler_options *o, struct reconciler *ret,
                        char **ret_err)
{
    struct data_reconciler *dr = calloc(1, sizeof *dr);
    if (!dr) {
        if (ret_err)
            *ret_err = strdup("data reconciler: out of memory");
        return SH_ENOMEM;
    }
    if (o)
        dr->o = *o;
    dr->budget = dr->o.memory_budget > 0    ? (uint64_t)dr->o.memory_budget
                 : dr->o.memory_budget == 0 ? ISOLATE_DEFAULT_BUDGET
                                            : 0;
    pthread_mutex_init(&dr->mu, NULL);
    if (!(dr->memos = strmap_new())) {
        data_reconciler_free(dr);
        if (ret_err)
            *ret_err = strdup("data reconciler: out of memory");
        return SH_ENOMEM;
    }
    *ret = (struct reconciler){.name = LOOP,
                               .reconcile = dr_reconcile,
                               .forget = dr_forget,
                               .shutdown = NULL,
                               .self = dr};
    return 0;
}
