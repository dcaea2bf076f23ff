/* drift_files.c — drift_compare_files (drift_engine.h): both CSVs loaded at once, then compared. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift_engine.h"
#include "base/errors.h"

struct load {
    const char *path;
    const char *const *tokens;
    size_t ntokens;
    struct csv_columns cols;
    char *err;
    int r;
};

static void *load_main(void *arg)
{
    struct load *l = arg;
    l->r = csv_load_columns(l->path, l->tokens, l->ntokens, &l->cols, &l->err);
    return NULL;
}

int drift_compare_files(const char *ref_path, const char *cur_path,
                        const char *const *missing_tokens, size_t ntokens,
                        const struct drift_params *p, struct drift_report *out, char **ret_err)
{
    memset(out, 0, sizeof *out);
    struct load ref = {.path = ref_path, .tokens = missing_tokens, .ntokens = ntokens};
    struct load cur = {.path = cur_path, .tokens = missing_tokens, .ntokens = ntokens};
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
        r = drift_compare_columns(&ref.cols, &cur.cols, p, out);
        if (r != 0 && ret_err)
            *ret_err = strdup(r == SH_EINVAL ? "invalid drift parameters" : sh_strerror(r));
    }
    free(ref.err);
    free(cur.err);
    csv_columns_free(&ref.cols);
    csv_columns_free(&cur.cols);
    return r;
}
