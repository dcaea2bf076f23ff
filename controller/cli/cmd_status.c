/*
 * cmd_status.c — `selfheal status` (a kubectl-like table of the pipelines)
 * and `selfheal get NAME -o yaml|json` (one pipeline's spec and status),
 * both read from the local state folder written by `selfheal run`.
 */
#include "cli/cmd_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_plugin.h"
#include "base/clock.h"
#include "local/state.h"
#include "runtime/status.h"
#include "base/yamljson.h"

static const char *meta_str(const cJSON *doc, const char *field)
{
    return cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "metadata"), field));
}

/* kubectl's short ages: 45s, 12m, 5h, 3d, 2y. */
static void format_age(int64_t ms, char *buf, size_t size)
{
    int64_t s = ms / 1000;
    if (s < 0)
        s = 0;
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
}

static void format_num(const cJSON *obj, const char *field, char *buf, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (cJSON_IsNumber(v))
        snprintf(buf, size, "%.3g", v->valuedouble);
    else
        snprintf(buf, size, "<none>");
}

struct row {
    char ns[64], name[254], phase[24], ready[12], model[64], acc[16], drift[16], age[16];
};

static void doc_row(const cJSON *doc, int64_t now, struct row *r)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "status");
    const char *ns = meta_str(doc, "namespace"), *name = meta_str(doc, "name");
    snprintf(r->ns, sizeof r->ns, "%s", ns ? ns : "default");
    snprintf(r->name, sizeof r->name, "%s", name ? name : "?");
    const char *phase = status_str(st, "phase");
    snprintf(r->phase, sizeof r->phase, "%s", phase ? phase : "Pending");
    const char *ready = status_str(status_get_condition(st, COND_READY), "status");
    snprintf(r->ready, sizeof r->ready, "%s", ready ? ready : "Unknown");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(st, "model");
    const char *version = status_str(model, "version");
    snprintf(r->model, sizeof r->model, "%s", version ? version : "<none>");
    format_num(model, "metric", r->acc, sizeof r->acc);
    format_num(cJSON_GetObjectItemCaseSensitive(st, "drift"), "score", r->drift, sizeof r->drift);
    int64_t created;
    const char *ct = meta_str(doc, "creationTimestamp");
    if (ct && clock_parse_rfc3339(ct, &created) == 0)
        format_age(now - created, r->age, sizeof r->age);
    else
        snprintf(r->age, sizeof r->age, "<unknown>");
}

static void status_help(FILE *out)
{
    fputs("Usage: selfheal status [--specs DIR | --state DIR] [-n NAMESPACE] [-o table|json]\n"
          "\n"
          "Shows every pipeline the local controller (selfheal run) manages, as a table:\n"
          "NAME, PHASE, READY, MODEL, ACCURACY, DRIFT, AGE. Reads the state folder; the\n"
          "controller does not need to be running.\n"
          "\n"
          "  --specs DIR        the specs folder given to `selfheal run` (default " CLI_DEFAULT_SPECS_DIR
          ");\n"
          "                     its state folder is DIR/.selfheal\n"
          "  --state DIR        the state folder itself (overrides --specs)\n"
          "  -n, --namespace NS only pipelines of this namespace\n"
          "  -o, --output FMT   table (default) or json\n"
          "  -A, --all-namespaces every namespace (the default locally)\n"
          "  --kubeconfig FILE, --context CTX\n"
          "                     a cluster instead: the table of `kubectl selfheal status`\n"
          "                     (-n: the namespace, default the context's; -A: all)\n"
          "  -h, --help         this help\n"
          "\n"
          "Exit status: 0 shown (also when there are no pipelines), 1 the API server failed,\n"
          "2 usage error.\n",
          out);
}

/* The flags status and get share. */
struct state_flags {
    const char *specs, *state, *ns, *output;
    const char *kubeconfig, *context; /* status only: the cluster (cmd_plugin.c) */
    bool all;
};

/* Parses the shared flags of status and get (f holds the defaults); the
 * arguments that are not flags go to args when it is not NULL. */
