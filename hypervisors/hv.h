/* hypervisors/: the VM model read from VMware .vmx (and OVF) files, the
 * network map, and the emitters that turn the model into target VM
 * definitions (Hyper-V PowerShell, libvirt domain XML, Proxmox qm config,
 * KubeVirt VirtualMachine).  Pure code: buffers in, text out, no I/O.
 *
 * Errors follow engine/base/error.h: 0 or -errno with a one-line message.
 * Things that are not fatal (a duplicate key, a feature that will not
 * carry over) become warnings in the model, in the order found.
 */
#ifndef VMSHIFT_HV_H
#define VMSHIFT_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/base/sbuf.h"
#include "engine/base/vector.h"

/* Input caps (documented in docs/targets.md).  A real .vmx is a few KiB
 * with a few hundred keys. */
#define HV_VMX_MAX_BYTES ((size_t) 4 << 20)
#define HV_VMX_MAX_KEYS 65536
#define HV_MAX_WARNINGS 200
#define HV_MAX_MEMORY_MIB (UINT64_C (24) << 20)       /* 24 TiB (vSphere 8) */
#define HV_MIN_MEMORY_MIB 4
#define HV_MAX_VCPUS 768                              /* vSphere 8 */
#define HV_MAX_NICS 10
#define HV_TEXT_MAX ((size_t) 16 << 20)               /* emitted text */

/* ---------------------------------------------------------- VMX grammar */

struct hv_kv {
    char *key;          /* as written (original case) */
    char *lkey;         /* lower case, for lookups */
    char *value;        /* unescaped, UTF-8 */
    unsigned line;
};
DEFINE_VECTOR (hv_kv_vec, struct hv_kv);
DEFINE_VECTOR (hv_str_vec, char *);

/* Parsed key/value file, sorted by lkey (lookup is a binary search);
 * of duplicate keys the last one wins and a warning says so. */
struct hv_vmx {
    struct hv_kv_vec kv;
    char *encoding;     /* .encoding, NULL when absent */
};

/* Parse a .vmx.  'name' names the file in messages.  Warnings are
 * appended to *warn.  Errors: -EINVAL (syntax, binary data, line given),
 * -EFBIG (over the caps), -ENOMEM. */
int hv_vmx_parse (const char *buf, size_t len, const char *name,
                  struct hv_vmx *out, struct hv_str_vec *warn);
