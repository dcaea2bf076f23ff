/*
 * check_supervisor.c — the local process supervisor (controller/local/
 * supervisor.h) with real processes (/bin/sh and sleep): start in its own
 * group with env, working folder and log; exits noticed and reported; restart
 * and duplicate refusal; SIGTERM then SIGKILL to the whole group; timeouts;
 * failures to run; stop-all; a leftover of a killed controller taken over
 * through the pid file. Waiting is always on a condition with a
 * deadline, never a fixed sleep.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/errors.h"
#include "base/fsutil.h"
#include "local/supervisor.h"

Suite *supervisor_suite(void);

#define WAIT_MS 10000

static char dir[256];
static char log_path[320];

struct exits {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int count;
    char last[64];
};

static struct exits exits;

static void on_exit_cb(void *ctx, const char *key)
{
    struct exits *e = ctx;
    pthread_mutex_lock(&e->mu);
    e->count++;
    snprintf(e->last, sizeof e->last, "%s", key);
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->mu);
}

static int exits_count(void)
{
    pthread_mutex_lock(&exits.mu);
    int n = exits.count;
    pthread_mutex_unlock(&exits.mu);
    return n;
}

/* Waits until at least n exits were reported. */
static void wait_exits(int n)
{
    int64_t deadline = clock_monotonic_ms() + WAIT_MS;
    pthread_mutex_lock(&exits.mu);
    while (exits.count < n && clock_monotonic_ms() < deadline) {
        pthread_mutex_unlock(&exits.mu);
        usleep(5000);
        pthread_mutex_lock(&exits.mu);
    }
    int got = exits.count;
    pthread_mutex_unlock(&exits.mu);
    ck_assert_msg(got >= n, "expected %d exits, saw %d", n, got);
}

static struct supervisor *sv_new(int64_t grace_ms)
{
    struct supervisor_options o = {.grace_ms = grace_ms, .on_exit = on_exit_cb, .ctx = &exits};
    struct supervisor *sv = NULL;
    ck_assert_int_eq(supervisor_new(&o, &sv), 0);
    return sv;
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_supervisor.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(log_path, sizeof log_path, "%s/logs/ns_svc.log", dir);
    memset(&exits, 0, sizeof exits);
    pthread_mutex_init(&exits.mu, NULL);
    pthread_cond_init(&exits.cond, NULL);
}

