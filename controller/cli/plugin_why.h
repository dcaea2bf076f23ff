/*
 * plugin_why.h — `selfheal why NAME` / `kubectl selfheal why NAME`: one
 * paragraph that explains a pipeline from its object alone (metadata, spec,
 * status) — its phase, the condition that holds it there, and what the
 * controller will do next and when ("waiting 8 s of backoff before recovery
 * attempt 2 of 3"). A pure function of the object and a time, so it reads
 * the same on the cluster and on the local platform and is unit-tested
 * (tests/unit/check_why.c).
 */
#ifndef SH_PLUGIN_WHY_H
#define SH_PLUGIN_WHY_H

#include <cjson/cJSON.h>
#include <stdint.h>

/*
 * The explanation of doc (a SelfHealingPipeline object: metadata, spec,
 * status; doc is borrowed) at now_ms, as one paragraph without a trailing
 * newline. Spec fields that are absent or invalid take their defaults.
 * Returns an owned string, or NULL when out of memory.
 */
char *plugin_why(const cJSON *doc, int64_t now_ms);

/* A wait in words: "8 s" under two minutes, else "5m", "1h30m" (rounded up
 * to the second). Returns buf. */
char *plugin_format_wait(int64_t ms, char *buf, size_t size);

#endif