void hv_vmx_release (struct hv_vmx *v);
/* Case-insensitive lookup; NULL when absent. */
const char *hv_vmx_get (const struct hv_vmx *v, const char *key);
/* Printf-style key. */
const char *hv_vmx_getf (const struct hv_vmx *v, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* VMware booleans: "TRUE"/"true"/"1"/"yes" (any case); dflt if absent. */
bool hv_vmx_bool (const struct hv_vmx *v, bool dflt, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* ------------------------------------------------------------- VM model */

enum hv_firmware { HV_FW_BIOS = 0, HV_FW_EFI = 1 };
enum hv_bus { HV_BUS_IDE = 0, HV_BUS_SCSI, HV_BUS_SATA, HV_BUS_NVME };
enum hv_os_family { HV_OS_OTHER = 0, HV_OS_LINUX, HV_OS_WINDOWS };
enum hv_dev_kind { HV_DEV_DISK = 0, HV_DEV_CDROM, HV_DEV_PASSTHRU };
enum hv_disk_mode {
    HV_MODE_PERSISTENT = 0, HV_MODE_INDEP_PERSISTENT,
    HV_MODE_INDEP_NONPERSISTENT, HV_MODE_NONPERSISTENT, HV_MODE_UNDOABLE,
    HV_MODE_APPEND,
};

struct hv_controller {
    enum hv_bus bus;
    unsigned index;
    char *model;        /* scsi: lsilogic, lsisas1068, pvscsi, buslogic */
};
DEFINE_VECTOR (hv_ctrl_vec, struct hv_controller);

struct hv_disk {
    enum hv_dev_kind kind;
    enum hv_bus bus;
    unsigned ctrl;      /* controller index (scsi0 -> 0) */
    unsigned unit;      /* unit on that controller (scsi0:3 -> 3) */
    char *file;         /* fileName as written, may be NULL (cdrom) */
    char *device_type;  /* deviceType as written, may be NULL */
    enum hv_disk_mode mode;
    bool start_connected;
    bool client_device;
    bool rdm;           /* raw device mapping (from the descriptor) */
    bool snapshot;      /* file is a snapshot delta (name-000001.vmdk) */
    uint64_t capacity;  /* bytes, 0 = unknown */
    char *target_name;  /* converted disk's base name, no extension */
};
DEFINE_VECTOR (hv_disk_vec, struct hv_disk);

struct hv_nic {
    unsigned index;     /* ethernetN */
    char *model;        /* virtualDev as written (lower case), NULL=default */
    char *network;      /* the mapping key (see hv_nic_network()) */
    char *connection;   /* connectionType, NULL = bridged */
    char *address_type; /* generated, vpx, static */
    char mac[18];       /* "00:50:56:aa:bb:cc", "" when none */
    bool start_connected;
};
DEFINE_VECTOR (hv_nic_vec, struct hv_nic);

struct hv_vm {
    char *source;               /* "vmx" or "ovf" */
    char *name;
    char *guest_os;             /* guestOS id ("windows2019srv-64") */
    char *annotation;
    unsigned hw_version;        /* virtualHW.version, 0 = unknown */
    unsigned vcpus;
    unsigned cores_per_socket;
    uint64_t memory_mib;
    enum hv_firmware firmware;
    bool secure_boot;
    bool vtpm;
    char uuid_bios[37];         /* canonical, "" when absent */
    char uuid_location[37];
    char vc_uuid[37];
    char genid[37];             /* VM generation id, "" when absent */
    struct hv_ctrl_vec ctrls;
    struct hv_disk_vec disks;   /* disks, cdroms, passthrough, by slot */
    struct hv_nic_vec nics;
    struct hv_str_vec warnings;
    struct hv_vmx vmx;          /* every key, known or not */
};

/* Build the model from a .vmx buffer.  fallback_name is used when the
 * file has no displayName (the file's base name). */
int hv_vm_from_vmx (const char *buf, size_t len, const char *name,
                    const char *fallback_name, struct hv_vm **out);
/* Build the model from an OVF descriptor (libxml2, no network, no
 * entities; a DTD declaring entities is rejected). */
int hv_vm_from_ovf (const char *buf, size_t len, const char *name,
                    struct hv_vm **out);
void hv_vm_free (struct hv_vm *vm);
int hv_vm_warn (struct hv_vm *vm, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* Sort devices by (bus, ctrl, unit), drop later duplicates of a slot with
 * a warning, name converted disks, and add the "will not carry over"
 * warnings.  Called by both readers. */
int hv_vm_finish (struct hv_vm *vm);
/* Recompute warnings that depend on capacity/rdm after the engine has
 * read the disk descriptors. */
int hv_vm_note_disk (struct hv_vm *vm, size_t i);

enum hv_os_family hv_os_family (const char *guest_os);
const char *hv_bus_name (enum hv_bus b);
const char *hv_mode_name (enum hv_disk_mode m);
const char *hv_kind_name (enum hv_dev_kind k);
/* Number of real disks (kind DISK). */
size_t hv_vm_disk_count (const struct hv_vm *vm);
/* Index of the boot disk in vm->disks (the first DISK in slot order,
 * following bios.bootOrder/bootOrder when it names a device), or
 * (size_t) -1 when the VM has no disk. */
size_t hv_vm_boot_disk (const struct hv_vm *vm);

/* Describe the model: text for people, JSON for scripts. */
char *hv_vm_describe (const struct hv_vm *vm, bool json);

/* "56 4d 96 af e6 46 bd 86-5c 4d 65 4e 77 36 ef 31" -> canonical form. */
int hv_uuid_from_vmx (const char *s, char out[37]);
/* vm.genid / vm.genidX (signed 64-bit decimals) -> canonical GUID. */
int hv_genid_from_vmx (const char *lo, const char *hi, char out[37]);
/* "00:0C:29:AA:BB:CC" (also '-' separated) -> lower-case colon form. */
int hv_mac_normalize (const char *s, char out[18]);
/* Parse a decimal unsigned in [min, max]; -EINVAL otherwise. */
int hv_parse_uint (const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Capacity and kind from a VMDK text descriptor (sum of the extent
 * sizes).  -EINVAL when buf is not a text descriptor. */
int hv_vmdk_desc_info (const char *buf, size_t len, uint64_t *capacity,
                       bool *rdm);

/* --------------------------------------------------------- network map */

/* Target hypervisors: one constant per line of hypervisors/targets.def. */
enum hv_target {
#define HV_TARGET(id, value, driver) HV_TARGET_##id = value,
#include "hypervisors/targets.def"
#undef HV_TARGET
};
/* One more than the largest target value (arrays indexed by target). */
union hv_target_values {
#define HV_TARGET(id, value, driver) char id[value + 1];
#include "hypervisors/targets.def"
#undef HV_TARGET
};
#define HV_TARGET_LIMIT sizeof (union hv_target_values)

struct hv_netmap_entry {
    char *source;       /* port group / network name; "*" = any other */
    char *target;
    int vlan;           /* 0 = none, 1..4094 */
};
DEFINE_VECTOR (hv_netmap_vec, struct hv_netmap_entry);

enum hv_bus_choice { HV_CHOICE_AUTO = 0, HV_CHOICE_VIRTIO, HV_CHOICE_SATA,
                     HV_CHOICE_SCSI, HV_CHOICE_E1000E };

struct hv_netmap {
    struct hv_netmap_vec nets;
    int retain_mac;             /* -1 unset, 0, 1 */
    unsigned vcpus;             /* 0 = keep */
    unsigned cores_per_socket;  /* 0 = keep */
    uint64_t memory_mib;        /* 0 = keep */
    char *disk_format[HV_TARGET_LIMIT]; /* by enum hv_target, NULL = default */
    enum hv_bus_choice disk_bus;
    enum hv_bus_choice nic_model;
};

/* Parse the JSON map.  'what' names the file in messages. */
int hv_netmap_parse (const char *buf, size_t len, const char *what,
                     struct hv_netmap *out);
void hv_netmap_init (struct hv_netmap *m);
void hv_netmap_release (struct hv_netmap *m);
/* The entry for a source network (exact, then case-insensitive, then
 * "*"), or NULL. */
const struct hv_netmap_entry *hv_netmap_find (const struct hv_netmap *m,
                                              const char *network);

/* ------------------------------------------------------------ emitters */

struct hv_define {
    enum hv_target target;
    const struct hv_netmap *map;        /* may be NULL: no NIC mapped */
    const char *disk_path;              /* NULL = target default */
    const char *disk_format;            /* NULL = map, then default */
    const char *source_file;            /* for comments */
    const char *namespace_;             /* kubevirt, NULL = none */
    const char *version;                /* vmshift version for comments */
    unsigned vmid;                      /* proxmox */
    int retain_mac;                     /* -1 = from map, default no */
    unsigned vcpus;                     /* 0 = map, then the VM's */
    uint64_t memory_mib;                /* 0 = map, then the VM's */
    bool json;                          /* kubevirt: JSON not YAML */
    bool nics_unattached;               /* test migrations: every NIC on no
                                         * network (docs/blueprint.md) */
};

/* What the emitters share: the resolved plan (placement of each disk on
 * the target bus, each NIC's target network, CPU/memory after
 * overrides).  Built by hv_plan_build, checked once, then printed. */
struct hv_plan_disk {
    size_t src;         /* index in vm->disks */
    const char *bus;    /* target bus name ("virtio", "sata", "scsi") */
    unsigned ctrl;
    unsigned unit;
    char *path;         /* full target path/volume of the converted disk */
    char *file;         /* converted file name (base + extension) */
    bool boot;
};
DEFINE_VECTOR (hv_plan_disk_vec, struct hv_plan_disk);

struct hv_plan_nic {
    size_t src;         /* index in vm->nics */
    const char *target; /* borrowed from the map; NULL = unattached */
    int vlan;
    const char *model;  /* target NIC model */
    bool mac;           /* carry vm->nics[src].mac */
};
DEFINE_VECTOR (hv_plan_nic_vec, struct hv_plan_nic);

struct hv_target_driver;
struct hv_plan {
    const struct hv_vm *vm;
    const struct hv_define *def;
    enum hv_os_family os;
    unsigned vcpus, sockets, cores;
    uint64_t memory_mib;
    const struct hv_target_driver *target;  /* def->target's driver */
    const char *format;         /* disk format on the target */
    const char *disk_dir;       /* disk_path or the target default */
    struct hv_plan_disk_vec disks;
    struct hv_plan_nic_vec nics;
    size_t ncdrom;
    unsigned next_unit[4];      /* per target bus, while planning */
    struct hv_str_vec notes;    /* warnings found while planning */
};

int hv_plan_build (const struct hv_vm *vm, const struct hv_define *def,
                   struct hv_plan *out);
void hv_plan_release (struct hv_plan *p);
/* Run the target's emitter.  *text is the caller's; notes (warnings
 * about the plan, for the user) are appended to *notes. */
int hv_define_emit (const struct hv_vm *vm, const struct hv_define *def,
                    char **text, struct hv_str_vec *notes);

/* --------------------------------------------------------- target table */

/* Everything the planner may ask about a target hypervisor.  One per
 * target, defined in the target's own file (hyperv.c, libvirt.c, ...) and
 * listed in hypervisors/targets.def; plan.c asks these fields instead of
 * comparing target values. */
struct hv_target_driver {
    enum hv_target id;
    const char *name;           /* "hyperv": --target, network map keys */
    const char *const *aliases; /* other names --target takes; NULL-ended */
    const char *title;          /* "Hyper-V", for messages */
    /* Disk formats (names of formats/drivers.def) the target runs disks
     * in, NULL-terminated; default_format is one of them. */
    const char *default_format;
    const char *const *formats;
    const char *default_dir;    /* disk_path when none is given; or NULL */
    /* Buses.  fixed_bus: every disk goes on this bus whatever the map or
     * the guest OS say (AUTO: choose); ide_boot_on_bios: a BIOS guest boots
     * from IDE 0:0 (Hyper-V Generation 1).  Otherwise Windows guests get
     * SATA (in-box drivers) and others default_bus. */
    enum hv_bus_choice fixed_bus;
    bool ide_boot_on_bios;
    enum hv_bus_choice default_bus;
    unsigned sata_ports;        /* SATA disks it takes; later ones go to
                                 * SCSI; 0 = no limit */
    unsigned scsi_units;        /* disks per SCSI controller; 0 = no limit */
    unsigned scsi_controllers;  /* SCSI controllers; 0 = no limit */
    bool synthetic_nic;         /* NICs have no model to choose */
    /* Firmware the definition can express. */
    bool efi, secure_boot, vtpm;
    /* Optional: check target-specific options (a Proxmox VM id). */
    int (*check) (const struct hv_define *d);
    /* Optional: file name and path of converted disk n; NULL = <target
     * name>.<format extension> in disk_dir. */
    int (*disk_names) (struct hv_plan *p, struct hv_plan_disk *pd, size_t n);
    /* Write the definition: append to b (errors sticky in b), notes to p. */
    int (*emit) (struct hv_plan *p, struct sbuf *b);
};

#define HV_TARGET(id, value, driver) \
    extern const struct hv_target_driver driver;
#include "hypervisors/targets.def"
#undef HV_TARGET

/* The table in targets.def order: i = 0, 1, ... until NULL. */
const struct hv_target_driver *hv_target_at (size_t i);
/* By value; by name or alias (case-insensitive); NULL if none. */
const struct hv_target_driver *hv_target_of (enum hv_target t);
const struct hv_target_driver *hv_target_by_name (const char *name);
/* True if the target runs disks in format fmt (a format name). */
bool hv_target_allows (const struct hv_target_driver *t, const char *fmt);

/* Emitters append to b (errors sticky in b) and may add notes to p. */
int hv_hyperv_emit (struct hv_plan *p, struct sbuf *b);
int hv_libvirt_emit (struct hv_plan *p, struct sbuf *b);
int hv_proxmox_emit (struct hv_plan *p, struct sbuf *b);
int hv_kubevirt_emit (struct hv_plan *p, struct sbuf *b);

/* --------------------------------------------------- escaping writers */

int hv_plan_note (struct hv_plan *p, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Each appends s to b escaped for one context.  Bytes that are not valid
 * UTF-8 become U+FFFD; characters a context cannot hold are replaced or
 * escaped as the comment of each function says. */
void hv_esc_xml (struct sbuf *b, const char *s);
void hv_esc_yaml (struct sbuf *b, const char *s);      /* "..." quoted */
void hv_esc_ps (struct sbuf *b, const char *s);        /* '...' quoted */
void hv_esc_comment (struct sbuf *b, const char *s);   /* one safe line */
void hv_esc_pve_text (struct sbuf *b, const char *s);  /* %XX like PVE */
/* Kubernetes DNS-1123 label from any name: [a-z0-9-], <= max chars. */
void hv_dns_label (struct sbuf *b, const char *s, size_t max);
/* Decode one UTF-8 sequence at s (n bytes left): code point, or -1 for
 * an invalid sequence; *used gets the bytes consumed (>= 1). */
long hv_utf8_next (const unsigned char *s, size_t n, size_t *used);
bool hv_str_ieq (const char *a, const char *b);
char *hv_strdup (const char *s);        /* sets the error on ENOMEM */
void hv_str_vec_free (struct hv_str_vec *v);

#endif
