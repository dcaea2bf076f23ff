/* drift_files.c — drift_compare_files (drift_engine.h): both CSVs scanned at
 * once (one thread each, numbers spilled to temporary files), then compared
 * feature by feature in the memory budget. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "data/missing.h"
#include "drift/drift_engine.h"
#include "drift/drift_scan.h"

struct load {
    const char *path;
    const struct missing_set *ms;
    const struct drift_params *p;
    struct drift_scan scan;
    char *err;
    int r;
};

static void *load_main(void *arg)
{
    struct load *l = arg;
    /* each side's scan gets half of the budget for its buffers */
    l->r = drift_scan_file(l->path, l->ms, l->p->tmp_dir, drift_budget(l->p) / 2, &l->scan, &l->err);
    return NULL;
}

int drift_compare_files(const char *ref_path, const char *cur_path,
                        const char *const *missing_tokens, size_t ntokens,
                        const struct drift_params *p, struct drift_report *out, char **ret_err)
{
    memset(out, 0, sizeof *out);
    struct missing_set ms;
    missing_set_init(&ms, missing_tokens, ntokens);
    struct load ref = {.path = ref_path, .ms = &ms, .p = p};
    struct load cur = {.path = cur_path, .ms = &ms, .p = p};
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, load_main, &cur) == 0;
    load_main(&ref);
    if (threaded)
        pthread_join(th, NULL);
    else
        load_main(&cur);
    int r = ref.r ? ref.r : cur.r;
    if (r != 0) {
        if (ret_err) {
            *ret_err = ref.r ? ref.err : cur.err;
            if (ref.r)
                ref.err = NULL;
            else
                cur.err = NULL;
        }
    } else {
        r = drift_compare_scans(&ref.scan, &cur.scan, p, out);
        if (r != 0 && ret_err)
            *ret_err = strdup(r == SH_EINVAL ? "invalid drift parameters"
                              : r == SH_EIO  ? "a temporary file of the numbers could not be created, "
                                               "written or read (disk full?)"
                                             : sh_strerror(r));
    }
    free(ref.err);
    free(cur.err);
    drift_scan_free(&ref.scan);
    drift_scan_free(&cur.scan);
    return r;
}
