/*
 * version.c — the git commit the binary was built from (SELFHEAL_COMMIT is
 * set by the Makefile for this file only, so a new commit rebuilds one file).
 */
#include "base/version.h"

#ifndef SELFHEAL_COMMIT
#define SELFHEAL_COMMIT "unknown"
#endif

const char *selfheal_commit(void)
{
    return SELFHEAL_COMMIT;
}
