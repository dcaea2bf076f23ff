/* check_yamljson.c — YAML / JSON loading and YAML emitting (yamljson.h). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/yamljson.h"

Suite *yamljson_suite(void);

/* Parses YAML text that must load; returns the documents array. */
static cJSON *yaml_ok(const char *text)
{
    cJSON *docs = NULL;
    char *err = NULL;
    int r = yaml_parse_documents(text, strlen(text), "t.yaml", &docs, &err);
    ck_assert_msg(r == 0, "parse failed (%d): %s\n--- input:\n%s", r, err ? err : "(no message)",
                  text);
    ck_assert_ptr_null(err);
    ck_assert_ptr_nonnull(docs);
    return docs;
}

/* Asserts that the tree equals the JSON text exactly (cJSON_Compare). */
static void assert_json(const cJSON *got, const char *want_json)
{
    cJSON *want = cJSON_Parse(want_json);
    ck_assert_msg(want != NULL, "bad expected JSON %s", want_json);
    char *g = cJSON_PrintUnformatted(got);
    ck_assert_msg(cJSON_Compare(got, want, 1), "got %s, want %s", g, want_json);
    free(g);
    cJSON_Delete(want);
}

static void assert_yaml(const char *text, const char *want_json)
{
    cJSON *docs = yaml_ok(text);
    assert_json(docs, want_json);
    cJSON_Delete(docs);
}

/* Parses text (YAML, or JSON when json) that must fail with code and msg;
 * the output pointer must stay untouched. */
static void assert_fails(int json, const char *text, size_t len, const char *name, int code,
                         const char *msg)
{
    cJSON *sentinel = (cJSON *)&sentinel, *docs = sentinel;
    char *err = NULL;
    int r = json ? json_parse_document(text, len, name, &docs, &err)
                 : yaml_parse_documents(text, len, name, &docs, &err);
    ck_assert_msg(r == code, "input %s: got %d (%s), want %d", text, r, err ? err : "-", code);
    ck_assert_ptr_eq(docs, sentinel);
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err, msg);
    free(err);
    /* Without a message pointer the call still fails cleanly. */
    r = json ? json_parse_document(text, len, name, &docs, NULL)
             : yaml_parse_documents(text, len, name, &docs, NULL);
    ck_assert_int_eq(r, code);
    ck_assert_ptr_eq(docs, sentinel);
}

static void yaml_fails(const char *text, const char *name, int code, const char *msg)
{
    assert_fails(0, text, strlen(text), name, code, msg);
}

static void json_fails(const char *text, const char *name, int code, const char *msg)
{
    assert_fails(1, text, strlen(text), name, code, msg);
}

/* A growing string for generated inputs. */
struct gen {
    char *p;
    size_t len;
};

static void gen_add(struct gen *g, const char *s)
{
    size_t n = strlen(s);
    char *np = realloc(g->p, g->len + n + 1);
    ck_assert_ptr_nonnull(np);
    g->p = np;
    memcpy(g->p + g->len, s, n + 1);
    g->len += n;
}

static void gen_repeat(struct gen *g, const char *s, int times)
{
    for (int i = 0; i < times; i++)
        gen_add(g, s);
}

/* ------------------------------------------------------------------ */

START_TEST(test_multiple_documents_and_empty_ones)
{
    assert_yaml("a: 1\n---\n- x\n- y\n---\n---\n~\n...\n--- \"s\"\n",
                "[{\"a\":1},[\"x\",\"y\"],\"s\"]");
    assert_yaml("", "[]");
    assert_yaml("# only a comment\n", "[]");
    assert_yaml("---\n...\n", "[]");
    assert_yaml("--- 42\n", "[42]");
    assert_yaml("kind: Pipeline\nspec:\n  steps:\n    - name: a\n      run: [x, y]\n",
                "[{\"kind\":\"Pipeline\",\"spec\":{\"steps\":[{\"name\":\"a\","
                "\"run\":[\"x\",\"y\"]}]}}]");
    assert_yaml("{a: 1, b: [2, {c: d}]}\n", "[{\"a\":1,\"b\":[2,{\"c\":\"d\"}]}]");
    /* NULL input with zero length is an empty stream */
    cJSON *docs = NULL;
    ck_assert_int_eq(yaml_parse_documents(NULL, 0, "n", &docs, NULL), 0);
    assert_json(docs, "[]");
    cJSON_Delete(docs);
}
END_TEST

struct plain_case {
    const char *text;
    int type; /* cJSON_NULL, cJSON_True, cJSON_False, cJSON_Number, cJSON_String */
    double num;
};

