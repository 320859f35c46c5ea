/* libpq.so.5 on first use (engine/base/dl.h). */
#define VS_DL_IMPL
#include "engine/base/dl-pq.h"

VS_DL_PQ_SYMS (VS_DL_DEFINE)

VS_DL_LIB (vs_dl_pq_lib, "libpq.so.5", "libpq5",
           "the PostgreSQL store", VS_DL_PQ_SYMS);

int
vs_dl_pq (void)
{
    return vs_dl_load (&vs_dl_pq_lib);
}
