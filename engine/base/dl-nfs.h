/* libnfs.so.13, loaded on first use (engine/base/dl.h).  Include this header,
 * never the library's own; call vs_dl_nfs() before the first call. */
#ifndef VMSHIFT_BASE_DL_NFS_H
#define VMSHIFT_BASE_DL_NFS_H

#include <nfsc/libnfs.h>

#include "engine/base/dl.h"

#define VS_DL_NFS_SYMS(X) \
    X (nfs_close) \
    X (nfs_closedir) \
    X (nfs_create) \
    X (nfs_destroy_context) \
    X (nfs_destroy_url) \
    X (nfs_fstat64) \
    X (nfs_fsync) \
    X (nfs_ftruncate) \
    X (nfs_get_error) \
    X (nfs_get_readmax) \
    X (nfs_get_writemax) \
    X (nfs_init_context) \
    X (nfs_link) \
    X (nfs_lstat64) \
    X (nfs_mkdir) \
    X (nfs_mount) \
    X (nfs_open) \
    X (nfs_opendir) \
    X (nfs_parse_url_dir) \
    X (nfs_pread) \
    X (nfs_pwrite) \
    X (nfs_readdir) \
    X (nfs_readlink) \
    X (nfs_rename) \
    X (nfs_rmdir) \
    X (nfs_set_timeout) \
    X (nfs_stat64) \
    X (nfs_statvfs64) \
    X (nfs_unlink)

VS_DL_NFS_SYMS (VS_DL_EXTERN)

/* 0, or -ELIBACC with the error set (the package to install) */
int vs_dl_nfs (void);

#ifndef VS_DL_IMPL
#undef nfs_close
#undef nfs_closedir
#undef nfs_create
#undef nfs_destroy_context
#undef nfs_destroy_url
#undef nfs_fstat64
#undef nfs_fsync
#undef nfs_ftruncate
#undef nfs_get_error
#undef nfs_get_readmax
#undef nfs_get_writemax
#undef nfs_init_context
#undef nfs_link
#undef nfs_lstat64
#undef nfs_mkdir
#undef nfs_mount
#undef nfs_open
#undef nfs_opendir
#undef nfs_parse_url_dir
#undef nfs_pread
#undef nfs_pwrite
#undef nfs_readdir
#undef nfs_readlink
#undef nfs_rename
#undef nfs_rmdir
#undef nfs_set_timeout
#undef nfs_stat64
#undef nfs_statvfs64
#undef nfs_unlink
#define nfs_close (*vs_dl_nfs_close)
#define nfs_closedir (*vs_dl_nfs_closedir)
#define nfs_create (*vs_dl_nfs_create)
#define nfs_destroy_context (*vs_dl_nfs_destroy_context)
#define nfs_destroy_url (*vs_dl_nfs_destroy_url)
#define nfs_fstat64 (*vs_dl_nfs_fstat64)
#define nfs_fsync (*vs_dl_nfs_fsync)
#define nfs_ftruncate (*vs_dl_nfs_ftruncate)
#define nfs_get_error (*vs_dl_nfs_get_error)
#define nfs_get_readmax (*vs_dl_nfs_get_readmax)
#define nfs_get_writemax (*vs_dl_nfs_get_writemax)
#define nfs_init_context (*vs_dl_nfs_init_context)
#define nfs_link (*vs_dl_nfs_link)
#define nfs_lstat64 (*vs_dl_nfs_lstat64)
#define nfs_mkdir (*vs_dl_nfs_mkdir)
#define nfs_mount (*vs_dl_nfs_mount)
#define nfs_open (*vs_dl_nfs_open)
#define nfs_opendir (*vs_dl_nfs_opendir)
#define nfs_parse_url_dir (*vs_dl_nfs_parse_url_dir)
#define nfs_pread (*vs_dl_nfs_pread)
#define nfs_pwrite (*vs_dl_nfs_pwrite)
#define nfs_readdir (*vs_dl_nfs_readdir)
#define nfs_readlink (*vs_dl_nfs_readlink)
#define nfs_rename (*vs_dl_nfs_rename)
#define nfs_rmdir (*vs_dl_nfs_rmdir)
#define nfs_set_timeout (*vs_dl_nfs_set_timeout)
#define nfs_stat64 (*vs_dl_nfs_stat64)
#define nfs_statvfs64 (*vs_dl_nfs_statvfs64)
#define nfs_unlink (*vs_dl_nfs_unlink)
#endif

#endif
