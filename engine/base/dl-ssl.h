/* libssl.so.3, loaded on first use (engine/base/dl.h).  Include this header,
 * never the library's own; call vs_dl_ssl() before the first call. */
#ifndef VMSHIFT_BASE_DL_SSL_H
#define VMSHIFT_BASE_DL_SSL_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "engine/base/dl.h"

#define VS_DL_SSL_SYMS(X) \
    X (SSL_CTX_set_cert_verify_callback) \
    X (SSL_CTX_set_verify)

VS_DL_SSL_SYMS (VS_DL_EXTERN)

/* 0, or -ELIBACC with the error set (the package to install) */
int vs_dl_ssl (void);

#ifndef VS_DL_IMPL
#undef SSL_CTX_set_cert_verify_callback
#undef SSL_CTX_set_verify
#define SSL_CTX_set_cert_verify_callback (*vs_dl_SSL_CTX_set_cert_verify_callback)
#define SSL_CTX_set_verify (*vs_dl_SSL_CTX_set_verify)
#endif

#endif
