/* atomicfile.c — write-to-temporary, fsync, rename (atomicfile.h). */
#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"

static atomic_ulong tmp_counter;

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
