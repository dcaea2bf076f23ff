/*
 * commands.h — every subcommand of the selfheal binary, for main.c's table.
 * Each is `int cmd_NAME(int argc, char **argv)` with argv[0] its name.
 */
#ifndef SH_COMMANDS_H
#define SH_COMMANDS_H

#include "cli/cmd_run.h"
#include "cli/cmd_status.h"
#include "cli/cmd_plugin.h"
#include "cli/cmd_validate.h"
#include "cli/cmd_drift.h"
#include "cli/cmd_fix_data.h"
#include "cli/cmd_recover.h"
#include "cli/cmd_retrain.h"
#include "cli/cmd_rollback.h"

/* Commands that live with their loops, added as they land. */
#define COMMANDS_EXTRA \
    {"recover", cmd_recover, "heal a service that is down (auto_recover_service.py)"}, \
    {"rollback", cmd_rollback, "roll a model registry back when the metric is below the threshold"}, \
    {"fix-data", cmd_fix_data, "fix missing values and outliers in a CSV file (backup, atomic replace)"}, \
    {"drift", cmd_drift, "compare current data with the reference: per-feature drift and the score"}, \
    {"retrain", cmd_retrain, "retrain after drift, once per cooldown"},

#endif
