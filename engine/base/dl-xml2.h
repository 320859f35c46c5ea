/* libxml2.so.2, loaded on first use (engine/base/dl.h).  Include this header,
 * never the library's own; call vs_dl_xml2() before the first call. */
#ifndef VMSHIFT_BASE_DL_XML2_H
#define VMSHIFT_BASE_DL_XML2_H

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlreader.h>

#include "engine/base/dl.h"

#define VS_DL_XML2_SYMS(X) \
    X (xmlDocGetRootElement) \
    X (xmlFree) \
    X (xmlFreeDoc) \
    X (xmlFreeTextReader) \
    X (xmlGetLastError) \
    X (xmlGetNoNsProp) \
    X (xmlGetNsProp) \
    X (xmlNodeGetContent) \
    X (xmlNodeListGetString) \
    X (xmlReadMemory) \
    X (xmlReaderForMemory) \
    X (xmlTextReaderConstLocalName) \
    X (xmlTextReaderDepth) \
    X (xmlTextReaderExpand) \
    X (xmlTextReaderNext) \
    X (xmlTextReaderNodeType) \
    X (xmlTextReaderRead) \
    X (xmlTextReaderSetErrorHandler)

VS_DL_XML2_SYMS (VS_DL_EXTERN)

/* 0, or -ELIBACC with the error set (the package to install) */
int vs_dl_xml2 (void);

#ifndef VS_DL_IMPL
#undef xmlDocGetRootElement
#undef xmlFree
#undef xmlFreeDoc
#undef xmlFreeTextReader
#undef xmlGetLastError
#undef xmlGetNoNsProp
#undef xmlGetNsProp
#undef xmlNodeGetContent
#undef xmlNodeListGetString
#undef xmlReadMemory
#undef xmlReaderForMemory
#undef xmlTextReaderConstLocalName
#undef xmlTextReaderDepth
#undef xmlTextReaderExpand
#undef xmlTextReaderNext
#undef xmlTextReaderNodeType
#undef xmlTextReaderRead
#undef xmlTextReaderSetErrorHandler
#define xmlDocGetRootElement (*vs_dl_xmlDocGetRootElement)
#define xmlFree (*vs_dl_xmlFree)
#define xmlFreeDoc (*vs_dl_xmlFreeDoc)
#define xmlFreeTextReader (*vs_dl_xmlFreeTextReader)
#define xmlGetLastError (*vs_dl_xmlGetLastError)
#define xmlGetNoNsProp (*vs_dl_xmlGetNoNsProp)
#define xmlGetNsProp (*vs_dl_xmlGetNsProp)
#define xmlNodeGetContent (*vs_dl_xmlNodeGetContent)
#define xmlNodeListGetString (*vs_dl_xmlNodeListGetString)
#define xmlReadMemory (*vs_dl_xmlReadMemory)
#define xmlReaderForMemory (*vs_dl_xmlReaderForMemory)
#define xmlTextReaderConstLocalName (*vs_dl_xmlTextReaderConstLocalName)
#define xmlTextReaderDepth (*vs_dl_xmlTextReaderDepth)
#define xmlTextReaderExpand (*vs_dl_xmlTextReaderExpand)
#define xmlTextReaderNext (*vs_dl_xmlTextReaderNext)
#define xmlTextReaderNodeType (*vs_dl_xmlTextReaderNodeType)
#define xmlTextReaderRead (*vs_dl_xmlTextReaderRead)
#define xmlTextReaderSetErrorHandler (*vs_dl_xmlTextReaderSetErrorHandler)
#endif

#endif
