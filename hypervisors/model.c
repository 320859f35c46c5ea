/* The VM model shared by the readers (vmx-model.c, ovf.c) and the
 * emitters: ownership, device order, converted disk names, the warnings
 * about what will not carry over, and small value parsers. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/hex.h"
#include "hypervisors/hv.h"

void
hv_str_vec_free (struct hv_str_vec *v)
{
    for (size_t i = 0; i < v->len; i++) {
        free (v->ptr[i]);
    }
    hv_str_vec_reset (v);
}

void
hv_vm_free (struct hv_vm *vm)
{
    if (vm == NULL) {
        return;
    }
    for (size_t i = 0; i < vm->disks.len; i++) {
        free (vm->disks.ptr[i].file);
        free (vm->disks.ptr[i].device_type);
        free (vm->disks.ptr[i].target_name);
    }
    for (size_t i = 0; i < vm->nics.len; i++) {
        free (vm->nics.ptr[i].model);
        free (vm->nics.ptr[i].network);
        free (vm->nics.ptr[i].connection);
        free (vm->nics.ptr[i].address_type);
    }
    for (size_t i = 0; i < vm->ctrls.len; i++) {
        free (vm->ctrls.ptr[i].model);
    }
    hv_disk_vec_reset (&vm->disks);
    hv_nic_vec_reset (&vm->nics);
    hv_ctrl_vec_reset (&vm->ctrls);
    hv_str_vec_free (&vm->warnings);
    hv_vmx_release (&vm->vmx);
    free (vm->source);
    free (vm->name);
    free (vm->guest_os);
    free (vm->annotation);
    free (vm);
}

/* Warnings past HV_MAX_WARNINGS are dropped: a hostile file must not
 * grow the list without bound.  Returns 0 or -ENOMEM. */
