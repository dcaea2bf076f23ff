/*
 * cli.c — shared helpers of the subcommands (cli.h): the one flag parser
 * every command describes its flags to, usage errors, "did you mean", the
 * state folder of a specs folder, whole-number parsing.
 *
 * The parser walks argv once, left to right; nothing is allocated but the
 * items of a struct cli_list. Values are borrowed from argv.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/isolate.h"
#include "runtime/spec.h"

#define HINT_MAX_EDITS 2

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

int cli_check_input(const char *cmd, const char *path, bool want_dir)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | (want_dir ? O_DIRECTORY : 0));
    struct stat st;
    const char *why = NULL;
    if (fd < 0)
        why = strerror(errno);
    else if (fstat(fd, &st) != 0)
        why = strerror(errno);
    else if (!want_dir && S_ISDIR(st.st_mode))
        why = "it is a folder, not a file";
    if (fd >= 0)
        close(fd);
    if (!why)
        return 0;
    fprintf(stderr, "selfheal %s: %s: cannot read: %s\n", cmd, path, why);
    return CLI_EXIT_USAGE;
}

size_t cli_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return SIZE_MAX;
    size_t d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + (a[i - 1] != b[j - 1]) < v)
                v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            d[i][j] = v;
        }
    return d[la][lb];
}

void cli_list_free(struct cli_list *l)
{
    if (!l)
        return;
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

int cli_list_push(struct cli_list *l, const char *s)
{
    const char **n = realloc(l->items, (l->count + 2) * sizeof *n);
    if (!n)
        return -1;
    l->items = n;
    l->items[l->count++] = s;
    l->items[l->count] = NULL;
    return 0;
}

/* ---- the parser ---- */

/* The built-in -h/--help, looked up like any flag. */
static const struct cli_flag help_flag = {.name = "help", .short_name = 'h', .kind = CLI_BOOL};

struct parser {
    const struct cli_command *cmd;
    int argc;
    char **argv;
    int i;                  /* the argument being read */
    const char *unexpected; /* the first argument that is not a flag, when none are taken */
    bool done;              /* a CLI_ARGV took the rest */
};

static bool takes_value(const struct cli_flag *fl)
{
    return fl->kind != CLI_BOOL && fl->kind != CLI_ARGV;
}

/* "--NAME must MUST, got 'VALUE'", with a generic MUST when the table has none. */
static int bad_value(const struct parser *p, const char *shown, const struct cli_flag *fl,
                     const char *value)
{
    char must[96];
    if (fl->must)
        snprintf(must, sizeof must, "%s", fl->must);
    else if (fl->kind == CLI_INT)
        snprintf(must, sizeof must, "be a whole number from %.0f to %.0f", fl->min, fl->max);
    else if (fl->kind == CLI_DOUBLE)
        snprintf(must, sizeof must, "be a number from %g to %g", fl->min, fl->max);
    else if (fl->kind == CLI_DURATION)
        snprintf(must, sizeof must, "be a duration such as 500ms, 2s or 1m");
    else
        snprintf(must, sizeof must, "be valid");
    return cli_usage_error(p->cmd->name, "%s must %s, got '%s'", shown, must, value);
}

static bool in_range(const struct cli_flag *fl, double v)
{
    bool above = (fl->opts & CLI_ABOVE_MIN) ? v > fl->min : v >= fl->min;
    return above && v <= fl->max;
}

