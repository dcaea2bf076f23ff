/*
 * datafix_guess.h — before pass 1 of the two-thread fix (datafix_par.c):
 * a sample of lines spread over the file (a 64th of it, 1–8 MiB, in slices
 * of 16 KiB: an order of the rows does not mislead it) gives each numeric
 * column its guessed windows (rankselect.h: the values a margin about each
 * quantile pass 1 will want) and the interior of its bounds
 * (datafix_patch.h), and says whether the notes would fit their memory
 * (else s->ps is dropped). Guesses only save work: a wrong one costs a pass.
 * Not for use outside reconcilers/data/datafix*.c.
 */
#ifndef SH_DATAFIX_GUESS_H
#define SH_DATAFIX_GUESS_H

#include <stdbool.h>

#include "data/datafix_stream.h"

/* num[c]: column c is numeric; rs[w · ncols + c]: worker w's rsel of
 * column c (NULL for a text column), nw workers. */
void datafix_guess(struct sfix *s, const bool *num, struct rsel *const *rs, unsigned nw);

#endif
