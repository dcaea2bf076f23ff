/*
 * cmd_recover.c — `selfheal recover` (cmd_recover.h): flags, then a loop of
 * probe → service_decide() → act, on the real clock, until the service is
 * healthy or the attempts are used up. The prober (probe.h) and the process
 * supervisor (local/supervisor.h) are the controller's own.
 */
#include "cli/cmd_recover.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/brief_config.h"
#include "cli/cli.h"
#include "base/clock.h"
#include "base/errors.h"
#include "local/supervisor.h"
#include "service/probe.h"
#include "service/recovery_log.h"
#include "service/service_decide.h"
#include "runtime/spec.h"

#define CMD "recover"
#define TARGET "recover"
#define PROC_KEY "service"
#define DEFAULT_MAX_ATTEMPTS 3
#define DEFAULT_LOG "monitoring/recovery_log.json"
#define DEFAULT_SERVICE_LOG "monitoring/service.log"

struct recover_flags {
    enum recovery_method method;
    const char *url;
    const char *health_path;
    char **command; /* NULL-terminated, borrowed from argv */
    long max_attempts;
    bool has_max_attempts;
    int64_t timeout_ms, interval_ms, backoff_ms, command_timeout_ms;
    long failure_threshold;
    const char *log;
    const char *service_log;
    const char *config;
    bool dry_run;
};

static void recover_help(FILE *out)
{
    fputs(
        "Usage: selfheal recover --service-url URL [--method process|command]\n"
        "                        [--max-attempts N] [--timeout D] [FLAGS] [--command ARGV...]\n"
        "\n"
        "Checks a service once and heals it when it is down (the brief's\n"
        "auto_recover_service.py), with the rule of the controller's service loop:\n"
        "the service is unhealthy after --failure-threshold failed probes in a row (a\n"
        "probe succeeds on an HTTP 2xx within --timeout); then at most --max-attempts\n"
        "recovery attempts are made, attempt n+1 no sooner than backoff*2^(n-1) after\n"
        "attempt n; a restarted service that runs gets the grace (failure threshold x\n"
        "interval) before its failures count, unless it answers first; a process it\n"
        "started that exits counts at once. It ends at the first healthy probe. Every\n"
        "attempt and its outcome is appended to the recovery log.\n"
        "\n"
        "  --service-url URL      the service (http:// or https://). A URL without a\n"
        "                         path is probed at URL + --health-path\n"
        "  --health-path PATH     default /health\n"
        "  --method M             process (default): start --command as the service, in\n"
        "                         its own process group, output appended to\n"
        "                         --service-log; a restart stops the one it started\n"
        "                         (SIGTERM, then SIGKILL after 5 s). It keeps running\n"
        "                         after a successful recovery; it is stopped when the\n"
        "                         service could not be healed. It cannot stop a process\n"
        "                         it did not start (one that hangs holding the port).\n"
        "                         command: run --command (no shell) and wait for it,\n"
        "                         killed after --command-timeout\n"
        "  --command ARGV...      the program and its arguments: every argument after\n"
        "                         --command (or after --) belongs to it, so it comes last.\n"
        "                         Without it the service is only checked: healthy exits\n"
        "                         0, unhealthy says so and exits 1 (nothing to restart)\n"
        "  --max-attempts N       1..100 (default: service_recovery.max_recovery_attempts\n"
        "                         in the config file, else 3)\n"
        "  --timeout D            probe timeout (default 2s); durations: 500ms, 2s, 1m\n"
        "  --interval D           time between probes (default 500ms)\n"
        "  --failure-threshold N  failed probes in a row that make it unhealthy (default 3)\n"
        "  --backoff D            spacing of attempts, doubled each time (default 2s)\n"
        "  --command-timeout D    method command: kill it after this long (default 1m)\n"
        "  --log FILE             the recovery log, a JSON array (default " DEFAULT_LOG ")\n"
        "  --service-log FILE     method process: the service's output\n"
        "                         (default " DEFAULT_SERVICE_LOG ")\n"
        "  --config FILE          the brief's config (default " BRIEF_CONFIG_PATH ";\n"
        "                         a missing file is fine)\n"
        "  --dry-run              probe and say what would be done; act on nothing\n"
        "  -h, --help             this help\n"
        "\n"
        "Examples:\n"
        "  selfheal recover --method process --service-url http://localhost:8000\n"
        "  selfheal recover --method process --service-url http://localhost:8000 \\\n"
        "      --command uvicorn app:app --port 8000\n"
        "  selfheal recover --method command --service-url http://localhost:8000/health \\\n"
        "      -- systemctl restart housing-api\n"
        "\n"
        "Exit status:\n"
        "  0  nothing to do (the service is healthy), or healed: it prints\n"
        "     \"healed after N attempts\" (with --dry-run: would recover)\n"
        "  1  could not heal: every attempt was made and the service is still unhealthy,\n"
        "     or it is unhealthy and no --command was given\n"
        "  2  usage error or unreadable config file\n",
        out);
}

