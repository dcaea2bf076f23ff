/*
 * spec.h — the SelfHealingPipeline resource as typed C structs.
 *
 * The canonical in-memory form of a resource as read from disk or the API is
 * a cJSON tree (YAML is converted to it by yamljson.h). spec_decode() turns
 * the tree's `spec` into a struct spec with every default of DESIGN.md (the
 * brief's thresholds) filled in, and collects *every* validation error with
 * its field path ("spec.model.minAccuracy: must be between 0 and 1, got
 * 1.5"). Unknown fields are errors with a did-you-mean.
 *
 * Durations are int64 milliseconds. Strings and arrays are owned by the
 * struct and released by spec_free(). A struct spec is immutable once decoded
 * and may be read from any thread.
 */
#ifndef SH_SPEC_H
#define SH_SPEC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPEC_API_VERSION "selfheal.dev/v1alpha1"
#define SPEC_KIND "SelfHealingPipeline"

/* A NULL-terminated argv; argc excludes the NULL. argv == NULL when unset. */
struct spec_argv {
    char **argv;
    size_t argc;
};

/* Environment entries "NAME" = "value", in the order given. */
struct spec_env {
    char **names;
    char **values;
    size_t count;
};

enum metric_source_kind {
    METRIC_SOURCE_NONE = 0,
    METRIC_SOURCE_PROMETHEUS, /* url + query */
    METRIC_SOURCE_HTTP,       /* url + json_pointer */
    METRIC_SOURCE_FILE,       /* path + json_pointer */
};

/* Where a secret value comes from (DESIGN.md "Secrets": by reference only). */
enum secret_ref_kind {
    SECRET_REF_NONE = 0,
    SECRET_REF_ENV,    /* {env: NAME}: the controller's environment variable */
    SECRET_REF_FILE,   /* {file: PATH}: the file's content, trailing newline trimmed */
    SECRET_REF_SECRET, /* {secretKeyRef: {name, key}}: a Secret in the pipeline's namespace */
};

struct spec_secret_ref {
    enum secret_ref_kind kind;
    char *name; /* env: the variable; file: the path; secret: the Secret's name */
    char *key;  /* secret: the key in its data */
};

/* `auth` and `tls` of an outbound HTTP request (metric sources, health
 * checks). Everything unset (zero) is a plain request verified against the
 * system's CAs. */
struct spec_http_auth {
    struct spec_secret_ref bearer_token;  /* auth.bearerToken */
    char *basic_username;                 /* auth.basic.username: basic auth when set */
    struct spec_secret_ref basic_password; /* auth.basic.password */
    char *ca_file;                        /* tls.caFile */
    struct spec_secret_ref ca_secret;     /* tls.caSecretKeyRef (SECRET_REF_SECRET) */
    bool insecure_skip_verify;            /* tls.insecureSkipVerify, default false */
};

struct spec_metric_source {
    enum metric_source_kind kind;
    struct spec_http_auth auth; /* prometheus, http: auth + tls */
    char *url;          /* prometheus, http */
    char *query;        /* prometheus */
    char *json_pointer; /* http, file (RFC 6901; default "" = whole doc) */
    char *path;         /* file */
};

enum recovery_method {
    RECOVERY_RESTART,     /* cluster: rollout restart of `deployment` */
    RECOVERY_DELETE_PODS, /* cluster: delete the deployment's pods */
    RECOVERY_PROCESS,     /* local: supervised process */
    RECOVERY_COMMAND,     /* run `command` */
};

struct spec_service {
    bool present; /* the section was given */
    bool enabled; /* default true */
    bool dry_run; /* default false */
    struct {
        char *url;
        struct spec_http_auth auth; /* auth + tls */
        int64_t interval_ms;   /* default 10s */
        int64_t timeout_ms;    /* default 2s */
        int failure_threshold; /* default 3 */
        /* After every start or restart the service is starting until its
         * first healthy probe or until this has passed: failures of a live
         * process do not count meanwhile. Default 5m; 0: only the grace
         * period failure_threshold × interval. */
        int64_t startup_timeout_ms;
    } health_check;
    struct {
        enum recovery_method method; /* default restart */
        int max_attempts;            /* default 3 */
        int64_t backoff_ms;          /* default 10s, doubles per attempt */
        int64_t reset_after_ms;      /* default 10m */
        int64_t timeout_ms;          /* command timeout, default 1m */
        char *deployment;
        struct {
            struct spec_argv command;
            char *working_dir;
            struct spec_env env;
        } process;
        struct spec_argv command;
    } recovery;
};

