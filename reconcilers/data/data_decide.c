/* data_decide.c — the data loop's pure decision (data_decide.h). */
#include "data/data_decide.h"

enum data_verdict data_decide(const struct data_decide_in *in)
{
    switch (in->scan) {
    case DATA_SCAN_CLEAN:
        return DATA_CLEAN;
    case DATA_SCAN_OURS:
        return DATA_FIXED;
    case DATA_SCAN_TOO_DIRTY:
    case DATA_SCAN_BROKEN:
        return DATA_UNFIXABLE;
    case DATA_SCAN_UNAVAILABLE:
        return DATA_UNAVAILABLE;
    case DATA_SCAN_DIRTY:
        break;
    }
    if (in->dry_run)
        return DATA_PLAN;
    if (in->action_in_flight)
        return DATA_WAIT;
    return DATA_FIX;
}

const char *data_verdict_reason(enum data_verdict v)
{
    switch (v) {
    case DATA_CLEAN:
        return "Clean";
    case DATA_FIXED:
    case DATA_FIX:
        return "Fixed";
    case DATA_PLAN:
        return "FixPlanned";
    case DATA_WAIT:
        return "FixPending";
    case DATA_UNFIXABLE:
        return "Unfixable";
    case DATA_UNAVAILABLE:
        return "DataUnavailable";
    }
    return "Unknown";
}
