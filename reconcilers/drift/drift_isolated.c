/* drift_isolated.c — drift_compare_files in a forked child under a memory
 * budget (drift_isolated.h). */
#include "drift/drift_isolated.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

void drift_report_encode(const struct drift_report *r, struct wbuf *b)
{
    wbuf_u64(b, (uint64_t)r->verdict);
    wbuf_f64(b, r->score);
    wbuf_u64(b, r->nscored);
    wbuf_u64(b, r->ndrifted);
    wbuf_u64(b, r->ref_rows);
    wbuf_u64(b, r->cur_rows);
    wbuf_bytes(b, r->message, sizeof r->message);
    wbuf_u64(b, r->features ? r->nfeatures : 0);
    for (size_t i = 0; r->features && i < r->nfeatures; i++) {
        const struct drift_feature *f = &r->features[i];
        wbuf_str(b, f->name);
        wbuf_u64(b, (uint64_t)f->kind | (uint64_t)f->scored << 8 | (uint64_t)f->drifted << 9);
        wbuf_bytes(b, f->skip, sizeof f->skip);
        wbuf_u64(b, f->nref);
        wbuf_u64(b, f->ncur);
        const double v[] = {f->psi, f->ks, f->wasserstein, f->wasserstein_norm, f->js,
                            f->statistic};
        wbuf_bytes(b, v, sizeof v);
    }
}

int drift_report_decode(const char *data, size_t len, struct drift_report *r)
{
    memset(r, 0, sizeof *r);
    struct rbuf in = {.p = data, .left = len};
    r->verdict = (enum drift_verdict)rbuf_u64(&in);
    r->score = rbuf_f64(&in);
    r->nscored = rbuf_u64(&in);
    r->ndrifted = rbuf_u64(&in);
    r->ref_rows = rbuf_u64(&in);
    r->cur_rows = rbuf_u64(&in);
    rbuf_bytes(&in, r->message, sizeof r->message);
    r->message[sizeof r->message - 1] = '\0';
    uint64_t n = rbuf_u64(&in);
    if (in.bad || n > len)
        return SH_EINVAL;
    if (n && !(r->features = calloc(n, sizeof *r->features)))
        return SH_ENOMEM;
    r->nfeatures = n;
    for (size_t i = 0; i < n && !in.bad; i++) {
        struct drift_feature *f = &r->features[i];
        f->name = rbuf_str(&in);
        uint64_t flags = rbuf_u64(&in);
        f->kind = (enum drift_feature_kind)(flags & 0xff);
        f->scored = flags >> 8 & 1;
        f->drifted = flags >> 9 & 1;
        rbuf_bytes(&in, f->skip, sizeof f->skip);
        f->skip[sizeof f->skip - 1] = '\0';
        f->nref = rbuf_u64(&in);
        f->ncur = rbuf_u64(&in);
        double v[6];
        rbuf_bytes(&in, v, sizeof v);
        f->psi = v[0], f->ks = v[1], f->wasserstein = v[2], f->wasserstein_norm = v[3];
        f->js = v[4], f->statistic = v[5];
    }
    if (in.bad || in.left) {
        drift_report_free(r);
        return SH_EINVAL;
    }
    return 0;
}

struct job {
    const char *ref, *cur;
    const char *const *tokens;
    size_t ntokens;
    const struct drift_params *p;
};

static int work(void *arg, struct wbuf *out, char **ret_err)
{
    struct job *j = arg;
    struct drift_report rep;
    int rc = drift_compare_files(j->ref, j->cur, j->tokens, j->ntokens, j->p, &rep, ret_err);
    if (rc == 0) {
        drift_report_encode(&rep, out);
        drift_report_free(&rep);
    }
    return rc;
}

int drift_compare_files_isolated(const char *ref_path, const char *cur_path,
                                 const char *const *missing_tokens, size_t ntokens,
                                 const struct drift_params *p, uint64_t budget,
                                 struct drift_report *out, char **ret_err)
{
    memset(out, 0, sizeof *out);
    *ret_err = NULL;
    /* the work plans its memory for the budget it runs under (0: no limit,
     * the default plan) */
    struct drift_params planned = *p;
    if (budget)
        planned.memory_budget = (size_t)budget;
    struct job j = {ref_path, cur_path, missing_tokens, ntokens, &planned};
    char *data = NULL;
    size_t len = 0;
    int rc = isolate_run(budget, work, &j, &data, &len, ret_err);
    if (rc == 0) {
        int drc = drift_report_decode(data, len, out);
        if (drc) {
            free(*ret_err);
            *ret_err = strdup("the drift work's report could not be read back");
            rc = drc == SH_ENOMEM ? SH_ENOMEM : SH_EIO;
        }
    }
    free(data);
    return rc;
}
