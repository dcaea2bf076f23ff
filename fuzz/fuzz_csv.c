/* fuzz_csv.c — libFuzzer harness: the RFC 4180 reader from memory
 * (csv_reader_open_mem, header, next, and for plain files a rewind and the
 * line-wise second pass, as datafix does). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv_reader *r = NULL;
    char *err = NULL;
    if (csv_reader_open_mem((const char *)data, size, "fuzz.csv", &r, &err) != 0) {
        free(err);
        return 0;
    }
    struct csv_record rec;
    if (csv_reader_header(r, &rec, &err) == 0) {
        size_t ncols = csv_reader_ncols(r);
        int k;
        while ((k = csv_reader_next(r, &rec, &err)) == 1) {
            if (rec.nfields != 0 && rec.nfields != ncols)
                abort(); /* the reader promises the header's field count */
            for (size_t i = 0; i < rec.nfields; i++)
                if (rec.fields[i].len > rec.fields[i].raw_len)
                    abort();
        }
        if (k == 0 && csv_reader_plain(r) && csv_reader_rewind(r, &err) == 0 &&
            csv_reader_header(r, &rec, &err) == 0) {
            while (csv_reader_next_line(r, &rec, &err) == 1)
                ;
        }
        (void)csv_reader_offset(r);
    }
    free(err);
    csv_reader_close(r);
    return 0;
}
