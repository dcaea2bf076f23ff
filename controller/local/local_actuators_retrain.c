/*
 * local_actuators_retrain.c — the local platform's "retrain" actuators
 * (retrain_actuators.h): spec.drift.retrain.command as a background process
 * (local/retrain_job.h) with SELFHEAL_PIPELINE, SELFHEAL_DRIFT_SCORE,
 * SELFHEAL_REFERENCE and SELFHEAL_CURRENT in its environment and its output
 * appended to the request's log file, named by "<log>.pid" while it runs.
 *
 * A controller SIGKILLed after starting a retrain and before recording it
 * leaves that file: the next one adopts the process if it still runs (and
 * watches it through /proc: its exit status went with its parent, so it
 * counts as failed), or reports that it ended unwatched. Never a second
 * retrain next to a running one.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/fsutil.h"
#include "base/procfile.h"
#include "drift/retrain_actuators.h"
#include "local/retrain_job.h"

static const char *missing(const struct retrain_actuators *ra, const struct spec_drift *sd)
{
    (void)ra;
    return sd->retrain.command.argv && sd->retrain.command.argc > 0 ? NULL
                                                                     : "no retrain.command to run";
}

static void describe(const struct retrain_actuators *ra, const struct spec_drift *sd, char *buf,
                     size_t size)
{
    (void)ra;
    size_t n = 0;
    buf[0] = '\0';
    char *const *argv = sd->retrain.command.argv;
    for (size_t i = 0; argv && argv[i] && n + 1 < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? " " : "", argv[i]);
}

static void write_header(const char *path, const char *line)
{
    char *dir = fs_dirname(path);
    if (dir)
        fs_mkdir_p(dir);
    free(dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    (void)!write(fd, line, strlen(line));
    close(fd);
}

#define ORPHAN_POLL_MS 1000
#define ORPHAN_GRACE_MS 2000

/* Our own child (job), or a process an earlier controller left (pid, start). */
struct retrain_run {
    struct retrain_job *job;
    pid_t pid;
    unsigned long long start;
    int64_t start_ms;
    char pidfile[4200]; /* the orphan's "<log>.pid", removed once it has ended */
};

static void pid_path(const struct retrain_request *req, char *buf, size_t size)
{
    snprintf(buf, size, "%s.pid", req->log_path ? req->log_path : "");
}

static int adopt(const struct retrain_actuators *ra, const struct retrain_request *req,
                 const char *name, int64_t start_ms, struct retrain_run **ret,
                 struct retrain_started *info, char **ret_err)
{
    (void)ra;
    (void)name;
    char path[4200];
    pid_t pid = 0;
    unsigned long long start_ticks = 0;
    if (!req->log_path)
        return SH_ENOTFOUND;
    pid_path(req, path, sizeof path);
    if (procfile_read(path, &pid, &start_ticks) != 0) {
        unlink(path); /* none, or unreadable: nothing to follow */
        return SH_ENOTFOUND;
    }
    if (!proc_alive(pid, start_ticks)) {
        unlink(path);
        if (ret_err && asprintf(ret_err, "process %d ended while no controller watched it; its "
                                         "result is unknown", (int)pid) < 0)
            *ret_err = NULL;
        return SH_ESTOPPED;
    }
    struct retrain_run *run = calloc(1, sizeof *run);
    if (!run)
        return SH_ENOMEM;
    run->pid = pid;
    run->start = start_ticks;
    run->start_ms = start_ms > 0 ? start_ms : req->now_ms;
    snprintf(run->pidfile, sizeof run->pidfile, "%s", path);
    memset(info, 0, sizeof *info);
    info->pid = (int)pid;
    info->adopted = true;
    info->start_ms = run->start_ms;
    info->poll_ms = ORPHAN_POLL_MS;
    snprintf(info->log, sizeof info->log, "%s", req->log_path);
    *ret = run;
    return 0;
}