static int parse_state_flags(const char *name, void (*help)(FILE *), int argc, char **argv,
                             struct state_flags *f, struct cli_list *args)
{
    const struct cli_flag flags[] = {
        {.name = "specs", .kind = CLI_STRING, .dest = &f->specs},
        {.name = "state", .kind = CLI_STRING, .dest = &f->state},
        {.name = "namespace", .short_name = 'n', .kind = CLI_STRING, .dest = &f->ns},
        {.name = "output", .short_name = 'o', .kind = CLI_STRING, .dest = &f->output},
        {.name = "kubeconfig", .kind = CLI_STRING, .dest = &f->kubeconfig, .opts = CLI_NONEMPTY},
        {.name = "context", .kind = CLI_STRING, .dest = &f->context, .opts = CLI_NONEMPTY},
        {.name = "all-namespaces", .short_name = 'A', .kind = CLI_BOOL, .dest = &f->all},
    };
    bool status = strcmp(name, "status") == 0; /* get has no cluster flags */
    const struct cli_command cmd = {.name = name, .flags = flags, .nflags = CLI_NFLAGS(flags) - (status ? 0 : 3),
                                    .help = help, .args = args};
    return cli_parse(&cmd, argc, argv);
}

static char *state_from_flags(const struct state_flags *f)
{
    if (f->state)
        return strdup(f->state);
    return cli_state_dir_for(f->specs ? f->specs : CLI_DEFAULT_SPECS_DIR);
}

static void status_json(const cJSON *docs, const char *ns, int64_t now)
{
    cJSON *out = cJSON_CreateArray();
    cJSON *doc;
    cJSON_ArrayForEach(doc, docs)
    {
        struct row r;
        doc_row(doc, now, &r);
        if (ns && strcmp(ns, r.ns) != 0)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "namespace", r.ns);
        cJSON_AddStringToObject(o, "name", r.name);
        cJSON_AddStringToObject(o, "phase", r.phase);
        cJSON_AddStringToObject(o, "ready", r.ready);
        cJSON_AddItemToObject(o, "status", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(doc, "status"), true));
        cJSON_AddItemToArray(out, o);
    }
    char *text = cJSON_Print(out);
    if (text)
        puts(text);
    free(text);
    cJSON_Delete(out);
}

/* The columns of the status table; NAMESPACE only when a pipeline is
 * outside "default" and no namespace was asked for. The last column is not
 * padded. */
static const struct column {
    const char *header;
    int width;
    size_t offset; /* of the cell's text in struct row */
} columns[] = {
    {"NAMESPACE", 16, offsetof(struct row, ns)}, {"NAME", 24, offsetof(struct row, name)},
    {"PHASE", 15, offsetof(struct row, phase)},  {"READY", 8, offsetof(struct row, ready)},
    {"MODEL", 12, offsetof(struct row, model)},  {"ACCURACY", 9, offsetof(struct row, acc)},
    {"DRIFT", 7, offsetof(struct row, drift)},   {"AGE", 0, offsetof(struct row, age)},
};

#define NCOLUMNS (sizeof columns / sizeof columns[0])

/* One line of the table: the headers when r is NULL, else r's cells. */
static void print_line(const struct row *r, bool show_ns)
{
    for (size_t i = show_ns ? 0 : 1; i < NCOLUMNS; i++) {
        const char *cell = r ? (const char *)r + columns[i].offset : columns[i].header;
        if (i + 1 < NCOLUMNS)
            printf("%-*s ", columns[i].width, cell);
        else
            printf("%s\n", cell);
    }
}

static void status_table(const cJSON *docs, const char *ns, int64_t now)
{
    bool show_ns = false;
    cJSON *doc;
    cJSON_ArrayForEach(doc, docs)
    {
        const char *dns = meta_str(doc, "namespace");
        if (!ns && dns && strcmp(dns, "default") != 0)
            show_ns = true;
    }
    int shown = 0;
    cJSON_ArrayForEach(doc, docs)
    {
        struct row r;
        doc_row(doc, now, &r);
        if (ns && strcmp(ns, r.ns) != 0)
            continue;
        if (shown++ == 0)
            print_line(NULL, show_ns);
        print_line(&r, show_ns);
    }
    if (shown == 0)
        fprintf(stderr, "No pipelines found%s%s.\n", ns ? " in namespace " : "", ns ? ns : "");
}

