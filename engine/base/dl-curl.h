/* libcurl.so.4, loaded on first use (engine/base/dl.h).  Include this header,
 * never the library's own; call vs_dl_curl() before the first call. */
#ifndef VMSHIFT_BASE_DL_CURL_H
#define VMSHIFT_BASE_DL_CURL_H

#include <curl/curl.h>

#include "engine/base/dl.h"

#define VS_DL_CURL_SYMS(X) \
    X (curl_easy_cleanup) \
    X (curl_easy_getinfo) \
    X (curl_easy_init) \
    X (curl_easy_perform) \
    X (curl_easy_setopt) \
    X (curl_easy_strerror) \
    X (curl_global_init) \
    X (curl_slist_append) \
    X (curl_slist_free_all) \
    X (curl_version_info)

VS_DL_CURL_SYMS (VS_DL_EXTERN)

/* 0, or -ELIBACC with the error set (the package to install) */
int vs_dl_curl (void);

#ifndef VS_DL_IMPL
#undef curl_easy_cleanup
#undef curl_easy_getinfo
#undef curl_easy_init
#undef curl_easy_perform
#undef curl_easy_setopt
#undef curl_easy_strerror
#undef curl_global_init
#undef curl_slist_append
#undef curl_slist_free_all
#undef curl_version_info
#define curl_easy_cleanup (*vs_dl_curl_easy_cleanup)
#define curl_easy_getinfo (*vs_dl_curl_easy_getinfo)
#define curl_easy_init (*vs_dl_curl_easy_init)
#define curl_easy_perform (*vs_dl_curl_easy_perform)
#define curl_easy_setopt (*vs_dl_curl_easy_setopt)
#define curl_easy_strerror (*vs_dl_curl_easy_strerror)
#define curl_global_init (*vs_dl_curl_global_init)
#define curl_slist_append (*vs_dl_curl_slist_append)
#define curl_slist_free_all (*vs_dl_curl_slist_free_all)
#define curl_version_info (*vs_dl_curl_version_info)
#endif

#endif
