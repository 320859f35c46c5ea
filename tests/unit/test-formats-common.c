/* formats/ shared code: probe, CRC-32C, GUIDs, extent maps, layouts,
 * path checks. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "engine/base/error.h"
#include <zlib.h>

#include "engine/vmshift.h"
#include "formats/formats.h"

Test (crc32c, check_value)
{
    cr_assert_eq (fmt_crc32c ("123456789", 9), 0xE3069283u);
    cr_assert_eq (fmt_crc32c_update (fmt_crc32c ("1234", 4), "56789", 5),
                  0xE3069283u);
    cr_assert_eq (fmt_crc32c ("", 0), 0);
}

Test (guid, bat_region_bytes_match_spec)
{
    static const uint8_t want[16] = {
        0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42,
        0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08,
    };
    uint8_t g[16];
    char s[37];

    cr_assert_eq (fmt_guid_parse ("2DC27766-F623-4200-9D64-115E9BFD4A08", g), 0);
    cr_assert_arr_eq (g, want, 16);
    fmt_guid_format (g, s);
    cr_assert_str_eq (s, "2DC27766-F623-4200-9D64-115E9BFD4A08");
    cr_assert_eq (fmt_guid_parse ("{2dc27766-f623-4200-9d64-115e9bfd4a08}", g), 0);
    cr_assert_arr_eq (g, want, 16);
    cr_assert_lt (fmt_guid_parse ("2DC27766-F623-4200-9D64-115E9BFD4A0", g), 0);
    cr_assert_lt (fmt_guid_parse ("2DC27766F623-4200-9D64-115E9BFD4A08x", g), 0);
}

Test (probe, magics_and_descriptor)
{
    uint8_t buf[512] = { 0 };
    const char *desc = "# Disk DescriptorFile\nversion=1\n";
    const char *desc2 = "version=1\nCID=fffffffe\ncreateType=\"vmfs\"\n";

    cr_assert_eq (fmt_probe (buf, sizeof buf), FMT_RAW);
    memcpy (buf, "vhdxfile", 8);
    cr_assert_eq (fmt_probe (buf, sizeof buf), FMT_VHDX);
    memcpy (buf, "QFI\xfb", 4);
    cr_assert_eq (fmt_probe (buf, sizeof buf), FMT_QCOW2);
    memcpy (buf, "KDMV", 4);
    cr_assert_eq (fmt_probe (buf, sizeof buf), FMT_VMDK);
    cr_assert_eq (fmt_probe ((const uint8_t *) desc, strlen (desc)), FMT_VMDK);
    cr_assert_eq (fmt_probe ((const uint8_t *) desc2, strlen (desc2)), FMT_VMDK);
}

Test (paths, extents_may_not_leave_their_directory)
{
    cr_assert_eq (fmt_check_rel_path ("disk-flat.vmdk"), 0);
    cr_assert_eq (fmt_check_rel_path ("sub/disk-flat.vmdk"), 0);
    cr_assert_eq (fmt_check_rel_path ("..disk"), 0);
    cr_assert_eq (fmt_check_rel_path ("/etc/passwd"), -EINVAL);
    cr_assert_eq (fmt_check_rel_path ("../x"), -EINVAL);
    cr_assert_eq (fmt_check_rel_path ("a/../../x"), -EINVAL);
    cr_assert_eq (fmt_check_rel_path ("a/.."), -EINVAL);
    cr_assert_eq (fmt_check_rel_path (""), -EINVAL);
    cr_assert_eq (fmt_check_rel_path ("a\nb"), -EINVAL);
    cr_assert_eq (fmt_check_rel_path ("a//b"), -EINVAL);
    cr_assert_eq (fmt_check_rel_path ("dir/"), -EINVAL);
}

Test (extents, merge_check_and_find)
{
    struct fmt_extent_list l;
    size_t hint = 0;

    fmt_extents_init (&l);
    l.size = 5 << 20;
    cr_assert_eq (fmt_extents_add_data (&l, 0, 1 << 20, 0, 4096), 0);
    cr_assert_eq (fmt_extents_add_data (&l, 1 << 20, 1 << 20, 0, 4096 + (1 << 20)), 0);
    cr_assert_eq (l.v.len, 1);          /* contiguous: merged */
    cr_assert_eq (fmt_extents_add_zero (&l, 2 << 20, 1 << 20), 0);
    cr_assert_eq (fmt_extents_add_zero (&l, 3 << 20, 1 << 20), 0);
    cr_assert_eq (l.v.len, 2);
    cr_assert_eq (fmt_extents_check (&l), -EINVAL);   /* short of size */
    cr_assert_eq (fmt_extents_add_data (&l, 4 << 20, 1 << 20, 1, 0), 0);
    cr_assert_eq (fmt_extents_check (&l), 0);
    cr_assert_eq (fmt_extents_add_zero (&l, 1, 1), -EINVAL);  /* not contiguous */
    cr_assert_eq (fmt_extents_find (&l, 0), 0);
    cr_assert_eq (fmt_extents_find (&l, (2 << 20) + 5), 1);
    cr_assert_eq (fmt_extents_find (&l, 5 << 20), 2);
    cr_assert (fmt_extents_is_zero (&l, 2 << 20, 2 << 20, &hint));
    cr_assert_not (fmt_extents_is_zero (&l, (2 << 20) - 1, 2, &hint));
    cr_assert_eq (fmt_extents_allocated (&l), 3 << 20);
    fmt_extents_release (&l);
}

