/*
 * cmd_run.c — `selfheal run`: the controller. Wires the spec source, the
 * platform, the reconcilers, the manager and the HTTP server together, then
 * waits for a signal:
 *
 *   SIGTERM / SIGINT  finish in-flight reconciles, write status, exit 0
 *   SIGHUP            rescan the specs folder now
 *
 * Signals are blocked in every thread and taken synchronously with sigwait
 * here, so no handler runs in the middle of a worker.
 *
 * HTTP (read-only): /healthz, /readyz, /metrics, /api/v1/pipelines[/NS/NAME],
 * the event stream /api/v1/events (a websocket fed by an eventbus that taps
 * the platform's record_event) and the dashboard at / (controller/dashboard/).
 *
 * Paths named by specs are confined to the --allow-path roots: the guard is
 * installed as pipeline_new's extra spec check before any source starts.
 */
#include "cli/cmd_run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "runtime/controller_metrics.h"
#include "base/errors.h"
#include "base/isolate.h"
#include "server/httpserver.h"
#include "kube/authz.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/kube_run.h"
#include "local/folder_source.h"
#include "server/dashboard/dashboard.h"
#include "server/eventbus.h"
#include "server/notify.h"
#include "local/local_platform.h"
#include "base/log.h"
#include "runtime/manager.h"
#include "base/metrics.h"
#include "base/pathguard.h"
#include "base/urlguard.h"
#include "runtime/pipeline.h"
#include "cli/reconcilers_all.h"
#include "base/version.h"

/* How long SIGTERM waits for in-flight reconciles (a local restart takes up
 * to 5 s of grace + 5 s of kill): inside the chart's pod grace period (30 s). */
#define DEFAULT_SHUTDOWN_TIMEOUT_MS 25000
#define EVENTS_RING 4096 /* events kept for /api/v1/events?since= */

struct run_flags {
    const char *specs;
    const char *state;
    const char *listen;
    const char *namespace_;
    bool namespace_given;
    const char *platform;   /* "local" | "kube" */
    const char *kubeconfig; /* kube mode */
    const char *context;
    bool leader_elect;
    const char *lease_namespace;
    long workers;
    int64_t shutdown_timeout_ms;
    enum log_level level;
    enum log_format format;
    struct cli_list allow_paths; /* --allow-path, repeatable */
    struct cli_list allow_urls;  /* --allow-url, repeatable */
    bool metrics_secure;         /* kube: /metrics needs a token too */
    int64_t memory_budget;       /* bytes; -1: no limit */
};

