/*
 * cmd_plugin.c — status, history, why, pause, resume and reset for an
 * operator (cmd_plugin.h), as `kubectl selfheal CMD` and `selfheal CMD`.
 *
 * Every command runs on one of two platforms:
 *   cluster  the SelfHealingPipeline objects through the API server, with
 *            the kubeconfig's current context and namespace (--kubeconfig,
 *            --context, -n, -A), the way kubectl does;
 *   local    the folders of `selfheal run`: status, history and why read the
 *            state folder (--state, or DIR/.selfheal of --specs DIR); pause,
 *            resume and reset edit the pipeline's spec file in --specs
 *            (plugin_edit.h), which the running controller picks up.
 * --specs/--state choose local, --kubeconfig/--context the cluster; without
 * any, kubectl-selfheal uses the cluster and selfheal the local folders.
 *
 * Exit codes as every command (docs/cli.md): 0 done, 1 could not (no such
 * pipeline, the API server refused or cannot be reached, the file cannot be
 * written), 2 usage error or unreadable input (kubeconfig, spec file).
 */
#include "cli/cmd_plugin.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/atomicfile.h"
#include "base/clock.h"
#include "base/errors.h"
#include "base/fsutil.h"
#include "cli/cli.h"
#include "cli/plugin_edit.h"
#include "cli/plugin_why.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "local/state.h"
#include "runtime/pipeline.h"
#include "runtime/status.h"

#define SPEC_FILE_MAX (4u << 20)
#define LOCAL_DEFAULT_NS "default"

/* Set by plugin_main: the binary runs as kubectl-selfheal. */
static bool as_kubectl;

/* The flags every command shares: where the pipelines are. */
struct target {
    const char *kubeconfig, *context, *ns, *specs, *state;
    bool all;
};

enum platform { PLATFORM_CLUSTER, PLATFORM_LOCAL };

static const char *prog(void)
{
    return as_kubectl ? "kubectl selfheal" : "selfheal";
}

/* Parses argv with the shared flags; the NAME (when name is not NULL) into
 * *name. Returns 0, CLI_PARSE_HELP, or an exit code (the error printed). */
static int parse(const char *cmd, void (*help)(FILE *), int argc, char **argv, struct target *t,
                 const char **name)
{
    const struct cli_flag flags[] = {
        {.name = "kubeconfig", .kind = CLI_STRING, .dest = &t->kubeconfig, .opts = CLI_NONEMPTY},
        {.name = "context", .kind = CLI_STRING, .dest = &t->context, .opts = CLI_NONEMPTY},
        {.name = "namespace", .short_name = 'n', .kind = CLI_STRING, .dest = &t->ns, .opts = CLI_NONEMPTY},
        {.name = "all-namespaces", .short_name = 'A', .kind = CLI_BOOL, .dest = &t->all},
        {.name = "specs", .kind = CLI_STRING, .dest = &t->specs, .opts = CLI_NONEMPTY},
        {.name = "state", .kind = CLI_STRING, .dest = &t->state, .opts = CLI_NONEMPTY},
    };
    struct cli_list args = {0};
    const struct cli_command c = {.name = cmd, .flags = flags, .nflags = CLI_NFLAGS(flags),
                                  .help = help, .args = &args};
    int r = cli_parse(&c, argc, argv);
    const char *first = args.count > 0 ? args.items[0] : NULL;
    const char *extra = args.count > (name ? 1u : 0u) ? args.items[name ? 1 : 0] : NULL;
    cli_list_free(&args); /* the strings are argv's */
    if (r != 0)
        return r;
    if (extra)
        return cli_usage_error(cmd, "unexpected argument '%s'", extra);
    if (name && !first)
        return cli_usage_error(cmd, "which pipeline? give its NAME");
    if (name && strpbrk(first, "/?#%\\ \t\n"))
        return cli_usage_error(cmd, "'%s' is not a pipeline name", first);
    if (name)
        *name = first;
    if ((t->specs || t->state) && (t->kubeconfig || t->context))
        return cli_usage_error(cmd, "--specs/--state (the local platform) and --kubeconfig/--context "
                                    "(a cluster) do not go together");
    if (t->all && t->ns)
        return cli_usage_error(cmd, "-n/--namespace and -A/--all-namespaces do not go together");
    if (name && t->all)
        return cli_usage_error(cmd, "-A/--all-namespaces lists; for one pipeline give -n NAMESPACE");
    return 0;
}

