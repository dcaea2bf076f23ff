/*
 * kube_actuators_util.h — helpers shared by the kube actuators: API paths of
 * namespaced apps/batch/core objects and a label selector query built from
 * matchLabels. Stateless.
 */
#ifndef SH_KUBE_ACTUATORS_UTIL_H
#define SH_KUBE_ACTUATORS_UTIL_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* "/apis/apps/v1/namespaces/NS/deployments/NAME" (name NULL: the collection).
 * group "" means the core API (/api/v1). Returns 0 or SH_EINVAL when too long. */
int kube_act_path(char *buf, size_t size, const char *group_version, const char *ns,
                  const char *resource, const char *name);

/* Appends "?labelSelector=k%3Dv%2Ck2%3Dv2" for an object of string labels to
 * buf. SH_EINVAL when there are none or it does not fit. */
int kube_act_selector_query(char *buf, size_t size, const cJSON *match_labels);

/* After a request on Deployment `name` returned r: when r is SH_ENOTFOUND
 * (404), replaces *ret_err (may be NULL) with "deployment NAME not found in
 * namespace NS (FIELD)": a configuration error, said as one. Returns r. */
int kube_act_deployment_missing(int r, const char *ns, const char *name, const char *field,
                                char **ret_err);

/* The string member at a dotted path of objects ("metadata.name"), or NULL. */
const char *kube_act_str(const cJSON *o, const char *dotted);

#endif
