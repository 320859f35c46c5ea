/* libcurl.so.4 on first use (engine/base/dl.h). */
#define VS_DL_IMPL
#include "engine/base/dl-curl.h"

VS_DL_CURL_SYMS (VS_DL_DEFINE)

VS_DL_LIB (vs_dl_curl_lib, "libcurl.so.4", "libcurl4",
           "ONTAP REST requests", VS_DL_CURL_SYMS);

int
vs_dl_curl (void)
{
    return vs_dl_load (&vs_dl_curl_lib);
}
