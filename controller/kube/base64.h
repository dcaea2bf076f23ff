/*
 * base64.h — strict standard-alphabet base64 decoding for the kubeconfig's
 * *-data fields (RFC 4648 §4; padding required, whitespace ignored).
 * Stateless; any thread.
 */
#ifndef SH_KUBE_BASE64_H
#define SH_KUBE_BASE64_H

#include <stddef.h>

/*
 * Decodes `in` (NUL-terminated). Returns 0 with *ret (owned, NUL-terminated
 * for convenience) and *ret_len, SH_EPARSE when a character is outside the
 * alphabet, the length is not a multiple of 4 or the padding is misplaced,
 * or SH_ENOMEM. Outputs untouched on failure.
 */
int kube_base64_decode(const char *in, char **ret, size_t *ret_len);

#endif
