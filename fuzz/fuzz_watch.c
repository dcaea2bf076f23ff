/* fuzz_watch.c — libFuzzer harness: the watch-stream decoder
 * (kube_watch_init/feed/finish). The first byte sets how the stream is split
 * into reads and the line bound, so partial lines, several events per read and
 * over-long lines are all exercised. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kube/watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(void *ctx, enum kube_event_type type, cJSON *object)
{
    unsigned long *n = ctx;
    (void)kube_event_type_name(type);
    cJSON_Delete(object);
    return ++*n > 100000; /* a non-zero return stops decoding */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)(data[0] & 0x1f) + 1;
    size_t max_line = (data[0] & 0x20) ? 64 : 0;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    unsigned long n = 0;
    struct kube_watch_decoder d;
    kube_watch_init(&d, max_line, on_event, &n);
    int r = 0;
    for (size_t off = 0; off < len && r == 0; off += chunk) {
        size_t k = len - off < chunk ? len - off : chunk;
        r = kube_watch_feed(&d, buf + off, k);
    }
    if (r == 0)
        (void)kube_watch_finish(&d);
    kube_watch_free(&d);
    return 0;
}
