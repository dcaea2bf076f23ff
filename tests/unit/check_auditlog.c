/*
 * check_auditlog.c — the audit-file mechanism (a format of the user's,
 * locked updates, a refused or unreadable file kept aside or reported),
 * the array logs on it (appends, trimming, a corrupt log kept aside) and the
 * brief's config getters. The retraining log's own format: check_retrain.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/auditlog.h"
#include "cli/brief_config.h"
#include "base/errors.h"

Suite *auditlog_suite(void);

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sh-audit-XXXXXX");
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

START_TEST(test_append_creates_folders_and_trims)
{
    char path[128];
    snprintf(path, sizeof path, "%s/monitoring/recovery_log.json", dir);
    for (int i = 0; i < 5; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "n", i);
        ck_assert_int_eq(auditlog_append(path, e, 3, NULL, NULL), 0);
        cJSON_Delete(e);
    }
    char *err = NULL;
    cJSON *arr = auditlog_read(path, &err);
    ck_assert_ptr_nonnull(arr);
    ck_assert_int_eq(cJSON_GetArraySize(arr), 3);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "n")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 2), "n")->valueint, 4);
    cJSON_Delete(arr);
}
END_TEST

START_TEST(test_corrupt_log_is_kept_aside)
{
    char path[128], aside[160];
    snprintf(path, sizeof path, "%s/log.json", dir);
    snprintf(aside, sizeof aside, "%s.corrupt", path);
    FILE *f = fopen(path, "w");
    fputs("{\"not\": \"an array\"", f);
    fclose(f);
    cJSON *e = cJSON_CreateString("x");
    char *warn = NULL;
    ck_assert_int_eq(auditlog_append(path, e, 0, NULL, &warn), 0);
    cJSON_Delete(e);
    ck_assert_ptr_nonnull(warn);
    ck_assert_ptr_nonnull(strstr(warn, ".corrupt"));
    free(warn);
    ck_assert_int_eq(access(aside, F_OK), 0);
    cJSON *arr = auditlog_read(path, NULL);
    ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
    cJSON_Delete(arr);
}
END_TEST

START_TEST(test_missing_log_reads_empty)
{
    char path[128];
    snprintf(path, sizeof path, "%s/none.json", dir);
    cJSON *arr = auditlog_read(path, NULL);
    ck_assert(cJSON_IsArray(arr));
    ck_assert_int_eq(cJSON_GetArraySize(arr), 0);
    cJSON_Delete(arr);
}
END_TEST

START_TEST(test_brief_config)
{
    char path[128];
    snprintf(path, sizeof path, "%s/cfg.json", dir);
    cJSON *cfg = NULL;
    char *err = NULL;
    ck_assert_int_eq(brief_config_load(path, &cfg, &err), 0); /* missing: defaults */
    ck_assert_ptr_null(cfg);
    ck_assert_double_eq(brief_config_num(cfg, "model_validation.min_accuracy_threshold", 0.7), 0.7);
    FILE *f = fopen(path, "w");
    fputs("{\"model_validation\": {\"min_accuracy_threshold\": 0.8},\n"
          " \"drift_detection\": {\"enabled\": false, \"name\": \"x\"}}",
          f);
    fclose(f);
    ck_assert_int_eq(brief_config_load(path, &cfg, &err), 0);
    ck_assert_double_eq(brief_config_num(cfg, "model_validation.min_accuracy_threshold", 0.7), 0.8);
    ck_assert(!brief_config_bool(cfg, "drift_detection.enabled", true));
    ck_assert_str_eq(brief_config_str(cfg, "drift_detection.name", "d"), "x");
    ck_assert_double_eq(brief_config_num(cfg, "drift_detection.name", 1.5), 1.5); /* wrong type */
    ck_assert_double_eq(brief_config_num(cfg, "nope.deeper", 2), 2);
    cJSON_Delete(cfg);
    f = fopen(path, "w");
    fputs("{\n\"a\": [1,\n", f);
    fclose(f);
    ck_assert_int_eq(brief_config_load(path, &cfg, &err), SH_EPARSE);
    ck_assert_ptr_nonnull(strstr(err, "cfg.json:"));
    free(err);
}
END_TEST

/* --- the mechanism, with a format of its own ------------------------------ */

/* {"n": count}: an object whose "n" is a number. */
static bool counter_valid(const cJSON *doc)
{
    return cJSON_IsObject(doc) && cJSON_IsNumber(cJSON_GetObjectItem(doc, "n"));
}

static cJSON *counter_create(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", 0);
    return o;
}

static const struct auditlog_format counter_format = {
    .valid = counter_valid,
    .create = counter_create,
    .invalid = "not a counter",
    .aside_unreadable = false,
};

