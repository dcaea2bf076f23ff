/*
 * check_pathguard.c — paths named by specs confined to the --allow-path
 * roots: `..` and symbolic links resolved (links out refused, dangling links
 * refused), files not yet created judged by their nearest existing parent,
 * sibling folders with a common prefix kept apart; spec_check_paths naming
 * the field; pipeline_new turning an outside path into an invalid pipeline.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/pathguard.h"
#include "runtime/pipeline.h"
#include "runtime/spec.h"
#include "base/yamljson.h"

Suite *pathguard_suite(void);

static char base[PATH_MAX]; /* realpath of a fresh temp folder */
static char root[PATH_MAX]; /* base/root: the allowed root */

static void mkfile(const char *path)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("a,b\n1,2\n", f);
    fclose(f);
}

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof tmpl, "%s/check_pathguard.XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    ck_assert_ptr_nonnull(realpath(tmpl, base));
    char p[PATH_MAX * 2];
    snprintf(root, sizeof root, "%s/root", base);
    ck_assert_int_eq(mkdir(root, 0700), 0);
    snprintf(p, sizeof p, "%s/root2", base); /* a sibling sharing the prefix */
    ck_assert_int_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/outside.csv", base);
    mkfile(p);
    snprintf(p, sizeof p, "%s/root/data.csv", base);
    mkfile(p);
    snprintf(p, sizeof p, "%s/root/sub", base);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    char target[PATH_MAX * 2];
    snprintf(target, sizeof target, "%s/outside.csv", base);
    snprintf(p, sizeof p, "%s/root/link-out", base);
    ck_assert_int_eq(symlink(target, p), 0);
    snprintf(p, sizeof p, "%s/root/link-dir-out", base);
    ck_assert_int_eq(symlink(base, p), 0);
    snprintf(p, sizeof p, "%s/root/link-in", base);
    ck_assert_int_eq(symlink("data.csv", p), 0);
    snprintf(target, sizeof target, "%s/not-yet.csv", base);
    snprintf(p, sizeof p, "%s/root/dangling", base);
    ck_assert_int_eq(symlink(target, p), 0);
}

static void rm_rf(const char *dir)
{
    /* the fixture's exact contents, no recursion needed */
    static const char *const names[] = {"root/data.csv", "root/link-out", "root/link-dir-out",
                                        "root/link-in",  "root/dangling", "root/sub",
                                        "root",          "root2",         "outside.csv"};
    char p[PATH_MAX * 2];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (unlink(p) != 0)
            rmdir(p);
    }
    rmdir(dir);
}

static void teardown(void)
{
    rm_rf(base);
}

static struct pathguard *guard_of(const char *dir)
{
    struct pathguard *g = NULL;
    ck_assert_int_eq(pathguard_new(&g), 0);
    char *err = NULL;
    ck_assert_int_eq(pathguard_add_root(g, dir, &err), 0);
    ck_assert_ptr_null(err);
    return g;
}

/* Checks base-relative `rel` ("root/x") against the guard; returns the code
 * and leaves the message in *msg (owned). */
static int check_rel(const struct pathguard *g, const char *rel, char **msg)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    return pathguard_check(g, p, msg);
}

START_TEST(test_no_roots_allows_everything)
{
    struct pathguard *g = NULL;
    ck_assert_int_eq(pathguard_new(&g), 0);
    ck_assert_uint_eq(pathguard_count(g), 0);
    ck_assert_str_eq(pathguard_describe(g), "");
    char *msg = NULL;
    ck_assert_int_eq(pathguard_check(g, "/etc/passwd", &msg), 0);
    ck_assert_ptr_null(msg);
    ck_assert_int_eq(pathguard_check(NULL, "/etc/shadow", NULL), 0);
    pathguard_free(g);
}
END_TEST

START_TEST(test_inside_paths_pass)
{
    struct pathguard *g = guard_of(root);
    static const char *const inside[] = {
        "root",                 /* the root itself */
        "root/data.csv",        /* an existing file */
        "root/new.csv",         /* not created yet */
        "root/sub/a/b/new.csv", /* deep, folders not created yet */
        "root/./sub/../data.csv",
        "root/new/../data.csv", /* `..` through a folder not created yet */
        "root/link-in",         /* a link that stays inside */
        "root2/../root/data.csv",
        "root//sub//",
    };
    for (size_t i = 0; i < sizeof inside / sizeof *inside; i++) {
        char *msg = NULL;
        int r = check_rel(g, inside[i], &msg);
        ck_assert_msg(r == 0, "%s: %d %s", inside[i], r, msg ? msg : "");
        ck_assert_ptr_null(msg);
    }
    pathguard_free(g);
}
END_TEST

