/*
 * datafix_isolated.h — the data fix (datafix.h) run in a forked child under
 * a memory budget (base/isolate.h): a file too big for the budget, or a
 * crash, fails this fix with a clear message — "out of memory: the data
 * work needs more than the budget of 64 MiB; raise --memory-budget …" —
 * and never the caller's process. Results are those of datafix_run.
 */
#ifndef SH_DATAFIX_ISOLATED_H
#define SH_DATAFIX_ISOLATED_H

#include <stdint.h>

#include "base/isolate.h"
#include "data/datafix.h"

/* datafix_run in a child: the same returns and *rep (free it in every case),
 * plus SH_ENOMEM (over the budget) and SH_EIO (crashed) with *ret_err.
 * budget 0: no limit (still isolated); o->progress is not called. */
int datafix_run_isolated(const char *path, const struct datafix_options *o, uint64_t budget,
                         struct datafix_report *rep, char **ret_err);

/* The report on the wire (the child's side and the parent's); decode
 * returns 0, SH_EINVAL (truncated) or SH_ENOMEM; free *rep in every case. */
void datafix_report_encode(const struct datafix_report *rep, struct wbuf *b);
int datafix_report_decode(const char *data, size_t len, struct datafix_report *rep);

#endif
