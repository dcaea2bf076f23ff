/*
 * housing-api.c — the demo's ML service: a small HTTP/1.1 server
 * (lib/httpd.h: one thread, poll, a deadline per connection) that serves
 * the model at <models>/current (lib/model.h) with health, prediction and
 * Prometheus metrics, reloads it on SIGHUP, and has fault knobs for the
 * demo. See usage() for the endpoints and signals.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/fsutil.h"
#include "lib/httpd.h"
#include "lib/model.h"

static void usage(FILE *f)
{
    fputs("usage: housing-api [--port 8000] [--models models] [--host 127.0.0.1]\n"
          "                   [--timeout 5] [--watch SECONDS] [--fail-health]\n"
          "\n"
          "Serves the housing-price model at MODELS/current (a symlink to a version\n"
          "folder written by housing-train: model.json + metrics.json).\n"
          "\n"
          "  GET  /health          200 {\"status\":\"ok\",\"model_version\":V}; 503 with no model;\n"
          "                        500 while health is made to fail (see below)\n"
          "  POST /predict         a JSON object of features -> {\"prediction\":P,\"model_version\":V}\n"
          "                        (400 with a message on bad input)\n"
          "  GET  /metrics         Prometheus text: model_accuracy{version=V}, model_accuracy,\n"
          "                        model_version_info{version=V}, http_requests_total, ...\n"
          "  GET  /metrics.json    {\"model_accuracy\":A,\"model_rmse\":R,\"model_version\":V,\"requests\":N}\n"
          "  model_accuracy and model_rmse are the \"accuracy\" (R2) and \"rmse\" recorded in\n"
          "  the served version's metrics.json.\n"
          "\n"
          "Fault knobs for demos:\n"
          "  POST /admin/accuracy {\"accuracy\": 0.65}  report this accuracy instead, until the\n"
          "                        next reload ({\"accuracy\": null} or DELETE clears it)\n"
          "  POST /admin/rmse {\"rmse\": 90000}         the same for model_rmse\n"
          "  POST /admin/health {\"fail\": true}        make /health answer 500 (false: heal)\n"
          "  --fail-health         start with /health answering 500\n"
          "  SIGUSR1               toggle /health between 200 and 500\n"
          "\n"
          "  --port P              TCP port (default 8000)\n"
          "  --host H              address to listen on (default 127.0.0.1)\n"
          "  --models DIR          the model registry folder (default models)\n"
          "  --timeout SECONDS     a connection's time limit to send its request and\n"
          "                        read the answer (default 5)\n"
          "  --watch SECONDS       also reload when MODELS/current changes, checked this\n"
          "                        often (default 0: only on SIGHUP)\n"
          "  -h, --help            this text\n"
          "\n"
          "SIGHUP re-reads MODELS/current (an unreadable new model is logged and the old\n"
          "one kept serving); while no model is loaded it is retried every 2 seconds.\n"
          "SIGTERM or SIGINT: clean exit 0. Exit 1 when the port cannot be opened,\n"
          "2 on bad usage.\n",
          f);
}

struct opts {
    const char *host, *port, *models;
    int timeout_ms, watch_ms, fail_health;
};

/* The served model and the knobs. */
struct served {
    int loaded;
    struct hmodel m;
    char version[256];
    char target[PATH_MAX]; /* what current pointed at when loaded */
    int has_accuracy;
    double accuracy;
    int overridden;
    double override;
    int has_rmse; /* metrics.json's "rmse" (held-out RMSE), and its override */
    double rmse;
    int rmse_overridden;
    double rmse_override;
    char last_error[512];
};

struct counter {
    char route[24];
    int code;
    unsigned long long n;
};

static struct {
    struct opts o;
    struct served s;
    int fail_health;
    struct counter counters[64];
    size_t ncounters;
    unsigned long long requests, predictions, reloads_ok, reloads_failed;
    struct httpd http;
} g;

static volatile sig_atomic_t sig_stop, sig_reload, sig_toggle;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        sig_reload = 1;
    else if (sig == SIGUSR1)
        sig_toggle = 1;
    else
        sig_stop = 1;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s housing-api: ", when);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

