/* libcjson.so.1, loaded on first use (engine/base/dl.h).  Include this header,
 * never the library's own; call vs_dl_cjson() before the first call. */
#ifndef VMSHIFT_BASE_DL_CJSON_H
#define VMSHIFT_BASE_DL_CJSON_H

#include <cjson/cJSON.h>

#include "engine/base/dl.h"

#define VS_DL_CJSON_SYMS(X) \
    X (cJSON_Delete) \
    X (cJSON_GetArrayItem) \
    X (cJSON_GetArraySize) \
    X (cJSON_GetErrorPtr) \
    X (cJSON_GetObjectItemCaseSensitive) \
    X (cJSON_IsArray) \
    X (cJSON_IsBool) \
    X (cJSON_IsNull) \
    X (cJSON_IsNumber) \
    X (cJSON_IsObject) \
    X (cJSON_IsString) \
    X (cJSON_IsTrue) \
    X (cJSON_ParseWithLengthOpts) \
    X (cJSON_PrintUnformatted)

VS_DL_CJSON_SYMS (VS_DL_EXTERN)

/* 0, or -ELIBACC with the error set (the package to install) */
int vs_dl_cjson (void);

#ifndef VS_DL_IMPL
#undef cJSON_Delete
#undef cJSON_GetArrayItem
#undef cJSON_GetArraySize
#undef cJSON_GetErrorPtr
#undef cJSON_GetObjectItemCaseSensitive
#undef cJSON_IsArray
#undef cJSON_IsBool
#undef cJSON_IsNull
#undef cJSON_IsNumber
#undef cJSON_IsObject
#undef cJSON_IsString
#undef cJSON_IsTrue
#undef cJSON_ParseWithLengthOpts
#undef cJSON_PrintUnformatted
#define cJSON_Delete (*vs_dl_cJSON_Delete)
#define cJSON_GetArrayItem (*vs_dl_cJSON_GetArrayItem)
#define cJSON_GetArraySize (*vs_dl_cJSON_GetArraySize)
#define cJSON_GetErrorPtr (*vs_dl_cJSON_GetErrorPtr)
#define cJSON_GetObjectItemCaseSensitive (*vs_dl_cJSON_GetObjectItemCaseSensitive)
#define cJSON_IsArray (*vs_dl_cJSON_IsArray)
#define cJSON_IsBool (*vs_dl_cJSON_IsBool)
#define cJSON_IsNull (*vs_dl_cJSON_IsNull)
#define cJSON_IsNumber (*vs_dl_cJSON_IsNumber)
#define cJSON_IsObject (*vs_dl_cJSON_IsObject)
#define cJSON_IsString (*vs_dl_cJSON_IsString)
#define cJSON_IsTrue (*vs_dl_cJSON_IsTrue)
#define cJSON_ParseWithLengthOpts (*vs_dl_cJSON_ParseWithLengthOpts)
#define cJSON_PrintUnformatted (*vs_dl_cJSON_PrintUnformatted)
#endif

#endif
