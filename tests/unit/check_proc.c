/* check_proc.c — starting, reaping and stopping child processes
 * (controller/base/proc.h), with real children: their group, environment,
 * folder, log, stdin, descriptors and signals, the pid file, what cannot
 * run, the group kill at the reap, SIGTERM escalating to SIGKILL. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/errors.h"
#include "base/fsutil.h"
#include "base/proc.h"
#include "base/procfile.h"

Suite *proc_suite(void);

#define WAIT_MS 10000

static char dir[256];
static char log_path[320];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_proc.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(log_path, sizeof log_path, "%s/logs/child.log", dir);
}

static void teardown(void)
{
    char *argv[] = {"rm", "-rf", dir, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execvp("rm", argv);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
}

/* The file's text ("" when missing) in buf. */
static const char *slurp(const char *path, char *buf, size_t size)
{
    char *data = NULL;
    size_t len = 0;
    snprintf(buf, size, "%s", fs_read_file(path, size - 1, &data, &len) == 0 ? data : "");
    free(data);
    return buf;
}

/* Polls until the file holds text (fails the test after WAIT_MS). */
static void wait_file_has(const char *path, const char *text)
{
    char buf[8192];
    for (int64_t t0 = clock_monotonic_ms(); !strstr(slurp(path, buf, sizeof buf), text);) {
        ck_assert_msg(clock_monotonic_ms() - t0 < WAIT_MS, "%s never held '%s': %s", path, text, buf);
        usleep(5000);
    }
}

/* A process that exists and is not a zombie. */
static bool alive(pid_t pid)
{
    return proc_start_time(pid) != 0;
}

/* Reaps c, polling, within WAIT_MS; returns its wait status. */
static int reap(struct proc_child *c, bool kill_group)
{
    int status = 0;
    int64_t deadline = clock_monotonic_ms() + WAIT_MS;
    enum proc_reap r;
    while ((r = proc_try_reap(c, kill_group, &status)) == PROC_RUNNING &&
           clock_monotonic_ms() < deadline)
        usleep(5000);
    ck_assert_int_eq(r, PROC_REAPED);
    return status;
}

START_TEST(test_proc_child_runs_in_its_group_with_env_folder_log_and_no_stdin)
{
    char *argv[] = {"sh", "-c",
                    "echo \"$A:$B:$(pwd)\"; read x; echo read:$?; echo err >&2; exec sleep 30",
                    NULL};
    const char *names[] = {"A", "B"};
    const char *values[] = {"a", NULL};
    setenv("B", "inherited", 1);
    struct proc_spec s = {.argv = argv, .working_dir = dir, .env_names = names,
                          .env_values = values, .env_count = 2, .log_path = log_path,
                          .log_header = "--- header\n"};
    struct proc_child c;
    char *err = NULL;
    ck_assert_int_eq(proc_spawn(&s, &c, &err), 0);
    unsetenv("B");
    ck_assert_ptr_null(err);
    ck_assert_int_eq(c.pidfd, -1);
    ck_assert_int_eq(getpgid(c.pid), c.pid);
    char want[400], buf[8192];
    snprintf(want, sizeof want, "--- header\na::%s\nread:1\nerr\n", dir);
    wait_file_has(log_path, "err\n");
    ck_assert_str_eq(slurp(log_path, buf, sizeof buf), want);
    ck_assert_int_eq(proc_try_reap(&c, true, &(int){0}), PROC_RUNNING);
    ck_assert_int_eq(proc_signal(&c, SIGTERM), 0);
    int status = reap(&c, true);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    ck_assert_int_eq(proc_signal(&c, SIGTERM), SH_EIO); /* nothing left */
}
END_TEST

