/*
 * model_status.h — status.model as JSON <-> struct model_state.
 *
 *   version, metric (3 decimals), lastGoodVersion, lastRollbackTime,
 *   rollbacksInWindow, rollbackTimes[], belowCount,
 *   versions: [{version, metric, evidence, recorded, since}] (one per version,
 *   newest last): metric is the version's evidence — "observed" (the
 *   controller's reading while it served) or "recorded" (the external record,
 *   metrics.json or a ReplicaSet annotation; `recorded` is the last one seen)
 *   — these are the first metric's; deciding: what decided ("rmse 41250.0 >
 *   40000.0"). With spec.model.metrics (the list form) also, by metric name:
 *   metrics {name: value}, belowCounts, unavailableCounts, and per version
 *   metrics {name: evidence}, recordedMetrics {name: record}, observedMetrics
 *   [names whose evidence is a reading of ours].
 */
#ifndef SH_MODEL_STATUS_H
#define SH_MODEL_STATUS_H

#include <cjson/cJSON.h>

#include "model/model_decide.h"

void model_state_read(const cJSON *section, struct model_state *ret);

/* Reads the per-metric parts of status.model for the spec's metrics (defs,
 * spec_model_metric_list): metrics, belowCounts, unavailableCounts and
 * versions[].metrics / recordedMetrics / observedMetrics, by name. Call
 * after model_state_read. */
void model_state_read_metrics(const cJSON *sec, const struct spec_model_metric *defs, size_t n,
                              struct model_state *s);

/* Replaces the content of `section`; rollbacksInWindow is counted at now_ms. */
int model_state_write(const struct model_state *s, int64_t window_ms, int64_t now_ms,
                      cJSON *section);

#endif
