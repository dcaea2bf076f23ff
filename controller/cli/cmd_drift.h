/*
 * cmd_drift.h — `selfheal drift --reference R --current C [--method M]
 * [--feature-threshold X] [--threshold T] [--min-samples N] [-o table|json]`:
 * the drift engine (reconcilers/drift/drift_engine.h) as a one-shot
 * command: per-feature statistics and the score. Exit 0 no drift (or
 * Unknown), 1 drift, 2 usage error or unreadable input.
 */
#ifndef SH_CMD_DRIFT_H
#define SH_CMD_DRIFT_H

int cmd_drift(int argc, char **argv);

#endif
