/* procfile.c — pid files naming a process by pid and start time (procfile.h). */
#include "base/procfile.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/errors.h"

bool procfile_prepare(struct procfile *pf, const char *base)
{
    if (!base || !*base)
        return false;
    int n = snprintf(pf->path, sizeof pf->path, "%s.pid", base);
    if (n <= 0 || (size_t)n >= sizeof pf->path)
        return false;
    const char *slash = strrchr(pf->path, '/');
    n = slash ? snprintf(pf->tmp, sizeof pf->tmp, "%.*s/.%s.new", (int)(slash - pf->path), pf->path,
                         slash + 1)
              : snprintf(pf->tmp, sizeof pf->tmp, ".%s.new", pf->path);
    return n > 0 && (size_t)n < sizeof pf->tmp;
}

/* Field 22 (starttime) of a /proc/PID/stat line; 0 when absent. With
 * zombies_too false, a zombie or dead process gives 0. Async-signal-safe. */
static unsigned long long stat_start_time(const char *stat, bool zombies_too)
{
    const char *s = strrchr(stat, ')');
    if (!s || s[1] != ' ')
        return 0;
    if (!zombies_too && (s[2] == 'Z' || s[2] == 'X'))
        return 0;
    for (int field = 2; field < 22 && s; field++)
        s = strchr(s + 1, ' ');
    if (!s)
        return 0;
    unsigned long long start = 0;
    for (s++; *s >= '0' && *s <= '9'; s++)
        start = start * 10 + (unsigned long long)(*s - '0');
    return start;
}

/* Appends the decimal digits of v (async-signal-safe). */
static size_t put_ull(char *buf, size_t at, unsigned long long v)
{
    char d[24];
    size_t n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof d);
    while (n)
        buf[at++] = d[--n];
    return at;
}

void procfile_child_write(const struct procfile *pf)
{
    char stat[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0)
        return;
    stat[n] = '\0';
    unsigned long long start = stat_start_time(stat, true);
    if (start == 0)
        return;
    char line[64];
    size_t len = put_ull(line, 0, (unsigned long long)getpid());
    line[len++] = ' ';
    len = put_ull(line, len, start);
    line[len++] = '\n';
    fd = open(pf->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    bool ok = write(fd, line, len) == (ssize_t)len;
    close(fd);
    if (!ok || rename(pf->tmp, pf->path) != 0)
        unlink(pf->tmp);
}

int procfile_read(const char *path, pid_t *ret_pid, unsigned long long *ret_start)
{
    char buf[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SH_ENOTFOUND;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    int pid = 0;
    unsigned long long start = 0;
    if (sscanf(buf, "%d %llu", &pid, &start) != 2 || pid <= 1 || start == 0)
        return SH_EPARSE;
    *ret_pid = (pid_t)pid;
    *ret_start = start;
    return 0;
}

unsigned long long proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return stat_start_time(buf, false);
}

bool proc_alive(pid_t pid, unsigned long long start)
{
    return pid > 1 && pid != getpid() && start != 0 && proc_start_time(pid) == start;
}

static bool gone_by(pid_t pid, unsigned long long start, int64_t wait_ms)
{
    int64_t end = clock_monotonic_ms() + wait_ms;
    for (;;) {
        if (!proc_alive(pid, start))
            return true;
        if (clock_monotonic_ms() >= end)
            return false;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

bool proc_stop_group(pid_t pid, unsigned long long start, int64_t grace_ms)
{
    if (!proc_alive(pid, start))
        return false;
    kill(-pid, SIGTERM);
    kill(pid, SIGTERM);
    if (!gone_by(pid, start, grace_ms)) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        gone_by(pid, start, 2000);
    }
    return true;
}
