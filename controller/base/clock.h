/*
 * clock.h — the injectable clock.
 *
 * Every read of "now" in the controller goes through a struct sh_clock, so
 * tests can drive a fake clock (a 24 h cooldown is tested in microseconds).
 * A clock has two faces:
 *   - now_ms: wall time, milliseconds since the Unix epoch — for timestamps
 *     people see and status stores (cooldowns and backoffs that must survive
 *     a restart are persisted as wall times);
 *   - mono_ms: a monotonic clock — for every deadline and duration measured
 *     within the process (work-queue due times and backoff, lease expiry and
 *     the leader check, retraining timeouts). An NTP step of the wall clock,
 *     back or forward, never moves these.
 * Read it once per unit of work and pass the value down.
 *
 * Thread-safety: both clocks may be read from any thread; the fake clock is
 * advanced with atomics.
 */
#ifndef SH_CLOCK_H
#define SH_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

struct sh_clock {
    int64_t (*now_ms)(const struct sh_clock *c);  /* wall */
    int64_t (*mono_ms)(const struct sh_clock *c); /* monotonic; NULL: now_ms */
};

/* The process-wide real clock (CLOCK_REALTIME and CLOCK_MONOTONIC). Borrowed,
 * never freed. */
const struct sh_clock *clock_real(void);

/* Reads the given clock's wall time (NULL means the real clock). */
int64_t clock_now_ms(const struct sh_clock *c);

/* Reads the given clock's monotonic time (NULL means the real clock): only
 * differences of it mean anything. */
int64_t clock_mono_ms(const struct sh_clock *c);

/* Monotonic milliseconds for measuring elapsed time (not injectable). */
int64_t clock_monotonic_ms(void);

/* A fake clock for tests: starts at `start_ms` (wall and monotonic alike),
 * moves only when told. set and advance let time pass (both faces move);
 * step_wall moves only the wall clock, as an NTP step does. */
struct fake_clock {
    struct sh_clock base;
    _Atomic int64_t now;
    _Atomic int64_t mono;
};

void fake_clock_init(struct fake_clock *fc, int64_t start_ms);
void fake_clock_set(struct fake_clock *fc, int64_t now_ms);
void fake_clock_advance(struct fake_clock *fc, int64_t delta_ms);
void fake_clock_step_wall(struct fake_clock *fc, int64_t delta_ms);

/* Formats `ms` as RFC 3339 UTC with second precision ("2026-11-28T18:00:00Z")
 * into buf (at least 21 bytes). Returns buf. */
char *clock_format_rfc3339(int64_t ms, char *buf, unsigned long size);

/* The same with milliseconds ("2026-11-28T18:00:00.250Z"), at least 25 bytes. */
char *clock_format_rfc3339_ms(int64_t ms, char *buf, unsigned long size);

/* Parses an RFC 3339 time ("2026-11-28T18:00:00Z", fractional seconds and
 * numeric offsets accepted). Returns 0 and sets *ret_ms, or SH_EPARSE. */
int clock_parse_rfc3339(const char *s, int64_t *ret_ms);

#endif
