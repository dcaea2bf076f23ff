/*
 * model_decide.h — the model loop's decision, a pure function of the spec,
 * the observed metric and registry, the previous status and `now`
 * (DESIGN.md "Rollback"):
 *
 *   - a reading below minAccuracy for failureLimit consecutive checks →
 *     roll back to the newest version older than the current one whose
 *     evidence passed (≥ minAccuracy); none → NoGoodVersion, no action;
 *   - a version's evidence is the newest of: what the controller read while
 *     that version served (kept in status.model.versions, so it survives a
 *     restart and a change of leader), and an external record (a registry's
 *     metrics.json, a ReplicaSet annotation written by CI) — an external
 *     record counts as new when it first appears or changes;
 *   - a source error or an empty result is inconclusive (MetricUnavailable):
 *     never a reason to roll back, and it does not count as a reading;
 *   - more than maxRollbacks within window → NeedsAttention, no more
 *     automatic rollbacks until a reset;
 *   - after a rollback, one metric interval of grace before judging again,
 *     and no verdict while a higher-priority loop has an action in flight.
 *
 * No I/O: the registry comes in as a list already in natural order.
 */
#ifndef SH_MODEL_DECIDE_H
#define SH_MODEL_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/spec.h"

#define MODEL_VERSION_MAX 128
#define MODEL_ROLLBACKS_KEPT 32
#define MODEL_VERSIONS_KEPT 10

struct model_version {
    char name[MODEL_VERSION_MAX];
    double metric;
    bool has_metric;
};

struct model_observation {
    bool metric_ok;          /* false: inconclusive */
    double metric;
    char metric_error[256];  /* why it is inconclusive */
    const struct model_version *versions; /* natural order, oldest first */
    size_t nversions;
    char current[MODEL_VERSION_MAX]; /* "" when unknown */
};

/* A version the controller has seen as the active one (status.model.versions). */
struct model_version_record {
    char version[MODEL_VERSION_MAX];
    double metric;         /* the version's evidence (3 decimals) */
    bool has_metric;
    bool observed;         /* the evidence is a reading of ours, not the external record */
    double recorded;       /* the external record last seen (3 decimals) */
    bool has_recorded;
    int64_t since_ms;      /* when it last became the active version */
};

/* status.model, typed. */
struct model_state {
    char version[MODEL_VERSION_MAX];
    double metric;
    bool has_metric;
    char last_good_version[MODEL_VERSION_MAX];
    int64_t last_rollback_ms;
    int below_count;
    int64_t rollback_times[MODEL_ROLLBACKS_KEPT]; /* newest last */
    size_t nrollback_times;
    struct model_version_record versions[MODEL_VERSIONS_KEPT]; /* one per version, newest last */
    size_t nversions;
};

enum model_verdict {
    MODEL_WAITING,      /* not judged this time (grace, or a higher loop acts) */
    MODEL_UNAVAILABLE,  /* inconclusive reading */
    MODEL_ABOVE,
    MODEL_BELOW,        /* below, not yet failureLimit readings */
    MODEL_ROLLING_BACK, /* acting now */
    MODEL_NO_GOOD_VERSION,
    MODEL_LIMIT,        /* too many rollbacks in the window */
};

struct model_decision {
    struct model_state next;
    enum model_verdict verdict;
    bool rollback;          /* act: make `target` current */
    bool planned_only;      /* dry run */
    char target[MODEL_VERSION_MAX];
    double target_metric;
    bool action_in_flight;  /* lower loops wait */
    int64_t requeue_after_ms;
    char reason[32];
    char message[512];
};

void model_decide(const struct spec_model *spec, const struct model_observation *obs,
                  const struct model_state *prev, int64_t now_ms, bool dry_run, bool reset,
                  bool blocked, struct model_decision *out);

/* The number of rollbacks in (now − window, now]. */
size_t model_rollbacks_in_window(const struct model_state *s, int64_t window_ms, int64_t now_ms);

/* Makes `version` the newest entry of s's versions ledger (the active one
 * since now_ms), keeping the evidence it had; a version already last is left
 * as it is. With has_metric, `metric` becomes its evidence (a reading). */
void model_ledger_note_active(struct model_state *s, const char *version, bool has_metric,
                              double metric, int64_t now_ms);

/* Takes the external records (metrics.json, a ReplicaSet annotation) of the
 * versions in s's ledger: one that appears or changes is newer than any
 * evidence before it and becomes the version's evidence. */
void model_ledger_note_records(struct model_state *s, const struct model_observation *obs);

/* The ledger entry of `version`, or NULL. */
const struct model_version_record *model_ledger_find(const struct model_state *s,
                                                     const char *version);

/* Rounds a metric to 3 decimals (what status shows). */
double model_round3(double v);

#endif