static int parse_health_path(const char *v, void *dest, char **ret_err)
{
    (void)ret_err;
    if (v[0] != '/')
        return -1;
    *(const char **)dest = v;
    return 0;
}

static int parse_method(const char *v, void *dest, char **ret_err)
{
    (void)ret_err;
    if (strcmp(v, "process") == 0)
        *(enum recovery_method *)dest = RECOVERY_PROCESS;
    else if (strcmp(v, "command") == 0)
        *(enum recovery_method *)dest = RECOVERY_COMMAND;
    else
        return -1;
    return 0;
}

#define DURATION_MUST "be a duration such as 500ms, 2s or 1m"

/* maxAttempts: the flag, else the brief's config, else 3. */
static int resolve_config(struct recover_flags *f)
{
    cJSON *cfg = NULL;
    if (brief_config_load_for(CMD, f->config, &cfg) != 0)
        return CLI_EXIT_USAGE;
    static const struct brief_number attempts = {"service_recovery.max_recovery_attempts",
                                                 DEFAULT_MAX_ATTEMPTS, 1, 100, true,
                                                 "be a whole number from 1 to 100"};
    int rc = 0;
    double v;
    if (!f->has_max_attempts) {
        if (brief_config_number(CMD, f->config, cfg, &attempts, &v) == 0)
            f->max_attempts = (long)v;
        else
            rc = CLI_EXIT_USAGE;
    }
    if (!brief_config_bool(cfg, "service_recovery.enabled", true) && !f->dry_run) {
        printf("service_recovery.enabled is false in the config: probing only (dry run).\n");
        f->dry_run = true;
    }
    cJSON_Delete(cfg);
    return rc;
}

