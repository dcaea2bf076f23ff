/*
 * brief_config.h — the brief's config/self_healing_config.json, read by the
 * brief-compatible commands (fix-data, rollback, retrain, recover) for their
 * defaults. Keys are dotted paths into the JSON object, as the brief names
 * them: "model_validation.min_accuracy_threshold",
 * "drift_detection.drift_threshold",
 * "drift_detection.retraining_cooldown_hours",
 * "service_recovery.max_recovery_attempts",
 * "data_quality.outlier_threshold_iqr", and "<section>.enabled" flags.
 * Command-line flags win over the file; the file wins over built-in defaults.
 */
#ifndef SH_BRIEF_CONFIG_H
#define SH_BRIEF_CONFIG_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#define BRIEF_CONFIG_PATH "config/self_healing_config.json"

/*
 * Loads the file at path (NULL: BRIEF_CONFIG_PATH). A missing file is not an
 * error: 0 with *ret NULL (every getter then returns its default). A file
 * that is not a JSON object gives SH_EPARSE with *ret_err naming it.
 */
int brief_config_load(const char *path, cJSON **ret, char **ret_err);

/* brief_config_load for a command: on failure prints "selfheal CMD: reason"
 * on stderr and returns the error (the command then exits 2). */
int brief_config_load_for(const char *cmd, const char *path, cJSON **ret);

/* Getters by dotted key; the default when cfg is NULL, the key is missing,
 * or the value has another type. */
double brief_config_num(const cJSON *cfg, const char *key, double def);
bool brief_config_bool(const cJSON *cfg, const char *key, bool def);
const char *brief_config_str(const cJSON *cfg, const char *key, const char *def);

#endif
