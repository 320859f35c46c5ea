/* libcrypto.so.3, loaded on first use (engine/base/dl.h).  Include this header,
 * never the library's own; call vs_dl_crypto() before the first call. */
#ifndef VMSHIFT_BASE_DL_CRYPTO_H
#define VMSHIFT_BASE_DL_CRYPTO_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "engine/base/dl.h"

#define VS_DL_CRYPTO_SYMS(X) \
    X (EVP_EncodeBlock) \
    X (EVP_sha256) \
    X (X509_STORE_CTX_get0_cert) \
    X (X509_STORE_CTX_set_error) \
    X (X509_digest)

VS_DL_CRYPTO_SYMS (VS_DL_EXTERN)

/* 0, or -ELIBACC with the error set (the package to install) */
int vs_dl_crypto (void);

#ifndef VS_DL_IMPL
#undef EVP_EncodeBlock
#undef EVP_sha256
#undef X509_STORE_CTX_get0_cert
#undef X509_STORE_CTX_set_error
#undef X509_digest
#define EVP_EncodeBlock (*vs_dl_EVP_EncodeBlock)
#define EVP_sha256 (*vs_dl_EVP_sha256)
#define X509_STORE_CTX_get0_cert (*vs_dl_X509_STORE_CTX_get0_cert)
#define X509_STORE_CTX_set_error (*vs_dl_X509_STORE_CTX_set_error)
#define X509_digest (*vs_dl_X509_digest)
#endif

#endif