/* The flags, then what the config file adds: 0, CLI_PARSE_HELP, or an exit status. */
static int parse_flags(int argc, char **argv, struct recover_flags *f)
{
    *f = (struct recover_flags){.method = RECOVERY_PROCESS,
                                .health_path = "/health",
                                .timeout_ms = 2000,
                                .interval_ms = 500,
                                .backoff_ms = 2000,
                                .command_timeout_ms = 60000,
                                .failure_threshold = 3,
                                .max_attempts = DEFAULT_MAX_ATTEMPTS,
                                .log = DEFAULT_LOG,
                                .service_log = DEFAULT_SERVICE_LOG};
    bool has_command = false;
    const struct cli_flag flags[] = {
        {.name = "service-url", .kind = CLI_STRING, .dest = &f->url},
        {.name = "health-path", .kind = CLI_CUSTOM, .dest = &f->health_path,
         .parse = parse_health_path, .must = "start with '/'"},
        {.name = "method", .kind = CLI_CUSTOM, .dest = &f->method, .parse = parse_method,
         .must = "be process or command"},
        {.name = "max-attempts", .kind = CLI_INT, .dest = &f->max_attempts, .min = 1, .max = 100,
         .given = &f->has_max_attempts, .must = "be a whole number from 1 to 100"},
        {.name = "timeout", .kind = CLI_DURATION, .dest = &f->timeout_ms, .max = INT64_MAX,
         .opts = CLI_ABOVE_MIN, .must = DURATION_MUST},
        {.name = "interval", .kind = CLI_DURATION, .dest = &f->interval_ms, .max = INT64_MAX,
         .opts = CLI_ABOVE_MIN, .must = DURATION_MUST},
        {.name = "failure-threshold", .kind = CLI_INT, .dest = &f->failure_threshold, .min = 1,
         .max = 100, .must = "be a whole number from 1 to 100"},
        {.name = "backoff", .kind = CLI_DURATION, .dest = &f->backoff_ms, .max = INT64_MAX,
         .opts = CLI_ABOVE_MIN, .must = DURATION_MUST},
        {.name = "command-timeout", .kind = CLI_DURATION, .dest = &f->command_timeout_ms,
         .max = INT64_MAX, .opts = CLI_ABOVE_MIN, .must = DURATION_MUST},
        {.name = "log", .kind = CLI_STRING, .dest = &f->log},
        {.name = "service-log", .kind = CLI_STRING, .dest = &f->service_log},
        {.name = "config", .kind = CLI_STRING, .dest = &f->config},
        {.name = "dry-run", .kind = CLI_BOOL, .dest = &f->dry_run},
        /* everything after --command (or after --) is the command */
        {.name = "command", .kind = CLI_ARGV, .dest = &f->command, .given = &has_command},
    };
    const struct cli_command cmd = {.name = CMD, .flags = flags, .nflags = CLI_NFLAGS(flags),
                                    .help = recover_help,
                                    .unexpected_hint = " (the command goes after --command)"};
    int r = cli_parse(&cmd, argc, argv);
    if (r != 0)
        return r;
    if (!has_command)
        f->command = NULL;
    if (!f->url)
        return cli_usage_error(CMD, "--service-url is required");
    if (f->command && !f->command[0])
        return cli_usage_error(CMD, "--command needs the program to run after it");
    return resolve_config(f);
}

/* URL + health path when the URL has no path of its own (owned). */
static char *probe_url(const struct recover_flags *f)
{
    const char *rest = strstr(f->url, "://");
    const char *path = rest ? strchr(rest + 3, '/') : NULL;
    char *u = NULL;
    if (!path || strcmp(path, "/") == 0) {
        size_t n = path ? (size_t)(path - f->url) : strlen(f->url);
        if (asprintf(&u, "%.*s%s", (int)n, f->url, f->health_path) < 0)
            return NULL;
        return u;
    }
    return strdup(f->url);
}

struct run {
    const struct recover_flags *f;
    const char *url;
    struct prober *pr;
    struct supervisor *sv;
    struct spec_service svc;
    bool started; /* method process: a process of ours was started */
    char last_error[PROBE_ERROR_MAX];
};

static void log_record(const struct run *r, const char *action, const char *outcome, int attempt,
                       const char *trigger, const char *error, double mttr)
{
    struct recovery_record rec = {.time_ms = clock_now_ms(NULL),
                                  .source = "cli",
                                  .service_url = r->url,
                                  .method = spec_recovery_method_name(r->f->method),
                                  .action = action,
                                  .outcome = outcome,
                                  .attempt = attempt,
                                  .max_attempts = (int)r->f->max_attempts,
                                  .trigger = trigger,
                                  .error = error,
                                  .mttr_seconds = mttr};
    char *err = NULL, *warn = NULL;
    if (recovery_log_append(r->f->log, &rec, &err, &warn) != 0)
        fprintf(stderr, "selfheal %s: cannot write the recovery log %s: %s\n", CMD, r->f->log,
                err ? err : "write failed");
    if (warn)
        fprintf(stderr, "selfheal %s: %s: %s\n", CMD, r->f->log, warn);
    free(err);
    free(warn);
}

