/* cmd_status.h — `selfheal status` and `selfheal get` (cmd_status.c). */
#ifndef SH_CMD_STATUS_H
#define SH_CMD_STATUS_H

int cmd_status(int argc, char **argv);
int cmd_get(int argc, char **argv);

#endif
