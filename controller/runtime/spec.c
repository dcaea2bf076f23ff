/*
 * spec.c — decodes and validates a SelfHealingPipeline (see spec.h).
 *
 * The decoder walks the cJSON tree with a small set of typed getters that
 * each know the field's path, so every problem is reported once with the
 * path and a precise reason, and decoding goes on after an error (all errors
 * are collected). Every object checks its keys against the list of known
 * fields first: an unknown key is an error with a did-you-mean, never
 * silently ignored. Defaults come from spec_init_defaults (the brief's
 * thresholds) and are overwritten only by fields that were given.
 */
#include "runtime/spec.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/errors.h"
#include "base/redact.h"

#define PATH_MAX_LEN 256
#define DURATION_MAX_MS (100LL * 365 * 24 * 3600 * 1000) /* 100 years */

/* ---- errors --------------------------------------------------------------- */

int spec_errors_add(struct spec_errors *errs, const char *path, const char *fmt, ...)
{
    if (errs->count == errs->cap) {
        size_t ncap = errs->cap ? errs->cap * 2 : 8;
        struct spec_error *n = realloc(errs->items, ncap * sizeof(*n));
        if (!n)
            return SH_ENOMEM;
        errs->items = n;
        errs->cap = ncap;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    redact_inplace(buf); /* a message may quote a value: never a credential */
    char *p = strdup(path), *m = strdup(buf);
    if (!p || !m) {
        free(p);
        free(m);
        return SH_ENOMEM;
    }
    errs->items[errs->count++] = (struct spec_error){p, m};
    return 0;
}

char *spec_errors_join(const struct spec_errors *errs, const char *sep)
{
    size_t len = 1, seplen = strlen(sep);
    for (size_t i = 0; i < errs->count; i++)
        len += strlen(errs->items[i].path) + 2 + strlen(errs->items[i].message) + seplen;
    char *out = malloc(len), *w = out;
    if (!out)
        return NULL;
    *w = '\0';
    for (size_t i = 0; i < errs->count; i++) {
        const struct spec_error *e = &errs->items[i];
        w += snprintf(w, len - (size_t)(w - out), "%s%s%s%s", i ? sep : "", e->path,
                      e->path[0] ? ": " : "", e->message);
    }
    return out;
}

void spec_errors_free(struct spec_errors *errs)
{
    for (size_t i = 0; i < errs->count; i++) {
        free(errs->items[i].path);
        free(errs->items[i].message);
    }
    free(errs->items);
    *errs = (struct spec_errors){0};
}

/* ---- durations ------------------------------------------------------------ */

int spec_parse_duration(const char *s, int64_t *ret_ms)
{
    if (!s || !*s)
        return SH_EPARSE;
    if (strcmp(s, "0") == 0) {
        *ret_ms = 0;
        return 0;
    }
    double total = 0;
    const char *p = s;
    while (*p) {
        /* a plain decimal number: digits with at most one '.', no exponent */
        const char *num = p;
        int dots = 0, digits = 0;
        for (; isdigit((unsigned char)*p) || *p == '.'; p++) {
            dots += *p == '.';
            digits += *p != '.';
        }
        if (digits == 0 || dots > 1 || p - num > 30)
            return SH_EPARSE;
        char nbuf[32];
        memcpy(nbuf, num, (size_t)(p - num));
        nbuf[p - num] = '\0';
        double v = strtod(nbuf, NULL);
        double unit;
        if (strncmp(p, "ms", 2) == 0) {
            unit = 1;
            p += 2;
        } else if (*p == 's') {
            unit = 1000;
            p++;
        } else if (*p == 'm') {
            unit = 60000;
            p++;
        } else if (*p == 'h') {
            unit = 3600000;
            p++;
        } else {
            return SH_EPARSE;
        }
        total += v * unit;
        if (total > (double)DURATION_MAX_MS)
            return SH_EPARSE;
    }
    *ret_ms = (int64_t)llround(total);
    return 0;
}

char *spec_format_duration(int64_t ms, char *buf, size_t size)
{
    if (ms == 0) {
        snprintf(buf, size, "0s");
        return buf;
    }
    if (ms % 1000 != 0) {
        if (ms > 1000 && ms % 100 == 0)
            snprintf(buf, size, "%.1fs", (double)ms / 1000);
        else
            snprintf(buf, size, "%lldms", (long long)ms);
        return buf;
    }
    int64_t s = ms / 1000, h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
    size_t n = 0;
    buf[0] = '\0';
    if (h)
        n += (size_t)snprintf(buf + n, size - n, "%lldh", (long long)h);
    if (m && n < size)
        n += (size_t)snprintf(buf + n, size - n, "%lldm", (long long)m);
    if (sec && n < size)
        snprintf(buf + n, size - n, "%llds", (long long)sec);
    return buf;
}

/* ---- names ---------------------------------------------------------------- */

static const char *const RECOVERY_METHODS[] = {"restart", "delete-pods", "process", "command", NULL};
static const char *const DRIFT_METHODS[] = {"psi", "ks", "wasserstein", "jensenshannon", NULL};
static const char *const MISSING_STRATEGIES[] = {"median", "mean", "mode", "drop-row", NULL};
static const char *const OUTLIER_ACTIONS[] = {"cap", "drop-row", "none", NULL};
static const char *const RELOAD_METHODS[] = {"restart", "signal", "none", NULL};

const char *spec_recovery_method_name(enum recovery_method m)
{
    return (unsigned)m < 4 ? RECOVERY_METHODS[m] : "?";
}

const char *spec_drift_method_name(enum drift_method m)
{
    return (unsigned)m < 4 ? DRIFT_METHODS[m] : "?";
}

const char *spec_missing_strategy_name(enum missing_strategy m)
{
    return (unsigned)m < 4 ? MISSING_STRATEGIES[m] : "?";
}

static double drift_default_feature_threshold(enum drift_method m)
{
    return m == DRIFT_PSI ? 0.2 : 0.1;
}

/* ---- defaults ------------------------------------------------------------- */

static const char *const DEFAULT_MISSING_TOKENS[] = {"", "NA", "NaN", "null", "None", "?"};

void spec_init_defaults(struct spec *s)
{
    memset(s, 0, sizeof(*s));
    s->service.enabled = true;
    s->service.health_check.interval_ms = 10000;
    s->service.health_check.timeout_ms = 2000;
    s->service.health_check.failure_threshold = 3;
    s->service.health_check.startup_timeout_ms = 300000;
    s->service.recovery.method = RECOVERY_RESTART;
    s->service.recovery.max_attempts = 3;
    s->service.recovery.backoff_ms = 10000;
    s->service.recovery.reset_after_ms = 600000;
    s->service.recovery.timeout_ms = 60000;

    s->model.enabled = true;
    s->model.metric.interval_ms = 60000;
    s->model.min_accuracy = 0.70;
    s->model.failure_limit = 1;
    s->model.rollback.max_rollbacks = 3;
    s->model.rollback.window_ms = 24LL * 3600 * 1000;
    s->model.rollback.reload = RELOAD_RESTART;

    s->drift.enabled = true;
    s->drift.method = DRIFT_PSI;
    s->drift.feature_threshold = drift_default_feature_threshold(DRIFT_PSI);
    s->drift.threshold = 0.5;
    s->drift.min_samples = 100;
    s->drift.interval_ms = 300000;
    s->drift.cooldown_ms = 24LL * 3600 * 1000;
    s->drift.retrain.timeout_ms = 3600000;

    s->data_quality.enabled = true;
    s->data_quality.interval_ms = 300000;
    s->data_quality.missing_values = MISSING_MEDIAN;
    s->data_quality.outliers.multiplier = 3.0;
    s->data_quality.outliers.action = OUTLIER_CAP;
    s->data_quality.backup_keep = 5;
    s->data_quality.max_fixed_fraction = 0.2;

    s->escalation.max_same_issue = 3;
    s->escalation.window_ms = 24LL * 3600 * 1000;
}

/* Strings that are defaults are allocated lazily at the end of decoding so
 * spec_free can free everything uniformly. */
static int fill_string_defaults(struct spec *s)
{
    if (!s->model.metric.name && !(s->model.metric.name = strdup("accuracy")))
        return SH_ENOMEM;
    if (!s->model.rollback.registry_path && !(s->model.rollback.registry_path = strdup("models")))
        return SH_ENOMEM;
    if (s->model.rollback.version_from.kind == VERSION_FROM_NONE) {
        s->model.rollback.version_from.kind = VERSION_FROM_ANNOTATION;
        if (!(s->model.rollback.version_from.annotation = strdup("selfheal.dev/model-version")))
            return SH_ENOMEM;
    }
    if (!s->data_quality.missing_tokens) {
        size_t n = sizeof DEFAULT_MISSING_TOKENS / sizeof *DEFAULT_MISSING_TOKENS;
        s->data_quality.missing_tokens = calloc(n + 1, sizeof(char *));
        if (!s->data_quality.missing_tokens)
            return SH_ENOMEM;
        for (size_t i = 0; i < n; i++)
            if (!(s->data_quality.missing_tokens[i] = strdup(DEFAULT_MISSING_TOKENS[i])))
                return SH_ENOMEM;
        s->data_quality.missing_token_count = n;
    }
    return 0;
}

/* ---- free ----------------------------------------------------------------- */

static void argv_free(struct spec_argv *a)
{
    if (a->argv)
        for (size_t i = 0; i < a->argc; i++)
            free(a->argv[i]);
    free(a->argv);
    *a = (struct spec_argv){0};
}

static void env_free(struct spec_env *e)
{
    for (size_t i = 0; i < e->count; i++) {
        free(e->names[i]);
        free(e->values[i]);
    }
    free(e->names);
    free(e->values);
    *e = (struct spec_env){0};
}

static void http_auth_free(struct spec_http_auth *a);

static void source_free(struct spec_metric_source *m)
{
    http_auth_free(&m->auth);
    free(m->url);
    free(m->query);
    free(m->json_pointer);
    free(m->path);
    *m = (struct spec_metric_source){0};
}

void spec_free(struct spec *s)
{
    if (!s)
        return;
    free(s->service.health_check.url);
    http_auth_free(&s->service.health_check.auth);
    free(s->service.recovery.deployment);
    argv_free(&s->service.recovery.process.command);
    free(s->service.recovery.process.working_dir);
    env_free(&s->service.recovery.process.env);
    argv_free(&s->service.recovery.command);
    free(s->model.metric.name);
    source_free(&s->model.metric.source);
    for (size_t i = 0; i < s->model.nmetrics; i++) {
        free(s->model.metrics[i].name);
        source_free(&s->model.metrics[i].source);
    }
    free(s->model.metrics);
    free(s->model.rollback.registry_path);
    free(s->model.rollback.deployment);
    free(s->model.rollback.version_from.annotation);
    free(s->model.rollback.version_from.env_container);
    free(s->model.rollback.version_from.env_name);
    free(s->drift.reference_path);
    free(s->drift.current_path);
    source_free(&s->drift.score_source);
    argv_free(&s->drift.retrain.command);
    cJSON_Delete(s->drift.retrain.job_template);
    for (size_t i = 0; i < s->nnotify; i++) {
        struct spec_notify *n = &s->notify[i];
        free(n->env);
        free(n->file);
        free(n->secret_name);
        free(n->secret_key);
        for (size_t j = 0; j < n->non; j++)
            free(n->on[j]);
        free(n->on);
    }
    free(s->notify);
    free(s->data_quality.path);
    if (s->data_quality.missing_tokens)
        for (size_t i = 0; i < s->data_quality.missing_token_count; i++)
            free(s->data_quality.missing_tokens[i]);
    free(s->data_quality.missing_tokens);
    memset(s, 0, sizeof(*s));
}

/* ---- the decoder ---------------------------------------------------------- */

struct dec {
    struct spec_errors *errs;
    int oom;
};

static void fail(struct dec *d, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct dec *d, const char *path, const char *fmt, ...)
{
    char buf[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (spec_errors_add(d->errs, path, "%s", buf) != 0)
        d->oom = 1;
}

/* out = parent.key (truncated to PATH_MAX_LEN; paths are short in practice). */
static void join(char *out, const char *parent, const char *key)
{
    int n = parent[0] ? snprintf(out, PATH_MAX_LEN, "%s.%s", parent, key)
                      : snprintf(out, PATH_MAX_LEN, "%s", key);
    if (n < 0 || n >= PATH_MAX_LEN)
        out[PATH_MAX_LEN - 1] = '\0';
}

/* How a value is shown after "got": strings quoted, others as written. */
static void describe(const cJSON *v, char *buf, size_t size)
{
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        size_t n = strlen(s);
        snprintf(buf, size, n > 60 ? "\"%.57s...\"" : "\"%s\"", s);
    } else if (cJSON_IsBool(v)) {
        snprintf(buf, size, "%s", cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNumber(v)) {
        snprintf(buf, size, "%.15g", v->valuedouble);
    } else if (cJSON_IsNull(v)) {
        snprintf(buf, size, "null");
    } else if (cJSON_IsArray(v)) {
        snprintf(buf, size, "a list");
    } else {
        snprintf(buf, size, "an object");
    }
}

static void fail_type(struct dec *d, const char *path, const char *want, const cJSON *v)
{
    char got[80];
    describe(v, got, sizeof got);
    fail(d, path, "must be %s, got %s", want, got);
}

/* Optimal string alignment distance (a swap of neighbours counts as one
 * edit: "sepc" is one edit from "spec"), case-insensitive. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t dm[65][65];
    for (size_t i = 0; i <= la; i++)
        dm[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        dm[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t best = dm[i - 1][j - 1] + (ca == cb ? 0 : 1);
            if (dm[i - 1][j] + 1 < best)
                best = dm[i - 1][j] + 1;
            if (dm[i][j - 1] + 1 < best)
                best = dm[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && dm[i - 2][j - 2] + 1 < best)
                best = dm[i - 2][j - 2] + 1;
            dm[i][j] = best;
        }
    }
    return dm[la][lb];
}

/* The known key closest to `key`, if close enough to be a typo. */
static const char *did_you_mean(const char *key, const char *const *known)
{
    const char *best = NULL;
    size_t best_d = 99, len = strlen(key);
    size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    for (const char *const *k = known; *k; k++) {
        /* snake_case of a known camelCase key: failure_threshold → failureThreshold */
        char camel[64];
        size_t w = 0;
        for (const char *p = key; *p && w + 1 < sizeof camel; p++) {
            if ((*p == '_' || *p == '-') && p[1]) {
                camel[w++] = (char)toupper((unsigned char)*++p);
            } else {
                camel[w++] = *p;
            }
        }
        camel[w] = '\0';
        if (strcmp(camel, *k) == 0)
            return *k;
        size_t dist = edit_distance(key, *k);
        if (dist < best_d) {
            best_d = dist;
            best = *k;
        }
    }
    return best_d <= limit ? best : NULL;
}

/* Reports unknown keys of an object. Returns 1 if v is an object. */
static int check_object(struct dec *d, const char *path, const cJSON *v, const char *const *known)
{
    if (!cJSON_IsObject(v)) {
        fail_type(d, path, "an object", v);
        return 0;
    }
    for (const cJSON *c = v->child; c; c = c->next) {
        int ok = 0;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(c->string, *k) == 0;
        if (ok)
            continue;
        char p[PATH_MAX_LEN];
        join(p, path, c->string);
        const char *hint = did_you_mean(c->string, known);
        if (hint) {
            fail(d, p, "unknown field (did you mean %s?)", hint);
        } else {
            char list[400];
            size_t n = 0;
            list[0] = '\0';
            for (const char *const *k = known; *k && n < sizeof list; k++)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", k == known ? "" : ", ", *k);
            fail(d, p, "unknown field (known fields: %s)", list);
        }
    }
    return 1;
}

static const cJSON *field(const cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

static void get_bool(struct dec *d, const char *path, const cJSON *obj, const char *key, bool *out)
{
    const cJSON *v = field(obj, key);
    if (!v)
        return;
    char p[PATH_MAX_LEN];
    join(p, path, key);
    if (!cJSON_IsBool(v)) {
        fail_type(d, p, "true or false", v);
        return;
    }
    *out = cJSON_IsTrue(v);
}

static void get_int(struct dec *d, const char *path, const cJSON *obj, const char *key, int min,
                    int max, int *out)
{
    const cJSON *v = field(obj, key);
    if (!v)
        return;
    char p[PATH_MAX_LEN];
    join(p, path, key);
    if (!cJSON_IsNumber(v)) {
        fail_type(d, p, "a whole number", v);
        return;
    }
    double x = v->valuedouble;
    if (x != floor(x)) {
        fail(d, p, "must be a whole number, got %.15g", x);
        return;
    }
    if (x < min) {
        fail(d, p, "must be at least %d, got %.15g", min, x);
        return;
    }
    if (x > max) {
        fail(d, p, "must be at most %d, got %.15g", max, x);
        return;
    }
    *out = (int)x;
}

static void get_number(struct dec *d, const char *path, const cJSON *obj, const char *key,
                       double *out, int *given)
{
    const cJSON *v = field(obj, key);
    if (!v)
        return;
    char p[PATH_MAX_LEN];
    join(p, path, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
        fail_type(d, p, "a number", v);
        return;
    }
    *out = v->valuedouble;
    if (given)
        *given = 1;
}

static void get_fraction(struct dec *d, const char *path, const cJSON *obj, const char *key,
                         double *out)
{
    double x = *out;
    int given = 0;
    get_number(d, path, obj, key, &x, &given);
    if (!given)
        return;
    if (x < 0 || x > 1) {
        char p[PATH_MAX_LEN];
        join(p, path, key);
        fail(d, p, "must be between 0 and 1, got %.15g", x);
        return;
    }
    *out = x;
}

/* A string field. Returns 1 when given (even if invalid). Empty strings are
 * errors unless allow_empty. */
static int get_string(struct dec *d, const char *path, const cJSON *obj, const char *key,
                      int allow_empty, char **out)
{
    const cJSON *v = field(obj, key);
    if (!v)
        return 0;
    char p[PATH_MAX_LEN];
    join(p, path, key);
    if (!cJSON_IsString(v)) {
        fail_type(d, p, "a string", v);
        return 1;
    }
    if (!allow_empty && v->valuestring[0] == '\0') {
        fail(d, p, "must not be empty");
        return 1;
    }
    char *s = strdup(v->valuestring);
    if (!s) {
        d->oom = 1;
        return 1;
    }
    free(*out);
    *out = s;
    return 1;
}

static void get_duration(struct dec *d, const char *path, const cJSON *obj, const char *key,
                         int64_t min_ms, int64_t *out)
{
    const cJSON *v = field(obj, key);
    if (!v)
        return;
    char p[PATH_MAX_LEN];
    join(p, path, key);
    if (!cJSON_IsString(v)) {
        char got[80];
        describe(v, got, sizeof got);
        fail(d, p, "must be a duration string like \"30s\", \"5m\" or \"24h\", got %s", got);
        return;
    }
    int64_t ms;
    if (spec_parse_duration(v->valuestring, &ms) != 0) {
        fail(d, p, "invalid duration \"%s\" (use a number and a unit: 500ms, 30s, 5m, 24h)",
             v->valuestring);
        return;
    }
    if (ms < min_ms) {
        char want[32];
        if (min_ms <= 1)
            fail(d, p, "must be greater than 0, got \"%s\"", v->valuestring);
        else
            fail(d, p, "must be at least %s, got \"%s\"", spec_format_duration(min_ms, want, sizeof want),
                 v->valuestring);
        return;
    }
    *out = ms;
}

static void get_enum(struct dec *d, const char *path, const cJSON *obj, const char *key,
                     const char *const *names, int *out)
{
    const cJSON *v = field(obj, key);
    if (!v)
        return;
    char p[PATH_MAX_LEN];
    join(p, path, key);
    char list[200];
    size_t n = 0;
    for (const char *const *k = names; *k && n < sizeof list; k++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", k == names ? "" : ", ", *k);
    if (cJSON_IsString(v)) {
        for (int i = 0; names[i]; i++)
            if (strcmp(v->valuestring, names[i]) == 0) {
                *out = i;
                return;
            }
    }
    char got[80];
    describe(v, got, sizeof got);
    fail(d, p, "must be one of %s, got %s", list, got);
}

static void get_argv(struct dec *d, const char *path, const cJSON *obj, const char *key,
                     struct spec_argv *out)
{
    const cJSON *v = field(obj, key);
    if (!v)
        return;
    char p[PATH_MAX_LEN];
    join(p, path, key);
    if (!cJSON_IsArray(v)) {
        fail_type(d, p, "a list of strings (an argv, no shell)", v);
        return;
    }
    int n = cJSON_GetArraySize(v);
    if (n == 0) {
        fail(d, p, "must not be empty");
        return;
    }
    int i = 0, bad = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        if (!cJSON_IsString(c)) {
            char ip[PATH_MAX_LEN + 16];
            snprintf(ip, sizeof ip, "%s[%d]", p, i);
            fail_type(d, ip, "a string", c);
            bad = 1;
        } else if (i == 0 && c->valuestring[0] == '\0') {
            char ip[PATH_MAX_LEN + 16];
            snprintf(ip, sizeof ip, "%s[0]", p);
            fail(d, ip, "the program name must not be empty");
            bad = 1;
        }
    }
    if (bad)
        return;
    argv_free(out);
    out->argv = calloc((size_t)n + 1, sizeof(char *));
    if (!out->argv) {
        d->oom = 1;
        return;
    }
    i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++)
        if (!(out->argv[i] = strdup(c->valuestring)))
            d->oom = 1;
    out->argc = (size_t)n;
}

static int env_append(struct spec_env *e, const char *name, const char *value)
{
    char **n = realloc(e->names, (e->count + 1) * sizeof(char *));
    if (!n)
        return SH_ENOMEM;
    e->names = n;
    char **v = realloc(e->values, (e->count + 1) * sizeof(char *));
    if (!v)
        return SH_ENOMEM;
    e->values = v;
    e->names[e->count] = strdup(name);
    e->values[e->count] = strdup(value);
    e->count++;
    return e->names[e->count - 1] && e->values[e->count - 1] ? 0 : SH_ENOMEM;
}

static int valid_env_name(const char *s)
{
    if (!*s || isdigit((unsigned char)*s))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/* env: {NAME: value} or [{name, value}] (the Kubernetes form). */
static void get_env(struct dec *d, const char *path, const cJSON *obj, const char *key,
                    struct spec_env *out)
{
    static const char *const item_keys[] = {"name", "value", NULL};
    const cJSON *v = field(obj, key);
    if (!v)
        return;
    char p[PATH_MAX_LEN];
    join(p, path, key);
    if (cJSON_IsObject(v)) {
        for (const cJSON *c = v->child; c; c = c->next) {
            char ip[PATH_MAX_LEN];
            join(ip, p, c->string);
            if (!valid_env_name(c->string))
                fail(d, ip, "not a valid environment variable name");
            else if (!cJSON_IsString(c))
                fail_type(d, ip, "a string (quote numbers and booleans)", c);
            else if (env_append(out, c->string, c->valuestring) != 0)
                d->oom = 1;
        }
        return;
    }
    if (!cJSON_IsArray(v)) {
        fail_type(d, p, "an object of NAME: value or a list of {name, value}", v);
        return;
    }
    int i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        char ip[PATH_MAX_LEN + 16];
        snprintf(ip, sizeof ip, "%s[%d]", p, i);
        if (!check_object(d, ip, c, item_keys))
            continue;
        const cJSON *n = field(c, "name"), *val = field(c, "value");
        char np[PATH_MAX_LEN + 24];
        snprintf(np, sizeof np, "%s.name", ip);
        if (!n)
            fail(d, np, "is required");
        else if (!cJSON_IsString(n) || !valid_env_name(n->valuestring))
            fail(d, np, "not a valid environment variable name");
        else if (val && !cJSON_IsString(val))
            fail_type(d, ip, "a string value", val);
        else if (env_append(out, n->valuestring, val ? val->valuestring : "") != 0)
            d->oom = 1;
    }
}

static void check_url(struct dec *d, const char *path, const char *key, const char *url)
{
    if (!url)
        return;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        char p[PATH_MAX_LEN];
        join(p, path, key);
        fail(d, p, "must be an http:// or https:// URL, got \"%s\"", url);
    } else if (url[strncmp(url, "http://", 7) == 0 ? 7 : 8] == '\0') {
        char p[PATH_MAX_LEN];
        join(p, path, key);
        fail(d, p, "has no host, got \"%s\"", url);
    }
}

static void check_pointer(struct dec *d, const char *path, const char *ptr)
{
    if (!ptr || !*ptr)
        return;
    char p[PATH_MAX_LEN];
    join(p, path, "jsonPointer");
    if (ptr[0] != '/') {
        fail(d, p, "must be a JSON pointer starting with \"/\" (like /metrics/accuracy), got \"%s\"",
             ptr);
        return;
    }
    for (const char *c = ptr; *c; c++)
        if (*c == '~' && c[1] != '0' && c[1] != '1') {
            fail(d, p, "invalid escape in JSON pointer \"%s\" (~ must be followed by 0 or 1)", ptr);
            return;
        }
}

static int valid_name(const char *s);
static void require_sub(struct dec *d, const char *path, const char *key, const char *why);

/* ---- credentials by reference ------------------------------------------------ */

static void secret_ref_free(struct spec_secret_ref *r)
{
    free(r->name);
    free(r->key);
    *r = (struct spec_secret_ref){0};
}

static void http_auth_free(struct spec_http_auth *a)
{
    secret_ref_free(&a->bearer_token);
    free(a->basic_username);
    secret_ref_free(&a->basic_password);
    free(a->ca_file);
    secret_ref_free(&a->ca_secret);
    *a = (struct spec_http_auth){0};
}

/* {name, key} of a Secret in the pipeline's namespace. */
static void decode_secret_key_ref(struct dec *d, const char *path, const cJSON *v,
                                  struct spec_secret_ref *out)
{
    static const char *const keys[] = {"name", "key", NULL};
    if (!check_object(d, path, v, keys))
        return;
    out->kind = SECRET_REF_SECRET;
    if (!get_string(d, path, v, "name", 0, &out->name))
        require_sub(d, path, "name", "");
    else if (out->name[0] && !valid_name(out->name))
        fail(d, path, "name must be a lowercase RFC 1123 name, got \"%s\"", out->name);
    if (!get_string(d, path, v, "key", 0, &out->key))
        require_sub(d, path, "key", "");
}

/* A secret value: exactly one of env, file, secretKeyRef. The value itself
 * is never written in a spec (DESIGN.md "Secrets"). */
static void decode_secret_ref(struct dec *d, const char *path, const cJSON *v,
                              struct spec_secret_ref *out)
{
    static const char *const keys[] = {"env", "file", "secretKeyRef", NULL};
    if (cJSON_IsString(v)) {
        fail(d, path,
             "must be a reference ({env: NAME}, {file: PATH} or {secretKeyRef: {name, key}}), "
             "not the value itself");
        return;
    }
    if (!check_object(d, path, v, keys))
        return;
    int n = !!field(v, "env") + !!field(v, "file") + !!field(v, "secretKeyRef");
    if (n != 1) {
        fail(d, path, "exactly one of env, file or secretKeyRef is required, got %d", n);
        return;
    }
    char p[PATH_MAX_LEN];
    if (field(v, "env")) {
        out->kind = SECRET_REF_ENV;
        if (get_string(d, path, v, "env", 0, &out->name) && out->name &&
            !valid_env_name(out->name)) {
            join(p, path, "env");
            fail(d, p, "not a valid environment variable name, got \"%s\"", out->name);
        }
    } else if (field(v, "file")) {
        out->kind = SECRET_REF_FILE;
        get_string(d, path, v, "file", 0, &out->name);
    } else {
        join(p, path, "secretKeyRef");
        decode_secret_key_ref(d, p, field(v, "secretKeyRef"), out);
    }
}

/* `auth` (bearerToken or basic) and `tls` of an HTTP request, from obj. */
static void decode_http_auth(struct dec *d, const char *path, const cJSON *obj,
                             struct spec_http_auth *out)
{
    static const char *const auth_keys[] = {"bearerToken", "basic", NULL};
    static const char *const basic_keys[] = {"username", "password", NULL};
    static const char *const tls_keys[] = {"caFile", "caSecretKeyRef", "insecureSkipVerify",
                                           NULL};
    char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
    const cJSON *auth = field(obj, "auth"), *tls = field(obj, "tls");
    join(p, path, "auth");
    if (auth && check_object(d, p, auth, auth_keys)) {
        const cJSON *bt = field(auth, "bearerToken"), *basic = field(auth, "basic");
        if (bt && basic) {
            fail(d, p, "exactly one of bearerToken or basic may be set, got both");
        } else if (!bt && !basic) {
            fail(d, p, "one of bearerToken or basic is required");
        } else if (bt) {
            join(q, p, "bearerToken");
            decode_secret_ref(d, q, bt, &out->bearer_token);
        } else {
            join(q, p, "basic");
            if (check_object(d, q, basic, basic_keys)) {
                if (!get_string(d, q, basic, "username", 0, &out->basic_username))
                    require_sub(d, q, "username", "");
                const cJSON *pw = field(basic, "password");
                join(p, q, "password");
                if (!pw)
                    require_sub(d, q, "password", "");
                else
                    decode_secret_ref(d, p, pw, &out->basic_password);
            }
        }
    }
    join(p, path, "tls");
    if (tls && check_object(d, p, tls, tls_keys)) {
        get_string(d, p, tls, "caFile", 0, &out->ca_file);
        const cJSON *ref = field(tls, "caSecretKeyRef");
        join(q, p, "caSecretKeyRef");
        if (ref)
            decode_secret_key_ref(d, q, ref, &out->ca_secret);
        if (ref && field(tls, "caFile"))
            fail(d, p, "exactly one of caFile or caSecretKeyRef may be set, got both");
        get_bool(d, p, tls, "insecureSkipVerify", &out->insecure_skip_verify);
    }
}

/* A metric source: exactly one of prometheus, http, file. */
static void decode_source(struct dec *d, const char *path, const cJSON *v,
                          struct spec_metric_source *out)
{
    static const char *const keys[] = {"prometheus", "http", "file", NULL};
    static const char *const prom_keys[] = {"url", "query", "auth", "tls", NULL};
    static const char *const http_keys[] = {"url", "jsonPointer", "auth", "tls", NULL};
    static const char *const file_keys[] = {"path", "jsonPointer", NULL};
    if (!check_object(d, path, v, keys))
        return;
    char given[64] = "";
    int n = 0;
    for (const char *const *k = keys; *k; k++)
        if (field(v, *k)) {
            n++;
            size_t len = strlen(given);
            snprintf(given + len, sizeof given - len, "%s%s", len ? ", " : "", *k);
        }
    if (n == 0) {
        fail(d, path, "one of prometheus, http or file is required");
        return;
    }
    if (n > 1) {
        fail(d, path, "exactly one of prometheus, http or file may be set, got %d (%s)", n, given);
        return;
    }
    char p[PATH_MAX_LEN];
    const cJSON *s;
    if ((s = field(v, "prometheus"))) {
        out->kind = METRIC_SOURCE_PROMETHEUS;
        join(p, path, "prometheus");
        if (!check_object(d, p, s, prom_keys))
            return;
        if (!get_string(d, p, s, "url", 0, &out->url))
            fail(d, strcat(p, ".url"), "is required");
        else
            check_url(d, p, "url", out->url);
        join(p, path, "prometheus");
        if (!get_string(d, p, s, "query", 0, &out->query))
            fail(d, strcat(p, ".query"), "is required");
        join(p, path, "prometheus");
        decode_http_auth(d, p, s, &out->auth);
    } else if ((s = field(v, "http"))) {
        out->kind = METRIC_SOURCE_HTTP;
        join(p, path, "http");
        if (!check_object(d, p, s, http_keys))
            return;
        if (!get_string(d, p, s, "url", 0, &out->url))
            fail(d, strcat(p, ".url"), "is required");
        else
            check_url(d, p, "url", out->url);
        join(p, path, "http");
        get_string(d, p, s, "jsonPointer", 1, &out->json_pointer);
        check_pointer(d, p, out->json_pointer);
        decode_http_auth(d, p, s, &out->auth);
    } else {
        s = field(v, "file");
        out->kind = METRIC_SOURCE_FILE;
        join(p, path, "file");
        if (!check_object(d, p, s, file_keys))
            return;
        if (!get_string(d, p, s, "path", 0, &out->path))
            fail(d, strcat(p, ".path"), "is required");
        join(p, path, "file");
        get_string(d, p, s, "jsonPointer", 1, &out->json_pointer);
        check_pointer(d, p, out->json_pointer);
    }
}

static void require_sub(struct dec *d, const char *path, const char *key, const char *why)
{
    char p[PATH_MAX_LEN];
    join(p, path, key);
    fail(d, p, "is required%s", why);
}

/* ---- sections ------------------------------------------------------------- */

/* healthCheck.startupTimeout: 0 (no startup allowance beyond the grace
 * period) or at least one probe interval (a shorter window would end before
 * the first probe could see the service). */
static void check_startup_timeout(struct dec *d, const cJSON *hc, struct spec_service *s)
{
    size_t errs_before = d->errs->count;
    get_duration(d, "spec.service.healthCheck", hc, "startupTimeout", 0,
                 &s->health_check.startup_timeout_ms);
    int64_t st = s->health_check.startup_timeout_ms;
    if (!field(hc, "startupTimeout") || d->errs->count != errs_before || st == 0 ||
        st >= s->health_check.interval_ms)
        return;
    char a[32], b[32];
    fail(d, "spec.service.healthCheck.startupTimeout",
         "must be 0 (no startup allowance) or at least interval (%s), got %s",
         spec_format_duration(s->health_check.interval_ms, a, sizeof a),
         spec_format_duration(st, b, sizeof b));
}

static void decode_service(struct dec *d, const cJSON *v, struct spec_service *s)
{
    static const char *const keys[] = {"enabled", "dryRun", "healthCheck", "recovery", NULL};
    static const char *const hc_keys[] = {"url",           "interval", "timeout", "failureThreshold",
                                          "startupTimeout", "auth",    "tls",     NULL};
    static const char *const rec_keys[] = {"method",     "maxAttempts", "backoff", "resetAfter",
                                           "timeout",    "deployment",  "process", "command", NULL};
    static const char *const proc_keys[] = {"command", "workingDir", "env", NULL};
    const char *path = "spec.service";
    s->present = true;
    if (!check_object(d, path, v, keys))
        return;
    get_bool(d, path, v, "enabled", &s->enabled);
    get_bool(d, path, v, "dryRun", &s->dry_run);

    const cJSON *hc = field(v, "healthCheck");
    const char *hp = "spec.service.healthCheck";
    if (!hc) {
        require_sub(d, path, "healthCheck", " (the service section probes healthCheck.url)");
    } else if (check_object(d, hp, hc, hc_keys)) {
        if (!get_string(d, hp, hc, "url", 0, &s->health_check.url))
            require_sub(d, hp, "url", "");
        else
            check_url(d, hp, "url", s->health_check.url);
        decode_http_auth(d, hp, hc, &s->health_check.auth);
        get_duration(d, hp, hc, "interval", 1, &s->health_check.interval_ms);
        get_duration(d, hp, hc, "timeout", 1, &s->health_check.timeout_ms);
        get_int(d, hp, hc, "failureThreshold", 1, 1000, &s->health_check.failure_threshold);
        if (s->health_check.timeout_ms > s->health_check.interval_ms) {
            char a[32], b[32];
            fail(d, "spec.service.healthCheck.timeout", "must not exceed interval (%s), got %s",
                 spec_format_duration(s->health_check.interval_ms, a, sizeof a),
                 spec_format_duration(s->health_check.timeout_ms, b, sizeof b));
        }
        check_startup_timeout(d, hc, s);
    }

    const cJSON *rec = field(v, "recovery");
    const char *rp = "spec.service.recovery";
    if (!rec || !check_object(d, rp, rec, rec_keys))
        return;
    int method = (int)s->recovery.method;
    size_t errs_before = d->errs->count;
    get_enum(d, rp, rec, "method", RECOVERY_METHODS, &method);
    int method_ok = d->errs->count == errs_before;
    s->recovery.method = (enum recovery_method)method;
    get_int(d, rp, rec, "maxAttempts", 0, 1000, &s->recovery.max_attempts);
    get_duration(d, rp, rec, "backoff", 1, &s->recovery.backoff_ms);
    get_duration(d, rp, rec, "resetAfter", 1, &s->recovery.reset_after_ms);
    get_duration(d, rp, rec, "timeout", 1, &s->recovery.timeout_ms);
    get_string(d, rp, rec, "deployment", 0, &s->recovery.deployment);
    get_argv(d, rp, rec, "command", &s->recovery.command);
    const cJSON *proc = field(rec, "process");
    const char *pp = "spec.service.recovery.process";
    if (proc && check_object(d, pp, proc, proc_keys)) {
        get_argv(d, pp, proc, "command", &s->recovery.process.command);
        get_string(d, pp, proc, "workingDir", 0, &s->recovery.process.working_dir);
        get_env(d, pp, proc, "env", &s->recovery.process.env);
    }
    /* the chosen method's target must be there */
    if (!method_ok)
        return;
    const char *mname = RECOVERY_METHODS[s->recovery.method];
    char why[64];
    snprintf(why, sizeof why, " when method is %s", mname);
    switch (s->recovery.method) {
    case RECOVERY_RESTART:
    case RECOVERY_DELETE_PODS:
        if (!field(rec, "deployment"))
            require_sub(d, rp, "deployment", why);
        break;
    case RECOVERY_PROCESS:
        if (!proc)
            require_sub(d, rp, "process.command", why);
        else if (cJSON_IsObject(proc) && !field(proc, "command"))
            require_sub(d, pp, "command", why);
        break;
    case RECOVERY_COMMAND:
        if (!field(rec, "command"))
            require_sub(d, rp, "command", why);
        break;
    }
}

static void decode_version_from(struct dec *d, const cJSON *v, struct spec_model *m)
{
    static const char *const keys[] = {"annotation", "env", NULL};
    static const char *const env_keys[] = {"container", "name", NULL};
    const char *path = "spec.model.rollback.versionFrom";
    if (!check_object(d, path, v, keys))
        return;
    const cJSON *a = field(v, "annotation"), *e = field(v, "env");
    if (a && e) {
        fail(d, path, "exactly one of annotation or env may be set, got both");
        return;
    }
    if (!a && !e) {
        fail(d, path, "one of annotation or env is required");
        return;
    }
    if (a) {
        m->rollback.version_from.kind = VERSION_FROM_ANNOTATION;
        get_string(d, path, v, "annotation", 0, &m->rollback.version_from.annotation);
        return;
    }
    const char *ep = "spec.model.rollback.versionFrom.env";
    if (!check_object(d, ep, e, env_keys))
        return;
    m->rollback.version_from.kind = VERSION_FROM_ENV;
    if (!get_string(d, ep, e, "name", 0, &m->rollback.version_from.env_name))
        require_sub(d, ep, "name", "");
    get_string(d, ep, e, "container", 0, &m->rollback.version_from.env_container);
}

/* A metric name: letters, digits, '_', '-', '.', at most 63 characters. */
static int valid_metric_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= SPEC_METRIC_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return 0;
    return 1;
}