/* The target of /proc/PID/fd/FD ("" when none). */
static const char *fd_target(pid_t pid, int fd, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
    ssize_t n = readlink(path, buf, size - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

START_TEST(test_proc_output_goes_to_dev_null_or_stays_the_controllers)
{
    char *argv[] = {"sleep", "30", NULL};
    struct proc_spec s = {.argv = argv};
    struct proc_child c;
    ck_assert_int_eq(proc_spawn(&s, &c, NULL), 0);
    char got[256], mine[256];
    ck_assert_str_eq(fd_target(c.pid, 1, got, sizeof got), "/dev/null");
    ck_assert_str_eq(fd_target(c.pid, 0, got, sizeof got), "/dev/null");
    proc_kill_reap(&c);
    s.inherit_output = true;
    ck_assert_int_eq(proc_spawn(&s, &c, NULL), 0);
    ck_assert_str_eq(fd_target(c.pid, 2, got, sizeof got), fd_target(getpid(), 2, mine, sizeof mine));
    proc_kill_reap(&c);
    ck_assert(!alive(c.pid));
}
END_TEST

/* The open descriptors of pid, "0 1 2 " for instance. */
static const char *fds_of(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    buf[0] = '\0';
    for (int fd = 0; fd < 1024; fd++) {
        char p[96];
        snprintf(p, sizeof p, "%s/%d", path, fd);
        if (access(p, F_OK) == 0)
            snprintf(buf + strlen(buf), size - strlen(buf), "%d ", fd);
    }
    return buf;
}

/* The child's descriptors once it holds only 0 1 2, or what it holds after
 * WAIT_MS: a program just exec'd may have a file of its own open for a moment
 * (sleep reading its locale), while a leaked descriptor stays. */
static const char *settled_fds_of(pid_t pid, char *buf, size_t size)
{
    int64_t t0 = clock_monotonic_ms();
    while (strcmp(fds_of(pid, buf, size), "0 1 2 ") != 0 && clock_monotonic_ms() - t0 < WAIT_MS) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return buf;
}

/* The mask of a "SigIgn:" or "SigBlk:" line of /proc/PID/status. */
static unsigned long long sig_mask(pid_t pid, const char *field)
{
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    const char *l = strstr(slurp(path, buf, sizeof buf), field);
    ck_assert_ptr_nonnull(l);
    return strtoull(l + strlen(field), NULL, 16);
}

START_TEST(test_proc_child_inherits_no_descriptor_and_no_ignored_signal)
{
    int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
    ck_assert_int_ge(leak, 3);
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGUSR1, &ign, &old);
    sigset_t block, oldmask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &block, &oldmask);
    char *argv[] = {"sleep", "30", NULL};
    struct proc_spec s = {.argv = argv, .log_path = log_path};
    struct proc_child c;
    ck_assert_int_eq(proc_spawn(&s, &c, NULL), 0);
    sigaction(SIGUSR1, &old, NULL);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    close(leak);
    char buf[4096];
    ck_assert_str_eq(settled_fds_of(c.pid, buf, sizeof buf), "0 1 2 ");
    unsigned long long ign_mask = sig_mask(c.pid, "SigIgn:"), blk_mask = sig_mask(c.pid, "SigBlk:");
    ck_assert_msg(!(ign_mask & (1ULL << (SIGUSR1 - 1))), "SIGUSR1 still ignored: %llx", ign_mask);
    ck_assert_msg(!(blk_mask & (1ULL << (SIGUSR2 - 1))), "SIGUSR2 still blocked: %llx", blk_mask);
    proc_kill_reap(&c);
}
END_TEST

/* The same on a kernel without close_range: descriptors marked one by one. */
START_TEST(test_proc_child_inherits_no_descriptor_without_close_range)
{
    int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
    ck_assert_int_ge(leak, 3);
    proc_test_no_close_range = true;
    char *argv[] = {"sleep", "30", NULL};
    struct proc_spec s = {.argv = argv, .log_path = log_path};
    struct proc_child c;
    ck_assert_int_eq(proc_spawn(&s, &c, NULL), 0);
    proc_test_no_close_range = false;
    close(leak);
    char buf[4096];
    ck_assert_str_eq(settled_fds_of(c.pid, buf, sizeof buf), "0 1 2 ");
    proc_kill_reap(&c);
}
END_TEST

/* A child someone else reaped (ECHILD) is lost: its pid and process group id
 * may already be another's, so nothing is sent to them — here a process that
 * still has that group id stands for the one that reused it. */
