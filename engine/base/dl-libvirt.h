/* libvirt.so.0, loaded on first use (engine/base/dl.h).  Include this header,
 * never the library's own; call vs_dl_libvirt() before the first call. */
#ifndef VMSHIFT_BASE_DL_LIBVIRT_H
#define VMSHIFT_BASE_DL_LIBVIRT_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "engine/base/dl.h"

#define VS_DL_LIBVIRT_SYMS(X) \
    X (virConnectClose) \
    X (virConnectGetLibVersion) \
    X (virConnectGetVersion) \
    X (virConnectIsAlive) \
    X (virConnectListAllDomains) \
    X (virConnectOpen) \
    X (virConnectOpenAuth) \
    X (virDomainCreate) \
    X (virDomainDefineXML) \
    X (virDomainDefineXMLFlags) \
    X (virDomainDestroy) \
    X (virDomainFree) \
    X (virDomainGetID) \
    X (virDomainGetName) \
    X (virDomainGetState) \
    X (virDomainGetUUIDString) \
    X (virDomainGetXMLDesc) \
    X (virDomainIsActive) \
    X (virDomainIsPersistent) \
    X (virDomainLookupByName) \
    X (virDomainLookupByUUIDString) \
    X (virDomainShutdown) \
    X (virDomainUndefine) \
    X (virDomainUndefineFlags) \
    X (virGetLastError) \
    X (virGetLastErrorMessage) \
    X (virResetLastError) \
    X (virSetErrorFunc) \
    X (virConnSetErrorFunc)

VS_DL_LIBVIRT_SYMS (VS_DL_EXTERN)

/* 0, or -ELIBACC with the error set (the package to install) */
int vs_dl_libvirt (void);

#ifndef VS_DL_IMPL
#undef virConnectClose
#undef virConnectGetLibVersion
#undef virConnectGetVersion
#undef virConnectIsAlive
#undef virConnectListAllDomains
#undef virConnectOpen
#undef virConnectOpenAuth
#undef virDomainCreate
#undef virDomainDefineXML
#undef virDomainDefineXMLFlags
#undef virDomainDestroy
#undef virDomainFree
#undef virDomainGetID
#undef virDomainGetName
#undef virDomainGetState
#undef virDomainGetUUIDString
#undef virDomainGetXMLDesc
#undef virDomainIsActive
#undef virDomainIsPersistent
#undef virDomainLookupByName
#undef virDomainLookupByUUIDString
#undef virDomainShutdown
#undef virDomainUndefine
#undef virDomainUndefineFlags
#undef virGetLastError
#undef virGetLastErrorMessage
#undef virResetLastError
#undef virSetErrorFunc
#undef virConnSetErrorFunc
#define virConnectClose (*vs_dl_virConnectClose)
#define virConnectGetLibVersion (*vs_dl_virConnectGetLibVersion)
#define virConnectGetVersion (*vs_dl_virConnectGetVersion)
#define virConnectIsAlive (*vs_dl_virConnectIsAlive)
#define virConnectListAllDomains (*vs_dl_virConnectListAllDomains)
#define virConnectOpen (*vs_dl_virConnectOpen)
#define virConnectOpenAuth (*vs_dl_virConnectOpenAuth)
#define virDomainCreate (*vs_dl_virDomainCreate)
#define virDomainDefineXML (*vs_dl_virDomainDefineXML)
#define virDomainDefineXMLFlags (*vs_dl_virDomainDefineXMLFlags)
#define virDomainDestroy (*vs_dl_virDomainDestroy)
#define virDomainFree (*vs_dl_virDomainFree)
#define virDomainGetID (*vs_dl_virDomainGetID)
#define virDomainGetName (*vs_dl_virDomainGetName)
#define virDomainGetState (*vs_dl_virDomainGetState)
#define virDomainGetUUIDString (*vs_dl_virDomainGetUUIDString)
#define virDomainGetXMLDesc (*vs_dl_virDomainGetXMLDesc)
#define virDomainIsActive (*vs_dl_virDomainIsActive)
#define virDomainIsPersistent (*vs_dl_virDomainIsPersistent)
#define virDomainLookupByName (*vs_dl_virDomainLookupByName)
#define virDomainLookupByUUIDString (*vs_dl_virDomainLookupByUUIDString)
#define virDomainShutdown (*vs_dl_virDomainShutdown)
#define virDomainUndefine (*vs_dl_virDomainUndefine)
#define virDomainUndefineFlags (*vs_dl_virDomainUndefineFlags)
#define virGetLastError (*vs_dl_virGetLastError)
#define virGetLastErrorMessage (*vs_dl_virGetLastErrorMessage)
#define virResetLastError (*vs_dl_virResetLastError)
#define virSetErrorFunc (*vs_dl_virSetErrorFunc)
#define virConnSetErrorFunc (*vs_dl_virConnSetErrorFunc)
#endif

#endif
