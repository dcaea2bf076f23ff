/*
 * check_spec.c — the spec decoder and validator: defaults, a full spec, and a
 * table of broken specs (syntax, types, ranges, unknown fields, durations,
 * exclusive choices), each with the exact messages a user sees.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "runtime/spec.h"
#include "base/yamljson.h"

Suite *spec_suite(void);

#define HEAD "apiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\nmetadata: {name: p}\n"

/* Parses one YAML document and validates it; returns the joined messages
 * ("" when valid) — or the parse error. Owned. */
static char *validate_yaml(const char *yaml, struct spec *out)
{
    cJSON *docs = NULL;
    char *err = NULL;
    int r = yaml_parse_documents(yaml, strlen(yaml), "t.yaml", &docs, &err);
    if (r != 0)
        return err;
    ck_assert_int_eq(cJSON_GetArraySize(docs), 1);
    struct spec_errors errs = {0};
    struct spec local;
    struct spec *s = out ? out : &local;
    r = spec_decode_object(cJSON_GetArrayItem(docs, 0), s, &errs);
    char *msg = spec_errors_join(&errs, "\n");
    ck_assert_int_eq(r, errs.count ? SH_EINVAL : 0);
    spec_errors_free(&errs);
    if (!out)
        spec_free(&local);
    cJSON_Delete(docs);
    return msg;
}

START_TEST(test_defaults_are_the_briefs)
{
    struct spec s;
    char *msg = validate_yaml(HEAD "spec: {}\n", &s);
    ck_assert_str_eq(msg, "");
    free(msg);
    ck_assert(!s.paused);
    ck_assert(!s.service.present);
    ck_assert_int_eq(s.service.health_check.interval_ms, 10000);
    ck_assert_int_eq(s.service.health_check.timeout_ms, 2000);
    ck_assert_int_eq(s.service.health_check.failure_threshold, 3);
    ck_assert_int_eq(s.service.health_check.startup_timeout_ms, 300000); /* model servers load for minutes */
    ck_assert_int_eq(s.service.recovery.max_attempts, 3);
    ck_assert_int_eq(s.service.recovery.backoff_ms, 10000);
    ck_assert_int_eq(s.service.recovery.reset_after_ms, 600000);
    ck_assert_double_eq(s.model.min_accuracy, 0.70);
    ck_assert_int_eq(s.model.failure_limit, 1);
    ck_assert_str_eq(s.model.metric.name, "accuracy");
    ck_assert_str_eq(s.model.rollback.registry_path, "models");
    ck_assert_int_eq(s.model.rollback.max_rollbacks, 3);
    ck_assert_int_eq(s.model.rollback.window_ms, 86400000);
    ck_assert_int_eq(s.drift.method, DRIFT_PSI);
    ck_assert_double_eq(s.drift.feature_threshold, 0.2);
    ck_assert_double_eq(s.drift.threshold, 0.5);
    ck_assert_int_eq(s.drift.min_samples, 100);
    ck_assert_int_eq(s.drift.cooldown_ms, 86400000);
    ck_assert_int_eq(s.data_quality.missing_values, MISSING_MEDIAN);
    ck_assert_uint_eq(s.data_quality.missing_token_count, 6);
    ck_assert_str_eq(s.data_quality.missing_tokens[1], "NA");
    ck_assert_double_eq(s.data_quality.outliers.multiplier, 3.0);
    ck_assert_double_eq(s.data_quality.max_fixed_fraction, 0.2);
    ck_assert_int_eq(s.data_quality.backup_keep, 5);
    ck_assert_int_eq(s.escalation.max_same_issue, 3);
    spec_free(&s);
}
END_TEST

START_TEST(test_startup_timeout_zero_disables_and_short_default_is_not_an_error)
{
    struct spec s;
    char *msg = validate_yaml(
        HEAD "spec:\n  service:\n    healthCheck: {url: 'http://x', startupTimeout: '0'}\n", &s);
    ck_assert_str_eq(msg, "");
    free(msg);
    ck_assert_int_eq(s.service.health_check.startup_timeout_ms, 0);
    spec_free(&s);
    /* a probe interval longer than the default window: the default is not the user's mistake */
    msg = validate_yaml(HEAD "spec:\n  service:\n    healthCheck: {url: 'http://x', interval: 10m, "
                             "timeout: 1m}\n",
                        &s);
    ck_assert_str_eq(msg, "");
    free(msg);
    ck_assert_int_eq(s.service.health_check.startup_timeout_ms, 300000);
    spec_free(&s);
}
END_TEST

