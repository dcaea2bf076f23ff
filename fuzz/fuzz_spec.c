/* fuzz_spec.c — libFuzzer harness: the YAML/JSON spec loader and validator
 * (yaml_parse_documents / json_parse_document, then spec_decode_object on
 * every document, then yaml_emit round trip). The first byte picks YAML or JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/spec.h"
#include "base/yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    cJSON *docs = NULL;
    char *err = NULL;
    int r = (data[0] & 1) ? json_parse_document(buf, len, "fuzz.json", &docs, &err)
                          : yaml_parse_documents(buf, len, "fuzz.yaml", &docs, &err);
    free(err);
    if (r != 0)
        return 0;
    const cJSON *doc;
    cJSON_ArrayForEach(doc, docs) {
        struct spec s;
        struct spec_errors errs = {0};
        spec_decode_object(doc, &s, &errs);
        char *joined = spec_errors_join(&errs, "\n");
        free(joined);
        spec_errors_free(&errs);
        spec_free(&s);
        char *y = yaml_emit(doc);
        if (y) {
            cJSON *back = NULL;
            char *e2 = NULL;
            if (yaml_parse_documents(y, strlen(y), "emitted", &back, &e2) == 0)
                cJSON_Delete(back);
            free(e2);
            free(y);
        }
    }
    cJSON_Delete(docs);
    return 0;
}
