/*
 * model.h — the housing demo's data schema (column names, ocean_proximity
 * categories) and its model file: model.json in a registry version folder,
 * written by housing-train and read by housing-api.
 *
 *   {"format": "housing-ols/1", "target": "median_house_value",
 *    "numeric_features": [...], "categorical_feature": "ocean_proximity",
 *    "categories": [...], "features": [expanded names],
 *    "mean": [...], "std": [...], "coefficients": [...], "intercept": y,
 *    "raw_coefficients": {...}, "raw_intercept": y}
 *
 * A prediction is intercept + Σ coefficients_j·(x_j − mean_j)/std_j over the
 * numeric features followed by one 0/1 indicator per category (the
 * raw_* fields are the same model in original units, for people).
 *
 * Header-only (static inline) so the programs and the unit tests share it.
 */
#ifndef HOUSING_MODEL_H
#define HOUSING_MODEL_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ols.h"

#define HOUSING_MODEL_FORMAT "housing-ols/1"
#define HOUSING_TARGET "median_house_value"
#define HOUSING_CATEGORICAL "ocean_proximity"
#define HOUSING_NNUM 8
#define HOUSING_NCAT 5

static const char *const HOUSING_NUMERIC[HOUSING_NNUM] = {
    "longitude",  "latitude",   "housing_median_age", "total_rooms",
    "total_bedrooms", "population", "households",     "median_income",
};
static const char *const HOUSING_CATEGORIES[HOUSING_NCAT] = {"<1H OCEAN", "INLAND", "NEAR OCEAN", "NEAR BAY",
                                                             "ISLAND"};

struct hmodel {
    size_t nnum, ncat;
    char **num;   /* nnum numeric feature names */
    char *catname; /* the categorical feature ("" when none) */
    char **cat;   /* ncat categories */
    struct hols ols; /* p = nnum + ncat */
};

static inline void hmodel_free(struct hmodel *m)
{
    for (size_t i = 0; m->num && i < m->nnum; i++)
        free(m->num[i]);
    for (size_t i = 0; m->cat && i < m->ncat; i++)
        free(m->cat[i]);
    free(m->num);
    free(m->cat);
    free(m->catname);
    hols_free(&m->ols);
    memset(m, 0, sizeof *m);
}

/* Reads a JSON array of n numbers into out (allocated). Returns 0 or -1. */
static inline int hmodel_numbers_(const cJSON *arr, size_t n, double **out)
{
    if (!cJSON_IsArray(arr) || (size_t)cJSON_GetArraySize(arr) != n)
        return -1;
    *out = calloc(n ? n : 1, sizeof(double));
    if (!*out)
        return -1;
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
            return -1;
        (*out)[i++] = it->valuedouble;
    }
    return 0;
}

static inline int hmodel_strings_(const cJSON *arr, size_t *n, char ***out)
{
    if (!cJSON_IsArray(arr))
        return -1;
    *n = (size_t)cJSON_GetArraySize(arr);
    *out = calloc(*n ? *n : 1, sizeof(char *));
    if (!*out)
        return -1;
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !(((*out)[i] = strdup(it->valuestring))))
            return -1;
        i++;
    }
    return 0;
}

/* Parses model.json text. Returns 0, or -1 with a message in err (m is then empty). */
static inline int hmodel_parse(struct hmodel *m, const char *text, char *err, size_t errsz)
{
    memset(m, 0, sizeof *m);
    cJSON *root = cJSON_Parse(text);
    const char *why = NULL;
    if (!root) {
        why = "not JSON";
        goto fail;
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, HOUSING_MODEL_FORMAT) != 0) {
        why = "\"format\" is not \"" HOUSING_MODEL_FORMAT "\"";
        goto fail;
    }
    if (hmodel_strings_(cJSON_GetObjectItemCaseSensitive(root, "numeric_features"), &m->nnum, &m->num) < 0) {
        why = "\"numeric_features\" must be an array of strings";
        goto fail;
    }
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(root, "categorical_feature");
    m->catname = strdup(cJSON_IsString(cn) ? cn->valuestring : "");
    if (!m->catname || hmodel_strings_(cJSON_GetObjectItemCaseSensitive(root, "categories"), &m->ncat, &m->cat) < 0) {
        why = "\"categories\" must be an array of strings";
        goto fail;
    }
    size_t p = m->nnum + m->ncat;
    m->ols.p = p;
    if (hmodel_numbers_(cJSON_GetObjectItemCaseSensitive(root, "mean"), p, &m->ols.mean) < 0 ||
        hmodel_numbers_(cJSON_GetObjectItemCaseSensitive(root, "std"), p, &m->ols.std) < 0 ||
        hmodel_numbers_(cJSON_GetObjectItemCaseSensitive(root, "coefficients"), p, &m->ols.coef) < 0) {
        why = "\"mean\", \"std\" and \"coefficients\" must be arrays of one finite number per feature";
        goto fail;
    }
    for (size_t j = 0; j < p; j++)
        if (!(m->ols.std[j] > 0.0)) {
            why = "\"std\" values must be positive";
            goto fail;
        }
    const cJSON *ic = cJSON_GetObjectItemCaseSensitive(root, "intercept");
    if (!cJSON_IsNumber(ic) || !isfinite(ic->valuedouble)) {
        why = "\"intercept\" must be a number";
        goto fail;
    }
    m->ols.intercept = ic->valuedouble;
    cJSON_Delete(root);
    return 0;
