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

/* A number the config may set, and what it must be. */
struct brief_number {
    const char *key; /* dotted */
    double def;      /* when the file, the key or a number there is missing */
    double min, max; /* inclusive */
    bool whole;      /* it must also be a whole number */
    const char *must; /* for "KEY must MUST, got V": "be from 0 to 1" */
};

/*
 * The number n->key of cfg (NULL: none), checked: finite, in [min, max],
 * whole when n->whole. 0 with *ret set; otherwise prints
 * "selfheal CMD: FILE: KEY must MUST, got V" (FILE is path, NULL:
 * BRIEF_CONFIG_PATH) on stderr and returns -1 with *ret untouched.
 */
int brief_config_number(const char *cmd, const char *path, const cJSON *cfg,
                        const struct brief_number *n, double *ret);

/* brief_config_load_for, then brief_config_number: for a command that
 * takes one number from the file. 0, or -1 after printing why. */
int brief_config_load_number(const char *cmd, const char *path, const struct brief_number *n,
                             double *ret);

/* Getters by dotted key; the default when cfg is NULL, the key is missing,
 * or the value has another type. */
double brief_config_num(const cJSON *cfg, const char *key, double def);
bool brief_config_bool(const cJSON *cfg, const char *key, bool def);
const char *brief_config_str(const cJSON *cfg, const char *key, const char *def);

#endif