static void rm_rf(const char *path)
{
    char *argv[] = {"rm", "-rf", (char *)path, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execvp("rm", argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
}

static void teardown(void)
{
    rm_rf(dir);
    pthread_mutex_destroy(&exits.mu);
    pthread_cond_destroy(&exits.cond);
}

/* A process that exists and is not a zombie. */
static bool alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

static void wait_dead(pid_t pid)
{
    int64_t deadline = clock_monotonic_ms() + WAIT_MS;
    while (alive(pid) && clock_monotonic_ms() < deadline)
        usleep(5000);
    ck_assert_msg(!alive(pid), "process %d still alive", (int)pid);
}

/* Reads a file into buf ("" when missing). */
static const char *slurp(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "re");
    if (!f)
        return buf;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Waits until the file contains text. */
static void wait_file_has(const char *path, const char *text)
{
    char buf[8192];
    int64_t deadline = clock_monotonic_ms() + WAIT_MS;
    while (!strstr(slurp(path, buf, sizeof buf), text) && clock_monotonic_ms() < deadline)
        usleep(5000);
    ck_assert_msg(strstr(buf, text), "%s never contained '%s': %s", path, text, buf);
}

/* Waits until the file holds a whole number followed by a newline; returns it. */
static long wait_number_in(const char *path)
{
    wait_file_has(path, "\n");
    char buf[64];
    return strtol(slurp(path, buf, sizeof buf), NULL, 10);
}

static struct supervisor_launch sh_launch(char **argv)
{
    return (struct supervisor_launch){.argv = argv, .log_path = log_path};
}

START_TEST(test_start_runs_in_own_group_with_env_dir_and_log)
{
    struct supervisor *sv = sv_new(2000);
    setenv("SUPERVISOR_TEST_KEEP", "kept", 1);
    setenv("SUPERVISOR_TEST_OVERRIDE", "old", 1);
    char *argv[] = {"sh", "-c",
                    "echo out:$SUPERVISOR_TEST_KEEP:$SUPERVISOR_TEST_OVERRIDE:$EXTRA; "
                    "echo err >&2; echo pwd:$(pwd); read x; echo stdin:$?; exec sleep 300",
                    NULL};
    char *names[] = {"SUPERVISOR_TEST_OVERRIDE", "EXTRA"};
    char *values[] = {"new", "x y"};
    struct supervisor_launch l = {.argv = argv, .working_dir = dir, .env_names = names,
                                  .env_values = values, .env_count = 2, .log_path = log_path};
    char *err = NULL;
    ck_assert_int_eq(supervisor_start(sv, "ns/svc", &l, &err), 0);
    ck_assert_ptr_null(err);
    struct supervisor_info in;
    ck_assert_int_eq(supervisor_info(sv, "ns/svc", &in), 0);
    ck_assert(in.known && in.running);
    ck_assert_uint_eq(in.starts, 1);
    ck_assert_int_gt(in.pid, 0);
    ck_assert_int_eq(getpgid(in.pid), in.pid); /* its own group */
    wait_file_has(log_path, "stdin:1"); /* stdin is /dev/null: read hits EOF */
    char buf[8192];
    slurp(log_path, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "out:kept:new:x y\n"));
    ck_assert_ptr_nonnull(strstr(buf, "err\n"));
    char want[400];
    snprintf(want, sizeof want, "pwd:%s\n", dir);
    ck_assert_ptr_nonnull(strstr(buf, want));
    ck_assert_ptr_nonnull(strstr(buf, "selfheal: starting sh -c")); /* header line */
    ck_assert_int_eq(supervisor_running(sv), 1);
    supervisor_free(sv);
    wait_dead(in.pid);
    ck_assert_int_eq(exits_count(), 0); /* stopped, not an exit to report */
}
END_TEST

START_TEST(test_exit_is_noticed_and_reported_with_its_status)
{
    struct supervisor *sv = sv_new(2000);
    char *argv[] = {"sh", "-c", "exit 3", NULL};
    struct supervisor_launch l = sh_launch(argv);
    ck_assert_int_eq(supervisor_start(sv, "ns/svc", &l, NULL), 0);
    wait_exits(1);
    ck_assert_str_eq(exits.last, "ns/svc");
    struct supervisor_info in;
    ck_assert_int_eq(supervisor_info(sv, "ns/svc", &in), 0);
    ck_assert(!in.running);
    ck_assert(in.exited);
    ck_assert(!in.success);
    ck_assert_int_eq(in.exit_code, 3);
    ck_assert_str_eq(in.exit_text, "exited with status 3");
    ck_assert_int_ge(in.exited_ms, in.started_ms);
    ck_assert_int_eq(supervisor_running(sv), 0);
    ck_assert_int_eq(supervisor_signal(sv, "ns/svc", SIGHUP), SH_ENOTFOUND);
    supervisor_free(sv);
}
END_TEST

START_TEST(test_sigkill_is_noticed_and_restart_gives_one_new_process)
{
    struct supervisor *sv = sv_new(2000);
    char *argv[] = {"sleep", "300", NULL};
    struct supervisor_launch l = sh_launch(argv);
    ck_assert_int_eq(supervisor_start(sv, "ns/svc", &l, NULL), 0);
    struct supervisor_info in;
    supervisor_info(sv, "ns/svc", &in);
    pid_t first = in.pid;
    int64_t t0 = clock_monotonic_ms();
    kill(first, SIGKILL);
    wait_exits(1);
    ck_assert_int_lt(clock_monotonic_ms() - t0, 1000); /* noticed at once */
    supervisor_info(sv, "ns/svc", &in);
    ck_assert(!in.running);
    ck_assert_int_eq(in.term_signal, SIGKILL);
    ck_assert_str_eq(in.exit_text, "was killed by signal 9 (SIGKILL)");

    ck_assert_int_eq(supervisor_restart(sv, "ns/svc", NULL, NULL), 0); /* the last launch */
    supervisor_info(sv, "ns/svc", &in);
    ck_assert(in.running);
    ck_assert_int_ne(in.pid, first);
    ck_assert_uint_eq(in.starts, 2);
    pid_t second = in.pid;
    /* restarting a running one stops it first: never two */
    ck_assert_int_eq(supervisor_restart(sv, "ns/svc", NULL, NULL), 0);
    supervisor_info(sv, "ns/svc", &in);
    ck_assert_int_ne(in.pid, second);
    ck_assert(!alive(second));
    ck_assert_int_eq(supervisor_running(sv), 1);
    ck_assert_int_eq(exits_count(), 1); /* a stop is not reported as an exit */
    /* a second start while it runs is refused */
    ck_assert_int_eq(supervisor_start(sv, "ns/svc", &l, NULL), SH_EEXISTS);
    ck_assert_int_eq(supervisor_running(sv), 1);
    ck_assert_int_eq(supervisor_restart(sv, "ns/other", NULL, NULL), SH_ENOTFOUND);
    pid_t last = in.pid;
    supervisor_free(sv);
    wait_dead(last);
}
END_TEST

START_TEST(test_stop_kills_the_whole_group_and_escalates_to_sigkill)
{
    struct supervisor *sv = sv_new(300);
    char pidfile[400];
    snprintf(pidfile, sizeof pidfile, "%s/child.pid", dir);
    char script[600];
    /* the leader and its child ignore SIGTERM: only SIGKILL ends them */
    snprintf(script, sizeof script, "trap '' TERM; sleep 300 & echo $! > %s; wait", pidfile);
    char *argv[] = {"sh", "-c", script, NULL};
    struct supervisor_launch l = sh_launch(argv);
    ck_assert_int_eq(supervisor_start(sv, "ns/svc", &l, NULL), 0);
    pid_t child = (pid_t)wait_number_in(pidfile);
    struct supervisor_info in;
    supervisor_info(sv, "ns/svc", &in);
    ck_assert(alive(child));
    int64_t t0 = clock_monotonic_ms();
    ck_assert_int_eq(supervisor_stop(sv, "ns/svc"), 0);
    int64_t took = clock_monotonic_ms() - t0;
    ck_assert_int_ge(took, 300); /* the grace was given */
    ck_assert_int_lt(took, 5000);
    supervisor_info(sv, "ns/svc", &in);
    ck_assert(!in.running);
    ck_assert(in.stopped);
    ck_assert_int_eq(in.term_signal, SIGKILL);
    wait_dead(child);
    ck_assert_int_eq(exits_count(), 0);
    supervisor_free(sv);
}
END_TEST

START_TEST(test_leftovers_of_a_group_die_with_its_leader)
{
    struct supervisor *sv = sv_new(2000);
    char pidfile[400], script[600];
    snprintf(pidfile, sizeof pidfile, "%s/child.pid", dir);
    snprintf(script, sizeof script, "sleep 300 & echo $! > %s; sleep 300", pidfile);
    char *argv[] = {"sh", "-c", script, NULL};
    struct supervisor_launch l = sh_launch(argv);
    ck_assert_int_eq(supervisor_start(sv, "ns/svc", &l, NULL), 0);
    pid_t child = (pid_t)wait_number_in(pidfile);
    struct supervisor_info in;
    supervisor_info(sv, "ns/svc", &in);
    kill(in.pid, SIGKILL); /* the leader crashes; its background child would linger */
    wait_exits(1);
    wait_dead(child);
    supervisor_free(sv);
}
END_TEST

START_TEST(test_a_command_may_leave_a_daemon_behind)
{
    struct supervisor *sv = sv_new(2000);
    char pidfile[400], script[600];
    snprintf(pidfile, sizeof pidfile, "%s/daemon.pid", dir);
    snprintf(script, sizeof script, "sleep 300 & echo $! > %s", pidfile);
    char *argv[] = {"sh", "-c", script, NULL};
    struct supervisor_launch l = {.argv = argv, .timeout_ms = 5000, .leave_group = true};
    ck_assert_int_eq(supervisor_start(sv, "ns/svc#command", &l, NULL), 0);
    ck_assert_int_eq(supervisor_wait(sv, "ns/svc#command", WAIT_MS), 0);
    pid_t daemon = (pid_t)wait_number_in(pidfile);
    struct supervisor_info in;
    supervisor_info(sv, "ns/svc#command", &in);
    ck_assert(in.success);
    ck_assert(alive(daemon)); /* left running */
    kill(daemon, SIGKILL);
    wait_dead(daemon);
    supervisor_free(sv);
}
END_TEST

START_TEST(test_release_lets_the_process_run_on)
{
    struct supervisor *sv = sv_new(2000);
    char *argv[] = {"sleep", "300", NULL};
    struct supervisor_launch l = {.argv = argv};
    ck_assert_int_eq(supervisor_start(sv, "ns/svc", &l, NULL), 0);
    struct supervisor_info in;
    supervisor_info(sv, "ns/svc", &in);
    pid_t pid = in.pid;
    supervisor_release(sv, "ns/svc");
    ck_assert_int_eq(supervisor_info(sv, "ns/svc", &in), SH_ENOTFOUND);
    ck_assert_int_eq(supervisor_running(sv), 0);
    supervisor_free(sv); /* does not stop it */
    ck_assert(alive(pid));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}
END_TEST

/* A controller killed with SIGKILL leaves its service running; the next one
 * finds "<log>.pid" and stops that very process before starting its own, but
 * never a process whose start time differs (a reused pid). */
START_TEST(test_a_leftover_service_is_taken_over_once)
{
    char *argv[] = {"sleep", "300", NULL};
    struct supervisor_launch l = {.argv = argv, .log_path = log_path};
    char pidfile[600];
    snprintf(pidfile, sizeof pidfile, "%s.pid", log_path);
    struct supervisor *old = sv_new(2000);
    ck_assert_int_eq(supervisor_start(old, "ns/svc", &l, NULL), 0);
    struct supervisor_info in;
    supervisor_info(old, "ns/svc", &in);
    pid_t leftover = in.pid;
    ck_assert_int_eq(access(pidfile, F_OK), 0);
    supervisor_release(old, "ns/svc"); /* as if the controller had died */
    supervisor_free(old);
    ck_assert(alive(leftover));

    struct supervisor *sv = sv_new(2000);
    ck_assert_int_eq(supervisor_start(sv, "ns/svc", &l, NULL), 0);
    ck_assert_msg(!alive(leftover), "the leftover service still runs");
    waitpid(leftover, NULL, 0);
    supervisor_info(sv, "ns/svc", &in);
    ck_assert(in.running);
    ck_assert_int_ne(in.pid, leftover);
    ck_assert_int_eq(access(pidfile, F_OK), 0);
    ck_assert_int_eq(supervisor_stop(sv, "ns/svc"), 0);
    ck_assert_int_ne(access(pidfile, F_OK), 0); /* removed once reaped */

    /* a pid file whose start time does not match: that process is left alone */
    pid_t other = fork();
    if (other == 0) {
        execlp("sleep", "sleep", "300", (char *)NULL);
        _exit(127);
    }
    FILE *f = fopen(pidfile, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%d 12345\n", (int)other);
    fclose(f);
    ck_assert_int_eq(supervisor_start(sv, "ns/svc", &l, NULL), 0);
    ck_assert(alive(other));
    supervisor_free(sv);
    kill(other, SIGKILL);
    waitpid(other, NULL, 0);
}
END_TEST

START_TEST(test_sigterm_works_even_when_the_controller_blocks_it)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN);
    struct supervisor *sv = sv_new(8000);
    char *argv[] = {"sleep", "300", NULL};
    struct supervisor_launch l = sh_launch(argv);
    ck_assert_int_eq(supervisor_start(sv, "ns/svc", &l, NULL), 0);
    int64_t t0 = clock_monotonic_ms();
    supervisor_stop(sv, "ns/svc");
    ck_assert_int_lt(clock_monotonic_ms() - t0, 4000); /* SIGTERM, not the 8 s SIGKILL */
    struct supervisor_info in;
    supervisor_info(sv, "ns/svc", &in);
    ck_assert_int_eq(in.term_signal, SIGTERM);
    supervisor_free(sv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    signal(SIGPIPE, SIG_DFL);
}
END_TEST

START_TEST(test_signal_reaches_the_process)
{
    struct supervisor *sv = sv_new(2000);
    char *argv[] = {"sh", "-c",
                    "trap 'echo got-\"\"hup' HUP; echo rea\"\"dy; while :; do sleep 1 & wait $!; done", NULL};
    struct supervisor_launch l = sh_launch(argv);
    ck_assert_int_eq(supervisor_start(sv, "ns/svc", &l, NULL), 0);
    /* (the markers are spelled apart in the script: the log's header line
     * repeats the command) */
    wait_file_has(log_path, "ready");
    ck_assert_int_eq(supervisor_signal(sv, "ns/svc", SIGHUP), 0);
    wait_file_has(log_path, "got-hup");
    ck_assert_int_eq(supervisor_running(sv), 1);
    ck_assert_int_eq(supervisor_signal(sv, "ns/none", SIGHUP), SH_ENOTFOUND);
    supervisor_free(sv);
}
END_TEST

START_TEST(test_timeout_kills_a_command)
{
    struct supervisor *sv = sv_new(2000);
    char *argv[] = {"sleep", "300", NULL};
    struct supervisor_launch l = {.argv = argv, .timeout_ms = 200};
    int64_t t0 = clock_monotonic_ms();
    ck_assert_int_eq(supervisor_start(sv, "ns/svc#command", &l, NULL), 0);
    ck_assert_int_eq(supervisor_wait(sv, "ns/svc#command", WAIT_MS), 0);
    int64_t took = clock_monotonic_ms() - t0;
    ck_assert_int_ge(took, 200);
    ck_assert_int_lt(took, 5000);
    struct supervisor_info in;
    supervisor_info(sv, "ns/svc#command", &in);
    ck_assert(in.timed_out);
    ck_assert(!in.success);
    ck_assert_str_eq(in.exit_text, "timed out after 200 ms and was killed by signal 9 (SIGKILL)");
    wait_exits(1);

    char *ok[] = {"true", NULL};
    l.argv = ok;
    l.timeout_ms = 5000;
    ck_assert_int_eq(supervisor_start(sv, "ns/svc#command", &l, NULL), 0);
    ck_assert_int_eq(supervisor_wait(sv, "ns/svc#command", WAIT_MS), 0);
    supervisor_info(sv, "ns/svc#command", &in);
    ck_assert(in.success);
    ck_assert(!in.timed_out);
    ck_assert_int_eq(in.exit_code, 0);
    supervisor_free(sv);
}
END_TEST

START_TEST(test_what_cannot_run_fails_the_start_with_a_reason)
{
    struct supervisor *sv = sv_new(2000);
    char *argv[] = {"/nonexistent/service", NULL};
    struct supervisor_launch l = sh_launch(argv);
    char *err = NULL;
    ck_assert_int_eq(supervisor_start(sv, "ns/svc", &l, &err), SH_EIO);
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err, "cannot run '/nonexistent/service': No such file or directory");
    free(err);
    err = NULL;
    struct supervisor_info in;
    ck_assert_int_eq(supervisor_info(sv, "ns/svc", &in), 0);
    ck_assert(in.known);
    ck_assert(!in.running);
    ck_assert_uint_eq(in.starts, 0);

    char *sleep_argv[] = {"sleep", "1", NULL};
    char bad[400];
    snprintf(bad, sizeof bad, "%s/missing", dir);
    struct supervisor_launch l2 = {.argv = sleep_argv, .working_dir = bad};
    ck_assert_int_eq(supervisor_start(sv, "ns/svc2", &l2, &err), SH_EIO);
    ck_assert_ptr_nonnull(strstr(err, "working folder"));
    ck_assert_ptr_nonnull(strstr(err, bad));
    free(err);
    char *empty[] = {NULL};
    l2.argv = empty;
    ck_assert_int_eq(supervisor_start(sv, "ns/svc3", &l2, NULL), SH_EINVAL);
    ck_assert_int_eq(supervisor_running(sv), 0);
    ck_assert_int_eq(exits_count(), 0);
    supervisor_free(sv);
}
END_TEST

