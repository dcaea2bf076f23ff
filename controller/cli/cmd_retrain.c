/*
 * cmd_retrain.c — `selfheal retrain` (cmd_retrain.h): flags and config,
 * the cooldown check against the retraining log, the command run in the
 * foreground through local/retrain_job.h, the log entry.
 */
#include "cli/cmd_retrain.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/brief_config.h"
#include "cli/cli.h"
#include "base/clock.h"
#include "local/retrain_job.h"
#include "drift/retrain_log.h"
#include "base/errors.h"
#include "runtime/spec.h"

#define CMD "retrain"
#define DEFAULT_THRESHOLD 0.5
#define DEFAULT_COOLDOWN_MS (24LL * 3600 * 1000)

struct retrain_flags {
    bool detected;
    bool has_score;
    double score;
    bool has_threshold;
    double threshold;
    bool has_cooldown;
    int64_t cooldown_ms;
    int64_t timeout_ms;
    const char *log;
    const char *output;
    const char *config;
    bool force;
    bool dry_run;
    char **cmd; /* ARGV after "--", NULL-terminated; NULL when none */
};

static void retrain_help(FILE *out)
{
    fputs("Usage: selfheal retrain --drift-detected --drift-score X [--threshold T]\n"
          "                        [--cooldown DURATION] [--log FILE] [--config FILE]\n"
          "                        [--timeout DURATION] [--output FILE] [--force] [--dry-run]\n"
          "                        [-- COMMAND [ARG...]]\n"
          "\n"
          "Retrains after data drift, at most once per cooldown (the brief's\n"
          "auto_retrain_on_drift.py). Drift is reported by the caller (a CI step, `selfheal\n"
          "drift`): with --drift-detected and a score at or above the threshold, and the\n"
          "last retrain at least one cooldown ago, the retrain is triggered: COMMAND is run\n"
          "(no shell) when given, with SELFHEAL_DRIFT_SCORE in its environment, and the\n"
          "event is appended to the retraining log, whose last_retrain_time is the\n"
          "cooldown record. The controller's drift loop writes the same log.\n"
          "\n"
          "  --drift-detected      drift was detected (without it: nothing to do)\n"
          "  --drift-score X       the drift score, 0..1\n"
          "  --threshold T         minimum score to retrain (default:\n"
          "                        drift_detection.drift_threshold in the config, else 0.5)\n"
          "  --cooldown DURATION   minimum time between retrains, e.g. 24h, 90m (default:\n"
          "                        drift_detection.retraining_cooldown_hours, else 24h)\n"
          "  --log FILE            the retraining log (default " RETRAIN_LOG_PATH ")\n"
          "  --config FILE         the brief's config (default " BRIEF_CONFIG_PATH ";\n"
          "                        a missing file is fine)\n"
          "  --timeout DURATION    kill COMMAND's process group after this long (default: none)\n"
          "  --output FILE         append COMMAND's output to FILE (default: this terminal)\n"
          "  --force               ignore the cooldown\n"
          "  --dry-run             say what would be done; run and log nothing\n"
          "  -h, --help            this help\n"
          "\n"
          "Without COMMAND the retrain is only recorded as triggered (last_retrain_time is\n"
          "set), for a pipeline that trains in a later step.\n"
          "\n"
          "Exit status:\n"
          "  0  retrained (COMMAND succeeded) or triggered; or nothing to do: no drift, a\n"
          "     score below the threshold, or the cooldown is active (it says so)\n"
          "     (with --dry-run: would retrain)\n"
          "  1  drift, but the retrain failed: COMMAND failed, timed out or could not be\n"
          "     started\n"
          "  2  usage error, unreadable config file\n",
          out);
}