static void run_help(FILE *out)
{
    fputs("Usage: selfheal run [--specs DIR] [--state DIR] [--listen ADDR:PORT] [FLAGS]\n"
          "\n"
          "Runs the controller on the embedded default: every *.yaml, *.yml and *.json file\n"
          "in the specs folder holds SelfHealingPipelines (several documents per file).\n"
          "Adding, editing or deleting a file is noticed within a second. Status is written\n"
          "to the state folder; see it with `selfheal status`.\n"
          "\n"
          "  --specs DIR          the specs folder (default " CLI_DEFAULT_SPECS_DIR ")\n"
          "  --state DIR          where status, events and process logs go\n"
          "                       (default: DIR/.selfheal, inside the specs folder; kube:\n"
          "                       .selfheal in the working folder, where the brief's audit\n"
          "                       logs go too)\n"
          "  --listen ADDR:PORT   HTTP server for /healthz, /readyz, /metrics, the JSON API,\n"
          "                       the event stream and the dashboard at /\n"
          "                       (default " CLI_DEFAULT_LISTEN "; port 0 picks a free one)\n"
          "  --workers N          reconcile workers (default 2, 1..64)\n"
          "  --namespace NS       local: namespace of specs that name none (default: default);\n"
          "                       kube: watch only this namespace (default: all)\n"
          "  --platform P         local (default) or kube; --kubeconfig/--context imply kube\n"
          "  --kubeconfig FILE    kube: the kubeconfig (default: $KUBECONFIG, in-cluster,\n"
          "                       ~/.kube/config)\n"
          "  --context NAME       kube: the kubeconfig context (default: current-context)\n"
          "  --leader-elect       kube: only the holder of the Lease acts (HA replicas)\n"
          "  --leader-elect-namespace NS  kube: where the Lease lives (default: the\n"
          "                       kubeconfig's or the pod's namespace)\n"
          "  --allow-path DIR     files and folders named by specs (data, registry, drift\n"
          "                       CSVs, metric files, working folders) must lie under DIR\n"
          "                       (after resolving .. and symbolic links); repeatable.\n"
          "                       A pipeline naming a path outside is Invalid. Default:\n"
          "                       unconfined, with a warning at start-up\n"
          "  --allow-url PATTERN  URLs named by specs (health checks, metric sources, the\n"
          "                       drift score) must have a host matching PATTERN: a name,\n"
          "                       *.domain, an address or a network (10.0.0.0/8, fd00::/8),\n"
          "                       optionally :PORT; repeatable. Link-local addresses (the\n"
          "                       cloud metadata service) and, on a cluster, the API\n"
          "                       server are then refused whatever the patterns. A\n"
          "                       pipeline naming another host is Invalid. Default:\n"
          "                       unconfined\n"
          "  --metrics-secure     kube: /metrics, like the JSON API, the event stream and\n"
          "                       the dashboard's data, needs a bearer token allowed to get\n"
          "                       it (TokenReview + SubjectAccessReview, docs/security.md);\n"
          "                       /healthz and /readyz stay open\n"
          "  --memory-budget SIZE the most memory one pipeline's data work (the data fix,\n"
          "                       the drift statistics) may use; it runs in a child process,\n"
          "                       so a file too big fails that loop (\"out of memory\"), never\n"
          "                       the controller (default 64Mi; e.g. 256Mi, 1Gi; 0: no limit)\n"
          "  --shutdown-timeout D on SIGTERM/SIGINT, how long in-flight reconciles may take\n"
          "                       to finish (default 25s; keep it below the pod's\n"
          "                       terminationGracePeriodSeconds, 30 s in the chart)\n"
          "  --log-format FMT     text (default) or json\n"
          "  --log-level LEVEL    debug, info (default), warn or error\n"
          "  -h, --help           this help\n"
          "\n"
          "Signals: SIGTERM/SIGINT finish in-flight work and exit 0 (past\n"
          "--shutdown-timeout: exit 1 at once, without waiting for it); SIGHUP rescans\n"
          "the specs folder.\n"
          "Exit status: 0 after a clean shutdown, 1 when it cannot start (folder missing,\n"
          "address in use), 2 usage error.\n",
          out);
}

static int set_log_format(const char *v, void *dest, char **ret_err)
{
    (void)ret_err;
    return log_parse_format(v, dest);
}

static int set_log_level(const char *v, void *dest, char **ret_err)
{
    (void)ret_err;
    return log_parse_level(v, dest);
}

static int set_platform(const char *v, void *dest, char **ret_err)
{
    (void)ret_err;
    if (strcmp(v, "local") != 0 && strcmp(v, "kube") != 0)
        return -1;
    ((struct run_flags *)dest)->platform = v;
    return 0;
}

/* --kubeconfig and --context imply --platform kube (a later --platform wins). */
static int set_kubeconfig(const char *v, void *dest, char **ret_err)
{
    (void)ret_err;
    ((struct run_flags *)dest)->kubeconfig = v;
    ((struct run_flags *)dest)->platform = "kube";
    return 0;
}

static int set_context(const char *v, void *dest, char **ret_err)
{
    (void)ret_err;
    ((struct run_flags *)dest)->context = v;
    ((struct run_flags *)dest)->platform = "kube";
    return 0;
}

/* 0 parsed, CLI_PARSE_HELP, or an exit status. f->allow_paths is owned by f
 * whatever the result. */