START_TEST(test_plain_scalars_follow_core_schema)
{
    static const struct plain_case cases[] = {
        {"", cJSON_NULL, 0},
        {"~", cJSON_NULL, 0},
        {"null", cJSON_NULL, 0},
        {"Null", cJSON_NULL, 0},
        {"NULL", cJSON_NULL, 0},
        {"true", cJSON_True, 0},
        {"True", cJSON_True, 0},
        {"TRUE", cJSON_True, 0},
        {"false", cJSON_False, 0},
        {"False", cJSON_False, 0},
        {"FALSE", cJSON_False, 0},
        {"0", cJSON_Number, 0},
        {"-17", cJSON_Number, -17},
        {"+12", cJSON_Number, 12},
        {"007", cJSON_Number, 7},
        {"0o17", cJSON_Number, 15},
        {"0o0", cJSON_Number, 0},
        {"0x1F", cJSON_Number, 31},
        {"0xff", cJSON_Number, 255},
        {"1.5", cJSON_Number, 1.5},
        {"-0.25", cJSON_Number, -0.25},
        {".5", cJSON_Number, 0.5},
        {"+.5", cJSON_Number, 0.5},
        {"1.", cJSON_Number, 1},
        {"1e3", cJSON_Number, 1000},
        {"6.02E+23", cJSON_Number, 6.02e23},
        {"-1.5e-3", cJSON_Number, -1.5e-3},
        {"9007199254740993", cJSON_Number, 9007199254740992.0},
        {"123456789012345678901234567890", cJSON_Number, 1.2345678901234568e29},
        {"nUll", cJSON_String, 0},
        {"tRue", cJSON_String, 0},
        {"yes", cJSON_String, 0},
        {"No", cJSON_String, 0},
        {"on", cJSON_String, 0},
        {"y", cJSON_String, 0},
        {"0o8", cJSON_String, 0},
        {"0o", cJSON_String, 0},
        {"0x", cJSON_String, 0},
        {"0xG", cJSON_String, 0},
        {"0X1F", cJSON_String, 0},
        {"-0x1", cJSON_String, 0},
        {"0b101", cJSON_String, 0},
        {"1_000", cJSON_String, 0},
        {"1e", cJSON_String, 0},
        {"e3", cJSON_String, 0},
        {".", cJSON_String, 0},
        {"+", cJSON_String, 0},
        {"..5", cJSON_String, 0},
        {"1.2.3", cJSON_String, 0},
        {"12abc", cJSON_String, 0},
        {"1 2", cJSON_String, 0},
        {"nan", cJSON_String, 0},
        {"inf", cJSON_String, 0},
        {"-.nan", cJSON_String, 0},
        {".infinity", cJSON_String, 0},
        {"hello world", cJSON_String, 0},
    };
    char text[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct plain_case *c = &cases[i];
        snprintf(text, sizeof text, "v: %s\n", c->text);
        cJSON *docs = yaml_ok(text);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(docs, 0), "v");
        ck_assert_ptr_nonnull(v);
        ck_assert_msg((v->type & 0xff) == c->type, "'%s': type %d, want %d", c->text,
                      v->type & 0xff, c->type);
        if (c->type == cJSON_Number)
            ck_assert_msg(v->valuedouble == c->num, "'%s': %.17g, want %.17g", c->text,
                          v->valuedouble, c->num);
        if (c->type == cJSON_String)
            ck_assert_str_eq(v->valuestring, c->text);
        cJSON_Delete(docs);
    }
}
END_TEST

START_TEST(test_infinity_and_nan_are_numbers)
{
    cJSON *docs = yaml_ok("- .inf\n- +.INF\n- -.Inf\n- .nan\n- .NaN\n- .NAN\n- 1e999\n");
    const cJSON *a = cJSON_GetArrayItem(docs, 0);
    ck_assert_int_eq(cJSON_GetArraySize(a), 7);
    for (int i = 0; i < 7; i++)
        ck_assert(cJSON_IsNumber(cJSON_GetArrayItem(a, i)));
    ck_assert(isinf(cJSON_GetArrayItem(a, 0)->valuedouble));
    ck_assert(cJSON_GetArrayItem(a, 0)->valuedouble > 0);
    ck_assert(isinf(cJSON_GetArrayItem(a, 1)->valuedouble));
    ck_assert(cJSON_GetArrayItem(a, 2)->valuedouble < 0);
    ck_assert(isinf(cJSON_GetArrayItem(a, 2)->valuedouble));
    ck_assert(isnan(cJSON_GetArrayItem(a, 3)->valuedouble));
    ck_assert(isnan(cJSON_GetArrayItem(a, 4)->valuedouble));
    ck_assert(isnan(cJSON_GetArrayItem(a, 5)->valuedouble));
    ck_assert(isinf(cJSON_GetArrayItem(a, 6)->valuedouble));
    /* cJSON prints what JSON cannot hold as null; nothing crashes */
    char *json = cJSON_PrintUnformatted(a);
    ck_assert_str_eq(json, "[null,null,null,null,null,null,null]");
    free(json);
    char *y = yaml_emit(a);
    ck_assert_str_eq(y, "- .inf\n- .inf\n- -.inf\n- .nan\n- .nan\n- .nan\n- .inf\n");
    cJSON *back = yaml_ok(y);
    const cJSON *b = cJSON_GetArrayItem(back, 0);
    ck_assert(isinf(cJSON_GetArrayItem(b, 2)->valuedouble));
    ck_assert(cJSON_GetArrayItem(b, 2)->valuedouble < 0);
    ck_assert(isnan(cJSON_GetArrayItem(b, 3)->valuedouble));
    cJSON_Delete(back);
    free(y);
    cJSON_Delete(docs);
}
END_TEST

