/*
 * clock.h — the injectable clock.
 *
 * Every read of "now" in the controller goes through a struct sh_clock, so
 * tests can drive a fake clock (a 24 h cooldown is tested in microseconds).
 * Time is wall-clock milliseconds since the Unix epoch (cooldowns persist
 * across restarts, so they must be wall time). Read it once per unit of work
 * and pass the value down.
 *
 * Thread-safety: both clocks may be read from any thread; the fake clock is
 * advanced with atomics.
 */
#ifndef SH_CLOCK_H
#define SH_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

struct sh_clock {
    int64_t (*now_ms)(const struct sh_clock *c);
};

/* The process-wide real clock (CLOCK_REALTIME). Borrowed, never freed. */
const struct sh_clock *clock_real(void);

/* Reads the given clock (NULL means the real clock). */
int64_t clock_now_ms(const struct sh_clock *c);

/* Monotonic milliseconds for measuring elapsed time (not injectable). */
int64_t clock_monotonic_ms(void);

/* A fake clock for tests: starts at `start_ms`, moves only when told. */
struct fake_clock {
    struct sh_clock base;
    _Atomic int64_t now;
};

void fake_clock_init(struct fake_clock *fc, int64_t start_ms);
void fake_clock_set(struct fake_clock *fc, int64_t now_ms);
void fake_clock_advance(struct fake_clock *fc, int64_t delta_ms);

/* Formats `ms` as RFC 3339 UTC with second precision ("2026-11-28T18:00:00Z")
 * into buf (at least 21 bytes). Returns buf. */
char *clock_format_rfc3339(int64_t ms, char *buf, unsigned long size);

/* The same with milliseconds ("2026-11-28T18:00:00.250Z"), at least 25 bytes. */
char *clock_format_rfc3339_ms(int64_t ms, char *buf, unsigned long size);

/* Parses an RFC 3339 time ("2026-11-28T18:00:00Z", fractional seconds and
 * numeric offsets accepted). Returns 0 and sets *ret_ms, or SH_EPARSE. */
int clock_parse_rfc3339(const char *s, int64_t *ret_ms);

#endif
