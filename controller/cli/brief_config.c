/*
 * brief_config.c — reads config/self_healing_config.json (brief_config.h).
 */
#include "cli/brief_config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/fsutil.h"

int brief_config_load(const char *path, cJSON **ret, char **ret_err)
{
    if (!path)
        path = BRIEF_CONFIG_PATH;
    *ret = NULL;
    char *data = NULL;
    size_t len = 0;
    if (fs_read_file(path, 1u << 20, &data, &len) != 0) {
        if (errno == ENOENT)
            return 0;
        if (ret_err && asprintf(ret_err, "%s: %s", path, strerror(errno)) < 0)
            *ret_err = NULL;
        return SH_EIO;
    }
    const char *end = NULL;
    cJSON *cfg = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    if (!cJSON_IsObject(cfg)) {
        int line = 1;
        for (const char *p = data; end && p < end && p < data + len; p++)
            line += *p == '\n';
        if (ret_err && asprintf(ret_err, "%s:%d: %s", path, line,
                                cfg ? "expected a JSON object" : "invalid JSON") < 0)
            *ret_err = NULL;
        cJSON_Delete(cfg);
        free(data);
        return SH_EPARSE;
    }
    free(data);
    *ret = cfg;
    return 0;
}

int brief_config_load_for(const char *cmd, const char *path, cJSON **ret)
{
    char *err = NULL;
    int r = brief_config_load(path, ret, &err);
    if (r != 0)
        fprintf(stderr, "selfheal %s: %s\n", cmd, err ? err : "cannot read the config file");
    free(err);
    return r;
}

static const cJSON *lookup(const cJSON *cfg, const char *key)
{
    const cJSON *cur = cfg;
    char part[128];
    while (cur && *key) {
        const char *dot = strchr(key, '.');
        size_t n = dot ? (size_t)(dot - key) : strlen(key);
        if (n >= sizeof part)
            return NULL;
        memcpy(part, key, n);
        part[n] = '\0';
        cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, part) : NULL;
        key += n + (dot ? 1 : 0);
    }
    return cur == cfg ? NULL : cur;
}

double brief_config_num(const cJSON *cfg, const char *key, double def)
{
    const cJSON *v = lookup(cfg, key);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

bool brief_config_bool(const cJSON *cfg, const char *key, bool def)
{
    const cJSON *v = lookup(cfg, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

const char *brief_config_str(const cJSON *cfg, const char *key, const char *def)
{
    const cJSON *v = lookup(cfg, key);
    return cJSON_IsString(v) ? v->valuestring : def;
}

int brief_config_number(const char *cmd, const char *path, const cJSON *cfg,
                        const struct brief_number *n, double *ret)
{
    double v = brief_config_num(cfg, n->key, n->def);
    if (isfinite(v) && v >= n->min && v <= n->max && (!n->whole || v == floor(v))) {
        *ret = v;
        return 0;
    }
    fprintf(stderr, "selfheal %s: %s: %s must %s, got %g\n", cmd, path ? path : BRIEF_CONFIG_PATH,
            n->key, n->must, v);
    return -1;
}

int brief_config_load_number(const char *cmd, const char *path, const struct brief_number *n,
                             double *ret)
{
    cJSON *cfg = NULL;
    if (brief_config_load_for(cmd, path, &cfg) != 0)
        return -1;
    int r = brief_config_number(cmd, path, cfg, n, ret);
    cJSON_Delete(cfg);
    return r;
}
