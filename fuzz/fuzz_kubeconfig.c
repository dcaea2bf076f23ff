/* fuzz_kubeconfig.c — libFuzzer harness: kubeconfig loading
 * (kube_config_load_file on the input written to a file, with the current
 * context and with a named one). A PEM file "ca.crt" and a token file sit next
 * to it so relative paths resolve. Run with stdin from /dev/null (a kubeconfig
 * may name /dev/stdin). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_tmpfile.h"
#include "kube/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    char path[512];
    if (!ready) {
        if (fuzz_write_file("ca.crt", (const uint8_t *)pem, sizeof pem - 1, path, sizeof path) != 0 ||
            fuzz_write_file("token", (const uint8_t *)"abc\n", 4, path, sizeof path) != 0)
            return 0;
        ready = 1;
    }
    if (fuzz_write_file("config", data, size, path, sizeof path) != 0)
        return 0;
    static const char *const contexts[] = {NULL, "dev", "kind-kind"};
    for (size_t i = 0; i < sizeof contexts / sizeof contexts[0]; i++) {
        struct kube_config *c = NULL;
        char *err = NULL;
        if (kube_config_load_file(path, contexts[i], &c, &err) == 0)
            kube_config_free(c);
        free(err);
    }
    return 0;
}
