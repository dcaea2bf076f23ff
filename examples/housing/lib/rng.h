/*
 * rng.h — the housing demo's deterministic random numbers: a seeded
 * xoshiro256** generator (state from splitmix64), uniform doubles, normal
 * deviates (Box-Muller) and shuffles. The same seed gives the same stream
 * on every platform (integer arithmetic; the doubles use only +, *, log,
 * sqrt, cos, which are exact or correctly rounded in glibc).
 *
 * Header-only (static inline) so the programs and the unit tests share it.
 */
#ifndef HOUSING_RNG_H
#define HOUSING_RNG_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

struct hrng {
    uint64_t s[4];
    double spare; /* Box-Muller's second deviate */
    int has_spare;
};

static inline uint64_t hrng_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline void hrng_seed(struct hrng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = hrng_splitmix64(&x);
    r->spare = 0.0;
    r->has_spare = 0;
}

static inline uint64_t hrng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t hrng_next(struct hrng *r)
{
    uint64_t *s = r->s;
    uint64_t result = hrng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = hrng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static inline double hrng_uniform(struct hrng *r)
{
    return (double)(hrng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n) (n > 0; the bias is below 2^-40 for the sizes used here). */
static inline size_t hrng_below(struct hrng *r, size_t n)
{
    return (size_t)(hrng_uniform(r) * (double)n);
}

/* Standard normal deviate. */
static inline double hrng_normal(struct hrng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1 = hrng_uniform(r);
    double u2 = hrng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    double mag = sqrt(-2.0 * log(u1));
    r->spare = mag * sin(2.0 * M_PI * u2);
    r->has_spare = 1;
    return mag * cos(2.0 * M_PI * u2);
}

/* Normal with mean mu and deviation sd, clipped to [lo, hi]. */
static inline double hrng_normal_clip(struct hrng *r, double mu, double sd, double lo, double hi)
{
    double v = mu + sd * hrng_normal(r);
    return v < lo ? lo : v > hi ? hi : v;
}

/* Fisher-Yates shuffle of n indices. */
static inline void hrng_shuffle(struct hrng *r, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = hrng_below(r, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

#endif