/* spec.model.metrics: one to SPEC_MODEL_METRICS_MAX metrics with bounds. */
static void decode_metrics(struct dec *d, const cJSON *list, struct spec_model *m)
{
    static const char *const keys[] = {"name", "source", "interval", "min", "max",
                                       "failureLimit", "inconclusiveLimit", NULL};
    const char *path = "spec.model.metrics";
    if (!cJSON_IsArray(list)) {
        fail_type(d, path, "a list of metrics", list);
        return;
    }
    int n = cJSON_GetArraySize(list);
    if (n < 1 || n > SPEC_MODEL_METRICS_MAX) {
        fail(d, path, "must list 1 to %d metrics, got %d", SPEC_MODEL_METRICS_MAX, n);
        return;
    }
    m->metrics = calloc((size_t)n, sizeof *m->metrics);
    if (!m->metrics) {
        d->oom = 1;
        return;
    }
    m->nmetrics = (size_t)n;
    for (int i = 0; i < n; i++) {
        const cJSON *it = cJSON_GetArrayItem(list, i);
        struct spec_model_metric *mm = &m->metrics[i];
        mm->interval_ms = 60000;
        mm->failure_limit = 1;
        mm->inconclusive_limit = 1;
        char p[PATH_MAX_LEN], sp[PATH_MAX_LEN];
        snprintf(p, sizeof p, "%s[%d]", path, i);
        if (!check_object(d, p, it, keys))
            continue;
        if (!get_string(d, p, it, "name", 0, &mm->name)) {
            require_sub(d, p, "name", " (shown in status, events and messages)");
        } else if (mm->name && !valid_metric_name(mm->name)) {
            join(sp, p, "name");
            fail(d, sp, "must be 1-63 letters, digits, '_', '-' or '.', got \"%s\"", mm->name);
        } else if (mm->name) {
            for (int j = 0; j < i; j++)
                if (m->metrics[j].name && strcmp(m->metrics[j].name, mm->name) == 0) {
                    join(sp, p, "name");
                    fail(d, sp, "must be unique, \"%s\" is also spec.model.metrics[%d]",
                         mm->name, j);
                    break;
                }
        }
        get_duration(d, p, it, "interval", 1, &mm->interval_ms);
        int given = 0;
        get_number(d, p, it, "min", &mm->min, &given);
        mm->has_min = given;
        given = 0;
        get_number(d, p, it, "max", &mm->max, &given);
        mm->has_max = given;
        if (!field(it, "min") && !field(it, "max"))
            fail(d, p, "at least one of min or max is required (the metric's bounds)");
        else if (mm->has_min && mm->has_max && mm->min > mm->max) {
            join(sp, p, "max");
            fail(d, sp, "must be at least min");
        }
        get_int(d, p, it, "failureLimit", 1, 1000, &mm->failure_limit);
        get_int(d, p, it, "inconclusiveLimit", 1, 1000, &mm->inconclusive_limit);
        const cJSON *src = field(it, "source");
        join(sp, p, "source");
        if (!src)
            require_sub(d, p, "source", " (one of prometheus, http or file)");
        else
            decode_source(d, sp, src, &mm->source);
    }
}

