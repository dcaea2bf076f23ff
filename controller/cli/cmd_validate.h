/*
 * cmd_validate.h — `selfheal validate -f FILE|DIR...`: checks pipeline specs
 * without running anything (a CI gate for spec changes).
 */
#ifndef SH_CMD_VALIDATE_H
#define SH_CMD_VALIDATE_H

int cmd_validate(int argc, char **argv);

#endif