/* Stores one value of fl (shown as the user named it, for messages). */
static int store(struct parser *p, const struct cli_flag *fl, const char *shown, const char *value)
{
    double d;
    long l;
    int64_t ms;
    char *err = NULL;
    switch (fl->kind) {
    case CLI_BOOL:
        *(bool *)fl->dest = true;
        break;
    case CLI_STRING:
        if ((fl->opts & CLI_NONEMPTY) && !*value)
            return cli_usage_error(p->cmd->name, "%s must not be empty", shown);
        *(const char **)fl->dest = value;
        break;
    case CLI_DOUBLE:
        if (cli_parse_double(value, &d) != 0 || !in_range(fl, d))
            return bad_value(p, shown, fl, value);
        *(double *)fl->dest = d;
        break;
    case CLI_INT:
        if (cli_parse_int(value, LONG_MIN, LONG_MAX, &l) != 0 || !in_range(fl, (double)l))
            return bad_value(p, shown, fl, value);
        *(long *)fl->dest = l;
        break;
    case CLI_DURATION:
        if (spec_parse_duration(value, &ms) != 0 || !in_range(fl, (double)ms))
            return bad_value(p, shown, fl, value);
        *(int64_t *)fl->dest = ms;
        break;
    case CLI_LIST:
        if (cli_list_push(fl->dest, value) != 0) {
            fprintf(stderr, "selfheal %s: out of memory\n", p->cmd->name);
            return CLI_EXIT_FAIL;
        }
        break;
    case CLI_ARGV:
        *(char ***)fl->dest = p->argv + p->i + 1;
        p->done = true;
        break;
    case CLI_CUSTOM:
        if (fl->parse(value, fl->dest, &err) != 0) {
            if (!err)
                return bad_value(p, shown, fl, value);
            int rc = cli_usage_error(p->cmd->name, "%s", err);
            free(err);
            return rc;
        }
        break;
    }
    if (fl->given)
        *fl->given = true;
    return 0;
}

/* The flag named exactly, else the only one name starts with. */
static int find_long(const struct parser *p, const char *name, size_t len,
                     const struct cli_flag **ret)
{
    const struct cli_flag *prefix = NULL;
    int nprefix = 0;
    for (size_t k = 0; k <= p->cmd->nflags; k++) {
        const struct cli_flag *fl = k < p->cmd->nflags ? &p->cmd->flags[k] : &help_flag;
        if (!fl->name || strncmp(fl->name, name, len) != 0)
            continue;
        if (fl->name[len] == '\0') {
            *ret = fl;
            return 0;
        }
        if (nprefix++ == 0)
            prefix = fl;
    }
    *ret = prefix;
    return nprefix == 1 ? 0 : nprefix == 0 ? -1 : -2;
}

static int unknown_long(const struct parser *p, const char *arg, size_t len)
{
    const char *best = NULL;
    size_t best_d = HINT_MAX_EDITS + 1;
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), arg + 2);
    for (size_t k = 0; k <= p->cmd->nflags; k++) {
        const struct cli_flag *fl = k < p->cmd->nflags ? &p->cmd->flags[k] : &help_flag;
        size_t d = fl->name ? cli_edit_distance(name, fl->name) : SIZE_MAX;
        if (d < best_d) {
            best_d = d;
            best = fl->name;
        }
    }
    /* words other tools use for one of our flags (kubectl-like -o is --output) */
    static const char *const aliases[][2] = {{"format", "output"}, {"ns", "namespace"},
                                             {"file", "filename"}};
    for (size_t a = 0; a < sizeof aliases / sizeof aliases[0]; a++) {
        size_t d = cli_edit_distance(name, aliases[a][0]);
        if (d >= best_d)
            continue;
        for (size_t k = 0; k < p->cmd->nflags; k++)
            if (p->cmd->flags[k].name && strcmp(p->cmd->flags[k].name, aliases[a][1]) == 0) {
                best_d = d;
                best = p->cmd->flags[k].name;
            }
    }
    if (best)
        return cli_usage_error(p->cmd->name, "unknown option '%.*s' (did you mean --%s?)",
                               (int)len + 2, arg, best);
    return cli_usage_error(p->cmd->name, "unknown option '%.*s'", (int)len + 2, arg);
}

/* The value of a flag that takes one: inline (after '=' or in a short
 * cluster) or the next argument, whatever it looks like. */
static int value_of(struct parser *p, const char *shown, const char *inline_value,
                    const char **ret)
{
    if (inline_value) {
        *ret = inline_value;
        return 0;
    }
    if (p->i + 1 >= p->argc)
        return cli_usage_error(p->cmd->name, "option '%s' needs a value", shown);
    *ret = p->argv[++p->i];
    return 0;
}

static int apply(struct parser *p, const struct cli_flag *fl, const char *shown,
                 const char *inline_value)
{
    if (fl == &help_flag) {
        if (p->cmd->help)
            p->cmd->help(stdout);
        return CLI_PARSE_HELP;
    }
    const char *value = NULL;
    if (takes_value(fl)) {
        int r = value_of(p, shown, inline_value, &value);
        if (r != 0)
            return r;
    }
    return store(p, fl, shown, value);
}

