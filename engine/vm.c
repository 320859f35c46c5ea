/* Public API of the VM inventory and target definitions: the I/O around
 * the pure code in hypervisors/.  Every file is read with
 * vs_loc_read_whole(), so .vmx files, VMDK descriptors and network maps can
 * come from any location kind the engine supports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/log.h"
#include "engine/handle.h"
#include "engine/location.h"
#include "hypervisors/hv.h"

#define VM_DESC_MAX (64 * 1024)         /* VMDK text descriptors */
#define VM_MAP_MAX (1024 * 1024)        /* network maps */

struct vmshift_vm {
    struct hv_vm *vm;
    char *location;             /* for comments in definitions */
};

/* The model inside a loaded VM (engine/workflow/ builds on it). */
struct hv_vm *
vs_vm_model (const struct vmshift_vm *vm)
{
    return vm->vm;
}

/* The location's directory part with a trailing '/', or "" (and false
 * when the location cannot be joined, e.g. it has a query string). */
static bool
vm_dir_of (const char *loc, char **dir)
{
    const char *slash = strrchr (loc, '/');

    if (strchr (loc, '?') != NULL) {
        return false;
    }
    *dir = slash ? strndup (loc, (size_t) (slash - loc + 1)) : strdup ("");
    return *dir != NULL;
}

static bool
vm_rel_ok (const char *f)
{
    if (f[0] == '/' || f[0] == '\0' || strchr (f, '\\') != NULL) {
        return false;
    }
    for (const char *p = f; p; p = strchr (p, '/') ? strchr (p, '/') + 1 :
         NULL) {
        if (strncmp (p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0')) {
            return false;
        }
    }
    return true;
}

/* Sizes (and RDM-ness) of the disks whose descriptors sit beside the
 * .vmx.  Best effort: a sparse or missing descriptor leaves the size
 * unknown, said at debug level. */
/* A whole small file: through be (bpath on it) when be is set, else
 * by its location. */
static int
vm_read (struct vmshift_handle *h, struct backend *be, const char *bpath,
         const char *loc, size_t max, char **buf, size_t *len)
{
    return be ? vs_loc_read_whole_be (be, bpath, loc, max, buf, len)
              : vs_loc_read_whole (h, loc, max, buf, len);
}

static int
vm_read_descriptors (struct vmshift_handle *h, struct backend *be,
                     const char *bloc, const char *loc, struct hv_vm *vm)
{
    char *dir = NULL, *bdir = NULL;

    if (!vm_dir_of (loc, &dir)) {
        return 0;
    }
    if (be && !vm_dir_of (bloc, &bdir)) {
        free (dir);
        return 0;
    }
    for (size_t i = 0; i < vm->disks.len; i++) {
        struct hv_disk *d = &vm->disks.ptr[i];
        char *path = NULL, *bpath = NULL, *buf = NULL;
        size_t len;
        bool rdm = false;

        if (d->kind != HV_DEV_DISK || !vm_rel_ok (d->file) ||
            asprintf (&path, "%s%s", dir, d->file) < 0) {
            continue;
        }
        if (be && asprintf (&bpath, "%s%s", bdir, d->file) < 0) {
            free (path);
            continue;
        }
        if (vm_read (h, be, bpath, path, VM_DESC_MAX, &buf, &len) < 0 ||
            hv_vmdk_desc_info (buf, len, &d->capacity, &rdm) < 0) {
            vs_log_debug (&h->log, LOGM_HV, "size of '%s' unknown: %s", path,
                       vmshift_internal_error_msg ());
            clear_error ();
        } else if (rdm && !d->rdm) {
            d->rdm = true;
            if (hv_vm_note_disk (vm, i) < 0) {
                free (buf);
                free (path);
                free (bpath);
                free (dir);
                free (bdir);
                return -ENOMEM;
            }
        }
        free (buf);
        free (path);
        free (bpath);
    }
    free (dir);
    free (bdir);
    return 0;
}

static bool
vm_is_ovf (const char *loc, const char *buf, size_t len)
{
    size_t n = strlen (loc);
    size_t i = 0;

    if (n >= 4 && strcasecmp (loc + n - 4, ".ovf") == 0) {
        return true;
    }
    if (len >= 3 && memcmp (buf, "\xef\xbb\xbf", 3) == 0) {
        i = 3;
    }
    while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' ||
                       buf[i] == '\t')) {
        i++;
    }
    return i < len && buf[i] == '<';
}

/* "dir/My VM.vmx" -> "My VM": the name when displayName is missing. */
static char *
vm_fallback_name (const char *loc)
{
    const char *b = strrchr (loc, '/');
    size_t n;

    b = b ? b + 1 : loc;
    n = strlen (b);
    if (n > 4 && strcasecmp (b + n - 4, ".vmx") == 0) {
        n -= 4;
    }
    return strndup (b, n);
}

static int
vm_load (struct vmshift_handle *h, struct backend *be, const char *bpath,
         const char *location, struct vmshift_vm **out)
{
    struct vmshift_vm *v;
    char *buf = NULL, *fallback = NULL;
    size_t len;
    int r;

    if (location == NULL || out == NULL || (be && !bpath)) {
        return set_error (EINVAL, "vmshift_vm_load: no location");
    }
    r = vm_read (h, be, bpath, location, HV_VMX_MAX_BYTES, &buf, &len);
    if (r < 0) {
        return r;
    }
    v = calloc (1, sizeof *v);
    fallback = vm_fallback_name (location);
    if (v && (v->location = strdup (location)) == NULL) {
        free (fallback);
        fallback = NULL;
    }
    if (v == NULL || fallback == NULL) {
        r = set_error (ENOMEM, "out of memory");
    } else if (vm_is_ovf (location, buf, len)) {
        r = hv_vm_from_ovf (buf, len, location, &v->vm);
    } else {
        r = hv_vm_from_vmx (buf, len, location, fallback, &v->vm);
        if (r == 0) {
            r = vm_read_descriptors (h, be, bpath, location, v->vm);
        }
    }
    free (buf);
    free (fallback);
    if (r < 0) {
        vmshift_vm_free (v);
        return r;
    }
    *out = v;
    return 0;
}

