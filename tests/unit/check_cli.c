/*
 * check_cli.c — the subcommands' flag parser (controller/cli/cli.h): every
 * kind of flag in its long, `=`, short and clustered forms, unique prefixes,
 * repeated flags, `--` and the argv after it, arguments among the flags,
 * -h/--help, and each usage error with its message (unknown flag with its
 * did-you-mean, missing value, bad number, value given to a switch).
 * Messages go to stderr; each test captures them through a temporary file.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

Suite *cli_suite(void);

struct opts {
    bool verbose, name_given, count_given, exec_given;
    const char *name, *label;
    double ratio, level;
    long count;
    int64_t timeout_ms;
    struct cli_list include;
    char **exec;
    int color;
};

static int helps; /* times the help was printed */

static void test_help(FILE *out)
{
    (void)out;
    helps++;
}

/* red and blue are colours; mauve is refused in its own words. */
static int parse_color(const char *v, void *dest, char **ret_err)
{
    if (strcmp(v, "red") == 0 || strcmp(v, "blue") == 0) {
        *(int *)dest = v[0] == 'r' ? 1 : 2;
        return 0;
    }
    if (strcmp(v, "mauve") == 0)
        *ret_err = strdup("--color: mauve is not a colour");
    return -1;
}

static char err[2048]; /* what the last parse printed on stderr */

/* cli_parse over the NULL-terminated words (argv[0] "t" is added), with the
 * table of every kind; stderr captured into err. */
