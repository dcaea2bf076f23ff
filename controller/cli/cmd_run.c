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

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "runtime/controller_metrics.h"
#include "base/errors.h"
#include "server/httpserver.h"
#include "kube/kube_run.h"
#include "local/folder_source.h"
#include "server/dashboard/dashboard.h"
#include "server/eventbus.h"
#include "local/local_platform.h"
#include "base/log.h"
#include "runtime/manager.h"
#include "base/metrics.h"
#include "base/pathguard.h"
#include "runtime/pipeline.h"
#include "cli/reconcilers_all.h"
#include "base/version.h"

#define SHUTDOWN_BUDGET_MS 1500
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
    enum log_level level;
    enum log_format format;
    const char **allow_paths; /* --allow-path, repeatable */
    size_t nallow;
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
          "                       (default: .selfheal beside the specs folder)\n"
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
          "  --log-format FMT     text (default) or json\n"
          "  --log-level LEVEL    debug, info (default), warn or error\n"
          "  -h, --help           this help\n"
          "\n"
          "Signals: SIGTERM/SIGINT finish in-flight work and exit 0; SIGHUP rescans the\n"
          "specs folder.\n"
          "Exit status: 0 after a clean shutdown, 1 when it cannot start (folder missing,\n"
          "address in use), 2 usage error.\n",
          out);
}