static int parse_long(struct parser *p, const char *arg)
{
    const char *eq = strchr(arg + 2, '=');
    size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    const struct cli_flag *fl;
    int r = find_long(p, arg + 2, len, &fl);
    if (r == -1)
        return unknown_long(p, arg, len);
    if (r == -2)
        return cli_usage_error(p->cmd->name, "option '%.*s' is ambiguous (--%s, ...)",
                               (int)len + 2, arg, fl->name);
    char shown[72];
    snprintf(shown, sizeof shown, "--%s", fl->name);
    if (eq && !takes_value(fl))
        return cli_usage_error(p->cmd->name, "option '%s' takes no value", shown);
    return apply(p, fl, shown, eq ? eq + 1 : NULL);
}

/* -q, -n NS, -nNS, -qh. */
static int parse_short(struct parser *p, const char *arg)
{
    for (const char *c = arg + 1; *c; c++) {
        const struct cli_flag *fl = *c == 'h' ? &help_flag : NULL;
        for (size_t k = 0; !fl && k < p->cmd->nflags; k++)
            if (p->cmd->flags[k].short_name == *c)
                fl = &p->cmd->flags[k];
        if (!fl)
            return cli_usage_error(p->cmd->name, "unknown option '-%c'", *c);
        char shown[3] = {'-', *c, '\0'};
        bool rest = takes_value(fl) && c[1];
        int r = apply(p, fl, shown, rest ? c + 1 : NULL);
        if (r != 0 || rest || p->done)
            return r;
    }
    return 0;
}

static int argument(struct parser *p, const char *arg)
{
    if (!p->cmd->args) {
        if (!p->unexpected)
            p->unexpected = arg;
        return 0;
    }
    if (cli_list_push(p->cmd->args, arg) != 0) {
        fprintf(stderr, "selfheal %s: out of memory\n", p->cmd->name);
        return CLI_EXIT_FAIL;
    }
    return 0;
}

/* "--" alone: the rest goes to the CLI_ARGV flag, else it is arguments. */
static int end_of_flags(struct parser *p)
{
    for (size_t k = 0; k < p->cmd->nflags; k++)
        if (p->cmd->flags[k].kind == CLI_ARGV)
            return store(p, &p->cmd->flags[k], "--", NULL);
    p->done = true;
    int r = 0;
    for (int i = p->i + 1; r == 0 && i < p->argc; i++)
        r = argument(p, p->argv[i]);
    return r;
}

int cli_parse(const struct cli_command *cmd, int argc, char **argv)
{
    struct parser p = {.cmd = cmd, .argc = argc, .argv = argv};
    int r = 0;
    for (p.i = 1; p.i < argc && r == 0 && !p.done; p.i++) {
        const char *arg = argv[p.i];
        if (strcmp(arg, "--") == 0)
            r = end_of_flags(&p);
        else if (arg[0] == '-' && arg[1] == '-')
            r = parse_long(&p, arg);
        else if (arg[0] == '-' && arg[1])
            r = parse_short(&p, arg);
        else
            r = argument(&p, arg);
    }
    if (r == 0 && p.unexpected)
        return cli_usage_error(cmd->name, "unexpected argument '%s'%s", p.unexpected,
                               cmd->unexpected_hint ? cmd->unexpected_hint : "");
    return r;
}

char *cli_state_dir_for(const char *specs_dir)
{
    /* DIR/.selfheal: derived from the specs folder itself, so two specs
     * folders never share a state (not even two with the same parent) */
    size_t len = strlen(specs_dir);
    while (len > 1 && specs_dir[len - 1] == '/')
        len--;
    char *out = NULL;
    if (asprintf(&out, "%.*s%s.selfheal", (int)len, specs_dir,
                 len == 1 && specs_dir[0] == '/' ? "" : "/") < 0)
        return NULL;
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

int cli_parse_memory_budget(const char *value, void *dest, char **ret_err)
{
    (void)ret_err;
    uint64_t v;
    if (isolate_parse_bytes(value, &v) != 0 || v > (uint64_t)INT64_MAX)
        return -1;
    *(int64_t *)dest = v == 0 ? -1 : (int64_t)v;
    return 0;
}