START_TEST(test_quoted_block_and_tagged_scalars)
{
    assert_yaml("a: \"1.0\"\n"
                "b: 'true'\n"
                "c: \"null\"\n"
                "d: \"\"\n"
                "e: '~'\n"
                "f: |\n  line1\n  line2\n"
                "g: >-\n  folded\n  text\n"
                "h: !!str 12\n"
                "i: !!int \"0x10\"\n"
                "j: ! 12\n"
                "k: \"esc\\ttab\\u00e9\"\n"
                "l: !custom 7\n"
                "m: !!float 3\n"
                "n: !!null ''\n"
                "o: !!bool \"False\"\n"
                "'p': ''\n",
                "[{\"a\":\"1.0\",\"b\":\"true\",\"c\":\"null\",\"d\":\"\",\"e\":\"~\","
                "\"f\":\"line1\\nline2\\n\",\"g\":\"folded text\",\"h\":\"12\",\"i\":16,"
                "\"j\":\"12\",\"k\":\"esc\\ttab\\u00e9\",\"l\":7,\"m\":3,\"n\":null,"
                "\"o\":false,\"p\":\"\"}]");
    /* keys are their text, whatever it would resolve to as a value */
    assert_yaml("1: a\ntrue: b\nnull: c\n~: d\n", "[{\"1\":\"a\",\"true\":\"b\",\"null\":\"c\","
                                                  "\"~\":\"d\"}]");
    yaml_fails("x: !!bool yes\n", "t.yaml", SH_EPARSE, "t.yaml:1:4: \"yes\" is not a valid !!bool");
    yaml_fails("x: !!int 1.5\n", "t.yaml", SH_EPARSE, "t.yaml:1:4: \"1.5\" is not a valid !!int");
}
END_TEST

START_TEST(test_anchors_and_aliases_are_copies)
{
    cJSON *docs = yaml_ok("base: &b\n"
                          "  x: 1\n"
                          "  y: [1, 2]\n"
                          "copy: *b\n"
                          "name: &n hello\n"
                          "other: *n\n"
                          "*n : keyed\n"
                          "&k key: v\n"
                          "again: *k\n"
                          "list: [&e 1, *e, *b]\n"
                          "redef: &b 5\n"
                          "last: *b\n");
    assert_json(docs, "[{\"base\":{\"x\":1,\"y\":[1,2]},\"copy\":{\"x\":1,\"y\":[1,2]},"
                      "\"name\":\"hello\",\"other\":\"hello\",\"hello\":\"keyed\",\"key\":\"v\","
                      "\"again\":\"key\",\"list\":[1,1,{\"x\":1,\"y\":[1,2]}],\"redef\":5,"
                      "\"last\":5}]");
    /* the copy is independent of the original */
    cJSON *doc = cJSON_GetArrayItem(docs, 0);
    cJSON *base = cJSON_GetObjectItemCaseSensitive(doc, "base");
    cJSON *copy = cJSON_GetObjectItemCaseSensitive(doc, "copy");
    ck_assert_ptr_ne(base, copy);
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(copy, "x"), 9);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(base, "x")->valueint, 1);
    cJSON_Delete(docs);

    /* many anchors */
    struct gen g = {0};
    char line[64];
    for (int i = 0; i < 300; i++) {
        snprintf(line, sizeof line, "a%d: &n%d %d\n", i, i, i);
        gen_add(&g, line);
    }
    gen_add(&g, "refs: [");
    for (int i = 299; i >= 0; i--) {
        snprintf(line, sizeof line, "*n%d%s", i, i ? ", " : "]\n");
        gen_add(&g, line);
    }
    docs = yaml_ok(g.p);
    const cJSON *refs = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(docs, 0), "refs");
    ck_assert_int_eq(cJSON_GetArraySize(refs), 300);
    ck_assert_int_eq(cJSON_GetArrayItem(refs, 0)->valueint, 299);
    ck_assert_int_eq(cJSON_GetArrayItem(refs, 299)->valueint, 0);
    cJSON_Delete(docs);
    free(g.p);

    /* merge keys are not supported: "<<" is an ordinary key */
    assert_yaml("a: &a {x: 1}\nb:\n  <<: *a\n", "[{\"a\":{\"x\":1},\"b\":{\"<<\":{\"x\":1}}}]");

    /* anchors do not reach into the next document; alias keys must be scalars */
    yaml_fails("a: &x 1\n---\nb: *x\n", "t.yaml", SH_EPARSE, "t.yaml:3:4: unknown anchor \"x\"");
    yaml_fails("a: &m {b: 1}\n*m : 2\n", "t.yaml", SH_EPARSE,
               "t.yaml:2:1: mapping keys must be scalars");
    yaml_fails("a: *nope\n", "t.yaml", SH_EPARSE, "t.yaml:1:4: unknown anchor \"nope\"");
    /* an alias cannot refer to the node it is inside */
    yaml_fails("a: &r [1, *r]\n", "t.yaml", SH_EPARSE, "t.yaml:1:11: unknown anchor \"r\"");
}
END_TEST

