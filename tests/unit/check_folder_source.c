/*
 * check_folder_source.c — the local spec source (local/folder_source.h),
 * rescanned synchronously on a temp folder: generations count spec changes,
 * and the bookkeeping of deleted pipelines is dropped, so a source that has
 * seen many names holds only the live ones. A change event reads only the
 * file it names; a file that fails to parse while still being written keeps
 * its last good spec until it settles.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local/folder_source.h"
#include "runtime/pipeline.h"

Suite *folder_source_suite(void);

static char dir[64], specs[128], state[128];
static struct source *src;

static void write_spec(const char *name, const char *spec)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.yaml", specs, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "apiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\n"
               "metadata: {name: %s}\nspec: %s\n",
            name, spec);
    fclose(f);
}

static void remove_spec(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.yaml", specs, name);
    ck_assert_int_eq(unlink(path), 0);
}

static int64_t generation_of(const char *key)
{
    struct pipeline *p = src->get(src, key);
    ck_assert_ptr_nonnull(p);
    int64_t g = p->generation;
    pipeline_unref(p);
    return g;
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sh-fsrc-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(specs, sizeof specs, "%s/specs", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    ck_assert_int_eq(mkdir(specs, 0755), 0);
    ck_assert_int_eq(mkdir(state, 0755), 0);
    struct folder_source_options o = {.specs_dir = specs, .state_dir = state};
    ck_assert_int_eq(folder_source_new(&o, &src), 0);
}

static void teardown(void)
{
    src->free(src);
    char *argv[] = {"rm", "-rf", dir, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execvp("rm", argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
}

START_TEST(test_generation_counts_spec_changes)
{
    write_spec("a", "{paused: false}");
    folder_source_rescan(src);
    ck_assert_int_eq(generation_of("default/a"), 1);
    folder_source_rescan(src);
    ck_assert_int_eq(generation_of("default/a"), 1); /* unchanged */
    write_spec("a", "{paused: true}");
    folder_source_rescan(src);
    ck_assert_int_eq(generation_of("default/a"), 2);
}
END_TEST

START_TEST(test_deleted_pipelines_leave_no_bookkeeping_behind)
{
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "p%d", i);
        write_spec(name, "{}");
    }
    folder_source_rescan(src);
    ck_assert_uint_eq(folder_source_tracked(src), 200);
    for (int i = 0; i < 199; i++) {
        snprintf(name, sizeof name, "p%d", i);
        remove_spec(name);
    }
    folder_source_rescan(src);
    ck_assert_ptr_null(src->get(src, "default/p0"));
    ck_assert_uint_eq(folder_source_tracked(src), 1);
    ck_assert_int_eq(generation_of("default/p199"), 1);
}
END_TEST

/* Sets the file's modification time `secs` seconds into the past. */
static void age_spec(const char *name, int secs)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.yaml", specs, name);
    struct timeval now, tv[2];
    gettimeofday(&now, NULL);
    tv[0] = tv[1] = (struct timeval){.tv_sec = now.tv_sec - secs};
    ck_assert_int_eq(utimes(path, tv), 0);
}

static void write_raw(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.yaml", specs, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static bool valid_of(const char *key)
{
    struct pipeline *p = src->get(src, key);
    ck_assert_ptr_nonnull(p);
    bool v = p->valid;
    pipeline_unref(p);
    return v;
}

START_TEST(test_change_event_reads_only_that_file)
{
    write_spec("a", "{paused: false}");
    write_spec("b", "{paused: false}");
    folder_source_rescan(src);
    write_spec("a", "{paused: true}");
    write_spec("b", "{paused: true}");
    folder_source_mark_changed(src, "b.yaml");
    folder_source_mark_changed(src, ".b.yaml.swp"); /* not a spec file: ignored */
    folder_source_read_changed(src);
    ck_assert_int_eq(generation_of("default/b"), 2);
    ck_assert_int_eq(generation_of("default/a"), 1); /* not named: not read */
    folder_source_rescan(src);
    ck_assert_int_eq(generation_of("default/a"), 2);
    /* a deleted file's event drops its pipeline */
    remove_spec("b");
    folder_source_mark_changed(src, "b.yaml");
    folder_source_read_changed(src);
    ck_assert_ptr_null(src->get(src, "default/b"));
}
END_TEST

START_TEST(test_half_written_file_keeps_last_good_spec)
{
    write_spec("a", "{paused: true}");
    folder_source_rescan(src);
    ck_assert(valid_of("default/a"));
    /* an in-place write caught half-way: does not parse, just modified */
    write_raw("a", "apiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\n"
                   "metadata: {name: a}\nspec: {paused: tr");
    folder_source_mark_changed(src, "a.yaml");
    folder_source_read_changed(src);
    ck_assert(valid_of("default/a"));
    ck_assert_int_eq(generation_of("default/a"), 1);
    /* the writer finishes: the new spec, one generation on */
    write_spec("a", "{paused: false}");
    folder_source_mark_changed(src, "a.yaml");
    folder_source_read_changed(src);
    ck_assert(valid_of("default/a"));
    ck_assert_int_eq(generation_of("default/a"), 2);
    /* a file that stays broken once settled: Invalid */
    write_raw("a", "apiVersion: [broken\n");
    folder_source_read_changed(src);
    ck_assert(valid_of("default/a"));
    age_spec("a", 5);
    folder_source_rescan(src);
    ck_assert(!valid_of("default/a"));
}
END_TEST

Suite *folder_source_suite(void)
{
    Suite *s = suite_create("folder_source");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_generation_counts_spec_changes);
    tcase_add_test(tc, test_deleted_pipelines_leave_no_bookkeeping_behind);
    tcase_add_test(tc, test_change_event_reads_only_that_file);
    tcase_add_test(tc, test_half_written_file_keeps_last_good_spec);
    suite_add_tcase(s, tc);
    return s;
}
