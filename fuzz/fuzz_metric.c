/* fuzz_metric.c — libFuzzer harness: metric-source responses
 * (metric_prometheus_parse on Prometheus /api/v1/query bodies,
 * metric_json_value on HTTP JSON bodies with a pointer). Input for the JSON
 * case: "pointer\n body"; the first byte picks the case. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/metric_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    char err[256];
    double v = 0;
    if (data[0] & 1) {
        if (metric_prometheus_parse(buf, len, &v, err, sizeof err) == 0 && !isfinite(v))
            abort(); /* only finite readings may come back */
        return 0;
    }
    const char *nl = memchr(buf, '\n', len);
    size_t plen = nl ? (size_t)(nl - buf) : 0;
    char *ptr = malloc(plen + 1);
    if (!ptr)
        return 0;
    memcpy(ptr, buf, plen);
    ptr[plen] = '\0';
    const char *body = nl ? nl + 1 : buf;
    size_t blen = nl ? len - plen - 1 : len;
    if (metric_json_value(body, blen, ptr, &v, err, sizeof err) == 0 && !isfinite(v))
        abort();
    free(ptr);
    return 0;
}
