/* VMDK target planner: ESXi-style vmfs descriptor + -flat.vmdk.  The
 * layout is carried out by the reference executor (test_exec_layout) and
 * the result checked by qemu-img (info, compare), libvmdk's vmdkinfo and
 * our own reader. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "formats/formats.h"
#include "helpers/vmdktest.h"

TestSuite (vmdk_plan, .init = vt_setup, .fini = vt_cleanup);

static const uint8_t disk_id[16] = {
    0x60, 0x00, 0xc2, 0x91, 0x22, 0x33, 0x44, 0x55,
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
};

static void
opts_init (struct fmt_plan_opts *o, const char *name)
{
    memset (o, 0, sizeof *o);
    o->target_name = name;
    o->clone_align = 4096;
    o->vmdk_cid = 0x1234abcd;
    memcpy (o->disk_id, disk_id, 16);
}

static char *
read_text (const char *path)
{
    FILE *f = fopen (path, "rb");
    char *buf = calloc (1, 65536);

    cr_assert (f && buf);
    cr_assert_gt (fread (buf, 1, 65535, f), 0);
    fclose (f);
    return buf;
}

/* Plan src (already mapped), execute into DIR/out, check the result. */
static void
plan_and_check (struct vt_disk *src, const struct fmt_plan_opts *o,
                const char *src_name, const char *src_fmt)
{
    struct fmt_layout lay;
    struct vt_disk out;
    char *desc;
    char want[128];

    vt_run ("mkdir -p out");
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_plan (FMT_VMDK, &src->info, &src->map, o, &lay), 0,
                  "%s", vmshift_internal_error_msg ());
    cr_assert_eq (lay.type, FMT_VMDK);
    cr_assert_eq (lay.nout, 2);
    cr_assert_eq (lay.out[0].role, FMT_OUT_EXTENT);
    cr_assert_str_eq (lay.out[0].name, "new-flat.vmdk");
    cr_assert_eq (lay.out[0].file_size, src->map.size);
    cr_assert_eq (lay.out[0].blobs.len, 0);
    cr_assert_eq (lay.out[1].role, FMT_OUT_MAIN);
    cr_assert_str_eq (lay.out[1].name, o->target_name);
    cr_assert_eq (lay.out[1].blobs.len, 1);
    cr_assert_eq (lay.out[1].blobs.ptr[0].phase, FMT_PHASE_HEADER);
    cr_assert_eq (lay.out[1].place.len, 0);
    cr_assert_eq (test_exec_layout (&lay, src->t, vt_path (0, "out")), 0,
                  "%s", vmshift_internal_error_msg ());
    fmt_layout_release (&lay);

    desc = read_text (vt_path (0, "out/new.vmdk"));
    cr_assert (strstr (desc, "createType=\"vmfs\"\n"), "%s", desc);
    snprintf (want, sizeof want, "\nRW %llu VMFS \"new-flat.vmdk\"\n",
              (unsigned long long) src->map.size / 512);
    cr_assert (strstr (desc, want), "%s", desc);
    cr_assert (strstr (desc, "\nCID=1234abcd\nparentCID=ffffffff\n"));
    cr_assert (strstr (desc, "ddb.uuid = \"60 00 c2 91 22 33 44 55-66 77 88 "
                       "99 aa bb cc dd\""), "%s", desc);
    cr_assert (strstr (desc, "ddb.thinProvisioned = \"1\""));
    free (desc);

    /* our own reader */
    vt_map (vt_path (0, "out/new.vmdk"), &out);
    cr_assert_str_eq (out.info.subformat, "vmfs");
    cr_assert_eq (out.info.virtual_size, src->map.size);
    cr_assert (out.info.has_disk_id);
    cr_assert_arr_eq (out.info.disk_id, disk_id, 16);
    vt_close (&out);
    vt_validate_clean (vt_path (0, "out/new.vmdk"));

    /* independent readers */
    if (test_sh ("command -v qemu-img >/dev/null") == 0) {
        vt_run ("qemu-img info out/new.vmdk | grep -q 'create type: vmfs'");
        vt_run ("qemu-img info --output=json out/new.vmdk | "
                "grep -q '\"virtual-size\": %llu'",
                (unsigned long long) src->map.size);
        vt_run ("qemu-img compare -q -f vmdk -F %s out/new.vmdk '%s'",
                src_fmt, src_name);
    }
    if (test_sh ("command -v vmdkinfo >/dev/null") == 0) {
        vt_run ("vmdkinfo out/new.vmdk | grep -q 'Disk type:.*VMFS flat'");
        vt_run ("vmdkinfo out/new.vmdk | grep -q 'Media size:.*(%llu bytes)'",
                (unsigned long long) src->map.size);
    }
}

Test (vmdk_plan, flat_source_is_cloned)
{
    struct fmt_plan_opts o;
    struct fmt_layout lay;
    struct vt_disk src;
    uint64_t cloned = 0;

    vt_run ("truncate -s 48M src.raw && head -c 5M /dev/urandom | "
            "dd of=src.raw bs=1M seek=3 conv=notrunc status=none && "
            "head -c 1000 /dev/urandom | dd of=src.raw bs=1 seek=40000000 "
            "conv=notrunc status=none");
    vt_write_text (vt_path (0, "src.vmdk"),
                   "# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
                   "parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\n"
                   "# Extent description\nRW 98304 FLAT \"src.raw\" 0\n");
    vt_map (vt_path (0, "src.vmdk"), &src);
    opts_init (&o, "new.vmdk");
    plan_and_check (&src, &o, "src.vmdk", "vmdk");

    /* aligned data becomes clones; the 1000-byte island is in one 4 KiB
     * block and copied only at its misaligned edges */
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_plan (FMT_VMDK, &src.info, &src.map, &o, &lay), 0);
    for (size_t i = 0; i < lay.out[0].place.len; i++) {
        const struct fmt_placement *p = &lay.out[0].place.ptr[i];

        cr_assert_eq (p->dst_off, p->src_off, "flat data keeps its offset");
        if (p->kind == FMT_PLACE_CLONE) {
            cloned += p->len;
        }
    }
    cr_assert_geq (cloned, 5 << 20);
    cr_assert_eq (lay.data_offset, 0);
    fmt_layout_release (&lay);
    vt_close (&src);
}

