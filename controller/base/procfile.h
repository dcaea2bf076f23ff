/*
 * procfile.h — "<file>.pid" files that name a process by its pid and its
 * start time ("PID STARTTIME\n", the start time in clock ticks after boot
 * from /proc/PID/stat). Pids are reused, pid + start time are not: a
 * controller restarted after SIGKILL can tell whether the process an earlier
 * one started (a supervised service, a retrain) still runs.
 *
 * The file is written by the child itself between fork and exec, so a
 * controller killed at any moment after fork still leaves it; the parent
 * prepares the paths before fork (the child may only make async-signal-safe
 * calls) and removes the file once it has reaped the process.
 */
#ifndef SH_PROCFILE_H
#define SH_PROCFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct procfile {
    char path[4096];      /* "<base>.pid" */
    char tmp[4096 + 16];  /* a hidden temporary beside it */
};

/* Fills pf for "<base>.pid". false when base is empty or too long. */
bool procfile_prepare(struct procfile *pf, const char *base);

/* In the child, before exec: writes "PID STARTTIME\n" (temporary + rename).
 * Async-signal-safe; failures are ignored (nothing to find later then). */
void procfile_child_write(const struct procfile *pf);

/* Reads the file at path. 0 with *ret_pid, *ret_start; SH_ENOTFOUND when
 * there is none; SH_EPARSE when it does not hold "PID STARTTIME". */
int procfile_read(const char *path, pid_t *ret_pid, unsigned long long *ret_start);

/* The start time of a live, non-zombie pid; 0 when it is gone or a zombie. */
unsigned long long proc_start_time(pid_t pid);

/* true when pid (that very process: same start time) still runs. */
bool proc_alive(pid_t pid, unsigned long long start);

/* Stops the process group of pid if that very process still runs: SIGTERM,
 * then SIGKILL after grace_ms. Waits (real time) until it is gone, at most
 * grace_ms + 2 s. true when it was running. */
bool proc_stop_group(pid_t pid, unsigned long long start, int64_t grace_ms);

#endif