START_TEST(test_alias_expansion_is_bounded)
{
    struct gen g = {0};
    gen_add(&g,
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    const char *names = "abcdefghi";
    char line[128];
    for (int i = 1; i < 9; i++) {
        char p = names[i - 1], c = names[i];
        snprintf(line, sizeof line, "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", c, c, p, p,
                 p, p, p, p, p, p, p);
        gen_add(&g, line);
    }
    yaml_fails(g.p, "bomb.yaml", SH_ETOOBIG,
               "bomb.yaml:6:8: more than 100000 values (aliases count as copies)");
    free(g.p);
    /* up to the bound, expansion works */
    cJSON *docs = yaml_ok("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: &b [*a, *a, *a]\nc: [*b, *b]\n");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(docs, 0), "c");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetArrayItem(cJSON_GetArrayItem(c, 1), 2)), 9);
    cJSON_Delete(docs);
}
END_TEST

START_TEST(test_nesting_depth_is_bounded)
{
    struct gen g = {0};
    gen_repeat(&g, "[", 64);
    gen_repeat(&g, "]", 64);
    cJSON *docs = yaml_ok(g.p);
    cJSON_Delete(docs);
    free(g.p);

    g = (struct gen){0};
    gen_repeat(&g, "[", 65);
    gen_repeat(&g, "]", 65);
    yaml_fails(g.p, "deep.yaml", SH_ETOOBIG, "deep.yaml:1:65: nesting deeper than 64 levels");
    free(g.p);

    /* block mappings count too */
    g = (struct gen){0};
    char line[256];
    for (int i = 0; i < 65; i++) {
        snprintf(line, sizeof line, "%*sk%d:\n", i, "", i);
        gen_add(&g, line);
    }
    snprintf(line, sizeof line, "%*sleaf: 1\n", 65, "");
    gen_add(&g, line);
    yaml_fails(g.p, "deep.yaml", SH_ETOOBIG, "deep.yaml:65:65: nesting deeper than 64 levels");
    free(g.p);

    /* an alias adds the depth of what it copies */
    g = (struct gen){0};
    gen_add(&g, "a: &a ");
    gen_repeat(&g, "[", 40);
    gen_repeat(&g, "]", 40);
    gen_add(&g, "\nb: ");
    gen_repeat(&g, "[", 30);
    gen_add(&g, "*a");
    gen_repeat(&g, "]", 30);
    gen_add(&g, "\n");
    yaml_fails(g.p, "deep.yaml", SH_ETOOBIG, "deep.yaml:2:34: nesting deeper than 64 levels");
    free(g.p);
}
END_TEST

START_TEST(test_input_size_is_bounded)
{
    size_t len = (8u << 20) + 1;
    char *big = calloc(1, len);
    ck_assert_ptr_nonnull(big);
    memset(big, '#', len);
    assert_fails(0, big, len, "big.yaml", SH_ETOOBIG, "big.yaml: larger than 8388608 bytes");
    assert_fails(1, big, len, "big.json", SH_ETOOBIG, "big.json: larger than 8388608 bytes");
    free(big);
}
END_TEST

START_TEST(test_duplicate_keys_are_errors)
{
    yaml_fails("a: 1\nb: 2\na: 3\n", "d.yaml", SH_EPARSE, "d.yaml:3:1: duplicate key \"a\"");
    yaml_fails("top:\n  x: 1\n  x: 2\n", "d.yaml", SH_EPARSE, "d.yaml:3:3: duplicate key \"x\"");
    yaml_fails("\"a\": 1\na: 2\n", "d.yaml", SH_EPARSE, "d.yaml:2:1: duplicate key \"a\"");
    yaml_fails("{k: 1, k: 2}\n", "d.yaml", SH_EPARSE, "d.yaml:1:8: duplicate key \"k\"");
    /* large mappings (hash set path) */
    struct gen g = {0};
    char line[64];
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof line, "k%d: %d\n", i, i);
        gen_add(&g, line);
    }
    cJSON *docs = yaml_ok(g.p);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetArrayItem(docs, 0)), 100);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(docs, 0), "k99")->valueint,
                     99);
    cJSON_Delete(docs);
    gen_add(&g, "k50: again\n");
    yaml_fails(g.p, "d.yaml", SH_EPARSE, "d.yaml:101:1: duplicate key \"k50\"");
    free(g.p);
    /* the same key in different mappings is fine */
    assert_yaml("a: {x: 1}\nb: {x: 2}\n", "[{\"a\":{\"x\":1},\"b\":{\"x\":2}}]");
}
END_TEST