static int start(const struct retrain_actuators *ra, const struct retrain_request *req,
                 struct retrain_run **ret, struct retrain_started *info, char **ret_err)
{
    /* one at a time: a process of an earlier controller still running is followed instead */
    if (req->log_path && adopt(ra, req, NULL, 0, ret, info, NULL) == 0)
        return 0;
    const struct spec_drift *sd = &req->p->spec.drift;
    char score[32];
    snprintf(score, sizeof score, "%.6g", req->drift_score);
    const char *names[] = {"SELFHEAL_PIPELINE", "SELFHEAL_DRIFT_SCORE", "SELFHEAL_REFERENCE",
                           "SELFHEAL_CURRENT"};
    const char *values[] = {req->p->key, score, sd->reference_path ? sd->reference_path : "",
                            sd->current_path ? sd->current_path : ""};
    if (req->log_path && req->log_header)
        write_header(req->log_path, req->log_header);
    struct retrain_job_spec js = {.argv = sd->retrain.command.argv,
                                  .env_names = names,
                                  .env_values = values,
                                  .nenv = 4,
                                  .log_path = req->log_path,
                                  .pid_base = req->log_path,
                                  .timeout_ms = sd->retrain.timeout_ms,
                                  .clock = req->clock,
                                  .on_exit = req->on_exit,
                                  .ctx = req->ctx};
    struct retrain_run *run = calloc(1, sizeof *run);
    if (!run)
        return SH_ENOMEM;
    int r = retrain_job_start(&js, &run->job, ret_err);
    if (r != 0) {
        free(run);
        return r;
    }
    struct retrain_job_result res;
    retrain_job_result(run->job, &res);
    memset(info, 0, sizeof *info);
    info->pid = (int)res.pid;
    info->start_ms = req->now_ms;
    snprintf(info->log, sizeof info->log, "%s", req->log_path ? req->log_path : "");
    *ret = run;
    return 0;
}

static int poll_run(const struct retrain_actuators *ra, const struct pipeline *p,
                    struct retrain_run *run, int64_t now_ms, struct retrain_job_result *ret,
                    char **ret_err)
{
    (void)ra;
    (void)ret_err;
    if (run->job) {
        retrain_job_result(run->job, ret);
        return 0;
    }
    memset(ret, 0, sizeof *ret);
    ret->pid = run->pid;
    ret->exit_code = -1;
    ret->start_ms = run->start_ms;
    ret->state = RETRAIN_JOB_RUNNING;
    int64_t timeout = p->spec.drift.retrain.timeout_ms;
    if (proc_alive(run->pid, run->start)) {
        if (timeout <= 0 || now_ms - run->start_ms < timeout)
            return 0;
        proc_stop_group(run->pid, run->start, ORPHAN_GRACE_MS);
        ret->state = RETRAIN_JOB_TIMED_OUT;
        snprintf(ret->message, sizeof ret->message,
                 "timed out: process group %d (started before a controller restart) killed",
                 (int)run->pid);
    } else {
        ret->state = RETRAIN_JOB_FAILED;
        snprintf(ret->message, sizeof ret->message,
                 "process %d (started before a controller restart) ended; its exit status "
                 "was lost with its parent",
                 (int)run->pid);
    }
    ret->end_ms = now_ms;
    unlink(run->pidfile);
    return 0;
}

static void stop(const struct retrain_actuators *ra, struct retrain_run *run)
{
    (void)ra;
    if (run && run->job)
        retrain_job_stop(run->job);
    else if (run && proc_stop_group(run->pid, run->start, ORPHAN_GRACE_MS))
        unlink(run->pidfile);
}

static void release(const struct retrain_actuators *ra, struct retrain_run *run)
{
    if (!run)
        return;
    if (run->job)
        retrain_job_free(run->job);
    else
        stop(ra, run);
    free(run);
}

const struct retrain_actuators *retrain_local_actuators(void)
{
    static const struct retrain_actuators local = {.missing = missing,
                                                   .describe = describe,
                                                   .start = start,
                                                   .adopt = adopt,
                                                   .poll = poll_run,
                                                   .stop = stop,
                                                   .release = release};
    return &local;
}
