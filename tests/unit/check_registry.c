/*
 * check_registry.c — the local model registry (controller/local/registry.h):
 * natural order of version names, recorded metrics, the `current` symlink
 * (absent, broken, a folder), the atomic swap (a reader thread never sees
 * `current` missing while it is swapped thousands of times), and the local
 * model actuators on top.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/errors.h"
#include "local/registry.h"

Suite *registry_suite(void);

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sh-registry-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char *argv[] = {"rm", "-rf", dir, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execvp("rm", argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
}

/* Creates <dir>/<name>/ with metrics.json holding `json` (NULL: no file). */
static void add_version(const char *name, const char *json)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    if (!json)
        return;
    snprintf(p, sizeof p, "%s/%s/metrics.json", dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(json, f);
    fclose(f);
}

static void link_current(const char *target)
{
    char p[256];
    snprintf(p, sizeof p, "%s/current", dir);
    unlink(p);
    ck_assert_int_eq(symlink(target, p), 0);
}

static void read_link(char *buf, size_t size)
{
    char p[256];
    snprintf(p, sizeof p, "%s/current", dir);
    ssize_t n = readlink(p, buf, size - 1);
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
}

START_TEST(test_natural_order)
{
    ck_assert_int_lt(registry_natural_cmp("v9", "v10"), 0);
    ck_assert_int_gt(registry_natural_cmp("v10", "v9"), 0);
    ck_assert_int_lt(registry_natural_cmp("1.2", "1.10"), 0);
    ck_assert_int_lt(registry_natural_cmp("1.10", "1.10.1"), 0);
    ck_assert_int_lt(registry_natural_cmp("model-2", "model-12"), 0);
    ck_assert_int_lt(registry_natural_cmp("a", "b"), 0);
    ck_assert_int_lt(registry_natural_cmp("v2", "v2a"), 0);
    ck_assert_int_lt(registry_natural_cmp("99999999999999999999", "100000000000000000000"), 0);
    ck_assert_int_eq(registry_natural_cmp("v7", "v7"), 0);
    /* numerically equal names still get a total, deterministic order */
    int a = registry_natural_cmp("v007", "v7"), b = registry_natural_cmp("v7", "v007");
    ck_assert_int_ne(a, 0);
    ck_assert_int_eq(a, -b);
    ck_assert_int_lt(registry_natural_cmp("v1", "v01x"), 0);
}
END_TEST

START_TEST(test_list_in_natural_order_with_recorded_metrics)
{
    add_version("v10", "{\"accuracy\": 0.5}");
    add_version("v9", "{\"accuracy\": 0.91, \"f1\": 0.4}");
    add_version("v2", "{\"accuracy\": 0.82}");
    add_version("v11", NULL);                    /* no metrics.json */
    add_version("v12", "{\"accuracy\": \"high\"}"); /* not a number */
    add_version("v13", "not json");
    add_version(".staging", "{\"accuracy\": 0.99}");
    char p[256];
    snprintf(p, sizeof p, "%s/README", dir);
    FILE *f = fopen(p, "w");
    fputs("not a version\n", f);
    fclose(f);
    link_current("v10");

    struct model_version *v = NULL;
    size_t n = 0;
    char *err = NULL;
    ck_assert_int_eq(registry_list(dir, "accuracy", &v, &n, &err), 0);
    ck_assert_uint_eq(n, 6);
    const char *want[] = {"v2", "v9", "v10", "v11", "v12", "v13"};
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(v[i].name, want[i]);
    ck_assert(v[0].has_metric);
    ck_assert_double_eq(v[0].metric, 0.82);
    ck_assert_double_eq(v[1].metric, 0.91);
    ck_assert(!v[3].has_metric);
    ck_assert(!v[4].has_metric);
    ck_assert(!v[5].has_metric);
    free(v);
    /* the spec's metric name first, then "accuracy" */
    ck_assert_int_eq(registry_list(dir, "f1", &v, &n, &err), 0);
    ck_assert_double_eq(v[1].metric, 0.4);
    ck_assert_double_eq(v[0].metric, 0.82);
    free(v);
}
END_TEST

