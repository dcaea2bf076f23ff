/*
 * check_csv.c — the CSV engine: the reader's RFC 4180 cases and the exact
 * bytes it reports, each kind of broken file with its exact message, the
 * file reader agreeing with the memory reader across buffer refills,
 * number parsing against strtod and shortest formatting round trips, and
 * csv_load_columns' typing, and the limits that bound memory on hostile
 * input (too many columns, a record too long).
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/csv.h"
#include "data/csv_columns.h"
#include "data/numtext.h"
#include "base/errors.h"

Suite *csv_suite(void);

static char tmpdir[256];

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_csv.XXXXXX", base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "%s", tmpdir);
    /* remove the files this suite made */
    const char *names[] = {"a.csv", "big.csv", "cols.csv", "wide.csv", "long.csv", NULL};
    for (int i = 0; names[i]; i++) {
        char p[400];
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    rmdir(cmd);
}

static char *write_tmp(const char *name, const char *data, size_t len)
{
    static char path[400];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

/* Reads all records of data; returns the error code (0 at a clean end) and
 * the records as "v1|v2|...\n" lines into out. */
static int read_all(const char *data, size_t len, char *out, size_t size, char **ret_err)
{
    struct csv_reader *r = NULL;
    ck_assert_int_eq(csv_reader_open_mem(data, len, "t.csv", &r, ret_err), 0);
    struct csv_record rec;
    size_t o = 0;
    out[0] = '\0';
    int k = csv_reader_header(r, &rec, ret_err);
    while (k >= 0) {
        for (size_t i = 0; i < rec.nfields; i++)
            o += (size_t)snprintf(out + o, size - o, "%s%.*s", i ? "|" : "", (int)rec.fields[i].len,
                                  rec.fields[i].val);
        if (rec.nfields)
            o += (size_t)snprintf(out + o, size - o, "\n");
        k = csv_reader_next(r, &rec, ret_err);
        if (k == 0)
            break;
    }
    csv_reader_close(r);
    return k;
}

START_TEST(test_rfc4180_fields)
{
    const char data[] = "a,b,c\r\n"
                        "1,\"x,y\",\"say \"\"hi\"\"\"\r\n"
                        "2,\"two\nlines\",\r\n"
                        "\r\n"
                        "3,,\"\"\n"
                        "4,q\"uote,z";
    char out[512];
    char *err = NULL;
    ck_assert_int_eq(read_all(data, sizeof data - 1, out, sizeof out, &err), 0);
    ck_assert_ptr_null(err);
    ck_assert_str_eq(out, "a|b|c\n"
                          "1|x,y|say \"hi\"\n"
                          "2|two\nlines|\n"
                          "3||\n"
                          "4|q\"uote|z\n");
}
END_TEST

START_TEST(test_raw_bytes_and_lines)
{
    const char data[] = "\xEF\xBB\xBFh1,\"h2\"\n"
                        "\"a\"\"b\",2\r\n"
                        "\"m\nn\",3\r"
                        "x,4";
    struct csv_reader *r = NULL;
    char *err = NULL;
    ck_assert_int_eq(csv_reader_open_mem(data, sizeof data - 1, "t.csv", &r, &err), 0);
    struct csv_record rec;
    ck_assert_int_eq(csv_reader_header(r, &rec, &err), 0);
    /* the BOM is not part of the first name, but is part of its bytes */
    ck_assert_int_eq((int)rec.fields[0].len, 2);
    ck_assert(memcmp(rec.fields[0].val, "h1", 2) == 0);
    ck_assert_int_eq((int)rec.fields[0].raw_len, 5);
    ck_assert_int_eq((int)rec.raw_len, 11);
    ck_assert_int_eq((int)rec.fields[1].raw_len, 4);
    ck_assert_int_eq(csv_reader_next(r, &rec, &err), 1);
    ck_assert_uint_eq(rec.line, 2);
    ck_assert_int_eq((int)rec.fields[0].len, 3);
    ck_assert(memcmp(rec.fields[0].val, "a\"b", 3) == 0);
    ck_assert(memcmp(rec.fields[0].raw, "\"a\"\"b\"", 6) == 0);
    ck_assert_int_eq((int)rec.raw_len, 10);
    ck_assert_int_eq((int)rec.eol_len, 2);
    ck_assert_int_eq(csv_reader_next(r, &rec, &err), 1);
    ck_assert_uint_eq(rec.line, 3);
    ck_assert_int_eq((int)rec.eol_len, 1); /* a lone CR */
    ck_assert_int_eq(csv_reader_next(r, &rec, &err), 1);
    ck_assert_uint_eq(rec.line, 5);
    ck_assert_int_eq((int)rec.eol_len, 0);
    ck_assert(memcmp(rec.raw, "x,4", 3) == 0);
    ck_assert_int_eq(csv_reader_next(r, &rec, &err), 0);
    ck_assert(!csv_reader_plain(r));
    csv_reader_close(r);
}
END_TEST

struct broken {
    const char *data;
    const char *msg;
};

START_TEST(test_broken_inputs_exact_messages)
{
    static const struct broken cases[] = {
        {"", "t.csv:1: empty file"},
        {"\xEF\xBB\xBF", "t.csv:1: empty file"},
        {"\na,b\n1,2\n", "t.csv:1: no header (the first line is empty)"},
        {"a,,c\n1,2,3\n", "t.csv:1: no header: column 2 has an empty name"},
        {"a,b,a\n1,2,3\n", "t.csv:1: duplicate column name 'a'"},
        {"a,b\n1,2\n3\n", "t.csv:3: wrong number of fields: expected 2, got 1"},
        {"a,b\n\"x\ny\",2\n1,2,3\n", "t.csv:4: wrong number of fields: expected 2, got 3"},
        {"a,b\n1,2\n3,\"open\n4,5\n", "t.csv:3: unterminated quoted field"},
        {"a,b\n1,2\n3,4\0\n", "t.csv:3: NUL byte"},
        {"a,b\n1,\"x\"y\n", "t.csv:2: unexpected character after a closing quote"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[512];
        char *err = NULL;
        size_t len = strlen(cases[i].data);
        if (strstr(cases[i].msg, "NUL"))
            len = 14;
        int k = read_all(cases[i].data, len, out, sizeof out, &err);
        ck_assert_msg(k == SH_EPARSE, "case %zu: got %d", i, k);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, cases[i].msg);
        free(err);
    }
}
END_TEST

/* A file of many records with quoted line breaks crossing the 4096-byte
 * first buffer: the file reader returns the same records as memory. */
START_TEST(test_file_reader_matches_memory)
{
    size_t cap = 1u << 20, len = 0;
    char *data = malloc(cap);
    ck_assert_ptr_nonnull(data);
    len += (size_t)snprintf(data + len, cap - len, "id,text,x\n");
    unsigned seed = 7;
    for (int i = 0; i < 5000; i++) {
        seed = seed * 1103515245u + 12345u;
        int kind = (int)((seed >> 16) % 4);
        if (kind == 0)
            len += (size_t)snprintf(data + len, cap - len, "%d,\"multi\nline \"\"%d\"\"\",%u\r\n", i, i,
                                    seed % 1000);
        else if (kind == 1)
            len += (size_t)snprintf(data + len, cap - len, "%d,plain%*d,%u\n", i, (int)(seed % 300), i,
                                    seed % 97);
        else if (kind == 2)
            len += (size_t)snprintf(data + len, cap - len, "\n%d,,\n", i);
        else
            len += (size_t)snprintf(data + len, cap - len, "%d,\"a,b\",-%u.5\n", i, seed % 50);
    }
    const char *path = write_tmp("big.csv", data, len);
    struct csv_reader *fr = NULL, *mr = NULL;
    char *err = NULL;
    ck_assert_int_eq(csv_reader_open(path, &fr, &err), 0);
    ck_assert_int_eq(csv_reader_open_mem(data, len, path, &mr, &err), 0);
    struct csv_record a, b;
    ck_assert_int_eq(csv_reader_header(fr, &a, &err), 0);
    ck_assert_int_eq(csv_reader_header(mr, &b, &err), 0);
    size_t n = 0;
    for (;;) {
        int ka = csv_reader_next(fr, &a, &err);
        int kb = csv_reader_next(mr, &b, &err);
        ck_assert_int_eq(ka, kb);
        if (ka != 1)
            break;
        n++;
        ck_assert_uint_eq(a.line, b.line);
        ck_assert_uint_eq(a.nfields, b.nfields);
        ck_assert_uint_eq(a.raw_len, b.raw_len);
        ck_assert(memcmp(a.raw, b.raw, a.raw_len) == 0);
        for (size_t i = 0; i < a.nfields; i++) {
            ck_assert_uint_eq(a.fields[i].len, b.fields[i].len);
            ck_assert(memcmp(a.fields[i].val, b.fields[i].val, a.fields[i].len) == 0);
        }
    }
    ck_assert_uint_gt(n, 5000);
    ck_assert_uint_eq(csv_reader_offset(fr), len);
    csv_reader_close(fr);
    csv_reader_close(mr);
    free(data);
}
END_TEST

START_TEST(test_plain_lines)
{
    const char data[] = "a,b\n1,2\r\n\n3,4";
    struct csv_reader *r = NULL;
    char *err = NULL;
    ck_assert_int_eq(csv_reader_open_mem(data, sizeof data - 1, "t.csv", &r, &err), 0);
    struct csv_record rec;
    ck_assert_int_eq(csv_reader_header(r, &rec, &err), 0);
    while (csv_reader_next(r, &rec, &err) == 1)
        ;
    ck_assert(csv_reader_plain(r));
    ck_assert_int_eq(csv_reader_rewind(r, &err), 0);
    ck_assert_int_eq(csv_reader_header(r, &rec, &err), 0);
    ck_assert_int_eq(csv_reader_next_line(r, &rec, &err), 1);
    ck_assert_int_eq((int)rec.raw_len, 5);
    ck_assert_int_eq((int)rec.eol_len, 2);
    ck_assert_uint_eq(rec.nfields, 2);
    ck_assert_int_eq(csv_reader_next_line(r, &rec, &err), 1);
    ck_assert_uint_eq(rec.nfields, 0);
    ck_assert_int_eq(csv_reader_next_line(r, &rec, &err), 1);
    ck_assert_int_eq((int)rec.raw_len, 3);
    ck_assert_int_eq((int)rec.eol_len, 0);
    ck_assert_int_eq(csv_reader_next_line(r, &rec, &err), 0);
    csv_reader_close(r);
}
END_TEST

static bool parse(const char *s, double *v)
{
    return num_parse(s, strlen(s), v);
}

START_TEST(test_num_parse_grammar)
{
    double v;
    ck_assert(parse("0", &v) && v == 0);
    ck_assert(parse("-12.50", &v) && v == -12.5);
    ck_assert(parse("+3", &v) && v == 3);
    ck_assert(parse(".5", &v) && v == 0.5);
    ck_assert(parse("5.", &v) && v == 5);
    ck_assert(parse("1e3", &v) && v == 1000);
    ck_assert(parse("1.5E-2", &v) && v == 0.015);
    ck_assert(parse("-0", &v) && v == 0 && signbit(v));
    ck_assert(parse("123456789012345678901234567890", &v) && v == 1.2345678901234568e29);
    ck_assert(parse("0.1000000000000000055511151231257827", &v) && v == 0.1);
    ck_assert(parse("4.9e-324", &v) && v == 4.9e-324);
    const char *bad[] = {"", "-", ".", "e5", "1e", "1e+", "0x1A", "inf", "nan", "1,5", " 1", "1 ",
                         "1.2.3", "--1", "1e999", "abc", "12a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!parse(bad[i], &v), "'%s' parsed", bad[i]);
}
END_TEST

/* The fast paths give exactly strtod's double on many random decimals. */
START_TEST(test_num_parse_matches_strtod)
{
    uint64_t s = 88172645463325252ull;
    char buf[64];
    for (int i = 0; i < 200000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        int kind = (int)(s % 4);
        uint64_t m = s >> 11;
        if (kind == 0)
            snprintf(buf, sizeof buf, "%llu.%llu", (unsigned long long)(m % 100000),
                     (unsigned long long)((m >> 20) % 10000000));
        else if (kind == 1)
            snprintf(buf, sizeof buf, "-%llu", (unsigned long long)(m % 100000000000ull));
        else if (kind == 2)
            snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)(m % 1000000000000ull),
                     (int)((s >> 3) % 60) - 30);
        else
            snprintf(buf, sizeof buf, "%.17g", (double)(m % 1000000) / 7.0);
        double a, b = strtod(buf, NULL);
        ck_assert_msg(parse(buf, &a), "'%s' not parsed", buf);
        ck_assert_msg(a == b, "'%s': %.17g != strtod %.17g", buf, a, b);
    }
}
END_TEST

