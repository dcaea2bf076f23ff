/*
 * cmd_retrain.h — `selfheal retrain --drift-detected --drift-score 0.85
 * [--threshold 0.5] [--cooldown 24h] [-- ARGV...]`: the brief's
 * auto_retrain_on_drift.py as a one-shot command. Honours the cooldown
 * recorded in .github/triggers/retraining_log.json (the same file the drift
 * reconciler writes, reconcilers/drift/retrain_log.h), reads the brief's
 * config for its defaults, runs ARGV (fork/execvp, no shell) when given.
 */
#ifndef SH_CMD_RETRAIN_H
#define SH_CMD_RETRAIN_H

int cmd_retrain(int argc, char **argv);

#endif