START_TEST(test_same_launch_compares_argv_dir_and_env)
{
    struct supervisor *sv = sv_new(2000);
    char *argv[] = {"sleep", "300", NULL};
    char *names[] = {"A"}, *values[] = {"1"}, *values2[] = {"2"};
    struct supervisor_launch l = {.argv = argv, .env_names = names, .env_values = values,
                                  .env_count = 1};
    ck_assert(!supervisor_same_launch(sv, "ns/svc", &l));
    ck_assert_int_eq(supervisor_start(sv, "ns/svc", &l, NULL), 0);
    ck_assert(supervisor_same_launch(sv, "ns/svc", &l));
    struct supervisor_launch l2 = l;
    l2.env_values = values2;
    ck_assert(!supervisor_same_launch(sv, "ns/svc", &l2));
    l2 = l;
    l2.working_dir = "/";
    ck_assert(!supervisor_same_launch(sv, "ns/svc", &l2));
    char *argv2[] = {"sleep", "301", NULL};
    l2 = l;
    l2.argv = argv2;
    ck_assert(!supervisor_same_launch(sv, "ns/svc", &l2));
    supervisor_forget(sv, "ns/svc");
    struct supervisor_info in;
    ck_assert_int_eq(supervisor_info(sv, "ns/svc", &in), SH_ENOTFOUND);
    ck_assert(!in.known);
    ck_assert_int_eq(supervisor_running(sv), 0);
    supervisor_free(sv);
}
END_TEST

