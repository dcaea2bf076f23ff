/*
 * pathguard.h — is this path inside the allowed roots (`--allow-path DIR`)?
 *
 * A guard holds a list of root folders, each resolved once with realpath(3)
 * when added. A path is checked by resolving it the way the kernel will when
 * the controller opens it: relative paths against the working folder, `..`
 * and every symbolic link followed. A file that does not exist yet (a data
 * file about to be written) is resolved through its nearest existing parent,
 * the rest applied lexically (components that do not exist cannot be links).
 * A dangling symbolic link is refused: what it would create is unknown until
 * it is followed. The path is inside when the resolved form equals a root or
 * lies below one ("/srv/data" holds "/srv/data/x", not "/srv/data2").
 *
 * A guard with no roots allows everything (the unconfined default). A guard
 * is immutable once set up, so any thread may check paths against it.
 */
#ifndef SH_PATHGUARD_H
#define SH_PATHGUARD_H

#include <stdbool.h>
#include <stddef.h>

struct pathguard;

/* A guard with no roots. Returns 0 and *ret, or SH_ENOMEM. */
int pathguard_new(struct pathguard **ret);

/* NULL is a no-op. */
void pathguard_free(struct pathguard *g);

/*
 * Adds a root folder. It must exist and be a folder; it is stored resolved.
 * Returns 0, SH_EINVAL with *ret_err (owned: "--allow-path /x: No such file
 * or directory"), or SH_ENOMEM.
 */
int pathguard_add_root(struct pathguard *g, const char *dir, char **ret_err);

/* How many roots; 0 means unconfined. NULL counts as 0. */
size_t pathguard_count(const struct pathguard *g);

/* The roots as flags for messages: "--allow-path /srv/data --allow-path /x".
 * Owned by g; "" when unconfined. */
const char *pathguard_describe(const struct pathguard *g);

/*
 * Resolves `path` as described above into resolved[size] (absolute, no `.`,
 * `..` or links). Returns 0, SH_EINVAL (empty path, a dangling link, or a
 * component that cannot be looked up: *ret_why says which, a static phrase),
 * or SH_TOOBIG (longer than size).
 */
int pathguard_resolve(const char *path, char *resolved, size_t size, const char **ret_why);

/*
 * Checks one path. Returns 0 when it is inside a root (always, with no
 * roots), SH_FORBIDDEN when it is outside, SH_EINVAL when it cannot be
 * resolved. On failure *ret_err (owned, may be NULL) explains, naming the
 * path, what it resolved to and the roots:
 * "/srv/data/../../etc/passwd resolves to /etc/passwd, outside the allowed
 * paths (--allow-path /srv/data)".
 */
int pathguard_check(const struct pathguard *g, const char *path, char **ret_err);

#endif
