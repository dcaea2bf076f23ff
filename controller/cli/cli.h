/*
 * cli.h — what the subcommands share: the flag parser, usage errors with a
 * hint, the default folders, and the exit codes.
 *
 * Exit codes of every command: 0 success / nothing to do, 1 the command ran
 * and the answer is "no" or it could not heal (documented per command), 2
 * usage error or unreadable input. Commands are `int cmd_NAME(int argc,
 * char **argv)` with argv[0] the command name; they describe their flags in
 * a table of struct cli_flag and parse them with cli_parse().
 *
 * The parser accepts what getopt_long did: `--flag value`, `--flag=value`,
 * a unique prefix of a long name (`--dry` for `--dry-run`), short flags
 * (`-q`, `-n NS`, `-nNS`, clusters `-qh`), flags and arguments in any order,
 * and `--` to end the flags. -h/--help is built in. It adds a hint to an
 * unknown long flag: "unknown option '--dryrun' (did you mean --dry-run?)".
 */
#ifndef SH_CLI_H
#define SH_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* cli_parse(): -h/--help was given and the help printed (the command exits 0). */
#define CLI_PARSE_HELP (-1)

#define CLI_DEFAULT_SPECS_DIR "manifests/local"
#define CLI_DEFAULT_LISTEN "127.0.0.1:8080"

/* What a flag takes, and the type its dest points to. */
enum cli_kind {
    CLI_BOOL,     /* no value; bool *: set to true */
    CLI_STRING,   /* const char **: the value, borrowed from argv */
    CLI_DOUBLE,   /* double *: a whole finite number in [min, max] */
    CLI_INT,      /* long *: a whole decimal integer in [min, max] */
    CLI_DURATION, /* int64_t *: milliseconds ("500ms", "2s", "1h30m") in [min, max] */
    CLI_LIST,     /* struct cli_list *: every value, in order (repeatable) */
    CLI_ARGV,     /* char ***: every argument after it (or after "--"),
                   * NULL-terminated, borrowed from argv; possibly empty */
    CLI_CUSTOM,   /* anything: flag->parse(value, dest, &err) */
};

/* struct cli_flag.opts */
#define CLI_ABOVE_MIN 1u /* the value must be > min, not >= min */
#define CLI_NONEMPTY 2u  /* CLI_STRING: "--NAME must not be empty" */

struct cli_flag {
    const char *name; /* the long name without "--"; NULL only for a CLI_ARGV
                       * reached by "--" alone */
    char short_name;  /* 0: none */
    enum cli_kind kind;
    void *dest;
    /* What a valid value is, for "--NAME must MUST, got 'VALUE'"
     * ("be a whole number from 1 to 64"); NULL: a generic text. */
    const char *must;
    double min, max; /* CLI_DOUBLE, CLI_INT, CLI_DURATION (ms): inclusive bounds */
    unsigned opts;   /* CLI_ABOVE_MIN, CLI_NONEMPTY */
    bool *given;     /* optional: set to true when the flag is seen */
    /* CLI_CUSTOM: stores value in dest; 0, or -1 for the "must" message, or
     * -1 with *ret_err (owned) for a message of its own. */
    int (*parse)(const char *value, void *dest, char **ret_err);
};

/* A repeatable flag's values, borrowed from argv; items owned by the list. */
struct cli_list {
    const char **items;
    size_t count;
};

struct cli_command {
    const char *name; /* for messages: "selfheal NAME: ..." */
    const struct cli_flag *flags;
    size_t nflags;
    void (*help)(FILE *out); /* -h/--help: printed on stdout */
    /* Where the arguments that are not flags go; NULL: the first one is an
     * error, "unexpected argument 'X'" followed by unexpected_hint. */
    struct cli_list *args;
    const char *unexpected_hint; /* e.g. " (put the command after --)"; may be NULL */
};

#define CLI_NFLAGS(table) (sizeof(table) / sizeof((table)[0]))

/*
 * Parses argv[1..argc-1] (argv[0] is the command name) into the dests of
 * cmd->flags, in order: a repeated flag's last value wins (CLI_LIST keeps
 * them all). Returns 0; CLI_PARSE_HELP after printing the help; or
 * CLI_EXIT_USAGE after printing the error (cli_usage_error), or
 * CLI_EXIT_FAIL when out of memory. An argument that is not a flag, where
 * cmd->args is NULL, is reported after the flags are parsed, so a later
 * --help or flag error wins as it did with getopt. Dests of the
 * flags seen before an error may have been written. The caller frees the
 * cli_lists (cli_list_free) whatever the result.
 */
int cli_parse(const struct cli_command *cmd, int argc, char **argv);

/* Frees l->items and empties l. NULL-safe. */
void cli_list_free(struct cli_list *l);

/* Appends s (borrowed) to l. 0, or -1 when out of memory. */
int cli_list_push(struct cli_list *l, const char *s);

/* Prints "selfheal CMD: message" and "Try 'selfheal CMD --help'." on stderr;
 * returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Exit codes, one rule for every command: unreadable input (a file or
 * folder the user named that cannot be opened) is CLI_EXIT_USAGE, like a
 * usage error. cli_check_input() opens path for reading (a folder when
 * want_dir); on failure prints "selfheal CMD: PATH: cannot read: REASON" on
 * stderr and returns CLI_EXIT_USAGE; else 0. */
int cli_check_input(const char *cmd, const char *path, bool want_dir);

/* The Levenshtein distance of a and b, for "did you mean" (a hint is
 * given within 2 edits); SIZE_MAX when either is longer than 40 characters. */
size_t cli_edit_distance(const char *a, const char *b);

/* The state folder for a specs folder: ".selfheal" in the specs folder's
 * parent ("manifests/local" → "manifests/.selfheal"). Owned, or NULL. */
char *cli_state_dir_for(const char *specs_dir);

/* The state folder of kube mode without --state: .selfheal in the working
 * folder (the chart passes --state /var/lib/selfheal). */
#define CLI_DEFAULT_KUBE_STATE_DIR ".selfheal"

/* Parses a whole decimal integer in [min, max]. 0 or -1. */
int cli_parse_int(const char *s, long min, long max, long *ret);

/* Parses a whole finite double. 0 or -1. */
int cli_parse_double(const char *s, double *ret);

/* --memory-budget (CLI_CUSTOM, dest int64_t *): "64Mi", "512M", "1Gi", bytes;
 * "0" means no limit and is stored as -1. The text for .must: */
#define CLI_MEMORY_BUDGET_MUST "be a size like 64Mi, 512M or 1Gi (0: no limit)"
int cli_parse_memory_budget(const char *value, void *dest, char **ret_err);

#endif