START_TEST(test_proc_a_child_reaped_elsewhere_is_lost_and_never_signalled)
{
    char pidfile[256];
    snprintf(pidfile, sizeof pidfile, "%s.other", log_path);
    char script[512];
    snprintf(script, sizeof script, "sleep 30 & echo $! > %s; wait", pidfile);
    char *argv[] = {"sh", "-c", script, NULL};
    struct proc_spec s = {.argv = argv, .log_path = log_path};
    struct proc_child c;
    ck_assert_int_eq(proc_spawn(&s, &c, NULL), 0);
    pid_t other = 0;
    for (int i = 0; i < 500 && other <= 0; i++) {
        FILE *f = fopen(pidfile, "r");
        if (f) {
            if (fscanf(f, "%d", &other) != 1)
                other = 0;
            fclose(f);
        }
        if (other <= 0)
            usleep(10000);
    }
    ck_assert_int_gt(other, 0);
    kill(c.pid, SIGKILL); /* the leader only; then reaped behind the supervisor's back */
    ck_assert_int_eq(waitpid(c.pid, NULL, 0), c.pid);
    int st = 0;
    ck_assert_int_eq(proc_try_reap(&c, true, &st), PROC_LOST);
    usleep(200000); /* a SIGKILL sent would have landed by now */
    ck_assert(alive(other)); /* not killed with the group */
    ck_assert_int_eq(proc_signal(&c, SIGKILL), SH_EIO);
    ck_assert(alive(other));
    kill(other, SIGKILL);
    unlink(pidfile);
}
END_TEST

START_TEST(test_proc_pid_file_names_the_child_until_its_reap)
{
    char *argv[] = {"sleep", "30", NULL};
    struct proc_spec s = {.argv = argv, .log_path = log_path, .pid_base = log_path,
                          .want_pidfd = true};
    struct proc_child c;
    ck_assert_int_eq(proc_spawn(&s, &c, NULL), 0);
    ck_assert(c.has_pidfile);
    pid_t pid = 0;
    unsigned long long start = 0;
    ck_assert_int_eq(procfile_read(c.pidfile.path, &pid, &start), 0);
    ck_assert_int_eq(pid, c.pid);
    ck_assert(proc_alive(pid, start));
    char path[4096];
    snprintf(path, sizeof path, "%s", c.pidfile.path);
    if (c.pidfd >= 0) { /* the pidfd turns readable at the end */
        struct pollfd pfd = {.fd = c.pidfd, .events = POLLIN};
        ck_assert_int_eq(poll(&pfd, 1, 0), 0);
        proc_signal(&c, SIGKILL);
        ck_assert_int_eq(poll(&pfd, 1, WAIT_MS), 1);
    }
    proc_signal(&c, SIGKILL);
    reap(&c, true);
    ck_assert_int_eq(c.pidfd, -1);
    ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(test_proc_what_cannot_run_fails_the_spawn_with_a_reason)
{
    char *bad[] = {"/nonexistent/train-model", NULL};
    struct proc_spec s = {.argv = bad, .log_path = log_path, .pid_base = log_path};
    struct proc_child c;
    char *err = NULL;
    ck_assert_int_eq(proc_spawn(&s, &c, &err), SH_ENOTFOUND);
    ck_assert_str_eq(err, "cannot run '/nonexistent/train-model': No such file or directory");
    free(err);
    char pidfile[400];
    snprintf(pidfile, sizeof pidfile, "%s.pid", log_path);
    ck_assert_int_eq(access(pidfile, F_OK), -1);

    char *argv[] = {"true", NULL};
    s.argv = argv;
    s.working_dir = "/nonexistent/folder";
    ck_assert_int_eq(proc_spawn(&s, &c, &err), SH_ENOTFOUND);
    ck_assert_str_eq(err, "cannot run 'true': working folder /nonexistent/folder: "
                          "No such file or directory");
    free(err);

    char not_a_folder[400];
    snprintf(not_a_folder, sizeof not_a_folder, "%s/logs/child.log/x.log", dir);
    s.working_dir = NULL;
    s.log_path = not_a_folder;
    ck_assert_int_eq(proc_spawn(&s, &c, &err), SH_EIO);
    ck_assert_msg(strstr(err, "cannot open the log ") && strstr(err, not_a_folder), "%s", err);
    free(err);

    char *empty[] = {NULL};
    s.argv = empty;
    ck_assert_int_eq(proc_spawn(&s, &c, &err), SH_EINVAL);
    ck_assert_str_eq(err, "no command to run");
    free(err);
    ck_assert_int_eq(proc_spawn(&s, &c, NULL), SH_EINVAL); /* no message asked for */
}
END_TEST

/* Starts sh -c script with a grandchild in its group; returns the grandchild. */
static pid_t spawn_with_grandchild(struct proc_child *c, const char *script_end)
{
    char gpid[400], script[1200];
    snprintf(gpid, sizeof gpid, "%s/grandchild.pid", dir);
    unlink(gpid);
    snprintf(script, sizeof script, "sleep 300 & echo $! > %s.tmp && mv %s.tmp %s; %s", gpid, gpid,
             gpid, script_end);
    char *argv[] = {"sh", "-c", script, NULL};
    struct proc_spec s = {.argv = argv};
    ck_assert_int_eq(proc_spawn(&s, c, NULL), 0);
    wait_file_has(gpid, "\n");
    char buf[64];
    pid_t pid = (pid_t)strtol(slurp(gpid, buf, sizeof buf), NULL, 10);
    ck_assert_int_gt(pid, 0);
    return pid;
}

START_TEST(test_proc_reap_takes_the_rest_of_the_group_down_when_asked)
{
    struct proc_child c;
    pid_t grandchild = spawn_with_grandchild(&c, "exit 0");
    int status = reap(&c, true);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int i = 0; i < 200 && alive(grandchild); i++)
        usleep(10000);
    ck_assert_msg(!alive(grandchild), "the grandchild %d survived", (int)grandchild);

    /* left running otherwise (a command that starts a daemon) */
    grandchild = spawn_with_grandchild(&c, "exit 3");
    status = reap(&c, false);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    ck_assert(alive(grandchild));
    kill(grandchild, SIGKILL);
}
END_TEST

