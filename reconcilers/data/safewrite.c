/* safewrite.c — backup, temporary file, flush and rename (safewrite.h). */
#include "data/safewrite.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/fsutil.h"

#define OUTBUF (1u << 20)

struct safewrite {
    char *path;   /* resolved target */
    char *dir;
    char *tmp;
    char *backup; /* NULL when none */
    int fd;
    char *buf;
    size_t len;
    uint64_t total;
    int err; /* errno of the first failed write, 0 */
    int keep;
};

static int set_err(char **ret_err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int set_err(char **ret_err, int code, const char *fmt, ...)
{
    if (ret_err) {
        va_list ap;
        va_start(ap, fmt);
        free(*ret_err);
        if (vasprintf(ret_err, fmt, ap) < 0)
            *ret_err = NULL;
        va_end(ap);
    }
    return code;
}

void safewrite_backup_name(const char *path, int64_t now_ms, char *buf, size_t size)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(buf, size, "%s.bak.%s", path, ts);
}

static char *dir_of(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s)
        return strdup(".");
    if (s == path)
        return strdup("/");
    return strndup(path, (size_t)(s - path));
}

static const char *base_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    int e = errno;
    close(fd);
    if (r != 0 && (e == EINVAL || e == ENOTSUP))
        r = 0;
    errno = e;
    return r;
}

/* A flushed copy of src at dst (created exclusively). 0 or −1 with errno. */
static int copy_file(const char *src, const char *dst, mode_t mode)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
    if (out < 0) {
        int e = errno;
        close(in);
        errno = e;
        return -1;
    }
    char *buf = malloc(OUTBUF);
    int r = buf ? 0 : -1;
    if (!buf)
        errno = ENOMEM;
    while (r == 0) {
        ssize_t k = read(in, buf, OUTBUF);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            r = -1;
        if (k <= 0)
            break;
        r = write_all(out, buf, (size_t)k);
    }
    if (r == 0)
        r = fsync(out);
    int e = errno;
    free(buf);
    close(in);
    if (close(out) != 0 && r == 0) {
        r = -1;
        e = errno;
    }
    if (r != 0)
        unlink(dst);
    errno = e;
    return r;
}

/* Makes the backup; returns its name (owned) or NULL with errno. */
static char *make_backup(const char *path, int64_t now_ms, mode_t mode)
{
    char name[PATH_MAX];
    safewrite_backup_name(path, now_ms, name, sizeof name);
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

/* Removes ".<base>.fixtmp.<pid>" files whose process is gone. */
static void clean_stale_tmp(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char prefix[NAME_MAX + 16];
    int pl = snprintf(prefix, sizeof prefix, ".%s.fixtmp.", base);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (pl <= 0 || strncmp(de->d_name, prefix, (size_t)pl) != 0)
            continue;
        char *end;
        long pid = strtol(de->d_name + pl, &end, 10);
        if (*end || pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH) ||
            pid == (long)getpid()) {
            char full[PATH_MAX];
            snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
            unlink(full);
        }
    }
    closedir(d);
}

int safewrite_begin(const char *path, int64_t now_ms, int keep, struct safewrite **ret,
                    char **ret_err)
{
    struct safewrite *w = calloc(1, sizeof *w);
    if (!w)
        return set_err(ret_err, SH_ENOMEM, "%s: out of memory", path);
    w->fd = -1;
    w->keep = keep;
    fs_ignore_sigxfsz();
    w->path = realpath(path, NULL);
    if (!w->path) {
        int e = errno;
        free(w);
        return set_err(ret_err, SH_EIO, "%s: %s", path, strerror(e));
    }
    struct stat st;
    if (stat(w->path, &st) != 0 || !S_ISREG(st.st_mode)) {
        safewrite_abort(w);
        return set_err(ret_err, SH_EIO, "%s: not a regular file", path);
    }
    w->dir = dir_of(w->path);
    w->buf = malloc(OUTBUF);
    if (!w->dir || !w->buf ||
        asprintf(&w->tmp, "%s/.%s.fixtmp.%ld", w->dir, base_of(w->path), (long)getpid()) < 0) {
        w->tmp = NULL;
        safewrite_abort(w);
        return set_err(ret_err, SH_ENOMEM, "%s: out of memory", path);
    }
    clean_stale_tmp(w->dir, base_of(w->path));
    if (keep > 0) {
        w->backup = make_backup(w->path, now_ms, st.st_mode);
        if (!w->backup) {
            int e = errno;
            safewrite_abort(w);
            return set_err(ret_err, SH_EIO, "%s: cannot make a backup: %s", path, strerror(e));
        }
    }
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0 || fchmod(w->fd, st.st_mode & 07777) != 0) {
        int e = errno;
        safewrite_abort(w);
        return set_err(ret_err, SH_EIO, "%s: cannot create a temporary file in %s: %s", path,
                       "its folder", strerror(e));
    }
    *ret = w;
    return 0;
}

static void flush_buf(struct safewrite *w)
{
    if (w->len && !w->err && write_all(w->fd, w->buf, w->len) != 0)
        w->err = errno ? errno : EIO;
    w->len = 0;
}

int safewrite_put(struct safewrite *w, const void *p, size_t n)
{
    w->total += n;
    if (w->len + n > OUTBUF) {
        flush_buf(w);
        if (n >= OUTBUF) {
            if (!w->err && write_all(w->fd, p, n) != 0)
                w->err = errno ? errno : EIO;
            return w->err ? SH_EIO : 0;
        }
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return w->err ? SH_EIO : 0;
}

const char *safewrite_backup(const struct safewrite *w)
{
    return w->backup;
}

uint64_t safewrite_bytes(const struct safewrite *w)
{
    return w->total;
}

static void sw_free(struct safewrite *w)
{
    free(w->path);
    free(w->dir);
    free(w->tmp);
    free(w->backup);
    free(w->buf);
    free(w);
}

void safewrite_abort(struct safewrite *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        close(w->fd);
        unlink(w->tmp);
    }
    if (w->backup)
        unlink(w->backup);
    sw_free(w);
}

int safewrite_commit(struct safewrite *w, char **ret_err)
{
    flush_buf(w);
    int e = w->err;
    if (!e && fsync(w->fd) != 0)
        e = errno;
    if (close(w->fd) != 0 && !e)
        e = errno;
    w->fd = -1;
    if (!e && rename(w->tmp, w->path) != 0)
        e = errno;
    if (e) {
        unlink(w->tmp);
        int r = set_err(ret_err, SH_EIO, "%s: cannot write the fixed file: %s", w->path, strerror(e));
        safewrite_abort(w);
        return r;
    }
    fsync_dir(w->dir);
    if (w->keep > 0)
        safewrite_prune_backups(w->path, w->keep);
    sw_free(w);
    return 0;
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

int safewrite_prune_backups(const char *path, int keep)
{
    char *real = realpath(path, NULL);
    const char *p = real ? real : path;
    char *dir = dir_of(p);
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
