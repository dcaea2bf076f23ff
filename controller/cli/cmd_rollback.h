/*
 * cmd_rollback.h — `selfheal rollback --current-metric X --threshold Y`:
 * the brief's rollback_model.py as a one-shot command on a local model
 * registry (controller/local/registry.h), with the model reconciler's rule
 * (model_decide.h) and its rollback log (models/rollback_log.json).
 */
#ifndef SH_CMD_ROLLBACK_H
#define SH_CMD_ROLLBACK_H

int cmd_rollback(int argc, char **argv);

#endif
