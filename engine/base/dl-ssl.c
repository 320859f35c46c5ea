/* libssl.so.3 on first use (engine/base/dl.h). */
#define VS_DL_IMPL
#include "engine/base/dl-ssl.h"

VS_DL_SSL_SYMS (VS_DL_DEFINE)

VS_DL_LIB (vs_dl_ssl_lib, "libssl.so.3", "libssl3",
           "TLS certificate fingerprints", VS_DL_SSL_SYMS);

int
vs_dl_ssl (void)
{
    return vs_dl_load (&vs_dl_ssl_lib);
}
