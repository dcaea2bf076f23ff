/*
 * model_status.h — status.model as JSON <-> struct model_state.
 *
 *   version, metric (3 decimals), lastGoodVersion, lastRollbackTime,
 *   rollbacksInWindow, rollbackTimes[], belowCount,
 *   versions: [{version, metric, evidence, recorded, since}] (one per version,
 *   newest last): metric is the version's evidence — "observed" (the
 *   controller's reading while it served) or "recorded" (the external record,
 *   metrics.json or a ReplicaSet annotation; `recorded` is the last one seen)
 */
#ifndef SH_MODEL_STATUS_H
#define SH_MODEL_STATUS_H

#include <cjson/cJSON.h>

#include "model/model_decide.h"

void model_state_read(const cJSON *section, struct model_state *ret);

/* Replaces the content of `section`; rollbacksInWindow is counted at now_ms. */
int model_state_write(const struct model_state *s, int64_t window_ms, int64_t now_ms,
                      cJSON *section);

#endif
