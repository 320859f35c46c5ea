/* libpq.so.5, loaded on first use (engine/base/dl.h).  Include this header,
 * never the library's own; call vs_dl_pq() before the first call. */
#ifndef VMSHIFT_BASE_DL_PQ_H
#define VMSHIFT_BASE_DL_PQ_H

#include <libpq-fe.h>

#include "engine/base/dl.h"

#define VS_DL_PQ_SYMS(X) \
    X (PQclear) \
    X (PQcmdTuples) \
    X (PQconninfoFree) \
    X (PQconninfoParse) \
    X (PQconnectdb) \
    X (PQconnectdbParams) \
    X (PQerrorMessage) \
    X (PQescapeIdentifier) \
    X (PQescapeLiteral) \
    X (PQexec) \
    X (PQexecParams) \
    X (PQexecPrepared) \
    X (PQfinish) \
    X (PQfname) \
    X (PQfreemem) \
    X (PQgetisnull) \
    X (PQgetlength) \
    X (PQgetvalue) \
    X (PQlibVersion) \
    X (PQnfields) \
    X (PQntuples) \
    X (PQping) \
    X (PQpingParams) \
    X (PQprepare) \
    X (PQresultErrorField) \
    X (PQresultErrorMessage) \
    X (PQresultStatus) \
    X (PQserverVersion) \
    X (PQsetNoticeProcessor) \
    X (PQstatus) \
    X (PQtransactionStatus)

VS_DL_PQ_SYMS (VS_DL_EXTERN)

/* 0, or -ELIBACC with the error set (the package to install) */
int vs_dl_pq (void);

#ifndef VS_DL_IMPL
#undef PQclear
#undef PQcmdTuples
#undef PQconninfoFree
#undef PQconninfoParse
#undef PQconnectdb
#undef PQconnectdbParams
#undef PQerrorMessage
#undef PQescapeIdentifier
#undef PQescapeLiteral
#undef PQexec
#undef PQexecParams
#undef PQexecPrepared
#undef PQfinish
#undef PQfname
#undef PQfreemem
#undef PQgetisnull
#undef PQgetlength
#undef PQgetvalue
#undef PQlibVersion
#undef PQnfields
#undef PQntuples
#undef PQping
#undef PQpingParams
#undef PQprepare
#undef PQresultErrorField
#undef PQresultErrorMessage
#undef PQresultStatus
#undef PQserverVersion
#undef PQsetNoticeProcessor
#undef PQstatus
#undef PQtransactionStatus
#define PQclear (*vs_dl_PQclear)
#define PQcmdTuples (*vs_dl_PQcmdTuples)
#define PQconninfoFree (*vs_dl_PQconninfoFree)
#define PQconninfoParse (*vs_dl_PQconninfoParse)
#define PQconnectdb (*vs_dl_PQconnectdb)
#define PQconnectdbParams (*vs_dl_PQconnectdbParams)
#define PQerrorMessage (*vs_dl_PQerrorMessage)
#define PQescapeIdentifier (*vs_dl_PQescapeIdentifier)
#define PQescapeLiteral (*vs_dl_PQescapeLiteral)
#define PQexec (*vs_dl_PQexec)
#define PQexecParams (*vs_dl_PQexecParams)
#define PQexecPrepared (*vs_dl_PQexecPrepared)
#define PQfinish (*vs_dl_PQfinish)
#define PQfname (*vs_dl_PQfname)
#define PQfreemem (*vs_dl_PQfreemem)
#define PQgetisnull (*vs_dl_PQgetisnull)
#define PQgetlength (*vs_dl_PQgetlength)
#define PQgetvalue (*vs_dl_PQgetvalue)
#define PQlibVersion (*vs_dl_PQlibVersion)
#define PQnfields (*vs_dl_PQnfields)
#define PQntuples (*vs_dl_PQntuples)
#define PQping (*vs_dl_PQping)
#define PQpingParams (*vs_dl_PQpingParams)
#define PQprepare (*vs_dl_PQprepare)
#define PQresultErrorField (*vs_dl_PQresultErrorField)
#define PQresultErrorMessage (*vs_dl_PQresultErrorMessage)
#define PQresultStatus (*vs_dl_PQresultStatus)
#define PQserverVersion (*vs_dl_PQserverVersion)
#define PQsetNoticeProcessor (*vs_dl_PQsetNoticeProcessor)
#define PQstatus (*vs_dl_PQstatus)
#define PQtransactionStatus (*vs_dl_PQtransactionStatus)
#endif

#endif
