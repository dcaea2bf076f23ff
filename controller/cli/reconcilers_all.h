/*
 * reconcilers_all.h — builds the controller's reconcilers, in priority order
 * (service recovery > model rollback > data fix > retraining), with the
 * actuators of the platform they run on.
 *
 * Loops that watch the world asynchronously (the prober, the process
 * supervisor, running retrain jobs) call the notify function set here with a
 * pipeline key when something changed, so the manager queues it.
 */
#ifndef SH_RECONCILERS_ALL_H
#define SH_RECONCILERS_ALL_H

#include <stddef.h>

#include "base/metrics.h"
#include "runtime/platform.h"
#include "runtime/reconciler.h"

struct reconcilers_all;

/* Creates every reconciler for platform pf; `state_dir` holds their files
 * (process logs); `memory_budget` bounds the data work of the data and drift
 * loops (bytes; 0: the default 64 MiB; < 0: no limit). Returns 0 and *ret,
 * or an SH_E* code with *ret_err. */
int reconcilers_all_new(struct platform *pf, const char *state_dir, int64_t memory_budget,
                        struct reconcilers_all **ret, char **ret_err);

/* The reconcilers, in priority order (borrowed array). */
const struct reconciler *reconcilers_all_list(const struct reconcilers_all *ra);
size_t reconcilers_all_count(const struct reconcilers_all *ra);

/* Sets where asynchronous observations send the keys to look at again. */
void reconcilers_all_set_notify(struct reconcilers_all *ra, void (*notify)(void *ctx, const char *key),
                                void *ctx);

/* Registers the loops' metrics on reg (before the manager starts; free the
 * reconcilers before the registry). 0 or an SH_E* code. */
int reconcilers_all_register_metrics(struct reconcilers_all *ra, struct metrics *reg);

void reconcilers_all_free(struct reconcilers_all *ra);

#endif
