/* version.h — the project's version (the chart's appVersion follows it). */
#ifndef SH_VERSION_H
#define SH_VERSION_H

#define SELFHEAL_VERSION "0.1.0"

/* The git commit is passed to main.c only (-DSELFHEAL_COMMIT=...). */
const char *selfheal_commit(void);

#endif
