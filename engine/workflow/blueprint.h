/* Blueprints: a wave of VMs to migrate together (docs/blueprint.md).
 * The parser only reads the JSON document; what needs the source (the
 * .vmx files, their networks, lock files) is the preflight's job. */
#ifndef VMSHIFT_WORKFLOW_BLUEPRINT_H
#define VMSHIFT_WORKFLOW_BLUEPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hypervisors/hv.h"

#define WF_BP_MAX_BYTES (4 << 20)
#define WF_BP_MAX_VMS 4096
#define WF_BP_MAX_GROUPS 64
#define WF_BP_NAME_MAX 63
#define WF_BP_CONCURRENCY_DEFAULT 10
#define WF_BP_CONCURRENCY_MAX 64
#define WF_BP_BOOT_ORDER_DEFAULT 3
#define WF_BP_BOOT_DELAY_MAX 3600
#define WF_BP_SHUTDOWN_DEFAULT 300
#define WF_BP_SHUTDOWN_MAX 86400

enum wf_bp_ip { WF_BP_IP_RETAIN = 0, WF_BP_IP_DHCP, WF_BP_IP_NONE };

/* What a run needs to know about a target beyond its definition driver
 * (hypervisors/targets.def): one row per target, in blueprint.c. */
enum wf_register {
    WF_REG_API = 0,     /* defined and started through an API (libvirt) */
    WF_REG_PS1,         /* register.ps1 runs the definition (Hyper-V) */
    WF_REG_PVE,         /* register.sh with pvesm/qm (Proxmox) */
    WF_REG_KUBECTL,     /* register.sh with kubectl apply (KubeVirt) */
};
enum wf_disk_path {
    WF_DP_FOLDER = 0,   /* the folder the host sees the disks in */
    WF_DP_STORAGE,      /* a storage id (target.storage) */
    WF_DP_EXPORT,       /* an NFS export for volumes (target.host_path) */
};
struct wf_target {
    const char *def_ext;        /* the definition file's extension */
    enum wf_register reg;
    enum wf_disk_path disk_path;
    bool needs_vmid;
};
const struct wf_target *wf_target_of (enum hv_target t);

struct wf_bp_group {
    char *name;
    int boot_order;             /* 1..5 */
    unsigned boot_delay;        /* seconds after this group starts */
    char *folder;               /* vCenter source: every VM in this folder
                                 * (and below) joins the group; NULL */
};

struct wf_bp_vm {
    char *name;                 /* key in "vms" */
    char *vmx;                  /* relative to the datastore, or a location;
                                 * NULL with a vCenter source (the VM is
                                 * the one of this name there) */
    size_t group;               /* index into groups */
    char *target_name;          /* defaults to name */
    char *format;               /* NULL: the target's */
    unsigned cpus;              /* 0 = the VM's */
    uint64_t memory_mib;        /* 0 = the VM's */
    bool power_on;              /* default true */
    int retain_mac;             /* -1 = the network map's */
    unsigned vmid;              /* Proxmox; 0 = vmid_start + index */
};

/* target.locations: the target folder for the VMs of one ONTAP volume
 * (docs/blueprint.md "VMs on several volumes"). */
struct wf_bp_loc {
    char *volume;               /* the key: a volume name */
    char *location;             /* ontap://PROFILE/VOLUME[/FOLDER] */
};

struct wf_blueprint {
    char *name;
    char *datastore;            /* ontap://P/V[/dir], nfs://..., or a path;
                                 * NULL with a vCenter source */
    bool allow_powered_on;
    /* vCenter source (docs/blueprint.md "A vCenter source") */
    char *vcenter;              /* profile name, NULL for a datastore */
    unsigned shutdown_timeout;  /* seconds for a graceful shutdown */
    bool power_off_after;       /* then power off instead of stopping */
    bool vm_snapshot;           /* take the run's own VM snapshot */
    bool quiesce;               /* ... quiesced (VMware Tools) */
    enum hv_target hypervisor;
    char *uri;                  /* libvirt connection URI */
    char *format;               /* target disk format */
    char *location;             /* target folder or qtree; may hold
                                 * {volume} (wf_bp_location_for); NULL
                                 * when target.locations says it all */
    char *test_location;        /* for --test; default location + "-test" */
    struct wf_bp_loc *locations;    /* target.locations, as listed */
    size_t nlocations;
    char *host_path;            /* where the hypervisor host sees location;
                                 * NULL: location itself (local) */
    char *namespace_;           /* KubeVirt */
    char *storage;              /* Proxmox storage id, default "local" */
    unsigned vmid_start;        /* Proxmox */
    bool qtree_fix;             /* target.qtree_style "fix": change an
                                 * existing qtree's security style */
    char *network_map;          /* the "network_map" object as JSON, or NULL */
    struct hv_netmap map;
    enum wf_bp_ip ip;
    unsigned concurrency;
    struct wf_bp_group *groups;
    size_t ngroups;
    struct wf_bp_vm *vms;       /* in boot order, then as listed in groups */
    size_t nvms;
};

/* Parse a blueprint.  'what' names it in messages ("'wave1.json'").
 * Every error is -EINVAL (or -EFBIG, -ENOMEM) with one line naming the
 * key: "'wave1.json': groups[1].vms[0]: VM 'db01' is also in group 'db'". */
int wf_blueprint_parse (const char *buf, size_t len, const char *what,
                        struct wf_blueprint *out);
void wf_blueprint_release (struct wf_blueprint *bp);
/* A VM a vCenter folder group brings in: the name and its group. */
struct wf_bp_pick {
    const char *name;
    size_t group;
};
/* The blueprint text with the picked VMs written into their groups'
 * "vms" (and into "vms" with no settings) and the groups' "folder" keys
 * gone, so the run keeps the wave it started with.  A picked VM the
 * text names already is left where it is.  *out: caller frees. */
int wf_blueprint_expand (const char *buf, size_t len, const char *what,
                         const struct wf_bp_pick *picks, size_t n,
                         char **out);
/* Where a VM whose disks are on ONTAP volume VOLUME of profile PROFILE
 * goes (both NULL: its disks are not on ONTAP): target.locations[VOLUME],
 * else target.location (or test_location) with {volume} expanded; a test
 * run's location from target.locations is that + "-test".  An ontap://
 * result must be on the disks' volume (ONTAP clones only within one).
 * Errors name the key, without the file: "target.locations: no location
 * for volume 'ds02' ...".  *out: caller frees. */
int wf_bp_location_for (const struct wf_blueprint *bp, bool test,
                        const char *profile, const char *volume, char **out);
/* S with every {volume} replaced by VOLUME (NULL: S as it is, or NULL if
 * S holds {volume}).  Caller frees; NULL also when out of memory. */
char *wf_bp_expand_volume (const char *s, const char *volume);
const char *wf_bp_ip_name (enum wf_bp_ip ip);
/* The default disk format of a hypervisor target. */
const char *wf_bp_default_format (enum hv_target t);
/* The name a VM gets at the target; test runs mark it. Caller frees. */
char *wf_bp_target_name (const struct wf_bp_vm *vm, bool test);

#endif
