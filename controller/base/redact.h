/*
 * redact.h — the one redaction function for every message the controller
 * produces (logs, conditions, Events, history and audit files, the JSON
 * API and its event stream, CLI errors).
 *
 * What looks like a credential is replaced in place:
 *   - URL userinfo: "http://admin:PASSWORD@host" → "http://xxxxx@host"
 *   - secret query parameters (token, access_token, api_key, apikey,
 *     password, sig; any case): "?token=abc" → "?token=xxxxx"
 *   - the value after "Bearer " → "[redacted]"; after "Basic " in an
 *     Authorization header → "[redacted]"
 *   - a PEM private key block → "[redacted private key]"
 * A value shorter than its replacement becomes as many 'x' (or '*'), so the
 * text never grows and the function works on any NUL-terminated buffer.
 * Code applies it where a message is made and again where it leaves the
 * process (a second line of defence). Pure; any thread.
 */
#ifndef SH_REDACT_H
#define SH_REDACT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define REDACTED "xxxxx"

/* Redacts msg in place (NULL: no-op). Never makes it longer. Returns the
 * number of values redacted. */
size_t redact_inplace(char *msg);

/* A redacted copy of s (owned), or NULL when s is NULL or memory runs out. */
char *redact_dup(const char *s);

/* Redacts every string value (and key) of a JSON tree in place (NULL: no-op).
 * Returns the number of values redacted. */
size_t redact_json(cJSON *node);

/* A short, sanitised excerpt of text from outside (a response body, a
 * server's error string) for a message: at most `max` bytes of s, control
 * characters as '?', redacted, "..." when cut. Writes out (always
 * NUL-terminated when outsize > 0) and returns out. */
#define REDACT_EXCERPT_MAX 120
char *redact_excerpt(const char *s, size_t max, char *out, size_t outsize);

/* True when s holds something redact_inplace would redact in a URL
 * (userinfo or a secret query parameter): `selfheal validate` warns. */
bool redact_url_has_credentials(const char *s);

#endif