size_t spec_model_metric_list(const struct spec_model *m, struct spec_model_metric *out)
{
    if (m->nmetrics > 0) {
        size_t n = m->nmetrics < SPEC_MODEL_METRICS_MAX ? m->nmetrics : SPEC_MODEL_METRICS_MAX;
        memcpy(out, m->metrics, n * sizeof *out);
        return n;
    }
    out[0] = (struct spec_model_metric){
        .name = m->metric.name && *m->metric.name ? m->metric.name : (char *)"accuracy",
        .source = m->metric.source,
        .interval_ms = m->metric.interval_ms > 0 ? m->metric.interval_ms : 60000,
        .has_min = true,
        .min = m->min_accuracy,
        .failure_limit = m->failure_limit > 0 ? m->failure_limit : 1,
        .inconclusive_limit = 1,
    };
    return 1;
}

static void decode_model(struct dec *d, const cJSON *v, struct spec_model *m)
{
    static const char *const keys[] = {"enabled",      "dryRun",   "metric", "metrics",
                                       "minAccuracy",  "failureLimit", "rollback", NULL};
    static const char *const metric_keys[] = {"name", "source", "interval", NULL};
    static const char *const rb_keys[] = {"registry", "deployment", "versionFrom", "maxRollbacks",
                                          "window",   "reload",     NULL};
    static const char *const reg_keys[] = {"path", NULL};
    const char *path = "spec.model";
    m->present = true;
    if (!check_object(d, path, v, keys))
        return;
    get_bool(d, path, v, "enabled", &m->enabled);
    get_bool(d, path, v, "dryRun", &m->dry_run);
    get_fraction(d, path, v, "minAccuracy", &m->min_accuracy);
    get_int(d, path, v, "failureLimit", 1, 1000, &m->failure_limit);

    const cJSON *metric = field(v, "metric");
    const cJSON *metrics = field(v, "metrics");
    const char *mp = "spec.model.metric";
    if (metrics) {
        /* the list form; the shorthand's fields may only hold their defaults
         * (what the API server fills in) */
        if (metric)
            fail(d, "spec.model.metrics",
                 "use either metrics or the shorthand metric + minAccuracy, not both");
        if (m->min_accuracy != 0.70)
            fail(d, "spec.model.minAccuracy",
                 "belongs to the shorthand metric; with metrics give each metric its min");
        if (m->failure_limit != 1)
            fail(d, "spec.model.failureLimit",
                 "belongs to the shorthand metric; with metrics give each metric its failureLimit");
        decode_metrics(d, metrics, m);
    } else if (!metric) {
        require_sub(d, path, "metric", " (where the live model metric is read; or metrics, a list)");
    } else if (check_object(d, mp, metric, metric_keys)) {
        get_string(d, mp, metric, "name", 0, &m->metric.name);
        get_duration(d, mp, metric, "interval", 1, &m->metric.interval_ms);
        const cJSON *src = field(metric, "source");
        if (!src)
            require_sub(d, mp, "source", " (one of prometheus, http or file)");
        else
            decode_source(d, "spec.model.metric.source", src, &m->metric.source);
    }

    const cJSON *rb = field(v, "rollback");
    const char *rp = "spec.model.rollback";
    if (!rb || !check_object(d, rp, rb, rb_keys))
        return;
    const cJSON *reg = field(rb, "registry");
    if (reg && check_object(d, "spec.model.rollback.registry", reg, reg_keys))
        get_string(d, "spec.model.rollback.registry", reg, "path", 0, &m->rollback.registry_path);
    get_string(d, rp, rb, "deployment", 0, &m->rollback.deployment);
    const cJSON *vf = field(rb, "versionFrom");
    if (vf)
        decode_version_from(d, vf, m);
    get_int(d, rp, rb, "maxRollbacks", 0, 1000, &m->rollback.max_rollbacks);
    get_duration(d, rp, rb, "window", 1, &m->rollback.window_ms);
    int reload = (int)m->rollback.reload;
    get_enum(d, rp, rb, "reload", RELOAD_METHODS, &reload);
    m->rollback.reload = (enum reload_method)reload;
}

