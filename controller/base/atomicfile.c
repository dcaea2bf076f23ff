/*
 * atomicfile.c — write-to-temporary, fsync, rename (atomicfile.h): whole
 * buffers, streams and symlinks through the same temporary names, the same
 * sweep of dead processes' temporaries and the same flushes.
 */
#include "base/atomicfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/fsutil.h"

/* The stream buffer: pieces smaller than this are gathered before a write. */
#define OUTBUF (1u << 20)

struct atomic_file {
    char *path;
    char *dir;
    char *tmp;
    int fd;
    char *buf; /* allocated at the first small put */
    size_t len;
    uint64_t total;
    uint64_t written, synced; /* bytes written; those whose writeback was started */
    int err; /* errno of the first failed write, 0 */
};

static atomic_ulong tmp_counter;

/* The folders this process has already swept (a few; beyond, no sweeping). */
#define SWEPT_MAX 64
static pthread_mutex_t swept_mu = PTHREAD_MUTEX_INITIALIZER;
static char *swept[SWEPT_MAX];
static size_t nswept;

/* Digits from p: their end, or NULL when there are none or more than max. */
static const char *digits_end(const char *p, int max)
{
    const char *q = p;
    while (*q >= '0' && *q <= '9')
        q++;
    return q == p || q - p > max ? NULL : q;
}

/* The pid of a ".<name>.fixtmp.<pid>" temporary (earlier data fixes), or 0. */
static long legacy_tmp_owner(const char *name)
{
    const char *t = NULL;
    for (const char *s = strstr(name + 1, ".fixtmp."); s; s = strstr(s + 1, ".fixtmp."))
        t = s;
    if (!t || t == name + 1)
        return 0;
    const char *q = digits_end(t + 8, 10);
    return q && *q == '\0' ? strtol(t + 8, NULL, 10) : 0;
}

/* The pid of a ".<name>.tmp.<pid>.<n>" temporary (or a legacy one), or 0. */
static long tmp_owner(const char *name)
{
    if (name[0] != '.')
        return 0;
    const char *t = NULL;
    for (const char *s = strstr(name + 1, ".tmp."); s; s = strstr(s + 1, ".tmp."))
        t = s;
    if (!t || t == name + 1)
        return legacy_tmp_owner(name);
    const char *q = digits_end(t + 5, 10);
    if (!q || *q != '.')
        return legacy_tmp_owner(name);
    const char *r = digits_end(q + 1, 20);
    if (!r || *r)
        return legacy_tmp_owner(name);
    return strtol(t + 5, NULL, 10);
}

/* Removes the folder's temporaries whose process is gone; false when one
 * belongs to another process still alive (a writer at work, or one still
 * dying: the folder is swept again at its next write). */
static bool sweep(const char *dir)
{
    int e = errno;
    bool clean = true;
    DIR *d = opendir(dir);
    if (!d) {
        errno = e;
        return true;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        long pid = tmp_owner(de->d_name);
        if (pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
            clean = false;
            continue;
        }
        unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
    errno = e;
    return clean;
}

/* sweep() once per folder and process — until a sweep finds it clean. */
static void sweep_once(const char *dir)
{
    pthread_mutex_lock(&swept_mu);
    bool todo = nswept < SWEPT_MAX; /* past that many folders: no more sweeps */
    for (size_t i = 0; todo && i < nswept; i++)
        if (strcmp(swept[i], dir) == 0)
            todo = false;
    pthread_mutex_unlock(&swept_mu);
    if (!todo || !sweep(dir))
        return;
    pthread_mutex_lock(&swept_mu);
    bool known = false;
    for (size_t i = 0; !known && i < nswept; i++)
        known = strcmp(swept[i], dir) == 0;
    if (!known && nswept < SWEPT_MAX && (swept[nswept] = strdup(dir)) != NULL)
        nswept++;
    pthread_mutex_unlock(&swept_mu);
}

/* Folders with renames not yet flushed (atomic_file_write_deferred). */
#define PENDING_MAX 64
static pthread_mutex_t pending_mu = PTHREAD_MUTEX_INITIALIZER;
static char *pending[PENDING_MAX];
static size_t npending;

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Flushes the folder's entries; file systems that cannot do it are fine. */
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

/* The folder of path and a fresh temporary name beside it (both owned).
 * 0, or SH_EIO (EISDIR) / SH_ENOMEM with errno. */
static int tmp_name(const char *path, char **ret_dir, char **ret_tmp)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (*base == '\0') {
        errno = EISDIR;
        return SH_EIO;
    }
    char *dir =
        slash ? (slash == path ? strdup("/") : strndup(path, (size_t)(slash - path))) : strdup(".");
    char *tmp = NULL;
    if (!dir || asprintf(&tmp, "%.*s.%s.tmp.%ld.%lu", (int)(base - path), path, base,
                         (long)getpid(), atomic_fetch_add(&tmp_counter, 1)) < 0) {
        free(dir);
        errno = ENOMEM;
        return SH_ENOMEM;
    }
    *ret_dir = dir;
    *ret_tmp = tmp;
    return 0;
}