static enum platform platform_of(const struct target *t)
{
    if (t->specs || t->state)
        return PLATFORM_LOCAL;
    if (t->kubeconfig || t->context)
        return PLATFORM_CLUSTER;
    return as_kubectl ? PLATFORM_CLUSTER : PLATFORM_LOCAL;
}

/* --- the cluster ------------------------------------------------------------ */

struct cluster {
    struct kube_config *cfg;
    struct kube_client *client;
    const char *ns; /* -n, else the context's namespace */
};

static void cluster_close(struct cluster *k)
{
    kube_client_free(k->client);
    kube_config_free(k->cfg);
}

static int cluster_open(const char *cmd, const struct target *t, struct cluster *k)
{
    *k = (struct cluster){0};
    struct kube_config_options o = {.kubeconfig = t->kubeconfig, .context = t->context};
    char *err = NULL;
    if (kube_config_load(&o, &k->cfg, &err) != 0) {
        fprintf(stderr, "%s %s: %s\n", prog(), cmd, err ? err : "cannot load the kubeconfig");
        free(err);
        return CLI_EXIT_USAGE;
    }
    struct kube_client_options co;
    kube_client_options_default(&co);
    co.timeout_ms = 15000;
    co.max_attempts = 3;
    if (kube_client_new(k->cfg, &co, &k->client, &err) != 0) {
        fprintf(stderr, "%s %s: %s\n", prog(), cmd, err ? err : "cannot create the API client");
        free(err);
        cluster_close(k);
        return CLI_EXIT_FAIL;
    }
    k->ns = t->ns ? t->ns : k->cfg->namespace_;
    return 0;
}

/* One API call; a failure is printed ("pipeline 'x' not found in namespace
 * 'y'" for a 404 of a named pipeline) and gives CLI_EXIT_FAIL. */
static int cluster_call(const char *cmd, struct cluster *k, const char *method, const char *path,
                        const cJSON *body, const char *name, cJSON **ret)
{
    long code = 0;
    char *err = NULL;
    int r = kube_call(k->client, method, path, body, body ? KUBE_CT_MERGE_PATCH : NULL, ret, &code,
                      &err);
    if (r == 0) {
        free(err);
        return 0;
    }
    if (code == 404 && name)
        fprintf(stderr, "%s %s: pipeline '%s' not found in namespace '%s'\n", prog(), cmd, name, k->ns);
    else if (code == 404)
        fprintf(stderr, "%s %s: the API server at %s does not serve %s.%s (is the CRD installed? "
                        "kubectl apply -f crd/)\n", prog(), cmd, k->cfg->server, KUBE_SHP_PLURAL,
                KUBE_SHP_GROUP);
    else
        fprintf(stderr, "%s %s: %s\n", prog(), cmd, err ? err : sh_strerror(r));
    free(err);
    return CLI_EXIT_FAIL;
}

static int cluster_get(const char *cmd, const struct target *t, const char *name, cJSON **ret)
{
    struct cluster k;
    int r = cluster_open(cmd, t, &k);
    if (r != 0)
        return r;
    char path[1024];
    kube_shp_path(path, sizeof path, k.ns, name, NULL);
    r = cluster_call(cmd, &k, "GET", path, NULL, name, ret);
    cluster_close(&k);
    return r;
}

/* --- the local folders -------------------------------------------------------- */

static char *local_state_dir(const struct target *t)
{
    if (t->state)
        return strdup(t->state);
    return cli_state_dir_for(t->specs ? t->specs : CLI_DEFAULT_SPECS_DIR);
}

static int local_get(const char *cmd, const struct target *t, const char *name, cJSON **ret)
{
    char *dir = local_state_dir(t);
    if (!dir)
        return CLI_EXIT_FAIL;
    const char *ns = t->ns ? t->ns : LOCAL_DEFAULT_NS;
    char key[512];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    *ret = local_state_read(dir, key);
    if (!*ret)
        fprintf(stderr, "%s %s: pipeline '%s' not found in namespace '%s' (state folder %s; has "
                        "`selfheal run` seen it?)\n", prog(), cmd, name, ns, dir);
    free(dir);
    return *ret ? 0 : CLI_EXIT_FAIL;
}