static void decode_path_object(struct dec *d, const char *parent, const cJSON *obj, const char *key,
                               char **out)
{
    static const char *const keys[] = {"path", NULL};
    const cJSON *v = field(obj, key);
    if (!v)
        return;
    char p[PATH_MAX_LEN];
    join(p, parent, key);
    if (!check_object(d, p, v, keys))
        return;
    if (!get_string(d, p, v, "path", 0, out))
        require_sub(d, p, "path", "");
}

static void decode_drift(struct dec *d, const cJSON *v, struct spec_drift *s)
{
    static const char *const keys[] = {"enabled",   "dryRun",     "reference", "current",
                                       "score",     "method",     "featureThreshold",
                                       "threshold", "minSamples", "interval",  "cooldown",
                                       "retrain",   NULL};
    static const char *const score_keys[] = {"source", NULL};
    static const char *const rt_keys[] = {"command", "jobTemplate", "timeout", NULL};
    const char *path = "spec.drift";
    s->present = true;
    if (!check_object(d, path, v, keys))
        return;
    get_bool(d, path, v, "enabled", &s->enabled);
    get_bool(d, path, v, "dryRun", &s->dry_run);
    decode_path_object(d, path, v, "reference", &s->reference_path);
    decode_path_object(d, path, v, "current", &s->current_path);
    const cJSON *score = field(v, "score");
    if (score && check_object(d, "spec.drift.score", score, score_keys)) {
        const cJSON *src = field(score, "source");
        if (!src)
            require_sub(d, "spec.drift.score", "source", "");
        else
            decode_source(d, "spec.drift.score.source", src, &s->score_source);
    }
    const cJSON *ref = field(v, "reference"), *cur = field(v, "current");
    if (score && (ref || cur))
        fail(d, path, "reference/current and score are mutually exclusive: compute drift from data "
                      "or read an external score, not both");
    else if (!score && !ref && !cur)
        fail(d, path, "reference and current (CSV paths) or score.source is required");
    else if (!score && !ref)
        require_sub(d, path, "reference", " (the training-time CSV)");
    else if (!score && !cur)
        require_sub(d, path, "current", " (the live CSV)");

    int method = (int)s->method;
    get_enum(d, path, v, "method", DRIFT_METHODS, &method);
    s->method = (enum drift_method)method;
    s->feature_threshold = drift_default_feature_threshold(s->method);
    int given = 0;
    get_number(d, path, v, "featureThreshold", &s->feature_threshold, &given);
    if (given && !(s->feature_threshold > 0))
        fail(d, "spec.drift.featureThreshold", "must be greater than 0, got %.15g",
             s->feature_threshold);
    get_fraction(d, path, v, "threshold", &s->threshold);
    get_int(d, path, v, "minSamples", 1, 1000000000, &s->min_samples);
    get_duration(d, path, v, "interval", 1, &s->interval_ms);
    get_duration(d, path, v, "cooldown", 0, &s->cooldown_ms);

    const cJSON *rt = field(v, "retrain");
    const char *rp = "spec.drift.retrain";
    if (!rt || !check_object(d, rp, rt, rt_keys))
        return;
    get_argv(d, rp, rt, "command", &s->retrain.command);
    get_duration(d, rp, rt, "timeout", 1, &s->retrain.timeout_ms);
    const cJSON *jt = field(rt, "jobTemplate");
    if (jt) {
        if (!cJSON_IsObject(jt)) {
            fail_type(d, "spec.drift.retrain.jobTemplate", "an object (a batch/v1 JobTemplateSpec)", jt);
        } else if (!field(jt, "spec")) {
            fail(d, "spec.drift.retrain.jobTemplate.spec", "is required (a batch/v1 JobSpec)");
        } else if (!(s->retrain.job_template = cJSON_Duplicate(jt, 1))) {
            d->oom = 1;
        }
    }
}

