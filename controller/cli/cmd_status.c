/*
 * cmd_status.c — `selfheal status` (a kubectl-like table of the pipelines)
 * and `selfheal get NAME -o yaml|json` (one pipeline's spec and status),
 * both read from the local state folder written by `selfheal run`.
 */
#include "cli/cmd_status.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
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
          "                     its state folder is .selfheal beside it\n"
          "  --state DIR        the state folder itself (overrides --specs)\n"
          "  -n, --namespace NS only pipelines of this namespace\n"
          "  -o, --output FMT   table (default) or json\n"
          "  -h, --help         this help\n"
          "\n"
          "Exit status: 0 shown (also when there are no pipelines), 2 usage error.\n",
          out);
}

static char *state_from_flags(const char *specs, const char *state)
{
    if (state)
        return strdup(state);
    return cli_state_dir_for(specs ? specs : CLI_DEFAULT_SPECS_DIR);
}

int cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {{"specs", required_argument, NULL, 's'},
                                         {"state", required_argument, NULL, 'S'},
                                         {"namespace", required_argument, NULL, 'n'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *specs = NULL, *state = NULL, *ns = NULL, *output = "table";
    cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, "n:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            specs = optarg;
            break;
        case 'S':
            state = optarg;
            break;
        case 'n':
            ns = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            status_help(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_bad_option("status", argc, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("status", "unexpected argument '%s'", argv[optind]);
    if (strcmp(output, "table") != 0 && strcmp(output, "json") != 0)
        return cli_usage_error("status", "--output must be table or json, got '%s'", output);
    char *dir = state_from_flags(specs, state);
    if (!dir)
        return CLI_EXIT_FAIL;
    cJSON *docs = local_state_list(dir);
    free(dir);
    if (!docs)
        return CLI_EXIT_FAIL;
    int64_t now = clock_now_ms(NULL);
    if (strcmp(output, "json") == 0) {
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
        char *s = cJSON_Print(out);
        if (s)
            puts(s);
        free(s);
        cJSON_Delete(out);
        cJSON_Delete(docs);
        return CLI_EXIT_OK;
    }
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
        if (shown++ == 0) {
            if (show_ns)
                printf("%-16s ", "NAMESPACE");
            printf("%-24s %-15s %-8s %-12s %-9s %-7s %s\n", "NAME", "PHASE", "READY", "MODEL",
                   "ACCURACY", "DRIFT", "AGE");
        }
        if (show_ns)
            printf("%-16s ", r.ns);
        printf("%-24s %-15s %-8s %-12s %-9s %-7s %s\n", r.name, r.phase, r.ready, r.model, r.acc,
               r.drift, r.age);
    }
    if (shown == 0)
        fprintf(stderr, "No pipelines found%s%s.\n", ns ? " in namespace " : "", ns ? ns : "");
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
    static const struct option opts[] = {{"specs", required_argument, NULL, 's'},
                                         {"state", required_argument, NULL, 'S'},
                                         {"namespace", required_argument, NULL, 'n'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *specs = NULL, *state = NULL, *ns = "default", *output = "yaml";
    cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, "n:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            specs = optarg;
            break;
        case 'S':
            state = optarg;
            break;
        case 'n':
            ns = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            get_help(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_bad_option("get", argc, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error("get", "which pipeline? give its NAME");
    if (optind + 1 < argc)
        return cli_usage_error("get", "unexpected argument '%s'", argv[optind + 1]);
    if (strcmp(output, "yaml") != 0 && strcmp(output, "json") != 0)
        return cli_usage_error("get", "--output must be yaml or json, got '%s'", output);
    const char *name = argv[optind];
    char key[512];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    char *dir = state_from_flags(specs, state);
    if (!dir)
        return CLI_EXIT_FAIL;
    cJSON *doc = local_state_read(dir, key);
    if (!doc) {
        fprintf(stderr, "selfheal get: pipeline \"%s\" not found in namespace %s (state folder %s)\n",
                name, ns, dir);
        free(dir);
        return CLI_EXIT_FAIL;
    }
    free(dir);
    char *text = strcmp(output, "json") == 0 ? cJSON_Print(doc) : yaml_emit(doc);
    cJSON_Delete(doc);
    if (!text)
        return CLI_EXIT_FAIL;
    fputs(text, stdout);
    if (text[0] && text[strlen(text) - 1] != '\n')
        fputc('\n', stdout);
    free(text);
    return CLI_EXIT_OK;
}