/* The pipeline, from its platform: owned in *ret, or an exit code. */
static int get_pipeline(const char *cmd, const struct target *t, const char *name, cJSON **ret)
{
    *ret = NULL;
    return platform_of(t) == PLATFORM_LOCAL ? local_get(cmd, t, name, ret)
                                            : cluster_get(cmd, t, name, ret);
}

/* --- tables ----------------------------------------------------------------------- */

/* Prints rows (an array of arrays of strings; the first is the header) with
 * every column as wide as its widest cell, three spaces apart, as kubectl
 * does; the last column is not padded. */
static void print_table(const cJSON *rows)
{
    size_t w[16] = {0};
    const cJSON *row, *cell;
    cJSON_ArrayForEach(row, rows)
    {
        size_t i = 0;
        cJSON_ArrayForEach(cell, row) if (i < 16)
        {
            size_t n = strlen(cell->valuestring);
            if (n > w[i])
                w[i] = n;
            i++;
        }
    }
    cJSON_ArrayForEach(row, rows)
    {
        size_t i = 0, n = (size_t)cJSON_GetArraySize(row);
        cJSON_ArrayForEach(cell, row)
        {
            if (i + 1 < n)
                printf("%-*s   ", (int)w[i < 16 ? i : 15], cell->valuestring);
            else
                printf("%s\n", cell->valuestring);
            i++;
        }
    }
}

static void add_cells(cJSON *rows, const char *const *cells, size_t n)
{
    cJSON *row = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(row, cJSON_CreateString(cells[i] ? cells[i] : "<none>"));
    cJSON_AddItemToArray(rows, row);
}

/* kubectl's short ages: 45s, 12m, 5h, 3d, 2y. */
static const char *short_age(int64_t ms, char *buf, size_t size)
{
    int64_t s = ms < 0 ? 0 : ms / 1000;
    if (s < 120)
        snprintf(buf, size, "%llds", (long long)s);
    else if (s < 120 * 60)
        snprintf(buf, size, "%lldm", (long long)(s / 60));
    else if (s < 48 * 3600)
        snprintf(buf, size, "%lldh", (long long)(s / 3600));
    else if (s < 365LL * 86400)
        snprintf(buf, size, "%lldd", (long long)(s / 86400));
    else
        snprintf(buf, size, "%lldy", (long long)(s / (365LL * 86400)));
    return buf;
}

static const char *age_of(const char *rfc3339, int64_t now, char *buf, size_t size)
{
    int64_t t;
    if (!rfc3339 || clock_parse_rfc3339(rfc3339, &t) != 0)
        return "<unknown>";
    return short_age(now - t, buf, size);
}

static const char *num_cell(const cJSON *obj, const char *field, char *buf, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!cJSON_IsNumber(v))
        return "<none>";
    snprintf(buf, size, "%.3g", v->valuedouble);
    return buf;
}

/* The reason that holds the phase: of the first condition not True (in the
 * order the controller acts), else Ready's. */
static const char *reason_cell(const cJSON *st)
{
    static const char *order[] = {COND_SERVICE_HEALTHY, COND_MODEL_VALID, COND_DATA_VALID,
                                  COND_MODEL_FRESH, COND_READY};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const cJSON *c = status_get_condition(st, order[i]);
        const char *s = status_str(c, "status");
        if (c && ((s && strcmp(s, "True") != 0) || i + 1 == sizeof order / sizeof order[0]))
            return status_str(c, "reason");
    }
    return NULL;
}

/* The newest history entry, in words: "restart succeeded (5m)". */
static const char *last_action_cell(const cJSON *st, int64_t now, char *buf, size_t size)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(st, "history");
    int n = cJSON_GetArraySize(h);
    if (n == 0)
        return "<none>";
    const cJSON *e = cJSON_GetArrayItem(h, n - 1);
    char age[16];
    snprintf(buf, size, "%s %s (%s ago)", status_str(e, "action") ? status_str(e, "action") : "?",
             status_str(e, "outcome") ? status_str(e, "outcome") : "?",
             age_of(status_str(e, "time"), now, age, sizeof age));
    return buf;
}

