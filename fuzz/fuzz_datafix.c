/* fuzz_datafix.c — libFuzzer harness: the CSV fixer (datafix_run on the
 * input written to a file, really fixing it through atomicfile, no backups).
 * The first byte picks the missing-value strategy, the outlier action and
 * the refusal threshold. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/datafix.h"
#include "fuzz_tmpfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char path[512];
    if (fuzz_write_file("data.csv", data + 1, size - 1, path, sizeof path) != 0)
        return 0;
    struct datafix_options o;
    datafix_options_default(&o);
    static const enum missing_strategy ms[] = {MISSING_MEDIAN, MISSING_MEAN, MISSING_MODE,
                                               MISSING_DROP_ROW};
    static const enum outlier_action oa[] = {OUTLIER_CAP, OUTLIER_DROP_ROW, OUTLIER_NONE};
    o.missing = ms[data[0] & 3];
    o.outliers = oa[((data[0] >> 2) & 3) % 3];
    o.max_fixed_fraction = (data[0] & 0x10) ? 1.0 : 0.2;
    o.dry_run = (data[0] & 0x20) != 0;
    o.iqr_multiplier = (data[0] & 0x40) ? 0.0 : 3.0;
    o.backup_keep = 0;
    o.now_ms = 1700000000000;
    struct datafix_report rep;
    char *err = NULL;
    if (datafix_run(path, &o, &rep, &err) == 0 || rep.ncols) {
        cJSON *j = datafix_report_json(&rep);
        cJSON_Delete(j);
    }
    datafix_report_free(&rep);
    free(err);
    return 0;
}
