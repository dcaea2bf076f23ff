/*
 * cmd_recover.h — `selfheal recover --method process|command --service-url
 * URL`: the brief's auto_recover_service.py as a one-shot command. Probes
 * the service; when it is unhealthy, recovers it with the service loop's rule
 * (service_decide.h: failureThreshold, at most maxAttempts spaced
 * backoff·2^n, a grace after each) and the same actions (a supervised start
 * of --command, or running it), and writes the same recovery audit log
 * (monitoring/recovery_log.json).
 */
#ifndef SH_CMD_RECOVER_H
#define SH_CMD_RECOVER_H

int cmd_recover(int argc, char **argv);

#endif
