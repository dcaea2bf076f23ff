/*
 * cmd_validate.c — `selfheal validate`: parses every given file (or every
 * *.yaml, *.yml and *.json file under a given folder, recursively) and
 * validates each SelfHealingPipeline in it, printing one
 * `FILE: path: message` line per problem. Exit 0 when everything is valid,
 * 2 otherwise (so it works as a CI gate). In folders, documents of other
 * Kubernetes kinds (RBAC, Deployments, ...) are skipped: a manifests folder
 * holds more than pipelines. A file named explicitly must hold only
 * pipelines. With --allow-path, paths the specs name are checked against
 * the roots exactly as `selfheal run --allow-path` checks them.
 */
#include "cli/cmd_validate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "base/errors.h"
#include "base/pathguard.h"
#include "base/urlguard.h"
#include "base/redact.h"
#include "runtime/spec.h"
#include "base/strmap.h"
#include "base/yamljson.h"

struct validate_run {
    int quiet;
    int bad;            /* problems found */
    size_t pipelines;   /* valid pipelines */
    size_t skipped_docs;  /* in folders: documents of other kinds */
    size_t skipped_files; /* in folders: files that are no pipelines at all */
    struct strmap *seen; /* "ns/name" → owned "file" */
    struct pathguard *guard; /* --allow-path roots (none: unconfined) */
    struct urlguard *urls;   /* --allow-url patterns (none: unconfined) */
};

static void validate_help(FILE *out)
{
    fputs("Usage: selfheal validate -f FILE|DIR [-f FILE|DIR ...] [-q]\n"
          "\n"
          "Checks SelfHealingPipeline specs without running anything. Every problem is\n"
          "printed as `FILE: field.path: message`; unknown fields are errors (with a\n"
          "did-you-mean), so a typo never silently falls back to a default.\n"
          "A folder is searched recursively for *.yaml, *.yml and *.json files; in a\n"
          "folder, what is not a pipeline is skipped and counted: documents of other\n"
          "kinds (RBAC, Deployments, a CRD) or with neither kind nor spec (a chart's\n"
          "values.yaml), and files that are not YAML and never name SelfHealingPipeline\n"
          "(templates). Two pipelines of one name and namespace in one folder (what\n"
          "`kubectl apply -f DIR` or `selfheal run --specs DIR` takes) are a problem.\n"
          "\n"
          "  -f, --filename PATH  a file or folder to check (repeatable; bare arguments too)\n"
          "  --allow-path DIR     paths the specs name must lie under DIR, as with\n"
          "                       `selfheal run --allow-path` (repeatable)\n"
          "  --allow-url PATTERN  URLs the specs name must have a host matching PATTERN (a\n"
          "                       name, *.domain, an address or a network like 10.0.0.0/8,\n"
          "                       optionally :PORT), as with `selfheal run --allow-url`\n"
          "                       (repeatable)\n"
          "  -q, --quiet          print only problems\n"
          "  -h, --help           this help\n"
          "\n"
          "Exit status: 0 all valid, 2 a problem was found or a file could not be read.\n",
          out);
}

static int has_spec_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0 || strcmp(dot, ".json") == 0);
}

static const char *str_at(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* In a folder: a document that is not a pipeline, so not ours to judge —
 * another kind of resource, or one with neither kind nor spec (a chart's
 * values.yaml, Chart.yaml). A pipeline with a typo in its kind is still
 * judged (it names selfheal.dev or has a spec). */
static int foreign_kind(const cJSON *doc)
{
    const char *av = str_at(doc, "apiVersion"), *kind = str_at(doc, "kind");
    if (av && strncmp(av, "selfheal.dev/", 13) == 0)
        return 0;
    if (kind)
        return strcmp(kind, SPEC_KIND) != 0;
    return !cJSON_GetObjectItemCaseSensitive(doc, "spec");
}

/* For a file in a folder that does not parse: whether it is a broken
 * pipeline (reported) rather than a template ({{ }}, a Helm chart's) or
 * a file that never names a pipeline (skipped). */
static int names_pipeline(const char *file)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return 1;
    char line[4096];
    int found = 0, templ = 0;
    while (!templ && fgets(line, sizeof line, f)) {
        found |= strstr(line, SPEC_KIND) || strstr(line, "selfheal.dev/");
        templ = strstr(line, "{{") != NULL;
    }
    fclose(f);
    return found && !templ;
}

