/*
 * housing-train.c — the demo's training job: fits ordinary least squares on
 * the housing CSV (numeric features plus one-hot ocean_proximity), measures
 * R² on a held-out split and adds a new version to a model registry folder:
 *
 *   <models>/<version>/model.json     the model (lib/model.h)
 *   <models>/<version>/metrics.json   {"accuracy": R², "r2", "rmse", "rows", "trained_at", ...}
 *
 * The version is assembled in a hidden temp folder and renamed into place,
 * so a half-written version never appears. It does not touch `current`
 * unless --activate is given (the controller decides which version serves).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/atomicfile.h"
#include "base/errors.h"
#include "base/fsutil.h"
#include "lib/csv.h"
#include "lib/model.h"
#include "lib/rng.h"

#define MAX_DATA_BYTES (1024UL * 1024UL * 1024UL)
#define MIN_ROWS 20

struct opts {
    const char *data, *models, *version;
    double test_fraction, ridge;
    unsigned long long seed;
    int activate;
};

static void usage(FILE *f)
{
    fputs("usage: housing-train --data CSV --models DIR [--version NAME] [--test-fraction 0.2]\n"
          "                     [--seed S] [--ridge 1e-6] [--activate]\n"
          "\n"
          "Fits ordinary least squares (standardised numeric features plus one-hot\n"
          "ocean_proximity, solved by Cholesky with a small ridge) on the rows of CSV\n"
          "without missing cells, scores R² on a held-out split and writes a new\n"
          "registry version DIR/<version>/ with model.json and metrics.json\n"
          "(\"accuracy\" is the held-out R²). Prints \"<version> r2=... rmse=... ...\".\n"
          "\n"
          "  --data CSV           training data (the housing-data columns, any order)\n"
          "  --models DIR         the registry folder (created when missing)\n"
          "  --version NAME       the new version's name (default: v<N+1> after the\n"
          "                       highest existing vN)\n"
          "  --test-fraction F    share of rows held out for scoring (default 0.2)\n"
          "  --seed S             seed of the split (default 42)\n"
          "  --ridge L            ridge penalty on standardised features (default 1e-6)\n"
          "  --activate           also point DIR/current at the new version (atomically)\n"
          "  -h, --help           this text\n"
          "\n"
          "Exit status: 0 trained, 1 unreadable or unusable data / cannot write, 2 usage.\n",
          f);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},    {"models", required_argument, NULL, 'm'},
        {"version", required_argument, NULL, 'v'}, {"test-fraction", required_argument, NULL, 't'},
        {"seed", required_argument, NULL, 's'},    {"ridge", required_argument, NULL, 'r'},
        {"activate", no_argument, NULL, 'a'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct opts){.test_fraction = 0.2, .ridge = 1e-6, .seed = 42};
    int c;
    char *end;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        errno = 0;
        switch (c) {
        case 'd':
            o->data = optarg;
            break;
        case 'm':
            o->models = optarg;
            break;
        case 'v':
            o->version = optarg;
            break;
        case 't':
            o->test_fraction = strtod(optarg, &end);
            if (end == optarg || *end || errno || !(o->test_fraction > 0.0 && o->test_fraction < 1.0)) {
                fprintf(stderr, "housing-train: --test-fraction: expected a number between 0 and 1, got '%s'\n",
                        optarg);
                return -1;
            }
            break;
        case 's':
            o->seed = strtoull(optarg, &end, 10);
            if (end == optarg || *end || errno || optarg[0] == '-') {
                fprintf(stderr, "housing-train: --seed: expected a non-negative integer, got '%s'\n", optarg);
                return -1;
            }
            break;
        case 'r':
            o->ridge = strtod(optarg, &end);
            if (end == optarg || *end || errno || !(o->ridge >= 0.0 && o->ridge <= 1e6)) {
                fprintf(stderr, "housing-train: --ridge: expected a number >= 0, got '%s'\n", optarg);
                return -1;
            }
            break;
        case 'a':
            o->activate = 1;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            fprintf(stderr, "housing-train: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "housing-train: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!o->data || !o->models) {
        fprintf(stderr, "housing-train: --data and --models are required\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/* The usable rows of the data set: x is n × (HOUSING_NNUM + HOUSING_NCAT), y the target. */