/* Where current points now (the link text, or "current" for a real folder). Returns 0 or -1 with err. */
static int read_current(char *target, size_t size, char *err, size_t errsz)
{
    char link[PATH_MAX];
    snprintf(link, sizeof link, "%s/current", g.o.models);
    ssize_t n = readlink(link, target, size - 1);
    if (n >= 0) {
        target[n] = '\0';
        return 0;
    }
    struct stat st;
    if (errno == EINVAL && stat(link, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(target, size, "current");
        return 0;
    }
    snprintf(err, errsz, "%s: %s", link, errno == ENOENT ? "no such link (no model is current)" : strerror(errno));
    return -1;
}

/* Loads the model current points at into *s. Returns 0, or -1 with s->last_error (s untouched otherwise). */
static int load_model(struct served *s)
{
    char target[PATH_MAX], dir[PATH_MAX * 2], path[PATH_MAX * 2 + 32], err[512];
    if (read_current(target, sizeof target, err, sizeof err) < 0)
        goto fail;
    if (target[0] == '/')
        snprintf(dir, sizeof dir, "%s", target);
    else
        snprintf(dir, sizeof dir, "%s/%s", g.o.models, target);
    char *text = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/model.json", dir);
    if (fs_read_file(path, 4u << 20, &text, &len) < 0) {
        snprintf(err, sizeof err, "%s: %s", path, strerror(errno));
        goto fail;
    }
    struct hmodel m;
    char why[256];
    int rc = hmodel_parse(&m, text, why, sizeof why);
    free(text);
    if (rc < 0) {
        snprintf(err, sizeof err, "%s: %s", path, why);
        goto fail;
    }
    int has_acc = 0, has_rmse = 0;
    double acc = 0.0, rmse = 0.0;
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    if (fs_read_file(path, 1u << 20, &text, &len) == 0) {
        cJSON *mt = cJSON_Parse(text);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(mt, "accuracy");
        if (cJSON_IsNumber(a) && isfinite(a->valuedouble)) {
            has_acc = 1;
            acc = a->valuedouble;
        } else {
            logf_("%s: no number under \"accuracy\"; model_accuracy is not reported", path);
        }
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(mt, "rmse");
        if (cJSON_IsNumber(e) && isfinite(e->valuedouble)) {
            has_rmse = 1;
            rmse = e->valuedouble;
        }
        cJSON_Delete(mt);
        free(text);
    } else {
        logf_("%s: %s; model_accuracy is not reported", path, strerror(errno));
    }
    hmodel_free(&s->m);
    s->m = m;
    s->loaded = 1;
    snprintf(s->target, sizeof s->target, "%s", target);
    /* the version is the folder's name */
    char *end = target + strlen(target);
    while (end > target + 1 && end[-1] == '/')
        *--end = '\0';
    char *base = strrchr(target, '/');
    snprintf(s->version, sizeof s->version, "%s", base ? base + 1 : target);
    s->has_accuracy = has_acc;
    s->accuracy = acc;
    s->overridden = 0;
    s->has_rmse = has_rmse;
    s->rmse = rmse;
    s->rmse_overridden = 0;
    s->last_error[0] = '\0';
    return 0;
fail:
    snprintf(s->last_error, sizeof s->last_error, "%s", err);
    return -1;
}

static void reload(const char *why)
{
    char old[256];
    snprintf(old, sizeof old, "%s", g.s.loaded ? g.s.version : "(none)");
    if (load_model(&g.s) == 0) {
        g.reloads_ok++;
        char acc[32] = "unknown";
        if (g.s.has_accuracy)
            snprintf(acc, sizeof acc, "%.4f", g.s.accuracy);
        logf_("%s: serving model %s from %s (accuracy %s)", why, g.s.version, g.o.models, acc);
    } else {
        g.reloads_failed++;
        logf_("%s: cannot load the new model: %s; %s%s", why, g.s.last_error,
              g.s.loaded ? "still serving " : "no model loaded", g.s.loaded ? old : "");
    }
}

static double reported_accuracy(int *ok)
{
    *ok = g.s.loaded && (g.s.overridden || g.s.has_accuracy);
    return g.s.overridden ? g.s.override : g.s.accuracy;
}

static double reported_rmse(int *ok)
{
    *ok = g.s.loaded && (g.s.rmse_overridden || g.s.has_rmse);
    return g.s.rmse_overridden ? g.s.rmse_override : g.s.rmse;
}

static void count(const char *route, int code)
{
    g.requests++;
    for (size_t i = 0; i < g.ncounters; i++)
        if (g.counters[i].code == code && strcmp(g.counters[i].route, route) == 0) {
            g.counters[i].n++;
            return;
        }
    if (g.ncounters < sizeof g.counters / sizeof g.counters[0]) {
        struct counter *c = &g.counters[g.ncounters++];
        snprintf(c->route, sizeof c->route, "%s", route);
        c->code = code;
        c->n = 1;
    }
}

/* ---- responses ---- */

/* Answers with a JSON object (consumed) and counts the request. */
static void respond_json(struct httpd_conn *c, const char *route, int code, cJSON *obj, int head_only, const char *extra)
{
    char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    httpd_respond(c, code, "application/json", s ? s : "{}", head_only, extra);
    free(s);
    count(route, code);
}

static void respond_error(struct httpd_conn *c, const char *route, int code, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    respond_json(c, route, code, o, 0, NULL);
}

static void http_error(struct httpd_conn *c, int code, const char *msg)
{
    respond_error(c, "other", code, msg);
}

static void add_version(cJSON *o)
{
    if (g.s.loaded)
        cJSON_AddStringToObject(o, "model_version", g.s.version);
    else
        cJSON_AddNullToObject(o, "model_version");
}

static void h_health(struct httpd_conn *c, int head)
{
    cJSON *o = cJSON_CreateObject();
    int code = 200;
    if (g.fail_health) {
        code = 500;
        cJSON_AddStringToObject(o, "status", "failing");
        cJSON_AddStringToObject(o, "reason", "health failure injected (SIGUSR1, --fail-health or /admin/health)");
    } else if (!g.s.loaded) {
        code = 503;
        cJSON_AddStringToObject(o, "status", "no model");
        cJSON_AddStringToObject(o, "reason", g.s.last_error);
    } else {
        cJSON_AddStringToObject(o, "status", "ok");
    }
    add_version(o);
    respond_json(c, "/health", code, o, head, NULL);
}

static void h_predict(struct httpd_conn *c, const char *body)
{
    if (!g.s.loaded) {
        respond_error(c, "/predict", 503, "no model loaded");
        return;
    }
    cJSON *in = cJSON_Parse(body);
    if (!in) {
        respond_error(c, "/predict", 400, "the body is not JSON; expected an object of features");
        return;
    }
    double y;
    char err[512];
    int rc = hmodel_predict_json(&g.s.m, in, &y, err, sizeof err);
    cJSON_Delete(in);
    if (rc < 0) {
        respond_error(c, "/predict", 400, err);
        return;
    }
    g.predictions++;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "prediction", round(y * 100.0) / 100.0);
    add_version(o);
    respond_json(c, "/predict", 200, o, 0, NULL);
}