START_TEST(test_full_spec_decodes)
{
    struct spec s;
    char *msg = validate_yaml(
        HEAD "spec:\n"
             "  paused: true\n"
             "  service:\n"
             "    healthCheck: {url: 'http://localhost:8000/health', interval: 5s, timeout: 500ms, failureThreshold: 2, startupTimeout: 2m}\n"
             "    recovery:\n"
             "      method: process\n"
             "      maxAttempts: 5\n"
             "      backoff: 1m30s\n"
             "      process:\n"
             "        command: [bin/housing-api, --port, '8000']\n"
             "        workingDir: /srv\n"
             "        env: {MODEL_DIR: models, PORT: '8000'}\n"
             "  model:\n"
             "    metric: {source: {http: {url: 'http://localhost:8000/metrics', jsonPointer: /model_accuracy}}, interval: 30s}\n"
             "    minAccuracy: 0.8\n"
             "    rollback: {registry: {path: reg}, versionFrom: {env: {container: api, name: MODEL_VERSION}}, reload: signal}\n"
             "  drift:\n"
             "    reference: {path: ref.csv}\n"
             "    current: {path: cur.csv}\n"
             "    method: ks\n"
             "    cooldown: 0s\n"
             "    retrain: {command: [bin/housing-train], timeout: 10m}\n"
             "  dataQuality:\n"
             "    path: data.csv\n"
             "    missingValues: drop-row\n"
             "    missingTokens: ['', '-']\n"
             "    outliers: {method: iqr, multiplier: 1.5, action: none}\n"
             "    backup: {keep: 0}\n",
        &s);
    ck_assert_str_eq(msg, "");
    free(msg);
    ck_assert(s.paused);
    ck_assert(s.service.present);
    ck_assert_str_eq(s.service.health_check.url, "http://localhost:8000/health");
    ck_assert_int_eq(s.service.health_check.timeout_ms, 500);
    ck_assert_int_eq(s.service.health_check.startup_timeout_ms, 120000);
    ck_assert_int_eq(s.service.recovery.method, RECOVERY_PROCESS);
    ck_assert_int_eq(s.service.recovery.backoff_ms, 90000);
    ck_assert_uint_eq(s.service.recovery.process.command.argc, 3);
    ck_assert_str_eq(s.service.recovery.process.command.argv[2], "8000");
    ck_assert_ptr_null(s.service.recovery.process.command.argv[3]);
    ck_assert_uint_eq(s.service.recovery.process.env.count, 2);
    ck_assert_str_eq(s.service.recovery.process.env.names[1], "PORT");
    ck_assert_int_eq(s.model.metric.source.kind, METRIC_SOURCE_HTTP);
    ck_assert_str_eq(s.model.metric.source.json_pointer, "/model_accuracy");
    ck_assert_int_eq(s.model.rollback.version_from.kind, VERSION_FROM_ENV);
    ck_assert_str_eq(s.model.rollback.version_from.env_name, "MODEL_VERSION");
    ck_assert_int_eq(s.model.rollback.reload, RELOAD_SIGNAL);
    ck_assert_str_eq(s.model.rollback.registry_path, "reg");
    ck_assert_int_eq(s.drift.method, DRIFT_KS);
    ck_assert_double_eq(s.drift.feature_threshold, 0.1); /* the method's default */
    ck_assert_int_eq(s.drift.cooldown_ms, 0);
    ck_assert_int_eq(s.drift.retrain.timeout_ms, 600000);
    ck_assert_int_eq(s.data_quality.missing_values, MISSING_DROP_ROW);
    ck_assert_uint_eq(s.data_quality.missing_token_count, 2);
    ck_assert_str_eq(s.data_quality.missing_tokens[1], "-");
    ck_assert_int_eq(s.data_quality.outliers.action, OUTLIER_NONE);
    ck_assert_int_eq(s.data_quality.backup_keep, 0);
    spec_free(&s);
}
END_TEST