static int parse_flags(int argc, char **argv, struct run_flags *f)
{
    *f = (struct run_flags){.specs = CLI_DEFAULT_SPECS_DIR,
                            .listen = CLI_DEFAULT_LISTEN,
                            .namespace_ = "default",
                            .platform = "local",
                            .workers = 2,
                            .memory_budget = (int64_t)ISOLATE_DEFAULT_BUDGET,
                            .shutdown_timeout_ms = DEFAULT_SHUTDOWN_TIMEOUT_MS,
                            .level = LOG_INFO,
                            .format = LOG_FORMAT_TEXT};
    const struct cli_flag flags[] = {
        {.name = "specs", .kind = CLI_STRING, .dest = &f->specs},
        {.name = "state", .kind = CLI_STRING, .dest = &f->state},
        {.name = "listen", .kind = CLI_STRING, .dest = &f->listen},
        {.name = "workers", .kind = CLI_INT, .dest = &f->workers, .min = 1, .max = 64,
         .must = "be a whole number from 1 to 64"},
        {.name = "namespace", .kind = CLI_STRING, .dest = &f->namespace_,
         .given = &f->namespace_given},
        {.name = "platform", .kind = CLI_CUSTOM, .dest = f, .parse = set_platform,
         .must = "be local or kube"},
        {.name = "kubeconfig", .kind = CLI_CUSTOM, .dest = f, .parse = set_kubeconfig},
        {.name = "context", .kind = CLI_CUSTOM, .dest = f, .parse = set_context},
        {.name = "leader-elect", .kind = CLI_BOOL, .dest = &f->leader_elect},
        {.name = "leader-elect-namespace", .kind = CLI_STRING, .dest = &f->lease_namespace},
        {.name = "log-format", .kind = CLI_CUSTOM, .dest = &f->format, .parse = set_log_format,
         .must = "be text or json"},
        {.name = "log-level", .kind = CLI_CUSTOM, .dest = &f->level, .parse = set_log_level,
         .must = "be debug, info, warn or error"},
        {.name = "allow-path", .kind = CLI_LIST, .dest = &f->allow_paths},
        {.name = "allow-url", .kind = CLI_LIST, .dest = &f->allow_urls},
        {.name = "metrics-secure", .kind = CLI_BOOL, .dest = &f->metrics_secure},
        {.name = "memory-budget", .kind = CLI_CUSTOM, .dest = &f->memory_budget,
         .parse = cli_parse_memory_budget, .must = CLI_MEMORY_BUDGET_MUST},
        {.name = "shutdown-timeout", .kind = CLI_DURATION, .dest = &f->shutdown_timeout_ms,
         .min = 0, .max = 3600000, .must = "be a duration from 0s to 1h"},
    };
    const struct cli_command cmd = {.name = "run", .flags = flags, .nflags = CLI_NFLAGS(flags),
                                    .help = run_help};
    int r = cli_parse(&cmd, argc, argv);
    if (r != 0)
        return r;
    if (f->leader_elect && strcmp(f->platform, "kube") != 0)
        return cli_usage_error("run", "--leader-elect needs --platform kube (or --kubeconfig)");
    return 0;
}

/* /readyz: ready once the specs have been fully read. */
static int ready_check(void *ctx, char *reason, size_t size)
{
    struct source *src = ctx;
    if (src->has_synced(src))
        return 1;
    snprintf(reason, size, "specs not synced yet");
    return 0;
}

static int api_pipelines(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct manager *m = ctx;
    const char *prefix = "/api/v1/pipelines";
    const char *rest = req->path + strlen(prefix);
    char *body;
    if (*rest == '\0' || strcmp(rest, "/") == 0) {
        body = manager_snapshot_json(m);
    } else {
        body = manager_pipeline_json(m, rest + 1); /* "/ns/name" → "ns/name" */
        if (!body)
            return http_response_json_error(resp, 404, "pipeline not found");
    }
    if (!body)
        return http_response_json_error(resp, 500, "out of memory");
    return http_response_take(resp, 200, "application/json", body, strlen(body));
}

static void wait_for_signals(struct source *src, bool folder)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            if (folder) {
                log_info(NULL, "SIGHUP: rescanning the specs folder");
                folder_source_rescan(src);
            }
            continue;
        }
        log_info(NULL, "%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        return;
    }
}

static void block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* What pipeline_new checks every spec against: --allow-path, --allow-url. */
struct spec_guards {
    struct pathguard *paths;
    struct urlguard *urls;
};

static int check_spec_guards(const struct spec *s, const void *ctx, struct spec_errors *errs)
{
    const struct spec_guards *g = ctx;
    int r = spec_check_paths(s, g->paths, errs);
    int u = spec_check_urls(s, g->urls, errs);
    if (r == SH_ENOMEM || u == SH_ENOMEM)
        return SH_ENOMEM;
    return r ? r : u;
}