int cmd_status(int argc, char **argv)
{
    struct state_flags f = {.output = "table"};
    int r = parse_state_flags("status", status_help, argc, argv, &f, NULL);
    if (r != 0)
        return r < 0 ? CLI_EXIT_OK : r;
    if (strcmp(f.output, "table") != 0 && strcmp(f.output, "json") != 0)
        return cli_usage_error("status", "--output must be table or json, got '%s'", f.output);
    if (f.kubeconfig || f.context) { /* a cluster: the plugin's table (cmd_plugin.c) */
        if (f.specs || f.state || strcmp(f.output, "table") != 0)
            return cli_usage_error("status", "--kubeconfig/--context show the cluster's table; "
                                             "--specs, --state and -o are for the local platform");
        return plugin_status_cluster(f.kubeconfig, f.context, f.ns, f.all);
    }
    char *dir = state_from_flags(&f);
    if (!dir)
        return CLI_EXIT_FAIL;
    cJSON *docs = local_state_list(dir);
    free(dir);
    if (!docs)
        return CLI_EXIT_FAIL;
    int64_t now = clock_now_ms(NULL);
    if (strcmp(f.output, "json") == 0)
        status_json(docs, f.ns, now);
    else
        status_table(docs, f.ns, now);
    cJSON_Delete(docs);
    return CLI_EXIT_OK;
}

static void get_help(FILE *out)
{
    fputs("Usage: selfheal get NAME [-n NAMESPACE] [-o yaml|json] [--specs DIR | --state DIR]\n"
          "\n"
          "Prints one pipeline as the controller last wrote it: metadata, spec and status.\n"
          "\n"
          "  -o, --output FMT   yaml (default) or json\n"
          "  -n, --namespace NS the pipeline's namespace (default: default)\n"
          "  --specs DIR        the specs folder given to `selfheal run` (default " CLI_DEFAULT_SPECS_DIR
          ")\n"
          "  --state DIR        the state folder itself (overrides --specs)\n"
          "  -h, --help         this help\n"
          "\n"
          "Exit status: 0 printed, 1 no such pipeline, 2 usage error.\n",
          out);
}

int cmd_get(int argc, char **argv)
{
    struct state_flags f = {.ns = "default", .output = "yaml"};
    struct cli_list args = {0};
    int r = parse_state_flags("get", get_help, argc, argv, &f, &args);
    const char *name = args.count > 0 ? args.items[0] : NULL;
    const char *extra = args.count > 1 ? args.items[1] : NULL;
    cli_list_free(&args); /* name and extra are argv's */
    if (r != 0)
        return r < 0 ? CLI_EXIT_OK : r;
    if (!name)
        return cli_usage_error("get", "which pipeline? give its NAME");
    if (extra)
        return cli_usage_error("get", "unexpected argument '%s'", extra);
    if (strcmp(f.output, "yaml") != 0 && strcmp(f.output, "json") != 0)
        return cli_usage_error("get", "--output must be yaml or json, got '%s'", f.output);
    char key[512];
    snprintf(key, sizeof key, "%s/%s", f.ns, name);
    char *dir = state_from_flags(&f);
    if (!dir)
        return CLI_EXIT_FAIL;
    cJSON *doc = local_state_read(dir, key);
    if (!doc) {
        fprintf(stderr, "selfheal get: pipeline \"%s\" not found in namespace %s (state folder %s)\n",
                name, f.ns, dir);
        free(dir);
        return CLI_EXIT_FAIL;
    }
    free(dir);
    char *text = strcmp(f.output, "json") == 0 ? cJSON_Print(doc) : yaml_emit(doc);
    cJSON_Delete(doc);
    if (!text)
        return CLI_EXIT_FAIL;
    fputs(text, stdout);
    if (text[0] && text[strlen(text) - 1] != '\n')
        fputc('\n', stdout);
    free(text);
    return CLI_EXIT_OK;
}