/* The broken specs: each gives exactly these messages (joined by newlines). */
static const struct {
    const char *yaml;
    const char *expect;
} broken[] = {
    /* 0 syntax */
    {HEAD "spec:\n  model: {minAccuracy: 0.5\n", "t.yaml:6:1: did not find expected ',' or '}'"},
    /* 1 range */
    {HEAD "spec:\n  model:\n    minAccuracy: 1.5\n    metric: {source: {file: {path: m.json}}}\n",
     "spec.model.minAccuracy: must be between 0 and 1, got 1.5"},
    /* 2 unknown field with a did-you-mean */
    {HEAD "spec:\n  model:\n    minAcuracy: 0.8\n    metric: {source: {file: {path: m.json}}}\n",
     "spec.model.minAcuracy: unknown field (did you mean minAccuracy?)"},
    /* 3 snake_case from the brief's config */
    {HEAD "spec:\n  service:\n    healthCheck: {url: 'http://x', failure_threshold: 2}\n",
     "spec.service.healthCheck.failure_threshold: unknown field (did you mean failureThreshold?)"},
    /* 4 unknown field, nothing close */
    {HEAD "spec:\n  escalation: {colour: red}\n",
     "spec.escalation.colour: unknown field (known fields: maxSameIssue, window)"},
    /* 5 type: string for a number */
    {HEAD "spec:\n  service:\n    healthCheck: {url: 'http://x', failureThreshold: three}\n",
     "spec.service.healthCheck.failureThreshold: must be a whole number, got \"three\""},
    /* 6 negative count */
    {HEAD "spec:\n  service:\n    healthCheck: {url: 'http://x'}\n    recovery: {method: command, command: [x], maxAttempts: -1}\n",
     "spec.service.recovery.maxAttempts: must be at least 0, got -1"},
    /* 7 fractional count */
    {HEAD "spec:\n  drift: {reference: {path: a}, current: {path: b}, minSamples: 2.5}\n",
     "spec.drift.minSamples: must be a whole number, got 2.5"},
    /* 8 bad duration */
    {HEAD "spec:\n  service:\n    healthCheck: {url: 'http://x', interval: 10 seconds}\n",
     "spec.service.healthCheck.interval: invalid duration \"10 seconds\" (use a number and a unit: 500ms, 30s, 5m, 24h)"},
    /* 9 a duration given as a number */
    {HEAD "spec:\n  drift: {reference: {path: a}, current: {path: b}, interval: 300}\n",
     "spec.drift.interval: must be a duration string like \"30s\", \"5m\" or \"24h\", got 300"},
    /* 10 zero duration */
    {HEAD "spec:\n  service:\n    healthCheck: {url: 'http://x', timeout: 0s}\n",
     "spec.service.healthCheck.timeout: must be greater than 0, got \"0s\""},
    /* 11 timeout longer than interval */
    {HEAD "spec:\n  service:\n    healthCheck: {url: 'http://x', interval: 5s, timeout: 1m}\n",
     "spec.service.healthCheck.timeout: must not exceed interval (5s), got 1m"},
    /* 12 empty URL */
    {HEAD "spec:\n  service:\n    healthCheck: {url: ''}\n",
     "spec.service.healthCheck.url: must not be empty"},
    /* 13 URL without scheme */
    {HEAD "spec:\n  service:\n    healthCheck: {url: 'localhost:8000/health'}\n",
     "spec.service.healthCheck.url: must be an http:// or https:// URL, got \"localhost:8000/health\""},
    /* 14 two metric sources */
    {HEAD "spec:\n  model:\n    metric:\n      source:\n        http: {url: 'http://a'}\n        file: {path: m.json}\n",
     "spec.model.metric.source: exactly one of prometheus, http or file may be set, got 2 (http, file)"},
    /* 15 no metric source */
    {HEAD "spec:\n  model:\n    metric: {source: {}}\n",
     "spec.model.metric.source: one of prometheus, http or file is required"},
    /* 16 wrong apiVersion */
    {"apiVersion: selfheal.dev/v1\nkind: SelfHealingPipeline\nmetadata: {name: p}\n",
     "apiVersion: must be selfheal.dev/v1alpha1, got \"selfheal.dev/v1\""},
    /* 17 wrong kind */
    {"apiVersion: selfheal.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: p}\n",
     "kind: must be SelfHealingPipeline, got \"Pipeline\""},
    /* 18 enum */
    {HEAD "spec:\n  service:\n    healthCheck: {url: 'http://x'}\n    recovery: {method: reboot}\n",
     "spec.service.recovery.method: must be one of restart, delete-pods, process, command, got \"reboot\""},
    /* 19 method needs its target */
    {HEAD "spec:\n  service:\n    healthCheck: {url: 'http://x'}\n    recovery: {method: process}\n",
     "spec.service.recovery.process.command: is required when method is process"},
    /* 20 drift: data and external score at once */
    {HEAD "spec:\n  drift:\n    reference: {path: a}\n    current: {path: b}\n    score: {source: {file: {path: s.json}}}\n",
     "spec.drift: reference/current and score are mutually exclusive: compute drift from data or read an external score, not both"},
    /* 21 bool */
    {HEAD "spec:\n  paused: 'yes'\n", "spec.paused: must be true or false, got \"yes\""},
    /* 22 name */
    {"apiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\nmetadata: {name: Housing_API}\n",
     "metadata.name: must be a lowercase RFC 1123 name (a-z, 0-9, '-' and '.', starting and ending with a letter or digit), got \"Housing_API\""},
    /* 23 missing name */
    {"apiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\nmetadata: {}\n",
     "metadata.name: is required"},
    /* 24 JSON pointer */
    {HEAD "spec:\n  model:\n    metric: {source: {http: {url: 'http://a', jsonPointer: model.accuracy}}}\n",
     "spec.model.metric.source.http.jsonPointer: must be a JSON pointer starting with \"/\" (like /metrics/accuracy), got \"model.accuracy\""},
    /* 25 argv must be a list, not a shell string */
    {HEAD "spec:\n  drift:\n    reference: {path: a}\n    current: {path: b}\n    retrain: {command: 'python train.py'}\n",
     "spec.drift.retrain.command: must be a list of strings (an argv, no shell), got \"python train.py\""},
    /* 26 every error is reported, in order */
    {HEAD "spec:\n  model:\n    minAccuracy: -0.1\n    failureLimit: 0\n    metric: {source: {file: {path: m}}, interval: 1y}\n",
     "spec.model.minAccuracy: must be between 0 and 1, got -0.1\n"
     "spec.model.failureLimit: must be at least 1, got 0\n"
     "spec.model.metric.interval: invalid duration \"1y\" (use a number and a unit: 500ms, 30s, 5m, 24h)"},
    /* 27 section of the wrong type */
    {HEAD "spec:\n  dataQuality: data.csv\n", "spec.dataQuality: must be an object, got \"data.csv\""},
    /* 28 outlier method */
    {HEAD "spec:\n  dataQuality: {path: d.csv, outliers: {method: zscore}}\n",
     "spec.dataQuality.outliers.method: must be one of iqr, got \"zscore\""},
    /* 29 fraction range */
    {HEAD "spec:\n  dataQuality: {path: d.csv, maxFixedFraction: 2}\n",
     "spec.dataQuality.maxFixedFraction: must be between 0 and 1, got 2"},
    /* 30 versionFrom exclusive */
    {HEAD "spec:\n  model:\n    metric: {source: {file: {path: m}}}\n    rollback: {versionFrom: {annotation: a, env: {name: V}}}\n",
     "spec.model.rollback.versionFrom: exactly one of annotation or env may be set, got both"},
    /* 31 top-level typo */
    {HEAD "sepc: {}\n", "sepc: unknown field (did you mean spec?)"},
    /* 32 a section without its required parts */
    {HEAD "spec:\n  dataQuality: {interval: 5m}\n", "spec.dataQuality.path: is required (the CSV file to check)"},
    /* 33 tab indentation is a YAML syntax error with a position */
    {HEAD "spec:\n\tpaused: true\n", "t.yaml:5:1: found character that cannot start any token"},
    /* 34 a startup window shorter than one probe interval */
    {HEAD "spec:\n  service:\n    healthCheck: {url: 'http://x', interval: 5s, startupTimeout: 2s}\n",
     "spec.service.healthCheck.startupTimeout: must be 0 (no startup allowance) or at least interval (5s), got 2s"},
    /* 35 startupTimeout is a duration */
    {HEAD "spec:\n  service:\n    healthCheck: {url: 'http://x', startupTimeout: 300}\n",
     "spec.service.healthCheck.startupTimeout: must be a duration string like \"30s\", \"5m\" or \"24h\", got 300"},
    /* 36 both forms of the model's metrics */
    {HEAD "spec:\n  model:\n    metric: {source: {file: {path: m}}}\n    metrics: [{name: rmse, source: {file: {path: m}}, max: 1}]\n",
     "spec.model.metrics: use either metrics or the shorthand metric + minAccuracy, not both"},
    /* 37 a metric without bounds */
    {HEAD "spec:\n  model:\n    metrics: [{name: rmse, source: {file: {path: m}}}]\n",
     "spec.model.metrics[0]: at least one of min or max is required (the metric's bounds)"},
    /* 38 min above max */
    {HEAD "spec:\n  model:\n    metrics: [{name: r2, source: {file: {path: m}}, min: 0.9, max: 0.5}]\n",
     "spec.model.metrics[0].max: must be at least min"},
    /* 39 the same name twice */
    {HEAD "spec:\n  model:\n    metrics:\n    - {name: a, source: {file: {path: m}}, min: 0}\n    - {name: a, source: {file: {path: m}}, max: 1}\n",
     "spec.model.metrics[1].name: must be unique, \"a\" is also spec.model.metrics[0]"},
    /* 40 the shorthand's threshold with the list */
    {HEAD "spec:\n  model:\n    minAccuracy: 0.8\n    metrics: [{name: a, source: {file: {path: m}}, min: 0}]\n",
     "spec.model.minAccuracy: belongs to the shorthand metric; with metrics give each metric its min"},
    /* 41 a notification URL from two places */
    {HEAD "spec:\n  notify: [{webhook: {urlFrom: {env: URL, file: u.txt}}}]\n",
     "spec.notify[0].webhook.urlFrom: exactly one of env, file or secretKeyRef may be set, got 2"},
    /* 42 a notification trigger that is no reason */
    {HEAD "spec:\n  notify: [{webhook: {urlFrom: {secretKeyRef: {name: hooks, key: url}}}, format: teams, on: [needs-attention]}]\n",
     "spec.notify[0].format: must be one of json, slack, got \"teams\"\n"
     "spec.notify[0].on[0]: must be a phase or an event reason in CamelCase (like NeedsAttention, RolledBack), got \"needs-attention\""},
    /* 43 a webhook without its URL */
    {HEAD "spec:\n  notify: [{webhook: {}}]\n",
     "spec.notify[0].webhook.urlFrom: is required (the URL is a secret: env, file or secretKeyRef)"},
};