static void h_metrics_json(struct httpd_conn *c, int head)
{
    cJSON *o = cJSON_CreateObject();
    int ok;
    double acc = reported_accuracy(&ok);
    if (ok)
        cJSON_AddNumberToObject(o, "model_accuracy", acc);
    else
        cJSON_AddNullToObject(o, "model_accuracy");
    double rmse = reported_rmse(&ok);
    if (ok)
        cJSON_AddNumberToObject(o, "model_rmse", rmse);
    else
        cJSON_AddNullToObject(o, "model_rmse");
    add_version(o);
    cJSON_AddNumberToObject(o, "requests", (double)(g.requests + 1));
    cJSON_AddNumberToObject(o, "predictions", (double)g.predictions);
    cJSON_AddBoolToObject(o, "accuracy_overridden", g.s.loaded && g.s.overridden);
    cJSON_AddBoolToObject(o, "rmse_overridden", g.s.loaded && g.s.rmse_overridden);
    cJSON_AddBoolToObject(o, "health_failing", g.fail_health);
    respond_json(c, "/metrics.json", 200, o, head, NULL);
}

/* A Prometheus label value with \, " and newlines escaped. */
static void label_escape(const char *in, char *out, size_t size)
{
    size_t j = 0;
    for (; *in && j + 3 < size; in++) {
        if (*in == '\\' || *in == '"' || *in == '\n') {
            out[j++] = '\\';
            out[j++] = *in == '\n' ? 'n' : *in;
        } else {
            out[j++] = *in;
        }
    }
    out[j] = '\0';
}

