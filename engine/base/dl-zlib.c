/* libz.so.1 on first use (engine/base/dl.h). */
#define VS_DL_IMPL
#include "engine/base/dl-zlib.h"

VS_DL_ZLIB_SYMS (VS_DL_DEFINE)

VS_DL_LIB (vs_dl_zlib_lib, "libz.so.1", "zlib1g",
           "compressed VMDK grains", VS_DL_ZLIB_SYMS);

int
vs_dl_zlib (void)
{
    return vs_dl_load (&vs_dl_zlib_lib);
}
