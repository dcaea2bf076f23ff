/* reconcilers_all.c — the list of the controller's reconcilers (reconcilers_all.h). */
#include "reconcilers_all.h"

#include <stdlib.h>

#include "errors.h"

#define MAX_RECONCILERS 8

struct reconcilers_all {
    struct reconciler list[MAX_RECONCILERS];
    size_t count;
    void (*notify)(void *ctx, const char *key);
    void *notify_ctx;
};

int reconcilers_all_new(struct platform *pf, const char *state_dir, struct reconcilers_all **ret,
                        char **ret_err)
{
    (void)pf;
    (void)state_dir;
    (void)ret_err;
    struct reconcilers_all *ra = calloc(1, sizeof *ra);
    if (!ra)
        return SH_ENOMEM;
    *ret = ra;
    return 0;
}

const struct reconciler *reconcilers_all_list(const struct reconcilers_all *ra)
{
    return ra->list;
}

size_t reconcilers_all_count(const struct reconcilers_all *ra)
{
    return ra->count;
}

void reconcilers_all_set_notify(struct reconcilers_all *ra, void (*notify)(void *ctx, const char *key),
                                void *ctx)
{
    ra->notify = notify;
    ra->notify_ctx = ctx;
}

void reconcilers_all_free(struct reconcilers_all *ra)
{
    free(ra);
}
