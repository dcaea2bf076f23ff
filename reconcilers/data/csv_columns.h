/*
 * csv_columns.h — load a whole CSV file into typed columns (for the drift
 * engine and the data fixer). Numeric columns are arrays of doubles with NAN
 * for missing cells; other columns keep their owned cell texts.
 */
#ifndef SH_CSV_COLUMNS_H
#define SH_CSV_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>

struct csv_column {
    char *name;
    bool numeric;   /* every non-missing cell parses completely as a number */
    double *num;    /* nrows values when numeric, NAN for missing; NULL otherwise */
    char **str;     /* nrows owned cell texts when !numeric, NULL for missing; NULL when numeric */
    size_t missing; /* missing cells */
};

struct csv_columns {
    size_t ncols, nrows;
    struct csv_column *cols;
};

/* Loads a whole CSV into columns. missing_tokens: cells equal to one of them are missing
 * (NULL/0: the defaults "", NA, NaN, null, None, ?). Returns 0, or SH_EPARSE/SH_EIO/SH_ENOMEM
 * with *ret_err = "path:LINE: reason" (owned). */
int csv_load_columns(const char *path, const char *const *missing_tokens, size_t ntokens,
                     struct csv_columns *out, char **ret_err);

/* Frees everything csv_load_columns allocated; safe on a zeroed struct. */
void csv_columns_free(struct csv_columns *c);

#endif