#define SPEC_MODEL_METRICS_MAX 8
#define SPEC_METRIC_NAME_MAX 64

/* One metric of spec.model.metrics (or the shorthand metric + minAccuracy). */
struct spec_model_metric {
    char *name;
    struct spec_metric_source source;
    int64_t interval_ms;    /* default 1m */
    bool has_min, has_max;  /* at least one */
    double min, max;        /* good: min <= value <= max */
    int failure_limit;      /* consecutive failing readings before it counts; default 1 */
    int inconclusive_limit; /* consecutive unreadable readings before MetricUnavailable; default 1 */
};

enum version_from_kind { VERSION_FROM_NONE = 0, VERSION_FROM_ANNOTATION, VERSION_FROM_ENV };
enum reload_method { RELOAD_RESTART, RELOAD_SIGNAL, RELOAD_NONE };

struct spec_model {
    bool present;
    bool enabled;
    bool dry_run;
    struct {
        char *name; /* default "accuracy" */
        struct spec_metric_source source;
        int64_t interval_ms; /* default 1m */
    } metric;
    double min_accuracy; /* default 0.70 */
    int failure_limit;   /* default 1 */
    /* The list form (spec.model.metrics); NULL/0 when the shorthand above
     * (metric + minAccuracy: one metric with a min) is used. Never both. */
    struct spec_model_metric *metrics;
    size_t nmetrics;
    struct {
        char *registry_path; /* registry.path, default "models" */
        char *deployment;
        struct {
            enum version_from_kind kind;
            char *annotation;    /* default "selfheal.dev/model-version" */
            char *env_container; /* env.container */
            char *env_name;      /* env.name */
        } version_from;
        int max_rollbacks;      /* default 3 */
        int64_t window_ms;      /* default 24h */
        enum reload_method reload; /* default restart */
    } rollback;
};

enum drift_method { DRIFT_PSI, DRIFT_KS, DRIFT_WASSERSTEIN, DRIFT_JENSENSHANNON };

struct spec_drift {
    bool present;
    bool enabled;
    bool dry_run;
    char *reference_path;
    char *current_path;
    struct spec_metric_source score_source; /* score.source: alternative */
    enum drift_method method;               /* default psi */
    double feature_threshold; /* default per method: psi 0.2, ks 0.1, wasserstein 0.1, js 0.1 */
    double threshold;         /* default 0.5 */
    int min_samples;          /* default 100 */
    int64_t interval_ms;      /* default 5m */
    int64_t cooldown_ms;      /* default 24h */
    struct {
        struct spec_argv command;
        cJSON *job_template; /* owned copy, or NULL */
        int64_t timeout_ms;  /* default 1h */
    } retrain;
};

enum missing_strategy { MISSING_MEDIAN, MISSING_MEAN, MISSING_MODE, MISSING_DROP_ROW };
enum outlier_action { OUTLIER_CAP, OUTLIER_DROP_ROW, OUTLIER_NONE };

struct spec_data_quality {
    bool present;
    bool enabled;
    bool dry_run;
    char *path;
    int64_t interval_ms;                  /* default 5m */
    enum missing_strategy missing_values; /* default median */
    char **missing_tokens;                /* default "", NA, NaN, null, None, ? */
    size_t missing_token_count;
    struct {
        double multiplier; /* default 3.0 (method is always iqr) */
        enum outlier_action action; /* default cap */
    } outliers;
    int backup_keep;           /* default 5 */
    double max_fixed_fraction; /* default 0.2 */
};

#define SPEC_NOTIFY_MAX 8
#define SPEC_NOTIFY_ON_MAX 32

enum notify_format { NOTIFY_FORMAT_JSON, NOTIFY_FORMAT_SLACK };
enum notify_url_from { NOTIFY_URL_NONE = 0, NOTIFY_URL_ENV, NOTIFY_URL_FILE, NOTIFY_URL_SECRET };

/* One webhook of spec.notify. The URL itself is a secret and never in the
 * spec: only where to read it. */
struct spec_notify {
    enum notify_url_from url_from;
    char *env;                     /* urlFrom.env: a variable of the controller */
    char *file;                    /* urlFrom.file: a file holding the URL */
    char *secret_name, *secret_key; /* urlFrom.secretKeyRef (cluster) */
    enum notify_format format;     /* default json */
    char **on;                     /* phases or event reasons; NULL: the defaults */
    size_t non;
    int64_t window_ms;             /* at most one per (pipeline, reason) per window; default 1h */
};

