/* cli.c — shared helpers of the subcommands (cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "selfheal %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'selfheal %s --help'.\n", cmd);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

int cli_bad_option(const char *cmd, int argc, char **argv)
{
    const char *arg = (optind - 1 < argc && optind > 0) ? argv[optind - 1] : "?";
    if (optopt && strchr(arg, '=') == NULL && arg[0] == '-' && arg[1] != '-') {
        /* a short option: unknown, or missing its value */
        return cli_usage_error(cmd, "option -%c is unknown or needs a value", optopt);
    }
    return cli_usage_error(cmd, "option '%s' is unknown or needs a value", arg);
}

void cli_getopt_reset(void)
{
    optind = 0; /* glibc: 0 re-initialises the scanner */
    opterr = 0;
    optopt = 0;
}

char *cli_state_dir_for(const char *specs_dir)
{
    char buf[PATH_MAX];
    size_t len = strlen(specs_dir);
    while (len > 1 && specs_dir[len - 1] == '/')
        len--;
    if (len >= sizeof buf)
        return NULL;
    memcpy(buf, specs_dir, len);
    buf[len] = '\0';
    char *slash = strrchr(buf, '/');
    char *out = NULL;
    if (!slash) {
        out = strdup(".selfheal");
    } else if (slash == buf) {
        out = strdup("/.selfheal");
    } else {
        *slash = '\0';
        if (asprintf(&out, "%s/.selfheal", buf) < 0)
            out = NULL;
    }
    return out;
}

int cli_parse_int(const char *s, long min, long max, long *ret)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *ret = v;
    return 0;
}

int cli_parse_double(const char *s, double *ret)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return -1;
    *ret = v;
    return 0;
}