/* One recovery attempt. */
static void attempt(struct run *r, int n, const char *trigger)
{
    const struct recover_flags *f = r->f;
    char *err = NULL;
    int rc;
    char done[300] = "";
    const char *action = f->method == RECOVERY_PROCESS ? "restart" : "run-command";
    if (f->method == RECOVERY_PROCESS) {
        struct supervisor_launch l = {.argv = f->command, .log_path = f->service_log};
        rc = supervisor_restart(r->sv, PROC_KEY, &l, &err);
        if (!rc) {
            r->started = true;
            struct supervisor_info in;
            supervisor_info(r->sv, PROC_KEY, &in);
            snprintf(done, sizeof done, "started %s (pid %d, output in %s)", f->command[0],
                     (int)in.pid, f->service_log);
        }
    } else {
        struct supervisor_launch l = {.argv = f->command, .timeout_ms = f->command_timeout_ms,
                                      .leave_group = true};
        rc = supervisor_start(r->sv, PROC_KEY, &l, &err);
        if (!rc) {
            supervisor_wait(r->sv, PROC_KEY, (long)f->command_timeout_ms + 10000);
            struct supervisor_info in;
            supervisor_info(r->sv, PROC_KEY, &in);
            snprintf(done, sizeof done, "ran %s: %s", f->command[0], in.exit_text);
            if (!in.success) {
                rc = SH_EIO;
                err = strdup(in.exit_text);
            }
        }
    }
    const char *why = rc ? (err ? err : sh_strerror(rc)) : NULL;
    if (rc && f->method == RECOVERY_PROCESS)
        printf("attempt %d of %ld: %s\n", n, f->max_attempts, why);
    else
        printf("attempt %d of %ld: %s\n", n, f->max_attempts, done);
    log_record(r, action, rc ? "failed" : "started", n, trigger, why, -1);
    free(err);
}

static void observe(struct run *r, const struct probe_observation *po,
                    struct service_observation *o)
{
    memset(o, 0, sizeof *o);
    o->probe_known = po->known;
    o->consecutive_failures = po->consecutive_failures;
    o->consecutive_successes = po->consecutive_successes;
    o->first_failure_ms = po->first_failure_ms;
    o->last_success_ms = po->last_success_ms;
    snprintf(o->last_error, sizeof o->last_error, "%s", po->last_error);
    if (po->last_error[0])
        snprintf(r->last_error, sizeof r->last_error, "%s", po->last_error);
    if (r->f->method == RECOVERY_PROCESS && r->started) {
        struct supervisor_info in;
        supervisor_info(r->sv, PROC_KEY, &in);
        o->supervised = o->process_ever_started = true;
        o->process_running = in.running;
        snprintf(o->process_exit, sizeof o->process_exit, "%s", in.exit_text);
    }
}

