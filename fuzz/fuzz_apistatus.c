/* fuzz_apistatus.c — libFuzzer harness: API Status parsing
 * (kube_error_message on a response body, kube_status_parse on the body as
 * JSON, kube_http_error/kube_http_reason on the codes). The first two bytes
 * pick the HTTP code. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kube/apistatus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    long code = (long)((data[0] << 8) | data[1]) % 1000;
    const char *body = (const char *)data + 2;
    size_t len = size - 2;
    char *msg = kube_error_message("PATCH", "/apis/selfheal.dev/v1alpha1/namespaces/ns/x?y=1", code,
                                   len ? body : NULL, len);
    free(msg);
    cJSON *obj = cJSON_ParseWithLength(body, len);
    struct kube_status st;
    if (kube_status_parse(obj, &st)) {
        (void)kube_http_error(st.code, st.reason);
        (void)kube_http_reason(st.code);
    }
    (void)kube_http_error(code, NULL);
    cJSON_Delete(obj);
    return 0;
}