START_TEST(test_list_missing_registry)
{
    char p[256];
    snprintf(p, sizeof p, "%s/nope", dir);
    struct model_version *v = NULL;
    size_t n = 7;
    char *err = NULL;
    ck_assert_int_eq(registry_list(p, NULL, &v, &n, &err), SH_ENOTFOUND);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
    ck_assert_ptr_nonnull(strstr(err, p));
    free(err);
}
END_TEST

START_TEST(test_current_absent_broken_or_a_folder)
{
    add_version("v1", "{\"accuracy\": 0.8}");
    char name[MODEL_VERSION_MAX];
    char *err = NULL;
    ck_assert_int_eq(registry_current(dir, name, sizeof name, &err), SH_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "no active version"));
    free(err);
    err = NULL;

    link_current("v1");
    ck_assert_int_eq(registry_current(dir, name, sizeof name, &err), 0);
    ck_assert_str_eq(name, "v1");
    link_current("./v1/");
    ck_assert_int_eq(registry_current(dir, name, sizeof name, &err), 0);
    ck_assert_str_eq(name, "v1");

    link_current("v9");
    ck_assert_int_eq(registry_current(dir, name, sizeof name, &err), SH_EINVAL);
    ck_assert_str_eq(name, "");
    ck_assert_ptr_nonnull(strstr(err, "current -> v9: broken symlink (No such file or directory)"));
    free(err);
    err = NULL;

    link_current("/tmp"); /* a folder, but not a version of this registry */
    ck_assert_int_eq(registry_current(dir, name, sizeof name, &err), SH_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a version folder of the registry"));
    free(err);
    err = NULL;

    char p[256];
    snprintf(p, sizeof p, "%s/current", dir);
    unlink(p);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    ck_assert_int_eq(registry_current(dir, name, sizeof name, &err), SH_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a symlink"));
    free(err);
    err = NULL;
    /* and the swap refuses to replace a real folder */
    ck_assert_int_eq(registry_activate(dir, "v1", &err), SH_EIO);
    ck_assert_ptr_nonnull(strstr(err, "it is a folder, not a symlink"));
    free(err);
}
END_TEST

/* Names in the registry folder that start with ".current" (temporary links). */
static int count_temp_links(void)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, ".current", 8) == 0)
            n++;
    closedir(d);
    return n;
}

START_TEST(test_activate_swaps_the_link)
{
    add_version("v1", "{\"accuracy\": 0.8}");
    add_version("v2", "{\"accuracy\": 0.9}");
    char *err = NULL;
    char target[256], name[MODEL_VERSION_MAX];
    /* no current yet: activation creates it */
    ck_assert_int_eq(registry_activate(dir, "v1", &err), 0);
    read_link(target, sizeof target);
    ck_assert_str_eq(target, "v1");
    ck_assert_int_eq(registry_activate(dir, "v2", &err), 0);
    read_link(target, sizeof target);
    ck_assert_str_eq(target, "v2");
    ck_assert_int_eq(registry_current(dir, name, sizeof name, &err), 0);
    ck_assert_str_eq(name, "v2");
    /* a relative link: the registry can be moved */
    char p[256];
    struct stat st;
    snprintf(p, sizeof p, "%s/current/metrics.json", dir);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(count_temp_links(), 0);

    ck_assert_int_eq(registry_activate(dir, "v3", &err), SH_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "v3: no such version folder"));
    free(err);
    err = NULL;
    ck_assert_int_eq(registry_activate(dir, "../v1", &err), SH_EINVAL);
    free(err);
    err = NULL;
    ck_assert_int_eq(registry_activate(dir, "current", &err), SH_EINVAL);
    free(err);
    err = NULL;
    read_link(target, sizeof target);
    ck_assert_str_eq(target, "v2"); /* failures leave it alone */
    ck_assert_int_eq(count_temp_links(), 0);
}
END_TEST