struct dataset {
    double *x, *y;
    size_t n, cap;
    size_t skipped_missing, skipped_category;
};

static int ds_push(struct dataset *d, const double *xrow, double y)
{
    const size_t p = HOUSING_NNUM + HOUSING_NCAT;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        double *nx = realloc(d->x, cap * p * sizeof(double));
        if (!nx)
            return -1;
        d->x = nx;
        double *ny = realloc(d->y, cap * sizeof(double));
        if (!ny)
            return -1;
        d->y = ny;
        d->cap = cap;
    }
    memcpy(d->x + d->n * p, xrow, p * sizeof(double));
    d->y[d->n++] = y;
    return 0;
}

/* Reads the CSV into d. Returns 0, or -1 after printing why. */
static int load(const char *path, struct dataset *d)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = fs_read_file(path, MAX_DATA_BYTES, &buf, &len);
    if (rc < 0) {
        fprintf(stderr, "housing-train: cannot read %s: %s\n", path,
                rc == SH_ETOOBIG ? "larger than 1 GiB" : strerror(errno));
        return -1;
    }
    struct hcsv c;
    hcsv_init(&c, buf, len);
    char err[256];
    int ret = -1;
    enum { NCOLS = HOUSING_NNUM + 2 };
    const char *names[NCOLS];
    size_t col[NCOLS];
    for (int j = 0; j < HOUSING_NNUM; j++)
        names[j] = HOUSING_NUMERIC[j];
    names[HOUSING_NNUM] = HOUSING_CATEGORICAL;
    names[HOUSING_NNUM + 1] = HOUSING_TARGET;

    int r = hcsv_next(&c, err, sizeof err);
    if (r <= 0) {
        fprintf(stderr, "housing-train: %s: %s\n", path, r == 0 ? "empty file, expected a header line" : err);
        goto out;
    }
    size_t nfields = c.nf;
    for (int k = 0; k < NCOLS; k++) {
        size_t i = 0;
        while (i < nfields && strcmp(hcsv_field(&c, i), names[k]) != 0)
            i++;
        if (i == nfields) {
            fprintf(stderr, "housing-train: %s: line 1: no column \"%s\" in the header\n", path, names[k]);
            goto out;
        }
        col[k] = i;
    }
    while ((r = hcsv_next(&c, err, sizeof err)) > 0) {
        if (c.nf != nfields) {
            fprintf(stderr, "housing-train: %s: line %zu: expected %zu fields like the header, got %zu\n", path,
                    c.line, nfields, c.nf);
            goto out;
        }
        int missing = 0;
        for (int k = 0; k < NCOLS; k++)
            if (hcsv_is_missing(hcsv_field(&c, col[k])))
                missing = 1;
        if (missing) {
            d->skipped_missing++;
            continue;
        }
        double xrow[HOUSING_NNUM + HOUSING_NCAT] = {0}, y = 0.0;
        for (int k = 0; k < HOUSING_NNUM + 2; k++) {
            if (k == HOUSING_NNUM)
                continue;
            double v;
            const char *cell = hcsv_field(&c, col[k]);
            if (hcsv_number(cell, &v) < 0) {
                fprintf(stderr, "housing-train: %s: line %zu: column \"%s\": expected a number, got \"%.40s\"\n",
                        path, c.line, names[k], cell);
                goto out;
            }
            if (k < HOUSING_NNUM)
                xrow[k] = v;
            else
                y = v;
        }
        const char *cat = hcsv_field(&c, col[HOUSING_NNUM]);
        int kc = 0;
        while (kc < HOUSING_NCAT && strcmp(cat, HOUSING_CATEGORIES[kc]) != 0)
            kc++;
        if (kc == HOUSING_NCAT) {
            d->skipped_category++;
            continue;
        }
        xrow[HOUSING_NNUM + kc] = 1.0;
        if (ds_push(d, xrow, y) < 0) {
            fprintf(stderr, "housing-train: out of memory\n");
            goto out;
        }
    }
    if (r < 0) {
        fprintf(stderr, "housing-train: %s: %s\n", path, err);
        goto out;
    }
    ret = 0;
