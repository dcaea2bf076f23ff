/*
 * cmd_rollback.c — `selfheal rollback` (cmd_rollback.h): reads the
 * registry, decides with model_decide() exactly as the controller does
 * (failureLimit 1, no window limit), swaps `current`, logs, says what it did.
 */
#include "cli/cmd_rollback.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/brief_config.h"
#include "cli/cli.h"
#include "base/clock.h"
#include "base/errors.h"
#include "local/registry.h"
#include "model/model_decide.h"
#include "model/rollback_log.h"

#define CMD "rollback"
#define DEFAULT_THRESHOLD 0.70
#define DEFAULT_REGISTRY "models"

struct rollback_flags {
    double current;
    bool has_current;
    double threshold;
    bool has_threshold;
    const char *registry;
    const char *log;
    const char *metric;
    const char *config;
    bool dry_run;
};

static void rollback_help(FILE *out)
{
    fputs("Usage: selfheal rollback --current-metric X [--threshold Y] [--registry DIR]\n"
          "                         [--log FILE] [--metric NAME] [--config FILE] [--dry-run]\n"
          "\n"
          "Rolls a local model registry back when the current model's metric is below the\n"
          "threshold (the brief's rollback_model.py). The registry holds one folder per\n"
          "version, DIR/<version>/metrics.json with its recorded metric, and DIR/current,\n"
          "a symlink to the active version. Below the threshold, `current` is switched\n"
          "atomically to the newest version older than the current one (natural order of\n"
          "names: v9 < v10) whose recorded metric is at least the threshold, and the\n"
          "rollback is appended to the rollback log. The controller's model loop uses the\n"
          "same rule.\n"
          "\n"
          "  --current-metric X  the live metric of the current model (required)\n"
          "  --threshold Y       the minimum, 0..1 (default: model_validation.\n"
          "                      min_accuracy_threshold in the config file, else 0.70)\n"
          "  --registry DIR      the model registry (default " DEFAULT_REGISTRY ")\n"
          "  --log FILE          the rollback log, a JSON array (default DIR/rollback_log.json)\n"
          "  --metric NAME       the key of the recorded metric in metrics.json\n"
          "                      (default accuracy)\n"
          "  --config FILE       the brief's config (default " BRIEF_CONFIG_PATH ";\n"
          "                      a missing file is fine)\n"
          "  --dry-run           say what would be done, change and log nothing\n"
          "  -h, --help          this help\n"
          "\n"
          "Without a `current` link the newest version counts as the current one.\n"
          "\n"
          "Exit status:\n"
          "  0  nothing to do (the metric is at or above the threshold), or rolled back\n"
          "     (with --dry-run: would roll back)\n"
          "  1  could not heal: no older version passes the threshold, the registry has no\n"
          "     usable version, or the switch failed\n"
          "  2  usage error, unreadable config file, or a registry folder that cannot be\n"
          "     opened (below the threshold)\n",
          out);
}

/* The threshold: the flag, else the brief's config, else 0.70. */
static int resolve_threshold(struct rollback_flags *f)
{
    static const struct brief_number threshold = {"model_validation.min_accuracy_threshold",
                                                  DEFAULT_THRESHOLD, 0, 1, false,
                                                  "be from 0 to 1"};
    if (f->has_threshold ||
        brief_config_load_number(CMD, f->config, &threshold, &f->threshold) == 0)
        return 0;
    return CLI_EXIT_USAGE;
}

/* The flags, then what the config file adds: 0, CLI_PARSE_HELP, or an exit status. */
static int parse_flags(int argc, char **argv, struct rollback_flags *f)
{
    *f = (struct rollback_flags){.registry = DEFAULT_REGISTRY, .metric = "accuracy"};
    const struct cli_flag flags[] = {
        {.name = "current-metric", .kind = CLI_DOUBLE, .dest = &f->current, .min = -HUGE_VAL,
         .max = HUGE_VAL, .given = &f->has_current, .must = "be a number"},
        {.name = "threshold", .kind = CLI_DOUBLE, .dest = &f->threshold, .min = 0, .max = 1,
         .given = &f->has_threshold, .must = "be a number from 0 to 1"},
        {.name = "registry", .kind = CLI_STRING, .dest = &f->registry},
        {.name = "log", .kind = CLI_STRING, .dest = &f->log},
        {.name = "metric", .kind = CLI_STRING, .dest = &f->metric, .opts = CLI_NONEMPTY},
        {.name = "config", .kind = CLI_STRING, .dest = &f->config},
        {.name = "dry-run", .kind = CLI_BOOL, .dest = &f->dry_run},
    };
    const struct cli_command cmd = {.name = CMD, .flags = flags, .nflags = CLI_NFLAGS(flags),
                                    .help = rollback_help};
    int r = cli_parse(&cmd, argc, argv);
    if (r != 0)
        return r;
    if (!f->has_current)
        return cli_usage_error(CMD, "--current-metric is required");
    return resolve_threshold(f);
}

