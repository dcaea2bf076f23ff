/*
 * check_atomicfile.c — atomic file replacement (atomicfile.h): whole
 * buffers, streams (the data fix's writer, once safewrite.c), symlinks, and
 * the sweep of temporaries left by dead processes.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/errors.h"

Suite *atomicfile_suite(void);;

static char tmpdir[256];

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_atomicfile.XXXXXX", base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(tmpdir);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The names in tmpdir, sorted and joined with ',' (fixed buffer). */
static const char *listing(void)
{
    static char out[1024];
    char names[16][256];
    int n = 0;
    DIR *d = opendir(tmpdir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) && n < 16) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_names);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, sizeof out - len, "%s%s", i ? "," : "", names[i]);
    }
    return out;
}

static const char *slurp(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

START_TEST(test_writes_and_replaces_content)
{
    char path[512];
    snprintf(path, sizeof path, "%s/state.json", tmpdir);
    ck_assert_int_eq(atomic_file_write_str(path, "{\"a\":1}\n"), 0);
    ck_assert_str_eq(slurp(path), "{\"a\":1}\n");
    ck_assert_int_eq(atomic_file_write(path, "xyz-ignored", 3), 0);
    ck_assert_str_eq(slurp(path), "xyz");
    ck_assert_int_eq(atomic_file_write(path, NULL, 0), 0);
    ck_assert_str_eq(slurp(path), "");
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 0);
    ck_assert_str_eq(listing(), "state.json");
}
END_TEST

START_TEST(test_deferred_write_is_in_place_and_its_folder_pending)
{
    char path[512], path2[512];
    snprintf(path, sizeof path, "%s/a.json", tmpdir);
    snprintf(path2, sizeof path2, "%s/b.json", tmpdir);
    ck_assert_int_eq(atomic_file_flush_folders(), 0);
    ck_assert_uint_eq(atomic_file_pending_folders(), 0);
    ck_assert_int_eq(atomic_file_write_deferred(path, "{\"a\":1}", 7), 0);
    ck_assert_str_eq(slurp(path), "{\"a\":1}"); /* complete and in place at once */
    ck_assert_uint_eq(atomic_file_pending_folders(), 1);
    ck_assert_int_eq(atomic_file_write_deferred(path2, "b", 1), 0);
    ck_assert_int_eq(atomic_file_write_deferred(path, "new", 3), 0);
    ck_assert_uint_eq(atomic_file_pending_folders(), 1); /* one folder, one flush */
    ck_assert_str_eq(slurp(path), "new");
    ck_assert_str_eq(listing(), "a.json,b.json");
    ck_assert_int_eq(atomic_file_flush_folders(), 0);
    ck_assert_uint_eq(atomic_file_pending_folders(), 0);
}
END_TEST

START_TEST(test_deferred_write_into_missing_folder_fails)
{
    char path[512];
    snprintf(path, sizeof path, "%s/nope/a.json", tmpdir);
    ck_assert_int_eq(atomic_file_write_deferred(path, "x", 1), SH_EIO);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_uint_eq(atomic_file_pending_folders(), 0);
}
END_TEST

START_TEST(test_flush_reports_a_folder_gone)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/sub", tmpdir);
    snprintf(path, sizeof path, "%s/a.json", dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(atomic_file_write_deferred(path, "x", 1), 0);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    ck_assert_int_eq(atomic_file_flush_folders(), SH_EIO);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_uint_eq(atomic_file_pending_folders(), 0);
}
END_TEST

START_TEST(test_large_content_is_written_fully)
{
    char path[512];
    snprintf(path, sizeof path, "%s/big", tmpdir);
    size_t len = 3u << 20;
    char *data = malloc(len);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)('a' + i % 26);
    ck_assert_int_eq(atomic_file_write(path, data, len), 0);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *back = malloc(len + 1);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(fread(back, 1, len + 1, f), len);
    fclose(f);
    ck_assert_int_eq(memcmp(back, data, len), 0);
    free(back);
    free(data);
    ck_assert_str_eq(listing(), "big");
}
END_TEST

START_TEST(test_missing_directory_fails_and_leaves_nothing)
{
    char path[512];
    snprintf(path, sizeof path, "%s/missing/state.json", tmpdir);
    errno = 0;
    ck_assert_int_eq(atomic_file_write_str(path, "x"), SH_EIO);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_str_eq(listing(), "");
    errno = 0;
    snprintf(path, sizeof path, "%s/", tmpdir);
    ck_assert_int_eq(atomic_file_write_str(path, "x"), SH_EIO);
    ck_assert_int_eq(errno, EISDIR);
    ck_assert_str_eq(listing(), "");
}
END_TEST