int
hv_vm_warn (struct hv_vm *vm, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    int n;

    if (vm->warnings.len >= HV_MAX_WARNINGS) {
        return 0;
    }
    va_start (ap, fmt);
    n = vasprintf (&s, fmt, ap);
    va_end (ap);
    if (n < 0 || hv_str_vec_append (&vm->warnings, s) < 0) {
        free (n < 0 ? NULL : s);
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

const char *
hv_bus_name (enum hv_bus b)
{
    static const char *const names[] = { "ide", "scsi", "sata", "nvme" };

    return (unsigned) b < 4 ? names[b] : "?";
}

const char *
hv_mode_name (enum hv_disk_mode m)
{
    static const char *const names[] = {
        "persistent", "independent-persistent", "independent-nonpersistent",
        "nonpersistent", "undoable", "append",
    };

    return (unsigned) m < 6 ? names[m] : "?";
}

const char *
hv_kind_name (enum hv_dev_kind k)
{
    static const char *const names[] = { "disk", "cdrom", "passthrough" };

    return (unsigned) k < 3 ? names[k] : "?";
}

bool
hv_str_ieq (const char *a, const char *b)
{
    return strcasecmp (a, b) == 0;
}

char *
hv_strdup (const char *s)
{
    char *d = strdup (s);

    if (d == NULL) {
        set_error (ENOMEM, "out of memory");
    }
    return d;
}

/* Windows ids start "win" or are "longhorn" (Vista/2008); Linux ids name
 * a distribution or contain "linux".  Everything else (FreeBSD, Solaris,
 * "other", "other-64") is OTHER. */
enum hv_os_family
hv_os_family (const char *g)
{
    static const char *const linux_prefixes[] = {
        "rhel", "centos", "ubuntu", "debian", "sles", "suse", "opensuse",
        "fedora", "oracle", "almalinux", "rocky", "photon", "vmware-photon",
        "amazonlinux", "asianux", "mandriva", "mandrake", "redhat", "nld",
        "turbolinux", "sjds", "coreos", "flatcar", "miraclelinux", "pardus",
        "oraclelinux",
    };
    char low[64];
    size_t n = 0;

    if (g == NULL) {
        return HV_OS_OTHER;
    }
    for (; g[n] && n < sizeof low - 1; n++) {
        low[n] = (char) tolower ((unsigned char) g[n]);
    }
    low[n] = '\0';
    if (strncmp (low, "win", 3) == 0 || strncmp (low, "longhorn", 8) == 0) {
        return HV_OS_WINDOWS;
    }
    if (strstr (low, "linux") != NULL) {
        return HV_OS_LINUX;
    }
    for (size_t i = 0; i < sizeof linux_prefixes / sizeof linux_prefixes[0];
         i++) {
        if (strncmp (low, linux_prefixes[i], strlen (linux_prefixes[i])) == 0) {
            return HV_OS_LINUX;
        }
    }
    return HV_OS_OTHER;
}

int
hv_parse_uint (const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;

    while (*p == ' ') {
        p++;
    }
    if (*p < '0' || *p > '9') {
        return set_error (EINVAL, "'%s' is not a number", s);
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10) {
            return set_error (EINVAL, "'%s' is too large", s);
        }
        v = v * 10 + (uint64_t) (*p - '0');
    }
    while (*p == ' ') {
        p++;
    }
    if (*p != '\0' || v < min || v > max) {
        return set_error (EINVAL, "'%s' is not a number from %llu to %llu",
                          s, (unsigned long long) min,
                          (unsigned long long) max);
    }
    *out = v;
    return 0;
}

static void
model_uuid_fmt (const uint8_t b[16], char out[37])
{
    snprintf (out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
              "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
              b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
              b[15]);
}

/* 32 hex digits with any of ' ', '-', ':' between them (VMware writes
 * "56 4d 96 af e6 46 bd 86-5c 4d 65 4e 77 36 ef 31"). */
int
hv_uuid_from_vmx (const char *s, char out[37])
{
    uint8_t b[16];
    size_t n = 0;

    for (const char *p = s; *p; p++) {
        int hi, lo;

        if (*p == ' ' || *p == '-' || *p == ':') {
            continue;
        }
        if (n == 16 || (hi = vs_hex_digit ((unsigned char) p[0])) < 0 ||
            (lo = vs_hex_digit ((unsigned char) p[1])) < 0) {
            return set_error (EINVAL, "'%s' is not a UUID", s);
        }
        b[n++] = (uint8_t) (hi << 4 | lo);
        p++;
    }
    if (n != 16) {
        return set_error (EINVAL, "'%s' is not a UUID", s);
    }
    model_uuid_fmt (b, out);
    return 0;
}

static int
model_parse_i64 (const char *s, uint64_t *out)
{
    bool neg = *s == '-';
    uint64_t v;
    int r = hv_parse_uint (neg ? s + 1 : s, 0, neg ? (UINT64_C (1) << 63) :
                           INT64_MAX, &v);

    if (r < 0) {
        return r;
    }
    *out = neg ? (uint64_t) 0 - v : v;
    return 0;
}

/* The generation id is stored as two signed 64-bit decimals; the GUID's
 * 16 bytes are vm.genid then vm.genidX, each little-endian, printed in
 * Microsoft's GUID order (first three fields little-endian).  Checked
 * against virt-v2v's expected output for the corpus files. */
int
hv_genid_from_vmx (const char *lo, const char *hi, char out[37])
{
    uint64_t a, b;
    uint8_t g[16];

    if (model_parse_i64 (lo, &a) < 0 || model_parse_i64 (hi, &b) < 0) {
        return -EINVAL;
    }
    snprintf (out, 37, "%08x-%04x-%04x-", (unsigned) (a & 0xffffffffu),
              (unsigned) ((a >> 32) & 0xffff), (unsigned) (a >> 48));
    for (int i = 0; i < 8; i++) {
        g[i] = (uint8_t) (b >> (8 * i));
    }
    snprintf (out + 19, 18, "%02x%02x-%02x%02x%02x%02x%02x%02x", g[0], g[1],
              g[2], g[3], g[4], g[5], g[6], g[7]);
    return 0;
}

int
hv_mac_normalize (const char *s, char out[18])
{
    char m[18];

    if (strlen (s) != 17) {
        return set_error (EINVAL, "'%s' is not a MAC address", s);
    }
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2) {
            if (s[i] != ':' && s[i] != '-') {
                return set_error (EINVAL, "'%s' is not a MAC address", s);
            }
            m[i] = ':';
        } else if (vs_hex_digit ((unsigned char) s[i]) < 0) {
            return set_error (EINVAL, "'%s' is not a MAC address", s);
        } else {
            m[i] = (char) tolower ((unsigned char) s[i]);
        }
    }
    m[17] = '\0';
    if (vs_hex_digit (m[1]) & 1) {
        return set_error (EINVAL, "'%s' is a multicast MAC address", s);
    }
    memcpy (out, m, 18);
    return 0;
}

