/* pathguard.c — confinement of spec paths to the allowed roots (pathguard.h). */
#include "base/pathguard.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"

#define MAX_COMPONENTS 512

struct pathguard {
    char **roots; /* resolved, no trailing slash (except "/") */
    size_t count;
    char *describe; /* "--allow-path A --allow-path B" */
};

int pathguard_new(struct pathguard **ret)
{
    struct pathguard *g = calloc(1, sizeof *g);
    if (!g || !(g->describe = strdup(""))) {
        free(g);
        return SH_ENOMEM;
    }
    *ret = g;
    return 0;
}

void pathguard_free(struct pathguard *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->count; i++)
        free(g->roots[i]);
    free(g->roots);
    free(g->describe);
    free(g);
}

size_t pathguard_count(const struct pathguard *g)
{
    return g ? g->count : 0;
}

const char *pathguard_describe(const struct pathguard *g)
{
    return g && g->describe ? g->describe : "";
}

int pathguard_add_root(struct pathguard *g, const char *dir, char **ret_err)
{
    if (ret_err)
        *ret_err = NULL;
    char *real = dir && *dir ? realpath(dir, NULL) : NULL;
    struct stat st;
    if (!real || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        int e = !dir || !*dir ? EINVAL : real ? ENOTDIR : errno;
        free(real);
        if (ret_err && asprintf(ret_err, "--allow-path %s: %s", dir ? dir : "",
                                !dir || !*dir ? "empty path" : strerror(e)) < 0)
            *ret_err = NULL;
        return SH_EINVAL;
    }
    char **nr = realloc(g->roots, (g->count + 1) * sizeof *nr);
    if (!nr) {
        free(real);
        return SH_ENOMEM;
    }
    g->roots = nr;
    char *desc = NULL;
    if (asprintf(&desc, "%s%s--allow-path %s", g->describe, g->count ? " " : "", real) < 0) {
        free(real);
        return SH_ENOMEM;
    }
    free(g->describe);
    g->describe = desc;
    g->roots[g->count++] = real;
    return 0;
}

/* Splits an absolute path into its components (pointers into buf, which is
 * modified; empty components are skipped). Returns the count, or -1 when
 * there are too many. */
static int split(char *buf, char **comp)
{
    int n = 0;
    char *s = buf;
    while (*s) {
        while (*s == '/')
            *s++ = '\0';
        if (!*s)
            break;
        if (n == MAX_COMPONENTS)
            return -1;
        comp[n++] = s;
        while (*s && *s != '/')
            s++;
    }
    return n;
}

/* Appends "/name" to out (len used of size); -1 when it does not fit. */
static int append(char *out, size_t *len, size_t size, const char *name)
{
    size_t nl = strlen(name);
    size_t base = *len == 1 ? 0 : *len; /* "/" + "x" is "/x", not "//x" */
    if (base + 1 + nl + 1 > size)
        return -1;
    out[base] = '/';
    memcpy(out + base + 1, name, nl + 1);
    *len = base + 1 + nl;
    return 0;
}

/* path made absolute (against the working folder) in abs. 0, SH_ETOOBIG, or
 * SH_EINVAL with *ret_why. */
static int make_absolute(const char *path, char *abs, size_t size, const char **ret_why)
{
    if (path[0] == '/')
        return snprintf(abs, size, "%s", path) >= (int)size ? SH_ETOOBIG : 0;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        *ret_why = "the working folder cannot be found";
        return SH_EINVAL;
    }
    return snprintf(abs, size, "%s/%s", cwd, path) >= (int)size ? SH_ETOOBIG : 0;
}

/*
 * The longest prefix comp[0..*ret_k) that resolves, as *ret_real (owned),
 * checked to be a folder when components remain after it. 0, SH_ETOOBIG, or
 * SH_EINVAL with *ret_why (a link to nowhere, a file used as a folder, a
 * lookup error).
 */