START_TEST(test_relative_path_uses_current_directory)
{
    char cwd[512];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(tmpdir), 0);
    int r = atomic_file_write_str("rel.txt", "hello");
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_int_eq(r, 0);
    char path[512];
    snprintf(path, sizeof path, "%s/rel.txt", tmpdir);
    ck_assert_str_eq(slurp(path), "hello");
    ck_assert_str_eq(listing(), "rel.txt");
}
END_TEST

/* A write that fails midway (the file size limit) leaves the old content and
 * no temporary file. Runs in a child, whose limit does not leak out. */
START_TEST(test_failed_write_keeps_original)
{
    char path[512];
    snprintf(path, sizeof path, "%s/state.json", tmpdir);
    ck_assert_int_eq(atomic_file_write_str(path, "original"), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {16, 16};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(10);
        errno = 0;
        int r = atomic_file_write_str(path, "this content is longer than sixteen bytes");
        _exit(r == SH_EIO && errno == EFBIG ? 0 : 11);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_str_eq(slurp(path), "original");
    ck_assert_str_eq(listing(), "state.json");
}
END_TEST

START_TEST(test_rename_onto_directory_fails_and_cleans_up)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sub", tmpdir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    errno = 0;
    ck_assert_int_eq(atomic_file_write_str(path, "x"), SH_EIO);
    ck_assert_int_eq(errno, EISDIR);
    ck_assert_str_eq(listing(), "sub");
    ck_assert_int_eq(rmdir(path), 0);
}
END_TEST

/* --- streams -------------------------------------------------------------- */

START_TEST(test_stream_replaces_with_given_mode)
{
    char path[512];
    snprintf(path, sizeof path, "%s/data.csv", tmpdir);
    ck_assert_int_eq(atomic_file_write_str(path, "old\n"), 0);
    struct atomic_file *f = NULL;
    ck_assert_int_eq(atomic_file_begin(path, 0640, &f), 0);
    ck_assert_int_eq(atomic_file_put(f, "x,y\n", 4), 0);
    /* pieces larger than the buffer go straight through, in order */
    size_t big = (1u << 20) + 5;
    char *data = malloc(big);
    ck_assert_ptr_nonnull(data);
    memset(data, 'z', big);
    ck_assert_int_eq(atomic_file_put(f, data, big), 0);
    ck_assert_int_eq(atomic_file_put(f, "end\n", 4), 0);
    free(data);
    ck_assert_uint_eq(atomic_file_bytes(f), 8 + big);
    ck_assert_str_eq(slurp(path), "old\n"); /* nothing visible before commit */
    bool replaced = false;
    ck_assert_int_eq(atomic_file_commit(f, &replaced), 0);
    ck_assert(replaced);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0640);
    ck_assert_int_eq(st.st_size, (off_t)(8 + big));
    ck_assert_str_eq(listing(), "data.csv");
}
END_TEST