static void status_rows(cJSON *rows, const cJSON *items, const char *ns, bool show_ns, int64_t now)
{
    const cJSON *doc;
    cJSON_ArrayForEach(doc, items)
    {
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "status");
        const char *dns = status_str(meta, "namespace") ? status_str(meta, "namespace") : LOCAL_DEFAULT_NS;
        if (ns && strcmp(ns, dns) != 0)
            continue;
        const cJSON *svc = cJSON_GetObjectItemCaseSensitive(st, "service");
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(st, "model");
        char acc[16], drift[16], rec[16], last[160], age[16];
        snprintf(rec, sizeof rec, "%d", (int)status_num(svc, "recoveryAttempts", 0));
        const char *cells[] = {
            dns,
            status_str(meta, "name"),
            status_str(st, "phase") ? status_str(st, "phase") : "Pending",
            status_str(status_get_condition(st, COND_READY), "status")
                ? status_str(status_get_condition(st, COND_READY), "status")
                : "Unknown",
            reason_cell(st),
            status_str(model, "version"),
            num_cell(model, "metric", acc, sizeof acc),
            num_cell(cJSON_GetObjectItemCaseSensitive(st, "drift"), "score", drift, sizeof drift),
            rec,
            last_action_cell(st, now, last, sizeof last),
            age_of(status_str(meta, "creationTimestamp"), now, age, sizeof age),
        };
        add_cells(rows, show_ns ? cells : cells + 1, show_ns ? 11 : 10);
    }
}

/* The table of items (pipeline objects) of namespace ns (NULL: all, with a
 * NAMESPACE column); "No pipelines found" on stderr when there are none. */
static int print_status(const cJSON *items, const char *ns, int64_t now)
{
    static const char *const header[] = {"NAMESPACE", "NAME", "PHASE", "READY", "REASON", "MODEL",
                                         "ACCURACY", "DRIFT", "RECOVERIES", "LAST ACTION", "AGE"};
    cJSON *rows = cJSON_CreateArray();
    if (!rows)
        return CLI_EXIT_FAIL;
    add_cells(rows, ns ? header + 1 : header, ns ? 10 : 11);
    status_rows(rows, items, ns, ns == NULL, now);
    if (cJSON_GetArraySize(rows) == 1)
        fprintf(stderr, "No pipelines found%s%s%s.\n", ns ? " in namespace '" : "", ns ? ns : "",
                ns ? "'" : "");
    else
        print_table(rows);
    cJSON_Delete(rows);
    return CLI_EXIT_OK;
}

int plugin_status_cluster(const char *kubeconfig, const char *context, const char *ns, bool all)
{
    struct target t = {.kubeconfig = kubeconfig, .context = context, .ns = ns, .all = all};
    struct cluster k;
    int r = cluster_open("status", &t, &k);
    if (r != 0)
        return r;
    char path[1024];
    kube_shp_path(path, sizeof path, all ? NULL : k.ns, NULL, NULL);
    cJSON *list = NULL;
    r = cluster_call("status", &k, "GET", path, NULL, NULL, &list);
    if (r == 0)
        r = print_status(cJSON_GetObjectItemCaseSensitive(list, "items"), all ? NULL : k.ns,
                         clock_now_ms(NULL));
    cJSON_Delete(list);
    cluster_close(&k);
    return r;
}

static void status_help(FILE *out)
{
    fprintf(out,
            "Usage: %s status [-n NAMESPACE | -A] [--context CTX] [--kubeconfig FILE]\n"
            "       %s status --specs DIR | --state DIR [-n NAMESPACE | -A]\n"
            "\n"
            "The pipelines as a table: NAME, PHASE, READY, REASON (the condition that holds the\n"
            "phase), MODEL, ACCURACY, DRIFT, RECOVERIES (attempts in the current incident), LAST\n"
            "ACTION (the newest history entry) and AGE; NAMESPACE too with -A.\n"
            "\n"
            "  -n, --namespace NS     the namespace (default: the context's; locally \"default\")\n"
            "  -A, --all-namespaces   every namespace\n"
            "  --context CTX          the kubeconfig context (default: the current one)\n"
            "  --kubeconfig FILE      the kubeconfig (default: $KUBECONFIG, then ~/.kube/config)\n"
            "  --specs DIR            the local platform: the specs folder of `selfheal run`\n"
            "  --state DIR            the local platform: its state folder (overrides --specs)\n"
            "  -h, --help             this help\n"
            "\n"
            "Exit status: 0 shown (also when there are none), 1 the API server failed or\n"
            "refused, 2 usage error or unreadable kubeconfig.\n",
            prog(), prog());
}