size_t
hv_vm_disk_count (const struct hv_vm *vm)
{
    size_t n = 0;

    for (size_t i = 0; i < vm->disks.len; i++) {
        n += vm->disks.ptr[i].kind == HV_DEV_DISK;
    }
    return n;
}

/* Device order: SCSI, SATA, NVMe, IDE, then controller and unit, the
 * order libvirt and virt-v2v list a VMware VM's disks in. */
static int
model_bus_rank (enum hv_bus b)
{
    static const int rank[] = { 3, 0, 1, 2 };

    return rank[b];
}

static int
model_disk_cmp (const void *a, const void *b)
{
    const struct hv_disk *x = a, *y = b;
    int rx = model_bus_rank (x->bus), ry = model_bus_rank (y->bus);

    if (rx != ry) {
        return rx - ry;
    }
    if (x->ctrl != y->ctrl) {
        return x->ctrl < y->ctrl ? -1 : 1;
    }
    return x->unit < y->unit ? -1 : x->unit > y->unit;
}

size_t
hv_vm_boot_disk (const struct hv_vm *vm)
{
    const char *order = hv_vmx_get (&vm->vmx, "bios.hddOrder");
    size_t first = (size_t) -1;

    for (size_t i = 0; i < vm->disks.len; i++) {
        const struct hv_disk *d = &vm->disks.ptr[i];
        char slot[32];
        size_t n;

        if (d->kind != HV_DEV_DISK) {
            continue;
        }
        if (first == (size_t) -1) {
            first = i;
        }
        n = (size_t) snprintf (slot, sizeof slot, "%s%u:%u",
                               hv_bus_name (d->bus), d->ctrl, d->unit);
        /* bios.hddOrder = "scsi0:1,scsi0:0": its first entry boots. */
        if (order && strncasecmp (order, slot, n) == 0 &&
            (order[n] == '\0' || order[n] == ',')) {
            return i;
        }
    }
    return first;
}

static bool
model_is_snapshot_name (const char *f)
{
    size_t n = strlen (f);

    /* "name-000001.vmdk": ESXi names a snapshot's delta like this. */
    if (n < 12 || strcasecmp (f + n - 5, ".vmdk") != 0 || f[n - 12] != '-') {
        return false;
    }
    for (size_t i = n - 11; i < n - 5; i++) {
        if (f[i] < '0' || f[i] > '9') {
            return false;
        }
    }
    return true;
}

/* Converted disk base name: the vmdk's file name without directories,
 * ".vmdk" and a "-NNNNNN" snapshot suffix; bytes other than letters,
 * digits, '.', '_', '-', '+' become '_'; a leading '.' becomes '_'. */
static char *
model_target_base (const struct hv_disk *d, size_t idx)
{
    const char *f = d->file, *s1 = strrchr (f, '/'), *s2 = strrchr (f, '\\');
    const char *b = s1 > s2 ? s1 + 1 : s2 ? s2 + 1 : f;
    size_t n = strlen (b);
    char *out;

    if (n >= 5 && strcasecmp (b + n - 5, ".vmdk") == 0) {
        n -= 5;
    }
    if (d->snapshot && n >= 7) {
        n -= 7;
    }
    if (n == 0 || n > 200) {
        return asprintf (&out, "disk%zu", idx) < 0 ? NULL : out;
    }
    out = strndup (b, n);
    for (char *p = out; p && *p; p++) {
        if (!isalnum ((unsigned char) *p) && *p != '.' && *p != '_' &&
            *p != '-' && *p != '+') {
            *p = '_';
        }
    }
    if (out && out[0] == '.') {
        out[0] = '_';
    }
    return out;
}

static bool
model_name_taken (const struct hv_vm *vm, size_t upto, const char *n)
{
    for (size_t i = 0; i < upto; i++) {
        const char *t = vm->disks.ptr[i].target_name;

        if (t && strcasecmp (t, n) == 0) {
            return true;
        }
    }
    return false;
}

