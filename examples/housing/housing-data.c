/*
 * housing-data.c — the demo's data source: writes a deterministic
 * housing-price CSV with the columns of the California housing set, a real
 * (linear-ish) relation of median_house_value to income, location, age and
 * ocean_proximity plus noise, and optional faults to heal: blank cells,
 * extreme values, a distribution shift.
 *
 *   housing-data [--rows N] [--seed S] [--missing FRAC] [--outliers FRAC]
 *                [--shift X] [--out FILE]
 *
 * The clean values of a seed do not depend on the fault options: --missing
 * and --outliers only blank or replace cells of the same rows.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomicfile.h"
#include "lib/model.h"
#include "lib/rng.h"

struct opts {
    unsigned long long rows;
    uint64_t seed;
    double missing, outliers, shift;
    const char *out;
};

/* A growing output buffer. */
struct obuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void ob_printf(struct obuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ob_printf(struct obuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n + 1;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

static void usage(FILE *f)
{
    fputs("usage: housing-data [--rows N] [--seed S] [--missing FRAC] [--outliers FRAC]\n"
          "                    [--shift X] [--out FILE]\n"
          "\n"
          "Writes a deterministic housing-price CSV (the California housing columns:\n"
          "longitude, latitude, housing_median_age, total_rooms, total_bedrooms,\n"
          "population, households, median_income, ocean_proximity, median_house_value).\n"
          "\n"
          "  --rows N        data rows (default 2000)\n"
          "  --seed S        random seed (default 1); same seed and options, same bytes\n"
          "  --missing FRAC  blank this share of the numeric feature cells (0..0.9)\n"
          "  --outliers FRAC replace this share of the positive numeric feature cells\n"
          "                  (age, rooms, bedrooms, population, households, income)\n"
          "                  with extreme values, 25-50 times the real one (0..0.9)\n"
          "  --shift X       distribution shift of strength X (0 = none, 1 = strong):\n"
          "                  incomes x(1+0.6X), locations moved north-east, older and\n"
          "                  larger blocks, more INLAND rows\n"
          "  --out FILE      write FILE atomically (temp + rename); default stdout\n"
          "  -h, --help      this text\n",
          f);
}

static int parse_double(const char *name, const char *s, double lo, double hi, double *ret)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= lo && v <= hi)) {
        fprintf(stderr, "housing-data: %s: expected a number in [%g, %g], got '%s'\n", name, lo, hi, s);
        return -1;
    }
    *ret = v;
    return 0;
}

static int parse_u64(const char *name, const char *s, unsigned long long lo, unsigned long long hi,
                     unsigned long long *ret)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || s[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "housing-data: %s: expected an integer in [%llu, %llu], got '%s'\n", name, lo, hi, s);
        return -1;
    }
    *ret = v;
    return 0;
}