struct racer {
    struct supervisor *sv;
    char **argv;
    int id;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct supervisor_launch l = sh_launch(r->argv);
    for (int i = 0; i < 5; i++) {
        if ((r->id + i) % 2)
            supervisor_restart(r->sv, "ns/svc", &l, NULL);
        else
            supervisor_start(r->sv, "ns/svc", &l, NULL);
        if (supervisor_running(r->sv) > 1)
            return (void *)1;
    }
    return NULL;
}

START_TEST(test_concurrent_starts_and_restarts_never_make_two)
{
    struct supervisor *sv = sv_new(2000);
    char pids[400], script[600];
    snprintf(pids, sizeof pids, "%s/pids", dir);
    snprintf(script, sizeof script, "echo $$ >> %s; exec sleep 300", pids);
    char *argv[] = {"sh", "-c", script, NULL};
    pthread_t t[6];
    struct racer r[6];
    for (int i = 0; i < 6; i++) {
        r[i] = (struct racer){.sv = sv, .argv = argv, .id = i};
        ck_assert_int_eq(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        ck_assert_ptr_null(rv);
    }
    ck_assert_int_eq(supervisor_running(sv), 1);
    struct supervisor_info in;
    supervisor_info(sv, "ns/svc", &in);
    /* every process ever started is gone except the current one */
    wait_file_has(pids, "\n");
    char buf[8192];
    int64_t deadline = clock_monotonic_ms() + WAIT_MS;
    int live;
    do {
        live = 0;
        slurp(pids, buf, sizeof buf);
        char *save = NULL;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            pid_t pid = (pid_t)strtol(line, NULL, 10);
            if (alive(pid)) {
                live++;
                ck_assert_int_eq(pid, in.pid);
            }
        }
    } while (live != 1 && clock_monotonic_ms() < deadline && usleep(5000) == 0);
    ck_assert_int_eq(live, 1);
    ck_assert_uint_ge(in.starts, 6);
    supervisor_free(sv);
}
END_TEST

