/* check_housing.c — the housing demo's shared code (examples/housing/lib/):
 * the CSV record reader, the least-squares fit, the model file and
 * predictions, the seeded random numbers. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/housing/lib/csv.h"
#include "examples/housing/lib/model.h"
#include "examples/housing/lib/rng.h"

Suite *housing_suite(void);

/* Reads all records of text; returns them joined as "a|b;c|d;" and the line numbers as "1,3,". */
static int read_all(const char *text, char *out, size_t outsz, char *lines, size_t linesz, char *err, size_t errsz)
{
    struct hcsv c;
    hcsv_init(&c, text, strlen(text));
    out[0] = lines[0] = '\0';
    int r;
    while ((r = hcsv_next(&c, err, errsz)) > 0) {
        for (size_t i = 0; i < c.nf; i++)
            snprintf(out + strlen(out), outsz - strlen(out), "%s%s", i ? "|" : "", hcsv_field(&c, i));
        snprintf(out + strlen(out), outsz - strlen(out), ";");
        snprintf(lines + strlen(lines), linesz - strlen(lines), "%zu,", c.line);
    }
    hcsv_free(&c);
    return r;
}

START_TEST(test_csv_reads_rfc4180_records)
{
    char out[512], lines[64], err[128];
    ck_assert_int_eq(read_all("a,b,c\r\n1,\"x, \"\"y\"\"\",3\n\n\"multi\nline\",,\"\"\n4,5,6", out, sizeof out, lines,
                              sizeof lines, err, sizeof err),
                     0);
    ck_assert_str_eq(out, "a|b|c;1|x, \"y\"|3;multi\nline||;4|5|6;");
    ck_assert_str_eq(lines, "1,2,4,6,");
    /* a trailing comma is an empty last field; CRLF at the very end */
    ck_assert_int_eq(read_all("a,\r\n", out, sizeof out, lines, sizeof lines, err, sizeof err), 0);
    ck_assert_str_eq(out, "a|;");
}
END_TEST

START_TEST(test_csv_refuses_malformed_input_with_the_line)
{
    char out[512], lines[64], err[128];
    ck_assert_int_eq(read_all("a,b\n1,\"open\n2,3\n", out, sizeof out, lines, sizeof lines, err, sizeof err), -1);
    ck_assert_str_eq(err, "line 4: unterminated quoted field (opened on line 2)");
    ck_assert_int_eq(read_all("a,b\n\"x\"y,2\n", out, sizeof out, lines, sizeof lines, err, sizeof err), -1);
    ck_assert_str_eq(err, "line 2: expected ',' or end of line after a closing quote, got 'y'");
    ck_assert_int_eq(read_all("a,b\nx\"y,2\n", out, sizeof out, lines, sizeof lines, err, sizeof err), -1);
    ck_assert_str_eq(err, "line 2: a quote inside an unquoted field");
}
END_TEST

START_TEST(test_csv_missing_tokens_and_numbers)
{
    ck_assert(hcsv_is_missing(""));
    ck_assert(hcsv_is_missing(" NA"));
    ck_assert(hcsv_is_missing("?"));
    ck_assert(!hcsv_is_missing("0"));
    double v = 0;
    ck_assert_int_eq(hcsv_number(" 12.5 ", &v), 0);
    ck_assert_double_eq(v, 12.5);
    ck_assert_int_eq(hcsv_number("-1e3", &v), 0);
    ck_assert_double_eq(v, -1000.0);
    ck_assert_int_eq(hcsv_number("12x", &v), -1);
    ck_assert_int_eq(hcsv_number("inf", &v), -1);
    ck_assert_int_eq(hcsv_number("", &v), -1);
}
END_TEST

