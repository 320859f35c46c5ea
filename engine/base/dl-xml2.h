/* libxml2.so.2, loaded on first use (engine/base/dl.h).  Include this header,
 * never the library's own; call vs_dl_xml2() before the first call. */
#ifndef VMSHIFT_BASE_DL_XML2_H
#define VMSHIFT_BASE_DL_XML2_H

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "engine/base/dl.h"

#define VS_DL_XML2_SYMS(X) \
    X (xmlDocGetRootElement) \
    X (xmlFree) \
    X (xmlFreeDoc) \
    X (xmlGetLastError) \
    X (xmlNodeGetContent) \
    X (xmlNodeListGetString) \
    X (xmlReadMemory)

VS_DL_XML2_SYMS (VS_DL_EXTERN)

/* 0, or -ELIBACC with the error set (the package to install) */
int vs_dl_xml2 (void);

#ifndef VS_DL_IMPL
#undef xmlDocGetRootElement
#undef xmlFree
#undef xmlFreeDoc
#undef xmlGetLastError
#undef xmlNodeGetContent
#undef xmlNodeListGetString
#undef xmlReadMemory
#define xmlDocGetRootElement (*vs_dl_xmlDocGetRootElement)
#define xmlFree (*vs_dl_xmlFree)
#define xmlFreeDoc (*vs_dl_xmlFreeDoc)
#define xmlGetLastError (*vs_dl_xmlGetLastError)
#define xmlNodeGetContent (*vs_dl_xmlNodeGetContent)
#define xmlNodeListGetString (*vs_dl_xmlNodeListGetString)
#define xmlReadMemory (*vs_dl_xmlReadMemory)
#endif

#endif
