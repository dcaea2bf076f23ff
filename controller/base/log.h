/*
 * log.h — one line per event on stderr, as text or JSON.
 *
 * The format and level are process-wide settings chosen by the CLI
 * (log_configure); everything else only calls log_msg. Each line about a
 * pipeline names it ("pipeline=default/housing"). Lines from several threads
 * never interleave. Credentials are redacted from every message (log_redact)
 * as a second line of defence: code must not log them in the first place.
 * Library code returns errors and leaves logging to callers
 * that know the context; the controller's loops log.
 */
#ifndef SH_LOG_H
#define SH_LOG_H

#include <stdio.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Sets the level, format and stream (NULL: stderr). Not thread-safe: call at
 * start-up before other threads run. */
void log_configure(enum log_level level, enum log_format format, FILE *out);

/* Parses "debug|info|warn|error" and "text|json". Return 0 or -1. */
int log_parse_level(const char *s, enum log_level *ret);
int log_parse_format(const char *s, enum log_format *ret);

/* Logs one event. `pipeline` is the key it is about ("ns/name") or NULL. */
void log_msg(enum log_level level, const char *pipeline, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Redacts credentials in place: redact_inplace (base/redact.h) — URL
 * userinfo and secret query parameters become "xxxxx", the value after
 * "Bearer " "[redacted]", a PEM private key block "[redacted private key]".
 * log_msg applies it to
 * every message; callers may apply it to text that goes elsewhere (status,
 * events). Never makes the string longer.
 */
void log_redact(char *msg);

#define log_debug(p, ...) log_msg(LOG_DEBUG, p, __VA_ARGS__)
#define log_info(p, ...) log_msg(LOG_INFO, p, __VA_ARGS__)
#define log_warn(p, ...) log_msg(LOG_WARN, p, __VA_ARGS__)
#define log_error(p, ...) log_msg(LOG_ERROR, p, __VA_ARGS__)

#endif