fail:
    snprintf(err, errsz, "%s", why ? why : "out of memory");
    cJSON_Delete(root);
    hmodel_free(m);
    return -1;
}

/* Builds model.json for a fit over HOUSING_NUMERIC + HOUSING_CATEGORIES. Returns an owned string or NULL. */
static inline char *hmodel_to_json(const struct hols *ols, const char *version, const char *data_path)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "format", HOUSING_MODEL_FORMAT);
    cJSON_AddStringToObject(root, "version", version);
    cJSON_AddStringToObject(root, "kind", "ordinary least squares (ridge-stabilised) on standardised features");
    cJSON_AddStringToObject(root, "data", data_path);
    cJSON_AddStringToObject(root, "target", HOUSING_TARGET);
    cJSON_AddItemToObject(root, "numeric_features", cJSON_CreateStringArray(HOUSING_NUMERIC, HOUSING_NNUM));
    cJSON_AddStringToObject(root, "categorical_feature", HOUSING_CATEGORICAL);
    cJSON_AddItemToObject(root, "categories", cJSON_CreateStringArray(HOUSING_CATEGORIES, HOUSING_NCAT));
    cJSON *feat = cJSON_AddArrayToObject(root, "features");
    for (size_t j = 0; j < HOUSING_NNUM; j++)
        cJSON_AddItemToArray(feat, cJSON_CreateString(HOUSING_NUMERIC[j]));
    for (size_t j = 0; j < HOUSING_NCAT; j++) {
        char name[64];
        snprintf(name, sizeof name, "%s=%s", HOUSING_CATEGORICAL, HOUSING_CATEGORIES[j]);
        cJSON_AddItemToArray(feat, cJSON_CreateString(name));
    }
    cJSON_AddItemToObject(root, "mean", cJSON_CreateDoubleArray(ols->mean, (int)ols->p));
    cJSON_AddItemToObject(root, "std", cJSON_CreateDoubleArray(ols->std, (int)ols->p));
    cJSON_AddItemToObject(root, "coefficients", cJSON_CreateDoubleArray(ols->coef, (int)ols->p));
    cJSON_AddNumberToObject(root, "intercept", ols->intercept);
    cJSON *raw = cJSON_AddObjectToObject(root, "raw_coefficients");
    double raw_icept = ols->intercept;
    for (size_t j = 0; j < ols->p; j++) {
        double c = ols->coef[j] / ols->std[j];
        raw_icept -= c * ols->mean[j];
        cJSON_AddNumberToObject(raw, cJSON_GetArrayItem(feat, (int)j)->valuestring, c);
    }
    cJSON_AddNumberToObject(root, "raw_intercept", raw_icept);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

/*
 * Predicts from a JSON object of features (numbers for the numeric ones, a
 * known category string for the categorical one; other keys ignored).
 * Returns 0 with *ret, or -1 with a message for the caller in err.
 */
static inline int hmodel_predict_json(const struct hmodel *m, const cJSON *obj, double *ret, char *err, size_t errsz)
{
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errsz, "expected a JSON object of features");
        return -1;
    }
    size_t p = m->nnum + m->ncat;
    double stackx[64];
    double *x = p <= 64 ? stackx : calloc(p, sizeof(double));
    if (!x) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    int rc = -1;
    for (size_t j = 0; j < m->nnum; j++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, m->num[j]);
        if (!v) {
            snprintf(err, errsz, "missing feature \"%s\"", m->num[j]);
            goto out;
        }
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
            snprintf(err, errsz, "feature \"%s\" must be a number", m->num[j]);
            goto out;
        }
        x[j] = v->valuedouble;
    }
    for (size_t k = 0; k < m->ncat; k++)
        x[m->nnum + k] = 0.0;
    if (m->ncat > 0) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, m->catname);
        if (!cJSON_IsString(v)) {
            snprintf(err, errsz, "feature \"%s\" must be a string (one of the model's categories)", m->catname);
            goto out;
        }
        size_t k = 0;
        while (k < m->ncat && strcmp(m->cat[k], v->valuestring) != 0)
            k++;
        if (k == m->ncat) {
            size_t len = (size_t)snprintf(err, errsz, "unknown %s \"%.40s\"; expected one of:", m->catname,
                                          v->valuestring);
            for (size_t i = 0; i < m->ncat && len < errsz; i++)
                len += (size_t)snprintf(err + len, errsz - len, "%s \"%s\"", i ? "," : "", m->cat[i]);
            goto out;
        }
        x[m->nnum + k] = 1.0;
    }
    *ret = hols_predict(&m->ols, x);
    rc = 0;
out:
    if (x != stackx)
        free(x);
    return rc;
}

#endif