START_TEST(test_num_format_shortest_round_trip)
{
    char buf[40];
    num_format(0.1, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.1");
    num_format(436, buf, sizeof buf);
    ck_assert_str_eq(buf, "436");
    num_format(-2.5, buf, sizeof buf);
    ck_assert_str_eq(buf, "-2.5");
    num_format(0.1 + 0.2, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.30000000000000004");
    num_format(1.0 / 3.0, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.3333333333333333");
    num_format(1e300, buf, sizeof buf);
    ck_assert_str_eq(buf, "1e+300");
    uint64_t s = 1234567;
    for (int i = 0; i < 100000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double v;
        uint64_t bits = s;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v))
            continue;
        size_t n = num_format(v, buf, sizeof buf);
        ck_assert_uint_eq(n, strlen(buf));
        double back;
        ck_assert_msg(num_parse(buf, n, &back) && back == v, "%s", buf);
        /* one digit fewer would not read back: it is the shortest %g */
        char shorter[40];
        int digits = 0;
        bool lead = true;
        for (const char *p = buf; *p && *p != 'e'; p++) {
            if (*p >= '1' && *p <= '9')
                lead = false;
            digits += !lead && *p >= '0' && *p <= '9';
        }
        if (digits > 15) {
            snprintf(shorter, sizeof shorter, "%.*g", digits - 1, v);
            ck_assert(strtod(shorter, NULL) != v);
        }
    }
}
END_TEST

START_TEST(test_load_columns_types)
{
    const char data[] = "num,txt,late,empty,q\n"
                        "1.5,a,1,,\"2\"\n"
                        "NA,b,2,NA,\"3\"\n"
                        "-2,,x,,\"1e2\"\n"
                        "\n"
                        "4,a,3,?,\"4\"\n";
    const char *path = write_tmp("cols.csv", data, sizeof data - 1);
    struct csv_columns c;
    char *err = NULL;
    ck_assert_int_eq(csv_load_columns(path, NULL, 0, &c, &err), 0);
    ck_assert_uint_eq(c.ncols, 5);
    ck_assert_uint_eq(c.nrows, 4);
    ck_assert_str_eq(c.cols[0].name, "num");
    ck_assert(c.cols[0].numeric);
    ck_assert_uint_eq(c.cols[0].missing, 1);
    ck_assert(c.cols[0].num[0] == 1.5 && isnan(c.cols[0].num[1]) && c.cols[0].num[2] == -2 &&
              c.cols[0].num[3] == 4);
    ck_assert(!c.cols[1].numeric);
    ck_assert_ptr_null(c.cols[1].num);
    ck_assert_str_eq(c.cols[1].str[0], "a");
    ck_assert_ptr_null(c.cols[1].str[2]);
    ck_assert_uint_eq(c.cols[1].missing, 1);
    /* numbers first, then a text: a text column with every text */
    ck_assert(!c.cols[2].numeric);
    ck_assert_str_eq(c.cols[2].str[0], "1");
    ck_assert_str_eq(c.cols[2].str[2], "x");
    ck_assert_str_eq(c.cols[2].str[3], "3");
    /* all missing: numeric, all NaN */
    ck_assert(c.cols[3].numeric);
    ck_assert_uint_eq(c.cols[3].missing, 4);
    ck_assert(isnan(c.cols[3].num[3]));
    /* quoted numbers are numbers */
    ck_assert(c.cols[4].numeric);
    ck_assert(c.cols[4].num[2] == 100);
    csv_columns_free(&c);
    /* custom tokens: only "x" is missing */
    const char *tok[] = {"x"};
    ck_assert_int_eq(csv_load_columns(path, tok, 1, &c, &err), 0);
    ck_assert(c.cols[2].numeric);
    ck_assert_uint_eq(c.cols[2].missing, 1);
    ck_assert(!c.cols[0].numeric); /* "NA" is a text now */
    csv_columns_free(&c);
    csv_columns_free(&c); /* twice is fine */
}
END_TEST

START_TEST(test_load_columns_errors)
{
    struct csv_columns c;
    char *err = NULL;
    const char *path = write_tmp("cols.csv", "a,b\n1,2\n3\n", 10);
    ck_assert_int_eq(csv_load_columns(path, NULL, 0, &c, &err), SH_EPARSE);
    char want[512];
    snprintf(want, sizeof want, "%s:3: wrong number of fields: expected 2, got 1", path);
    ck_assert_str_eq(err, want);
    free(err);
    err = NULL;
    char missing[400];
    snprintf(missing, sizeof missing, "%s/nope.csv", tmpdir);
    ck_assert_int_eq(csv_load_columns(missing, NULL, 0, &c, &err), SH_EIO);
    ck_assert_ptr_nonnull(strstr(err, "nope.csv: cannot open: No such file"));
    free(err);
}
END_TEST

/* "c0,c1,...,c<n-1>\n" then a row of n ones (or n + extra fields). */
static char *wide_csv(size_t n, size_t row_fields, size_t *len)
{
    size_t cap = n * 12 + row_fields * 2 + 16, o = 0;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, cap - o, "%sc%zu", i ? "," : "", i);
    s[o++] = '\n';
    for (size_t i = 0; i < row_fields; i++) {
        if (i)
            s[o++] = ',';
        s[o++] = '1';
    }
    s[o++] = '\n';
    *len = o;
    return s;
}

