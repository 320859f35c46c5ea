/* libz.so.1, loaded on first use (engine/base/dl.h).  Include this header,
 * never the library's own; call vs_dl_zlib() before the first call. */
#ifndef VMSHIFT_BASE_DL_ZLIB_H
#define VMSHIFT_BASE_DL_ZLIB_H

#include <zlib.h>

#include "engine/base/dl.h"

#define VS_DL_ZLIB_SYMS(X) \
    X (inflate) \
    X (inflateEnd) \
    X (inflateInit2_)

VS_DL_ZLIB_SYMS (VS_DL_EXTERN)

/* 0, or -ELIBACC with the error set (the package to install) */
int vs_dl_zlib (void);

#ifndef VS_DL_IMPL
#undef inflate
#undef inflateEnd
#undef inflateInit2_
#define inflate (*vs_dl_inflate)
#define inflateEnd (*vs_dl_inflateEnd)
#define inflateInit2_ (*vs_dl_inflateInit2_)
#endif

#endif