Test (extents, overlay_takes_parent_where_child_is_absent)
{
    struct fmt_extent_list base, top, out;
    struct fmt_extent parent = { .kind = FMT_EXT_PARENT };

    fmt_extents_init (&base);
    fmt_extents_init (&top);
    fmt_extents_init (&out);
    base.size = top.size = 3 * 65536;
    fmt_extents_add_data (&base, 0, 3 * 65536, 0, 0);
    parent.guest_off = 0;
    parent.len = 65536;
    fmt_extents_add (&top, &parent);
    fmt_extents_add_data (&top, 65536, 65536, 1, 8192);
    parent.guest_off = 2 * 65536;
    fmt_extents_add (&top, &parent);
    cr_assert_eq (fmt_extents_overlay (&base, &top, &out), 0);
    cr_assert_eq (fmt_extents_check (&out), 0);
    cr_assert_eq (out.v.len, 3);
    cr_assert_eq (out.v.ptr[0].file, 0);
    cr_assert_eq (out.v.ptr[1].file, 1);
    cr_assert_eq (out.v.ptr[1].file_off, 8192);
    cr_assert_eq (out.v.ptr[2].file, 0);
    cr_assert_eq (out.v.ptr[2].file_off, 2 * 65536);
    fmt_extents_release (&base);
    fmt_extents_release (&top);
    fmt_extents_release (&out);
}

Test (layout, place_map_splits_clone_and_copy)
{
    struct fmt_extent_list l;
    struct fmt_layout lay;
    const struct fmt_output *o;

    fmt_extents_init (&l);
    l.size = 3 * 4096 + 1024;
    /* data at file offset 512: misaligned with dst 4 MiB -> all copy */
    fmt_extents_add_data (&l, 0, 4096, 0, 512);
    /* aligned data: 4 KiB clone plus a 1 KiB copy tail */
    fmt_extents_add_data (&l, 4096, 4096 + 1024, 1, 8192);
    fmt_extents_add_zero (&l, 2 * 4096 + 1024, 4096);
    cr_assert_eq (fmt_extents_check (&l), 0);
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_layout_add_output (&lay, "t", FMT_OUT_MAIN), 0);
    lay.out[0].file_size = (4 << 20) + l.size;
    cr_assert_eq (fmt_layout_place_map (&lay, 0, &l, 0, l.size, 4 << 20, 4096), 0);
    o = &lay.out[0];
    cr_assert_eq (o->place.len, 3);
    cr_assert_eq (o->place.ptr[0].kind, FMT_PLACE_COPY);
    cr_assert_eq (o->place.ptr[0].len, 4096);
    cr_assert_eq (o->place.ptr[1].kind, FMT_PLACE_CLONE);
    cr_assert_eq (o->place.ptr[1].dst_off, (4 << 20) + 4096);
    cr_assert_eq (o->place.ptr[1].src_off, 8192);
    cr_assert_eq (o->place.ptr[1].len, 4096);
    cr_assert_eq (o->place.ptr[2].kind, FMT_PLACE_COPY);
    cr_assert_eq (o->place.ptr[2].len, 1024);
    cr_assert_eq (fmt_layout_check (&lay), 0);
    /* a blob overlapping data is a planner bug */
    cr_assert_eq (fmt_layout_add_bytes (&lay, 0, (4 << 20) + 100, "x", 1,
                                        FMT_PHASE_META, "x"), 0);
    cr_assert_eq (fmt_layout_check (&lay), -EINVAL);
    fmt_layout_release (&lay);
    fmt_extents_release (&l);
}

