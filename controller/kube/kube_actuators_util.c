/* kube_actuators_util.c — paths, selectors, lookups for the kube actuators. */
#include "kube/kube_actuators_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

int kube_act_path(char *buf, size_t size, const char *group_version, const char *ns,
                  const char *resource, const char *name)
{
    const char *prefix = group_version && *group_version ? "/apis/" : "/api/";
    const char *gv = group_version && *group_version ? group_version : "v1";
    int n = snprintf(buf, size, "%s%s/namespaces/%s/%s%s%s", prefix, gv, ns, resource,
                     name ? "/" : "", name ? name : "");
    return n < 0 || (size_t)n >= size ? SH_EINVAL : 0;
}

static int esc_append(char *buf, size_t size, size_t *len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~';
        size_t need = plain ? 1 : 3;
        if (*len + need + 1 > size)
            return SH_EINVAL;
        if (plain) {
            buf[(*len)++] = (char)ch;
        } else {
            buf[(*len)++] = '%';
            buf[(*len)++] = hex[ch >> 4];
            buf[(*len)++] = hex[ch & 15];
        }
    }
    buf[*len] = '\0';
    return 0;
}

int kube_act_selector_query(char *buf, size_t size, const cJSON *match_labels)
{
    size_t len = strlen(buf);
    const char *q = "?labelSelector=";
    if (len + strlen(q) + 1 > size)
        return SH_EINVAL;
    memcpy(buf + len, q, strlen(q) + 1);
    len += strlen(q);
    int n = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, match_labels) {
        if (!cJSON_IsString(l) || !l->string)
            continue;
        if ((n > 0 && esc_append(buf, size, &len, ",") != 0) ||
            esc_append(buf, size, &len, l->string) != 0 || esc_append(buf, size, &len, "=") != 0 ||
            esc_append(buf, size, &len, l->valuestring) != 0)
            return SH_EINVAL;
        n++;
    }
    return n > 0 ? 0 : SH_EINVAL;
}

const char *kube_act_str(const cJSON *o, const char *dotted)
{
    char part[128];
    const char *p = dotted;
    while (o && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof part)
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        o = cJSON_GetObjectItemCaseSensitive(o, part);
        p = dot ? dot + 1 : p + n;
    }
    return cJSON_IsString(o) ? o->valuestring : NULL;
}

int kube_act_deployment_missing(int r, const char *ns, const char *name, const char *field,
                                char **ret_err)
{
    if (r != SH_ENOTFOUND || !ret_err)
        return r;
    char *msg = NULL;
    if (asprintf(&msg, "deployment %s not found in namespace %s (%s)", name, ns, field) < 0)
        return r;
    free(*ret_err);
    *ret_err = msg;
    return r;
}