static int read_file_all(const char *path, size_t *ncols, char **err)
{
    struct csv_reader *rd = NULL;
    struct csv_record rec;
    int k = csv_reader_open(path, &rd, err);
    if (k == 0)
        k = csv_reader_header(rd, &rec, err);
    if (k == 0)
        *ncols = rec.nfields;
    if (k == 0)
        while ((k = csv_reader_next(rd, &rec, err)) == 1)
            ;
    csv_reader_close(rd);
    return k;
}

START_TEST(test_hostile_limits)
{
    size_t len, ncols = 0;
    char want[512];
    char *err = NULL;
    /* exactly the limit: read */
    char *data = wide_csv(CSV_MAX_COLUMNS, CSV_MAX_COLUMNS, &len);
    const char *path = write_tmp("wide.csv", data, len);
    free(data);
    ck_assert_int_eq(read_file_all(path, &ncols, &err), 0);
    ck_assert_uint_eq(ncols, CSV_MAX_COLUMNS);
    /* one column more: refused on line 1, with the limit */
    data = wide_csv(CSV_MAX_COLUMNS + 1, 1, &len);
    path = write_tmp("wide.csv", data, len);
    free(data);
    ck_assert_int_eq(read_file_all(path, &ncols, &err), SH_EPARSE);
    snprintf(want, sizeof want, "%s:1: too many columns (limit %d)", path, CSV_MAX_COLUMNS);
    ck_assert_str_eq(err, want);
    free(err);
    err = NULL;
    /* the same through csv_load_columns (drift) */
    struct csv_columns c;
    ck_assert_int_eq(csv_load_columns(path, NULL, 0, &c, &err), SH_EPARSE);
    ck_assert_str_eq(err, want);
    free(err);
    err = NULL;
    /* a data row of far too many fields: refused without reading them all */
    data = wide_csv(2, 3 * CSV_MAX_COLUMNS, &len);
    path = write_tmp("wide.csv", data, len);
    free(data);
    ck_assert_int_eq(read_file_all(path, &ncols, &err), SH_EPARSE);
    snprintf(want, sizeof want, "%s:2: too many fields (limit %d)", path, CSV_MAX_COLUMNS);
    ck_assert_str_eq(err, want);
    free(err);
    err = NULL;
    /* a record longer than the limit (one huge field) */
    char lpath[400];
    snprintf(lpath, sizeof lpath, "%s/long.csv", tmpdir);
    FILE *f = fopen(lpath, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("a\n", f);
    char *chunk = malloc(1u << 20);
    ck_assert_ptr_nonnull(chunk);
    memset(chunk, 'x', 1u << 20);
    for (unsigned i = 0; i <= (CSV_MAX_RECORD_BYTES >> 20); i++)
        ck_assert_uint_eq(fwrite(chunk, 1, 1u << 20, f), 1u << 20);
    fputs("\n", f);
    fclose(f);
    free(chunk);
    ck_assert_int_eq(read_file_all(lpath, &ncols, &err), SH_EPARSE);
    snprintf(want, sizeof want, "%s:2: a record longer than %u MiB (limit)", lpath,
             CSV_MAX_RECORD_BYTES >> 20);
    ck_assert_str_eq(err, want);
    free(err);
}
END_TEST

Suite *csv_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rfc4180_fields);
    tcase_add_test(tc, test_raw_bytes_and_lines);
    tcase_add_test(tc, test_broken_inputs_exact_messages);
    tcase_add_test(tc, test_file_reader_matches_memory);
    tcase_add_test(tc, test_plain_lines);
    tcase_add_test(tc, test_num_parse_grammar);
    tcase_add_test(tc, test_num_parse_matches_strtod);
    tcase_add_test(tc, test_num_format_shortest_round_trip);
    tcase_add_test(tc, test_load_columns_types);
    tcase_add_test(tc, test_load_columns_errors);
    tcase_add_test(tc, test_hostile_limits);
    suite_add_tcase(s, tc);
    return s;
}
