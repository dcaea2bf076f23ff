/*
 * commands.h — every subcommand of the selfheal binary, for main.c's table.
 * Each is `int cmd_NAME(int argc, char **argv)` with argv[0] its name.
 */
#ifndef SH_COMMANDS_H
#define SH_COMMANDS_H

#include "cmd_run.h"
#include "cmd_status.h"
#include "cmd_validate.h"
#include "cmd_fix_data.h"

/* Commands that live with their loops, added as they land. */
#define COMMANDS_EXTRA \
    {"fix-data", cmd_fix_data, "fix missing values and outliers in a CSV file (backup, atomic replace)"},

#endif
