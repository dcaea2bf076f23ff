/*
 * yamljson.h — YAML <-> cJSON.
 *
 * Specs are YAML files (several documents per file, separated by `---`) or
 * JSON; both become cJSON trees, the one in-memory form of a resource.
 * Plain YAML scalars are resolved as YAML 1.2's core schema does (null, true /
 * false, integers, floats; everything else a string); quoted scalars are
 * always strings. Anchors and aliases are resolved; merge keys are not
 * supported. Input size and nesting depth are bounded.
 */
#ifndef SH_YAMLJSON_H
#define SH_YAMLJSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/*
 * Parses a YAML stream into a cJSON array with one element per document
 * (empty documents are skipped). `name` is used in messages (a file path).
 * Returns 0 and *ret_docs (owned by the caller), or SH_EPARSE with
 * *ret_err = "name:LINE:COL: reason" (owned by the caller, 1-based line and
 * column), or SH_ENOMEM / SH_ETOOBIG. Outputs untouched on failure except
 * ret_err.
 */
int yaml_parse_documents(const char *buf, size_t len, const char *name, cJSON **ret_docs,
                         char **ret_err);

/* Same for a JSON text: one document (an object or an array of them is
 * returned as given, wrapped in a one-element array). Errors carry line and
 * column like the YAML ones. */
int json_parse_document(const char *buf, size_t len, const char *name, cJSON **ret_docs,
                        char **ret_err);

/*
 * Reads a file and parses it by extension (.json → JSON, anything else →
 * YAML). Returns as above; a file that cannot be read gives SH_EIO with
 * *ret_err = "name: strerror".
 */
int spec_file_parse(const char *path, cJSON **ret_docs, char **ret_err);

/* Emits a cJSON value as a block-style YAML document. Returns an owned
 * string, or NULL on allocation failure. */
char *yaml_emit(const cJSON *value);

#endif