int cmd_plugin_status(int argc, char **argv)
{
    struct target t = {0};
    int r = parse("status", status_help, argc, argv, &t, NULL);
    if (r != 0)
        return r < 0 ? CLI_EXIT_OK : r;
    if (platform_of(&t) == PLATFORM_CLUSTER)
        return plugin_status_cluster(t.kubeconfig, t.context, t.ns, t.all);
    char *dir = local_state_dir(&t);
    cJSON *docs = dir ? local_state_list(dir) : NULL;
    free(dir);
    if (!docs)
        return CLI_EXIT_FAIL;
    r = print_status(docs, t.all ? NULL : t.ns ? t.ns : LOCAL_DEFAULT_NS, clock_now_ms(NULL));
    cJSON_Delete(docs);
    return r;
}

/* --- history ------------------------------------------------------------------------ */

static const char *const target_flags_help =
    "  -n, --namespace NS     the namespace (default: the context's; locally \"default\")\n"
    "  --context CTX          the kubeconfig context (default: the current one)\n"
    "  --kubeconfig FILE      the kubeconfig (default: $KUBECONFIG, then ~/.kube/config)\n"
    "  --specs DIR            the local platform: the specs folder of `selfheal run`\n"
    "  --state DIR            the local platform: its state folder (overrides --specs)\n"
    "  -h, --help             this help\n";

static void history_help(FILE *out)
{
    fprintf(out,
            "Usage: %s history NAME [-n NAMESPACE] [--context CTX] [--kubeconfig FILE]\n"
            "       %s history NAME --specs DIR | --state DIR [-n NAMESPACE]\n"
            "\n"
            "The pipeline's ledger of actions (status.history, the newest 20), newest first:\n"
            "AGE, LOOP, ACTION, FROM, TO, OUTCOME, DURATION, TRIGGER.\n"
            "\n%s\n"
            "Exit status: 0 shown (also an empty ledger), 1 no such pipeline or the API server\n"
            "failed, 2 usage error or unreadable kubeconfig.\n",
            prog(), prog(), target_flags_help);
}

int cmd_history(int argc, char **argv)
{
    struct target t = {0};
    const char *name = NULL;
    int r = parse("history", history_help, argc, argv, &t, &name);
    if (r != 0)
        return r < 0 ? CLI_EXIT_OK : r;
    cJSON *doc = NULL;
    if ((r = get_pipeline("history", &t, name, &doc)) != 0)
        return r;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "status"), "history");
    int64_t now = clock_now_ms(NULL);
    cJSON *rows = cJSON_CreateArray();
    static const char *const header[] = {"AGE", "LOOP", "ACTION", "FROM", "TO", "OUTCOME", "DURATION", "TRIGGER"};
    add_cells(rows, header, 8);
    for (int i = cJSON_GetArraySize(h) - 1; i >= 0; i--) {
        const cJSON *e = cJSON_GetArrayItem(h, i);
        char age[16], d[32] = "<none>";
        const cJSON *secs = cJSON_GetObjectItemCaseSensitive(e, "durationSeconds");
        if (cJSON_IsNumber(secs))
            snprintf(d, sizeof d, "%.1fs", secs->valuedouble);
        const char *cells[] = {age_of(status_str(e, "time"), now, age, sizeof age),
                               status_str(e, "loop"), status_str(e, "action"),
                               status_str(e, "from"), status_str(e, "to"),
                               status_str(e, "outcome"), d, status_str(e, "trigger")};
        add_cells(rows, cells, 8);
    }
    if (cJSON_GetArraySize(rows) == 1)
        fprintf(stderr, "No actions recorded for pipeline '%s' yet.\n", name);
    else
        print_table(rows);
    cJSON_Delete(rows);
    cJSON_Delete(doc);
    return CLI_EXIT_OK;
}