static int bump(cJSON *doc, void *arg)
{
    (void)arg;
    cJSON *n = cJSON_GetObjectItem(doc, "n");
    cJSON_SetNumberValue(n, n->valuedouble + 1);
    return 0;
}

static int refuse(cJSON *doc, void *arg)
{
    (void)arg;
    cJSON_AddStringToObject(doc, "never", "written");
    return SH_EREFUSED;
}

static int counter_value(const char *path)
{
    cJSON *doc = NULL;
    ck_assert_int_eq(auditlog_load(path, &counter_format, &doc, NULL), 0);
    int n = cJSON_GetObjectItem(doc, "n")->valueint;
    cJSON_Delete(doc);
    return n;
}

START_TEST(test_update_uses_the_format_and_edit_can_refuse)
{
    char path[128];
    snprintf(path, sizeof path, "%s/a/b/counter.json", dir);
    ck_assert_int_eq(counter_value(path), 0); /* missing: created by the format */
    ck_assert_int_eq(auditlog_update(path, &counter_format, bump, NULL, NULL, NULL), 0);
    ck_assert_int_eq(auditlog_update(path, &counter_format, bump, NULL, NULL, NULL), 0);
    ck_assert_int_eq(counter_value(path), 2);
    ck_assert_int_eq(auditlog_update(path, &counter_format, refuse, NULL, NULL, NULL), SH_EREFUSED);
    cJSON *doc = NULL;
    ck_assert_int_eq(auditlog_load(path, &counter_format, &doc, NULL), 0);
    ck_assert_ptr_null(cJSON_GetObjectItem(doc, "never"));
    cJSON_Delete(doc);
    /* an array is no counter */
    cJSON *e = cJSON_CreateString("x");
    char alog[160];
    snprintf(alog, sizeof alog, "%s/array.json", dir);
    ck_assert_int_eq(auditlog_append(alog, e, 0, NULL, NULL), 0);
    cJSON_Delete(e);
    char *err = NULL;
    ck_assert_int_eq(auditlog_load(alog, &counter_format, &doc, &err), SH_EPARSE);
    ck_assert_ptr_null(doc);
    ck_assert_ptr_nonnull(strstr(err, "array.json: not a counter"));
    free(err);
}
END_TEST

START_TEST(test_unreadable_file_kept_aside_only_when_the_format_says)
{
    char path[128], aside[160];
    snprintf(path, sizeof path, "%s/counter.json", dir);
    snprintf(aside, sizeof aside, "%s.corrupt", path);
    ck_assert_int_eq(mkdir(path, 0755), 0); /* opens, but cannot be read (even by root) */
    char *err = NULL, *warn = NULL;
    ck_assert_int_eq(auditlog_update(path, &counter_format, bump, NULL, &err, &warn), SH_EIO);
    ck_assert_ptr_nonnull(strstr(err, "Is a directory"));
    ck_assert_ptr_null(warn);
    free(err);
    ck_assert_int_ne(access(aside, F_OK), 0);
    /* the array logs keep it aside and go on */
    cJSON *e = cJSON_CreateString("x");
    ck_assert_int_eq(auditlog_append(path, e, 0, NULL, &warn), 0);
    cJSON_Delete(e);
    ck_assert_ptr_nonnull(warn);
    free(warn);
    ck_assert_int_eq(access(aside, F_OK), 0);
}
END_TEST

struct racer {
    const char *path;
    int n;
};

static void *race(void *arg)
{
    const struct racer *r = arg;
    for (int i = 0; i < r->n; i++)
        ck_assert_int_eq(auditlog_update(r->path, &counter_format, bump, NULL, NULL, NULL), 0);
    return NULL;
}

/* Updates from threads and from another process all land (no lost update). */
START_TEST(test_concurrent_updates_all_land)
{
    char path[128];
    snprintf(path, sizeof path, "%s/counter.json", dir);
    struct racer r = {path, 50};
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        for (int i = 0; i < r.n; i++)
            if (auditlog_update(path, &counter_format, bump, NULL, NULL, NULL) != 0)
                _exit(1);
        _exit(0);
    }
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, race, &r), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(counter_value(path), 3 * r.n);
}
END_TEST

Suite *auditlog_suite(void)
{
    Suite *s = suite_create("auditlog");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_append_creates_folders_and_trims);
    tcase_add_test(tc, test_corrupt_log_is_kept_aside);
    tcase_add_test(tc, test_missing_log_reads_empty);
    tcase_add_test(tc, test_brief_config);
    tcase_add_test(tc, test_update_uses_the_format_and_edit_can_refuse);
    tcase_add_test(tc, test_unreadable_file_kept_aside_only_when_the_format_says);
    tcase_add_test(tc, test_concurrent_updates_all_land);
    suite_add_tcase(s, tc);
    return s;
}