START_TEST(test_outside_paths_refused)
{
    struct pathguard *g = guard_of(root);
    static const char *const outside[] = {
        "outside.csv",
        "root/../outside.csv",
        "root/../../../../../../etc/passwd",
        "root/link-out",            /* a link to a file outside */
        "root/link-dir-out/x.csv",  /* a file below a link to a folder outside */
        "root/new/../../outside.csv", /* `..` through a folder not created yet */
        "root/new/../link-out",     /* ... back onto a link out */
        "root/new/../link-dir-out/x.csv",
        "root2/x.csv",              /* a sibling with the same prefix */
        "root2",
    };
    for (size_t i = 0; i < sizeof outside / sizeof *outside; i++) {
        char *msg = NULL;
        int r = check_rel(g, outside[i], &msg);
        ck_assert_msg(r == SH_EFORBIDDEN, "%s: %d", outside[i], r);
        ck_assert_ptr_nonnull(msg);
        ck_assert_msg(strstr(msg, "outside the allowed paths (--allow-path ") != NULL, "%s", msg);
        ck_assert_msg(strstr(msg, root) != NULL, "%s", msg);
        free(msg);
    }
    /* the message names the path and, when it differs, what it resolved to */
    char *msg = NULL;
    ck_assert_int_eq(check_rel(g, "root/link-out", &msg), SH_EFORBIDDEN);
    char want[PATH_MAX * 4];
    snprintf(want, sizeof want,
             "%s/root/link-out resolves to %s/outside.csv, outside the allowed paths "
             "(--allow-path %s)",
             base, base, root);
    ck_assert_str_eq(msg, want);
    free(msg);
    ck_assert_int_eq(pathguard_check(g, "/etc/passwd", &msg), SH_EFORBIDDEN);
    snprintf(want, sizeof want, "/etc/passwd is outside the allowed paths (--allow-path %s)", root);
    ck_assert_str_eq(msg, want);
    free(msg);
    pathguard_free(g);
}
END_TEST

START_TEST(test_dangling_link_refused)
{
    struct pathguard *g = guard_of(root);
    char *msg = NULL;
    ck_assert_int_eq(check_rel(g, "root/dangling", &msg), SH_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg, "dangling symbolic link"));
    free(msg);
    ck_assert_int_eq(check_rel(g, "root/data.csv/x", &msg), SH_EINVAL); /* a file used as a folder */
    free(msg);
    ck_assert_int_eq(pathguard_check(g, "", &msg), SH_EINVAL);
    free(msg);
    pathguard_free(g);
}
END_TEST

START_TEST(test_relative_paths_use_the_working_folder)
{
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(root), 0);
    struct pathguard *g = guard_of("."); /* stored resolved */
    char resolved[PATH_MAX];
    ck_assert_int_eq(pathguard_resolve("sub/../new.csv", resolved, sizeof resolved, NULL), 0);
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want, "%s/new.csv", root);
    ck_assert_str_eq(resolved, want);
    int in = pathguard_check(g, "data.csv", NULL);
    int out = pathguard_check(g, "../outside.csv", NULL);
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_int_eq(in, 0);
    ck_assert_int_eq(out, SH_EFORBIDDEN);
    snprintf(want, sizeof want, "--allow-path %s", root);
    ck_assert_str_eq(pathguard_describe(g), want); /* resolved, not "." */
    pathguard_free(g);
}
END_TEST

START_TEST(test_roots_must_be_folders)
{
    struct pathguard *g = NULL;
    ck_assert_int_eq(pathguard_new(&g), 0);
    char *err = NULL;
    ck_assert_int_eq(pathguard_add_root(g, "/no/such/folder", &err), SH_EINVAL);
    ck_assert_str_eq(err, "--allow-path /no/such/folder: No such file or directory");
    free(err);
    char file[PATH_MAX * 2];
    snprintf(file, sizeof file, "%s/outside.csv", base);
    ck_assert_int_eq(pathguard_add_root(g, file, &err), SH_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "Not a directory"));
    free(err);
    ck_assert_uint_eq(pathguard_count(g), 0);
    /* several roots: each allows its own tree */
    ck_assert_int_eq(pathguard_add_root(g, root, NULL), 0);
    char r2[PATH_MAX * 2];
    snprintf(r2, sizeof r2, "%s/root2", base);
    ck_assert_int_eq(pathguard_add_root(g, r2, NULL), 0);
    ck_assert_uint_eq(pathguard_count(g), 2);
    ck_assert_int_eq(check_rel(g, "root2/x.csv", NULL), 0);
    ck_assert_int_eq(check_rel(g, "root/x.csv", NULL), 0);
    ck_assert_int_eq(check_rel(g, "outside.csv", NULL), SH_EFORBIDDEN);
    pathguard_free(g);
    /* "/" allows everything */
    g = guard_of("/");
    ck_assert_int_eq(pathguard_check(g, "/etc/passwd", NULL), 0);
    pathguard_free(g);
}
END_TEST