START_TEST(test_broken_spec)
{
    char *msg = validate_yaml(broken[_i].yaml, NULL);
    ck_assert_msg(strcmp(msg, broken[_i].expect) == 0, "case %d:\n got: %s\nwant: %s", _i, msg,
                  broken[_i].expect);
    free(msg);
}
END_TEST

START_TEST(test_model_metrics_list)
{
    struct spec s;
    char *msg = validate_yaml(
        HEAD "spec:\n  model:\n    metrics:\n"
             "    - {name: accuracy, source: {http: {url: 'http://api/metrics.json', jsonPointer: /r2}}, interval: 30s, min: 0.7}\n"
             "    - {name: rmse, source: {prometheus: {url: 'http://prom:9090', query: housing_rmse}}, max: 40000, failureLimit: 2, inconclusiveLimit: 3}\n"
             "    rollback: {registry: {path: models}}\n",
        &s);
    ck_assert_str_eq(msg, "");
    free(msg);
    ck_assert_uint_eq(s.model.nmetrics, 2);
    struct spec_model_metric m[SPEC_MODEL_METRICS_MAX];
    ck_assert_uint_eq(spec_model_metric_list(&s.model, m), 2);
    ck_assert_str_eq(m[0].name, "accuracy");
    ck_assert_int_eq(m[0].interval_ms, 30000);
    ck_assert(m[0].has_min && !m[0].has_max);
    ck_assert_int_eq(m[0].failure_limit, 1);
    ck_assert_int_eq(m[0].inconclusive_limit, 1);
    ck_assert_str_eq(m[1].name, "rmse");
    ck_assert_int_eq(m[1].interval_ms, 60000);
    ck_assert(m[1].has_max && !m[1].has_min);
    ck_assert_double_eq(m[1].max, 40000);
    ck_assert_int_eq(m[1].failure_limit, 2);
    ck_assert_int_eq(m[1].inconclusive_limit, 3);
    ck_assert_int_eq(m[1].source.kind, METRIC_SOURCE_PROMETHEUS);
    spec_free(&s);
    /* the shorthand is one metric: accuracy with min = minAccuracy */
    msg = validate_yaml(HEAD "spec:\n  model: {metric: {source: {file: {path: m}}}, minAccuracy: 0.8, failureLimit: 2}\n", &s);
    ck_assert_str_eq(msg, "");
    free(msg);
    ck_assert_uint_eq(spec_model_metric_list(&s.model, m), 1);
    ck_assert_str_eq(m[0].name, "accuracy");
    ck_assert(m[0].has_min && !m[0].has_max);
    ck_assert_double_eq(m[0].min, 0.8);
    ck_assert_int_eq(m[0].failure_limit, 2);
    ck_assert_int_eq(m[0].source.kind, METRIC_SOURCE_FILE);
    spec_free(&s);
}
END_TEST