static void decode_data_quality(struct dec *d, const cJSON *v, struct spec_data_quality *s)
{
    static const char *const keys[] = {"enabled",  "dryRun",       "path",
                                       "interval", "missingValues", "missingTokens",
                                       "outliers", "backup",        "maxFixedFraction",
                                       NULL};
    static const char *const out_keys[] = {"method", "multiplier", "action", NULL};
    static const char *const outlier_methods[] = {"iqr", NULL};
    static const char *const backup_keys[] = {"keep", NULL};
    const char *path = "spec.dataQuality";
    s->present = true;
    if (!check_object(d, path, v, keys))
        return;
    get_bool(d, path, v, "enabled", &s->enabled);
    get_bool(d, path, v, "dryRun", &s->dry_run);
    if (!get_string(d, path, v, "path", 0, &s->path))
        require_sub(d, path, "path", " (the CSV file to check)");
    get_duration(d, path, v, "interval", 1, &s->interval_ms);
    int mv = (int)s->missing_values;
    get_enum(d, path, v, "missingValues", MISSING_STRATEGIES, &mv);
    s->missing_values = (enum missing_strategy)mv;

    const cJSON *mt = field(v, "missingTokens");
    if (mt) {
        if (!cJSON_IsArray(mt)) {
            fail_type(d, "spec.dataQuality.missingTokens", "a list of strings", mt);
        } else {
            int n = cJSON_GetArraySize(mt), i = 0, bad = 0;
            for (const cJSON *c = mt->child; c; c = c->next, i++)
                if (!cJSON_IsString(c)) {
                    char ip[64];
                    snprintf(ip, sizeof ip, "spec.dataQuality.missingTokens[%d]", i);
                    fail_type(d, ip, "a string (quote it: \"NA\")", c);
                    bad = 1;
                }
            if (!bad) {
                s->missing_tokens = calloc((size_t)n + 1, sizeof(char *));
                if (!s->missing_tokens) {
                    d->oom = 1;
                } else {
                    i = 0;
                    for (const cJSON *c = mt->child; c; c = c->next, i++)
                        if (!(s->missing_tokens[i] = strdup(c->valuestring)))
                            d->oom = 1;
                    s->missing_token_count = (size_t)n;
                }
            }
        }
    }

    const cJSON *o = field(v, "outliers");
    const char *op = "spec.dataQuality.outliers";
    if (o && check_object(d, op, o, out_keys)) {
        int m = 0;
        get_enum(d, op, o, "method", outlier_methods, &m);
        int given = 0;
        get_number(d, op, o, "multiplier", &s->outliers.multiplier, &given);
        if (given && !(s->outliers.multiplier > 0))
            fail(d, "spec.dataQuality.outliers.multiplier", "must be greater than 0, got %.15g",
                 s->outliers.multiplier);
        int a = (int)s->outliers.action;
        get_enum(d, op, o, "action", OUTLIER_ACTIONS, &a);
        s->outliers.action = (enum outlier_action)a;
    }
    const cJSON *b = field(v, "backup");
    if (b && check_object(d, "spec.dataQuality.backup", b, backup_keys))
        get_int(d, "spec.dataQuality.backup", b, "keep", 0, 10000, &s->backup_keep);
    get_fraction(d, path, v, "maxFixedFraction", &s->max_fixed_fraction);
}