START_TEST(test_syntax_errors_carry_line_and_column)
{
    yaml_fails("a: 1\nb: 2\nc: d: e\n", "bad.yaml", SH_EPARSE,
               "bad.yaml:3:5: mapping values are not allowed in this context");
    yaml_fails("a: \"abc\nb: 1\n", "bad.yaml", SH_EPARSE,
               "bad.yaml:3:1: found unexpected end of stream");
    yaml_fails("a:\n\tb: 1\n", "bad.yaml", SH_EPARSE,
               "bad.yaml:2:1: found character that cannot start any token");
    yaml_fails("a: 1\nb: \xff\n", "bad.yaml", SH_EPARSE,
               "bad.yaml:2:4: invalid leading UTF-8 octet");
    yaml_fails("- a\nb: 1\n", "bad.yaml", SH_EPARSE,
               "bad.yaml:2:1: did not find expected '-' indicator");
    yaml_fails("a: [1, 2\nb: 3\n", "bad.yaml", SH_EPARSE,
               "bad.yaml:2:2: did not find expected ',' or ']'");
    yaml_fails("[a]: 1\n", "bad.yaml", SH_EPARSE, "bad.yaml:1:1: mapping keys must be scalars");
    yaml_fails("? - a\n: b\n", "bad.yaml", SH_EPARSE, "bad.yaml:1:3: mapping keys must be scalars");
    yaml_fails("a: \"x\\0y\"\n", "bad.yaml", SH_EPARSE, "bad.yaml:1:4: NUL character in a scalar");
    /* columns count characters, not bytes */
    yaml_fails("é: 1\nb: c: d\n", "bad.yaml", SH_EPARSE,
               "bad.yaml:2:5: mapping values are not allowed in this context");
    yaml_fails("ééé: c: d\n", "bad.yaml", SH_EPARSE,
               "bad.yaml:1:7: mapping values are not allowed in this context");
    /* a NULL name still gives a message */
    yaml_fails("a: [\n", NULL, SH_EPARSE, "<input>:2:1: did not find expected node content");
}
END_TEST

START_TEST(test_json_documents_and_errors)
{
    const char *text = "{\"kind\": \"Pipeline\", \"n\": [1, 2.5, true, null], \"s\": \"1.0\"}";
    cJSON *docs = NULL;
    char *err = (char *)"stale";
    ck_assert_int_eq(json_parse_document(text, strlen(text), "x.json", &docs, &err), 0);
    ck_assert_ptr_null(err);
    assert_json(docs, "[{\"kind\":\"Pipeline\",\"n\":[1,2.5,true,null],\"s\":\"1.0\"}]");
    cJSON_Delete(docs);

    text = "[{\"a\":1},{\"b\":2}]  \n";
    ck_assert_int_eq(json_parse_document(text, strlen(text), "x.json", &docs, NULL), 0);
    assert_json(docs, "[[{\"a\":1},{\"b\":2}]]");
    cJSON_Delete(docs);

    /* length, not NUL, ends the text */
    ck_assert_int_eq(json_parse_document("[1] garbage", 3, "x.json", &docs, NULL), 0);
    assert_json(docs, "[[1]]");
    cJSON_Delete(docs);

    json_fails("{\n  \"a\": 1,\n  \"b\": }\n", "x.json", SH_EPARSE, "x.json:3:8: invalid JSON");
    json_fails("{\"a\": [1,2}", "x.json", SH_EPARSE, "x.json:1:11: invalid JSON");
    json_fails("{} x", "x.json", SH_EPARSE, "x.json:1:4: invalid JSON");
    json_fails("{}\n\n  ]", "x.json", SH_EPARSE, "x.json:3:3: invalid JSON");
    json_fails("", "x.json", SH_EPARSE, "x.json:1:1: invalid JSON");
    json_fails("{\"é\": x}", "x.json", SH_EPARSE, "x.json:1:7: invalid JSON");
    json_fails("a: 1\n", "x.json", SH_EPARSE, "x.json:1:1: invalid JSON");

    struct gen g = {0};
    gen_repeat(&g, "[", 64);
    gen_repeat(&g, "]", 64);
    ck_assert_int_eq(json_parse_document(g.p, g.len, "x.json", &docs, NULL), 0);
    cJSON_Delete(docs);
    free(g.p);
    g = (struct gen){0};
    gen_add(&g, "{\"a\": \"[[[[\", \"b\": ");
    gen_repeat(&g, "[", 65);
    gen_repeat(&g, "]", 65);
    gen_add(&g, "}");
    json_fails(g.p, "x.json", SH_ETOOBIG, "x.json:1:83: nesting deeper than 64 levels");
    free(g.p);
}
END_TEST

static char tmpdir[256];

static void files_setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_yamljson.XXXXXX", base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static const char *const file_names[] = {"p.yaml",  "p.json",   "P.JSON", "p2.json",
                                         "bad.yml", "big.yaml", NULL};

static void files_teardown(void)
{
    char p[512];
    for (const char *const *n = file_names; *n; n++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, *n);
        unlink(p);
    }
    rmdir(tmpdir);
}