START_TEST(test_stop_all_stops_everything_at_once)
{
    struct supervisor *sv = sv_new(3000);
    char *argv[] = {"sleep", "300", NULL};
    struct supervisor_launch l = {.argv = argv};
    pid_t pids[3];
    const char *keys[] = {"ns/a", "ns/b", "ns/c"};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(supervisor_start(sv, keys[i], &l, NULL), 0);
        struct supervisor_info in;
        supervisor_info(sv, keys[i], &in);
        pids[i] = in.pid;
    }
    ck_assert_int_eq(supervisor_running(sv), 3);
    int64_t t0 = clock_monotonic_ms();
    supervisor_stop_all(sv);
    ck_assert_int_lt(clock_monotonic_ms() - t0, 3000);
    ck_assert_int_eq(supervisor_running(sv), 0);
    for (int i = 0; i < 3; i++)
        ck_assert(!alive(pids[i]));
    ck_assert_int_eq(exits_count(), 0);
    /* still usable afterwards */
    ck_assert_int_eq(supervisor_restart(sv, "ns/a", NULL, NULL), 0);
    ck_assert_int_eq(supervisor_running(sv), 1);
    supervisor_free(sv);
}
END_TEST

Suite *supervisor_suite(void)
{
    Suite *s = suite_create("supervisor");
    TCase *tc = tcase_create("processes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_start_runs_in_own_group_with_env_dir_and_log);
    tcase_add_test(tc, test_exit_is_noticed_and_reported_with_its_status);
    tcase_add_test(tc, test_sigkill_is_noticed_and_restart_gives_one_new_process);
    tcase_add_test(tc, test_stop_kills_the_whole_group_and_escalates_to_sigkill);
    tcase_add_test(tc, test_leftovers_of_a_group_die_with_its_leader);
    tcase_add_test(tc, test_a_command_may_leave_a_daemon_behind);
    tcase_add_test(tc, test_release_lets_the_process_run_on);
    tcase_add_test(tc, test_a_leftover_service_is_taken_over_once);
    tcase_add_test(tc, test_sigterm_works_even_when_the_controller_blocks_it);
    tcase_add_test(tc, test_signal_reaches_the_process);
    tcase_add_test(tc, test_timeout_kills_a_command);
    tcase_add_test(tc, test_what_cannot_run_fails_the_start_with_a_reason);
    tcase_add_test(tc, test_same_launch_compares_argv_dir_and_env);
    tcase_add_test(tc, test_concurrent_starts_and_restarts_never_make_two);
    tcase_add_test(tc, test_stop_all_stops_everything_at_once);
    suite_add_tcase(s, tc);
    return s;
}
