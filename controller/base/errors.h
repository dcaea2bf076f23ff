/*
 * errors.h — the project's one error enum.
 *
 * Functions that can fail return 0 on success or an SH_E* code (all negative);
 * sh_strerror() turns a code into a short phrase. Messages for users (with a
 * file, line or field path) are built by the caller that knows the context.
 */
#ifndef SH_ERRORS_H
#define SH_ERRORS_H

#define SH_ERRNO_MAP(X)                                        \
    X(NOMEM, "out of memory")                                  \
    X(INVAL, "invalid argument")                               \
    X(IO, "input/output error")                                \
    X(PARSE, "parse error")                                    \
    X(NOTFOUND, "not found")                                   \
    X(EXISTS, "already exists")                                \
    X(TIMEOUT, "timed out")                                    \
    X(CONFLICT, "conflict")                                    \
    X(UNAVAIL, "unavailable")                                  \
    X(TOOBIG, "too large")                                     \
    X(STOPPED, "stopped")                                      \
    X(REFUSED, "refused")                                      \
    X(PROTO, "protocol error")                                 \
    X(FORBIDDEN, "forbidden")

enum sh_error {
    SH_OK = 0,
#define SH_ERR_ENUM_(name, msg) SH_E##name,
    SH__EFIRST = -100,
    SH_ERRNO_MAP(SH_ERR_ENUM_)
#undef SH_ERR_ENUM_
    SH__ELAST
};

/* Returns a static string for an SH_E* code (or "success" for 0). */
const char *sh_strerror(int err);

/* Sets *ret_err (when ret_err is not NULL) to a newly allocated message
 * formatted from fmt (NULL when out of memory) and returns `code`: the
 * one way a function reports "code, with this message" to its caller. */
int sh_errf(char **ret_err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
