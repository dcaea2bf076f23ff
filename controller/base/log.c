/* log.c — the logger of log.h: text or JSON lines on one stream, with
 * credentials (bearer tokens, private keys) redacted from every message. */
#include "base/log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

static enum log_level cur_level = LOG_INFO;
static enum log_format cur_format = LOG_FORMAT_TEXT;
static FILE *cur_out;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_configure(enum log_level level, enum log_format format, FILE *out)
{
    cur_level = level;
    cur_format = format;
    cur_out = out;
}

int log_parse_level(const char *s, enum log_level *ret)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *ret = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

int log_parse_format(const char *s, enum log_format *ret)
{
    if (strcmp(s, "text") == 0)
        *ret = LOG_FORMAT_TEXT;
    else if (strcmp(s, "json") == 0)
        *ret = LOG_FORMAT_JSON;
    else
        return -1;
    return 0;
}

/* Removes n bytes at p and puts `with` there (never longer than n). */
static void splice(char *p, size_t n, const char *with)
{
    size_t wl = strlen(with);
    memcpy(p, with, wl);
    memmove(p + wl, p + n, strlen(p + n) + 1);
}

void log_redact(char *msg)
{
    static const char redacted[] = "[redacted]";
    /* "Bearer TOKEN" (any case): the token is everything up to a space or quote */
    for (char *p = msg; (p = strcasestr(p, "bearer ")) != NULL;) {
        char *t = p + 7;
        size_t n = strcspn(t, " \t\r\n\"',;");
        if (n >= sizeof redacted - 1) {
            splice(t, n, redacted);
            n = sizeof redacted - 1;
        } else {
            memset(t, '*', n);
        }
        p = t + n;
    }
    /* PEM private keys: from -----BEGIN ...PRIVATE KEY----- to the END line (or the end) */
    for (char *p = msg; (p = strstr(p, "-----BEGIN ")) != NULL;) {
        char *eol = strstr(p + 11, "-----");
        if (!eol || !memmem(p, (size_t)(eol - p), "PRIVATE KEY", 11)) {
            p += 11;
            continue;
        }
        char *end = strstr(eol + 5, "-----END ");
        char *stop = end ? strstr(end + 9, "-----") : NULL;
        size_t n = stop ? (size_t)(stop + 5 - p) : strlen(p);
        static const char key[] = "[redacted private key]";
        if (n >= sizeof key - 1) {
            splice(p, n, key);
            p += sizeof key - 1;
        } else {
            p += n;
        }
    }
}

void log_msg(enum log_level level, const char *pipeline, const char *fmt, ...)
{
    if (level < cur_level)
        return;
    FILE *out = cur_out ? cur_out : stderr;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_redact(msg);

    int64_t now = clock_now_ms(NULL);
    char ts[40];
    /* add milliseconds: 2026-11-28T18:00:00.123Z */
    clock_format_rfc3339_ms(now, ts, sizeof ts);

    if (cur_format == LOG_FORMAT_JSON) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "time", ts);
        cJSON_AddStringToObject(o, "level", level_names[level]);
        if (pipeline)
            cJSON_AddStringToObject(o, "pipeline", pipeline);
        cJSON_AddStringToObject(o, "msg", msg);
        char *line = cJSON_PrintUnformatted(o);
        if (line) {
            flockfile(out);
            fputs(line, out);
            fputc('\n', out);
            fflush(out);
            funlockfile(out);
        }
        free(line);
        cJSON_Delete(o);
        return;
    }
    flockfile(out);
    if (pipeline)
        fprintf(out, "%s %-5s pipeline=%s %s\n", ts, level_names[level], pipeline, msg);
    else
        fprintf(out, "%s %-5s %s\n", ts, level_names[level], msg);
    fflush(out);
    funlockfile(out);
}
