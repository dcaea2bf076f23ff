/* csv.c — the streaming RFC 4180 reader (csv.h). */
#include "data/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"

#define CSV_BUFSIZE (4u << 20)
#define NEED_MORE 2

struct csv_reader {
    char *name;
    int fd;        /* −1 for memory */
    char *buf;     /* owned for files; the caller's data for memory */
    size_t cap, pos, end;
    uint64_t base; /* file offset of buf[0] */
    uint64_t size;
    uint64_t line; /* line of buf[pos] */
    bool eof;
    bool header_done;
    bool not_plain; /* a quoted field or a lone CR was seen */
    size_t ncols;
    struct csv_field *fields;
    size_t fcap;
    size_t *esc_off; /* per field: offset into scratch + 1, or 0 */
    char *scratch;
    size_t scap, slen;
};

/* Bytes that end an unquoted field, and the bytes a quoted field stops at. */
static const unsigned char UTAB[256] = {[','] = 1, ['\n'] = 1, ['\r'] = 1, [0] = 1};
static const unsigned char QTAB[256] = {['"'] = 1, ['\n'] = 1, ['\r'] = 1, [0] = 1};

static int fail(char **ret_err, int code, const char *name, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(char **ret_err, int code, const char *name, uint64_t line, const char *fmt, ...)
{
    if (ret_err) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        char *s = NULL;
        /* line 0: about the file itself (it cannot be opened), no line to name */
        if ((line ? asprintf(&s, "%s:%llu: %s", name, (unsigned long long)line, msg)
                  : asprintf(&s, "%s: %s", name, msg)) < 0)
            s = NULL;
        free(*ret_err);
        *ret_err = s;
    }
    return code;
}

static int new_reader(const char *name, struct csv_reader **ret)
{
    struct csv_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name))) {
        free(r);
        return SH_ENOMEM;
    }
    r->fd = -1;
    r->line = 1;
    *ret = r;
    return 0;
}

int csv_reader_open(const char *path, struct csv_reader **ret, char **ret_err)
{
    struct csv_reader *r;
    if (new_reader(path, &r) != 0)
        return fail(ret_err, SH_ENOMEM, path, 1, "out of memory");
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (r->fd < 0 || fstat(r->fd, &st) != 0) {
        int e = errno;
        csv_reader_close(r);
        return fail(ret_err, SH_EIO, path, 0, "cannot open: %s", strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        csv_reader_close(r);
        return fail(ret_err, SH_EIO, path, 0, "is a folder, not a file");
    }
    r->size = (uint64_t)st.st_size;
    r->cap = CSV_BUFSIZE;
    if (S_ISREG(st.st_mode) && r->size + 1 < r->cap)
        r->cap = r->size + 1 < 4096 ? 4096 : (size_t)r->size + 1;
    r->buf = malloc(r->cap);
    if (!r->buf) {
        csv_reader_close(r);
        return fail(ret_err, SH_ENOMEM, path, 1, "out of memory");
    }
    *ret = r;
    return 0;
}

int csv_reader_open_mem(const char *data, size_t len, const char *name, struct csv_reader **ret,
                        char **ret_err)
{
    struct csv_reader *r;
    if (new_reader(name, &r) != 0)
        return fail(ret_err, SH_ENOMEM, name, 1, "out of memory");
    r->buf = (char *)data;
    r->cap = r->end = len;
    r->size = len;
    r->eof = true;
    *ret = r;
    return 0;
}

void csv_reader_close(struct csv_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0) {
        close(r->fd);
        free(r->buf);
    }
    free(r->name);
    free(r->fields);
    free(r->esc_off);
    free(r->scratch);
    free(r);
}

uint64_t csv_reader_offset(const struct csv_reader *r)
{
    return r->base + r->pos;
}

uint64_t csv_reader_size(const struct csv_reader *r)
{
    return r->size;
}

int csv_reader_fd(const struct csv_reader *r)
{
    return r->fd;
}

size_t csv_reader_ncols(const struct csv_reader *r)
{
    return r->header_done ? r->ncols : 0;
}