static void check_duplicate(struct validate_run *vr, const char *file, const cJSON *doc)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
    const char *name = str_at(md, "name"), *ns = str_at(md, "namespace");
    if (!name)
        return;
    /* per folder: the files one `apply -f DIR` or `run --specs DIR` takes */
    const char *slash = strrchr(file, '/');
    int dirlen = slash ? (int)(slash - file) : 0;
    char key[5200];
    snprintf(key, sizeof key, "%.*s:%s/%s", dirlen, file, ns ? ns : "default", name);
    const char *other = strmap_get(vr->seen, key);
    if (other) {
        fprintf(stdout, "%s: metadata.name: duplicate pipeline %s (also in %s)\n", file, key, other);
        vr->bad++;
        return;
    }
    char *copy = strdup(file);
    if (copy && strmap_put(vr->seen, key, copy, NULL) != 0)
        free(copy);
}

/* A warning (exit status unchanged) for each URL carrying a credential
 * inline: it belongs in a reference (auth, docs/security.md), and is shown
 * redacted everywhere anyway. */
static void warn_inline_credentials(const char *file, const struct spec *s)
{
    static const char why[] = "warning: credentials written inline (userinfo or a secret "
                              "query parameter) belong in a reference: auth with env, file or "
                              "secretKeyRef (docs/security.md); they are shown as xxxxx";
    const struct {
        const char *path, *url;
    } urls[] = {
        {"spec.service.healthCheck.url", s->service.health_check.url},
        {"spec.model.metric.source.url", s->model.metric.source.url},
        {"spec.drift.score.source.url", s->drift.score_source.url},
    };
    for (size_t i = 0; i < sizeof urls / sizeof *urls; i++)
        if (urls[i].url && redact_url_has_credentials(urls[i].url))
            fprintf(stdout, "%s: %s: %s\n", file, urls[i].path, why);
    const struct {
        const char *path;
        const struct spec_http_auth *a;
    } tls[] = {
        {"spec.service.healthCheck.tls.insecureSkipVerify", &s->service.health_check.auth},
        {"spec.model.metric.source.tls.insecureSkipVerify", &s->model.metric.source.auth},
        {"spec.drift.score.source.tls.insecureSkipVerify", &s->drift.score_source.auth},
    };
    static const char insecure[] = "warning: the server's certificate is not verified (anyone "
                                   "on the path can read the credentials and forge the answers); "
                                   "prefer tls.caFile or tls.caSecretKeyRef";
    for (size_t i = 0; i < sizeof tls / sizeof *tls; i++)
        if (tls[i].a->insecure_skip_verify)
            fprintf(stdout, "%s: %s: %s\n", file, tls[i].path, insecure);
    for (size_t i = 0; i < s->model.nmetrics; i++) {
        const struct spec_metric_source *src = &s->model.metrics[i].source;
        if (src->url && redact_url_has_credentials(src->url))
            fprintf(stdout, "%s: spec.model.metrics[%zu].source.url: %s\n", file, i, why);
        if (src->auth.insecure_skip_verify)
            fprintf(stdout, "%s: spec.model.metrics[%zu].source.tls.insecureSkipVerify: %s\n", file,
                    i, insecure);
    }
}

static void validate_file(struct validate_run *vr, const char *file, int in_folder)
{
    cJSON *docs = NULL;
    char *err = NULL;
    if (spec_file_parse(file, &docs, &err) != 0) {
        if (in_folder && !names_pipeline(file)) {
            vr->skipped_files++;
            free(err);
            return;
        }
        /* err already names the file, line and column */
        redact_inplace(err);
        fprintf(stdout, "%s\n", err ? err : file);
        free(err);
        vr->bad++;
        return;
    }
    size_t valid = 0, skipped = 0;
    const cJSON *doc;
    cJSON_ArrayForEach(doc, docs) {
        if (in_folder && foreign_kind(doc)) {
            skipped++;
            continue;
        }
        struct spec s;
        struct spec_errors errs = {0};
        int r = spec_decode_object(doc, &s, &errs);
        if (r != SH_ENOMEM) {
            int pr = spec_check_paths(&s, vr->guard, &errs);
            if (pr != 0)
                r = pr == SH_ENOMEM ? pr : SH_EINVAL;
            int ur = spec_check_urls(&s, vr->urls, &errs);
            if (ur != 0 && r != SH_ENOMEM)
                r = ur == SH_ENOMEM ? ur : SH_EINVAL;
        }
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stdout, "%s: %s: %s\n", file, errs.items[i].path[0] ? errs.items[i].path : "document",
                    errs.items[i].message);
        if (r == SH_ENOMEM)
            fprintf(stdout, "%s: out of memory\n", file);
        if (r != 0)
            vr->bad++;
        else
            valid++;
        warn_inline_credentials(file, &s);
        if (cJSON_IsObject(doc))
            check_duplicate(vr, file, doc);
        spec_errors_free(&errs);
        spec_free(&s);
    }
    vr->pipelines += valid;
    vr->skipped_docs += skipped;
    if (!vr->quiet && valid > 0)
        fprintf(stderr, "%s: %zu pipeline%s valid%s\n", file, valid, valid == 1 ? "" : "s",
                skipped ? " (other kinds skipped)" : "");
    cJSON_Delete(docs);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void validate_path(struct validate_run *vr, const char *path, int in_folder, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stdout, "%s: cannot read: %s\n", path, strerror(errno));
        vr->bad++;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        validate_file(vr, path, in_folder);
        return;
    }
    if (depth > 16)
        return;
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stdout, "%s: cannot read: %s\n", path, strerror(errno));
        vr->bad++;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof(char *));
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(dir);
    qsort(names, n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char child[4096];
        snprintf(child, sizeof child, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
        struct stat cst;
        if (stat(child, &cst) == 0 && (S_ISDIR(cst.st_mode) || has_spec_ext(names[i])))
            validate_path(vr, child, 1, depth + 1);
        free(names[i]);
    }
    free(names);
}

