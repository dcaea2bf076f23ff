/* fuzz_json_pointer.c — libFuzzer harness: RFC 6901 pointers
 * (json_pointer_get / json_pointer_number). Input: "pointer\n JSON document". */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/json_pointer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - (const char *)data) : size;
    char *ptr = malloc(plen + 1);
    if (!ptr)
        return 0;
    memcpy(ptr, data, plen);
    ptr[plen] = '\0';
    const char *doc_text = nl ? nl + 1 : "";
    size_t doc_len = nl ? size - plen - 1 : 0;
    cJSON *doc = cJSON_ParseWithLength(doc_text, doc_len);
    char err[256];
    (void)json_pointer_get(doc, ptr, err, sizeof err);
    double v;
    (void)json_pointer_number(doc, ptr, &v, err, sizeof err);
    if (!doc) {
        cJSON *empty = cJSON_CreateObject();
        (void)json_pointer_get(empty, ptr, err, sizeof err);
        cJSON_Delete(empty);
    }
    cJSON_Delete(doc);
    free(ptr);
    return 0;
}