/* The patterns of --allow-url (an empty guard: unconfined). */
static int setup_url_guard(const struct run_flags *f, struct urlguard **ret)
{
    if (urlguard_new(ret) != 0)
        return CLI_EXIT_FAIL;
    for (size_t i = 0; i < f->allow_urls.count; i++) {
        char *err = NULL;
        if (urlguard_add(*ret, f->allow_urls.items[i], &err) != 0) {
            int rc = cli_usage_error("run", "%s", err ? err : "out of memory");
            free(err);
            return rc;
        }
    }
    if (urlguard_count(*ret) > 0)
        log_info(NULL, "URLs in specs are confined to %s", urlguard_describe(*ret));
    return 0;
}

/* The allowed roots of --allow-path (an empty guard: unconfined, said once),
 * and the URL patterns; installs the check of every spec. */
static int setup_path_guard(const struct run_flags *f, struct spec_guards *guards)
{
    struct pathguard **ret = &guards->paths;
    int urc = setup_url_guard(f, &guards->urls);
    if (urc != 0)
        return urc;
    if (pathguard_new(ret) != 0)
        return CLI_EXIT_FAIL;
    for (size_t i = 0; i < f->allow_paths.count; i++) {
        char *err = NULL;
        if (pathguard_add_root(*ret, f->allow_paths.items[i], &err) != 0) {
            int rc = cli_usage_error("run", "%s", err ? err : "out of memory");
            free(err);
            return rc;
        }
    }
    if (pathguard_count(*ret) == 0)
        log_warn(NULL, "paths in specs are unconfined: a pipeline may name any file this process "
                       "can write; confine them with --allow-path DIR (repeatable)");
    else
        log_info(NULL, "paths in specs are confined to %s", pathguard_describe(*ret));
    pipeline_set_spec_check(check_spec_guards, guards);
    return 0;
}

/* Everything a running controller holds; freed by run_free in reverse order
 * of set-up. */
struct run {
    struct run_flags f;
    bool kube;
    char *state;
    struct spec_guards guards; /* --allow-path, --allow-url */
    struct platform *pf;
    struct source *src;
    struct kube_run *kr; /* kube: owns src and pf */
    struct eventbus *bus;
    struct eventbus_tap tap; /* pf, also publishing its events to bus */
    struct notifier *notifier;
    struct notifier_tap ntap; /* tap, also offering events and phases to notifier */
    struct reconcilers_all *recs;
    struct metrics *reg;
    struct controller_metrics *cm;
    struct manager *m;
    struct http_server *srv;
    struct kube_authz *authz; /* kube: who may read the API */
    char *err;
    bool workers_running; /* manager_stop timed out: free nothing, _exit */
};

/* Leading again: the manager's cached status and memos are stale. */
static void resync_manager(void *ctx)
{
    manager_resync(ctx);
}

/* With --allow-url, specs may not call the API server (by its kubeconfig
 * host or its in-cluster names), whatever the patterns. */