static void report_total(const struct validate_run *vr)
{
    char skipped[160] = "";
    if (vr->skipped_docs || vr->skipped_files)
        snprintf(skipped, sizeof skipped, "; skipped, not pipelines: %zu document%s, %zu file%s",
                 vr->skipped_docs, vr->skipped_docs == 1 ? "" : "s", vr->skipped_files,
                 vr->skipped_files == 1 ? "" : "s");
    if (vr->pipelines == 0)
        fprintf(stderr, "no pipelines found%s\n", skipped);
    else
        fprintf(stderr, "all %zu pipeline%s valid%s\n", vr->pipelines,
                vr->pipelines == 1 ? "" : "s", skipped);
}

static void free_seen(void *ctx, const char *key, void *value)
{
    (void)ctx;
    (void)key;
    free(value);
}

static int add_root(const char *dir, void *dest, char **ret_err)
{
    int r = pathguard_add_root(dest, dir, ret_err);
    if (r != 0 && !*ret_err)
        *ret_err = strdup("out of memory");
    return r ? -1 : 0;
}

static int add_url(const char *pattern, void *dest, char **ret_err)
{
    int r = urlguard_add(dest, pattern, ret_err);
    if (r != 0 && !*ret_err)
        *ret_err = strdup("out of memory");
    return r ? -1 : 0;
}

static void validate_all(struct validate_run *vr, const struct cli_list *paths)
{
    for (size_t i = 0; i < paths->count; i++)
        validate_path(vr, paths->items[i], 0, 0);
}

int cmd_validate(int argc, char **argv)
{
    struct validate_run vr = {0};
    struct cli_list files = {0}, args = {0};
    if (pathguard_new(&vr.guard) != 0)
        return CLI_EXIT_FAIL;
    if (urlguard_new(&vr.urls) != 0) {
        pathguard_free(vr.guard);
        return CLI_EXIT_FAIL;
    }
    bool quiet = false;
    const struct cli_flag flags[] = {
        {.name = "filename", .short_name = 'f', .kind = CLI_LIST, .dest = &files},
        {.name = "quiet", .short_name = 'q', .kind = CLI_BOOL, .dest = &quiet},
        {.name = "allow-path", .kind = CLI_CUSTOM, .dest = vr.guard, .parse = add_root},
        {.name = "allow-url", .kind = CLI_CUSTOM, .dest = vr.urls, .parse = add_url},
    };
    const struct cli_command cmd = {.name = "validate", .flags = flags,
                                    .nflags = CLI_NFLAGS(flags), .help = validate_help,
                                    .args = &args};
    int rc = cli_parse(&cmd, argc, argv);
    vr.quiet = quiet;
    if (rc == 0 && files.count + args.count == 0)
        rc = cli_usage_error("validate", "give at least one file or folder with -f");
    if (rc == 0 && !(vr.seen = strmap_new()))
        rc = CLI_EXIT_FAIL;
    if (rc == 0) {
        validate_all(&vr, &files); /* -f first, then bare arguments */
        validate_all(&vr, &args);
        if (vr.bad > 0)
            rc = CLI_EXIT_USAGE;
        else if (!vr.quiet)
            report_total(&vr);
    }
    if (vr.seen)
        strmap_foreach(vr.seen, free_seen, NULL);
    strmap_free(vr.seen);
    pathguard_free(vr.guard);
    urlguard_free(vr.urls);
    cli_list_free(&files);
    cli_list_free(&args);
    return rc < 0 ? CLI_EXIT_OK : rc;
}