struct spec {
    bool paused;
    struct spec_service service;
    struct spec_model model;
    struct spec_drift drift;
    struct spec_data_quality data_quality;
    struct {
        int max_same_issue; /* default 3 */
        int64_t window_ms;  /* default 24h */
    } escalation;
    struct spec_notify *notify; /* spec.notify, NULL/0 when none */
    size_t nnotify;
};

/* One validation error: "spec.model.minAccuracy" + "must be between 0 and 1, got 1.5". */
struct spec_error {
    char *path;
    char *message;
};

struct spec_errors {
    struct spec_error *items;
    size_t count;
    size_t cap;
};

/* Appends an error (printf-style message). Returns 0 or SH_ENOMEM. */
int spec_errors_add(struct spec_errors *errs, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Formats all errors as "path: message" joined by `sep`. Owned by caller. */
char *spec_errors_join(const struct spec_errors *errs, const char *sep);
void spec_errors_free(struct spec_errors *errs);

/* Fills *out with every default (an empty spec). */
void spec_init_defaults(struct spec *out);

/*
 * Validates a whole object (apiVersion, kind, metadata, spec; status is
 * ignored) and decodes its spec into *out. Every problem found is appended to
 * errs; the return value is 0 when there were none, SH_EINVAL otherwise (out
 * then holds defaults and whatever decoded) or SH_ENOMEM. `out` must be
 * spec_free()d in every case. `obj` is borrowed.
 */
int spec_decode_object(const cJSON *obj, struct spec *out, struct spec_errors *errs);

struct pathguard;

/*
 * Checks every file and folder path the spec names against the allowed
 * roots (pathguard.h): service.recovery.process.workingDir, the file metric
 * sources, model.rollback.registry.path (when set to something other than
 * the default "models"), drift.reference/current.path and
 * dataQuality.path (whose backups go beside it). Each path outside is
 * appended to errs ("spec.dataQuality.path: /etc/passwd is outside the
 * allowed paths (--allow-path /srv/data)"). Commands (argv) are not paths
 * and are not checked. Returns 0 when every path is inside (always with a
 * NULL or empty guard), SH_EINVAL when one is not, or SH_ENOMEM. Defined in
 * spec_paths.c, so the decoder alone links without pathguard.c.
 */
int spec_check_paths(const struct spec *s, const struct pathguard *g, struct spec_errors *errs);

struct urlguard;

/*
 * Checks every URL the spec names against the --allow-url patterns
 * (base/urlguard.h): spec.service.healthCheck.url and the prometheus/http
 * metric sources (model metric and metrics[], drift score). Notification
 * webhook URLs are secrets read at send time, not checked here. Each refused URL is appended
 * to errs with its field path ("spec.model.metric.source.http.url: host
 * 169.254.169.254 is a link-local address (the cloud metadata service);
 * specs may not call it"). Returns 0 (always with a NULL or empty guard),
 * SH_EINVAL or SH_ENOMEM. Defined in spec_urls.c.
 */
int spec_check_urls(const struct spec *s, const struct urlguard *g, struct spec_errors *errs);

/* Releases what *s owns (not s itself). NULL is a no-op. */
void spec_free(struct spec *s);

/*
 * Parses a duration ("500ms", "30s", "5m", "24h", "1h30m"). Returns 0 and
 * *ret_ms, or SH_EPARSE.
 */
int spec_parse_duration(const char *s, int64_t *ret_ms);

/* Formats a duration the way users write it ("10s", "1h30m", "500ms"). */
char *spec_format_duration(int64_t ms, char *buf, size_t size);

/*
 * The metrics a model section is judged by, in spec order, into out (room for
 * SPEC_MODEL_METRICS_MAX): spec.model.metrics, or the shorthand as one metric
 * (metric.name, default "accuracy", with min = minAccuracy and failureLimit,
 * inconclusiveLimit 1). Shallow copies: the strings stay m's. Returns the count.
 */
size_t spec_model_metric_list(const struct spec_model *m, struct spec_model_metric *out);

/* Names of enum values as spelled in YAML ("restart", "delete-pods", ...). */
const char *spec_recovery_method_name(enum recovery_method m);
const char *spec_drift_method_name(enum drift_method m);
const char *spec_missing_strategy_name(enum missing_strategy m);

#endif
