/* vSphere Web Services client (internal API, not installed).
 *
 * What vmshift needs from a vCenter (or a standalone ESXi): the VMs with
 * their disks, NICs, guest IPs and snapshots, the datastores they live on,
 * and a few actions (guest shutdown, power on/off, VM snapshots).  SOAP
 * over HTTPS, per VMware's vSphere Web Services API reference
 * (https://developer.vmware.com/apis/vsphere-automation/latest/ and the
 * vim25 WSDL); the facts used are listed in docs/vcenter.md.
 *
 * Layers, bottom up:
 *   transport   ontap/http.c's libcurl transport (peer "vCenter", cookies)
 *   soap.c      envelopes, login/logout, the session cookie, one re-login
 *               on NotAuthenticated, faults -> errno + one-line message
 *   reply.c     the only file that includes libxml2: replies decoded into
 *               the structs below (pure, fuzzed)
 *   inventory.c container view + paged RetrievePropertiesEx, folder
 *               paths, datastore -> ONTAP volume mapping
 *   actions.c   ShutdownGuest, PowerOn/PowerOff, snapshots, task polling
 *   config.c    "vcenters" profiles in the ONTAP configuration file
 *
 * Conventions as in ontap/: 0 or a negative errno with the error set;
 * out-params written only on success; passwords never in messages or
 * logs.  A client is used by one thread at a time.
 */
#ifndef VMSHIFT_VSPHERE_H
#define VMSHIFT_VSPHERE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/base/log.h"
#include "engine/base/sbuf.h"
#include "engine/base/vector.h"

/* ------------------------------------------------------------ limits */

#define VSPHERE_BODY_MAX ((size_t) 256 << 20)  /* one reply */
#define VSPHERE_PAGE_OBJECTS 1000u              /* maxObjects per page */
#define VSPHERE_PAGES_MAX 10000u                /* ContinueRetrieve hops */
#define VSPHERE_OBJECTS_MAX 1000000u            /* over all pages */
#define VSPHERE_NAME_MAX 1024u                  /* any name we keep */
#define VSPHERE_MOREF_MAX 128u                  /* a moref's value */
#define VSPHERE_CALL_TIMEOUT_S 300u

/* ---------------------------------------------------------- profiles */

/* {"vcenters": {"NAME": {"url": "https://vc.example.com[/sdk]",
 *   "username": "u", "password_file": "/abs" | "password_env": "VAR",
 *   "ca_file": "/abs" | "fingerprint_sha256": "AB:.." | "insecure": true,
 *   "task_deadline": 600}}} */
struct vsphere_profile {
    char *name;
    char *base;                 /* "https://host[:port]" */
    char *path;                 /* "/sdk" unless the URL says otherwise */
    char *username;
    char *password_file;
    char *password_env;
    char *ca_file;
    char *fingerprint_sha256;   /* normalised "AB:CD:..", 32 bytes */
    bool insecure;
    unsigned task_deadline;     /* seconds, default 600 */
};

int vsphere_profile_parse (const char *buf, size_t len, const char *what,
                           const char *name, const struct logger *lg,
                           struct vsphere_profile **out);
/* NULL config_path: ontap_config_default_path(). */
int vsphere_profile_load (const char *config_path, const char *name,
                          const struct logger *lg,
                          struct vsphere_profile **out);
void vsphere_profile_free (struct vsphere_profile *p);
/* Names of the ONTAP profiles ("profiles") in the same file, for the
 * datastore mapping; an absent file or section gives none. */
int vsphere_ontap_profile_names (const char *config_path, char ***names,
                                 size_t *n);
void vsphere_strv_free (char **v, size_t n);

/* ------------------------------------------------------------ morefs */

struct vsphere_moref {
    char type[48];
    char value[VSPHERE_MOREF_MAX];
};
bool vsphere_moref_eq (const struct vsphere_moref *a,
                       const struct vsphere_moref *b);

/* -------------------------------------------------------- the model */

enum vsphere_net_kind {
    VSPHERE_NET_NONE = 0, VSPHERE_NET_STANDARD, VSPHERE_NET_DISTRIBUTED,
    VSPHERE_NET_OPAQUE,
};

/* What VMware Tools report of the guest's IP configuration (guest.net[]
 * .ipConfig, .dnsConfig and guest.ipStack[], vSphere API reference:
 * GuestNicInfo, NetIpConfigInfoIpAddress, GuestStackInfo). */
struct vsphere_ipaddr {
    char *address;
    int32_t prefix;
    char *origin;               /* "manual", "dhcp", "linklayer", "random",
                                 * "other"; NULL if absent */
    char *state;                /* "preferred", ...; NULL if absent */
};

