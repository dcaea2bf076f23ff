/* atomicfile.c — write-to-temporary, fsync, rename (atomicfile.h). */
#include "base/atomicfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/fsutil.h"

static atomic_ulong tmp_counter;

/* The folders this process has already swept (a few; beyond, no sweeping). */
#define SWEPT_MAX 64
static pthread_mutex_t swept_mu = PTHREAD_MUTEX_INITIALIZER;
static char *swept[SWEPT_MAX];
static size_t nswept;

/* The pid of a ".<name>.tmp.<pid>.<n>" temporary, or 0 for any other name. */
static long tmp_owner(const char *name)
{
    if (name[0] != '.')
        return 0;
    const char *t = NULL;
    for (const char *s = strstr(name + 1, ".tmp."); s; s = strstr(s + 1, ".tmp."))
        t = s;
    if (!t || t == name + 1)
        return 0;
    const char *p = t + 5, *q = p;
    while (*q >= '0' && *q <= '9')
        q++;
    if (q == p || *q != '.' || q - p > 10)
        return 0;
    const char *r = q + 1;
    if (*r < '0' || *r > '9')
        return 0;
    while (*r >= '0' && *r <= '9')
        r++;
    if (*r)
        return 0;
    return strtol(p, NULL, 10);
}

/* Once per folder and process: removes temporaries of processes that are gone. */
static void sweep_once(const char *dir)
{
    pthread_mutex_lock(&swept_mu);
    bool todo = nswept < SWEPT_MAX;
    for (size_t i = 0; todo && i < nswept; i++)
        if (strcmp(swept[i], dir) == 0)
            todo = false;
    if (todo && (swept[nswept] = strdup(dir)) != NULL)
        nswept++;
    pthread_mutex_unlock(&swept_mu);
    if (!todo)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        long pid = tmp_owner(de->d_name);
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

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

int atomic_file_write(const char *path, const void *data, size_t len)
{
    fs_ignore_sigxfsz();
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
        return SH_EIO;
    }
    int r = SH_EIO, e;
    sweep_once(dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        e = errno;
        goto out;
    }
    bool ok = write_all(fd, data, len) == 0 && fsync(fd) == 0;
    e = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        goto out;
    }
    /* The new content is in place; only its durability is left to check. */
    r = fsync_dir(dir) == 0 ? 0 : SH_EIO;
    e = errno;
out:
    free(tmp);
    free(dir);
    errno = e;
    return r;
}

int atomic_file_write_str(const char *path, const char *s)
{
    return atomic_file_write(path, s, strlen(s));
}
