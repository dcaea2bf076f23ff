/*
 * state_flush.h — the group commit of status files: status writes rename
 * their file into place at once (atomic_file_write_deferred) and this
 * thread flushes their folders, one fsync for all the renames of a tick
 * (every 50 ms, when any are pending), and once more when stopped.
 */
#ifndef SH_LOCAL_STATE_FLUSH_H
#define SH_LOCAL_STATE_FLUSH_H

struct state_flush;

/* Starts the flusher, ticking every interval_ms. Returns 0 and *ret, or an SH_ error. */
int state_flush_start(int interval_ms, struct state_flush **ret);

/* Stops it and flushes what is pending. NULL ok. */
void state_flush_stop(struct state_flush *sf);

#endif
