/* The library handle: everything that would otherwise be global. */
#ifndef VMSHIFT_HANDLE_H
#define VMSHIFT_HANDLE_H

#include "engine/base/log.h"
#include "engine/vmshift.h"

struct vmshift_handle {
    struct logger log;
    char *config_path;          /* ONTAP profiles file, NULL = default */
};

/* Entry-point helper: clear the thread's error before a public call. */
void vs_api_enter (struct vmshift_handle *h);

#endif
