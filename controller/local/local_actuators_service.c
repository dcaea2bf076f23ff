/*
 * local_actuators_service.c — the local platform's service actuators
 * (service_actuators.h): the supervised process of a pipeline under its key,
 * its recovery command under "<key>#command", both in one supervisor, both
 * logging to <state>/logs/<namespace>_<name>.log.
 */
#include "service/service_actuators.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "local/supervisor.h"

#define COMMAND_SUFFIX "#command"

struct service_local {
    struct service_actuators base;
    struct supervisor *sv;
    char *logs_dir;
    const struct reconciler_notify *notify;
};

static struct service_local *impl_of(const struct service_actuators *sa)
{
    return sa->impl;
}

/* "ns/name" → "<logs>/ns_name.log" (owned) */
static char *log_path_for(const struct service_local *sl, const char *key)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s.log", sl->logs_dir, key) < 0)
        return NULL;
    char *base = path + strlen(sl->logs_dir) + 1;
    for (char *c = base; *c; c++)
        if (*c == '/')
            *c = '_';
    return path;
}

static char *command_key(const char *key)
{
    char *k = NULL;
    if (asprintf(&k, "%s%s", key, COMMAND_SUFFIX) < 0)
        return NULL;
    return k;
}

static struct supervisor_launch process_launch(const struct spec_service *svc, const char *log)
{
    return (struct supervisor_launch){
        .argv = svc->recovery.process.command.argv,
        .working_dir = svc->recovery.process.working_dir,
        .env_names = svc->recovery.process.env.names,
        .env_values = svc->recovery.process.env.values,
        .env_count = svc->recovery.process.env.count,
        .log_path = log,
    };
}

static int no_command(char **ret_err)
{
    if (ret_err)
        *ret_err = strdup("spec.service.recovery.process.command is empty");
    return SH_EINVAL;
}

static int sl_ensure_process(const struct service_actuators *sa, const char *key,
                             const struct spec_service *svc, bool *ret_started, char **ret_err)
{
    struct service_local *sl = impl_of(sa);
    *ret_started = false;
    if (!svc->recovery.process.command.argv || svc->recovery.process.command.argc == 0)
        return no_command(ret_err);
    char *log = log_path_for(sl, key);
    if (!log)
        return SH_ENOMEM;
    struct supervisor_launch l = process_launch(svc, log);
    struct supervisor_info in;
    supervisor_info(sl->sv, key, &in);
    int err = 0;
    if (!in.known) {
        err = supervisor_start(sl->sv, key, &l, ret_err);
        *ret_started = err == 0;
    } else if (in.running && !supervisor_same_launch(sl->sv, key, &l)) {
        err = supervisor_restart(sl->sv, key, &l, ret_err);
        *ret_started = err == 0;
    }
    free(log);
    return err;
}

static int sl_recover_process(const struct service_actuators *sa, const char *key,
                              const struct spec_service *svc, char **ret_err)
{
    struct service_local *sl = impl_of(sa);
    if (!svc->recovery.process.command.argv || svc->recovery.process.command.argc == 0)
        return no_command(ret_err);
    char *log = log_path_for(sl, key);
    if (!log)
        return SH_ENOMEM;
    struct supervisor_launch l = process_launch(svc, log);
    int err = supervisor_restart(sl->sv, key, &l, ret_err);
    free(log);
    return err;
}

static void sl_process_state(const struct service_actuators *sa, const char *key,
                             struct service_process_state *ret)
{
    struct service_local *sl = impl_of(sa);
    memset(ret, 0, sizeof *ret);
    struct supervisor_info in;
    if (supervisor_info(sl->sv, key, &in) != 0)
        return;
    ret->known = in.known;
    ret->running = in.running;
    ret->pid = in.pid;
    ret->starts = in.starts;
    ret->started_ms = in.started_ms;
    memcpy(ret->exit_text, in.exit_text, sizeof ret->exit_text);
}

