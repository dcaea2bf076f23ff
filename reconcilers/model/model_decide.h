/*
 * model_decide.h — the model loop's decision, a pure function of the spec,
 * the observed metric and registry, the previous status and `now`
 * (DESIGN.md "Rollback"):
 *
 *   - the metrics are spec_model_metric_list's (the shorthand metric +
 *     minAccuracy is one metric "accuracy" with a min); a metric fails when
 *     its readings are out of its bounds (min, max) for its failureLimit
 *     consecutive checks → roll back to the newest version older than the
 *     current one whose evidence passes every metric; none →
 *     NoGoodVersion, no action;
 *   - a version's evidence is the newest of: what the controller read while
 *     that version served (kept in status.model.versions, so it survives a
 *     restart and a change of leader), and an external record (a registry's
 *     metrics.json, a ReplicaSet annotation written by CI) — an external
 *     record counts as new when it first appears or changes;
 *   - a source error or an empty result is inconclusive: never a reason to
 *     roll back, and it does not count as a reading; inconclusiveLimit
 *     consecutive ones make the pipeline report MetricUnavailable;
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
#define MODEL_METRICS_MAX SPEC_MODEL_METRICS_MAX

/* A value of one metric (an external record). */
struct model_value {
    double metric;
    bool has_metric;
};

struct model_version {
    char name[MODEL_VERSION_MAX];
    union {
        struct { /* the first metric: values[0] */
            double metric;
            bool has_metric;
        };
        struct model_value values[MODEL_METRICS_MAX]; /* per metric, in spec order */
    };
};

/* One reading of one metric. */
struct model_reading {
    bool read;        /* due and read this time; false: keeps its state */
    bool ok;          /* false: inconclusive */
    double value;
    char error[256];  /* why it is inconclusive */
};

struct model_observation {
    /* With nreadings == 0, the first (only) metric's reading: */
    bool metric_ok;          /* false: inconclusive */
    double metric;
    char metric_error[256];  /* why it is inconclusive */
    /* Otherwise one reading per metric of spec_model_metric_list, in order. */
    struct model_reading readings[MODEL_METRICS_MAX];
    size_t nreadings;
    const struct model_version *versions; /* natural order, oldest first */
    size_t nversions;
    char current[MODEL_VERSION_MAX]; /* "" when unknown */
};

/* A version the controller has seen as the active one (status.model.versions). */
struct model_evidence {
    double metric;         /* the version's evidence (3 decimals) */
    bool has_metric;
    bool observed;         /* the evidence is a reading of ours, not the external record */
    double recorded;       /* the external record last seen (3 decimals) */
    bool has_recorded;
};

struct model_version_record {
    char version[MODEL_VERSION_MAX];
    union {
        struct { /* the first metric's evidence: ev[0] */
            double metric;
            bool has_metric;
            bool observed;
            double recorded;
            bool has_recorded;
        };
        struct model_evidence ev[MODEL_METRICS_MAX]; /* per metric, in spec order */
    };
    int64_t since_ms;      /* when it last became the active version */
};

/* The judgement of one metric across readings. */
struct model_metric_state {
    double value;          /* the last conclusive reading */
    bool has_value;
    int below_count;       /* consecutive readings out of bounds */
    int unavailable_count; /* consecutive inconclusive readings */
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
    /* Every metric (spec order; [0] mirrors metric, has_metric, below_count),
     * their names, and whether the spec uses the list form (status then
     * carries the per-metric maps). */
    struct model_metric_state ms[MODEL_METRICS_MAX];
    char names[MODEL_METRICS_MAX][SPEC_METRIC_NAME_MAX];
    size_t nmetrics;
    bool list_form;
    char deciding[160];    /* the metric that decided, "rmse 41250 > 40000" */
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
    double target_metric;   /* the target's evidence of the deciding metric */
    int metric_index;       /* the deciding metric (spec order), -1 when none */
    char trigger[300];      /* "rmse 41250 > 40000" — what failed */
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

/* Records in s a rollback to `to` made at at_ms (by a controller that
 * stopped before recording it, or whose status write failed:
 * rollback_note.h): the rollback budget, the time, the active version; its
 * readings start again. */
void model_state_note_rollback(struct model_state *s, const char *to, int64_t at_ms);

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

/* Formats a metric value for messages: 3 decimals below 1000, else fewer. */
const char *model_fmt(double v, char *buf, size_t size);

/* True when v is within the metric's bounds. */
bool model_within(const struct spec_model_metric *m, double v);

#endif
