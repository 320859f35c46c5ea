/* libvirt.so.0 on first use (engine/base/dl.h). */
#define VS_DL_IMPL
#include "engine/base/dl-libvirt.h"

VS_DL_LIBVIRT_SYMS (VS_DL_DEFINE)

VS_DL_LIB (vs_dl_libvirt_lib, "libvirt.so.0", "libvirt0",
           "libvirt connections", VS_DL_LIBVIRT_SYMS);

int
vs_dl_libvirt (void)
{
    return vs_dl_load (&vs_dl_libvirt_lib);
}
