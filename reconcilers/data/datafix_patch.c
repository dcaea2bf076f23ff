/* datafix_patch.c — the cells the write pass may change, noted by pass 1 (datafix_patch.h). */
#include "data/datafix_patch.h"

#include <math.h>

struct patchset *patch_new(size_t ncols, uint64_t size, size_t block, size_t bytes)
{
    if (ncols == 0 || ncols > UINT16_MAX || block == 0)
        return NULL;
    struct patchset *ps = calloc(1, sizeof *ps);
    if (!ps)
        return NULL;
    ps->ncols = ncols;
    /* blocks end at a line's end, so that few are much shorter than `block` */
    ps->nblk = (size_t)(size / block) * 2 + 16;
    ps->lo = malloc(ncols * sizeof *ps->lo);
    ps->hi = malloc(ncols * sizeof *ps->hi);
    ps->blk = calloc(ps->nblk, sizeof *ps->blk);
    if (!ps->lo || !ps->hi || !ps->blk) {
        patch_free(ps);
        return NULL;
    }
    for (size_t c = 0; c < ncols; c++) {
        ps->lo[c] = -INFINITY;
        ps->hi[c] = INFINITY;
    }
    for (unsigned i = 0; i < BSCAN_MAX_WORKERS; i++)
        ps->v[i].limit = bytes / BSCAN_MAX_WORKERS / sizeof(struct patch);
    return ps;
}

void patch_free(struct patchset *ps)
{
    if (!ps)
        return;
    for (unsigned i = 0; i < BSCAN_MAX_WORKERS; i++)
        free(ps->v[i].p);
    free(ps->lo);
    free(ps->hi);
    free(ps->blk);
    free(ps);
}

void patch_interior(struct patchset *ps, size_t c, double q1hi, double q3lo, double m)
{
    /* the highest lower bound and the lowest upper bound those allow */
    double lo = q1hi - m * (q3lo - q1hi), hi = q3lo + m * (q3lo - q1hi);
    if (!(lo <= hi)) /* NaN, or no interior: nothing noted, the column not covered */
        return;
    ps->lo[c] = lo;
    ps->hi[c] = hi;
}

void patch_block_done(struct patchset *ps, unsigned wid, uint64_t idx, uint64_t off, size_t len, size_t first)
{
    if (idx >= ps->nblk) {
        ps->v[wid].full = true;
        return;
    }
    ps->blk[idx] = (struct patch_block){off, len, first, ps->v[wid].n - first, wid, true};
}

bool patch_complete(const struct patchset *ps)
{
    for (unsigned i = 0; i < BSCAN_MAX_WORKERS; i++)
        if (ps->v[i].full)
            return false;
    return true;
}

bool patch_covers(const struct patchset *ps, size_t c, double lower, double upper)
{
    return lower <= ps->lo[c] && ps->hi[c] <= upper;
}

bool patch_of(const struct patchset *ps, uint64_t idx, uint64_t off, size_t len, const struct patch **p,
              size_t *n)
{
    if (idx >= ps->nblk)
        return false;
    const struct patch_block *b = &ps->blk[idx];
    if (!b->seen || b->off != off || b->len != len)
        return false;
    *n = b->n;
    *p = b->n ? ps->v[b->worker].p + b->first : NULL;
    return true;
}
