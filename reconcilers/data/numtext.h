/*
 * numtext.h — number text ⇄ double for the CSV engine: a strict decimal
 * grammar with an exact fast path (Clinger: up to 19 significant digits,
 * |exponent| ≤ 22, mantissa ≤ 2^53) and strtod for the rest; and the
 * shortest text that reads back to the same double.
 *
 * Grammar (the whole text, no spaces): [+-]? (D+ [. D*] | . D+) ([eE] [+-]? D+)?
 * Hex, inf and nan are not numbers here; values that overflow are not either.
 * Stateless; any thread.
 */
#ifndef SH_NUMTEXT_H
#define SH_NUMTEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Parses s[0..len) completely as a finite number. Returns true and *out, or false. */
bool num_parse(const char *s, size_t len, double *out);

/* The same, faster for short plain decimals ([-]D+[.D*], at most 8 characters
 * after the sign, read eight bytes at a time): s[len..len+8) must be readable
 * (a buffer with padding). */
bool num_parse_padded(const char *s, size_t len, double *out);

/* Where the number s[0..len) lies against [lo, hi], told from its text
 * when that is enough (its sign and integer digits), as parse-then-compare
 * would tell for x, the double num_parse reads: NUM_BELOW (x < lo),
 * NUM_ABOVE (x > hi, and not x < lo), NUM_INSIDE (lo <= x <= hi), or
 * NUM_UNSURE: too close to a bound, a text the fast reading does not take
 * (more than 8 integer or fraction digits, '+', exponent, ...) or NaN
 * bounds: parse it. Any text that is not a number is NUM_UNSURE.
 * s[len..len+8) must be readable (a buffer with padding). */
enum num_side { NUM_INSIDE, NUM_BELOW, NUM_ABOVE, NUM_UNSURE };
enum num_side num_side_padded(const char *s, size_t len, double lo, double hi);

/* Writes the shortest of %.15g, %.16g, %.17g of finite v that reads back to v
 * (no trailing zeros, "-0" for negative zero) into buf; returns its length.
 * size must be at least 32. */
size_t num_format(double v, char *buf, size_t size);

#endif