static int parse_words(struct opts *o, bool with_argv, struct cli_list *args, char **words)
{
    const struct cli_flag flags[] = {
        {.name = "verbose", .short_name = 'v', .kind = CLI_BOOL, .dest = &o->verbose},
        {.name = "name", .short_name = 'n', .kind = CLI_STRING, .dest = &o->name,
         .given = &o->name_given},
        {.name = "label", .kind = CLI_STRING, .dest = &o->label, .opts = CLI_NONEMPTY},
        {.name = "ratio", .kind = CLI_DOUBLE, .dest = &o->ratio, .min = 0, .max = 1,
         .must = "be a number from 0 to 1"},
        {.name = "level", .kind = CLI_DOUBLE, .dest = &o->level, .min = 0, .max = 1e9,
         .opts = CLI_ABOVE_MIN, .must = "be a number above 0"},
        {.name = "count", .short_name = 'c', .kind = CLI_INT, .dest = &o->count, .min = 1,
         .max = 10, .given = &o->count_given}, /* the generic message */
        {.name = "timeout", .kind = CLI_DURATION, .dest = &o->timeout_ms, .max = 1e12,
         .opts = CLI_ABOVE_MIN, .must = "be a duration such as 2s"},
        {.name = "include", .short_name = 'I', .kind = CLI_LIST, .dest = &o->include},
        {.name = "color", .kind = CLI_CUSTOM, .dest = &o->color, .parse = parse_color,
         .must = "be red or blue"},
        {.name = "exec", .kind = CLI_ARGV, .dest = &o->exec, .given = &o->exec_given},
    };
    const struct cli_command cmd = {.name = "t",
                                    .flags = flags,
                                    .nflags = CLI_NFLAGS(flags) - (with_argv ? 0 : 1),
                                    .help = test_help,
                                    .args = args,
                                    .unexpected_hint = " (hint)"};
    static char *argv[32]; /* outlives the call: an argv flag points into it */
    argv[0] = "t";
    int argc = 1;
    while (words[argc - 1])
        argv[argc] = words[argc - 1], argc++;
    argv[argc] = NULL;

    fflush(stderr);
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    int r = cli_parse(&cmd, argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(err, 1, sizeof err - 1, tmp);
    err[n] = '\0';
    fclose(tmp);
    return r;
}

#define PARSE(o, ...) parse_words((o), true, NULL, (char *[]){__VA_ARGS__, NULL})

/* Fails unless the parse was a usage error whose message contains want. */
#define ASSERT_USAGE(r, want)                                                                  \
    do {                                                                                       \
        ck_assert_int_eq((r), CLI_EXIT_USAGE);                                                 \
        ck_assert_msg(strstr(err, (want)) != NULL, "want \"%s\" in \"%s\"", (want), err);      \
        ck_assert_msg(strstr(err, "Try 'selfheal t --help'.") != NULL, "no hint in \"%s\"", err); \
    } while (0)

static void setup(void)
{
    helps = 0;
    err[0] = '\0';
}

static void state_for(const char *specs, const char *want)
{
    char *got = cli_state_dir_for(specs);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(test_the_state_folder_is_derived_from_the_specs_folder_itself)
{
    /* two specs folders with one parent never share a state (issue 22 item 13) */
    state_for("/tmp/a", "/tmp/a/.selfheal");
    state_for("/tmp/b/", "/tmp/b/.selfheal");
    state_for("manifests/local", "manifests/local/.selfheal");
    state_for("specs", "specs/.selfheal");
    state_for(".", "./.selfheal");
    state_for("/", "/.selfheal");
}
END_TEST

START_TEST(test_cli_parse_reads_every_kind_with_a_space_or_an_equals_sign)
{
    struct opts o = {0};
    int r = PARSE(&o, "--verbose", "--name", "n1", "--label=l1", "--ratio", "0.25", "--level=3",
                  "--count", "7", "--timeout=1m30s", "--include", "a", "--include=b", "--color",
                  "blue", "--exec", "prog", "--verbose", "x");
    ck_assert_int_eq(r, 0);
    ck_assert_str_eq(err, "");
    ck_assert(o.verbose && o.name_given && o.count_given && o.exec_given);
    ck_assert_str_eq(o.name, "n1");
    ck_assert_str_eq(o.label, "l1");
    ck_assert_double_eq(o.ratio, 0.25);
    ck_assert_double_eq(o.level, 3);
    ck_assert_int_eq(o.count, 7);
    ck_assert_int_eq(o.timeout_ms, 90000);
    ck_assert_uint_eq(o.include.count, 2);
    ck_assert_str_eq(o.include.items[0], "a");
    ck_assert_str_eq(o.include.items[1], "b");
    ck_assert_ptr_null(o.include.items[2]);
    ck_assert_int_eq(o.color, 2);
    /* everything after --exec is its argv, flags included */
    ck_assert_str_eq(o.exec[0], "prog");
    ck_assert_str_eq(o.exec[1], "--verbose");
    ck_assert_str_eq(o.exec[2], "x");
    ck_assert_ptr_null(o.exec[3]);
    cli_list_free(&o.include);
}
END_TEST

START_TEST(test_cli_parse_leaves_unseen_flags_alone)
{
    struct opts o = {.name = "default", .count = 5};
    ck_assert_int_eq(PARSE(&o, "-v"), 0);
    ck_assert_str_eq(o.name, "default");
    ck_assert_int_eq(o.count, 5);
    ck_assert(!o.name_given && !o.count_given && !o.exec_given);
    ck_assert_ptr_null(o.include.items);
}
END_TEST

START_TEST(test_cli_parse_reads_short_flags_clusters_and_attached_values)
{
    struct opts o = {0};
    ck_assert_int_eq(PARSE(&o, "-vn", "n1", "-c3", "-I", "a", "-Ib"), 0);
    ck_assert(o.verbose);
    ck_assert_str_eq(o.name, "n1");
    ck_assert_int_eq(o.count, 3);
    ck_assert_uint_eq(o.include.count, 2);
    ck_assert_str_eq(o.include.items[1], "b");
    cli_list_free(&o.include);
}
END_TEST

START_TEST(test_cli_parse_takes_the_next_word_as_a_value_whatever_it_looks_like)
{
    struct opts o = {0};
    ck_assert_int_eq(PARSE(&o, "--name", "-x", "--ratio", "-0"), 0);
    ck_assert_str_eq(o.name, "-x");
    ck_assert_double_eq(o.ratio, 0);
    ck_assert_int_eq(PARSE(&o, "--name="), 0);
    ck_assert_str_eq(o.name, "");
}
END_TEST

START_TEST(test_cli_parse_accepts_a_unique_prefix_and_refuses_an_ambiguous_one)
{
    struct opts o = {0};
    ck_assert_int_eq(PARSE(&o, "--verb", "--rat=0.5", "--time", "2s"), 0);
    ck_assert(o.verbose);
    ck_assert_double_eq(o.ratio, 0.5);
    ck_assert_int_eq(o.timeout_ms, 2000);
    ASSERT_USAGE(PARSE(&o, "--co", "3"), "option '--co' is ambiguous");
    ASSERT_USAGE(PARSE(&o, "--l", "3"), "option '--l' is ambiguous");
}
END_TEST

START_TEST(test_cli_parse_names_an_unknown_flag_with_a_hint)
{
    struct opts o = {0};
    ASSERT_USAGE(PARSE(&o, "--verbse"), "unknown option '--verbse' (did you mean --verbose?)");
    ASSERT_USAGE(PARSE(&o, "--colour=red"), "unknown option '--colour' (did you mean --color?)");
    ASSERT_USAGE(PARSE(&o, "--hepl"), "(did you mean --help?)");
    ASSERT_USAGE(PARSE(&o, "--bogus"), "unknown option '--bogus'\n");
    ASSERT_USAGE(PARSE(&o, "-x"), "unknown option '-x'");
    ASSERT_USAGE(PARSE(&o, "-vx"), "unknown option '-x'");
}
END_TEST

START_TEST(test_cli_parse_reports_a_missing_value)
{
    struct opts o = {0};
    ASSERT_USAGE(PARSE(&o, "--name"), "option '--name' needs a value");
    ASSERT_USAGE(PARSE(&o, "-v", "-n"), "option '-n' needs a value");
    ASSERT_USAGE(PARSE(&o, "--include"), "option '--include' needs a value");
}
END_TEST

START_TEST(test_cli_parse_refuses_a_value_for_a_switch)
{
    struct opts o = {0};
    ASSERT_USAGE(PARSE(&o, "--verbose=yes"), "option '--verbose' takes no value");
    ASSERT_USAGE(PARSE(&o, "--exec=prog"), "option '--exec' takes no value");
}
END_TEST

START_TEST(test_cli_parse_refuses_a_bad_number_in_the_flags_own_words)
{
    struct opts o = {0};
    ASSERT_USAGE(PARSE(&o, "--ratio", "1.5"), "t: --ratio must be a number from 0 to 1, got '1.5'");
    ASSERT_USAGE(PARSE(&o, "--ratio", "nan"), "--ratio must be a number from 0 to 1, got 'nan'");
    ASSERT_USAGE(PARSE(&o, "--ratio", "0.5x"), "got '0.5x'");
    ASSERT_USAGE(PARSE(&o, "--ratio", ""), "got ''");
    ASSERT_USAGE(PARSE(&o, "--level", "0"), "--level must be a number above 0, got '0'");
    ASSERT_USAGE(PARSE(&o, "--count", "0"), "--count must be a whole number from 1 to 10, got '0'");
    ASSERT_USAGE(PARSE(&o, "-c", "3.5"), "-c must be a whole number from 1 to 10, got '3.5'");
    ASSERT_USAGE(PARSE(&o, "--count=99999999999999999999"), "got '99999999999999999999'");
    ASSERT_USAGE(PARSE(&o, "--timeout", "0s"), "--timeout must be a duration such as 2s, got '0s'");
    ASSERT_USAGE(PARSE(&o, "--timeout", "soon"), "got 'soon'");
    ASSERT_USAGE(PARSE(&o, "--label="), "--label must not be empty");
}
END_TEST

START_TEST(test_cli_parse_lets_a_custom_flag_refuse_in_its_words_or_the_tables)
{
    struct opts o = {0};
    ck_assert_int_eq(PARSE(&o, "--color", "red"), 0);
    ck_assert_int_eq(o.color, 1);
    ASSERT_USAGE(PARSE(&o, "--color", "green"), "--color must be red or blue, got 'green'");
    ASSERT_USAGE(PARSE(&o, "--color", "mauve"), "t: --color: mauve is not a colour\n");
}
END_TEST

START_TEST(test_cli_parse_keeps_the_last_of_repeated_flags_and_every_list_value)
{
    struct opts o = {0};
    ck_assert_int_eq(PARSE(&o, "--name", "a", "-I", "x", "--name=b", "--count", "2", "-c", "4",
                           "-I", "y", "-v", "-v"),
                     0);
    ck_assert_str_eq(o.name, "b");
    ck_assert_int_eq(o.count, 4);
    ck_assert(o.verbose);
    ck_assert_uint_eq(o.include.count, 2);
    ck_assert_str_eq(o.include.items[0], "x");
    ck_assert_str_eq(o.include.items[1], "y");
    cli_list_free(&o.include);
    cli_list_free(&o.include); /* twice: a no-op */
    cli_list_free(NULL);
}
END_TEST

START_TEST(test_cli_parse_gives_what_follows_a_double_dash_to_the_argv_flag)
{
    struct opts o = {0};
    ck_assert_int_eq(PARSE(&o, "-v", "--", "prog", "--name", "x"), 0);
    ck_assert(o.exec_given);
    ck_assert_ptr_null(o.name);
    ck_assert_str_eq(o.exec[0], "prog");
    ck_assert_str_eq(o.exec[1], "--name");
    struct opts e = {0};
    ck_assert_int_eq(PARSE(&e, "--"), 0); /* given, but empty */
    ck_assert(e.exec_given);
    ck_assert_ptr_null(e.exec[0]);
}
END_TEST

START_TEST(test_cli_parse_makes_arguments_of_what_follows_a_double_dash_without_an_argv_flag)
{
    struct opts o = {0};
    struct cli_list args = {0};
    char *words[] = {"a", "-v", "b", "--", "-n", "--", NULL};
    ck_assert_int_eq(parse_words(&o, false, &args, words), 0);
    ck_assert(o.verbose);
    ck_assert_ptr_null(o.name);
    ck_assert_uint_eq(args.count, 4);
    ck_assert_str_eq(args.items[0], "a");
    ck_assert_str_eq(args.items[1], "b");
    ck_assert_str_eq(args.items[2], "-n");
    ck_assert_str_eq(args.items[3], "--");
    cli_list_free(&args);
}
END_TEST

START_TEST(test_cli_parse_reports_the_first_unexpected_argument_after_the_flags)
{
    struct opts o = {0};
    ASSERT_USAGE(PARSE(&o, "a", "-v", "b"), "t: unexpected argument 'a' (hint)\n");
    ck_assert(o.verbose); /* the flags were read */
    /* a flag error or --help later on the line wins, as with getopt */
    ASSERT_USAGE(PARSE(&o, "a", "--bogus"), "unknown option '--bogus'");
    ck_assert_int_eq(PARSE(&o, "a", "--help"), CLI_PARSE_HELP);
    /* "-" alone is an argument */
    struct cli_list args = {0};
    char *words[] = {"-", NULL};
    ck_assert_int_eq(parse_words(&o, false, &args, words), 0);
    ck_assert_str_eq(args.items[0], "-");
    cli_list_free(&args);
}
END_TEST

START_TEST(test_cli_parse_prints_the_help_and_stops)
{
    struct opts o = {0};
    ck_assert_int_eq(PARSE(&o, "--help", "--bogus"), CLI_PARSE_HELP);
    ck_assert_int_eq(PARSE(&o, "-h"), CLI_PARSE_HELP);
    ck_assert_int_eq(PARSE(&o, "-vh"), CLI_PARSE_HELP);
    ck_assert_int_eq(PARSE(&o, "--he"), CLI_PARSE_HELP);
    ck_assert_int_eq(helps, 4);
    ck_assert_str_eq(err, "");
    /* an error before it wins; after --exec it belongs to the command */
    ASSERT_USAGE(PARSE(&o, "--count", "0", "--help"), "--count must be");
    ck_assert_int_eq(PARSE(&o, "--exec", "prog", "--help"), 0);
    ck_assert_int_eq(helps, 4);
    ck_assert_int_eq(PARSE(&o, "--help=x"), CLI_EXIT_USAGE);
}
END_TEST

START_TEST(test_cli_edit_distance_counts_edits_and_gives_up_on_long_names)
{
    ck_assert_uint_eq(cli_edit_distance("status", "status"), 0);
    ck_assert_uint_eq(cli_edit_distance("stauts", "status"), 2);
    ck_assert_uint_eq(cli_edit_distance("dryrun", "dry-run"), 1);
    ck_assert_uint_eq(cli_edit_distance("", "abc"), 3);
    char long_name[42];
    memset(long_name, 'a', 41);
    long_name[41] = '\0';
    ck_assert_uint_eq(cli_edit_distance(long_name, "a"), SIZE_MAX);
}
END_TEST

Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_cli_parse_reads_every_kind_with_a_space_or_an_equals_sign);
    tcase_add_test(tc, test_the_state_folder_is_derived_from_the_specs_folder_itself);
    tcase_add_test(tc, test_cli_parse_leaves_unseen_flags_alone);
    tcase_add_test(tc, test_cli_parse_reads_short_flags_clusters_and_attached_values);
    tcase_add_test(tc, test_cli_parse_takes_the_next_word_as_a_value_whatever_it_looks_like);
    tcase_add_test(tc, test_cli_parse_accepts_a_unique_prefix_and_refuses_an_ambiguous_one);
    tcase_add_test(tc, test_cli_parse_names_an_unknown_flag_with_a_hint);
    tcase_add_test(tc, test_cli_parse_reports_a_missing_value);
    tcase_add_test(tc, test_cli_parse_refuses_a_value_for_a_switch);
    tcase_add_test(tc, test_cli_parse_refuses_a_bad_number_in_the_flags_own_words);
    tcase_add_test(tc, test_cli_parse_lets_a_custom_flag_refuse_in_its_words_or_the_tables);
    tcase_add_test(tc, test_cli_parse_keeps_the_last_of_repeated_flags_and_every_list_value);
    tcase_add_test(tc, test_cli_parse_gives_what_follows_a_double_dash_to_the_argv_flag);
    tcase_add_test(tc, test_cli_parse_makes_arguments_of_what_follows_a_double_dash_without_an_argv_flag);
    tcase_add_test(tc, test_cli_parse_reports_the_first_unexpected_argument_after_the_flags);
    tcase_add_test(tc, test_cli_parse_prints_the_help_and_stops);
    tcase_add_test(tc, test_cli_edit_distance_counts_edits_and_gives_up_on_long_names);
    suite_add_tcase(s, tc);
    return s;
}