/* --- why ---------------------------------------------------------------------------- */

static void why_help(FILE *out)
{
    fprintf(out,
            "Usage: %s why NAME [-n NAMESPACE] [--context CTX] [--kubeconfig FILE]\n"
            "       %s why NAME --specs DIR | --state DIR [-n NAMESPACE]\n"
            "\n"
            "One paragraph on the pipeline: its phase, the condition that holds it there, and\n"
            "what the controller will do next and when (\"waiting 8 s of backoff before recovery\n"
            "attempt 2 of 3\"), from its status and spec.\n"
            "\n%s\n"
            "Exit status: 0 explained, 1 no such pipeline or the API server failed, 2 usage\n"
            "error or unreadable kubeconfig.\n",
            prog(), prog(), target_flags_help);
}

int cmd_why(int argc, char **argv)
{
    struct target t = {0};
    const char *name = NULL;
    int r = parse("why", why_help, argc, argv, &t, &name);
    if (r != 0)
        return r < 0 ? CLI_EXIT_OK : r;
    cJSON *doc = NULL;
    if ((r = get_pipeline("why", &t, name, &doc)) != 0)
        return r;
    char *text = plugin_why(doc, clock_now_ms(NULL));
    cJSON_Delete(doc);
    if (!text)
        return CLI_EXIT_FAIL;
    puts(text);
    free(text);
    return CLI_EXIT_OK;
}

/* --- pause, resume, reset ----------------------------------------------------------- */

static bool spec_file_name(const char *n)
{
    const char *dot = strrchr(n, '.');
    return n[0] != '.' && dot &&
           (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0 || strcmp(dot, ".json") == 0);
}