static void h_metrics(struct httpd_conn *c, int head)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        respond_error(c, "/metrics", 500, "out of memory");
        return;
    }
    count("/metrics", 200); /* counted first so this scrape includes itself */
    char ver[600];
    label_escape(g.s.version, ver, sizeof ver);
    int ok;
    double acc = reported_accuracy(&ok);
    fputs("# HELP model_accuracy Accuracy (held-out R2) of the served model, from its metrics.json "
          "(or as overridden through /admin/accuracy).\n# TYPE model_accuracy gauge\n", f);
    if (ok)
        fprintf(f, "model_accuracy{version=\"%s\"} %.10g\nmodel_accuracy %.10g\n", ver, acc, acc);
    fputs("# HELP model_version_info The served model version (value always 1).\n"
          "# TYPE model_version_info gauge\n", f);
    if (g.s.loaded)
        fprintf(f, "model_version_info{version=\"%s\"} 1\n", ver);
    fprintf(f, "# HELP model_loaded Whether a model is loaded (1) or not (0).\n# TYPE model_loaded gauge\n"
               "model_loaded %d\n", g.s.loaded);
    fprintf(f, "# HELP model_accuracy_overridden Whether model_accuracy is overridden through /admin/accuracy.\n"
               "# TYPE model_accuracy_overridden gauge\nmodel_accuracy_overridden %d\n",
            g.s.loaded && g.s.overridden);
    fprintf(f, "# HELP housing_api_health_failing Whether /health is made to fail (fault injection).\n"
               "# TYPE housing_api_health_failing gauge\nhousing_api_health_failing %d\n", g.fail_health);
    fprintf(f, "# HELP model_reloads_total Model reloads by result.\n# TYPE model_reloads_total counter\n"
               "model_reloads_total{result=\"success\"} %llu\nmodel_reloads_total{result=\"failure\"} %llu\n",
            g.reloads_ok, g.reloads_failed);
    fprintf(f, "# HELP predictions_total Predictions served.\n# TYPE predictions_total counter\n"
               "predictions_total %llu\n", g.predictions);
    fputs("# HELP http_requests_total HTTP requests by route and status code.\n"
          "# TYPE http_requests_total counter\n", f);
    for (size_t i = 0; i < g.ncounters; i++)
        fprintf(f, "http_requests_total{code=\"%d\",path=\"%s\"} %llu\n", g.counters[i].code, g.counters[i].route,
                g.counters[i].n);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        httpd_respond(c, 500, "text/plain", "out of memory\n", 0, NULL);
        return;
    }
    httpd_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", buf, head, NULL);
    free(buf);
}

static void h_admin_accuracy(struct httpd_conn *c, const char *method, const char *body)
{
    const char *route = "/admin/accuracy";
    if (!g.s.loaded) {
        respond_error(c, route, 503, "no model loaded");
        return;
    }
    if (strcmp(method, "DELETE") == 0) {
        g.s.overridden = 0;
    } else {
        cJSON *in = cJSON_Parse(body);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(in, "accuracy");
        if (cJSON_IsNull(a)) {
            g.s.overridden = 0;
        } else if (cJSON_IsNumber(a) && isfinite(a->valuedouble)) {
            g.s.overridden = 1;
            g.s.override = a->valuedouble;
        } else {
            cJSON_Delete(in);
            respond_error(c, route, 400, "expected {\"accuracy\": <number>} or {\"accuracy\": null}");
            return;
        }
        cJSON_Delete(in);
    }
    logf_("model_accuracy %s", g.s.overridden ? "overridden through /admin/accuracy" : "override cleared");
    int ok;
    double acc = reported_accuracy(&ok);
    cJSON *o = cJSON_CreateObject();
    if (ok)
        cJSON_AddNumberToObject(o, "model_accuracy", acc);
    else
        cJSON_AddNullToObject(o, "model_accuracy");
    add_version(o);
    cJSON_AddBoolToObject(o, "overridden", g.s.overridden);
    respond_json(c, route, 200, o, 0, NULL);
}

