/* libsqlite3.so.0, loaded on first use (engine/base/dl.h).  Include this header,
 * never the library's own; call vs_dl_sqlite() before the first call. */
#ifndef VMSHIFT_BASE_DL_SQLITE_H
#define VMSHIFT_BASE_DL_SQLITE_H

#include <sqlite3.h>

#include "engine/base/dl.h"

#define VS_DL_SQLITE_SYMS(X) \
    X (sqlite3_bind_blob) \
    X (sqlite3_bind_double) \
    X (sqlite3_bind_int) \
    X (sqlite3_bind_int64) \
    X (sqlite3_bind_null) \
    X (sqlite3_bind_text) \
    X (sqlite3_busy_timeout) \
    X (sqlite3_changes) \
    X (sqlite3_clear_bindings) \
    X (sqlite3_close) \
    X (sqlite3_close_v2) \
    X (sqlite3_column_blob) \
    X (sqlite3_column_bytes) \
    X (sqlite3_column_count) \
    X (sqlite3_column_double) \
    X (sqlite3_column_int) \
    X (sqlite3_column_int64) \
    X (sqlite3_column_text) \
    X (sqlite3_column_type) \
    X (sqlite3_errcode) \
    X (sqlite3_errmsg) \
    X (sqlite3_errstr) \
    X (sqlite3_exec) \
    X (sqlite3_extended_errcode) \
    X (sqlite3_extended_result_codes) \
    X (sqlite3_file_control) \
    X (sqlite3_finalize) \
    X (sqlite3_free) \
    X (sqlite3_last_insert_rowid) \
    X (sqlite3_libversion_number) \
    X (sqlite3_open_v2) \
    X (sqlite3_prepare_v2) \
    X (sqlite3_reset) \
    X (sqlite3_step)

VS_DL_SQLITE_SYMS (VS_DL_EXTERN)

/* 0, or -ELIBACC with the error set (the package to install) */
int vs_dl_sqlite (void);

#ifndef VS_DL_IMPL
#undef sqlite3_bind_blob
#undef sqlite3_bind_double
#undef sqlite3_bind_int
#undef sqlite3_bind_int64
#undef sqlite3_bind_null
#undef sqlite3_bind_text
#undef sqlite3_busy_timeout
#undef sqlite3_changes
#undef sqlite3_clear_bindings
#undef sqlite3_close
#undef sqlite3_close_v2
#undef sqlite3_column_blob
#undef sqlite3_column_bytes
#undef sqlite3_column_count
#undef sqlite3_column_double
#undef sqlite3_column_int
#undef sqlite3_column_int64
#undef sqlite3_column_text
#undef sqlite3_column_type
#undef sqlite3_errcode
#undef sqlite3_errmsg
#undef sqlite3_errstr
#undef sqlite3_exec
#undef sqlite3_extended_errcode
#undef sqlite3_extended_result_codes
#undef sqlite3_file_control
#undef sqlite3_finalize
#undef sqlite3_free
#undef sqlite3_last_insert_rowid
#undef sqlite3_libversion_number
#undef sqlite3_open_v2
#undef sqlite3_prepare_v2
#undef sqlite3_reset
#undef sqlite3_step
#define sqlite3_bind_blob (*vs_dl_sqlite3_bind_blob)
#define sqlite3_bind_double (*vs_dl_sqlite3_bind_double)
#define sqlite3_bind_int (*vs_dl_sqlite3_bind_int)
#define sqlite3_bind_int64 (*vs_dl_sqlite3_bind_int64)
#define sqlite3_bind_null (*vs_dl_sqlite3_bind_null)
#define sqlite3_bind_text (*vs_dl_sqlite3_bind_text)
#define sqlite3_busy_timeout (*vs_dl_sqlite3_busy_timeout)
#define sqlite3_changes (*vs_dl_sqlite3_changes)
#define sqlite3_clear_bindings (*vs_dl_sqlite3_clear_bindings)
#define sqlite3_close (*vs_dl_sqlite3_close)
#define sqlite3_close_v2 (*vs_dl_sqlite3_close_v2)
#define sqlite3_column_blob (*vs_dl_sqlite3_column_blob)
#define sqlite3_column_bytes (*vs_dl_sqlite3_column_bytes)
#define sqlite3_column_count (*vs_dl_sqlite3_column_count)
#define sqlite3_column_double (*vs_dl_sqlite3_column_double)
#define sqlite3_column_int (*vs_dl_sqlite3_column_int)
#define sqlite3_column_int64 (*vs_dl_sqlite3_column_int64)
#define sqlite3_column_text (*vs_dl_sqlite3_column_text)
#define sqlite3_column_type (*vs_dl_sqlite3_column_type)
#define sqlite3_errcode (*vs_dl_sqlite3_errcode)
#define sqlite3_errmsg (*vs_dl_sqlite3_errmsg)
#define sqlite3_errstr (*vs_dl_sqlite3_errstr)
#define sqlite3_exec (*vs_dl_sqlite3_exec)
#define sqlite3_extended_errcode (*vs_dl_sqlite3_extended_errcode)
#define sqlite3_extended_result_codes (*vs_dl_sqlite3_extended_result_codes)
#define sqlite3_file_control (*vs_dl_sqlite3_file_control)
#define sqlite3_finalize (*vs_dl_sqlite3_finalize)
#define sqlite3_free (*vs_dl_sqlite3_free)
#define sqlite3_last_insert_rowid (*vs_dl_sqlite3_last_insert_rowid)
#define sqlite3_libversion_number (*vs_dl_sqlite3_libversion_number)
#define sqlite3_open_v2 (*vs_dl_sqlite3_open_v2)
#define sqlite3_prepare_v2 (*vs_dl_sqlite3_prepare_v2)
#define sqlite3_reset (*vs_dl_sqlite3_reset)
#define sqlite3_step (*vs_dl_sqlite3_step)
#endif

#endif