static void af_free(struct atomic_file *f)
{
    free(f->path);
    free(f->dir);
    free(f->tmp);
    free(f->buf);
    free(f);
}

/* atomic_file_begin with the sweep chosen by the caller. */
static int begin(const char *path, int mode, bool sweep_always, struct atomic_file **ret)
{
    fs_ignore_sigxfsz();
    struct atomic_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        errno = ENOMEM;
        return SH_ENOMEM;
    }
    f->fd = -1;
    int r = tmp_name(path, &f->dir, &f->tmp);
    if (r != 0) {
        int e = errno;
        af_free(f);
        errno = e;
        return r;
    }
    if (sweep_always)
        sweep(f->dir);
    else
        sweep_once(f->dir);
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode < 0 ? 0644 : 0600);
    if (f->fd < 0 || (mode >= 0 && fchmod(f->fd, (mode_t)mode & 07777) != 0)) {
        int e = errno;
        atomic_file_abort(f);
        errno = e;
        return SH_EIO;
    }
    *ret = f;
    return 0;
}

int atomic_file_begin(const char *path, int mode, struct atomic_file **ret)
{
    return begin(path, mode, true, ret);
}

/* Writeback of a big stream is started every WRITEBACK bytes, so that the
 * fsync before the rename has only the tail left to wait for. */
#define WRITEBACK (8u << 20)

/* Writes straight to the file; a failure sticks in f->err. */
static void write_through(struct atomic_file *f, const void *p, size_t n)
{
    if (!f->err && write_all(f->fd, p, n) != 0)
        f->err = errno ? errno : EIO;
#ifdef SYNC_FILE_RANGE_WRITE
    f->written += n;
    if (!f->err && f->written - f->synced >= WRITEBACK) {
        (void)sync_file_range(f->fd, (off_t)f->synced, (off_t)(f->written - f->synced), SYNC_FILE_RANGE_WRITE);
        f->synced = f->written;
    }
#endif
}

static void flush_buf(struct atomic_file *f)
{
    if (f->len)
        write_through(f, f->buf, f->len);
    f->len = 0;
}

int atomic_file_put(struct atomic_file *f, const void *p, size_t n)
{
    f->total += n;
    if (f->len + n > OUTBUF)
        flush_buf(f);
    if (n >= OUTBUF || (!f->buf && !(f->buf = malloc(OUTBUF)))) {
        write_through(f, p, n);
    } else {
        memcpy(f->buf + f->len, p, n);
        f->len += n;
    }
    return f->err ? SH_EIO : 0;
}

uint64_t atomic_file_bytes(const struct atomic_file *f)
{
    return f->total;
}

/* Syncs, closes and renames f's temporary over its path; on failure the
 * temporary is removed, f freed, errno set, and SH_EIO returned. */
static int put_in_place(struct atomic_file *f)
{
    int e = f->err;
    if (!e && fsync(f->fd) != 0)
        e = errno;
    if (close(f->fd) != 0 && !e)
        e = errno;
    f->fd = -1;
    if (!e && rename(f->tmp, f->path) != 0)
        e = errno;
    if (e) {
        unlink(f->tmp);
        af_free(f);
        errno = e;
        return SH_EIO;
    }
    return 0;
}