struct waits {
    struct proc_child *c;
    int calls;
    int status;
};

/* proc_terminate's wait: reaps c by polling until the deadline. */
static bool reaped_by(void *ctx, int64_t deadline_ms)
{
    struct waits *w = ctx;
    w->calls++;
    for (;;) {
        if (proc_try_reap(w->c, true, &w->status) != PROC_RUNNING)
            return true;
        if (clock_monotonic_ms() >= deadline_ms)
            return false;
        usleep(5000);
    }
}

START_TEST(test_proc_terminate_escalates_to_sigkill_after_the_grace)
{
    char ready[400], script[600];
    snprintf(ready, sizeof ready, "%s/ready", dir);
    snprintf(script, sizeof script, "trap '' TERM; echo ok > %s; while :; do sleep 1; done", ready);
    char *argv[] = {"sh", "-c", script, NULL};
    struct proc_spec s = {.argv = argv};
    struct proc_child c;
    ck_assert_int_eq(proc_spawn(&s, &c, NULL), 0);
    wait_file_has(ready, "ok\n");
    struct waits w = {.c = &c};
    int64_t t0 = clock_monotonic_ms();
    ck_assert(proc_terminate(&c, 200, reaped_by, &w));
    ck_assert_int_ge(clock_monotonic_ms() - t0, 200);
    ck_assert_int_eq(w.calls, 2);
    ck_assert(WIFSIGNALED(w.status) && WTERMSIG(w.status) == SIGKILL);

    /* one that obeys SIGTERM needs a single wait */
    char *sleeper[] = {"sleep", "30", NULL};
    s.argv = sleeper;
    ck_assert_int_eq(proc_spawn(&s, &c, NULL), 0);
    w = (struct waits){.c = &c};
    ck_assert(proc_terminate(&c, WAIT_MS, reaped_by, &w));
    ck_assert_int_eq(w.calls, 1);
    ck_assert(WIFSIGNALED(w.status) && WTERMSIG(w.status) == SIGTERM);
}
END_TEST

Suite *proc_suite(void)
{
    Suite *s = suite_create("proc");
    TCase *tc = tcase_create("children");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_proc_child_runs_in_its_group_with_env_folder_log_and_no_stdin);
    tcase_add_test(tc, test_proc_output_goes_to_dev_null_or_stays_the_controllers);
    tcase_add_test(tc, test_proc_child_inherits_no_descriptor_and_no_ignored_signal);
    tcase_add_test(tc, test_proc_child_inherits_no_descriptor_without_close_range);
    tcase_add_test(tc, test_proc_a_child_reaped_elsewhere_is_lost_and_never_signalled);
    tcase_add_test(tc, test_proc_pid_file_names_the_child_until_its_reap);
    tcase_add_test(tc, test_proc_what_cannot_run_fails_the_spawn_with_a_reason);
    tcase_add_test(tc, test_proc_reap_takes_the_rest_of_the_group_down_when_asked);
    tcase_add_test(tc, test_proc_terminate_escalates_to_sigkill_after_the_grace);
    suite_add_tcase(s, tc);
    return s;
}
