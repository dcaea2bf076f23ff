/*
 * retrain_local.c — the local platform's "retrain" actuators
 * (retrain_actuators.h): spec.drift.retrain.command as a background process
 * (retrain_job.h) with SELFHEAL_PIPELINE, SELFHEAL_DRIFT_SCORE,
 * SELFHEAL_REFERENCE and SELFHEAL_CURRENT in its environment and its output
 * appended to the request's log file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drift/retrain_actuators.h"
#include "errors.h"
#include "fsutil.h"

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

static int start(const struct retrain_actuators *ra, const struct retrain_request *req,
                 struct retrain_run **ret, struct retrain_started *info, char **ret_err)
{
    (void)ra;
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
                                  .timeout_ms = sd->retrain.timeout_ms,
                                  .clock = req->clock,
                                  .on_exit = req->on_exit,
                                  .ctx = req->ctx};
    struct retrain_job *job = NULL;
    int r = retrain_job_start(&js, &job, ret_err);
    if (r != 0)
        return r;
    struct retrain_job_result res;
    retrain_job_result(job, &res);
    memset(info, 0, sizeof *info);
    info->pid = (int)res.pid;
    info->start_ms = req->now_ms;
    snprintf(info->log, sizeof info->log, "%s", req->log_path ? req->log_path : "");
    *ret = (struct retrain_run *)job;
    return 0;
}

static int adopt(const struct retrain_actuators *ra, const struct pipeline *p, const char *name,
                 int64_t start_ms, struct retrain_run **ret, struct retrain_started *info,
                 char **ret_err)
{
    (void)ra;
    (void)p;
    (void)name;
    (void)start_ms;
    (void)ret;
    (void)info;
    if (ret_err)
        *ret_err = strdup("a process started by another controller process cannot be followed");
    return SH_ENOTFOUND;
}

static int poll_run(const struct retrain_actuators *ra, const struct pipeline *p,
                    struct retrain_run *run, int64_t now_ms, struct retrain_job_result *ret,
                    char **ret_err)
{
    (void)ra;
    (void)p;
    (void)now_ms;
    (void)ret_err;
    retrain_job_result((struct retrain_job *)run, ret);
    return 0;
}

static void stop(const struct retrain_actuators *ra, struct retrain_run *run)
{
    (void)ra;
    if (run)
        retrain_job_stop((struct retrain_job *)run);
}

static void release(const struct retrain_actuators *ra, struct retrain_run *run)
{
    (void)ra;
    retrain_job_free((struct retrain_job *)run);
}

const struct retrain_actuators *retrain_local_actuators(void)
{
    static const struct retrain_actuators local = {.missing = missing,
                                                   .describe = describe,
                                                   .start = start,
                                                   .adopt = adopt,
                                                   .poll = poll_run,
                                                   .poll_ms = 0,
                                                   .stop = stop,
                                                   .release = release};
    return &local;
}
