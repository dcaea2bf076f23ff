/* log.c — the logger of log.h: text or JSON lines on one stream, with
 * credentials (redact.h: URL userinfo, secret query parameters, bearer
 * tokens, private keys) redacted from every message. */
#include "base/log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/redact.h"

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

void log_redact(char *msg)
{
    redact_inplace(msg);
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
