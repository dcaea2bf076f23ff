/*
 * cmd_plugin.h — the operator's commands, as `kubectl selfheal` (the binary
 * installed as kubectl-selfheal) and as `selfheal` subcommands: status,
 * history, why, pause, resume, reset; on the cluster (the current
 * kubeconfig context) or on the local platform (--specs / --state).
 * Each is `int cmd_NAME(int argc, char **argv)` with argv[0] its name.
 */
#ifndef SH_CMD_PLUGIN_H
#define SH_CMD_PLUGIN_H

#include <stdbool.h>

int cmd_history(int argc, char **argv);
int cmd_why(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_reset(int argc, char **argv);

/* `kubectl selfheal status`: the table, from the cluster by default. */
int cmd_plugin_status(int argc, char **argv);

/*
 * `selfheal status --kubeconfig F / --context C` (cmd_status.c hands the
 * cluster over): the plugin's table of the pipelines in ns (NULL: the
 * context's namespace) or in every namespace (all). Returns an exit code.
 */
int plugin_status_cluster(const char *kubeconfig, const char *context, const char *ns, bool all);

/*
 * The kubectl-selfheal binary (argv[0]'s basename): dispatches argv[1] to
 * the commands above, the cluster being the default platform. Returns the
 * exit code.
 */
int plugin_main(int argc, char **argv);

#endif