/* Blocks stored out of guest order: guest block 3 of 4 KiB lands at file
 * offset 8 KiB, below its guest offset (12 KiB), which place_map's
 * dst_base + guest arithmetic cannot express. */
Test (layout, place_range_moves_a_block_down)
{
    struct fmt_extent_list l;
    struct fmt_layout lay;
    const struct fmt_output *o;

    fmt_extents_init (&l);
    l.size = 4 * 4096;
    fmt_extents_add_zero (&l, 0, 3 * 4096);
    /* block 3 holds data at file offset 12 KiB */
    fmt_extents_add_data (&l, 3 * 4096, 4096, 0, 3 * 4096);
    cr_assert_eq (fmt_extents_check (&l), 0);
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_layout_add_output (&lay, "t", FMT_OUT_MAIN), 0);
    lay.out[0].file_size = 4 * 4096;
    cr_assert_eq (fmt_layout_place_range (&lay, 0, &l, 3 * 4096, 4096,
                                          2 * 4096, 4096), 0);
    o = &lay.out[0];
    cr_assert_eq (o->place.len, 1);
    cr_assert_eq (o->place.ptr[0].kind, FMT_PLACE_CLONE);
    cr_assert_eq (o->place.ptr[0].dst_off, 2 * 4096);
    cr_assert_eq (o->place.ptr[0].src_off, 3 * 4096);
    cr_assert_eq (o->place.ptr[0].len, 4096);
    /* a part of the range: guest [12 KiB + 1 KiB, 16 KiB) at 9 KiB keeps
     * the 1 KiB offset inside the source and is copied (misaligned) */
    cr_assert_eq (fmt_layout_place_range (&lay, 0, &l, 3 * 4096 + 1024,
                                          3072, 4096 + 1024, 4096), 0);
    cr_assert_eq (o->place.len, 2);
    cr_assert_eq (o->place.ptr[1].kind, FMT_PLACE_COPY);
    cr_assert_eq (o->place.ptr[1].dst_off, 4096 + 1024);
    cr_assert_eq (o->place.ptr[1].src_off, 3 * 4096 + 1024);
    cr_assert_eq (o->place.ptr[1].len, 3072);
    /* past the map, or a destination that wraps, is refused */
    cr_assert_eq (fmt_layout_place_range (&lay, 0, &l, 3 * 4096, 8192, 0,
                                          4096), -EINVAL);
    cr_assert_eq (fmt_layout_place_range (&lay, 0, &l, 0, 4096,
                                          UINT64_MAX - 100, 4096), -EINVAL);
    fmt_layout_release (&lay);
    fmt_extents_release (&l);
}

Test (inflate, zlib_round_trip_and_corruption)
{
    unsigned char in[65536], z[70000], out[65536];
    unsigned long zl = sizeof z;
    size_t got = 0;

    for (size_t i = 0; i < sizeof in; i++) {
        in[i] = (unsigned char) (i * 7 % 251);
    }
    cr_assert_eq (compress2 (z, &zl, in, sizeof in, 6), 0);
    cr_assert_eq (fmt_inflate (FMT_CODEC_ZLIB, z, zl, out, sizeof out, &got), 0);
    cr_assert_eq (got, sizeof in);
    cr_assert_arr_eq (in, out, sizeof in);
    /* output room smaller than the stream: refused */
    cr_assert_lt (fmt_inflate (FMT_CODEC_ZLIB, z, zl, out, 1000, &got), 0);
    z[zl / 2] ^= 0xff;
    cr_assert_lt (fmt_inflate (FMT_CODEC_ZLIB, z, zl, out, sizeof out, &got), 0);
    cr_assert_lt (fmt_inflate (FMT_CODEC_ZLIB, z, 10, out, sizeof out, &got), 0);
}