int
vmshift_vm_load (struct vmshift_handle *h, const char *location,
                 struct vmshift_vm **out)
{
    vs_api_enter (h);
    return vm_load (h, NULL, NULL, location, out);
}

int
vs_vm_load_on (struct vmshift_handle *h, struct backend *be,
               const char *path, const char *location,
               struct vmshift_vm **out)
{
    vs_api_enter (h);
    return vm_load (h, be, path, location, out);
}

void
vmshift_vm_free (struct vmshift_vm *vm)
{
    if (vm) {
        hv_vm_free (vm->vm);
        free (vm->location);
        free (vm);
    }
}

char *
vmshift_vm_describe (const struct vmshift_vm *vm, int json)
{
    clear_error ();
    return hv_vm_describe (vm->vm, json != 0);
}

const char *
vmshift_vm_name (const struct vmshift_vm *vm)
{
    return vm->vm->name;
}

size_t
vmshift_vm_warning_count (const struct vmshift_vm *vm)
{
    return vm->vm->warnings.len;
}

const char *
vmshift_vm_warning (const struct vmshift_vm *vm, size_t i)
{
    return i < vm->vm->warnings.len ? vm->vm->warnings.ptr[i] : NULL;
}

/* The public values are the target table's (hypervisors/targets.def). */
_Static_assert (VMSHIFT_TARGET_HYPERV == (int) HV_TARGET_HYPERV, "target");
_Static_assert (VMSHIFT_TARGET_LIBVIRT == (int) HV_TARGET_LIBVIRT, "target");
_Static_assert (VMSHIFT_TARGET_PROXMOX == (int) HV_TARGET_PROXMOX, "target");
_Static_assert (VMSHIFT_TARGET_KUBEVIRT == (int) HV_TARGET_KUBEVIRT, "target");

int
vmshift_target_from_name (const char *name, enum vmshift_target *out)
{
    const struct hv_target_driver *t = hv_target_by_name (name);
    char list[128] = "";
    size_t n = 0;

    if (t) {
        *out = (enum vmshift_target) t->id;
        return 0;
    }
    while (hv_target_at (n)) {
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        vs_str_list_add (list, sizeof list, i, n, "", hv_target_at (i)->name);
    }
    return set_error (EINVAL, "unknown target '%s' (expected %s)", name, list);
}

void
vmshift_define_opts_init (struct vmshift_define_opts *o)
{
    memset (o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->retain_mac = -1;
}

static int
vm_load_map (struct vmshift_handle *h, const char *loc, struct hv_netmap *m)
{
    char *buf = NULL, *what = NULL;
    size_t len;
    int r = vs_loc_read_whole (h, loc, VM_MAP_MAX, &buf, &len);

    if (r < 0) {
        return r;
    }
    if (asprintf (&what, "'%s'", loc) < 0) {
        free (buf);
        return set_error (ENOMEM, "out of memory");
    }
    r = hv_netmap_parse (buf, len, what, m);
    free (what);
    free (buf);
    return r;
}

static void
vm_define_from_opts (const struct vmshift_vm *vm,
                     const struct vmshift_define_opts *o,
                     const struct hv_netmap *map, struct hv_define *d)
{
    const char *slash = strrchr (vm->location, '/');

    memset (d, 0, sizeof *d);
    d->source_file = slash ? slash + 1 : vm->location;
    d->target = (enum hv_target) o->target;
    d->map = map;
    d->disk_path = o->disk_path;
    d->disk_format = o->disk_format;
    d->namespace_ = o->kube_namespace;
    d->version = VMSHIFT_VERSION_STRING;
    d->vmid = o->vmid;
    d->retain_mac = o->retain_mac;
    d->vcpus = o->vcpus;
    d->memory_mib = o->memory_mib;
    d->json = o->json != 0;
}

int
vmshift_define (struct vmshift_handle *h, const struct vmshift_vm *vm,
                const struct vmshift_define_opts *o, char **text)
{
    struct vmshift_define_opts full;
    struct hv_str_vec notes = { 0 };
    struct hv_netmap map;
    struct hv_define d;
    int r = 0;

    vs_api_enter (h);
    if (vm == NULL || text == NULL) {
        set_error (EINVAL, "vmshift_define: bad arguments (no VM or no "
                   "place for the text)");
        return error_class (VS_ERRCLASS_USAGE);
    }
    vmshift_define_opts_init (&full);
    if (vs_api_copy_in ("vmshift_define", &full, sizeof full, o,
                        VMSHIFT_DEFINE_OPTS_V1) < 0) {
        return -EINVAL;
    }
    o = &full;
    hv_netmap_init (&map);
    if (o->network_map) {
        r = vm_load_map (h, o->network_map, &map);
    }
    if (r == 0) {
        vm_define_from_opts (vm, o, o->network_map ? &map : NULL, &d);
        r = hv_define_emit (vm->vm, &d, text, &notes);
    }
    for (size_t i = 0; r == 0 && i < notes.len; i++) {
        vs_log_msg (&h->log, LOG_WARN, "%s", notes.ptr[i]);
    }
    hv_str_vec_free (&notes);
    hv_netmap_release (&map);
    return r;
}
