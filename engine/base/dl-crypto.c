/* libcrypto.so.3 on first use (engine/base/dl.h). */
#define VS_DL_IMPL
#include "engine/base/dl-crypto.h"

VS_DL_CRYPTO_SYMS (VS_DL_DEFINE)

VS_DL_LIB (vs_dl_crypto_lib, "libcrypto.so.3", "libssl3",
           "ONTAP authentication and TLS", VS_DL_CRYPTO_SYMS);

int
vs_dl_crypto (void)
{
    return vs_dl_load (&vs_dl_crypto_lib);
}