out:
    hcsv_free(&c);
    free(buf);
    return ret;
}

/* A name that can be a registry version folder. */
static int valid_version(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 64 || v[0] == '.' || strcmp(v, "current") == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9') ||
              v[i] == '.' || v[i] == '_' || v[i] == '-'))
            return 0;
    return 1;
}

/* The highest N of the folder's "vN" entries (0 when none). */
static unsigned long highest_v(const char *dir)
{
    unsigned long best = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *s = e->d_name;
        if (s[0] != 'v' || s[1] < '0' || s[1] > '9')
            continue;
        char *end;
        errno = 0;
        unsigned long n = strtoul(s + 1, &end, 10);
        if (*end == '\0' && errno == 0 && n > best)
            best = n;
    }
    closedir(d);
    return best;
}

static void iso8601_now(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_in(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len = strlen(text);
    char *line = malloc(len + 2);
    if (!line) {
        fprintf(stderr, "housing-train: out of memory\n");
        return -1;
    }
    memcpy(line, text, len);
    line[len] = '\n';
    line[len + 1] = '\0';
    int rc = atomic_file_write(path, line, len + 1);
    free(line);
    if (rc < 0) {
        fprintf(stderr, "housing-train: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void remove_tmp(const char *tmp)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/model.json", tmp);
    unlink(path);
    snprintf(path, sizeof path, "%s/metrics.json", tmp);
    unlink(path);
    rmdir(tmp);
}

/* Moves tmp to models/<version> without replacing anything. Returns 0, or -1 with errno. */
static int rename_noreplace(const char *tmp, const char *dst)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* a file system without RENAME_NOREPLACE: check, then rename (a rename onto a non-empty folder fails) */
    struct stat st;
    if (lstat(dst, &st) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(tmp, dst);
}

/* Points models/current at version: a new symlink renamed over the old one. */
static int activate(const char *models, const char *version)
{
    char tmp[4096], cur[4096];
    snprintf(tmp, sizeof tmp, "%s/.current.tmp.%ld", models, (long)getpid());
    snprintf(cur, sizeof cur, "%s/current", models);
    unlink(tmp);
    if (symlink(version, tmp) < 0 || rename(tmp, cur) < 0) {
        fprintf(stderr, "housing-train: cannot point %s at %s: %s\n", cur, version, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    int prc = parse_args(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;
    if (o.version && !valid_version(o.version)) {
        fprintf(stderr, "housing-train: --version: '%s' cannot be a version name (letters, digits, '.', '_', '-'; "
                        "not starting with '.', not \"current\")\n", o.version);
        return 2;
    }

    struct dataset d = {0};
    size_t *idx = NULL;
    struct hols m = {0};
    char *model_json = NULL, *metrics_json = NULL;
    char tmp[4096] = "";
    int rc = 1;
    const size_t p = HOUSING_NNUM + HOUSING_NCAT;

    if (load(o.data, &d) < 0)
        goto out;
    if (d.n < MIN_ROWS) {
        fprintf(stderr, "housing-train: %s: only %zu usable rows (%zu skipped for missing cells, %zu for an unknown "
                        "%s); need at least %d\n", o.data, d.n, d.skipped_missing, d.skipped_category,
                HOUSING_CATEGORICAL, MIN_ROWS);
        goto out;
    }
    idx = malloc(d.n * sizeof *idx);
    if (!idx)
        goto oom;
    for (size_t i = 0; i < d.n; i++)
        idx[i] = i;
    struct hrng rng;
    hrng_seed(&rng, o.seed);
    hrng_shuffle(&rng, idx, d.n);
    size_t ntest = (size_t)(o.test_fraction * (double)d.n + 0.5);
    if (ntest < 2)
        ntest = 2;
    if (ntest > d.n - 2)
        ntest = d.n - 2;
    size_t ntrain = d.n - ntest;
    const size_t *test = idx, *train = idx + ntest;
    if (hols_fit(&m, d.x, d.y, p, train, ntrain, o.ridge) < 0) {
        fprintf(stderr, "housing-train: %s: the least-squares system is singular; try a larger --ridge\n", o.data);
        goto out;
    }
    double r2, rmse, train_r2, train_rmse;
    hols_score(&m, d.x, d.y, test, ntest, &r2, &rmse);
    hols_score(&m, d.x, d.y, train, ntrain, &train_r2, &train_rmse);

    if (fs_mkdir_p(o.models) < 0) {
        fprintf(stderr, "housing-train: cannot create %s: %s\n", o.models, strerror(errno));
        goto out;
    }
    char when[32];
    iso8601_now(when, sizeof when);
    char version[80], dst[4096];
    unsigned long next = highest_v(o.models) + 1;
    for (int attempt = 0;; attempt++) {
        if (o.version)
            snprintf(version, sizeof version, "%s", o.version);
        else
            snprintf(version, sizeof version, "v%lu", next + (unsigned long)attempt);
        snprintf(dst, sizeof dst, "%s/%s", o.models, version);
        snprintf(tmp, sizeof tmp, "%s/.tmp.%s.%ld", o.models, version, (long)getpid());
        free(model_json);
        free(metrics_json);
        model_json = hmodel_to_json(&m, version, o.data);
        cJSON *mt = cJSON_CreateObject();
        if (mt) {
            cJSON_AddNumberToObject(mt, "accuracy", r2);
            cJSON_AddNumberToObject(mt, "r2", r2);
            cJSON_AddNumberToObject(mt, "rmse", rmse);
            cJSON_AddNumberToObject(mt, "rows", (double)d.n);
            cJSON_AddNumberToObject(mt, "train_rows", (double)ntrain);
            cJSON_AddNumberToObject(mt, "test_rows", (double)ntest);
            cJSON_AddNumberToObject(mt, "skipped_rows", (double)(d.skipped_missing + d.skipped_category));
            cJSON_AddNumberToObject(mt, "train_r2", train_r2);
            cJSON_AddStringToObject(mt, "trained_at", when);
            cJSON_AddStringToObject(mt, "version", version);
            cJSON_AddStringToObject(mt, "data", o.data);
            cJSON_AddNumberToObject(mt, "seed", (double)o.seed);
            cJSON_AddNumberToObject(mt, "test_fraction", o.test_fraction);
        }
        metrics_json = mt ? cJSON_Print(mt) : NULL;
        cJSON_Delete(mt);
        if (!model_json || !metrics_json)
            goto oom;
        remove_tmp(tmp);
        if (mkdir(tmp, 0755) < 0) {
            fprintf(stderr, "housing-train: cannot create %s: %s\n", tmp, strerror(errno));
            tmp[0] = '\0';
            goto out;
        }
        if (write_in(tmp, "model.json", model_json) < 0 || write_in(tmp, "metrics.json", metrics_json) < 0)
            goto out;
        if (rename_noreplace(tmp, dst) == 0)
            break;
        int e = errno;
        remove_tmp(tmp);
        tmp[0] = '\0';
        if ((e == EEXIST || e == ENOTEMPTY) && !o.version && attempt < 100)
            continue; /* another trainer took that name */
        fprintf(stderr, "housing-train: cannot create version %s: %s\n", dst,
                e == EEXIST || e == ENOTEMPTY ? "it already exists" : strerror(e));
        goto out;
    }
    tmp[0] = '\0';
    {
        /* the new entry itself must survive a crash */
        int dfd = open(o.models, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    if (o.activate && activate(o.models, version) < 0)
        goto out;
    printf("%s r2=%.4f rmse=%.1f train_rows=%zu test_rows=%zu skipped_rows=%zu path=%s%s\n", version, r2, rmse,
           ntrain, ntest, d.skipped_missing + d.skipped_category, dst, o.activate ? " (current)" : "");
    fflush(stdout);
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "housing-train: out of memory\n");
out:
    if (tmp[0])
        remove_tmp(tmp);
    free(model_json);
    free(metrics_json);
    hols_free(&m);
    free(idx);
    free(d.x);
    free(d.y);
    return rc;
}