/* Edits the spec file of ns/name in specs: path set to value. */
static int local_set(const char *cmd, const char *specs, const char *ns, const char *name,
                     const char *const *path, const cJSON *value, char *ret_file, size_t size)
{
    struct dirent **ents = NULL;
    int n = scandir(specs, &ents, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "%s %s: cannot read the specs folder %s: %s\n", prog(), cmd, specs, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    int rc = -1;
    for (int i = 0; i < n; i++) {
        if (rc < 0 && spec_file_name(ents[i]->d_name)) {
            snprintf(ret_file, size, "%s/%s", specs, ents[i]->d_name);
            char *text = NULL, *out = NULL, *err = NULL;
            size_t len = 0;
            struct stat sb;
            if (stat(ret_file, &sb) != 0 || !S_ISREG(sb.st_mode) ||
                fs_read_file(ret_file, SPEC_FILE_MAX, &text, &len) != 0) {
                free(ents[i]);
                continue;
            }
            const char *dot = strrchr(ret_file, '.');
            int r = plugin_edit_set(text, len, ret_file, strcmp(dot, ".json") == 0, ns, LOCAL_DEFAULT_NS,
                                    name, path, value, &out, &err);
            free(text);
            if (r == SH_EPARSE) {
                free(err); /* another file's problem: `selfheal validate` reports it */
            } else if (r == 0) {
                struct atomic_file *f = NULL;
                int w = atomic_file_begin(ret_file, (int)(sb.st_mode & 07777), &f);
                if (w == 0 && (w = atomic_file_put(f, out, strlen(out))) != 0) {
                    int e = errno; /* the put's cause, for the message */
                    atomic_file_abort(f);
                    errno = e;
                } else if (w == 0) {
                    w = atomic_file_commit(f, NULL);
                }
                rc = w == 0 ? 0 : CLI_EXIT_FAIL;
                if (rc != 0)
                    fprintf(stderr, "%s %s: cannot write %s: %s\n", prog(), cmd, ret_file, strerror(errno));
                free(out);
            } else if (r != SH_ENOTFOUND) {
                fprintf(stderr, "%s %s: %s: %s\n", prog(), cmd, ret_file, sh_strerror(r));
                rc = CLI_EXIT_FAIL;
            }
        }
        free(ents[i]);
    }
    free(ents);
    if (rc < 0) {
        fprintf(stderr, "%s %s: pipeline '%s' not found in namespace '%s' (no spec file in %s names it)\n",
                prog(), cmd, name, ns, specs);
        return CLI_EXIT_FAIL;
    }
    return rc;
}

/* The merge patch {path: value} on the cluster. */
static int cluster_set(const char *cmd, const struct target *t, const char *name,
                       const char *const *path, const cJSON *value, char *ret_ns, size_t size)
{
    struct cluster k;
    int r = cluster_open(cmd, t, &k);
    if (r != 0)
        return r;
    snprintf(ret_ns, size, "%s", k.ns);
    cJSON *patch = cJSON_CreateObject(), *o = patch;
    for (; o && path[1]; path++)
        o = cJSON_AddObjectToObject(o, *path);
    if (!o || !cJSON_AddItemToObject(o, *path, cJSON_Duplicate(value, true))) {
        cJSON_Delete(patch);
        cluster_close(&k);
        return CLI_EXIT_FAIL;
    }
    char p[1024];
    kube_shp_path(p, sizeof p, k.ns, name, NULL);
    cJSON *res = NULL;
    r = cluster_call(cmd, &k, "PATCH", p, patch, name, &res);
    cJSON_Delete(res);
    cJSON_Delete(patch);
    cluster_close(&k);
    return r;
}

/* Sets path to value on the pipeline's platform and says what was done. */
static int set_field(const char *cmd, const struct target *t, const char *name,
                     const char *const *path, cJSON *value, const char *done)
{
    char where[1100];
    int r;
    if (platform_of(t) == PLATFORM_LOCAL) {
        const char *ns = t->ns ? t->ns : LOCAL_DEFAULT_NS;
        r = local_set(cmd, t->specs ? t->specs : CLI_DEFAULT_SPECS_DIR, ns, name, path, value,
                      where, sizeof where);
        if (r == 0)
            printf("pipeline '%s' %s in namespace '%s' (%s); the controller picks it up within a second\n",
                   name, done, ns, where);
    } else {
        r = cluster_set(cmd, t, name, path, value, where, sizeof where);
        if (r == 0)
            printf("pipeline '%s' %s in namespace '%s'\n", name, done, where);
    }
    cJSON_Delete(value);
    return r;
}

static void pause_help(FILE *out, const char *cmd, const char *what)
{
    fprintf(out,
            "Usage: %s %s NAME [-n NAMESPACE] [--context CTX] [--kubeconfig FILE]\n"
            "       %s %s NAME [--specs DIR] [-n NAMESPACE]\n"
            "\n"
            "%s\n"
            "\n%s\n"
            "Exit status: 0 done, 1 no such pipeline, the API server refused or the file\n"
            "cannot be written, 2 usage error or unreadable kubeconfig or specs folder.\n",
            prog(), cmd, prog(), cmd, what, target_flags_help);
}

static void help_pause(FILE *out)
{
    pause_help(out, "pause",
               "Sets spec.paused to true: the controller goes on observing and reporting (phase\n"
               "Paused, a Paused Event) and acts on nothing. On the cluster a merge patch of the\n"
               "object; locally the spec file in --specs (default " CLI_DEFAULT_SPECS_DIR ") is\n"
               "edited in place, atomically, keeping the rest of the file.");
}

static void help_resume(FILE *out)
{
    pause_help(out, "resume",
               "Sets spec.paused to false: the controller acts again where the spec is not met\n"
               "(a Resumed Event). Edits the object or the spec file as pause does.");
}

static void help_reset(FILE *out)
{
    pause_help(out, "reset",
               "Sets the annotation selfheal.dev/reset to a new value (the current time): \"I\n"
               "fixed it, resume\". The controller clears NeedsAttention and the attempt counters\n"
               "on its next pass. Locally the annotation is written into the spec file, which the\n"
               "local controller reads like the cluster's metadata.");
}

static const char *const paused_path[] = {"spec", "paused", NULL};

static int pause_or_resume(int argc, char **argv, bool pause)
{
    const char *cmd = pause ? "pause" : "resume";
    struct target t = {0};
    const char *name = NULL;
    int r = parse(cmd, pause ? help_pause : help_resume, argc, argv, &t, &name);
    if (r != 0)
        return r < 0 ? CLI_EXIT_OK : r;
    if (platform_of(&t) == PLATFORM_LOCAL && !t.specs && t.state)
        return cli_usage_error(cmd, "%s edits the spec file: give --specs DIR", cmd);
    return set_field(cmd, &t, name, paused_path, cJSON_CreateBool(pause), pause ? "paused" : "resumed");
}

int cmd_pause(int argc, char **argv)
{
    return pause_or_resume(argc, argv, true);
}

int cmd_resume(int argc, char **argv)
{
    return pause_or_resume(argc, argv, false);
}

int cmd_reset(int argc, char **argv)
{
    static const char *const path[] = {"metadata", "annotations", PIPELINE_RESET_ANNOTATION, NULL};
    struct target t = {0};
    const char *name = NULL;
    int r = parse("reset", help_reset, argc, argv, &t, &name);
    if (r != 0)
        return r < 0 ? CLI_EXIT_OK : r;
    if (platform_of(&t) == PLATFORM_LOCAL && !t.specs && t.state)
        return cli_usage_error("reset", "reset edits the spec file: give --specs DIR");
    char now[40], done[96];
    clock_format_rfc3339_ms(clock_now_ms(NULL), now, sizeof now);
    snprintf(done, sizeof done, "reset (%s=%s)", PIPELINE_RESET_ANNOTATION, now);
    return set_field("reset", &t, name, path, cJSON_CreateString(now), done);
}

/* --- kubectl-selfheal ------------------------------------------------------------------ */

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} plugin_commands[] = {
    {"status", cmd_plugin_status, "the pipelines as a table: phase, readiness, reason, model, last action"},
    {"history", cmd_history, "a pipeline's ledger of actions, newest first"},
    {"why", cmd_why, "why a pipeline is in its phase and what the controller does next, and when"},
    {"pause", cmd_pause, "stop a pipeline's actions (spec.paused: true); it still reports"},
    {"resume", cmd_resume, "let a paused pipeline act again (spec.paused: false)"},
    {"reset", cmd_reset, "clear NeedsAttention and the attempt counters (annotation selfheal.dev/reset)"},
};