static const char *write_file(const char *name, const char *content)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(content, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static void spec_fails(const char *path, int code, const char *msg)
{
    cJSON *docs = NULL;
    char *err = NULL;
    ck_assert_int_eq(spec_file_parse(path, &docs, &err), code);
    ck_assert_ptr_null(docs);
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err, msg);
    free(err);
}

START_TEST(test_spec_file_parse_by_extension)
{
    cJSON *docs = NULL;
    char *err = NULL;
    const char *path = write_file("p.yaml", "kind: A\n---\nkind: B\n");
    ck_assert_int_eq(spec_file_parse(path, &docs, &err), 0);
    ck_assert_ptr_null(err);
    assert_json(docs, "[{\"kind\":\"A\"},{\"kind\":\"B\"}]");
    cJSON_Delete(docs);

    path = write_file("p.json", "{\"kind\": \"C\", \"v\": \"1.0\"}\n");
    ck_assert_int_eq(spec_file_parse(path, &docs, &err), 0);
    assert_json(docs, "[{\"kind\":\"C\",\"v\":\"1.0\"}]");
    cJSON_Delete(docs);

    path = write_file("P.JSON", "[1]");
    ck_assert_int_eq(spec_file_parse(path, &docs, &err), 0);
    assert_json(docs, "[[1]]");
    cJSON_Delete(docs);

    char want[600];
    path = write_file("p2.json", "kind: D\n");
    snprintf(want, sizeof want, "%s:1:1: invalid JSON", path);
    spec_fails(path, SH_EPARSE, want);

    path = write_file("bad.yml", "a: 1\na: 2\n");
    snprintf(want, sizeof want, "%s:2:1: duplicate key \"a\"", path);
    spec_fails(path, SH_EPARSE, want);

    char missing[512];
    snprintf(missing, sizeof missing, "%s/missing.yaml", tmpdir);
    snprintf(want, sizeof want, "%s: No such file or directory", missing);
    errno = 0;
    spec_fails(missing, SH_EIO, want);
    ck_assert_int_eq(errno, ENOENT);

    snprintf(want, sizeof want, "%s: Is a directory", tmpdir);
    spec_fails(tmpdir, SH_EIO, want);

    char big[512];
    snprintf(big, sizeof big, "%s/big.yaml", tmpdir);
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (9 << 20)), 0);
    close(fd);
    snprintf(want, sizeof want, "%s: larger than 8388608 bytes", big);
    spec_fails(big, SH_ETOOBIG, want);
}
END_TEST

/* Exact, ordered equality (cJSON_Compare is exponential in object depth and
 * approximate for numbers). */
static int tree_eq(const cJSON *a, const cJSON *b)
{
    if ((a->type & 0xff) != (b->type & 0xff))
        return 0;
    if (cJSON_IsNumber(a))
        return a->valuedouble == b->valuedouble || (isnan(a->valuedouble) && isnan(b->valuedouble));
    if (cJSON_IsString(a))
        return strcmp(a->valuestring, b->valuestring) == 0;
    if (!cJSON_IsArray(a) && !cJSON_IsObject(a))
        return 1;
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next) {
        if (cJSON_IsObject(a) && strcmp(x->string, y->string) != 0)
            return 0;
        if (!tree_eq(x, y))
            return 0;
    }
    return !x && !y;
}

/* Emits value, checks the text when want is given, and parses it back. */
static void assert_emit(const cJSON *value, const char *want)
{
    char *y = yaml_emit(value);
    ck_assert_ptr_nonnull(y);
    if (want)
        ck_assert_str_eq(y, want);
    cJSON *docs = NULL;
    char *err = NULL;
    int r = yaml_parse_documents(y, strlen(y), "emitted", &docs, &err);
    ck_assert_msg(r == 0, "emitted YAML does not load: %s\n%s", err ? err : "-", y);
    ck_assert_int_eq(cJSON_GetArraySize(docs), 1);
    char *g = cJSON_PrintUnformatted(cJSON_GetArrayItem(docs, 0));
    char *w = cJSON_PrintUnformatted(value);
    ck_assert_msg(tree_eq(cJSON_GetArrayItem(docs, 0), value),
                  "round trip changed %s into %s via\n%s", w, g, y);
    free(g);
    free(w);
    cJSON_Delete(docs);
    free(y);
}

static void assert_emit_json(const char *json, const char *want)
{
    cJSON *v = cJSON_Parse(json);
    ck_assert_msg(v != NULL, "bad JSON %s", json);
    assert_emit(v, want);
    cJSON_Delete(v);
}

