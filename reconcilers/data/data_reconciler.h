/*
 * data_reconciler.h — the data-quality loop as a struct reconciler
 * (controller/runtime/reconciler.h). Every dataQuality.interval it scans
 * dataQuality.path (datafix.h, analysis only), decides (data_decide.h) and
 * fixes it in place with backup and atomic replace, unless the pipeline is
 * paused or the section is in dry run (then plannedActions says what it
 * would do) or a higher-priority action is in flight (then it waits).
 *
 * Status: status.dataQuality {rows, missingFixed, outliersCapped,
 * lastFixTime, lastBackup, fixedVersion} and the DataValid condition:
 * Clean / Fixed (True), Unfixable with "file:line: reason" or the share
 * that would change (False), FixPlanned / FixPending (False),
 * DataUnavailable (Unknown). `fixedVersion` identifies the file our last fix
 * wrote (device, inode, size, mtime): that file is not fixed again (the
 * quartiles of a fixed file move, and re-capping would never settle).
 * Phases: FixingData for the round that fixes, Degraded while the data is
 * not valid. Every fix is recorded in `history` (loop dataQuality, action
 * fix-data) with an event (DataFixed / DataFixFailed / DataUnfixable).
 *
 * In-memory state per pipeline: the time of the next scan and the
 * fingerprint of the file last scanned (an unchanged settled file is not
 * read again).
 */
#ifndef SH_DATA_RECONCILER_H
#define SH_DATA_RECONCILER_H

#include "base/clock.h"
#include "runtime/reconciler.h"

struct data_reconciler_options {
    const struct sh_clock *clock;           /* NULL: the real clock */
    const struct reconciler_notify *notify; /* kept; the data loop works synchronously */
    /* The scan and the fix run in a forked child under this memory budget
     * (base/isolate.h): over it, the loop is Unfixable ("out of memory: …")
     * and the controller goes on. 0: ISOLATE_DEFAULT_BUDGET (64 MiB); < 0: no limit. */
    int64_t memory_budget;
};

/* Builds the reconciler into *ret (name "dataQuality"). 0, or SH_ENOMEM with *ret_err. */
int data_reconciler_new(const struct data_reconciler_options *o, struct reconciler *ret,
                        char **ret_err);

/* Frees what data_reconciler_new allocated (ret->self). NULL is a no-op. */
void data_reconciler_free(void *self);

#endif