START_TEST(test_notify_decoded)
{
    struct spec s;
    char *msg = validate_yaml(HEAD "spec:\n  notify:\n  - webhook: {urlFrom: {env: SLACK_URL}}\n    format: slack\n"
                                   "    on: [NeedsAttention, RolledBack]\n    window: 30m\n"
                                   "  - webhook: {urlFrom: {secretKeyRef: {name: hooks, key: url}}}\n",
                              &s);
    ck_assert_str_eq(msg, "");
    free(msg);
    ck_assert_uint_eq(s.nnotify, 2);
    ck_assert_int_eq(s.notify[0].url_from, NOTIFY_URL_ENV);
    ck_assert_str_eq(s.notify[0].env, "SLACK_URL");
    ck_assert_int_eq(s.notify[0].format, NOTIFY_FORMAT_SLACK);
    ck_assert_uint_eq(s.notify[0].non, 2);
    ck_assert_str_eq(s.notify[0].on[1], "RolledBack");
    ck_assert_int_eq(s.notify[0].window_ms, 1800000);
    ck_assert_int_eq(s.notify[1].url_from, NOTIFY_URL_SECRET);
    ck_assert_str_eq(s.notify[1].secret_name, "hooks");
    ck_assert_str_eq(s.notify[1].secret_key, "url");
    ck_assert_int_eq(s.notify[1].format, NOTIFY_FORMAT_JSON);
    ck_assert_ptr_null(s.notify[1].on); /* the defaults */
    ck_assert_int_eq(s.notify[1].window_ms, 3600000);
    spec_free(&s);
}
END_TEST