static const char *const NOTIFY_FORMATS[] = {"json", "slack", NULL};

/* An event reason or a phase: CamelCase letters. */
static int valid_reason(const char *s)
{
    if (!isupper((unsigned char)*s) || strlen(s) > 63)
        return 0;
    for (; *s; s++)
        if (!isalpha((unsigned char)*s))
            return 0;
    return 1;
}

static void decode_url_from(struct dec *d, const char *path, const cJSON *v, struct spec_notify *n)
{
    static const char *const keys[] = {"env", "file", "secretKeyRef", NULL};
    static const char *const ref_keys[] = {"name", "key", NULL};
    if (!check_object(d, path, v, keys))
        return;
    int count = !!field(v, "env") + !!field(v, "file") + !!field(v, "secretKeyRef");
    if (count == 0) {
        fail(d, path, "one of env, file or secretKeyRef is required");
        return;
    }
    if (count > 1) {
        fail(d, path, "exactly one of env, file or secretKeyRef may be set, got %d", count);
        return;
    }
    char p[PATH_MAX_LEN];
    if (get_string(d, path, v, "env", 0, &n->env)) {
        n->url_from = NOTIFY_URL_ENV;
        if (n->env && !valid_env_name(n->env)) {
            join(p, path, "env");
            fail(d, p, "must be an environment variable name (letters, digits, _), got \"%s\"",
                 n->env);
        }
    } else if (get_string(d, path, v, "file", 0, &n->file)) {
        n->url_from = NOTIFY_URL_FILE;
    } else {
        const cJSON *ref = field(v, "secretKeyRef");
        join(p, path, "secretKeyRef");
        n->url_from = NOTIFY_URL_SECRET;
        if (!check_object(d, p, ref, ref_keys))
            return;
        if (!get_string(d, p, ref, "name", 0, &n->secret_name))
            require_sub(d, p, "name", " (the Secret, in the pipeline's namespace)");
        if (!get_string(d, p, ref, "key", 0, &n->secret_key))
            require_sub(d, p, "key", " (the Secret's key holding the URL)");
    }
}