#define NPLUGIN (sizeof plugin_commands / sizeof plugin_commands[0])

static void plugin_usage(FILE *out)
{
    fputs("kubectl selfheal — operate SelfHealingPipelines: see them, explain them, pause,\n"
          "resume and reset them, with the current kubeconfig context and namespace.\n"
          "\n"
          "Usage: kubectl selfheal COMMAND [NAME] [-n NAMESPACE | -A] [--context CTX] [--kubeconfig FILE]\n"
          "       kubectl selfheal COMMAND [NAME] --specs DIR | --state DIR   (the local platform)\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < NPLUGIN; i++)
        fprintf(out, "  %-8s %s\n", plugin_commands[i].name, plugin_commands[i].summary);
    fputs("\nRun 'kubectl selfheal COMMAND --help' for the flags of a command.\n", out);
}

int plugin_main(int argc, char **argv)
{
    as_kubectl = true;
    if (argc < 2) {
        plugin_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        if (strcmp(name, "help") == 0 && argc > 2) {
            for (size_t i = 0; i < NPLUGIN; i++)
                if (strcmp(plugin_commands[i].name, argv[2]) == 0) {
                    char *args[] = {argv[2], "--help", NULL};
                    return plugin_commands[i].run(2, args);
                }
        }
        plugin_usage(stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < NPLUGIN; i++)
        if (strcmp(plugin_commands[i].name, name) == 0)
            return plugin_commands[i].run(argc - 1, argv + 1);
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < NPLUGIN; i++) {
        size_t d = cli_edit_distance(name, plugin_commands[i].name);
        if (d < best_d) {
            best_d = d;
            best = plugin_commands[i].name;
        }
    }
    fprintf(stderr, "kubectl selfheal: unknown command '%s'%s%s%s\nRun 'kubectl selfheal --help' for the list of commands.\n",
            name, best ? " (did you mean " : "", best ? best : "", best ? "?)" : "");
    return CLI_EXIT_USAGE;
}