/* Names are unique case-insensitively (Hyper-V's SMB shares and many
 * NFS exports to Windows fold case): later clashes get "-2", "-3". */
static int
model_target_names (struct hv_vm *vm)
{
    size_t ndisk = 0;

    for (size_t i = 0; i < vm->disks.len; i++) {
        struct hv_disk *d = &vm->disks.ptr[i];
        char *base, *name;

        if (d->kind != HV_DEV_DISK) {
            continue;
        }
        base = model_target_base (d, ndisk++);
        name = base ? strdup (base) : NULL;
        for (unsigned k = 2; name && model_name_taken (vm, i, name); k++) {
            free (name);
            if (asprintf (&name, "%s-%u", base, k) < 0) {
                name = NULL;
            }
        }
        free (base);
        if (name == NULL) {
            return set_error (ENOMEM, "out of memory");
        }
        d->target_name = name;
    }
    return 0;
}

static int
model_slot_warnings (struct hv_vm *vm, const struct hv_disk *d)
{
    char slot[32];

    snprintf (slot, sizeof slot, "%s%u:%u", hv_bus_name (d->bus), d->ctrl,
              d->unit);
    if (d->kind == HV_DEV_PASSTHRU) {
        return hv_vm_warn (vm, "%s is a SCSI passthrough device ('%s'): not "
                           "carried over", slot, d->file ? d->file : "");
    }
    if (d->kind != HV_DEV_DISK) {
        return 0;
    }
    if (d->snapshot && hv_vm_warn (vm, "disk %s ('%s') is a snapshot delta: "
                                   "the VM has snapshots; the converted disk "
                                   "holds the current state", slot,
                                   d->file) < 0) {
        return -ENOMEM;
    }
    if (d->mode != HV_MODE_PERSISTENT &&
        hv_vm_warn (vm, "disk %s ('%s') is %s: it is outside VMware "
                    "snapshots%s", slot, d->file, hv_mode_name (d->mode),
                    d->mode == HV_MODE_INDEP_PERSISTENT ? "" :
                    ", and the target keeps every write to it") < 0) {
        return -ENOMEM;
    }
    return 0;
}

int
hv_vm_note_disk (struct hv_vm *vm, size_t i)
{
    const struct hv_disk *d = &vm->disks.ptr[i];

    if (d->rdm) {
        return hv_vm_warn (vm, "disk %s%u:%u ('%s') is a raw device mapping: "
                           "its data is on a LUN, not in the datastore, and "
                           "is not converted", hv_bus_name (d->bus), d->ctrl,
                           d->unit, d->file);
    }
    return 0;
}

static int
model_vm_warnings (struct hv_vm *vm)
{
    if (vm->vtpm &&
        hv_vm_warn (vm, "vTPM state is not carried over (it is sealed in "
                    "the VMware .nvram): the target gets a new, empty TPM; "
                    "have BitLocker recovery keys at hand") < 0) {
        return -ENOMEM;
    }
    if (vm->firmware == HV_FW_EFI &&
        hv_vm_warn (vm, "EFI variables (.nvram) are not carried over: the "
                    "target firmware finds the OS loader by its default "
                    "path") < 0) {
        return -ENOMEM;
    }
    if (hv_vm_disk_count (vm) == 0 &&
        hv_vm_warn (vm, "the VM has no disks") < 0) {
        return -ENOMEM;
    }
    return 0;
}

int
hv_vm_finish (struct hv_vm *vm)
{
    int r;

    if (vm->disks.len > 1) {
        qsort (vm->disks.ptr, vm->disks.len, sizeof vm->disks.ptr[0],
               model_disk_cmp);
    }
    for (size_t i = 0; i < vm->disks.len; i++) {
        struct hv_disk *d = &vm->disks.ptr[i];

        d->snapshot = d->kind == HV_DEV_DISK && d->file &&
            model_is_snapshot_name (d->file);
        if ((r = model_slot_warnings (vm, d)) < 0 ||
            (r = hv_vm_note_disk (vm, i)) < 0) {
            return r;
        }
    }
    if ((r = model_target_names (vm)) < 0) {
        return r;
    }
    return model_vm_warnings (vm);
}
