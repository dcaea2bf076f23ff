/* errors.c — strings for the SH_E* codes of errors.h. */
#include "base/errors.h"

#include <stdarg.h>
#include <stdio.h>

const char *sh_strerror(int err)
{
    switch (err) {
    case SH_OK:
        return "success";
#define SH_ERR_STR_(name, msg) \
    case SH_E##name:           \
        return msg;
        SH_ERRNO_MAP(SH_ERR_STR_)
#undef SH_ERR_STR_
    default:
        return "unknown error";
    }
}

int sh_errf(char **ret_err, int code, const char *fmt, ...)
{
    if (!ret_err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(ret_err, fmt, ap) < 0)
        *ret_err = NULL;
    va_end(ap);
    return code;
}