Test (vmdk_plan, stream_optimized_source_is_inflated)
{
    struct fmt_plan_opts o;
    struct vt_disk src;

    vt_need ("qemu-img");
    vt_run ("head -c 3M /dev/urandom > r.raw && truncate -s 6M r.raw && "
            "qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "
            "r.raw so.vmdk");
    vt_map (vt_path (0, "so.vmdk"), &src);
    opts_init (&o, "new.vmdk");
    o.vmdk_adapter = "ide";
    plan_and_check (&src, &o, "r.raw", "raw");
    {
        char *desc = read_text (vt_path (0, "out/new.vmdk"));

        cr_assert (strstr (desc, "ddb.adapterType = \"ide\""));
        cr_assert (strstr (desc, "ddb.geometry.heads = \"16\""));
        cr_assert (strstr (desc, "ddb.geometry.cylinders = \"12\""), "%s",
                   desc);
        free (desc);
    }
    vt_close (&src);
}

Test (vmdk_plan, sparse_source_default_adapter_and_name_without_suffix)
{
    struct fmt_plan_opts o;
    struct fmt_layout lay;
    struct vt_disk src;
    char *desc;

    vt_need ("qemu-img");
    vt_run ("head -c 1M /dev/urandom > r.raw && truncate -s 3M r.raw && "
            "qemu-img convert -f raw -O vmdk r.raw sp.vmdk");
    vt_map (vt_path (0, "sp.vmdk"), &src);
    opts_init (&o, "new.vmdk");
    o.vmdk_cid = 0;             /* none given: "fffffffe" */
    memset (o.disk_id, 0, 16);  /* none given: no ddb.uuid */
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_plan (FMT_VMDK, &src.info, &src.map, &o, &lay), 0);
    vt_run ("mkdir -p out");
    cr_assert_eq (test_exec_layout (&lay, src.t, vt_path (0, "out")), 0);
    fmt_layout_release (&lay);
    desc = read_text (vt_path (0, "out/new.vmdk"));
    cr_assert (strstr (desc, "CID=fffffffe\n"));
    cr_assert_null (strstr (desc, "ddb.uuid"));
    cr_assert (strstr (desc, "ddb.adapterType = \"lsilogic\""));
    cr_assert (strstr (desc, "ddb.geometry.heads = \"255\""));
    free (desc);
    vt_run ("qemu-img compare -q -f vmdk -F raw out/new.vmdk r.raw");

    /* a target name without .vmdk still gets "<name>-flat.vmdk" */
    opts_init (&o, "disk0");
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_plan (FMT_VMDK, &src.info, &src.map, &o, &lay), 0);
    cr_assert_str_eq (lay.out[0].name, "disk0-flat.vmdk");
    cr_assert_str_eq (lay.out[1].name, "disk0");
    fmt_layout_release (&lay);
    vt_close (&src);
}

Test (vmdk_plan, bad_requests)
{
    struct fmt_extent_list m;
    struct fmt_source_info info = { .type = FMT_RAW };
    struct fmt_plan_opts o;
    struct fmt_layout lay;
    static const struct {
        uint64_t size;
        const char *name, *adapter;
        uint32_t cid;
        int err;
        const char *msg;
    } c[] = {
        { 1000, "a.vmdk", NULL, 1, EINVAL,
          "virtual size 1000 bytes is not a multiple of 512" },
        { 0, "a.vmdk", NULL, 1, EINVAL, "virtual size 0" },
        { 4096, "a.vmdk", "scsi", 1, EINVAL,
          "unknown VMDK adapter type 'scsi'" },
        { 4096, "a.vmdk", NULL, 0xffffffffu, EINVAL, "CID ffffffff" },
        { 4096, "dir/a.vmdk", NULL, 1, EINVAL, "must be a plain file name" },
        { 4096, "a\".vmdk", NULL, 1, EINVAL, "must be a plain file name" },
        { 4096, "", NULL, 1, EINVAL, "needs a file name" },
    };

    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        fmt_extents_init (&m);
        m.size = c[i].size;
        if (c[i].size) {
            cr_assert_eq (fmt_extents_add_zero (&m, 0, c[i].size), 0);
        }
        opts_init (&o, c[i].name);
        o.vmdk_adapter = c[i].adapter;
        o.vmdk_cid = c[i].cid;
        fmt_layout_init (&lay);
        cr_assert_eq (fmt_plan (FMT_VMDK, &info, &m, &o, &lay), -c[i].err,
                      "case %zu", i);
        cr_assert (strstr (vmshift_internal_error_msg (), c[i].msg),
                   "case %zu: '%s'", i, vmshift_internal_error_msg ());
        fmt_layout_release (&lay);
        fmt_extents_release (&m);
    }
}