/* The loop: returns the exit status. */
static int heal(struct run *r)
{
    const struct recover_flags *f = r->f;
    struct service_state st = {.last_recovery_seconds = -1};
    uint64_t seen = 0;
    bool said_unhealthy = false;
    long wait_ms = (long)(f->timeout_ms + f->interval_ms + 5000);
    for (;;) {
        if (prober_wait(r->pr, TARGET, seen + 1, wait_ms) != 0) {
            fprintf(stderr, "selfheal %s: the prober stopped answering\n", CMD);
            return CLI_EXIT_FAIL;
        }
        struct probe_observation po;
        prober_get(r->pr, TARGET, &po);
        seen = po.probes;
        struct service_observation o;
        observe(r, &po, &o);
        struct service_decision d;
        service_decide(&r->svc, &o, &st, clock_now_ms(NULL), 1, f->dry_run, false, &d);
        if (d.verdict == SERVICE_HEALTHY) {
            if (d.healed) {
                double mttr = d.next.last_recovery_seconds;
                printf("healed after %d attempt%s (MTTR %.1f s): %s answers\n",
                       st.recovery_attempts, st.recovery_attempts == 1 ? "" : "s", mttr, r->url);
                log_record(r, "recovered", "succeeded", st.recovery_attempts, NULL, NULL, mttr);
                if (r->started) {
                    struct supervisor_info in;
                    supervisor_info(r->sv, PROC_KEY, &in);
                    printf("the service keeps running as pid %d\n", (int)in.pid);
                    supervisor_release(r->sv, PROC_KEY);
                }
                return CLI_EXIT_OK;
            }
            if (!said_unhealthy && o.consecutive_failures == 0 && st.recovery_attempts == 0) {
                printf("%s is healthy: nothing to do\n", r->url);
                return CLI_EXIT_OK;
            }
        }
        if (d.verdict != SERVICE_HEALTHY && d.verdict != SERVICE_UNKNOWN &&
            d.verdict != SERVICE_STARTING && !said_unhealthy) {
            printf("%s is unhealthy: %s\n", r->url, r->last_error[0] ? r->last_error : d.message);
            said_unhealthy = true;
        }
        if (d.action == SERVICE_ACT_RECOVER && d.planned_only) {
            printf("dry run: would %s %s (attempt 1 of %ld)\n",
                   f->method == RECOVERY_PROCESS ? "start" : "run",
                   f->command ? f->command[0] : "the --command", f->max_attempts);
            return CLI_EXIT_OK;
        }
        if (d.action == SERVICE_ACT_RECOVER && !f->command) {
            /* a check without a way to heal: say so, and what would heal it */
            printf("no --command given, so nothing to %s: pass --command ARGV... (the program "
                   "that %s the service) to heal it\n",
                   f->method == RECOVERY_PROCESS ? "start" : "run",
                   f->method == RECOVERY_PROCESS ? "runs" : "restarts");
            return CLI_EXIT_FAIL;
        }
        if (d.action == SERVICE_ACT_RECOVER) {
            char trigger[PROBE_ERROR_MAX + 64];
            if (o.supervised && !o.process_running)
                snprintf(trigger, sizeof trigger, "ProcessExited: the service process %s",
                         o.process_exit);
            else
                snprintf(trigger, sizeof trigger, "ProbeFailed: %s",
                         r->last_error[0] ? r->last_error : "no healthy probe");
            attempt(r, d.next.recovery_attempts, trigger);
        }
        if (d.gave_up) {
            printf("could not heal after %d attempt%s: %s\n", d.next.recovery_attempts,
                   d.next.recovery_attempts == 1 ? "" : "s",
                   r->last_error[0] ? r->last_error : d.message);
            log_record(r, "gave-up", "exhausted", d.next.recovery_attempts, r->last_error, NULL,
                       -1);
            return CLI_EXIT_FAIL;
        }
        st = d.next;
    }
}

int cmd_recover(int argc, char **argv)
{
    struct recover_flags f;
    int rc = parse_flags(argc, argv, &f);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_OK : rc;
    char *url = probe_url(&f);
    if (!url)
        return CLI_EXIT_FAIL;
    struct run r = {.f = &f, .url = url};
    r.svc.present = r.svc.enabled = true;
    r.svc.health_check.url = url;
    r.svc.health_check.interval_ms = f.interval_ms;
    r.svc.health_check.timeout_ms = f.timeout_ms;
    r.svc.health_check.failure_threshold = (int)f.failure_threshold;
    r.svc.recovery.method = f.method;
    r.svc.recovery.max_attempts = (int)f.max_attempts;
    r.svc.recovery.backoff_ms = f.backoff_ms;
    r.svc.recovery.reset_after_ms = INT64_MAX / 4;
    r.svc.recovery.timeout_ms = f.command_timeout_ms;
    rc = CLI_EXIT_FAIL;
    if (prober_new(NULL, NULL, NULL, NULL, &r.pr) != 0 ||
        supervisor_new(&(struct supervisor_options){0}, &r.sv) != 0) {
        fprintf(stderr, "selfheal %s: cannot start the prober\n", CMD);
        goto out;
    }
    if (prober_set_target(r.pr, TARGET, url, f.interval_ms, (long)f.timeout_ms) != 0) {
        rc = cli_usage_error(CMD, "--service-url must be an http:// or https:// URL, got '%s'",
                             f.url);
        goto out;
    }
    rc = heal(&r);
out:
    prober_free(r.pr);
    supervisor_free(r.sv); /* stops a process of ours that did not heal the service */
    free(url);
    return rc;
}
