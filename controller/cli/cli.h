/*
 * cli.h — what the subcommands share: usage errors with a hint, the default
 * folders, and the exit codes.
 *
 * Exit codes of every command: 0 success / nothing to do, 1 the command ran
 * and the answer is "no" or it could not heal (documented per command), 2
 * usage error or unreadable input. Commands are `int cmd_NAME(int argc,
 * char **argv)` with argv[0] the command name; they parse their own flags
 * with getopt_long (reset by cli_getopt_reset()).
 */
#ifndef SH_CLI_H
#define SH_CLI_H

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

#define CLI_DEFAULT_SPECS_DIR "manifests/local"
#define CLI_DEFAULT_LISTEN "127.0.0.1:8080"

/* Prints "selfheal CMD: message" and "Try 'selfheal CMD --help'." on stderr;
 * returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports the option getopt_long rejected (optopt / argv[optind-1]) as a
 * usage error. */
int cli_bad_option(const char *cmd, int argc, char **argv);

/* Resets getopt for a new argument vector and silences its own messages. */
void cli_getopt_reset(void);

/* The state folder for a specs folder: ".selfheal" in the specs folder's
 * parent ("manifests/local" → "manifests/.selfheal"). Owned, or NULL. */
char *cli_state_dir_for(const char *specs_dir);

/* Parses a whole decimal integer in [min, max]. 0 or -1. */
int cli_parse_int(const char *s, long min, long max, long *ret);

/* Parses a whole finite double. 0 or -1. */
int cli_parse_double(const char *s, double *ret);

#endif