/* The format table: every driver complete, names and extensions unique,
 * lookups by type, name and extension agree, and the public API's list
 * is the table. */
Test (drivers, table_is_complete_and_consistent)
{
    size_t n = 0, fallbacks = 0;

    for (size_t i = 0; fmt_driver_at (i); i++, n++) {
        const struct fmt_driver *d = fmt_driver_at (i);

        cr_assert_neq (d->type, FMT_UNKNOWN);
        cr_assert_not_null (d->name);
        cr_assert_not_null (d->extensions);
        cr_assert_not_null (d->extensions[0], "%s has no extension", d->name);
        cr_assert_not_null (d->read_map, "%s", d->name);
        cr_assert_not_null (d->validate, "%s", d->name);
        cr_assert_geq (d->size_align, 1, "%s", d->name);
        fallbacks += d->probe == NULL;
        cr_assert_eq (fmt_driver_of (d->type), d);
        cr_assert_eq (fmt_driver_by_name (d->name), d);
        cr_assert_eq (fmt_type_from_name (d->name), d->type);
        cr_assert_str_eq (fmt_type_name (d->type), d->name);
        cr_assert_str_eq (vmshift_format_name ((enum vmshift_format) d->type),
                          d->name);
        cr_assert_eq (vmshift_format_at (i), (enum vmshift_format) d->type);
        cr_assert_eq (vmshift_format_can_write ((enum vmshift_format) d->type),
                      d->plan != NULL);
        for (size_t e = 0; d->extensions[e]; e++) {
            char path[64];
            enum vmshift_format f;

            snprintf (path, sizeof path, "dir.x/Disk.%s", d->extensions[e]);
            cr_assert_eq (fmt_driver_by_extension (path), d, "%s", path);
            cr_assert_eq (vmshift_format_from_name (d->extensions[e], &f), 0);
            cr_assert_eq (f, (enum vmshift_format) d->type);
        }
        for (size_t j = 0; j < i; j++) {
            cr_assert_str_neq (fmt_driver_at (j)->name, d->name);
            cr_assert_neq (fmt_driver_at (j)->type, d->type);
        }
    }
    cr_assert_geq (n, 4);
    cr_assert_eq (fallbacks, 1, "exactly one format takes what no probe claims");
    cr_assert_eq (vmshift_format_at (n), VMSHIFT_FMT_AUTO);
    cr_assert_null (vmshift_format_name (VMSHIFT_FMT_AUTO));
    cr_assert_null (fmt_driver_by_extension ("disk"));
    cr_assert_null (fmt_driver_by_extension ("a.vhdx/disk"));
    cr_assert_eq (fmt_driver_by_extension ("A.VHDX"), &vhdx_driver);
    cr_assert_eq (fmt_driver_by_extension ("a.img"), &raw_driver);
}