/* A pipeline whose paths are given (base-relative where they start with @). */
static cJSON *pipeline_doc(const char *data_path, const char *registry)
{
    char yaml[8192];
    int n = snprintf(yaml, sizeof yaml,
                     "apiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\n"
                     "metadata: {name: p}\nspec:\n"
                     "  dataQuality: {path: \"%s\"}\n"
                     "  drift:\n    reference: {path: \"%s/root/data.csv\"}\n"
                     "    current: {path: \"%s/root/data.csv\"}\n",
                     data_path, base, base);
    if (registry)
        snprintf(yaml + n, sizeof yaml - (size_t)n,
                 "  model:\n    metric: {source: {file: {path: \"%s/root/m.json\"}}}\n"
                 "    rollback: {registry: {path: \"%s\"}}\n",
                 base, registry);
    else
        snprintf(yaml + n, sizeof yaml - (size_t)n,
                 "  model:\n    metric: {source: {file: {path: \"%s/root/m.json\"}}}\n", base);
    cJSON *docs = NULL;
    char *err = NULL;
    ck_assert_int_eq(yaml_parse_documents(yaml, strlen(yaml), "t.yaml", &docs, &err), 0);
    cJSON *doc = cJSON_DetachItemFromArray(docs, 0);
    cJSON_Delete(docs);
    return doc;
}

START_TEST(test_spec_paths_checked_with_field)
{
    struct pathguard *g = guard_of(root);
    cJSON *doc = pipeline_doc("/etc/passwd", NULL);
    struct spec s;
    struct spec_errors errs = {0};
    ck_assert_int_eq(spec_decode_object(doc, &s, &errs), 0);
    ck_assert_int_eq(spec_check_paths(&s, g, &errs), SH_EINVAL);
    ck_assert_uint_eq(errs.count, 1); /* drift CSVs and the metric file are inside; default
                                         registry "models" is the controller's, not the spec's */
    ck_assert_str_eq(errs.items[0].path, "spec.dataQuality.path");
    char *joined = spec_errors_join(&errs, "; ");
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want,
             "spec.dataQuality.path: /etc/passwd is outside the allowed paths (--allow-path %s)",
             root);
    ck_assert_str_eq(joined, want);
    free(joined);
    spec_errors_free(&errs);
    /* no guard: unconfined */
    ck_assert_int_eq(spec_check_paths(&s, NULL, &errs), 0);
    ck_assert_uint_eq(errs.count, 0);
    spec_free(&s);
    cJSON_Delete(doc);

    /* an explicit registry outside is refused too */
    char inside[PATH_MAX * 2];
    snprintf(inside, sizeof inside, "%s/root/data.csv", base);
    doc = pipeline_doc(inside, "/var/lib/elsewhere");
    ck_assert_int_eq(spec_decode_object(doc, &s, &errs), 0);
    ck_assert_int_eq(spec_check_paths(&s, g, &errs), SH_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.items[0].path, "spec.model.rollback.registry.path");
    spec_errors_free(&errs);
    spec_free(&s);
    cJSON_Delete(doc);
    pathguard_free(g);
}
END_TEST

static int check_paths(const struct spec *s, const void *guard, struct spec_errors *errs)
{
    return spec_check_paths(s, guard, errs);
}

START_TEST(test_pipeline_outside_is_invalid)
{
    struct pathguard *g = guard_of(root);
    pipeline_set_spec_check(check_paths, g);
    char evil[PATH_MAX * 2], good[PATH_MAX * 2];
    snprintf(evil, sizeof evil, "%s/root/../../../../etc/passwd", base);
    snprintf(good, sizeof good, "%s/root/data.csv", base);
    struct pipeline *bad = NULL, *ok = NULL;
    ck_assert_int_eq(pipeline_new(pipeline_doc(evil, NULL), "t.yaml", "default", 1, 0, &bad, NULL), 0);
    ck_assert_int_eq(pipeline_new(pipeline_doc(good, NULL), "t.yaml", "default", 1, 0, &ok, NULL), 0);
    pipeline_set_spec_check(NULL, NULL);
    ck_assert(!bad->valid);
    ck_assert_ptr_nonnull(strstr(bad->invalid_message, "spec.dataQuality.path: "));
    ck_assert_ptr_nonnull(strstr(bad->invalid_message, "resolves to /etc/passwd, outside the allowed paths"));
    ck_assert(ok->valid);
    pipeline_unref(bad);
    pipeline_unref(ok);
    /* without a guard the same spec is valid (today's unconfined default) */
    ck_assert_int_eq(pipeline_new(pipeline_doc(evil, NULL), "t.yaml", "default", 1, 0, &bad, NULL), 0);
    ck_assert(bad->valid);
    pipeline_unref(bad);
    pathguard_free(g);
}
END_TEST

Suite *pathguard_suite(void)
{
    Suite *s = suite_create("pathguard");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_no_roots_allows_everything);
    tcase_add_test(tc, test_inside_paths_pass);
    tcase_add_test(tc, test_outside_paths_refused);
    tcase_add_test(tc, test_dangling_link_refused);
    tcase_add_test(tc, test_relative_paths_use_the_working_folder);
    tcase_add_test(tc, test_roots_must_be_folders);
    tcase_add_test(tc, test_spec_paths_checked_with_field);
    tcase_add_test(tc, test_pipeline_outside_is_invalid);
    suite_add_tcase(s, tc);
    return s;
}