static int resolve_defaults(struct retrain_flags *f)
{
    if (f->has_threshold && f->has_cooldown)
        return 0;
    cJSON *cfg = NULL;
    if (brief_config_load_for(CMD, f->config, &cfg) != 0)
        return CLI_EXIT_USAGE;
    static const struct brief_number threshold = {"drift_detection.drift_threshold",
                                                  DEFAULT_THRESHOLD, 0, 1, false,
                                                  "be from 0 to 1"};
    static const struct brief_number cooldown = {"drift_detection.retraining_cooldown_hours", 24,
                                                 0, 24.0 * 365 * 100, false,
                                                 "be a number of hours ≥ 0"};
    int rc = 0;
    double h;
    if (!f->has_threshold && brief_config_number(CMD, f->config, cfg, &threshold, &f->threshold) != 0)
        rc = CLI_EXIT_USAGE;
    if (!f->has_cooldown && rc == 0) {
        if (brief_config_number(CMD, f->config, cfg, &cooldown, &h) == 0)
            f->cooldown_ms = (int64_t)llround(h * 3600 * 1000);
        else
            rc = CLI_EXIT_USAGE;
    }
    cJSON_Delete(cfg);
    return rc;
}

/* The flags, then what the config file adds: 0, CLI_PARSE_HELP, or an exit status. */
static int parse_flags(int argc, char **argv, struct retrain_flags *f)
{
    memset(f, 0, sizeof *f);
    f->log = RETRAIN_LOG_PATH;
    const struct cli_flag flags[] = {
        {.name = "drift-detected", .kind = CLI_BOOL, .dest = &f->detected},
        {.name = "drift-score", .kind = CLI_DOUBLE, .dest = &f->score, .min = 0, .max = 1,
         .given = &f->has_score, .must = "be a number from 0 to 1"},
        {.name = "threshold", .kind = CLI_DOUBLE, .dest = &f->threshold, .min = 0, .max = 1,
         .given = &f->has_threshold, .must = "be a number from 0 to 1"},
        {.name = "cooldown", .kind = CLI_DURATION, .dest = &f->cooldown_ms, .min = 0,
         .max = INT64_MAX, .given = &f->has_cooldown, .must = "be a duration like 24h or 90m"},
        {.name = "log", .kind = CLI_STRING, .dest = &f->log},
        {.name = "config", .kind = CLI_STRING, .dest = &f->config},
        {.name = "timeout", .kind = CLI_DURATION, .dest = &f->timeout_ms, .max = INT64_MAX,
         .opts = CLI_ABOVE_MIN, .must = "be a duration like 1h"},
        {.name = "output", .kind = CLI_STRING, .dest = &f->output},
        {.name = "force", .kind = CLI_BOOL, .dest = &f->force},
        {.name = "dry-run", .kind = CLI_BOOL, .dest = &f->dry_run},
        {.name = NULL, .kind = CLI_ARGV, .dest = &f->cmd}, /* after "--" */
    };
    const struct cli_command cmd = {.name = CMD, .flags = flags, .nflags = CLI_NFLAGS(flags),
                                    .help = retrain_help,
                                    .unexpected_hint = " (put the command after --)"};
    int r = cli_parse(&cmd, argc, argv);
    if (r != 0)
        return r;
    if (f->cmd && !f->cmd[0])
        f->cmd = NULL; /* a "--" with nothing after it */
    if (f->detected && !f->has_score)
        return cli_usage_error(CMD, "--drift-score is required with --drift-detected");
    return resolve_defaults(f);
}

static void log_event(const struct retrain_flags *f, struct retrain_event *e, bool set_last)
{
    char *err = NULL, *warn = NULL;
    if (retrain_log_append(f->log, e, set_last, &err, &warn) != 0)
        fprintf(stderr, "selfheal %s: the retraining log could not be written: %s\n", CMD,
                err ? err : f->log);
    if (warn)
        fprintf(stderr, "selfheal %s: warning: %s\n", CMD, warn);
    free(err);
    free(warn);
}

/* Runs the command in the foreground; fills e with the result (its reason
 * in why, which must outlive e). 0 when it succeeded. */