static int resolve_prefix(char *const *comp, int n, int *ret_k, char **ret_real,
                          const char **ret_why)
{
    char prefix[PATH_MAX * 2];
    char *real = NULL;
    int k = n;
    for (; k >= 0; k--) {
        size_t len = 1;
        prefix[0] = '/';
        prefix[1] = '\0';
        for (int i = 0; i < k; i++)
            if (append(prefix, &len, sizeof prefix, comp[i]) != 0)
                return SH_ETOOBIG;
        real = realpath(prefix, NULL);
        if (real)
            break;
        if (errno != ENOENT && errno != ENOTDIR) {
            *ret_why = errno == ELOOP ? "too many levels of symbolic links" : "cannot be looked up";
            return SH_EINVAL;
        }
        struct stat lst;
        if (lstat(prefix, &lst) == 0) {
            /* it is there but does not resolve: a link to nowhere (or a file
             * used as a folder); following it could land anywhere */
            *ret_why = S_ISLNK(lst.st_mode) ? "is or goes through a dangling symbolic link"
                                            : "goes through something that is not a folder";
            return SH_EINVAL;
        }
    }
    if (!real) {
        *ret_why = "cannot be looked up";
        return SH_EINVAL;
    }
    struct stat st;
    if (k < n && (stat(real, &st) != 0 || !S_ISDIR(st.st_mode))) {
        free(real);
        *ret_why = "goes through something that is not a folder";
        return SH_EINVAL;
    }
    *ret_k = k;
    *ret_real = real;
    return 0;
}

/* Appends the components that do not exist (no links in them) to resolved
 * (len used of size), applying `.` and `..` lexically; *ret_up when a `..`
 * was met. 0 or SH_ETOOBIG. */
static int append_missing(char *resolved, size_t len, size_t size, char *const *comp, int n,
                          bool *ret_up)
{
    *ret_up = false;
    for (int i = 0; i < n; i++) {
        if (strcmp(comp[i], ".") == 0)
            continue;
        if (strcmp(comp[i], "..") == 0) {
            *ret_up = true;
            char *slash = strrchr(resolved, '/');
            if (slash == resolved)
                resolved[len = 1] = '\0';
            else if (slash) {
                *slash = '\0';
                len = (size_t)(slash - resolved);
            }
            continue;
        }
        if (append(resolved, &len, size, comp[i]) != 0)
            return SH_ETOOBIG;
    }
    return 0;
}

int pathguard_resolve(const char *path, char *resolved, size_t size, const char **ret_why)
{
    const char *why = NULL;
    if (!ret_why)
        ret_why = &why;
    *ret_why = NULL;
    if (!path || !*path) {
        *ret_why = "empty path";
        return SH_EINVAL;
    }
    char abs[PATH_MAX * 2];
    int r = make_absolute(path, abs, sizeof abs, ret_why);
    if (r != 0)
        return r;
    char *comp[MAX_COMPONENTS];
    int n = split(abs, comp);
    if (n < 0)
        return SH_ETOOBIG;
    int k = 0;
    char *real = NULL;
    if ((r = resolve_prefix(comp, n, &k, &real, ret_why)) != 0)
        return r;
    size_t len = strlen(real);
    if (len + 1 > size) {
        free(real);
        return SH_ETOOBIG;
    }
    memcpy(resolved, real, len + 1);
    free(real);
    bool up = false;
    if ((r = append_missing(resolved, len, size, comp + k, n - k, &up)) != 0)
        return r;
    if (up) {
        /* `..` may have climbed back onto names that exist (a link, once the
         * missing folder before it is created): resolve the result again; it
         * has no `..` left, so this recurses once at most */
        char again[sizeof abs];
        snprintf(again, sizeof again, "%s", resolved);
        return pathguard_resolve(again, resolved, size, ret_why);
    }
    return 0;
}

static bool under(const char *root, const char *path)
{
    if (strcmp(root, "/") == 0)
        return true;
    size_t rl = strlen(root);
    return strncmp(root, path, rl) == 0 && (path[rl] == '\0' || path[rl] == '/');
}

int pathguard_check(const struct pathguard *g, const char *path, char **ret_err)
{
    if (ret_err)
        *ret_err = NULL;
    if (!g || g->count == 0)
        return 0;
    char resolved[PATH_MAX * 2];
    const char *why = NULL;
    int r = pathguard_resolve(path, resolved, sizeof resolved, &why);
    if (r != 0) {
        if (ret_err && asprintf(ret_err, "%s cannot be resolved (%s), so it is not allowed (%s)",
                                path ? path : "", why ? why : sh_strerror(r), g->describe) < 0)
            *ret_err = NULL;
        return SH_EINVAL;
    }
    for (size_t i = 0; i < g->count; i++)
        if (under(g->roots[i], resolved))
            return 0;
    if (ret_err) {
        int w = strcmp(path, resolved) == 0
                    ? asprintf(ret_err, "%s is outside the allowed paths (%s)", path, g->describe)
                    : asprintf(ret_err, "%s resolves to %s, outside the allowed paths (%s)", path,
                               resolved, g->describe);
        if (w < 0)
            *ret_err = NULL;
    }
    return SH_EFORBIDDEN;
}