struct vsphere_dns {
    char **servers;
    size_t n_servers;
    char *domain;               /* domainName, NULL if absent */
    char **search;
    size_t n_search;
};

struct vsphere_route {
    char *network;
    int32_t prefix;
    char *gateway;              /* gateway.ipAddress, NULL if absent */
    char *device;               /* gateway.device, NULL if absent */
};

struct vsphere_nic {
    int32_t key;
    char *label;                /* deviceInfo.label, NULL if absent */
    char *mac;
    enum vsphere_net_kind kind;
    char *network;              /* standard: backing deviceName */
    struct vsphere_moref network_ref;   /* standard: backing network */
    char *portgroup_key;        /* distributed: port.portgroupKey */
    char **ips;                 /* from guest.net */
    size_t n_ips;
    struct vsphere_ipaddr *addrs;       /* guest.net[].ipConfig */
    size_t n_addrs;
    struct vsphere_dns dns;             /* guest.net[].dnsConfig */
    int32_t guest_index;        /* its index in guest.net, -1 if none */
};
DEFINE_VECTOR (vsphere_nic_vec, struct vsphere_nic);

struct vsphere_disk {
    int32_t key;
    int32_t controller_key;
    int32_t unit;               /* -1 if absent */
    char controller[32];        /* "scsi0:1", "ide0:0", "sata0:2", "nvme0:0" */
    char *file;                 /* "[ds01] web01/web01.vmdk" */
    struct vsphere_moref datastore;
    uint64_t capacity;          /* bytes */
    bool thin;
    bool rdm;
    char *mode;                 /* diskMode, NULL if absent */
    char *sharing;              /* NULL if absent */
    char *backing_type;         /* xsi:type of the backing */
};
DEFINE_VECTOR (vsphere_disk_vec, struct vsphere_disk);

struct vsphere_controller {
    int32_t key;
    char kind[8];               /* "scsi", "ide", "sata", "nvme" */
    int32_t bus;
};
DEFINE_VECTOR (vsphere_controller_vec, struct vsphere_controller);

struct vsphere_snapshot {
    struct vsphere_moref ref;
    char *name;
    char *description;
    char *create_time;
    unsigned depth;             /* 0 for a root snapshot */
};
DEFINE_VECTOR (vsphere_snapshot_vec, struct vsphere_snapshot);

struct vsphere_blocker {
    char *kind;                 /* "rdm", "independent", "multi-writer",
                                 * "pci-passthrough" */
    char *device;               /* "scsi0:1", "pci:KEY" */
};
DEFINE_VECTOR (vsphere_blocker_vec, struct vsphere_blocker);

struct vsphere_vm {
    struct vsphere_moref self;
    struct vsphere_moref parent;        /* folder, "" if absent */
    char *name;
    char *instance_uuid;
    char *power_state;          /* "poweredOn", "poweredOff", "suspended" */
    char *guest_id;
    char *firmware;             /* "bios", "efi" */
    bool secure_boot;
    bool is_template;
    uint32_t cpus;
    uint64_t memory_mib;
    char *tools_status;
    char *tools_running;
    struct vsphere_nic_vec nics;
    struct vsphere_disk_vec disks;
    struct vsphere_controller_vec controllers;
    struct vsphere_snapshot_vec snapshots;      /* depth first */
    struct vsphere_blocker_vec blockers;
    struct vsphere_route *routes;       /* guest.ipStack[0].ipRouteConfig */
    size_t n_routes;
    struct vsphere_dns dns;             /* guest.ipStack[0].dnsConfig */
};
DEFINE_VECTOR (vsphere_vm_vec, struct vsphere_vm);

struct vsphere_datastore {
    struct vsphere_moref self;
    char *name;
    char *type;                 /* summary.type: "NFS", "NFS41", "VMFS",
                                 * "vsan", ... */
    char *url;
    char *remote_host;          /* NAS only */
    char *remote_path;
};
DEFINE_VECTOR (vsphere_datastore_vec, struct vsphere_datastore);

struct vsphere_network {
    struct vsphere_moref self;
    char *name;
    char *key;                  /* distributed port groups */
};
DEFINE_VECTOR (vsphere_network_vec, struct vsphere_network);

struct vsphere_folder {         /* Folder and Datacenter */
    struct vsphere_moref self;
    struct vsphere_moref parent;
    char *name;
};
DEFINE_VECTOR (vsphere_folder_vec, struct vsphere_folder);

