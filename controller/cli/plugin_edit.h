/*
 * plugin_edit.h — the local platform's pause / resume / reset: one field of
 * one pipeline set in the text of its spec file, keeping the rest of the
 * file (other documents, comments, key order, formatting).
 *
 * YAML is edited line by line in the block style people write (`spec:` then
 * indented keys); the edited document is parsed again and must equal the
 * original with just that field set. When it does not (flow style such as
 * `metadata: {name: x}`, anchors, anything unusual), that one document is
 * re-emitted from its parsed form instead (its comments are lost; the other
 * documents are untouched). A JSON file is re-printed whole. Pure functions
 * of text; the caller reads and (atomically) writes the file.
 */
#ifndef SH_PLUGIN_EDIT_H
#define SH_PLUGIN_EDIT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * In text (len bytes of file `file`, for messages; JSON when json is true,
 * else YAML documents), sets the field at path (keys from the document's
 * root, NULL-terminated, e.g. {"spec","paused",NULL}; missing maps are
 * created) of the document whose metadata.name is name and whose
 * metadata.namespace (absent: default_ns) is ns, to value (a scalar,
 * borrowed). Returns 0 and *ret_text (owned, NUL-terminated); SH_ENOTFOUND
 * when no document of the file is that pipeline; SH_EPARSE with *ret_err
 * (owned) when the file does not parse; SH_ENOMEM.
 */
int plugin_edit_set(const char *text, size_t len, const char *file, bool json, const char *ns,
                    const char *default_ns, const char *name, const char *const *path,
                    const cJSON *value, char **ret_text, char **ret_err);

#endif
