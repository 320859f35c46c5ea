/* A client for a libvirt connection (the libvirt C API): define a domain
 * from XML, start it, read its state back, and remove it.  The domain XML
 * itself comes from the pure emitter (hypervisors/libvirt.c); this is the
 * only code that talks to libvirt, as ontap/ is for ONTAP.
 *
 * Errors: -ENOENT for a domain that does not exist, -EEXIST for a name
 * defined with another UUID, -ECONNRESET for a lost connection
 * (VIR_ERR_RPC), -ETIMEDOUT for a timeout (VIR_ERR_OPERATION_TIMEOUT,
 * VIR_ERR_AGENT_UNRESPONSIVE), -EIO (or -EACCES, -ECONNREFUSED) for the
 * rest, with libvirt's message prefixed by the URI and the domain name.
 * The network errnos are retryable (docs/internals/errors.md).
 * libvirt's default error printing to stderr is turned off: the library
 * never prints. */
#ifndef VMSHIFT_HV_LIBVIRT_CONN_H
#define VMSHIFT_HV_LIBVIRT_CONN_H

#include <stdbool.h>
#include <stdint.h>

struct hv_lvc;

enum hv_lvc_state {
    HV_LVC_NOSTATE = 0, HV_LVC_RUNNING, HV_LVC_BLOCKED, HV_LVC_PAUSED,
    HV_LVC_SHUTDOWN, HV_LVC_SHUTOFF, HV_LVC_CRASHED, HV_LVC_PMSUSPENDED,
};

struct hv_lvc_info {
    enum hv_lvc_state state;
    int id;                     /* -1 when not running; the test driver and
                                 * qemu number domains in start order */
    char uuid[37];
    bool persistent;
};

int hv_lvc_open (const char *uri, struct hv_lvc **out);
void hv_lvc_close (struct hv_lvc *c);
const char *hv_lvc_uri (const struct hv_lvc *c);
/* Whether the connection still works (false: open a new one). */
bool hv_lvc_alive (const struct hv_lvc *c);

/* Define (or redefine) a persistent domain; its UUID into uuid. */
int hv_lvc_define (struct hv_lvc *c, const char *xml, char uuid[37]);
/* Start a defined domain; one that is already running is success
 * (*started = false then). */
int hv_lvc_start (struct hv_lvc *c, const char *name, bool *started);
int hv_lvc_info (struct hv_lvc *c, const char *name, struct hv_lvc_info *out);
/* Stop (hard) if running and undefine, with its NVRAM; a domain that does
 * not exist is success (0; *existed = false). */
int hv_lvc_remove (struct hv_lvc *c, const char *name, bool *existed);
const char *hv_lvc_state_name (enum hv_lvc_state s);

#endif
