/* backup.c — the data fix's backups: made, named, pruned (backup.h). */
#include "data/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/fsutil.h"

#define COPYBUF (1u << 20)

void data_backup_name(const char *path, int64_t now_ms, char *buf, size_t size)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(buf, size, "%s.bak.%s", path, ts);
}

static const char *base_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The bytes of in to out, then out flushed to disk. 0 or -1 with errno. */
static int copy_stream(FILE *in, FILE *out)
{
    char *buf = malloc(COPYBUF);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    int r = 0;
    size_t k;
    while (r == 0 && (k = fread(buf, 1, COPYBUF, in)) > 0)
        if (fwrite(buf, 1, k, out) != k)
            r = -1;
    if (r == 0 && ferror(in))
        r = -1;
    if (r == 0 && (fflush(out) != 0 || fsync(fileno(out)) != 0))
        r = -1;
    int e = errno;
    free(buf);
    errno = e;
    return r;
}

/* A flushed copy of src at dst (created exclusively). 0 or -1 with errno. */
static int copy_file(const char *src, const char *dst, mode_t mode)
{
    fs_ignore_sigxfsz();
    FILE *in = fopen(src, "rbe");
    if (!in)
        return -1;
    int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
    FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!out) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(dst);
        }
        fclose(in);
        errno = e;
        return -1;
    }
    int r = copy_stream(in, out);
    int e = errno;
    fclose(in);
    if (fclose(out) != 0 && r == 0) {
        r = -1;
        e = errno;
    }
    if (r != 0)
        unlink(dst);
    errno = e;
    return r;
}

char *data_backup_make(const char *path, int64_t now_ms, mode_t mode)
{
    char name[PATH_MAX];
    data_backup_name(path, now_ms, name, sizeof name);
    for (int i = 0; i < 1000; i++) {
        char cand[PATH_MAX + 16];
        if (i == 0)
            snprintf(cand, sizeof cand, "%s", name);
        else
            snprintf(cand, sizeof cand, "%s-%d", name, i);
        if (link(path, cand) == 0)
            return strdup(cand);
        if (errno == EEXIST)
            continue;
        if (copy_file(path, cand, mode) == 0)
            return strdup(cand);
        if (errno == EEXIST)
            continue;
        return NULL;
    }
    errno = EEXIST;
    return NULL;
}

struct bak {
    char *name;
    char ts[17];
    long seq;
};

static int bak_cmp(const void *a, const void *b)
{
    const struct bak *x = a, *y = b;
    int c = strcmp(x->ts, y->ts);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* "YYYYMMDDTHHMMSSZ" with an optional "-N". */
static bool parse_bak_suffix(const char *s, struct bak *b)
{
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        bool ok = i == 8 ? c == 'T' : i == 15 ? c == 'Z' : (c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    memcpy(b->ts, s, 16);
    b->ts[16] = '\0';
    b->seq = 0;
    if (s[16] == '\0')
        return true;
    if (s[16] != '-')
        return false;
    char *end;
    b->seq = strtol(s + 17, &end, 10);
    return *end == '\0' && b->seq > 0;
}

int data_backup_prune(const char *path, int keep)
{
    char *real = realpath(path, NULL);
    const char *p = real ? real : path;
    char *dir = fs_dirname(p);
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        free(dir);
        free(real);
        return SH_EIO;
    }
    char prefix[NAME_MAX + 8];
    int pl = snprintf(prefix, sizeof prefix, "%s.bak.", base_of(p));
    struct bak *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct bak b;
        if (pl <= 0 || strncmp(de->d_name, prefix, (size_t)pl) != 0 ||
            !parse_bak_suffix(de->d_name + pl, &b))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct bak *nl = realloc(list, nc * sizeof *nl);
            if (!nl)
                break;
            list = nl;
            cap = nc;
        }
        if (!(b.name = strdup(de->d_name)))
            break;
        list[n++] = b;
    }
    closedir(d);
    qsort(list, n, sizeof *list, bak_cmp);
    int removed = 0;
    size_t k = keep < 0 ? 0 : (size_t)keep;
    for (size_t i = 0; i < n; i++) {
        if (i + k < n) {
            char full[PATH_MAX + NAME_MAX + 2];
            snprintf(full, sizeof full, "%s/%s", dir, list[i].name);
            if (unlink(full) == 0)
                removed++;
        }
        free(list[i].name);
    }
    free(list);
    free(dir);
    free(real);
    return removed;
}