/* spec.notify: a list of webhooks. */
static void decode_notify(struct dec *d, const cJSON *list, struct spec *s)
{
    static const char *const keys[] = {"webhook", "format", "on", "window", NULL};
    static const char *const wh_keys[] = {"urlFrom", NULL};
    const char *path = "spec.notify";
    if (!cJSON_IsArray(list)) {
        fail_type(d, path, "a list of notification targets", list);
        return;
    }
    int n = cJSON_GetArraySize(list);
    if (n > SPEC_NOTIFY_MAX) {
        fail(d, path, "must list at most %d targets, got %d", SPEC_NOTIFY_MAX, n);
        return;
    }
    if (n == 0)
        return;
    if (!(s->notify = calloc((size_t)n, sizeof *s->notify))) {
        d->oom = 1;
        return;
    }
    s->nnotify = (size_t)n;
    for (int i = 0; i < n; i++) {
        struct spec_notify *t = &s->notify[i];
        t->window_ms = 3600000;
        const cJSON *it = cJSON_GetArrayItem(list, i);
        char p[PATH_MAX_LEN], sp[PATH_MAX_LEN];
        snprintf(p, sizeof p, "%s[%d]", path, i);
        if (!check_object(d, p, it, keys))
            continue;
        const cJSON *wh = field(it, "webhook");
        join(sp, p, "webhook");
        if (!wh) {
            require_sub(d, p, "webhook", " (where to send: {urlFrom: {env|file|secretKeyRef}})");
        } else if (check_object(d, sp, wh, wh_keys)) {
            const cJSON *uf = field(wh, "urlFrom");
            char up[PATH_MAX_LEN];
            join(up, sp, "urlFrom");
            if (!uf)
                require_sub(d, sp, "urlFrom", " (the URL is a secret: env, file or secretKeyRef)");
            else
                decode_url_from(d, up, uf, t);
        }
        int format = (int)t->format;
        get_enum(d, p, it, "format", NOTIFY_FORMATS, &format);
        t->format = (enum notify_format)format;
        get_duration(d, p, it, "window", 0, &t->window_ms);
        const cJSON *on = field(it, "on");
        join(sp, p, "on");
        if (on && !cJSON_IsArray(on)) {
            fail_type(d, sp, "a list of phases or event reasons", on);
        } else if (on) {
            int k = cJSON_GetArraySize(on);
            if (k < 1 || k > SPEC_NOTIFY_ON_MAX) {
                fail(d, sp, "must list 1 to %d phases or event reasons, got %d", SPEC_NOTIFY_ON_MAX, k);
                continue;
            }
            if (!(t->on = calloc((size_t)k, sizeof *t->on))) {
                d->oom = 1;
                return;
            }
            for (int j = 0; j < k; j++) {
                const cJSON *r = cJSON_GetArrayItem(on, j);
                char rp[PATH_MAX_LEN];
                snprintf(rp, sizeof rp, "%s[%d]", sp, j);
                if (!cJSON_IsString(r) || !valid_reason(r->valuestring)) {
                    if (cJSON_IsString(r))
                        fail(d, rp, "must be a phase or an event reason in CamelCase (like NeedsAttention, RolledBack), got \"%s\"",
                             r->valuestring);
                    else
                        fail_type(d, rp, "a string", r);
                    continue;
                }
                if (!(t->on[t->non++] = strdup(r->valuestring))) {
                    d->oom = 1;
                    return;
                }
            }
        }
    }
}

