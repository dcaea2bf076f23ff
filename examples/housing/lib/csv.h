/*
 * csv.h — the housing demo's CSV record reader: RFC 4180 (quoted fields with
 * embedded commas, quotes doubled, newlines; LF or CRLF line ends; blank
 * lines skipped) over a buffer held in memory, one record at a time, with
 * the line number for messages. Also the number parser the programs share.
 *
 * Header-only (static inline) so the programs and the unit tests share it.
 */
#ifndef HOUSING_CSV_H
#define HOUSING_CSV_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct hcsv {
    const char *buf;
    size_t len;
    size_t pos;
    size_t line;     /* line the current record starts on (1-based) */
    size_t next_line;
    /* the current record: field i is text + off[i], NUL-terminated */
    char *text;
    size_t text_len, text_cap;
    size_t *off;
    size_t nf, off_cap;
};

static inline void hcsv_init(struct hcsv *c, const char *buf, size_t len)
{
    memset(c, 0, sizeof *c);
    c->buf = buf;
    c->len = len;
    c->next_line = 1;
}

static inline void hcsv_free(struct hcsv *c)
{
    free(c->text);
    free(c->off);
    c->text = NULL;
    c->off = NULL;
}

static inline const char *hcsv_field(const struct hcsv *c, size_t i)
{
    return c->text + c->off[i];
}

static inline int hcsv_putc_(struct hcsv *c, char ch)
{
    if (c->text_len + 1 >= c->text_cap) {
        size_t cap = c->text_cap ? c->text_cap * 2 : 256;
        char *t = realloc(c->text, cap);
        if (!t)
            return -1;
        c->text = t;
        c->text_cap = cap;
    }
    c->text[c->text_len++] = ch;
    return 0;
}

static inline int hcsv_start_field_(struct hcsv *c)
{
    if (c->nf == c->off_cap) {
        size_t cap = c->off_cap ? c->off_cap * 2 : 16;
        size_t *o = realloc(c->off, cap * sizeof *o);
        if (!o)
            return -1;
        c->off = o;
        c->off_cap = cap;
    }
    c->off[c->nf++] = c->text_len;
    return 0;
}

/*
 * Reads the next record. Returns 1 with the record in c (hcsv_field), 0 at
 * the end of the buffer, -1 with a message in err (line and what was
 * expected) for malformed input or no memory.
 */
static inline int hcsv_next(struct hcsv *c, char *err, size_t errsz)
{
    for (;;) {
        if (c->pos >= c->len)
            return 0;
        c->line = c->next_line;
        c->nf = 0;
        c->text_len = 0;
        /* a blank line is no record */
        if (c->buf[c->pos] == '\n' || (c->buf[c->pos] == '\r' && c->pos + 1 < c->len && c->buf[c->pos + 1] == '\n')) {
            c->pos += c->buf[c->pos] == '\r' ? 2 : 1;
            c->next_line++;
            continue;
        }
        break;
    }
    for (;;) { /* one field per iteration */
        if (hcsv_start_field_(c) < 0)
            goto nomem;
        if (c->pos < c->len && c->buf[c->pos] == '"') {
            size_t qline = c->next_line;
            c->pos++;
            for (;;) {
                if (c->pos >= c->len) {
                    snprintf(err, errsz, "line %zu: unterminated quoted field (opened on line %zu)", c->next_line,
                             qline);
                    return -1;
                }
                char ch = c->buf[c->pos++];
                if (ch == '"') {
                    if (c->pos < c->len && c->buf[c->pos] == '"') {
                        c->pos++;
                        if (hcsv_putc_(c, '"') < 0)
                            goto nomem;
                        continue;
                    }
                    break;
                }
                if (ch == '\n')
                    c->next_line++;
                if (hcsv_putc_(c, ch) < 0)
                    goto nomem;
            }
            if (c->pos < c->len && c->buf[c->pos] != ',' && c->buf[c->pos] != '\n' &&
                !(c->buf[c->pos] == '\r' && c->pos + 1 < c->len && c->buf[c->pos + 1] == '\n') &&
                !(c->buf[c->pos] == '\r' && c->pos + 1 == c->len)) {
                snprintf(err, errsz, "line %zu: expected ',' or end of line after a closing quote, got '%c'",
                         c->next_line, c->buf[c->pos]);
                return -1;
            }
        } else {
            while (c->pos < c->len && c->buf[c->pos] != ',' && c->buf[c->pos] != '\n') {
                if (c->buf[c->pos] == '\r' && (c->pos + 1 == c->len || c->buf[c->pos + 1] == '\n')) {
                    c->pos++;
                    continue;
                }
                if (c->buf[c->pos] == '"') {
                    snprintf(err, errsz, "line %zu: a quote inside an unquoted field", c->next_line);
                    return -1;
                }
                if (hcsv_putc_(c, c->buf[c->pos++]) < 0)
                    goto nomem;
            }
        }
        if (c->pos < c->len && c->buf[c->pos] == '\r')
            c->pos++;
        if (hcsv_putc_(c, '\0') < 0)
            goto nomem;
        if (c->pos >= c->len)
            return 1;
        if (c->buf[c->pos] == ',') {
            c->pos++;
            continue;
        }
        /* '\n' */
        c->pos++;
        c->next_line++;
        return 1;
    }
nomem:
    snprintf(err, errsz, "out of memory");
    return -1;
}

/* True for the cells the controller's data check counts as missing. */
static inline int hcsv_is_missing(const char *s)
{
    static const char *const tokens[] = {"", "NA", "NaN", "nan", "null", "None", "?", NULL};
    while (*s == ' ' || *s == '\t')
        s++;
    for (int i = 0; tokens[i]; i++)
        if (strcmp(s, tokens[i]) == 0)
            return 1;
    return 0;
}

/* Parses a whole cell as a finite number (surrounding blanks allowed). Returns 0 or -1. */
static inline int hcsv_number(const char *s, double *ret)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v))
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return -1;
    *ret = v;
    return 0;
}

#endif