static int parse_flags(int argc, char **argv, struct run_flags *f)
{
    static const struct option opts[] = {{"specs", required_argument, NULL, 's'},
                                         {"state", required_argument, NULL, 'S'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"workers", required_argument, NULL, 'w'},
                                         {"namespace", required_argument, NULL, 'n'},
                                         {"platform", required_argument, NULL, 'P'},
                                         {"kubeconfig", required_argument, NULL, 'K'},
                                         {"context", required_argument, NULL, 'C'},
                                         {"leader-elect", no_argument, NULL, 'E'},
                                         {"leader-elect-namespace", required_argument, NULL, 'N'},
                                         {"log-format", required_argument, NULL, 'F'},
                                         {"log-level", required_argument, NULL, 'L'},
                                         {"allow-path", required_argument, NULL, 'A'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char **allow = f->allow_paths;
    *f = (struct run_flags){.allow_paths = allow,
                            .specs = CLI_DEFAULT_SPECS_DIR,
                            .listen = CLI_DEFAULT_LISTEN,
                            .namespace_ = "default",
                            .platform = "local",
                            .workers = 2,
                            .level = LOG_INFO,
                            .format = LOG_FORMAT_TEXT};
    cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            f->specs = optarg;
            break;
        case 'S':
            f->state = optarg;
            break;
        case 'l':
            f->listen = optarg;
            break;
        case 'n':
            f->namespace_ = optarg;
            f->namespace_given = true;
            break;
        case 'P':
            if (strcmp(optarg, "local") != 0 && strcmp(optarg, "kube") != 0)
                return cli_usage_error("run", "--platform must be local or kube, got '%s'", optarg);
            f->platform = optarg;
            break;
        case 'K':
            f->kubeconfig = optarg;
            f->platform = "kube";
            break;
        case 'C':
            f->context = optarg;
            f->platform = "kube";
            break;
        case 'E':
            f->leader_elect = true;
            break;
        case 'N':
            f->lease_namespace = optarg;
            break;
        case 'w':
            if (cli_parse_int(optarg, 1, 64, &f->workers) != 0)
                return cli_usage_error("run", "--workers must be a whole number from 1 to 64, got '%s'",
                                       optarg);
            break;
        case 'F':
            if (log_parse_format(optarg, &f->format) != 0)
                return cli_usage_error("run", "--log-format must be text or json, got '%s'", optarg);
            break;
        case 'L':
            if (log_parse_level(optarg, &f->level) != 0)
                return cli_usage_error("run", "--log-level must be debug, info, warn or error, got '%s'",
                                       optarg);
            break;
        case 'A':
            f->allow_paths[f->nallow++] = optarg;
            break;
        case 'h':
            run_help(stdout);
            return -1;
        default:
            return cli_bad_option("run", argc, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("run", "unexpected argument '%s'", argv[optind]);
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

static int check_spec_paths(const struct spec *s, const void *guard, struct spec_errors *errs)
{
    return spec_check_paths(s, guard, errs);
}

/* The allowed roots of --allow-path (an empty guard: unconfined, said once). */
static int setup_path_guard(const struct run_flags *f, struct pathguard **ret)
{
    if (pathguard_new(ret) != 0)
        return CLI_EXIT_FAIL;
    for (size_t i = 0; i < f->nallow; i++) {
        char *err = NULL;
        if (pathguard_add_root(*ret, f->allow_paths[i], &err) != 0) {
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
    pipeline_set_spec_check(check_spec_paths, *ret);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    struct run_flags f;
    const char **allow = calloc((size_t)argc + 1, sizeof *allow);
    if (!allow)
        return CLI_EXIT_FAIL;
    f.allow_paths = allow;
    int r = parse_flags(argc, argv, &f);
    if (r != 0) {
        free(allow);
        return r < 0 ? CLI_EXIT_OK : r;
    }
    log_configure(f.level, f.format, NULL);
    struct pathguard *guard = NULL;
    if ((r = setup_path_guard(&f, &guard)) != 0) {
        pathguard_free(guard);
        free(allow);
        return r;
    }
    block_signals();

    int rc = CLI_EXIT_FAIL;
    char *err = NULL;
    char *state = f.state ? strdup(f.state) : cli_state_dir_for(f.specs);
    struct platform *pf = NULL;
    struct source *src = NULL;
    struct manager *m = NULL;
    struct metrics *reg = NULL;
    struct controller_metrics *cm = NULL;
    struct http_server *srv = NULL;
    struct reconcilers_all *recs = NULL;
    struct kube_run *kr = NULL;
    struct eventbus *bus = NULL;
    struct eventbus_tap tap; /* pf, also publishing its events to bus */
    bool kube = strcmp(f.platform, "kube") == 0;
    if (!state)
        goto out;
    if (kube) {
        struct kube_run_options ko = {.kubeconfig = f.kubeconfig,
                                      .context = f.context,
                                      .namespace_ = f.namespace_given ? f.namespace_ : NULL,
                                      .leader_elect = f.leader_elect,
                                      .lease_namespace = f.lease_namespace};
        if (kube_run_setup(&ko, &kr, &src, &pf, &err) != 0) {
            log_error(NULL, "%s", err ? err : "cannot connect to the Kubernetes API");
            goto out;
        }
        log_info(NULL, "kube: %s", kube_run_describe(kr));
    } else {
        if (local_platform_new(state, NULL, &pf, &err) != 0) {
            log_error(NULL, "%s", err ? err : "cannot create the state folder");
            goto out;
        }
        struct folder_source_options so = {.specs_dir = f.specs, .state_dir = state,
                                           .namespace_ = f.namespace_};
        if (folder_source_new(&so, &src) != 0)
            goto out;
    }
    if (eventbus_new(EVENTS_RING, NULL, &bus) != 0)
        goto out;
    eventbus_tap_init(&tap, bus, pf); /* the manager's platform; set-up calls get pf itself */
    if (reconcilers_all_new(pf, state, &recs, &err) != 0) {
        log_error(NULL, "%s", err ? err : "cannot set up the reconcilers");
        goto out;
    }
    reg = metrics_new();
    if (!reg || controller_metrics_new(reg, SELFHEAL_VERSION, selfheal_commit(), &cm) != 0
        || reconcilers_all_register_metrics(recs, reg) != 0)
        goto out;
    struct manager_options mo = {.workers = (int)f.workers,
                                 .source = src,
                                 .platform = &tap.base,
                                 .reconcilers = reconcilers_all_list(recs),
                                 .nreconcilers = reconcilers_all_count(recs),
                                 .metrics = cm};
    if (manager_new(&mo, &m) != 0)
        goto out;
    reconcilers_all_set_notify(recs, (void (*)(void *, const char *))manager_enqueue, m);
    controller_metrics_attach_manager(cm, m);

    struct http_server_options ho = {.listen = f.listen, .metrics = reg,
                                     .ready = ready_check, .ready_ctx = src};
    if (http_server_new(&ho, &srv, &err) != 0) {
        log_error(NULL, "%s", err ? err : "cannot start the HTTP server");
        goto out;
    }
    http_server_route(srv, "/api/v1/pipelines", HTTP_ROUTE_PREFIX, api_pipelines, m);
    http_server_events(srv, "/api/v1/events", bus, 0);
    dashboard_register(srv);
    if (http_server_start(srv, &err) != 0) {
        log_error(NULL, "%s", err ? err : "cannot start the HTTP server");
        goto out;
    }
    log_info(NULL, "selfheal %s: specs %s, state %s, listening on http://%s:%d", SELFHEAL_VERSION,
             f.specs, state, http_server_host(srv), http_server_port(srv));
    if (manager_start(m, &err) != 0) {
        log_error(NULL, "%s", err ? err : "cannot start the controller");
        goto out;
    }
    if (kr && kube_run_start(kr) != 0) {
        log_error(NULL, "cannot start leader election");
        manager_stop(m, SHUTDOWN_BUDGET_MS);
        goto out;
    }
    wait_for_signals(src, !kube);
    if (manager_stop(m, SHUTDOWN_BUDGET_MS) != 0)
        log_warn(NULL, "in-flight reconciles did not finish within %d ms", SHUTDOWN_BUDGET_MS);
    if (kr)
        kube_run_stop(kr); /* releases the Lease after the last write */
    rc = CLI_EXIT_OK;
    log_info(NULL, "stopped");
out:
    if (srv)
        http_server_free(srv);
    manager_free(m);
    reconcilers_all_free(recs);
    controller_metrics_free(cm);
    metrics_free(reg);
    if (kr) {
        kube_run_free(kr); /* owns src and pf */
    } else {
        if (src)
            src->free(src);
        local_platform_free(pf);
    }
    eventbus_free(bus);
    pipeline_set_spec_check(NULL, NULL);
    pathguard_free(guard);
    free(allow);
    free(state);
    free(err);
    return rc;
}
