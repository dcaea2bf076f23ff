/*
 * main.c — the selfheal binary: dispatches to the subcommands. Only wiring
 * lives here; each command is in its own cmd_*.c.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "base/version.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
    {"run", cmd_run, "run the controller on a specs folder (the embedded default)"},
    {"status", cmd_status, "show the pipelines: phase, readiness, model, accuracy, drift"},
    {"get", cmd_get, "print one pipeline's spec and status (-o yaml|json)"},
    {"validate", cmd_validate, "check pipeline files without running anything"},
    {"history", cmd_history, "a pipeline's ledger of actions, newest first (local or cluster)"},
    {"why", cmd_why, "why a pipeline is in its phase and what happens next, and when"},
    {"pause", cmd_pause, "stop a pipeline's actions (spec.paused: true); it still reports"},
    {"resume", cmd_resume, "let a paused pipeline act again (spec.paused: false)"},
    {"reset", cmd_reset, "clear NeedsAttention and the attempt counters (selfheal.dev/reset)"},
    COMMANDS_EXTRA
    {"version", cmd_version, "print the version"},
    {"help", cmd_help, "help on a command: selfheal help COMMAND"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fputs("selfheal keeps machine-learning services healthy on their own: it reconciles\n"
          "SelfHealingPipeline specs by recovering services, rolling back models,\n"
          "retraining after drift and fixing input data.\n"
          "\n"
          "Usage: selfheal COMMAND [FLAGS]\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "Run 'selfheal COMMAND --help' for the flags of a command.\n"
          "Global flags: -h/--help, --version.\n",
          out);
}

static const struct command *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("selfheal %s (commit %s)\n", SELFHEAL_VERSION, selfheal_commit());
    return CLI_EXIT_OK;
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    const struct command *c = find(argv[1]);
    if (!c)
        return cli_usage_error("help", "unknown command '%s'", argv[1]);
    char *args[] = {(char *)c->name, "--help", NULL};
    return c->run(2, args);
}

/* The nearest command name, for "did you mean". */
static const char *suggest(const char *name)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        size_t d = cli_edit_distance(name, commands[i].name);
        if (d < best_d) {
            best_d = d;
            best = commands[i].name;
        }
    }
    return best;
}

int main(int argc, char **argv)
{
    const char *base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
    base = base ? base + 1 : argc > 0 && argv[0] ? argv[0] : "";
    if (strcmp(base, "kubectl-selfheal") == 0)
        return plugin_main(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0)
        return cmd_version(0, NULL);
    const struct command *c = find(name);
    if (!c) {
        const char *s = suggest(name);
        fprintf(stderr, "selfheal: unknown command '%s'%s%s%s\nRun 'selfheal --help' for the list of commands.\n",
                name, s ? " (did you mean " : "", s ? s : "", s ? "?)" : "");
        return CLI_EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
