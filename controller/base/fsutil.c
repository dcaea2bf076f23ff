/* fsutil.c — the helpers of fsutil.h. */
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"

int fs_mkdir_p(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return SH_EIO;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return SH_EIO;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return SH_EIO;
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return SH_EIO;
    }
    return 0;
}

/* Reads fd into p until room bytes or the end; *got says how many. 0, or -1
 * with errno. */
static int read_full(int fd, char *p, size_t room, size_t *got)
{
    size_t len = 0;
    while (len < room) {
        ssize_t n = read(fd, p + len, room - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *got = len;
    return 0;
}

/* The rest of a file whose first `len` bytes (a full buffer) are in first:
 * a heap buffer doubled as it fills, up to max + 1 bytes. fd is closed. */
static int read_rest(int fd, size_t max, const char *first, size_t len, char **ret_buf,
                     size_t *ret_len)
{
    size_t cap = len;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return SH_ENOMEM;
    }
    memcpy(buf, first, len);
    for (;;) {
        if (len == cap) {
            if (cap >= max + 1) {
                free(buf);
                close(fd);
                return SH_ETOOBIG;
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                close(fd);
                return SH_ENOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = 0;
        if (read_full(fd, buf + len, cap - len, &got) != 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return SH_EIO;
        }
        len += got;
        if (len < cap)
            break; /* the end */
    }
    close(fd);
    *ret_buf = buf;
    *ret_len = len;
    return 0;
}

int fs_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SH_EIO;
    /* A small file (a spec, a metric, a status: most reads) goes through the
     * stack into a buffer of its own size: a 4 KiB malloc is a "large"
     * request that makes glibc consolidate its fast bins first, which cost
     * more than the read itself (callgrind: ~8,000 instructions a call). */
    char first[4096];
    size_t len = 0;
    if (read_full(fd, first, sizeof first, &len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return SH_EIO;
    }
    char *buf = NULL;
    if (len == sizeof first) {
        int r = read_rest(fd, max, first, len, &buf, &len);
        if (r != 0)
            return r;
    } else {
        close(fd);
        if (len <= max && !(buf = malloc(len + 1)))
            return SH_ENOMEM;
        if (buf)
            memcpy(buf, first, len);
    }
    if (len > max) {
        free(buf);
        return SH_ETOOBIG;
    }
    buf[len] = '\0';
    *ret_data = buf;
    if (ret_len)
        *ret_len = len;
    return 0;
}

void fs_uuid4(char *buf)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)(rand() & 0xff);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    /* 8-4-4-4-12 lowercase hex, by hand: one snprintf of 16 "%02x" cost more
     * than the getrandom (a uid per pipeline at start) */
    static const char hex[] = "0123456789abcdef";
    char *o = buf;
    for (size_t i = 0; i < sizeof b; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 0x0f];
    }
    *o = '\0';
}

char *fs_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

void fs_ignore_sigxfsz(void)
{
    struct sigaction old;
    if (sigaction(SIGXFSZ, NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
        struct sigaction ign;
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(SIGXFSZ, &ign, NULL);
    }
}