int csv_reader_rewind(struct csv_reader *r, char **ret_err)
{
    if (r->fd >= 0) {
        if (lseek(r->fd, 0, SEEK_SET) != 0)
            return fail(ret_err, SH_EIO, r->name, 1, "cannot seek: %s", strerror(errno));
        r->end = 0;
        r->eof = false;
    }
    r->pos = 0;
    r->base = 0;
    r->line = 1;
    r->header_done = false;
    r->ncols = 0;
    return 0;
}

/* Keeps the unparsed tail, reads more. 0, or SH_EIO / SH_ENOMEM. */
static int refill(struct csv_reader *r, char **ret_err)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->end - r->pos);
        r->base += r->pos;
        r->end -= r->pos;
        r->pos = 0;
    }
    if (r->end == r->cap) {
        if (r->cap >= CSV_MAX_RECORD_BYTES)
            return fail(ret_err, SH_EPARSE, r->name, r->line,
                        "a record longer than %u MiB (limit)", CSV_MAX_RECORD_BYTES >> 20);
        size_t ncap = r->cap * 2;
        char *nb = realloc(r->buf, ncap);
        if (!nb)
            return fail(ret_err, SH_ENOMEM, r->name, r->line, "out of memory (a record of %zu bytes)",
                        r->cap);
        r->buf = nb;
        r->cap = ncap;
    }
    for (;;) {
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail(ret_err, SH_EIO, r->name, r->line, "read error: %s", strerror(errno));
        if (n == 0)
            r->eof = true;
        r->end += (size_t)n;
        return 0;
    }
}

static int grow_fields(struct csv_reader *r, size_t need)
{
    if (need <= r->fcap)
        return 0;
    size_t n = r->fcap ? r->fcap * 2 : 16;
    while (n < need)
        n *= 2;
    struct csv_field *f = realloc(r->fields, n * sizeof *f);
    if (!f)
        return SH_ENOMEM;
    r->fields = f;
    size_t *e = realloc(r->esc_off, n * sizeof *e);
    if (!e)
        return SH_ENOMEM;
    r->esc_off = e;
    r->fcap = n;
    return 0;
}

/* Unescapes a quoted value with "" pairs into scratch; returns offset + 1 or 0 on ENOMEM. */
static size_t unescape(struct csv_reader *r, const char *v, size_t len)
{
    if (r->slen + len > r->scap) {
        size_t n = r->scap ? r->scap * 2 : 256;
        while (n < r->slen + len)
            n *= 2;
        char *s = realloc(r->scratch, n);
        if (!s)
            return 0;
        r->scratch = s;
        r->scap = n;
    }
    size_t off = r->slen;
    char *out = r->scratch + off;
    for (size_t i = 0; i < len; i++) {
        *out++ = v[i];
        if (v[i] == '"')
            i++; /* the second quote of a pair */
    }
    r->slen = (size_t)(out - r->scratch);
    return off + 1;
}

/*
 * The quoted field opening at b[fstart] (cold: only files with quotes come
 * here): finds its closing quote, counting the lines it spans in *line, and
 * unescapes it into scratch when it has "" pairs (*ret_esc, 0 when none).
 * Returns 0 with *ret_p just past the closing quote, NEED_MORE, or an error.
 */
static int parse_quoted(struct csv_reader *r, size_t fstart, uint64_t *line, size_t *ret_p,
                        size_t *ret_esc, char **ret_err)
{
    const char *b = r->buf;
    size_t end = r->end, q = fstart + 1;
    bool eof = r->eof, escaped = false;
    uint64_t qline = *line;
    for (;;) {
        while (q < end && !QTAB[(unsigned char)b[q]])
            q++;
        if (q >= end) {
            if (!eof)
                return NEED_MORE;
            return fail(ret_err, SH_EPARSE, r->name, qline, "unterminated quoted field");
        }
        char c = b[q];
        if (c == '"') {
            if (q + 1 >= end && !eof)
                return NEED_MORE;
            if (q + 1 < end && b[q + 1] == '"') {
                escaped = true;
                q += 2;
                continue;
            }
            break;
        }
        if (c == '\0')
            return fail(ret_err, SH_EPARSE, r->name, *line, "NUL byte");
        if (c == '\n') {
            (*line)++;
        } else { /* '\r' */
            if (q + 1 >= end && !eof)
                return NEED_MORE;
            if (!(q + 1 < end && b[q + 1] == '\n'))
                (*line)++;
        }
        q++;
    }
    size_t vstart = fstart + 1;
    *ret_esc = 0;
    if (escaped && !(*ret_esc = unescape(r, b + vstart, q - vstart)))
        return fail(ret_err, SH_ENOMEM, r->name, *line, "out of memory");
    size_t p = q + 1;
    if (p < end && b[p] != ',' && b[p] != '\n' && b[p] != '\r')
        return fail(ret_err, SH_EPARSE, r->name, *line, "unexpected character after a closing quote");
    *ret_p = p;
    return 0;
}