START_TEST(test_json_input)
{
    const char *json = "{\"apiVersion\":\"selfheal.dev/v1alpha1\",\"kind\":\"SelfHealingPipeline\","
                       "\"metadata\":{\"name\":\"j\"},\"spec\":{\"model\":{\"minAccuracy\":1.5,"
                       "\"metric\":{\"source\":{\"file\":{\"path\":\"m\"}}}}}}";
    cJSON *docs = NULL;
    char *err = NULL;
    ck_assert_int_eq(json_parse_document(json, strlen(json), "j.json", &docs, &err), 0);
    struct spec s;
    struct spec_errors errs = {0};
    ck_assert_int_eq(spec_decode_object(cJSON_GetArrayItem(docs, 0), &s, &errs), SH_EINVAL);
    char *msg = spec_errors_join(&errs, "; ");
    ck_assert_str_eq(msg, "spec.model.minAccuracy: must be between 0 and 1, got 1.5");
    free(msg);
    spec_errors_free(&errs);
    spec_free(&s);
    cJSON_Delete(docs);
}
END_TEST

START_TEST(test_durations)
{
    static const struct {
        const char *in;
        long long ms;
    } ok[] = {{"500ms", 500}, {"30s", 30000}, {"5m", 300000}, {"24h", 86400000},
              {"1h30m", 5400000}, {"1.5s", 1500}, {"0", 0}, {"2m0.5s", 120500}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        int64_t ms = -1;
        ck_assert_int_eq(spec_parse_duration(ok[i].in, &ms), 0);
        ck_assert_int_eq(ms, ok[i].ms);
    }
    static const char *bad[] = {"", "5", "s", "-5s", "5 s", "5d", "1y", "5sec", "ms", "1e3s",
                                "99999999999h", NULL};
    for (int i = 0; bad[i]; i++) {
        int64_t ms = 0;
        ck_assert_msg(spec_parse_duration(bad[i], &ms) == SH_EPARSE, "accepted '%s'", bad[i]);
    }
    char buf[32];
    ck_assert_str_eq(spec_format_duration(10000, buf, sizeof buf), "10s");
    ck_assert_str_eq(spec_format_duration(5400000, buf, sizeof buf), "1h30m");
    ck_assert_str_eq(spec_format_duration(500, buf, sizeof buf), "500ms");
    ck_assert_str_eq(spec_format_duration(1500, buf, sizeof buf), "1.5s");
    ck_assert_str_eq(spec_format_duration(0, buf, sizeof buf), "0s");
    ck_assert_str_eq(spec_format_duration(86400000, buf, sizeof buf), "24h");
}
END_TEST