START_TEST(test_emit_block_layout)
{
    assert_emit_json("{\"name\":\"x\",\"n\":3,\"f\":1.5,\"t\":true,\"z\":null,"
                     "\"list\":[1,\"two\",{\"a\":1,\"b\":[]}],\"empty\":{},"
                     "\"nested\":{\"k\":\"v\",\"deep\":{\"q\":[[1,2],3]}}}",
                     "name: x\n"
                     "n: 3\n"
                     "f: 1.5\n"
                     "t: true\n"
                     "z: null\n"
                     "list:\n"
                     "  - 1\n"
                     "  - two\n"
                     "  - a: 1\n"
                     "    b: []\n"
                     "empty: {}\n"
                     "nested:\n"
                     "  k: v\n"
                     "  deep:\n"
                     "    q:\n"
                     "      - - 1\n"
                     "        - 2\n"
                     "      - 3\n");
    assert_emit_json("[1,[],{},[[{\"a\":[{\"b\":{}}]}]]]", "- 1\n"
                                                           "- []\n"
                                                           "- {}\n"
                                                           "- - - a:\n"
                                                           "        - b: {}\n");
    assert_emit_json("\"hello\"", "hello\n");
    assert_emit_json("\"true\"", "\"true\"\n");
    assert_emit_json("[]", "[]\n");
    assert_emit_json("{}", "{}\n");
    assert_emit_json("12", "12\n");
    char *y = yaml_emit(NULL);
    ck_assert_str_eq(y, "null\n");
    free(y);
    cJSON *nul = cJSON_CreateNull();
    y = yaml_emit(nul);
    ck_assert_str_eq(y, "null\n");
    free(y);
    cJSON_Delete(nul);
}
END_TEST

struct quote_case {
    const char *in;
    const char *out;
};

START_TEST(test_emit_quotes_tricky_strings)
{
    static const struct quote_case cases[] = {
        {"plain text", "plain text"},
        {"", "\"\""},
        {"true", "\"true\""},
        {"False", "\"False\""},
        {"null", "\"null\""},
        {"~", "\"~\""},
        {"1.0", "\"1.0\""},
        {"12", "\"12\""},
        {"-3", "\"-3\""},
        {"0x1F", "\"0x1F\""},
        {"0o17", "\"0o17\""},
        {"1e3", "\"1e3\""},
        {".inf", "\".inf\""},
        {".nan", "\".nan\""},
        {"yes", "yes"},
        {"1_000", "1_000"},
        {" lead", "\" lead\""},
        {"trail ", "\"trail \""},
        {"a: b", "\"a: b\""},
        {"ends:", "\"ends:\""},
        {"a:b", "a:b"},
        {"a #b", "\"a #b\""},
        {"a#b", "a#b"},
        {"http://x.y/z?q=1&r=[2]", "http://x.y/z?q=1&r=[2]"},
        {"- item", "\"- item\""},
        {"-x", "\"-x\""},
        {"*ref", "\"*ref\""},
        {"&a", "\"&a\""},
        {"!tag", "\"!tag\""},
        {"|", "\"|\""},
        {">", "\">\""},
        {"'q", "\"'q\""},
        {"\"dq", "\"\\\"dq\""},
        {"@at", "\"@at\""},
        {"`bt", "\"`bt\""},
        {"%pct", "\"%pct\""},
        {"{x}", "\"{x}\""},
        {"[x]", "\"[x]\""},
        {",x", "\",x\""},
        {"?x", "\"?x\""},
        {"#x", "\"#x\""},
        {":x", "\":x\""},
        {"...", "\"...\""},
        {"---", "\"---\""},
        {"line\nbreak", "\"line\\nbreak\""},
        {"tab\there", "\"tab\\there\""},
        {"cr\r", "\"cr\\r\""},
        {"bell\a", "\"bell\\x07\""},
        {"del\x7f", "\"del\\x7F\""},
        {"back\\slash", "back\\slash"},
        {"quote\"in", "quote\"in"},
        {"h\xc3\xa9llo", "h\xc3\xa9llo"},
        {"nel\xc2\x85", "\"nel\\N\""},
        {"ls\xe2\x80\xa8", "\"ls\\L\""},
        {"ps\xe2\x80\xa9", "\"ps\\P\""},
        {"bom\xef\xbb\xbf", "\"bom\\uFEFF\""},
        {"c1\xc2\x80", "\"c1\\u0080\""},
        {"emoji \xf0\x9f\x98\x80", "emoji \xf0\x9f\x98\x80"},
        {"a\\\"\n\t", "\"a\\\\\\\"\\n\\t\""},
    };
    char want[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "k", cases[i].in);
        snprintf(want, sizeof want, "k: %s\n", cases[i].out);
        assert_emit(v, want);
        cJSON_Delete(v);
        /* the same rules apply to keys */
        v = cJSON_CreateObject();
        cJSON_AddNumberToObject(v, cases[i].in, 1);
        snprintf(want, sizeof want, "%s: 1\n", cases[i].out);
        assert_emit(v, want);
        cJSON_Delete(v);
    }
}
END_TEST