static void decode_spec(struct dec *d, const cJSON *v, struct spec *s)
{
    static const char *const keys[] = {"paused", "service",     "model",      "drift",
                                       "dataQuality", "escalation", "notify", NULL};
    static const char *const esc_keys[] = {"maxSameIssue", "window", NULL};
    if (!check_object(d, "spec", v, keys))
        return;
    get_bool(d, "spec", v, "paused", &s->paused);
    const cJSON *sec;
    if ((sec = field(v, "service")))
        decode_service(d, sec, &s->service);
    if ((sec = field(v, "model")))
        decode_model(d, sec, &s->model);
    if ((sec = field(v, "drift")))
        decode_drift(d, sec, &s->drift);
    if ((sec = field(v, "dataQuality")))
        decode_data_quality(d, sec, &s->data_quality);
    if ((sec = field(v, "notify")))
        decode_notify(d, sec, s);
    if ((sec = field(v, "escalation")) && check_object(d, "spec.escalation", sec, esc_keys)) {
        get_int(d, "spec.escalation", sec, "maxSameIssue", 1, 1000, &s->escalation.max_same_issue);
        get_duration(d, "spec.escalation", sec, "window", 1, &s->escalation.window_ms);
    }
}

/* RFC 1123 subdomain, as Kubernetes requires for object names. */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return 0;
    if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return 0;
    for (const char *c = s; *c; c++)
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-' || *c == '.'))
            return 0;
    return 1;
}

static void check_string_map(struct dec *d, const char *path, const cJSON *v)
{
    if (!cJSON_IsObject(v)) {
        fail_type(d, path, "an object of strings", v);
        return;
    }
    for (const cJSON *c = v->child; c; c = c->next)
        if (!cJSON_IsString(c)) {
            char p[PATH_MAX_LEN];
            join(p, path, c->string);
            fail_type(d, p, "a string (quote it)", c);
        }
}

static void decode_metadata(struct dec *d, const cJSON *md)
{
    if (!md) {
        fail(d, "metadata.name", "is required");
        return;
    }
    if (!cJSON_IsObject(md)) {
        fail_type(d, "metadata", "an object", md);
        return;
    }
    /* metadata carries many server-set fields; only the ones we read are checked */
    const cJSON *name = field(md, "name");
    if (!name)
        fail(d, "metadata.name", "is required");
    else if (!cJSON_IsString(name))
        fail_type(d, "metadata.name", "a string", name);
    else if (!valid_name(name->valuestring))
        fail(d, "metadata.name",
             "must be a lowercase RFC 1123 name (a-z, 0-9, '-' and '.', starting and ending with a "
             "letter or digit), got \"%s\"",
             name->valuestring);
    const cJSON *ns = field(md, "namespace");
    if (ns && (!cJSON_IsString(ns) || !valid_name(ns->valuestring) || strchr(ns->valuestring, '.')))
        fail_type(d, "metadata.namespace", "a lowercase RFC 1123 label", ns);
    const cJSON *m;
    if ((m = field(md, "labels")))
        check_string_map(d, "metadata.labels", m);
    if ((m = field(md, "annotations")))
        check_string_map(d, "metadata.annotations", m);
}

int spec_decode_object(const cJSON *obj, struct spec *out, struct spec_errors *errs)
{
    static const char *const keys[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
    struct dec d = {.errs = errs};
    spec_init_defaults(out);
    size_t before = errs->count;
    if (!cJSON_IsObject(obj)) {
        fail_type(&d, "", "an object with apiVersion, kind, metadata and spec", obj);
    } else {
        check_object(&d, "", obj, keys);
        const cJSON *av = field(obj, "apiVersion"), *kind = field(obj, "kind");
        if (!av)
            fail(&d, "apiVersion", "is required (%s)", SPEC_API_VERSION);
        else if (!cJSON_IsString(av) || strcmp(av->valuestring, SPEC_API_VERSION) != 0) {
            char got[80];
            describe(av, got, sizeof got);
            fail(&d, "apiVersion", "must be %s, got %s", SPEC_API_VERSION, got);
        }
        if (!kind)
            fail(&d, "kind", "is required (%s)", SPEC_KIND);
        else if (!cJSON_IsString(kind) || strcmp(kind->valuestring, SPEC_KIND) != 0) {
            char got[80];
            describe(kind, got, sizeof got);
            fail(&d, "kind", "must be %s, got %s", SPEC_KIND, got);
        }
        decode_metadata(&d, field(obj, "metadata"));
        const cJSON *spec = field(obj, "spec");
        if (spec && !cJSON_IsNull(spec))
            decode_spec(&d, spec, out);
    }
    if (fill_string_defaults(out) != 0)
        d.oom = 1;
    if (d.oom)
        return SH_ENOMEM;
    return errs->count > before ? SH_EINVAL : 0;
}