START_TEST(test_stream_abort_leaves_original)
{
    char path[512];
    snprintf(path, sizeof path, "%s/data.csv", tmpdir);
    ck_assert_int_eq(atomic_file_write_str(path, "old\n"), 0);
    struct atomic_file *f = NULL;
    ck_assert_int_eq(atomic_file_begin(path, ATOMIC_FILE_MODE_DEFAULT, &f), 0);
    ck_assert_int_eq(atomic_file_put(f, "new\n", 4), 0);
    atomic_file_abort(f);
    atomic_file_abort(NULL);
    ck_assert_str_eq(slurp(path), "old\n");
    ck_assert_str_eq(listing(), "data.csv");
    errno = 0;
    snprintf(path, sizeof path, "%s/missing/data.csv", tmpdir);
    ck_assert_int_eq(atomic_file_begin(path, 0600, &f), SH_EIO);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* A stream that fails midway (the file size limit) is reported at commit
 * with its errno, and leaves the old content. In a child. */
START_TEST(test_stream_failed_write_reported_at_commit)
{
    char path[512];
    snprintf(path, sizeof path, "%s/data.csv", tmpdir);
    ck_assert_int_eq(atomic_file_write_str(path, "original"), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit rl = {16, 16};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(10);
        static char big[(1u << 20) + 1];
        struct atomic_file *f = NULL;
        if (atomic_file_begin(path, 0644, &f) != 0)
            _exit(11);
        if (atomic_file_put(f, big, sizeof big) != SH_EIO)
            _exit(12);
        bool replaced = true;
        errno = 0;
        int r = atomic_file_commit(f, &replaced);
        _exit(r == SH_EIO && errno == EFBIG && !replaced ? 0 : 13);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_str_eq(slurp(path), "original");
    ck_assert_str_eq(listing(), "data.csv");
}
END_TEST

/* --- the sweep of dead processes' temporaries ----------------------------- */

static void plant(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs("half", f);
    fclose(f);
}

START_TEST(test_stream_sweeps_dead_temporaries)
{
    /* 2147483646: a pid that cannot exist; ours and other names stay */
    char mine[128];
    snprintf(mine, sizeof mine, ".data.csv.tmp.%ld.999", (long)getpid());
    plant(".data.csv.tmp.2147483646.0");
    plant(".data.csv.fixtmp.2147483646"); /* the name earlier data fixes used */
    plant(".other.tmp.2147483646.7");
    plant(".data.csv.tmp.x.0");
    plant(mine);
    char path[512];
    snprintf(path, sizeof path, "%s/data.csv", tmpdir);
    struct atomic_file *f = NULL;
    ck_assert_int_eq(atomic_file_begin(path, 0644, &f), 0);
    ck_assert_int_eq(atomic_file_commit(f, NULL), 0);
    char want[256];
    snprintf(want, sizeof want, "%s,.data.csv.tmp.x.0,data.csv", mine); /* pids sort before x */
    ck_assert_str_eq(listing(), want);
}
END_TEST

START_TEST(test_write_sweeps_dead_temporaries)
{
    plant(".state.json.tmp.2147483646.3");
    char path[512];
    snprintf(path, sizeof path, "%s/state.json", tmpdir);
    ck_assert_int_eq(atomic_file_write_str(path, "{}"), 0);
    ck_assert_str_eq(listing(), "state.json");
}
END_TEST

/* A temporary whose writer is still alive (at work, or still dying after a
 * SIGKILL) is left, and the folder swept again at its next write. */
START_TEST(test_sweep_again_after_a_live_owner)
{
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    char name[128], path[512];
    snprintf(name, sizeof name, ".state.json.tmp.%ld.3", (long)child);
    plant(name);
    snprintf(path, sizeof path, "%s/state.json", tmpdir);
    ck_assert_int_eq(atomic_file_write_str(path, "{}"), 0);
    char want[256];
    snprintf(want, sizeof want, "%s,state.json", name);
    ck_assert_str_eq(listing(), want);
    kill(child, SIGKILL);
    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    ck_assert_int_eq(atomic_file_write_str(path, "{}"), 0);
    ck_assert_str_eq(listing(), "state.json");
}
END_TEST

/* --- symlinks ------------------------------------------------------------- */

START_TEST(test_symlink_replaces_link)
{
    char path[512], got[PATH_MAX];
    snprintf(path, sizeof path, "%s/current", tmpdir);
    ck_assert_int_eq(atomic_file_symlink("v1", path, NULL), 0);
    ck_assert_int_eq(atomic_file_symlink("v2", path, NULL), 0);
    ssize_t n = readlink(path, got, sizeof got - 1);
    ck_assert_int_eq(n, 2);
    got[n] = '\0';
    ck_assert_str_eq(got, "v2");
    ck_assert_str_eq(listing(), "current");
}
END_TEST

START_TEST(test_symlink_onto_folder_fails_and_cleans_up)
{
    char path[512];
    snprintf(path, sizeof path, "%s/current", tmpdir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    const char *step = NULL;
    errno = 0;
    ck_assert_int_eq(atomic_file_symlink("v1", path, &step), SH_EIO);
    ck_assert_str_eq(step, "replace");
    ck_assert(errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST);
    ck_assert_str_eq(listing(), "current");
    ck_assert_int_eq(rmdir(path), 0);
    snprintf(path, sizeof path, "%s/missing/current", tmpdir);
    ck_assert_int_eq(atomic_file_symlink("v1", path, &step), SH_EIO);
    ck_assert_str_eq(step, "create");
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

Suite *atomicfile_suite(void)
{
    Suite *s = suite_create("atomicfile");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_writes_and_replaces_content);
    tcase_add_test(tc, test_deferred_write_is_in_place_and_its_folder_pending);
    tcase_add_test(tc, test_deferred_write_into_missing_folder_fails);
    tcase_add_test(tc, test_flush_reports_a_folder_gone);
    tcase_add_test(tc, test_large_content_is_written_fully);
    tcase_add_test(tc, test_missing_directory_fails_and_leaves_nothing);
    tcase_add_test(tc, test_relative_path_uses_current_directory);
    tcase_add_test(tc, test_failed_write_keeps_original);
    tcase_add_test(tc, test_rename_onto_directory_fails_and_cleans_up);
    tcase_add_test(tc, test_stream_replaces_with_given_mode);
    tcase_add_test(tc, test_stream_abort_leaves_original);
    tcase_add_test(tc, test_stream_failed_write_reported_at_commit);
    tcase_add_test(tc, test_stream_sweeps_dead_temporaries);
    tcase_add_test(tc, test_write_sweeps_dead_temporaries);
    tcase_add_test(tc, test_sweep_again_after_a_live_owner);
    tcase_add_test(tc, test_symlink_replaces_link);
    tcase_add_test(tc, test_symlink_onto_folder_fails_and_cleans_up);
    suite_add_tcase(s, tc);
    return s;
}