Test (drivers, facts_callers_ask)
{
    const struct fmt_driver *last = NULL;
    enum vmshift_format f;
    char list[256], tail[64];
    size_t n;

    /* Hyper-V reads VHDX over SMB: an NTFS qtree; the rest UNIX */
    cr_assert_eq (vhdx_driver.share_style, FMT_SHARE_NTFS);
    cr_assert_eq (qcow2_driver.share_style, FMT_SHARE_UNIX);
    cr_assert_eq (raw_driver.share_style, FMT_SHARE_UNIX);
    cr_assert_eq (fmt_driver_target_size (&qcow2_driver, 1000), 1024);
    cr_assert_eq (fmt_driver_target_size (&qcow2_driver, 1024), 1024);
    cr_assert_eq (fmt_driver_target_size (&raw_driver, 1000), 1000);
    cr_assert (vhdx_driver.map_validates);
    cr_assert_not (qcow2_driver.map_validates);
    /* the table's order, joined by ", " and a final " or " (the last
     * line of drivers.def changes as formats are added) */
    for (size_t i = 0; fmt_driver_at (i); i++) {
        if (fmt_driver_at (i)->plan) {
            last = fmt_driver_at (i);
        }
    }
    cr_assert_not_null (last);
    for (n = 0; last->extensions[n]; n++) {
    }
    fmt_driver_list (list, sizeof list, true, false);
    cr_assert (strncmp (list, "raw, vmdk, vhdx", 15) == 0, "%s", list);
    snprintf (tail, sizeof tail, " or %s", last->name);
    cr_assert_str_eq (list + strlen (list) - strlen (tail), tail);
    fmt_driver_list (list, sizeof list, true, true);
    cr_assert (strncmp (list, ".raw, .img, .vmdk, .vhdx", 24) == 0, "%s",
               list);
    snprintf (tail, sizeof tail, " or .%s", last->extensions[n - 1]);
    cr_assert_str_eq (list + strlen (list) - strlen (tail), tail);
    fmt_driver_list (list, 8, true, false);
    cr_assert_str_eq (list, "raw, vm");   /* cut, terminated */
    cr_assert_lt (vmshift_format_from_name ("vpc", &f), 0);
    cr_assert (strstr (vmshift_get_error (), "expected raw, vmdk") != NULL,
               "%s", vmshift_get_error ());
}

Test (probe, tail_and_weak_scores)
{
    /* a text descriptor is a weak sign; a magic of another format in the
     * same buffer wins over it */
    uint8_t buf[64] = "createType=\"vmfs\"\n";

    cr_assert_eq (fmt_probe (buf, 18), FMT_VMDK);
    cr_assert_eq (fmt_probe (buf, 0), FMT_RAW);
    cr_assert_eq (vmdk_driver.probe (&(struct fmt_probe_buf) {
                      .head = buf, .head_len = 18 }), FMT_PROBE_WEAK);
    memcpy (buf, "KDMV", 4);
    cr_assert_eq (vmdk_driver.probe (&(struct fmt_probe_buf) {
                      .head = buf, .head_len = 18 }), FMT_PROBE_MAGIC);
}

/* Problems carry their severity and errno; nothing is read back from
 * the text. */
Test (problems, severity_and_errno_are_data)
{
    struct fmt_problems p;

    fmt_problems_init (&p);
    fmt_warning (&p, "one header copy is damaged");
    fmt_problem_err (&p, ENOTSUP, "a feature vmshift cannot read");
    fmt_problem (&p, "a table points past the end");
    cr_assert_eq (p.n, 3);
    cr_assert_eq (p.item[0].severity, FMT_SEV_WARNING);
    cr_assert_eq (p.item[0].err, 0);
    cr_assert_str_eq (p.item[0].msg, "warning: one header copy is damaged");
    cr_assert_eq (p.msg[0], p.item[0].msg);
    cr_assert_eq (p.item[1].err, ENOTSUP);
    cr_assert_eq (p.item[2].err, EINVAL);
    cr_assert_eq (fmt_problems_count_errors (&p), 2);
    /* the first error, not the warning before it; its own errno although
     * its text does not say "unsupported" */
    cr_assert_eq (fmt_problems_to_error (&p, "d.vhdx"), -ENOTSUP);
    cr_assert_str_eq (vmshift_internal_error_msg (),
                      "'d.vhdx': a feature vmshift cannot read");
    fmt_problems_release (&p);
    fmt_problem (&p, "unsupported is only a word here");
    cr_assert_eq (fmt_problems_to_error (&p, "d"), -EINVAL);
    fmt_problems_release (&p);
    fmt_warning (&p, "only a warning");
    cr_assert_eq (fmt_problems_count_errors (&p), 0);
    cr_assert_eq (fmt_problems_to_error (&p, "d"), 0);
    fmt_problems_release (&p);
}
