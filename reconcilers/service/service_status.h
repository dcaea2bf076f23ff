/*
 * service_status.h — status.service as JSON <-> struct service_state.
 *
 *   healthy, consecutiveFailures, recoveryAttempts, lastRecoveryTime (the newest
 *   recovery; lastStartTime instead when the newest action was a start),
 *   lastRecoverySeconds (the MTTR of the newest healed incident),
 *   failingSince, healthySince, exhausted, exhaustedGeneration, incidents
 *
 * Absent fields read as zero; fields at zero are omitted when written, so an
 * idle section stays small and stable.
 */
#ifndef SH_SERVICE_STATUS_H
#define SH_SERVICE_STATUS_H

#include <cjson/cJSON.h>

#include "service/service_decide.h"

void service_state_read(const cJSON *section, struct service_state *ret);

/* Replaces the content of `section` (an object) with s. 0 or SH_ENOMEM. */
int service_state_write(const struct service_state *s, cJSON *section);

#endif
