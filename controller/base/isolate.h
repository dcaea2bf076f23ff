/*
 * isolate.h — memory-hungry work (a data fix, drift statistics) run in a
 * forked child under a memory budget, so that running out of memory or
 * crashing fails that piece of work with a clear message and never takes
 * the process — the controller and every other pipeline — down with it.
 *
 *   budget    the child's RLIMIT_DATA (private writable memory: heap, anonymous
 *             mappings, thread stacks) is what the parent had at the fork plus
 *             budget_bytes; an allocation beyond it fails (the work returns
 *             SH_ENOMEM). 0: no limit (still isolated).
 *   OOM       the child's oom_score_adj is 1000: when the machine or the
 *             container runs short, the kernel kills the data work first.
 *   result    the work serialises its result into a wire buffer; it comes
 *             back over a pipe. The child ends with _exit (no atexit, no
 *             stdio flush) and must not log (another thread may have held
 *             the log's lock at the fork).
 *
 * isolate_run returns the work's own return code with its message and
 * result, or, when the child did not finish: SH_ENOMEM "out of memory: the
 * data work needs more than the budget of 64 MiB; raise --memory-budget
 * (or spec.resources.memoryBudget)" when it was killed (the OOM killer's
 * SIGKILL) or its allocations failed, SH_EIO "the data work crashed
 * (signal 11, SIGSEGV)" otherwise.
 */
#ifndef SH_ISOLATE_H
#define SH_ISOLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISOLATE_DEFAULT_BUDGET (64ULL << 20)

/* A growing byte buffer; `failed` after an allocation failure (then empty). */
struct wbuf {
    char *data;
    size_t len, cap;
    bool failed;
};

void wbuf_u64(struct wbuf *b, uint64_t v);
void wbuf_f64(struct wbuf *b, double v);
void wbuf_str(struct wbuf *b, const char *s); /* NULL is kept as NULL */
void wbuf_bytes(struct wbuf *b, const void *p, size_t n);
void wbuf_free(struct wbuf *b);

/* Reads what a wbuf wrote, in the same order; `bad` once it ran out. */
struct rbuf {
    const char *p;
    size_t left;
    bool bad;
};

uint64_t rbuf_u64(struct rbuf *r);
double rbuf_f64(struct rbuf *r);
/* A malloc'd copy (NULL for a NULL string; `bad` on ENOMEM too). */
char *rbuf_str(struct rbuf *r);
void rbuf_bytes(struct rbuf *r, void *p, size_t n);

/* The work: fills *out and returns 0 or an error with *ret_err (malloc'd). */
typedef int (*isolate_fn)(void *arg, struct wbuf *out, char **ret_err);

/*
 * Runs fn(arg) in a forked child under budget_bytes (above). On return
 * ret_data and ret_len hold what the work wrote (free it) and ret_err its
 * message or ours (free it). Returns the work's code, SH_ENOMEM / SH_EIO
 * as above, or SH_EIO when no child could be forked.
 */
int isolate_run(uint64_t budget_bytes, isolate_fn fn, void *arg, char **ret_data, size_t *ret_len,
                char **ret_err);

/* "64 MiB", "1.5 GiB" into buf. */
void isolate_format_bytes(uint64_t v, char *buf, size_t size);

/* Parses "64Mi", "64MiB", "512M", "1Gi", "1048576" (bytes); 0 or SH_EINVAL. */
int isolate_parse_bytes(const char *s, uint64_t *ret);

#endif
