/* check_procfile.c — pid files naming a process by pid and start time
 * (controller/base/procfile.h), with real child processes. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/procfile.h"

Suite *procfile_suite(void);

static char dir[] = "/tmp/check_procfile.XXXXXX";

/* A child that writes its pid file and sleeps; waits until the file is there. */
static pid_t spawn_sleeper(const struct procfile *pf)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setpgid(0, 0);
        procfile_child_write(pf);
        execlp("sleep", "sleep", "30", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && access(pf->path, F_OK) != 0; i++)
        usleep(10000);
    ck_assert_int_eq(access(pf->path, F_OK), 0);
    return pid;
}

START_TEST(names_the_process_until_it_is_stopped)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char base[128];
    snprintf(base, sizeof base, "%s/retrain.log", dir);
    struct procfile pf;
    ck_assert(procfile_prepare(&pf, base));
    ck_assert_str_eq(pf.path + strlen(dir), "/retrain.log.pid");
    pid_t child = spawn_sleeper(&pf);
    pid_t pid = 0;
    unsigned long long start = 0;
    ck_assert_int_eq(procfile_read(pf.path, &pid, &start), 0);
    ck_assert_int_eq(pid, child);
    ck_assert_uint_eq(start, proc_start_time(child));
    ck_assert(proc_alive(pid, start));
    /* another start time is another process (a reused pid): left alone */
    ck_assert(!proc_alive(pid, start + 1));
    ck_assert(!proc_stop_group(pid, start + 1, 100));
    ck_assert(proc_alive(pid, start));
    /* that very process: stopped, with its group */
    ck_assert(proc_stop_group(pid, start, 1000));
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    ck_assert(!proc_alive(pid, start));
    ck_assert_uint_eq(proc_start_time(child), 0);
    unlink(pf.path);
    ck_assert_int_eq(procfile_read(pf.path, &pid, &start), SH_ENOTFOUND);
    /* garbage is not a process */
    FILE *f = fopen(pf.path, "w");
    fputs("12x\n", f);
    fclose(f);
    ck_assert_int_eq(procfile_read(pf.path, &pid, &start), SH_EPARSE);
    unlink(pf.path);
    ck_assert(!procfile_prepare(&pf, ""));
    rmdir(dir);
    memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}
END_TEST

Suite *procfile_suite(void)
{
    Suite *s = suite_create("procfile");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, names_the_process_until_it_is_stopped);
    suite_add_tcase(s, tc);
    return s;
}
