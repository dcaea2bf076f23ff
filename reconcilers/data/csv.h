/*
 * csv.h — a streaming RFC 4180 reader: one record at a time from a large
 * read buffer (or from memory), with the field values and the exact bytes
 * of every field and record, so that a writer can copy what it does not
 * change.
 *
 * Accepted: quoted fields with "" escapes, commas and line breaks inside
 * quotes, CRLF, LF or CR line endings, a last line without one, a UTF-8
 * byte-order mark before the header, blank lines (returned as blank records,
 * which callers skip, as pandas does). A quote inside an unquoted field is
 * a literal character.
 *
 * Refused, with "NAME:LINE: reason" in *ret_err (LINE is where the record
 * starts, or where the quote opened):
 *   "empty file", "no header (the first line is empty)",
 *   "no header: column N has an empty name", "duplicate column name 'x'",
 *   "wrong number of fields: expected N, got M",
 *   "unterminated quoted field", "NUL byte",
 *   "unexpected character after a closing quote",
 *   "too many columns (limit 100000)" (a header, or any record, with more
 *   than CSV_MAX_COLUMNS fields), "a record longer than 64 MiB (limit)".
 * The limits bound the reader's memory whatever the input: a hostile line
 * of ten million columns is refused after the first CSV_MAX_COLUMNS.
 *
 * A reader is used by one thread at a time; readers are independent.
 */
#ifndef SH_CSV_H
#define SH_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Inputs beyond these are refused (see above). */
#define CSV_MAX_COLUMNS 100000
#define CSV_MAX_RECORD_BYTES (64u << 20)

struct csv_field {
    const char *val; /* the value: unquoted and unescaped; not NUL-terminated */
    size_t len;
    const char *raw; /* the field's bytes in the file, quotes included */
    size_t raw_len;
};

/* Valid until the next csv_reader_next / csv_reader_rewind / close. */
struct csv_record {
    struct csv_field *fields;
    size_t nfields;  /* 0 for a blank line */
    const char *raw; /* the record's bytes, line ending included */
    size_t raw_len;
    size_t eol_len;  /* bytes of the line ending at the end of raw (0 at end of file) */
    uint64_t line;   /* 1-based line where the record starts */
};

struct csv_reader;

/* Opens a file for reading. Returns 0, or SH_EIO / SH_ENOMEM with *ret_err. */
int csv_reader_open(const char *path, struct csv_reader **ret, char **ret_err);

/* Reads from memory (borrowed for the reader's life); name is used in messages. */
int csv_reader_open_mem(const char *data, size_t len, const char *name, struct csv_reader **ret,
                        char **ret_err);

/*
 * Reads the header (the first record) and checks it. Returns 0 with *ret
 * (the header record), or SH_EPARSE / SH_EIO / SH_ENOMEM with *ret_err.
 * Must be called once before csv_reader_next.
 */
int csv_reader_header(struct csv_reader *r, struct csv_record *ret, char **ret_err);

/*
 * Reads the next record. Returns 1 with *ret, 0 at the end of the file, or
 * SH_EPARSE (a wrong field count, a bad quote, a NUL byte) / SH_EIO /
 * SH_ENOMEM with *ret_err. Blank lines come back with nfields == 0.
 */
int csv_reader_next(struct csv_reader *r, struct csv_record *ret, char **ret_err);

/*
 * True when every record read so far was plain: no quoted field, no lone CR
 * line ending. A file read to its end that is plain can be read again with
 * csv_reader_next_line, records being lines.
 */
bool csv_reader_plain(const struct csv_reader *r);

/*
 * For a plain file (checked by a full csv_reader_next pass): the next record
 * as a line, not split into fields (ret->fields is NULL; nfields is 0 for a
 * blank line, else the header's count). 1, 0 at the end, or SH_EIO / SH_ENOMEM.
 */
int csv_reader_next_line(struct csv_reader *r, struct csv_record *ret, char **ret_err);

/* Goes back to the start of the file (the header must be read again). 0 or SH_EIO. */
int csv_reader_rewind(struct csv_reader *r, char **ret_err);

/* Bytes consumed so far, and the file's size at open (for progress). */
uint64_t csv_reader_offset(const struct csv_reader *r);
uint64_t csv_reader_size(const struct csv_reader *r);

/* The file descriptor (−1 for memory readers), e.g. to fstat it. */
int csv_reader_fd(const struct csv_reader *r);

/* The number of columns of the header (0 before it is read). */
size_t csv_reader_ncols(const struct csv_reader *r);

void csv_reader_close(struct csv_reader *r);

#endif
