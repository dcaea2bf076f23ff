/* cmd_run.h — `selfheal run`, the controller (cmd_run.c). */
#ifndef SH_CMD_RUN_H
#define SH_CMD_RUN_H

int cmd_run(int argc, char **argv);

#endif
