/*
 * cmd_fix_data.h — `selfheal fix-data --data-path FILE`: the brief's
 * auto_fix_data_issues.py as a one-shot command on one CSV file, with the
 * data loop's engine (reconcilers/data/datafix.h): impute missing cells,
 * cap IQR outliers, back up first, replace atomically, print what it fixed
 * per column.
 */
#ifndef SH_CMD_FIX_DATA_H
#define SH_CMD_FIX_DATA_H

int cmd_fix_data(int argc, char **argv);

#endif