static int run_command(const struct retrain_flags *f, struct retrain_event *e, char *why,
                       size_t wsize)
{
    char score[32];
    snprintf(score, sizeof score, "%.6g", f->score);
    const char *names[] = {"SELFHEAL_DRIFT_SCORE"};
    const char *values[] = {score};
    struct retrain_job_spec s = {.argv = f->cmd,
                                 .env_names = names,
                                 .env_values = values,
                                 .nenv = 1,
                                 .log_path = f->output,
                                 .timeout_ms = f->timeout_ms};
    struct retrain_job *j = NULL;
    char *err = NULL;
    fflush(stdout);
    int r = retrain_job_start(&s, &j, &err);
    if (r != 0) {
        fprintf(stderr, "selfheal %s: %s\n", CMD, err ? err : sh_strerror(r));
        e->status = "failed";
        e->reason = "the command could not be started";
        free(err);
        return r;
    }
    retrain_job_wait(j, -1);
    struct retrain_job_result res;
    retrain_job_result(j, &res);
    retrain_job_free(j);
    e->exit_code = res.exit_code;
    e->duration_seconds = (double)(res.end_ms - res.start_ms) / 1000.0;
    if (res.state == RETRAIN_JOB_SUCCEEDED) {
        e->status = "succeeded";
        return 0;
    }
    snprintf(why, wsize, "%s", res.message);
    e->status = res.state == RETRAIN_JOB_TIMED_OUT ? "timed out" : "failed";
    e->reason = why;
    fprintf(stderr, "selfheal %s: the retrain command failed: %s\n", CMD, res.message);
    return SH_EIO;
}

int cmd_retrain(int argc, char **argv)
{
    struct retrain_flags f;
    int r = parse_flags(argc, argv, &f);
    if (r != 0)
        return r < 0 ? CLI_EXIT_OK : r;
    if (!f.detected) {
        printf("No drift detected: nothing to do.\n");
        return CLI_EXIT_OK;
    }
    if (f.score < f.threshold) {
        printf("Drift score %.3f < threshold %.3f: no retraining needed.\n", f.score, f.threshold);
        return CLI_EXIT_OK;
    }
    int64_t now = clock_now_ms(NULL);
    struct retrain_event e;
    retrain_event_init(&e);
    e.time_ms = now;
    e.trigger = "cli";
    e.drift_score = f.score;
    e.threshold = f.threshold;
    e.command = f.cmd;
    e.log = f.output;

    int64_t last = 0;
    char *err = NULL;
    if (retrain_log_last(f.log, &last, &err) != 0) {
        fprintf(stderr, "selfheal %s: warning: %s; treating it as no earlier retrain\n", CMD,
                err ? err : f.log);
        free(err);
        last = 0;
    }
    char ts[32], nt[32];
    if (last > 0 && now - last < f.cooldown_ms && !f.force) {
        clock_format_rfc3339(last, ts, sizeof ts);
        clock_format_rfc3339(last + f.cooldown_ms, nt, sizeof nt);
        char reason[200];
        snprintf(reason, sizeof reason, "cooldown active: last retrain at %s, next allowed at %s", ts, nt);
        printf("Drift score %.3f ≥ threshold %.3f, but the cooldown is active: last retrain at "
               "%s, next allowed at %s; nothing to do (not retraining).\n",
               f.score, f.threshold, ts, nt);
        if (!f.dry_run) {
            e.status = "skipped";
            e.reason = reason;
            log_event(&f, &e, false);
        }
        return CLI_EXIT_OK; /* the cooldown doing its job is no failure */
    }
    if (f.dry_run) {
        printf("Drift score %.3f ≥ threshold %.3f: would retrain%s%s; --dry-run: nothing run or "
               "logged.\n",
               f.score, f.threshold, f.cmd ? " with " : "", f.cmd ? f.cmd[0] : "");
        return CLI_EXIT_OK;
    }
    printf("Drift score %.3f ≥ threshold %.3f: retraining%s%s.\n", f.score, f.threshold,
           f.cmd ? " with " : "", f.cmd ? f.cmd[0] : " (recorded as triggered)");
    int rc = CLI_EXIT_OK;
    char why[256] = "";
    if (f.cmd) {
        if (run_command(&f, &e, why, sizeof why) != 0)
            rc = CLI_EXIT_FAIL;
        e.time_ms = clock_now_ms(NULL);
    } else {
        e.status = "triggered";
        e.reason = "drift detected";
    }
    log_event(&f, &e, rc == CLI_EXIT_OK);
    if (rc == CLI_EXIT_OK)
        printf("Retrain %s; last_retrain_time is now %s in %s.\n", e.status,
               clock_format_rfc3339(e.time_ms, ts, sizeof ts), f.log);
    return rc;
}