struct vsphere_inventory {
    struct vsphere_vm_vec vms;
    struct vsphere_datastore_vec datastores;
    struct vsphere_network_vec networks;
    struct vsphere_folder_vec folders;
};
void vsphere_inventory_release (struct vsphere_inventory *inv);
void vsphere_vm_release (struct vsphere_vm *vm);
/* Free every snapshot of v (their strings) and empty it. */
void vsphere_snapshots_free (struct vsphere_snapshot_vec *v);

/* ------------------------------------------------------------ replies */

struct vsphere_service_content {
    struct vsphere_moref root_folder;
    struct vsphere_moref property_collector;
    struct vsphere_moref view_manager;
    struct vsphere_moref session_manager;
    char api_type[32];          /* "VirtualCenter" or "HostAgent" */
    char api_version[32];
};

struct vsphere_fault {
    char type[64];              /* "InvalidLogin", "NotAuthenticated", ... */
    char *message;              /* faultstring, NULL if absent */
};
void vsphere_fault_release (struct vsphere_fault *f);

enum vsphere_task_state {
    VSPHERE_TASK_QUEUED = 1, VSPHERE_TASK_RUNNING, VSPHERE_TASK_SUCCESS,
    VSPHERE_TASK_ERROR,
};
struct vsphere_task_info {
    enum vsphere_task_state state;
    struct vsphere_moref result;        /* a moref result, "" if none */
    struct vsphere_fault error;         /* state ERROR */
};

/* 1 and *out if the reply is a SOAP fault, 0 if not, -EPROTO if it is not
 * a SOAP envelope at all. */
int vsphere_decode_fault (const char *buf, size_t len,
                          struct vsphere_fault *out);
int vsphere_decode_service_content (const char *buf, size_t len,
                                    struct vsphere_service_content *out);
/* The <returnval> of a reply as a moref (CreateContainerView, tasks). */
int vsphere_decode_returnval_moref (const char *buf, size_t len,
                                    const char *what,
                                    struct vsphere_moref *out);
/* One page of RetrievePropertiesEx/ContinueRetrievePropertiesEx: objects
 * added to inv, *token the continuation (NULL on the last page). */
int vsphere_decode_retrieve (const char *buf, size_t len, const char *what,
                             struct vsphere_inventory *inv, char **token);
/* A RetrievePropertiesEx reply for one Task's "info". */
int vsphere_decode_task_info (const char *buf, size_t len, const char *what,
                              struct vsphere_task_info *out);
/* A RetrievePropertiesEx reply for one VM's power state and snapshots
 * (runtime.powerState, snapshot): *power (caller frees), snaps. */
int vsphere_decode_vm_state (const char *buf, size_t len, const char *what,
                             char **power, struct vsphere_snapshot_vec *snaps);

/* XML text escaping for request bodies: & < > " ' and control characters
 * other than tab/newline are refused (-EINVAL naming what). */
int vsphere_xml_escape (struct sbuf *b, const char *s, const char *what);

/* ------------------------------------------------------------- client */

struct ontap_transport;
struct vsphere_client;

struct vsphere_stats {
    uint64_t requests;          /* SOAP round trips */
    uint64_t logins;
    uint64_t relogins;          /* after NotAuthenticated */
    uint64_t pages;             /* property retrieval pages */
    uint64_t bytes_received;
};

int vsphere_client_new (const struct vsphere_profile *p,
                        const struct logger *lg, struct vsphere_client **out);
/* Over a given transport (tests); takes it even on failure. */
int vsphere_client_new_take (const struct vsphere_profile *p,
                             const struct logger *lg,
                             struct ontap_transport *t_take,
                             struct vsphere_client **out);
/* Logs out when logged in, then frees. */
void vsphere_client_free (struct vsphere_client *c);
/* RetrieveServiceContent + SessionManager.Login.  A refused login is
 * -EKEYREJECTED and is never retried. */
int vsphere_connect (struct vsphere_client *c);
int vsphere_logout (struct vsphere_client *c);
void vsphere_client_stats (const struct vsphere_client *c,
                           struct vsphere_stats *st);
const struct vsphere_service_content *
vsphere_client_content (const struct vsphere_client *c);
const struct vsphere_profile *
vsphere_client_profile (const struct vsphere_client *c);
/* Test hook: the clock used for task deadlines and polling. */
struct vsphere_clock {
    uint64_t (*now_ms) (void *opaque);
    void (*sleep_ms) (void *opaque, uint64_t ms);
    void *opaque;
};
void vsphere_client_set_clock (struct vsphere_client *c,
                               const struct vsphere_clock *clk);

