/* isolate.c — forked, memory-budgeted work (isolate.h). */
#include "base/isolate.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/errors.h"

#define ISOLATE_THREAD_STACK (512 * 1024)

/* ---- the wire buffers ---- */

void wbuf_bytes(struct wbuf *b, const void *p, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            wbuf_free(b);
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void wbuf_u64(struct wbuf *b, uint64_t v)
{
    wbuf_bytes(b, &v, sizeof v);
}

void wbuf_f64(struct wbuf *b, double v)
{
    wbuf_bytes(b, &v, sizeof v);
}

void wbuf_str(struct wbuf *b, const char *s)
{
    if (!s) {
        wbuf_u64(b, UINT64_MAX);
        return;
    }
    size_t n = strlen(s);
    wbuf_u64(b, n);
    wbuf_bytes(b, s, n);
}

void wbuf_free(struct wbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void rbuf_bytes(struct rbuf *r, void *p, size_t n)
{
    if (r->bad || r->left < n) {
        r->bad = true;
        memset(p, 0, n);
        return;
    }
    memcpy(p, r->p, n);
    r->p += n;
    r->left -= n;
}

uint64_t rbuf_u64(struct rbuf *r)
{
    uint64_t v;
    rbuf_bytes(r, &v, sizeof v);
    return v;
}

double rbuf_f64(struct rbuf *r)
{
    double v;
    rbuf_bytes(r, &v, sizeof v);
    return v;
}

char *rbuf_str(struct rbuf *r)
{
    uint64_t n = rbuf_u64(r);
    if (r->bad || n == UINT64_MAX)
        return NULL;
    if (n > r->left) {
        r->bad = true;
        return NULL;
    }
    char *s = malloc(n + 1);
    if (!s) {
        r->bad = true;
        return NULL;
    }
    rbuf_bytes(r, s, n);
    s[n] = '\0';
    return s;
}

/* ---- sizes ---- */

void isolate_format_bytes(uint64_t v, char *buf, size_t size)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double x = (double)v;
    int u = 0;
    while (x >= 1024 && u < 4) {
        x /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu bytes", (unsigned long long)v);
    else if (x == (double)(uint64_t)x)
        snprintf(buf, size, "%llu %s", (unsigned long long)x, units[u]);
    else
        snprintf(buf, size, "%.1f %s", x, units[u]);
}

int isolate_parse_bytes(const char *s, uint64_t *ret)
{
    if (!s || !*s)
        return SH_EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return SH_EINVAL;
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {{"", 1},         {"B", 1},          {"K", 1e3},        {"Ki", 1024},
                 {"KiB", 1024},   {"M", 1e6},        {"Mi", 1048576.0}, {"MiB", 1048576.0},
                 {"G", 1e9},      {"Gi", 1073741824.0}, {"GiB", 1073741824.0}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].suffix) == 0) {
            double b = v * units[i].mult;
            if (b >= 1.8e19)
                return SH_EINVAL;
            *ret = (uint64_t)b;
            return 0;
        }
    return SH_EINVAL;
}

/* ---- the child ---- */

/* VmData of this process in bytes (0 when unknown); no stdio, no malloc. */
static uint64_t vm_data(void)
{
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *p = strstr(buf, "\nVmData:");
    return p ? strtoull(p + 8, NULL, 10) * 1024 : 0;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void limit_memory(uint64_t budget)
{
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!write(fd, "1000", 4);
        close(fd);
    }
    if (!budget)
        return;
    struct rlimit rl = {.rlim_cur = vm_data() + budget, .rlim_max = RLIM_INFINITY};
    struct rlimit old;
    if (getrlimit(RLIMIT_DATA, &old) == 0) {
        rl.rlim_max = old.rlim_max;
        if (old.rlim_max != RLIM_INFINITY && rl.rlim_cur > old.rlim_max)
            rl.rlim_cur = old.rlim_max;
    }
    setrlimit(RLIMIT_DATA, &rl);
}

