/*
 * data_decide.h — the data loop's decision, a pure function of what the
 * scan found, the spec's dry-run switches and the coordination state.
 */
#ifndef SH_DATA_DECIDE_H
#define SH_DATA_DECIDE_H

#include <stdbool.h>

enum data_scan {
    DATA_SCAN_CLEAN,       /* nothing would change */
    DATA_SCAN_DIRTY,       /* missing cells or outliers, within maxFixedFraction */
    DATA_SCAN_TOO_DIRTY,   /* more than maxFixedFraction would change */
    DATA_SCAN_BROKEN,      /* not parseable CSV */
    DATA_SCAN_UNAVAILABLE, /* cannot be read (missing file, I/O error) */
    DATA_SCAN_OURS,        /* the file is the one our last fix wrote: not scanned again */
};

enum data_verdict {
    DATA_CLEAN,       /* DataValid True Clean */
    DATA_FIXED,       /* DataValid True Fixed (our own fix, unchanged since) */
    DATA_FIX,         /* act: fix now */
    DATA_PLAN,        /* dry run: plan the fix, act on nothing (False FixPlanned) */
    DATA_WAIT,        /* another action is in flight: fix later (False FixPending) */
    DATA_UNFIXABLE,   /* DataValid False Unfixable */
    DATA_UNAVAILABLE, /* DataValid Unknown DataUnavailable */
};

struct data_decide_in {
    enum data_scan scan;
    bool dry_run;          /* spec.paused or dataQuality.dryRun */
    bool action_in_flight; /* a higher-priority loop acts */
};

enum data_verdict data_decide(const struct data_decide_in *in);

/* The condition reason of a verdict ("Clean", "Fixed", "Unfixable", ...). */
const char *data_verdict_reason(enum data_verdict v);

#endif