static int do_rollback(const struct rollback_flags *f, const struct model_observation *obs,
                       const struct model_decision *d)
{
    char *err = NULL;
    if (registry_activate(f->registry, d->target, &err) != 0) {
        fprintf(stderr, "selfheal %s: %s %.3f < threshold %.3f, but the switch to %s failed: %s\n",
                CMD, f->metric, f->current, f->threshold, d->target, err ? err : "unknown error");
        free(err);
        return CLI_EXIT_FAIL;
    }
    char path[4096];
    if (f->log)
        snprintf(path, sizeof path, "%s", f->log);
    else
        snprintf(path, sizeof path, "%s/%s", f->registry, ROLLBACK_LOG_NAME);
    char reason[200];
    snprintf(reason, sizeof reason, "%s %.3f < %.3f", f->metric, f->current, f->threshold);
    struct rollback_record rec = {.time_ms = clock_now_ms(NULL),
                                  .trigger = "cli",
                                  .metric_name = f->metric,
                                  .current_metric = f->current,
                                  .threshold = f->threshold,
                                  .from_version = obs->current,
                                  .to_version = d->target,
                                  .to_metric = d->target_metric,
                                  .reason = reason};
    printf("%s %.3f < threshold %.3f: rolled back %s → %s (recorded %s %.3f).\n", f->metric,
           f->current, f->threshold, obs->current, d->target, f->metric, d->target_metric);
    if (rollback_log_append(path, &rec, &err) != 0) {
        fprintf(stderr, "selfheal %s: rolled back, but the rollback log could not be written: %s\n",
                CMD, err ? err : path);
        free(err);
        return CLI_EXIT_FAIL;
    }
    printf("Logged to %s.\n", path);
    return CLI_EXIT_OK;
}

int cmd_rollback(int argc, char **argv)
{
    struct rollback_flags f;
    int r = parse_flags(argc, argv, &f);
    if (r != 0)
        return r < 0 ? CLI_EXIT_OK : r;

    struct model_observation obs;
    memset(&obs, 0, sizeof obs);
    obs.metric_ok = true;
    obs.metric = f.current;
    if (f.current >= f.threshold) {
        /* nothing to do: the registry is not even needed */
        char cur[MODEL_VERSION_MAX] = "";
        registry_current(f.registry, cur, sizeof cur, NULL);
        printf("%s %.3f ≥ threshold %.3f: nothing to do%s%s%s.\n", f.metric, f.current, f.threshold,
               cur[0] ? "; the current model " : "", cur, cur[0] ? " stays" : "");
        return CLI_EXIT_OK;
    }

    r = cli_check_input(CMD, f.registry, true);
    if (r != 0)
        return r;
    struct model_version *versions = NULL;
    size_t n = 0;
    char *err = NULL;
    if (registry_list(f.registry, f.metric, &versions, &n, &err) != 0) {
        fprintf(stderr, "selfheal %s: %s %.3f < threshold %.3f, but %s\n", CMD, f.metric,
                f.current, f.threshold, err ? err : "the registry cannot be read");
        free(err);
        return CLI_EXIT_FAIL;
    }
    int cr = registry_current(f.registry, obs.current, sizeof obs.current, &err);
    if (cr == SH_ENOTFOUND && n > 0) {
        snprintf(obs.current, sizeof obs.current, "%s", versions[n - 1].name);
        printf("%s/current does not exist: taking the newest version, %s, as the current one.\n",
               f.registry, obs.current);
    } else if (cr != 0) {
        fprintf(stderr, "selfheal %s: %s %.3f < threshold %.3f, but %s\n", CMD, f.metric,
                f.current, f.threshold, err ? err : "the registry has no versions");
        free(err);
        free(versions);
        return CLI_EXIT_FAIL;
    }
    free(err);
    err = NULL;
    obs.versions = versions;
    obs.nversions = n;

    struct spec_model sm;
    memset(&sm, 0, sizeof sm);
    sm.present = sm.enabled = true;
    sm.metric.name = (char *)f.metric;
    sm.metric.interval_ms = 1;
    sm.min_accuracy = f.threshold;
    sm.failure_limit = 1;
    sm.rollback.max_rollbacks = 1;
    sm.rollback.window_ms = 1;
    struct model_state prev;
    memset(&prev, 0, sizeof prev);
    struct model_decision *d = malloc(sizeof *d);
    if (!d) {
        free(versions);
        fprintf(stderr, "selfheal %s: out of memory\n", CMD);
        return CLI_EXIT_FAIL;
    }
    model_decide(&sm, &obs, &prev, clock_now_ms(NULL), f.dry_run, false, false, d);
    int rc;
    if (!d->rollback) {
        fprintf(stderr, "selfheal %s: %s\nNothing rolled back.\n", CMD, d->message);
        rc = CLI_EXIT_FAIL;
    } else if (d->planned_only) {
        printf("%s %.3f < threshold %.3f: would roll back %s → %s (recorded %s %.3f); "
               "--dry-run: nothing changed.\n",
               f.metric, f.current, f.threshold, obs.current, d->target, f.metric, d->target_metric);
        rc = CLI_EXIT_OK;
    } else {
        rc = do_rollback(&f, &obs, d);
    }
    free(d);
    free(versions);
    return rc;
}