struct reader {
    atomic_bool stop;
    atomic_long reads;
    atomic_long missing;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    char p[256], buf[256];
    snprintf(p, sizeof p, "%s/current", dir);
    /* yields so that the swapper runs in between (also under valgrind,
     * which runs one thread at a time) */
    while (!atomic_load(&r->stop)) {
        if (readlink(p, buf, sizeof buf) < 0)
            atomic_fetch_add(&r->missing, 1);
        atomic_fetch_add(&r->reads, 1);
        sched_yield();
    }
    return NULL;
}

START_TEST(test_swap_is_atomic_for_readers)
{
    add_version("v1", NULL);
    add_version("v2", NULL);
    char *err = NULL;
    ck_assert_int_eq(registry_activate(dir, "v1", &err), 0);
    struct reader r;
    atomic_init(&r.stop, false);
    atomic_init(&r.reads, 0);
    atomic_init(&r.missing, 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, reader_main, &r), 0);
    for (int i = 0; i < 400; i++) {
        ck_assert_int_eq(registry_activate(dir, i % 2 ? "v1" : "v2", &err), 0);
        sched_yield();
    }
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    ck_assert_int_ge(atomic_load(&r.reads), 400); /* it did look during the swaps */
    ck_assert_int_eq(atomic_load(&r.missing), 0);
    ck_assert_int_eq(count_temp_links(), 0);
}
END_TEST

START_TEST(test_local_actuators_use_the_spec)
{
    add_version("v1", "{\"accuracy\": 0.82}");
    add_version("v2", "{\"accuracy\": 0.91}");
    add_version("v3", "{\"accuracy\": 0.65}");
    link_current("v3");
    struct pipeline p;
    memset(&p, 0, sizeof p);
    p.key = "default/housing";
    p.spec.model.metric.name = "accuracy";
    p.spec.model.rollback.registry_path = dir;
    const struct model_actuators *ma = registry_model_actuators();
    struct model_registry_view view;
    ck_assert_int_eq(ma->observe(ma, &p, &view), 0);
    ck_assert_uint_eq(view.count, 3);
    ck_assert_str_eq(view.current, "v3");
    ck_assert_str_eq(view.error, "");
    ck_assert_str_eq(view.versions[1].name, "v2");
    model_registry_view_free(&view);
    char *err = NULL;
    ck_assert_int_eq(ma->activate(ma, &p, "v2", NULL, &err), 0);
    ck_assert_int_eq(ma->observe(ma, &p, &view), 0);
    ck_assert_str_eq(view.current, "v2");
    model_registry_view_free(&view);

    link_current("gone");
    ck_assert_int_eq(ma->observe(ma, &p, &view), 0);
    ck_assert_str_eq(view.current, "");
    ck_assert_ptr_nonnull(strstr(view.error, "broken symlink"));
    model_registry_view_free(&view);

    char missing[128];
    snprintf(missing, sizeof missing, "%s/none", dir);
    p.spec.model.rollback.registry_path = missing;
    ck_assert_int_eq(ma->observe(ma, &p, &view), SH_ENOTFOUND);
    ck_assert_uint_eq(view.count, 0);
    ck_assert_ptr_nonnull(strstr(view.error, "model registry"));
    model_registry_view_free(&view);
}
END_TEST

Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_natural_order);
    tcase_add_test(tc, test_list_in_natural_order_with_recorded_metrics);
    tcase_add_test(tc, test_list_missing_registry);
    tcase_add_test(tc, test_current_absent_broken_or_a_folder);
    tcase_add_test(tc, test_activate_swaps_the_link);
    tcase_add_test(tc, test_swap_is_atomic_for_readers);
    tcase_add_test(tc, test_local_actuators_use_the_spec);
    suite_add_tcase(s, tc);
    return s;
}