/* Internal to the client's files. */
uint64_t vsphere_client_now (struct vsphere_client *c);
void vsphere_client_sleep (struct vsphere_client *c, uint64_t ms);
unsigned vsphere_client_generation (const struct vsphere_client *c);
void vsphere_client_note_page (struct vsphere_client *c);
/* Log in again (the session ended); counted in relogins. */
int vsphere_relogin (struct vsphere_client *c);

/* One SOAP call: METHOD on THIS (a moref) with ARGS (XML already
 * escaped, may be NULL).  The reply body is left in *reply (initialised
 * here; release with vs_sbuf_release).  A fault becomes the errno of its
 * type with a one-line message naming METHOD and the fault; a
 * NotAuthenticated fault logs in again once and resends. */
int vsphere_call (struct vsphere_client *c, const char *method,
                  const struct vsphere_moref *this_ref, const char *args,
                  struct sbuf *reply);
/* errno for a fault type. */
int vsphere_fault_errno (const char *type);

/* ---------------------------------------------------------- inventory */

/* Every VM, datastore, network, folder and datacenter under the root
 * folder: one container view, paged RetrievePropertiesEx. */
int vsphere_inventory_fetch (struct vsphere_client *c,
                             struct vsphere_inventory *out);
/* Only the VMs' names (vsphere_vm_find). */
int vsphere_names_fetch (struct vsphere_client *c,
                         struct vsphere_inventory *out);
/* "/DC0/vm/sub" for the VM's folder (names joined by '/'). */
int vsphere_vm_folder_path (const struct vsphere_inventory *inv,
                            const struct vsphere_vm *vm, char **out);
const struct vsphere_datastore *
vsphere_find_datastore (const struct vsphere_inventory *inv,
                        const struct vsphere_moref *ref);
/* The port group name a NIC is on (standard or distributed). */
const char *vsphere_nic_network (const struct vsphere_inventory *inv,
                                 const struct vsphere_nic *n);
/* The path of a disk file inside its datastore: "[ds] a/b.vmdk" ->
 * "a/b.vmdk".  -EINVAL if the file does not start with "[NAME] ". */
int vsphere_ds_relpath (const char *file, const char *ds_name,
                        const char **rel);

/* ------------------------------------------------------------ actions */

/* Look a VM up by name through a property retrieval of the VM names
 * (ambiguous or missing: -EINVAL / -ENOENT). */
int vsphere_vm_find (struct vsphere_client *c, const char *name,
                     struct vsphere_moref *out);
int vsphere_vm_state (struct vsphere_client *c, const struct vsphere_moref *vm,
                      char **power, struct vsphere_snapshot_vec *snaps);
/* Wait for a task to end (polling info, with the profile's deadline):
 * 0 and its result moref, or the task's fault as an error. */
int vsphere_task_wait (struct vsphere_client *c,
                       const struct vsphere_moref *task, const char *what,
                       struct vsphere_moref *result);
int vsphere_vm_power_on (struct vsphere_client *c,
                         const struct vsphere_moref *vm);
int vsphere_vm_power_off (struct vsphere_client *c,
                          const struct vsphere_moref *vm);
/* ShutdownGuest, then wait up to deadline_s for poweredOff; then
 * PowerOffVM_Task if power_off, else -ETIMEDOUT with a message saying
 * what to do.  *forced (may be NULL) tells whether the power-off was
 * used.  A VM already powered off is left alone. */
int vsphere_vm_shutdown (struct vsphere_client *c,
                         const struct vsphere_moref *vm, unsigned deadline_s,
                         bool power_off, bool *forced);
/* The two halves of vsphere_vm_shutdown, for many VMs at once: ask
 * (ShutdownGuest unless the VM is off; *asked says whether it was sent),
 * then wait from 'start' (vsphere_client_now) as vsphere_vm_shutdown
 * does. */
int vsphere_vm_shutdown_ask (struct vsphere_client *c,
                             const struct vsphere_moref *vm, bool *asked);
int vsphere_vm_shutdown_wait (struct vsphere_client *c,
                              const struct vsphere_moref *vm, uint64_t start,
                              unsigned deadline_s, bool power_off,
                              bool *forced);
/* CreateSnapshot_Task without memory; *snap gets the new snapshot. */
int vsphere_snapshot_create (struct vsphere_client *c,
                             const struct vsphere_moref *vm, const char *name,
                             const char *description, bool quiesce,
                             struct vsphere_moref *snap);
/* RemoveSnapshot_Task of exactly this snapshot (children kept). */
int vsphere_snapshot_remove (struct vsphere_client *c,
                             const struct vsphere_moref *snap);

#endif