int atomic_file_commit(struct atomic_file *f, bool *ret_replaced)
{
    if (ret_replaced)
        *ret_replaced = false;
    flush_buf(f);
    if (put_in_place(f) != 0)
        return SH_EIO;
    if (ret_replaced)
        *ret_replaced = true;
    /* The new content is in place; only its durability is left to check. */
    int r = fsync_dir(f->dir) == 0 ? 0 : SH_EIO;
    int e = errno;
    af_free(f);
    errno = e;
    return r;
}

void atomic_file_abort(struct atomic_file *f)
{
    if (!f)
        return;
    if (f->fd >= 0) {
        close(f->fd);
        unlink(f->tmp);
    }
    af_free(f);
}

int atomic_file_write(const char *path, const void *data, size_t len)
{
    struct atomic_file *f = NULL;
    int r = begin(path, ATOMIC_FILE_MODE_DEFAULT, false, &f);
    if (r != 0)
        return SH_EIO;
    write_through(f, data, len);
    return atomic_file_commit(f, NULL);
}

/* Adds dir to the pending folders; false when the list is full. */
static bool add_pending(const char *dir)
{
    bool ok = false;
    pthread_mutex_lock(&pending_mu);
    for (size_t i = 0; i < npending && !ok; i++)
        ok = strcmp(pending[i], dir) == 0;
    if (!ok && npending < PENDING_MAX && (pending[npending] = strdup(dir)) != NULL) {
        npending++;
        ok = true;
    }
    pthread_mutex_unlock(&pending_mu);
    return ok;
}

int atomic_file_write_deferred(const char *path, const void *data, size_t len)
{
    struct atomic_file *f = NULL;
    if (begin(path, ATOMIC_FILE_MODE_DEFAULT, false, &f) != 0)
        return SH_EIO;
    write_through(f, data, len);
    if (put_in_place(f) != 0)
        return SH_EIO;
    /* in place; the folder is flushed by atomic_file_flush_folders (or now,
     * when too many folders are pending) */
    int r = add_pending(f->dir) || fsync_dir(f->dir) == 0 ? 0 : SH_EIO;
    int e = errno;
    af_free(f);
    errno = e;
    return r;
}

int atomic_file_flush_folders(void)
{
    /* take the list: renames after this point go to the next flush */
    pthread_mutex_lock(&pending_mu);
    size_t n = npending;
    char *dirs[PENDING_MAX];
    memcpy(dirs, pending, n * sizeof *dirs);
    npending = 0;
    pthread_mutex_unlock(&pending_mu);
    int r = 0, e = 0;
    for (size_t i = 0; i < n; i++) {
        if (fsync_dir(dirs[i]) != 0 && r == 0) {
            r = SH_EIO;
            e = errno;
        }
        free(dirs[i]);
    }
    errno = e;
    return r;
}

size_t atomic_file_pending_folders(void)
{
    pthread_mutex_lock(&pending_mu);
    size_t n = npending;
    pthread_mutex_unlock(&pending_mu);
    return n;
}

int atomic_file_write_str(const char *path, const char *s)
{
    return atomic_file_write(path, s, strlen(s));
}

int atomic_file_symlink(const char *target, const char *path, const char **ret_step)
{
    char *dir = NULL, *tmp = NULL;
    if (tmp_name(path, &dir, &tmp) != 0) {
        if (ret_step)
            *ret_step = "create";
        return SH_EIO;
    }
    sweep_once(dir);
    int r = 0, e = 0;
    if (symlink(target, tmp) != 0) {
        e = errno;
        r = SH_EIO;
        if (ret_step)
            *ret_step = "create";
    } else if (rename(tmp, path) != 0) {
        e = errno;
        r = SH_EIO;
        if (ret_step)
            *ret_step = "replace";
        unlink(tmp);
    } else {
        (void)fsync_dir(dir);
    }
    free(dir);
    free(tmp);
    errno = e;
    return r;
}