static void h_admin_rmse(struct httpd_conn *c, const char *method, const char *body)
{
    const char *route = "/admin/rmse";
    if (!g.s.loaded) {
        respond_error(c, route, 503, "no model loaded");
        return;
    }
    if (strcmp(method, "DELETE") == 0) {
        g.s.rmse_overridden = 0;
    } else {
        cJSON *in = cJSON_Parse(body);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(in, "rmse");
        if (cJSON_IsNull(a)) {
            g.s.rmse_overridden = 0;
        } else if (cJSON_IsNumber(a) && isfinite(a->valuedouble)) {
            g.s.rmse_overridden = 1;
            g.s.rmse_override = a->valuedouble;
        } else {
            cJSON_Delete(in);
            respond_error(c, route, 400, "expected {\"rmse\": <number>} or {\"rmse\": null}");
            return;
        }
        cJSON_Delete(in);
    }
    logf_("model_rmse %s", g.s.rmse_overridden ? "overridden through /admin/rmse" : "override cleared");
    int ok;
    double v = reported_rmse(&ok);
    cJSON *o = cJSON_CreateObject();
    if (ok)
        cJSON_AddNumberToObject(o, "model_rmse", v);
    else
        cJSON_AddNullToObject(o, "model_rmse");
    add_version(o);
    cJSON_AddBoolToObject(o, "overridden", g.s.rmse_overridden);
    respond_json(c, route, 200, o, 0, NULL);
}

static void h_admin_health(struct httpd_conn *c, const char *body)
{
    cJSON *in = cJSON_Parse(body);
    const cJSON *fl = cJSON_GetObjectItemCaseSensitive(in, "fail");
    if (!cJSON_IsBool(fl)) {
        cJSON_Delete(in);
        respond_error(c, "/admin/health", 400, "expected {\"fail\": true} or {\"fail\": false}");
        return;
    }
    g.fail_health = cJSON_IsTrue(fl);
    cJSON_Delete(in);
    logf_("/health %s through /admin/health", g.fail_health ? "made to fail" : "healed");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "health_failing", g.fail_health);
    respond_json(c, "/admin/health", 200, o, 0, NULL);
}

static void route(struct httpd_conn *c, const char *method, const char *path, const char *body)
{
    int get = strcmp(method, "GET") == 0, head = strcmp(method, "HEAD") == 0, post = strcmp(method, "POST") == 0;
    static const struct {
        const char *path, *allow;
    } routes[] = {{"/health", "GET, HEAD"},       {"/metrics", "GET, HEAD"},       {"/metrics.json", "GET, HEAD"},
                  {"/predict", "POST"},           {"/admin/accuracy", "POST, DELETE"}, {"/admin/health", "POST"},
                  {"/admin/rmse", "POST, DELETE"},
                  {"/", "GET, HEAD"}};
    if (strcmp(path, "/health") == 0 && (get || head))
        h_health(c, head);
    else if (strcmp(path, "/metrics") == 0 && (get || head))
        h_metrics(c, head);
    else if (strcmp(path, "/metrics.json") == 0 && (get || head))
        h_metrics_json(c, head);
    else if (strcmp(path, "/predict") == 0 && post)
        h_predict(c, body);
    else if (strcmp(path, "/admin/accuracy") == 0 && (post || strcmp(method, "DELETE") == 0))
        h_admin_accuracy(c, method, body);
    else if (strcmp(path, "/admin/rmse") == 0 && (post || strcmp(method, "DELETE") == 0))
        h_admin_rmse(c, method, body);
    else if (strcmp(path, "/admin/health") == 0 && post)
        h_admin_health(c, body);
    else if (strcmp(path, "/") == 0 && (get || head)) {
        httpd_respond(c, 200, "text/plain", "housing-api: GET /health, POST /predict, GET /metrics, GET /metrics.json\n",
                head, NULL);
        count("/", 200);
    } else {
        for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
            if (strcmp(path, routes[i].path) == 0) {
                char allow[64];
                snprintf(allow, sizeof allow, "Allow: %s\r\n", routes[i].allow);
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "error", "method not allowed");
                respond_json(c, "other", 405, o, head, allow);
                return;
            }
        respond_error(c, "other", 404, "no such endpoint");
    }
}

