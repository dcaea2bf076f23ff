/* clock.c — the real and the fake clock of clock.h, and RFC 3339 helpers. */
#include "base/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/errors.h"

static int64_t real_now_ms(const struct sh_clock *c)
{
    (void)c;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_mono_ms(const struct sh_clock *c)
{
    (void)c;
    return clock_monotonic_ms();
}

static const struct sh_clock real_clock = {.now_ms = real_now_ms, .mono_ms = real_mono_ms};

const struct sh_clock *clock_real(void)
{
    return &real_clock;
}

int64_t clock_now_ms(const struct sh_clock *c)
{
    if (!c)
        c = &real_clock;
    return c->now_ms(c);
}

int64_t clock_mono_ms(const struct sh_clock *c)
{
    if (!c)
        c = &real_clock;
    return c->mono_ms ? c->mono_ms(c) : c->now_ms(c);
}

int64_t clock_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t fake_now_ms(const struct sh_clock *c)
{
    const struct fake_clock *fc = (const struct fake_clock *)c;
    return atomic_load(&((struct fake_clock *)fc)->now);
}

static int64_t fake_mono_ms(const struct sh_clock *c)
{
    const struct fake_clock *fc = (const struct fake_clock *)c;
    return atomic_load(&((struct fake_clock *)fc)->mono);
}

void fake_clock_init(struct fake_clock *fc, int64_t start_ms)
{
    fc->base.now_ms = fake_now_ms;
    fc->base.mono_ms = fake_mono_ms;
    atomic_store(&fc->now, start_ms);
    atomic_store(&fc->mono, start_ms);
}

void fake_clock_set(struct fake_clock *fc, int64_t now_ms)
{
    int64_t delta = now_ms - atomic_exchange(&fc->now, now_ms);
    atomic_fetch_add(&fc->mono, delta);
}

void fake_clock_advance(struct fake_clock *fc, int64_t delta_ms)
{
    atomic_fetch_add(&fc->now, delta_ms);
    atomic_fetch_add(&fc->mono, delta_ms);
}

void fake_clock_step_wall(struct fake_clock *fc, int64_t delta_ms)
{
    atomic_fetch_add(&fc->now, delta_ms);
}

char *clock_format_rfc3339(int64_t ms, char *buf, unsigned long size)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

char *clock_format_rfc3339_ms(int64_t ms, char *buf, unsigned long size)
{
    char secs[32];
    clock_format_rfc3339(ms, secs, sizeof secs);
    int64_t frac = ms % 1000;
    if (frac < 0)
        frac += 1000;
    snprintf(buf, size, "%.19s.%03dZ", secs, (int)frac);
    return buf;
}

int clock_parse_rfc3339(const char *s, int64_t *ret_ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return SH_EPARSE;
    int64_t frac_ms = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0)
            return SH_EPARSE;
        for (; digits < 3; digits++)
            frac_ms *= 10;
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return SH_EPARSE;
        offset_s = sign * (hh * 3600 + mm * 60);
        p += 6;
    } else {
        return SH_EPARSE;
    }
    if (*p != '\0')
        return SH_EPARSE;
    time_t secs = timegm(&tm);
    *ret_ms = ((int64_t)secs - offset_s) * 1000 + frac_ms;
    return 0;
}