/* Returns 0 to go on, 1 to exit 0 (help), -1 to exit 2. */
static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        {"rows", required_argument, NULL, 'r'},     {"seed", required_argument, NULL, 's'},
        {"missing", required_argument, NULL, 'm'},  {"outliers", required_argument, NULL, 'o'},
        {"shift", required_argument, NULL, 'x'},    {"out", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    *o = (struct opts){.rows = 2000, .seed = 1, .out = NULL};
    int c;
    unsigned long long seed;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (parse_u64("--rows", optarg, 1, 10000000, &o->rows) < 0)
                return -1;
            break;
        case 's':
            if (parse_u64("--seed", optarg, 0, UINT64_MAX, &seed) < 0)
                return -1;
            o->seed = seed;
            break;
        case 'm':
            if (parse_double("--missing", optarg, 0.0, 0.9, &o->missing) < 0)
                return -1;
            break;
        case 'o':
            if (parse_double("--outliers", optarg, 0.0, 0.9, &o->outliers) < 0)
                return -1;
            break;
        case 'x':
            if (parse_double("--shift", optarg, 0.0, 10.0, &o->shift) < 0)
                return -1;
            break;
        case 'O':
            o->out = strcmp(optarg, "-") == 0 ? NULL : optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            fprintf(stderr, "housing-data: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "housing-data: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* One block group's values: the 8 numeric features, the category, the target. */
struct row {
    double f[HOUSING_NNUM];
    int cat;
    double value;
};

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void gen_row(struct hrng *r, double shift, struct row *out)
{
    /* ocean_proximity: the real set's shares; a shift moves people inland */
    double w[HOUSING_NCAT] = {0.44, 0.32, 0.13, 0.107, 0.003};
    w[1] *= 1.0 + 1.5 * shift;
    double total = 0.0;
    for (int k = 0; k < HOUSING_NCAT; k++)
        total += w[k];
    double u = hrng_uniform(r) * total;
    int cat = 0;
    while (cat < HOUSING_NCAT - 1 && u >= w[cat])
        u -= w[cat++];
    double pick = hrng_uniform(r), lon, lat;
    switch (cat) {
    case 0: /* <1H OCEAN: Los Angeles basin or the South Bay */
        if (pick < 0.7) {
            lon = -118.2 + 0.5 * hrng_normal(r);
            lat = 34.0 + 0.35 * hrng_normal(r);
        } else {
            lon = -121.9 + 0.4 * hrng_normal(r);
            lat = 37.4 + 0.3 * hrng_normal(r);
        }
        break;
    case 1: /* INLAND: the Central Valley and the desert */
        lon = -119.8 + 1.3 * hrng_normal(r);
        lat = 36.8 + 1.3 * hrng_normal(r);
        break;
    case 2: /* NEAR OCEAN: the coast */
        lon = -119.8 + 1.8 * hrng_normal(r);
        lat = 35.5 + 1.6 * hrng_normal(r);
        break;
    case 3: /* NEAR BAY */
        lon = -122.25 + 0.15 * hrng_normal(r);
        lat = 37.8 + 0.15 * hrng_normal(r);
        break;
    default: /* ISLAND: Catalina */
        lon = -118.4 + 0.05 * hrng_normal(r);
        lat = 33.35 + 0.03 * hrng_normal(r);
        break;
    }
    lon = clampd(lon + 0.9 * shift, -124.35, -114.31);
    lat = clampd(lat + 0.9 * shift, 32.54, 41.95);
    double age = round(hrng_normal_clip(r, 29.0 + 9.0 * shift, 12.0, 1.0, 52.0));
    double scale = 1.0 + 0.5 * shift;
    double households = round(hrng_normal_clip(r, 480.0 * scale, 170.0 * scale, 40.0, 1100.0 * scale));
    double rooms_per = hrng_normal_clip(r, 5.3, 0.8, 3.0, 7.6);
    /* the products are capped well inside the data check's Q3 + 3·IQR fence: clean data has no outliers */
    double rooms = round(fmin(households * rooms_per, 6000.0 * scale));
    double bedrooms = round(fmin(rooms * hrng_normal_clip(r, 0.21, 0.022, 0.15, 0.27), 1250.0 * scale));
    double population = round(fmin(households * hrng_normal_clip(r, 2.9, 0.45, 1.7, 4.1), 3300.0 * scale));
    static const double income_by_cat[HOUSING_NCAT] = {0.3, -0.6, 0.2, 0.5, 0.0};
    double income = hrng_normal_clip(r, 3.9 + income_by_cat[cat], 1.45, 0.5, 8.5) * (1.0 + 0.6 * shift);
    income = round(income * 10000.0) / 10000.0;

    /* the price: income, place, age, crowding, plus noise */
    static const double premium[HOUSING_NCAT] = {45000.0, -25000.0, 55000.0, 60000.0, 170000.0};
    double value = 25000.0 + 38000.0 * income + premium[cat] + 900.0 * age - 9000.0 * (lat - 35.5) -
                   7000.0 * (lon + 119.5) + 8000.0 * (rooms_per - 5.3) -
                   22000.0 * (population / households - 2.9) + 38000.0 * hrng_normal(r);
    value = round(clampd(value, 14999.0, 500001.0));

    out->f[0] = lon;
    out->f[1] = lat;
    out->f[2] = age;
    out->f[3] = rooms;
    out->f[4] = bedrooms;
    out->f[5] = population;
    out->f[6] = households;
    out->f[7] = income;
    out->cat = cat;
    out->value = value;
}

static void put_number(struct obuf *b, int col, double v)
{
    if (col <= 1)
        ob_printf(b, "%.2f", v);
    else if (col == 7)
        ob_printf(b, "%.4f", v);
    else
        ob_printf(b, "%.1f", v);
}

int main(int argc, char **argv)
{
    struct opts o;
    int prc = parse_args(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;

    struct hrng data, faults;
    hrng_seed(&data, o.seed);
    hrng_seed(&faults, o.seed ^ 0x5eedfa17c0ffee00ULL);

    struct obuf b = {0};
    b.cap = 1 << 16;
    b.p = malloc(b.cap);
    if (!b.p) {
        fputs("housing-data: out of memory\n", stderr);
        return 1;
    }
    for (int j = 0; j < HOUSING_NNUM; j++)
        ob_printf(&b, "%s,", HOUSING_NUMERIC[j]);
    ob_printf(&b, "%s,%s\n", HOUSING_CATEGORICAL, HOUSING_TARGET);

    unsigned long long nmissing = 0, noutliers = 0;
    for (unsigned long long i = 0; i < o.rows; i++) {
        struct row r;
        gen_row(&data, o.shift, &r);
        for (int j = 0; j < HOUSING_NNUM; j++) {
            /* both draws every cell, so one fault's cells do not depend on the other's fraction */
            double um = hrng_uniform(&faults), uo = hrng_uniform(&faults), factor = 25.0 + 25.0 * hrng_uniform(&faults);
            if (um < o.missing) {
                nmissing++;
                ob_printf(&b, ",");
                continue;
            }
            double v = r.f[j];
            if (j >= 2 && uo < o.outliers) {
                noutliers++;
                v = j == 7 ? round(v * factor * 10000.0) / 10000.0 : round(v * factor);
            }
            put_number(&b, j, v);
            ob_printf(&b, ",");
        }
        ob_printf(&b, "%s,%.1f\n", HOUSING_CATEGORIES[r.cat], r.value);
    }
    if (b.oom) {
        fputs("housing-data: out of memory\n", stderr);
        free(b.p);
        return 1;
    }
    int rc = 0;
    if (o.out) {
        if (atomic_file_write(o.out, b.p, b.len) < 0) {
            fprintf(stderr, "housing-data: cannot write %s: %s\n", o.out, strerror(errno));
            rc = 1;
        } else {
            fprintf(stderr, "housing-data: wrote %s: %llu rows, seed %" PRIu64 ", %llu missing cells, %llu outliers%s\n",
                    o.out, o.rows, o.seed, nmissing, noutliers, o.shift > 0 ? ", shifted" : "");
        }
    } else if (fwrite(b.p, 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
        fprintf(stderr, "housing-data: cannot write to stdout: %s\n", strerror(errno));
        rc = 1;
    }
    free(b.p);
    return rc;
}
