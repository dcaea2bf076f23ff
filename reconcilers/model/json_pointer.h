/*
 * json_pointer.h — RFC 6901 JSON pointers over cJSON documents, for the
 * model metric sources (`jsonPointer` of the http and file sources).
 *
 *   ""              the whole document
 *   "/a/b"          member "b" of member "a"
 *   "/items/0"      the first element of an array ("0" or [1-9][0-9]*;
 *                   "-" and leading zeros do not name an element)
 *   "/a~1b", "/m~0n" the members "a/b" and "m~n" (~1 → '/', ~0 → '~')
 *
 * Member names compare byte for byte (case-sensitive). Pure functions, any
 * thread.
 */
#ifndef SH_JSON_POINTER_H
#define SH_JSON_POINTER_H

#include <cjson/cJSON.h>
#include <stddef.h>

/*
 * Returns the value `pointer` names in doc (borrowed), or NULL with a message
 * in err ("/a/b: no member \"b\"", "/items/7: index 7 out of range (3
 * elements)", "a/b: a JSON pointer must be empty or start with '/'").
 */
const cJSON *json_pointer_get(const cJSON *doc, const char *pointer, char *err, size_t errsize);

/*
 * Reads a finite number at `pointer`. Returns 0 and *ret, SH_ENOTFOUND when
 * the pointer names nothing, SH_EINVAL when the pointer is malformed or the
 * value is not a finite number ("/model_accuracy: not a number (a
 * string)"); err says why.
 */
int json_pointer_number(const cJSON *doc, const char *pointer, double *ret, char *err,
                        size_t errsize);

#endif