/* Points the fields that had "" pairs at their unescaped values in scratch. */
static void use_unescaped(struct csv_reader *r, size_t nf)
{
    for (size_t i = 0; i < nf; i++)
        if (r->esc_off[i]) {
            r->fields[i].val = r->scratch + r->esc_off[i] - 1;
            /* the unescaped length: the raw value minus one quote per pair */
            size_t pairs = 0;
            const char *v = r->fields[i].raw + 1;
            size_t n = r->fields[i].raw_len - 2;
            for (size_t k = 0; k < n; k++)
                if (v[k] == '"') {
                    pairs++;
                    k++;
                }
            r->fields[i].len = n - pairs;
        }
}

/*
 * Parses one record at r->pos. Returns 1 (a record), 0 (end of data),
 * NEED_MORE (the buffer ends inside it and more can be read), or an error.
 * The reader's hot loop: unquoted fields are scanned here inline; quoted
 * ones (parse_quoted) and their unescaping (use_unescaped) are the cold
 * parts moved out.
 */
static int parse_record(struct csv_reader *r, struct csv_record *rec, char **ret_err)
{
    const char *b = r->buf;
    size_t p = r->pos, end = r->end;
    bool eof = r->eof;
    uint64_t line = r->line;
    size_t nf = 0;
    size_t eol = 0;
    bool quoted_any = false;
    r->slen = 0;
    if (p >= end)
        return eof ? 0 : NEED_MORE;
    for (;;) {
        size_t fstart = p, vstart, vlen, esc = 0;
        if (p < end && b[p] == '"') {
            quoted_any = true;
            r->not_plain = true;
            int k = parse_quoted(r, fstart, &line, &p, &esc, ret_err);
            if (k != 0)
                return k;
            vstart = fstart + 1;
            vlen = p - 1 - vstart;
        } else {
            while (p < end && !UTAB[(unsigned char)b[p]])
                p++;
            if (p < end && b[p] == '\0')
                return fail(ret_err, SH_EPARSE, r->name, line, "NUL byte");
            vstart = fstart;
            vlen = p - fstart;
        }
        if (nf >= CSV_MAX_COLUMNS)
            return fail(ret_err, SH_EPARSE, r->name, r->line, "too many %s (limit %d)",
                        r->header_done ? "fields" : "columns", CSV_MAX_COLUMNS);
        if (nf >= r->fcap && grow_fields(r, nf + 1) != 0)
            return fail(ret_err, SH_ENOMEM, r->name, line, "out of memory");
        struct csv_field *f = &r->fields[nf];
        f->raw = b + fstart;
        f->raw_len = p - fstart;
        f->val = b + vstart;
        f->len = vlen;
        r->esc_off[nf] = esc;
        nf++;
        if (p >= end) {
            if (!eof)
                return NEED_MORE;
            eol = 0;
            break;
        }
        if (b[p] == ',') {
            p++;
            continue;
        }
        if (b[p] == '\r') {
            if (p + 1 >= end && !eof)
                return NEED_MORE;
            eol = p + 1 < end && b[p + 1] == '\n' ? 2 : 1;
            if (eol == 1)
                r->not_plain = true;
        } else {
            eol = 1;
        }
        p += eol;
        line++;
        break;
    }
    if (r->slen > 0) /* some field had "" pairs */
        use_unescaped(r, nf);
    rec->fields = r->fields;
    rec->nfields = (nf == 1 && !quoted_any && r->fields[0].raw_len == 0) ? 0 : nf;
    rec->raw = b + r->pos;
    rec->raw_len = p - r->pos;
    rec->eol_len = eol;
    rec->line = r->line;
    r->pos = p;
    r->line = line;
    return 1;
}

