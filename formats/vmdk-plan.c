/* VMDK as a target: an ESXi-style "vmfs" disk, i.e. a text descriptor
 * (the MAIN output, written last) naming one VMFS extent
 * "<name>-flat.vmdk" that holds the raw guest data at offset 0.  The
 * flat file is placed from the source map (clones where aligned), so a
 * flat source converts without copying data.  qemu-img (createType vmfs)
 * and libvmdk read the result (docs/formats/vmdk.md, "Writing").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/sbuf.h"
#include "formats/vmdk.h"

#define VMDK_PLAN_DESC_MAX 8192
#define VMDK_PLAN_NAME_MAX 1024
/* The lowest hardware version every VMware product opens (what qemu
 * writes too); the VM's .vmx carries the real one. */
#define VMDK_PLAN_HWVERSION 4

static const char *const vmdk_adapters[] = {
    "ide", "buslogic", "lsilogic", "legacyESX",
};

static int
vmdk_plan_adapter (const char *a, unsigned *heads)
{
    for (size_t i = 0; i < sizeof vmdk_adapters / sizeof vmdk_adapters[0];
         i++) {
        if (strcmp (a, vmdk_adapters[i]) == 0) {
            *heads = strcmp (a, "ide") == 0 ? 16 : 255;
            return 0;
        }
    }
    return set_error (EINVAL, "unknown VMDK adapter type '%s' (ide, "
                      "buslogic, lsilogic or legacyESX)", a);
}

/* "<base>-flat.vmdk" for "<base>.vmdk" (or any other name). */
static int
vmdk_plan_names (const char *target, char *flat, size_t flat_size)
{
    size_t n;

    if (target == NULL || target[0] == '\0') {
        return set_error (EINVAL, "VMDK target needs a file name");
    }
    n = strlen (target);
    if (n > VMDK_PLAN_NAME_MAX || strchr (target, '/') ||
        strchr (target, '"') || fmt_check_rel_path (target) < 0) {
        return set_error (EINVAL, "VMDK target name '%s' must be a plain "
                          "file name (no '/', no '\"', no control "
                          "characters)", target);
    }
    if (n > 5 && vmdk_name_eq (target + n - 5, ".vmdk")) {
        n -= 5;
    }
    snprintf (flat, flat_size, "%.*s-flat.vmdk", (int) n, target);
    return 0;
}

static bool
vmdk_plan_has_id (const uint8_t id[16])
{
    for (int i = 0; i < 16; i++) {
        if (id[i]) {
            return true;
        }
    }
    return false;
}

static void
vmdk_plan_text (struct sbuf *b, uint64_t sectors, uint32_t cid,
                const char *flat, const char *adapter, unsigned heads,
                const uint8_t id[16])
{
    uint64_t cyl = sectors / ((uint64_t) heads * 63);

    vs_sbuf_printf (b, "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\n"
                 "CID=%08x\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\n",
                 cid);
    vs_sbuf_printf (b, "# Extent description\nRW %llu VMFS \"%s\"\n\n",
                 (unsigned long long) sectors, flat);
    vs_sbuf_printf (b, "# The Disk Data Base\n#DDB\n\n"
                 "ddb.adapterType = \"%s\"\n"
                 "ddb.geometry.cylinders = \"%llu\"\n"
                 "ddb.geometry.heads = \"%u\"\n"
                 "ddb.geometry.sectors = \"63\"\n"
                 "ddb.thinProvisioned = \"1\"\n", adapter,
                 (unsigned long long) (cyl ? cyl : 1), heads);
    if (vmdk_plan_has_id (id)) {
        vs_sbuf_printf (b, "ddb.uuid = \"%02x %02x %02x %02x %02x %02x %02x "
                     "%02x-%02x %02x %02x %02x %02x %02x %02x %02x\"\n",
                     id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7],
                     id[8], id[9], id[10], id[11], id[12], id[13], id[14],
                     id[15]);
    }
    vs_sbuf_printf (b, "ddb.virtualHWVersion = \"%d\"\n", VMDK_PLAN_HWVERSION);
}

static int
vmdk_plan_check (const struct fmt_extent_list *map,
                 const struct fmt_plan_opts *o)
{
    if (map->size == 0) {
        return set_error (EINVAL, "cannot write a VMDK of virtual size 0");
    }
    if (map->size % VMDK_SECTOR) {
        return set_error (EINVAL, "virtual size %llu bytes is not a multiple "
                          "of 512; a VMDK's size is whole sectors",
                          (unsigned long long) map->size);
    }
    if (map->size > FMT_MAX_VIRTUAL_SIZE) {
        return set_error (EFBIG, "virtual size %llu bytes exceeds the 64 TiB "
                          "limit", (unsigned long long) map->size);
    }
    if (o->vmdk_cid == VMDK_NO_PARENT_CID) {
        return set_error (EINVAL, "VMDK CID ffffffff is reserved (it means "
                          "'no parent')");
    }
    return 0;
}

int
vmdk_plan (const struct fmt_source_info *src,
           const struct fmt_extent_list *map, const struct fmt_plan_opts *o,
           struct fmt_layout *out)
{
    const char *adapter = o->vmdk_adapter ? o->vmdk_adapter : "lsilogic";
    char flat[VMDK_PLAN_NAME_MAX + 16];
    struct sbuf b;
    unsigned heads = 255;
    size_t len;
    char *text;
    int r, ext, main;

    (void) src;
    if ((r = vmdk_plan_check (map, o)) < 0 ||
        (r = vmdk_plan_adapter (adapter, &heads)) < 0 ||
        (r = vmdk_plan_names (o->target_name, flat, sizeof flat)) < 0) {
        return r;
    }
    if (o->extent_name) {
        if (strlen (o->extent_name) >= sizeof flat ||
            strchr (o->extent_name, '/') || strchr (o->extent_name, '"') ||
            fmt_check_rel_path (o->extent_name) < 0) {
            return set_error (EINVAL, "VMDK extent name '%s' must be a plain "
                              "file name", o->extent_name);
        }
        snprintf (flat, sizeof flat, "%s", o->extent_name);
    }
    vs_sbuf_init (&b, VMDK_PLAN_DESC_MAX);
    /* CID 0 means the engine gave none: VMware's "new disk" value. */
    vmdk_plan_text (&b, map->size / VMDK_SECTOR,
                    o->vmdk_cid ? o->vmdk_cid : 0xfffffffeu, flat, adapter,
                    heads, o->disk_id);
    r = b.err;
    if ((text = vs_sbuf_detach (&b, &len)) == NULL) {
        return r < 0 ? r : set_error (ENOMEM, "out of memory");
    }
    out->type = FMT_VMDK;
    out->data_offset = 0;
    if ((ext = fmt_layout_add_output (out, flat, FMT_OUT_EXTENT)) < 0 ||
        (main = fmt_layout_add_output (out, o->target_name,
                                       FMT_OUT_MAIN)) < 0) {
        free (text);
        return ext < 0 ? ext : main;
    }
    out->out[ext].file_size = map->size;
    out->out[main].file_size = len;
    r = fmt_layout_place_map (out, (size_t) ext, map, 0, map->size, 0,
                              o->clone_align);
    if (r == 0) {
        r = fmt_layout_add_bytes (out, (size_t) main, 0, text, len,
                                  FMT_PHASE_HEADER, "vmdk descriptor");
    }
    free (text);
    return r;
}
