/* libxml2.so.2 on first use (engine/base/dl.h). */
#define VS_DL_IMPL
#include "engine/base/dl-xml2.h"

VS_DL_XML2_SYMS (VS_DL_DEFINE)

VS_DL_LIB (vs_dl_xml2_lib, "libxml2.so.2", "libxml2",
           "reading OVF files and vCenter replies", VS_DL_XML2_SYMS);

int
vs_dl_xml2 (void)
{
    return vs_dl_load (&vs_dl_xml2_lib);
}
