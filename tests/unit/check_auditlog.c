/*
 * check_auditlog.c — audit logs stay JSON arrays (appends, trimming, a
 * corrupt log kept aside) and the brief's config getters.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

Suite *auditlog_suite(void)
{
    Suite *s = suite_create("auditlog");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_append_creates_folders_and_trims);
    tcase_add_test(tc, test_corrupt_log_is_kept_aside);
    tcase_add_test(tc, test_missing_log_reads_empty);
    tcase_add_test(tc, test_brief_config);
    suite_add_tcase(s, tc);
    return s;
}