START_TEST(test_ols_recovers_known_coefficients)
{
    /* y = 3 + 2·x0 − 0.5·x1 + 0·x2 (x2 constant), exactly */
    enum { N = 200, P = 3 };
    double *x = malloc(sizeof(double) * N * P), *y = malloc(sizeof(double) * N);
    size_t rows[N];
    struct hrng r;
    hrng_seed(&r, 7);
    for (size_t i = 0; i < N; i++) {
        x[i * P] = 10.0 * hrng_uniform(&r);
        x[i * P + 1] = 100.0 + 50.0 * hrng_normal(&r);
        x[i * P + 2] = 4.0;
        y[i] = 3.0 + 2.0 * x[i * P] - 0.5 * x[i * P + 1];
        rows[i] = i;
    }
    struct hols m;
    ck_assert_int_eq(hols_fit(&m, x, y, P, rows, N, 0.0), 0);
    ck_assert_double_eq_tol(m.coef[0] / m.std[0], 2.0, 1e-9);
    ck_assert_double_eq_tol(m.coef[1] / m.std[1], -0.5, 1e-9);
    ck_assert_double_eq_tol(m.coef[2], 0.0, 1e-9);
    ck_assert_double_eq(m.std[2], 1.0); /* a constant column */
    double probe[P] = {1.0, 2.0, 4.0};
    ck_assert_double_eq_tol(hols_predict(&m, probe), 3.0 + 2.0 - 1.0, 1e-8);
    double r2, rmse;
    hols_score(&m, x, y, rows, N, &r2, &rmse);
    ck_assert_double_eq_tol(r2, 1.0, 1e-12);
    ck_assert_double_eq_tol(rmse, 0.0, 1e-8);
    hols_free(&m);

    /* noise lowers R²; collinear columns need the ridge */
    for (size_t i = 0; i < N; i++) {
        y[i] += 5.0 * hrng_normal(&r);
        x[i * P + 2] = 2.0 * x[i * P];
    }
    ck_assert_int_eq(hols_fit(&m, x, y, P, rows, N, 0.0), -1);
    ck_assert_int_eq(hols_fit(&m, x, y, P, rows, N, 1e-6), 0);
    hols_score(&m, x, y, rows, N, &r2, &rmse);
    ck_assert(r2 > 0.5 && r2 < 0.99);
    ck_assert_double_eq_tol(m.coef[0] / m.std[0] + 2.0 * m.coef[2] / m.std[2], 2.0, 0.5);
    ck_assert_double_eq_tol(m.coef[1] / m.std[1], -0.5, 0.05);
    hols_free(&m);
    free(x);
    free(y);
}
END_TEST

