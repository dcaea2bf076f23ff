/*
 * local_platform.h — the platform of the embedded default: status in the
 * state folder (state.h), events in its events.jsonl and the log, and the
 * actuators of each loop registered by name (supervised processes, the model
 * registry folder, commands).
 */
#ifndef SH_LOCAL_PLATFORM_H
#define SH_LOCAL_PLATFORM_H

#include "base/clock.h"
#include "runtime/platform.h"

/* Creates the local platform on `state_dir` (created if missing). Returns 0
 * and *ret, or an SH_E* code with *ret_err (owned). */
int local_platform_new(const char *state_dir, const struct sh_clock *clock, struct platform **ret,
                       char **ret_err);

/* Registers the actuators of a loop ("service", ...); borrowed, must outlive
 * the platform. Call before the manager starts. */
void local_platform_set_actuators(struct platform *pf, const char *loop, const void *ops);

/* The state folder (borrowed). */
const char *local_platform_state_dir(const struct platform *pf);

void local_platform_free(struct platform *pf);

#endif
