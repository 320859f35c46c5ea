/* libcjson.so.1 on first use (engine/base/dl.h). */
#define VS_DL_IMPL
#include "engine/base/dl-cjson.h"

VS_DL_CJSON_SYMS (VS_DL_DEFINE)

VS_DL_LIB (vs_dl_cjson_lib, "libcjson.so.1", "libcjson1",
           "reading JSON", VS_DL_CJSON_SYMS);

int
vs_dl_cjson (void)
{
    return vs_dl_load (&vs_dl_cjson_lib);
}