START_TEST(test_emit_numbers_round_trip_exactly)
{
    static const struct {
        double d;
        const char *text;
    } cases[] = {
        {0, "0"},
        {3, "3"},
        {-17, "-17"},
        {1.5, "1.5"},
        {0.1, "0.1"},
        {0.30000000000000004, "0.30000000000000004"},
        {1.0 / 3, "0.3333333333333333"},
        {-2.5e-7, "-2.5e-07"},
        {1e300, "1e+300"},
        {1e16, "10000000000000000"},
        {9007199254740993.0, "9007199254740992"},
        {123456789012.0, "123456789012"},
        {1e19, "1e+19"},
        {12345678901234567890.0, "1.2345678901234567e+19"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {5e-324, "4.94065645841247e-324"},
        {-0.0, "-0"},
    };
    char want[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *v = cJSON_CreateNumber(cases[i].d);
        char *y = yaml_emit(v);
        snprintf(want, sizeof want, "%s\n", cases[i].text);
        ck_assert_str_eq(y, want);
        cJSON *docs = yaml_ok(y);
        const cJSON *back = cJSON_GetArrayItem(docs, 0);
        ck_assert(cJSON_IsNumber(back));
        ck_assert_msg(memcmp(&back->valuedouble, &cases[i].d, sizeof(double)) == 0,
                      "%s read back as %.17g", cases[i].text, back->valuedouble);
        cJSON_Delete(docs);
        free(y);
        cJSON_Delete(v);
    }
}
END_TEST

START_TEST(test_emit_round_trips_varied_trees)
{
    static const char *const trees[] = {
        "{\"a\":[0.1,1e300,-2.5e-7,123456789012,3.0,1e16],\"b\":{\"c\":{\"d\":[]}},\"e\":null}",
        "{\"\":1,\" \":2,\"k: v\":3,\"#\":[],\"-\":{},\"1\":\"1\",\"true\":false,\"~\":null}",
        "[[1,[2,[3,[]]]],[{\"a\":[{\"b\":[{}]}]}],\"x\",[\"\",\" \",\"- a\",\"a\\nb\"]]",
        "{\"unicode\":\"\\u00e9\\u4e2d\\ud83d\\ude00\",\"ctl\":\"\\u0001\\u001f\\u007f\","
        "\"mixed\":\"a: b # c\"}",
        "{\"spec\":{\"steps\":[{\"name\":\"fetch\",\"run\":[\"curl\",\"-sS\",\"http://h/x\"],"
        "\"env\":{\"A\":\"1\",\"B\":\"yes\"}},{\"name\":\"empty\",\"run\":[]}]},"
        "\"status\":{\"ok\":true,\"n\":-0.5}}",
    };
    for (size_t i = 0; i < sizeof trees / sizeof trees[0]; i++)
        assert_emit_json(trees[i], NULL);

    /* long keys and values */
    char *key = malloc(2001), *val = malloc(5001);
    ck_assert_ptr_nonnull(key);
    ck_assert_ptr_nonnull(val);
    memset(key, 'k', 2000);
    key[2000] = '\0';
    memset(val, 'v', 5000);
    val[5000] = '\0';
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, key, val);
    cJSON *inner = cJSON_AddObjectToObject(v, "inner");
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(inner, key), "x", 1);
    key[1] = ' ';
    cJSON_AddStringToObject(inner, key, "spaced");
    assert_emit(v, NULL);
    char *y = yaml_emit(v);
    ck_assert_int_eq(strncmp(y, "? kkk", 5), 0);
    free(y);
    cJSON_Delete(v);
    free(key);
    free(val);

    /* deep trees, alternating arrays and objects */
    v = cJSON_CreateString("leaf");
    for (int i = 0; i < 60; i++) {
        cJSON *w = (i % 2) ? cJSON_CreateArray() : cJSON_CreateObject();
        if (i % 2)
            cJSON_AddItemToArray(w, v);
        else
            cJSON_AddItemToObject(w, "k", v);
        v = w;
    }
    assert_emit(v, NULL);
    cJSON_Delete(v);
}
END_TEST

Suite *yamljson_suite(void)
{
    Suite *s = suite_create("yamljson");
    TCase *tc = tcase_create("yaml");
    tcase_add_test(tc, test_multiple_documents_and_empty_ones);
    tcase_add_test(tc, test_plain_scalars_follow_core_schema);
    tcase_add_test(tc, test_infinity_and_nan_are_numbers);
    tcase_add_test(tc, test_quoted_block_and_tagged_scalars);
    tcase_add_test(tc, test_anchors_and_aliases_are_copies);
    tcase_add_test(tc, test_alias_expansion_is_bounded);
    tcase_add_test(tc, test_nesting_depth_is_bounded);
    tcase_add_test(tc, test_input_size_is_bounded);
    tcase_add_test(tc, test_duplicate_keys_are_errors);
    tcase_add_test(tc, test_syntax_errors_carry_line_and_column);
    suite_add_tcase(s, tc);

    tc = tcase_create("json");
    tcase_add_test(tc, test_json_documents_and_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, files_setup, files_teardown);
    tcase_add_test(tc, test_spec_file_parse_by_extension);
    suite_add_tcase(s, tc);

    tc = tcase_create("emit");
    tcase_add_test(tc, test_emit_block_layout);
    tcase_add_test(tc, test_emit_quotes_tricky_strings);
    tcase_add_test(tc, test_emit_numbers_round_trip_exactly);
    tcase_add_test(tc, test_emit_round_trips_varied_trees);
    suite_add_tcase(s, tc);
    return s;
}
