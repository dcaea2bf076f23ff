/* missing.c — the missing-token set (missing.h). */
#include "data/missing.h"

#include <string.h>

static const char *const DEFAULTS[] = {"", "NA", "NaN", "null", "None", "?"};

void missing_set_init(struct missing_set *ms, const char *const *tokens, size_t ntokens)
{
    if (!tokens || ntokens == 0) {
        tokens = DEFAULTS;
        ntokens = sizeof DEFAULTS / sizeof DEFAULTS[0];
    }
    memset(ms, 0, sizeof *ms);
    for (size_t i = 0; i < ntokens && ms->n < MISSING_MAX_TOKENS; i++) {
        if (!tokens[i])
            continue;
        ms->tok[ms->n] = tokens[i];
        ms->len[ms->n] = strlen(tokens[i]);
        if (ms->len[ms->n] == 0)
            ms->has_empty = true;
        else
            ms->first[(unsigned char)tokens[i][0]] = 1;
        if (ms->len[ms->n] > ms->maxlen)
            ms->maxlen = ms->len[ms->n];
        ms->n++;
    }
}
