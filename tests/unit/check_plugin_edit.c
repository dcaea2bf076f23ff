/*
 * check_plugin_edit.c — the local pause / resume / reset edits of a spec
 * file's text (controller/cli/plugin_edit.h): a block-style field replaced
 * or inserted with the rest of the file byte for byte, the right document
 * of several, maps created, flow style re-emitted, JSON re-printed, and a
 * pipeline the file does not hold.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "cli/plugin_edit.h"

Suite *plugin_edit_suite(void);

static const char *const paused[] = {"spec", "paused", NULL};
static const char *const reset[] = {"metadata", "annotations", "selfheal.dev/reset", NULL};

static char *edit(const char *text, bool json, const char *name, const char *const *path,
                  cJSON *value, int want)
{
    char *out = NULL, *err = NULL;
    int r = plugin_edit_set(text, strlen(text), "f.yaml", json, "default", "default", name, path,
                            value, &out, &err);
    cJSON_Delete(value);
    ck_assert_msg(r == want, "plugin_edit_set: %d (%s)", r, err ? err : "");
    free(err);
    return out;
}

START_TEST(test_edit_replaces_a_block_field_and_keeps_the_comments)
{
    const char *in = "# my pipeline\napiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\n"
                     "metadata:\n  name: a\nspec:\n  paused: false   # not yet\n  service:\n"
                     "    healthCheck: {url: \"http://x\"}\n";
    char *out = edit(in, false, "a", paused, cJSON_CreateTrue(), 0);
    ck_assert_str_eq(out, "# my pipeline\napiVersion: selfheal.dev/v1alpha1\nkind: SelfHealingPipeline\n"
                          "metadata:\n  name: a\nspec:\n  paused: true\n  service:\n"
                          "    healthCheck: {url: \"http://x\"}\n");
    free(out);
}
END_TEST

START_TEST(test_edit_inserts_a_missing_field_at_the_indentation_of_its_siblings)
{
    const char *in = "metadata:\n    name: a\nspec:\n    # the service\n    service: {}\n";
    char *out = edit(in, false, "a", paused, cJSON_CreateTrue(), 0);
    ck_assert_str_eq(out, "metadata:\n    name: a\nspec:\n    paused: true\n    # the service\n    service: {}\n");
    free(out);
}
END_TEST

START_TEST(test_edit_creates_the_annotations_map_in_the_right_document)
{
    const char *in = "metadata:\n  name: a\nspec: {}\n---\n# b\nmetadata:\n  name: b\n  labels:\n"
                     "    team: ml\nspec: {}\n---\nmetadata:\n  name: c\n";
    char *out = edit(in, false, "b", reset, cJSON_CreateString("2024-01-01T00:00:00Z"), 0);
    ck_assert_str_eq(out, "metadata:\n  name: a\nspec: {}\n---\n# b\nmetadata:\n  annotations:\n"
                          "    selfheal.dev/reset: \"2024-01-01T00:00:00Z\"\n  name: b\n  labels:\n"
                          "    team: ml\nspec: {}\n---\nmetadata:\n  name: c\n");
    free(out);
}
END_TEST

START_TEST(test_edit_replaces_an_existing_annotation)
{
    const char *in = "metadata:\n  name: a\n  annotations:\n    other: x\n    selfheal.dev/reset: \"1\"\n";
    char *out = edit(in, false, "a", reset, cJSON_CreateString("2"), 0);
    ck_assert_str_eq(out, "metadata:\n  name: a\n  annotations:\n    other: x\n    selfheal.dev/reset: \"2\"\n");
    free(out);
}
END_TEST

START_TEST(test_edit_appends_a_missing_top_level_map)
{
    const char *in = "apiVersion: selfheal.dev/v1alpha1\nmetadata:\n  name: a\n";
    char *out = edit(in, false, "a", paused, cJSON_CreateTrue(), 0);
    ck_assert_str_eq(out, "apiVersion: selfheal.dev/v1alpha1\nmetadata:\n  name: a\nspec:\n  paused: true\n");
    free(out);
}
END_TEST

START_TEST(test_edit_re_emits_a_flow_style_document_and_leaves_the_others)
{
    const char *in = "# first\nmetadata: {name: a}\nspec: {paused: false}\n---\n# second\nmetadata: {name: b}\n";
    char *out = edit(in, false, "a", reset, cJSON_CreateString("r"), 0);
    ck_assert_msg(strstr(out, "selfheal.dev/reset") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "---\n# second\nmetadata: {name: b}\n") != NULL, "%s", out);
    free(out);
}
END_TEST

START_TEST(test_edit_reprints_json)
{
    const char *in = "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"paused\":true}}";
    char *out = edit(in, true, "a", paused, cJSON_CreateFalse(), 0);
    cJSON *doc = cJSON_Parse(out);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "spec"), "paused")));
    cJSON_Delete(doc);
    free(out);
}
END_TEST

START_TEST(test_edit_reports_a_pipeline_the_file_does_not_hold)
{
    edit("metadata:\n  name: a\n", false, "zz", paused, cJSON_CreateTrue(), SH_ENOTFOUND);
    edit("metadata:\n  name: a\n  namespace: other\n", false, "a", paused, cJSON_CreateTrue(), SH_ENOTFOUND);
    edit("{\"metadata\":{\"name\":\"a\"}}", true, "b", paused, cJSON_CreateTrue(), SH_ENOTFOUND);
}
END_TEST

START_TEST(test_edit_refuses_a_file_that_does_not_parse)
{
    edit("metadata: [\n", false, "a", paused, cJSON_CreateTrue(), SH_EPARSE);
}
END_TEST

Suite *plugin_edit_suite(void)
{
    Suite *s = suite_create("plugin_edit");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_edit_replaces_a_block_field_and_keeps_the_comments);
    tcase_add_test(tc, test_edit_inserts_a_missing_field_at_the_indentation_of_its_siblings);
    tcase_add_test(tc, test_edit_creates_the_annotations_map_in_the_right_document);
    tcase_add_test(tc, test_edit_replaces_an_existing_annotation);
    tcase_add_test(tc, test_edit_appends_a_missing_top_level_map);
    tcase_add_test(tc, test_edit_re_emits_a_flow_style_document_and_leaves_the_others);
    tcase_add_test(tc, test_edit_reprints_json);
    tcase_add_test(tc, test_edit_reports_a_pipeline_the_file_does_not_hold);
    tcase_add_test(tc, test_edit_refuses_a_file_that_does_not_parse);
    suite_add_tcase(s, tc);
    return s;
}