static int sl_run_command(const struct service_actuators *sa, const char *key,
                          const struct spec_argv *argv, int64_t timeout_ms, char **ret_err)
{
    struct service_local *sl = impl_of(sa);
    if (!argv->argv || argv->argc == 0) {
        if (ret_err)
            *ret_err = strdup("spec.service.recovery.command is empty");
        return SH_EINVAL;
    }
    char *ck = command_key(key);
    char *log = log_path_for(sl, key);
    int err = SH_ENOMEM;
    if (ck && log) {
        struct supervisor_launch l = {.argv = argv->argv, .log_path = log,
                                      .timeout_ms = timeout_ms, .leave_group = true};
        err = supervisor_start(sl->sv, ck, &l, ret_err);
    }
    free(ck);
    free(log);
    return err;
}

static void sl_command_state(const struct service_actuators *sa, const char *key,
                             struct service_command_state *ret)
{
    struct service_local *sl = impl_of(sa);
    memset(ret, 0, sizeof *ret);
    char *ck = command_key(key);
    struct supervisor_info in;
    if (!ck || supervisor_info(sl->sv, ck, &in) != 0) {
        free(ck);
        return;
    }
    free(ck);
    ret->known = in.known;
    ret->running = in.running;
    ret->success = in.exited && in.success;
    ret->started_ms = in.started_ms;
    ret->exited_ms = in.exited_ms;
    memcpy(ret->exit_text, in.exit_text, sizeof ret->exit_text);
}

static void sl_forget(const struct service_actuators *sa, const char *key)
{
    struct service_local *sl = impl_of(sa);
    supervisor_forget(sl->sv, key);
    char *ck = command_key(key);
    if (ck)
        supervisor_forget(sl->sv, ck);
    free(ck);
}

static void sl_stop_all(const struct service_actuators *sa)
{
    supervisor_stop_all(impl_of(sa)->sv);
}

static int sl_signal_process(const struct service_actuators *sa, const char *key, int sig)
{
    return supervisor_signal(impl_of(sa)->sv, key, sig);
}

static int sl_restart_process(const struct service_actuators *sa, const char *key, char **ret_err)
{
    struct service_local *sl = impl_of(sa);
    struct supervisor_info in;
    if (supervisor_info(sl->sv, key, &in) != 0 || !in.running)
        return SH_ENOTFOUND;
    return supervisor_restart(sl->sv, key, NULL, ret_err);
}

/* A process or command ended on its own: look at its pipeline again. */
static void on_exit_key(void *ctx, const char *key)
{
    struct service_local *sl = ctx;
    size_t n = strlen(key), sn = strlen(COMMAND_SUFFIX);
    if (n > sn && strcmp(key + n - sn, COMMAND_SUFFIX) == 0) {
        char pk[PIPELINE_KEY_MAX];
        snprintf(pk, sizeof pk, "%.*s", (int)(n - sn), key);
        reconciler_notify_key(sl->notify, pk);
        return;
    }
    reconciler_notify_key(sl->notify, key);
}

int service_local_actuators_new(const char *state_dir, const struct sh_clock *clock,
                                int64_t grace_ms, const struct reconciler_notify *notify,
                                struct service_actuators **ret, char **ret_err)
{
    struct service_local *sl = calloc(1, sizeof *sl);
    if (!sl || asprintf(&sl->logs_dir, "%s/logs", state_dir ? state_dir : ".") < 0) {
        free(sl);
        return SH_ENOMEM;
    }
    sl->notify = notify;
    struct supervisor_options so = {.clock = clock, .grace_ms = grace_ms, .on_exit = on_exit_key,
                                    .ctx = sl};
    int err = supervisor_new(&so, &sl->sv);
    if (err) {
        if (ret_err)
            *ret_err = strdup("cannot start the process supervisor");
        free(sl->logs_dir);
        free(sl);
        return err;
    }
    sl->base = (struct service_actuators){
        .ensure_process = sl_ensure_process,
        .recover_process = sl_recover_process,
        .process_state = sl_process_state,
        .run_command = sl_run_command,
        .command_state = sl_command_state,
        .forget = sl_forget,
        .stop_all = sl_stop_all,
        .signal_process = sl_signal_process,
        .restart_process = sl_restart_process,
        .impl = sl,
    };
    *ret = &sl->base;
    return 0;
}

void service_local_actuators_free(struct service_actuators *sa)
{
    if (!sa)
        return;
    struct service_local *sl = impl_of(sa);
    supervisor_free(sl->sv);
    free(sl->logs_dir);
    free(sl);
}
