/* fuzz_duration.c — libFuzzer harness: spec_parse_duration and the
 * format/parse round trip of spec_format_duration. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms = 0;
    if (spec_parse_duration(s, &ms) == 0 && ms >= 0) {
        char buf[64];
        if (spec_format_duration(ms, buf, sizeof buf)) {
            int64_t again = -1;
            if (spec_parse_duration(buf, &again) != 0 || again != ms)
                abort(); /* formatting must read back to the same value */
        }
    }
    free(s);
    return 0;
}
