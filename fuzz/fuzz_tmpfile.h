/* fuzz_tmpfile.h — for harnesses of file-based parsers: a private folder
 * made once per fuzzing process and a helper writing the input to a file in it. */
#ifndef SH_FUZZ_TMPFILE_H
#define SH_FUZZ_TMPFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[256];

/* The folder ($TMPDIR or /tmp, "selfheal-fuzz-XXXXXX"), NULL when it cannot be made. */
static const char *fuzz_tmpdir(void)
{
    if (!fuzz_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/selfheal-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(fuzz_dir)) {
            fuzz_dir[0] = '\0';
            return NULL;
        }
    }
    return fuzz_dir;
}

/* Writes data to <dir>/<name> (replacing it); fills path. 0 or -1. */
static int fuzz_write_file(const char *name, const uint8_t *data, size_t size, char *path,
                           size_t pathsize)
{
    const char *dir = fuzz_tmpdir();
    if (!dir)
        return -1;
    snprintf(path, pathsize, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    int rc = fclose(f);
    return (w == size && rc == 0) ? 0 : -1;
}

#endif
