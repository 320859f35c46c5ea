/* libsqlite3.so.0 on first use (engine/base/dl.h). */
#define VS_DL_IMPL
#include "engine/base/dl-sqlite.h"

VS_DL_SQLITE_SYMS (VS_DL_DEFINE)

VS_DL_LIB (vs_dl_sqlite_lib, "libsqlite3.so.0", "libsqlite3-0",
           "the run store", VS_DL_SQLITE_SYMS);

int
vs_dl_sqlite (void)
{
    return vs_dl_load (&vs_dl_sqlite_lib);
}
