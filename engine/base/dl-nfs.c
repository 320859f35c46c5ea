/* libnfs.so.13 on first use (engine/base/dl.h). */
#define VS_DL_IMPL
#include "engine/base/dl-nfs.h"

VS_DL_NFS_SYMS (VS_DL_DEFINE)

VS_DL_LIB (vs_dl_nfs_lib, "libnfs.so.13", "libnfs13",
           "nfs:// and ontap:// locations", VS_DL_NFS_SYMS);

int
vs_dl_nfs (void)
{
    return vs_dl_load (&vs_dl_nfs_lib);
}