static int deny_api_server(struct run *r)
{
    if (urlguard_count(r->guards.urls) == 0)
        return 0;
    static const char why[] = "the Kubernetes API server";
    const struct kube_config *cfg = kube_client_config(kube_run_client(r->kr));
    char host[300] = "";
    if (cfg && cfg->server) {
        const char *h = strstr(cfg->server, "://");
        h = h ? h + 3 : cfg->server;
        snprintf(host, sizeof host, "%.*s", (int)strcspn(h, "/"), h);
    }
    const char *names[] = {host, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                           "kubernetes.default.svc.cluster.local"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (names[i][0] && urlguard_deny(r->guards.urls, names[i], why) != 0)
            return -1;
    const char *svc = getenv("KUBERNETES_SERVICE_HOST");
    if (svc && *svc && urlguard_deny(r->guards.urls, svc, why) != 0)
        return -1;
    return 0;
}

/* The platform and the spec source: the API server's, or the specs folder's. */
static int setup_platform(struct run *r)
{
    const struct run_flags *f = &r->f;
    if (r->kube) {
        struct kube_run_options ko = {.kubeconfig = f->kubeconfig,
                                      .context = f->context,
                                      .namespace_ = f->namespace_given ? f->namespace_ : NULL,
                                      .leader_elect = f->leader_elect,
                                      .lease_namespace = f->lease_namespace};
        if (kube_run_setup(&ko, &r->kr, &r->src, &r->pf, &r->err) != 0) {
            log_error(NULL, "%s", r->err ? r->err : "cannot connect to the Kubernetes API");
            return -1;
        }
        log_info(NULL, "kube: %s", kube_run_describe(r->kr));
        return deny_api_server(r);
    }
    /* the specs folder is read first: nothing starts (no "listening on")
     * for a folder that is not there */
    struct stat st;
    if (stat(f->specs, &st) != 0) {
        log_error(NULL, "specs folder %s: %s", f->specs, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        log_error(NULL, "specs folder %s: not a folder", f->specs);
        return -1;
    }
    if (local_platform_new(r->state, NULL, &r->pf, &r->err) != 0) {
        log_error(NULL, "%s", r->err ? r->err : "cannot create the state folder");
        return -1;
    }
    struct folder_source_options so = {.specs_dir = f->specs, .state_dir = r->state,
                                       .namespace_ = f->namespace_};
    return folder_source_new(&so, &r->src) != 0 ? -1 : 0;
}

/* The event bus, the reconcilers, the metrics and the manager over them. */
static int setup_manager(struct run *r)
{
    /* every request a spec causes (probes, metric sources, webhooks) is
     * held to --allow-url when it connects; the API server is already denied */
    urlguard_set_process(r->guards.urls);
    if (eventbus_new(EVENTS_RING, NULL, &r->bus) != 0)
        return -1;
    eventbus_tap_init(&r->tap, r->bus, r->pf); /* the manager's platform; set-up calls get pf itself */
    if (reconcilers_all_new(r->pf, r->state, r->f.memory_budget, &r->recs, &r->err) != 0) {
        log_error(NULL, "%s", r->err ? r->err : "cannot set up the reconcilers");
        return -1;
    }
    r->reg = metrics_new();
    if (!r->reg || controller_metrics_new(r->reg, SELFHEAL_VERSION, selfheal_commit(), &r->cm) != 0
        || reconcilers_all_register_metrics(r->recs, r->reg) != 0)
        return -1;
    /* notifications (spec.notify): a sender thread of their own */
    struct notifier_options no = {.metrics = r->reg,
                                  .resolve_secret = r->kr ? kube_run_read_secret : NULL,
                                  .secret_ctx = r->kr};
    if (notifier_new(&no, &r->notifier) != 0)
        return -1;
    notifier_tap_init(&r->ntap, r->notifier, &r->tap.base);
    struct manager_options mo = {.workers = (int)r->f.workers,
                                 .source = r->src,
                                 .platform = &r->ntap.base,
                                 .reconcilers = reconcilers_all_list(r->recs),
                                 .nreconcilers = reconcilers_all_count(r->recs),
                                 .metrics = r->cm};
    if (manager_new(&mo, &r->m) != 0)
        return -1;
    reconcilers_all_set_notify(r->recs, (void (*)(void *, const char *))manager_enqueue, r->m);
    if (r->kr)
        kube_run_on_leading(r->kr, resync_manager, r->m);
    controller_metrics_attach_manager(r->cm, r->m);
    return 0;
}

/* The HTTP server: probes, metrics, the JSON API, events and the dashboard. */
static int setup_server(struct run *r)
{
    struct http_server_options ho = {.listen = r->f.listen, .metrics = r->reg,
                                     .ready = ready_check, .ready_ctx = r->src};
    if (r->kr) {
        /* on a cluster the API is not anonymous (docs/security.md) */
        r->authz = kube_authz_new(kube_run_client(r->kr), NULL, 0);
        if (!r->authz)
            return -1;
        ho.authorize = kube_authz_check;
        ho.authorize_ctx = r->authz;
        ho.metrics_secure = r->f.metrics_secure;
    }
    if (http_server_new(&ho, &r->srv, &r->err) != 0) {
        log_error(NULL, "%s", r->err ? r->err : "cannot start the HTTP server");
        return -1;
    }
    http_server_route(r->srv, "/api/v1/pipelines", HTTP_ROUTE_PREFIX, api_pipelines, r->m);
    http_server_events(r->srv, "/api/v1/events", r->bus, 0);
    dashboard_register(r->srv);
    if (http_server_start(r->srv, &r->err) != 0) {
        bool in_use = r->err && strstr(r->err, "address already in use");
        log_error(NULL, "%s%s", r->err ? r->err : "cannot start the HTTP server",
                  in_use ? ": port in use (another selfheal run?), pass --listen ADDR:PORT "
                           "(port 0 picks a free one)"
                         : "");
        return -1;
    }
    if (r->kube) /* no specs folder in kube mode: only what it uses */
        log_info(NULL, "selfheal %s: kube, state %s (audit logs, retrain output), listening on "
                       "http://%s:%d",
                 SELFHEAL_VERSION, r->state, http_server_host(r->srv), http_server_port(r->srv));
    else
        log_info(NULL, "selfheal %s: specs %s, state %s, listening on http://%s:%d",
                 SELFHEAL_VERSION, r->f.specs, r->state, http_server_host(r->srv),
                 http_server_port(r->srv));
    return 0;
}

/* The workers, then (kube) leader election. */
static int start_manager(struct run *r)
{
    if (manager_start(r->m, &r->err) != 0) {
        log_error(NULL, "%s", r->err ? r->err : "cannot start the controller");
        return -1;
    }
    if (r->kr && kube_run_start(r->kr) != 0) {
        log_error(NULL, "cannot start leader election");
        if (manager_stop(r->m, r->f.shutdown_timeout_ms) != 0)
            r->workers_running = true;
        return -1;
    }
    return 0;
}

/* Finishes in-flight reconciles, then gives up the Lease. Past the budget
 * the workers still run: nothing they use may be freed and the Lease is
 * kept (it expires), so the caller ends the process at once. */
static void shut_down(struct run *r)
{
    if (manager_stop(r->m, r->f.shutdown_timeout_ms) != 0) {
        r->workers_running = true;
        log_error(NULL,
                  "in-flight reconciles did not finish within --shutdown-timeout (%lld ms): "
                  "exiting without them (writes are atomic: a file is the old one or the new one)",
                  (long long)r->f.shutdown_timeout_ms);
        return;
    }
    if (r->kr)
        kube_run_stop(r->kr); /* releases the Lease after the last write */
    log_info(NULL, "stopped");
}

static void run_free(struct run *r)
{
    if (r->workers_running) {
        /* a worker still uses the manager, the reconcilers, the platform and
         * the source: end the process here, without freeing them and
         * without exit()'s atexit handlers (library cleanups under a live
         * thread) */
        fflush(NULL);
        _exit(CLI_EXIT_FAIL);
    }
    if (r->srv)
        http_server_free(r->srv);
    kube_authz_free(r->authz);
    manager_free(r->m);
    notifier_free(r->notifier); /* after the workers: nothing offers any more */
    reconcilers_all_free(r->recs);
    controller_metrics_free(r->cm);
    metrics_free(r->reg);
    if (r->kr) {
        kube_run_free(r->kr); /* owns src and pf */
    } else {
        if (r->src)
            r->src->free(r->src);
        local_platform_free(r->pf);
    }
    eventbus_free(r->bus);
    pipeline_set_spec_check(NULL, NULL);
    pathguard_free(r->guards.paths);
    urlguard_set_process(NULL);
    urlguard_free(r->guards.urls);
    cli_list_free(&r->f.allow_paths);
    cli_list_free(&r->f.allow_urls);
    free(r->state);
    free(r->err);
}

int cmd_run(int argc, char **argv)
{
    struct run r = {0};
    int rc = parse_flags(argc, argv, &r.f);
    if (rc == 0) {
        log_configure(r.f.level, r.f.format, NULL);
        rc = setup_path_guard(&r.f, &r.guards);
    }
    if (rc != 0) {
        run_free(&r);
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    block_signals();
    rc = CLI_EXIT_FAIL;
    r.kube = strcmp(r.f.platform, "kube") == 0;
    r.state = r.f.state ? strdup(r.f.state)
              : r.kube  ? strdup(CLI_DEFAULT_KUBE_STATE_DIR)
                        : cli_state_dir_for(r.f.specs);
    if (r.state && setup_platform(&r) == 0 && setup_manager(&r) == 0 && setup_server(&r) == 0
        && start_manager(&r) == 0) {
        wait_for_signals(r.src, !r.kube);
        shut_down(&r);
        rc = CLI_EXIT_OK;
    }
    run_free(&r);
    return rc;
}