START_TEST(test_model_round_trip_and_predict)
{
    enum { P = HOUSING_NNUM + HOUSING_NCAT };
    struct hols ols = {.p = P};
    double mean[P], stdv[P], coef[P];
    for (int j = 0; j < P; j++) {
        mean[j] = j;
        stdv[j] = 2.0;
        coef[j] = 0.0;
    }
    coef[7] = 20000.0; /* median_income */
    coef[HOUSING_NNUM + 3] = 1000.0; /* NEAR BAY */
    ols.mean = mean;
    ols.std = stdv;
    ols.coef = coef;
    ols.intercept = 100000.0;
    char *text = hmodel_to_json(&ols, "v3", "data.csv");
    ck_assert_ptr_nonnull(text);
    struct hmodel m;
    char err[512];
    ck_assert_int_eq(hmodel_parse(&m, text, err, sizeof err), 0);
    free(text);
    ck_assert_uint_eq(m.nnum, HOUSING_NNUM);
    ck_assert_uint_eq(m.ncat, HOUSING_NCAT);
    ck_assert_str_eq(m.catname, "ocean_proximity");

    cJSON *in = cJSON_Parse("{\"longitude\":0,\"latitude\":1,\"housing_median_age\":2,\"total_rooms\":3,"
                            "\"total_bedrooms\":4,\"population\":5,\"households\":6,\"median_income\":9,"
                            "\"ocean_proximity\":\"NEAR BAY\",\"extra\":true}");
    double y = 0;
    ck_assert_int_eq(hmodel_predict_json(&m, in, &y, err, sizeof err), 0);
    /* 100000 + 20000·(9−7)/2 + 1000·(1−11)/2 */
    ck_assert_double_eq_tol(y, 100000.0 + 20000.0 - 5000.0, 1e-6);

    cJSON_ReplaceItemInObject(in, "ocean_proximity", cJSON_CreateString("MOON"));
    ck_assert_int_eq(hmodel_predict_json(&m, in, &y, err, sizeof err), -1);
    ck_assert_str_eq(err, "unknown ocean_proximity \"MOON\"; expected one of: \"<1H OCEAN\", \"INLAND\", "
                          "\"NEAR OCEAN\", \"NEAR BAY\", \"ISLAND\"");
    cJSON_ReplaceItemInObject(in, "median_income", cJSON_CreateString("high"));
    ck_assert_int_eq(hmodel_predict_json(&m, in, &y, err, sizeof err), -1);
    ck_assert_str_eq(err, "feature \"median_income\" must be a number");
    cJSON_DeleteItemFromObject(in, "latitude");
    ck_assert_int_eq(hmodel_predict_json(&m, in, &y, err, sizeof err), -1);
    ck_assert_str_eq(err, "missing feature \"latitude\"");
    cJSON_Delete(in);
    hmodel_free(&m);

    ck_assert_int_eq(hmodel_parse(&m, "{\"format\":\"other\"}", err, sizeof err), -1);
    ck_assert_str_eq(err, "\"format\" is not \"housing-ols/1\"");
    ck_assert_int_eq(hmodel_parse(&m, "{\"format\":\"housing-ols/1\",\"numeric_features\":[\"a\"],\"categories\":[],"
                                      "\"mean\":[0],\"std\":[0],\"coefficients\":[1],\"intercept\":0}",
                                  err, sizeof err),
                     -1);
    ck_assert_str_eq(err, "\"std\" values must be positive");
    ck_assert_int_eq(hmodel_parse(&m, "{\"format\":\"housing-ols/1\",\"numeric_features\":[\"a\"],\"categories\":[],"
                                      "\"mean\":[0, 1],\"std\":[1],\"coefficients\":[1],\"intercept\":0}",
                                  err, sizeof err),
                     -1);
    ck_assert_int_eq(hmodel_parse(&m, "not json", err, sizeof err), -1);
    ck_assert_str_eq(err, "not JSON");
}
END_TEST

START_TEST(test_rng_is_deterministic_and_sane)
{
    struct hrng a, b;
    hrng_seed(&a, 42);
    hrng_seed(&b, 42);
    double sum = 0, sq = 0;
    for (int i = 0; i < 20000; i++) {
        double u = hrng_normal(&a);
        ck_assert_double_eq(u, hrng_normal(&b));
        sum += u;
        sq += u * u;
    }
    ck_assert_double_eq_tol(sum / 20000, 0.0, 0.05);
    ck_assert_double_eq_tol(sq / 20000, 1.0, 0.05);
    hrng_seed(&b, 43);
    ck_assert(hrng_next(&a) != hrng_next(&b));
    size_t idx[10], seen = 0;
    for (size_t i = 0; i < 10; i++)
        idx[i] = i;
    hrng_shuffle(&a, idx, 10);
    for (size_t i = 0; i < 10; i++)
        seen |= (size_t)1 << idx[i];
    ck_assert_uint_eq(seen, 0x3ff);
    for (int i = 0; i < 1000; i++) {
        double u = hrng_uniform(&a);
        ck_assert(u >= 0.0 && u < 1.0);
        ck_assert_uint_lt(hrng_below(&a, 7), 7);
    }
}
END_TEST

Suite *housing_suite(void)
{
    Suite *s = suite_create("housing");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_csv_reads_rfc4180_records);
    tcase_add_test(tc, test_csv_refuses_malformed_input_with_the_line);
    tcase_add_test(tc, test_csv_missing_tokens_and_numbers);
    tcase_add_test(tc, test_ols_recovers_known_coefficients);
    tcase_add_test(tc, test_model_round_trip_and_predict);
    tcase_add_test(tc, test_rng_is_deterministic_and_sane);
    suite_add_tcase(s, tc);
    return s;
}
