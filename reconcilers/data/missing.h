/*
 * missing.h — the set of cell texts that mean "missing" (spec
 * dataQuality.missingTokens), with a fast test per cell.
 */
#ifndef SH_DATA_MISSING_H
#define SH_DATA_MISSING_H

#include <stdbool.h>
#include <stddef.h>

#define MISSING_MAX_TOKENS 64

struct missing_set {
    const char *tok[MISSING_MAX_TOKENS]; /* borrowed */
    size_t len[MISSING_MAX_TOKENS];
    size_t n;
    size_t maxlen;
    bool has_empty;
    unsigned char first[256]; /* first bytes of the non-empty tokens */
};

/* Fills *ms from tokens (borrowed; NULL/0: the defaults "", NA, NaN, null,
 * None, ?). Tokens beyond MISSING_MAX_TOKENS are ignored. */
void missing_set_init(struct missing_set *ms, const char *const *tokens, size_t ntokens);

static inline bool missing_is(const struct missing_set *ms, const char *v, size_t len)
{
    if (len > ms->maxlen)
        return false;
    if (len == 0)
        return ms->has_empty;
    if (!ms->first[(unsigned char)v[0]])
        return false;
    for (size_t i = 0; i < ms->n; i++) {
        if (ms->len[i] != len)
            continue;
        size_t k = 0;
        while (k < len && ms->tok[i][k] == v[k])
            k++;
        if (k == len)
            return true;
    }
    return false;
}

#endif