static int read_record(struct csv_reader *r, struct csv_record *rec, char **ret_err)
{
    for (;;) {
        int k = parse_record(r, rec, ret_err);
        if (k != NEED_MORE)
            return k;
        int e = refill(r, ret_err);
        if (e != 0)
            return e;
    }
}

int csv_reader_header(struct csv_reader *r, struct csv_record *ret, char **ret_err)
{
    size_t bom = 0;
    if (r->fd >= 0) {
        while (!r->eof && r->end < 3) {
            int e = refill(r, ret_err);
            if (e != 0)
                return e;
        }
    }
    if (r->end - r->pos >= 3 && memcmp(r->buf + r->pos, "\xEF\xBB\xBF", 3) == 0)
        bom = 3;
    r->pos += bom;
    if (r->pos >= r->end && r->eof)
        return fail(ret_err, SH_EPARSE, r->name, 1, "empty file");
    int k = read_record(r, ret, ret_err);
    if (k < 0)
        return k;
    if (k == 0)
        return fail(ret_err, SH_EPARSE, r->name, 1, "empty file");
    if (ret->nfields == 0)
        return fail(ret_err, SH_EPARSE, r->name, 1, "no header (the first line is empty)");
    if (bom) {
        ret->raw -= bom;
        ret->raw_len += bom;
        ret->fields[0].raw -= bom;
        ret->fields[0].raw_len += bom;
    }
    for (size_t i = 0; i < ret->nfields; i++) {
        if (ret->fields[i].len == 0)
            return fail(ret_err, SH_EPARSE, r->name, ret->line,
                        "no header: column %zu has an empty name", i + 1);
        for (size_t j = 0; j < i && ret->nfields <= 4096; j++)
            if (ret->fields[j].len == ret->fields[i].len &&
                memcmp(ret->fields[j].val, ret->fields[i].val, ret->fields[i].len) == 0)
                return fail(ret_err, SH_EPARSE, r->name, ret->line, "duplicate column name '%.*s'",
                            (int)(ret->fields[i].len > 200 ? 200 : ret->fields[i].len),
                            ret->fields[i].val);
    }
    r->ncols = ret->nfields;
    r->header_done = true;
    return 0;
}

int csv_reader_next(struct csv_reader *r, struct csv_record *ret, char **ret_err)
{
    if (!r->header_done)
        return fail(ret_err, SH_EINVAL, r->name, r->line, "the header was not read");
    int k = read_record(r, ret, ret_err);
    if (k == 1 && ret->nfields != 0 && ret->nfields != r->ncols)
        return fail(ret_err, SH_EPARSE, r->name, ret->line,
                    "wrong number of fields: expected %zu, got %zu", r->ncols, ret->nfields);
    return k;
}

bool csv_reader_plain(const struct csv_reader *r)
{
    return !r->not_plain;
}

int csv_reader_next_line(struct csv_reader *r, struct csv_record *ret, char **ret_err)
{
    for (;;) {
        if (r->pos >= r->end && r->eof)
            return 0;
        const char *b = r->buf + r->pos;
        size_t avail = r->end - r->pos;
        const char *nl = memchr(b, '\n', avail);
        size_t len;
        if (nl) {
            len = (size_t)(nl - b) + 1;
        } else if (r->eof) {
            len = avail;
        } else {
            int e = refill(r, ret_err);
            if (e != 0)
                return e;
            continue;
        }
        ret->fields = NULL;
        ret->raw = b;
        ret->raw_len = len;
        ret->eol_len = nl ? (len >= 2 && b[len - 2] == '\r' ? 2 : 1) : 0;
        ret->nfields = len == ret->eol_len ? 0 : r->ncols;
        ret->line = r->line;
        r->line++;
        r->pos += len;
        return 1;
    }
}