START_TEST(test_status_is_ignored_and_metadata_passes)
{
    char *msg = validate_yaml("apiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\n"
                              "metadata: {name: p, namespace: ml, uid: abc, generation: 3,\n"
                              "  labels: {team: ml}, annotations: {selfheal.dev/reset: '1'}}\n"
                              "spec: {}\nstatus: {phase: Healthy, anything: [1, 2]}\n",
                              NULL);
    ck_assert_str_eq(msg, "");
    free(msg);
    msg = validate_yaml("apiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\n"
                        "metadata: {name: p, labels: {n: 5}}\n",
                        NULL);
    ck_assert_str_eq(msg, "metadata.labels.n: must be a string (quote it), got 5");
    free(msg);
}
END_TEST

START_TEST(test_env_list_form)
{
    struct spec s;
    char *msg = validate_yaml(
        HEAD "spec:\n  service:\n    healthCheck: {url: 'http://x'}\n"
             "    recovery:\n      method: process\n      process:\n        command: [a]\n"
             "        env: [{name: A, value: '1'}, {name: B}]\n",
        &s);
    ck_assert_str_eq(msg, "");
    free(msg);
    ck_assert_uint_eq(s.service.recovery.process.env.count, 2);
    ck_assert_str_eq(s.service.recovery.process.env.values[0], "1");
    ck_assert_str_eq(s.service.recovery.process.env.values[1], "");
    spec_free(&s);
}
END_TEST

Suite *spec_suite(void)
{
    Suite *s = suite_create("spec");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, test_defaults_are_the_briefs);
    tcase_add_test(tc, test_startup_timeout_zero_disables_and_short_default_is_not_an_error);
    tcase_add_test(tc, test_full_spec_decodes);
    tcase_add_loop_test(tc, test_broken_spec, 0, (int)(sizeof broken / sizeof *broken));
    tcase_add_test(tc, test_json_input);
    tcase_add_test(tc, test_model_metrics_list);
    tcase_add_test(tc, test_notify_decoded);
    tcase_add_test(tc, test_durations);
    tcase_add_test(tc, test_status_is_ignored_and_metadata_passes);
    tcase_add_test(tc, test_env_list_form);
    suite_add_tcase(s, tc);
    return s;
}