static int parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},    {"host", required_argument, NULL, 'H'},
        {"models", required_argument, NULL, 'm'},  {"timeout", required_argument, NULL, 't'},
        {"watch", required_argument, NULL, 'w'},   {"fail-health", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    g.o = (struct opts){.host = "127.0.0.1", .port = "8000", .models = "models", .timeout_ms = 5000};
    int c;
    char *end;
    double v;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            errno = 0;
            v = strtod(optarg, &end);
            if (end == optarg || *end || v < 0 || v > 65535 || v != (double)(long)v) {
                fprintf(stderr, "housing-api: --port: expected 0..65535, got '%s'\n", optarg);
                return -1;
            }
            g.o.port = optarg;
            break;
        case 'H':
            g.o.host = optarg;
            break;
        case 'm':
            g.o.models = optarg;
            break;
        case 't':
        case 'w':
            errno = 0;
            v = strtod(optarg, &end);
            if (end == optarg || *end || errno || !(v >= (c == 't' ? 0.01 : 0.0) && v <= 3600.0)) {
                fprintf(stderr, "housing-api: --%s: expected seconds, got '%s'\n", c == 't' ? "timeout" : "watch",
                        optarg);
                return -1;
            }
            *(c == 't' ? &g.o.timeout_ms : &g.o.watch_ms) = (int)(v * 1000.0);
            break;
        case 'f':
            g.o.fail_health = 1;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            fprintf(stderr, "housing-api: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "housing-api: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* the signals are blocked except inside ppoll: none is lost between a check and the wait */
    sigset_t block, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGHUP);
    sigdelset(&waitmask, SIGUSR1);
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGINT);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int prc = parse_args(argc, argv);
    if (prc != 0)
        return prc > 0 ? 0 : 2;
    g.fail_health = g.o.fail_health;
    char err[512];
    g.http.timeout_ms = g.o.timeout_ms;
    g.http.route = route;
    g.http.error = http_error;
    if (httpd_listen(&g.http, g.o.host, g.o.port, err, sizeof err) < 0) {
        logf_("%s", err);
        return 1;
    }
    logf_("listening on http://%s:%s (models %s, pid %ld)", g.o.host, g.o.port, g.o.models, (long)getpid());
    reload("start");

    int64_t next_retry = httpd_mono_ms() + 2000, next_watch = httpd_mono_ms() + g.o.watch_ms;
    int failed = 0;
    while (!sig_stop) {
        if (sig_reload) {
            sig_reload = 0;
            reload("SIGHUP");
        }
        if (sig_toggle) {
            sig_toggle = 0;
            g.fail_health = !g.fail_health;
            logf_("SIGUSR1: /health now %s", g.fail_health ? "fails (500)" : "healthy");
        }
        int64_t now = httpd_mono_ms();
        if (!g.s.loaded && now >= next_retry) {
            char old[512];
            snprintf(old, sizeof old, "%s", g.s.last_error);
            if (load_model(&g.s) == 0) {
                g.reloads_ok++;
                logf_("serving model %s from %s", g.s.version, g.o.models);
            } else if (strcmp(old, g.s.last_error) != 0) {
                logf_("no model yet: %s", g.s.last_error);
            }
            next_retry = now + 2000;
        }
        if (g.o.watch_ms > 0 && now >= next_watch) {
            char target[PATH_MAX];
            if (g.s.loaded && read_current(target, sizeof target, err, sizeof err) == 0 &&
                strcmp(target, g.s.target) != 0)
                reload("current changed");
            next_watch = now + g.o.watch_ms;
        }
        if (httpd_poll(&g.http, 1000, &waitmask) < 0) {
            logf_("poll: %s", strerror(errno));
            failed = 1;
            break;
        }
    }
    httpd_close_all(&g.http);
    hmodel_free(&g.s.m);
    logf_("stopped (%s)", failed ? "error" : "signal");
    return failed;
}
