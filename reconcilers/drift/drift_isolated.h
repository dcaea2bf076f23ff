/*
 * drift_isolated.h — drift_compare_files (drift_engine.h) run in a forked
 * child under a memory budget (base/isolate.h): two files too big for the
 * budget, or a crash, fail this comparison with a clear message ("out of
 * memory: the data work needs more than the budget of 64 MiB; raise …")
 * and never the caller's process. The work plans its memory for that
 * budget (drift_params.memory_budget; budget 0: p's own). Statistics are
 * exactly those of drift_compare_files (doubles travel as their bits).
 */
#ifndef SH_DRIFT_ISOLATED_H
#define SH_DRIFT_ISOLATED_H

#include <stdint.h>

#include "base/isolate.h"
#include "drift/drift_engine.h"

/* Returns what drift_compare_files returns, or SH_ENOMEM / SH_EIO with
 * *ret_err; *out is filled on 0 only (free with drift_report_free). */
int drift_compare_files_isolated(const char *ref_path, const char *cur_path,
                                 const char *const *missing_tokens, size_t ntokens,
                                 const struct drift_params *p, uint64_t budget,
                                 struct drift_report *out, char **ret_err);

void drift_report_encode(const struct drift_report *r, struct wbuf *b);
/* 0, SH_EINVAL (truncated) or SH_ENOMEM; *r is freed on error. */
int drift_report_decode(const char *data, size_t len, struct drift_report *r);

#endif
