/* errors.c — strings for the SH_E* codes of errors.h. */
#include "base/errors.h"

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