static _Noreturn void child_main(int fd, pid_t parent, uint64_t budget, isolate_fn fn, void *arg)
{
    /* the work dies with the controller: a SIGKILLed controller's data fix
     * must not go on beside the one its successor starts on the same file */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(3);
    /* threads of the work get small stacks: 8 MiB each would count against
     * the budget (RLIMIT_DATA counts thread stacks) for nothing */
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) == 0) {
        if (pthread_attr_setstacksize(&attr, ISOLATE_THREAD_STACK) == 0)
            (void)pthread_setattr_default_np(&attr);
        pthread_attr_destroy(&attr);
    }
    limit_memory(budget);
    struct wbuf out = {0};
    char *err = NULL;
    int rc = fn(arg, &out, &err);
    if (out.failed && rc == 0)
        rc = SH_ENOMEM;
    struct wbuf frame = {0};
    wbuf_u64(&frame, (uint64_t)(int64_t)rc);
    wbuf_str(&frame, err);
    wbuf_u64(&frame, out.failed ? 0 : out.len);
    bool ok = !frame.failed && write_all(fd, frame.data, frame.len) &&
              (out.failed || write_all(fd, out.data, out.len));
    _exit(ok ? 0 : 3);
}

/* ---- the parent ---- */

static char *budget_message(uint64_t budget)
{
    char b[32], *msg = NULL;
    isolate_format_bytes(budget, b, sizeof b);
    if (budget == 0)
        return strdup("out of memory: the data work was killed (the machine or the container "
                      "ran out of memory)");
    if (asprintf(&msg,
                 "out of memory: the data work needs more than the budget of %s; raise "
                 "--memory-budget (selfheal run, fix-data, drift) or give it more memory",
                 b) < 0)
        return NULL;
    return msg;
}

int isolate_run(uint64_t budget_bytes, isolate_fn fn, void *arg, char **ret_data, size_t *ret_len,
                char **ret_err)
{
    *ret_data = NULL;
    *ret_len = 0;
    *ret_err = NULL;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        *ret_err = strdup("cannot start the data work: no pipe");
        return SH_EIO;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        *ret_err = strdup("cannot start the data work: fork failed");
        return SH_EIO;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], parent, budget_bytes, fn, arg);
    }
    close(fds[1]);
    struct wbuf in = {0};
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        wbuf_bytes(&in, chunk, (size_t)n);
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    struct rbuf r = {.p = in.data, .left = in.len};
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !in.failed) {
        int rc = (int)(int64_t)rbuf_u64(&r);
        char *err = rbuf_str(&r);
        uint64_t len = rbuf_u64(&r);
        if (!r.bad && len == r.left) {
            if (rc == SH_ENOMEM) {
                free(err);
                err = budget_message(budget_bytes);
            } else if (len) {
                *ret_data = malloc(len);
                if (!*ret_data) {
                    free(err);
                    wbuf_free(&in);
                    return SH_ENOMEM;
                }
                memcpy(*ret_data, r.p, len);
                *ret_len = len;
            }
            *ret_err = err;
            wbuf_free(&in);
            return rc;
        }
        free(err);
    }
    wbuf_free(&in);
    if (in.failed || (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
        (WIFEXITED(status) && WEXITSTATUS(status) == 3)) {
        *ret_err = budget_message(budget_bytes);
        return SH_ENOMEM;
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *name = sigabbrev_np(sig);
        if (asprintf(ret_err, "the data work crashed (signal %d, SIG%s)%s", sig,
                     name ? name : "?",
                     budget_bytes && (sig == SIGSEGV || sig == SIGABRT || sig == SIGBUS)
                         ? "; it may have run out of its memory budget"
                         : "") < 0)
            *ret_err = NULL;
    } else if (asprintf(ret_err, "the data work ended without a result (status %d)",
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1) < 0) {
        *ret_err = NULL;
    }
    return SH_EIO;
}
