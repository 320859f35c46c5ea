/* VMDK descriptor parser: grammar, createTypes, hostile input, and the
 * real descriptors of the shared corpus (read in place). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "formats/vmdk.h"
#include "helpers/testio.h"

/* Parse text; returns the parser's result, problems in *probs when
 * non-NULL. */
static int
parse (const char *text, size_t len, struct vmdk_desc *d,
       struct fmt_problems *probs)
{
    struct vmdk_diag dg = { .probs = probs };

    vmdk_desc_init (d);
    clear_error ();
    return vmdk_desc_parse (text, len, d, &dg);
}

static int
parse_str (const char *text, struct vmdk_desc *d, struct fmt_problems *p)
{
    return parse (text, strlen (text), d, p);
}

Test (vmdk_desc, grammar_spaces_quotes_crlf_case_comments)
{
    static const char text[] =
        "# Disk DescriptorFile\r\n"
        "\r\n"
        "   # indented comment\r\n"
        "VERSION = 1\r\n"
        "cid=0000abcd\r\n"
        "ParentCID = ffffffff  \r\n"
        "  createtype = \"TwoGbMaxExtentFlat\"   \r\n"
        "encoding=\"UTF-8\"\r\n"
        "\t\r\n"
        "# Extent description\r\n"
        "rw 2048 flat \"a b-flat.vmdk\" 0\r\n"
        "RDONLY\t1024\tZERO\r\n"
        "ddb.adapterType=lsilogic\r\n"
        "DDB.UUID = \"60 00 C2 9f 9a b0 9b 9c-13 55 b8 11 fd 2c 92 9b\"\r\n"
        "ddb.thinProvisioned = \"1\"\r\n"
        "ddb.virtualHWVersion = \"13\"\r\n"
        "ddb.toolsVersion = \"12352\"";    /* no final newline */
    static const uint8_t uuid[16] = {
        0x60, 0x00, 0xc2, 0x9f, 0x9a, 0xb0, 0x9b, 0x9c,
        0x13, 0x55, 0xb8, 0x11, 0xfd, 0x2c, 0x92, 0x9b,
    };
    struct fmt_problems p;
    struct vmdk_desc d;

    fmt_problems_init (&p);
    cr_assert_eq (parse_str (text, &d, &p), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (p.n, 0, "unexpected problem: %s", p.n ? p.msg[0] : "");
    cr_assert_eq (d.version, 1);
    cr_assert (d.has_cid);
    cr_assert_eq (d.cid, 0xabcd);
    cr_assert_eq (d.parent_cid, 0xffffffffu);
    cr_assert_eq (d.ct, VMDK_CT_2GB_FLAT);
    cr_assert_str_eq (d.create_type, "twoGbMaxExtentFlat");
    cr_assert_str_eq (d.encoding, "UTF-8");
    cr_assert_eq (d.extents.len, 2);
    cr_assert_str_eq (d.extents.ptr[0].file, "a b-flat.vmdk");
    cr_assert_eq (d.extents.ptr[0].sectors, 2048);
    cr_assert_eq (d.extents.ptr[0].type, VMDK_EXT_FLAT);
    cr_assert_eq (d.extents.ptr[0].access, VMDK_RW);
    cr_assert_eq (d.extents.ptr[0].offset, 0);
    cr_assert_eq (d.extents.ptr[1].type, VMDK_EXT_ZERO);
    cr_assert_eq (d.extents.ptr[1].access, VMDK_RDONLY);
    cr_assert_null (d.extents.ptr[1].file);
    cr_assert_eq (d.capacity, 3072);
    cr_assert_str_eq (d.adapter, "lsilogic");
    cr_assert (d.has_uuid);
    cr_assert_arr_eq (d.uuid, uuid, 16);
    cr_assert (d.thin);
    cr_assert_eq (d.hw_version, 13);
    vmdk_desc_release (&d);
    fmt_problems_release (&p);
}

Test (vmdk_desc, flat_offset_and_qemu_short_cid_and_nul_padding)
{
    /* qemu writes CIDs without leading zeros, pads descriptor files with
     * NULs to a sector, and leaves old bytes after the NUL when it
     * rewrites a descriptor with a shorter CID. */
    char text[512] = "version=1\nCID=a77625c\nparentCID=ffffffff\n"
                     "createType=\"custom\"\n"
                     "RW 100 FLAT \"dev.img\" 4096\n"
                     "RW 50 FLAT \"dev.img\" 4196\n";
    struct vmdk_desc d;

    cr_assert_eq (parse (text, sizeof text, &d, NULL), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (d.cid, 0x0a77625c);
    cr_assert_eq (d.extents.len, 2);
    cr_assert_eq (d.extents.ptr[0].offset, 4096);
    cr_assert_eq (d.extents.ptr[1].offset, 4196);
    vmdk_desc_release (&d);
    text[strlen (text) + 1] = '\n';
    text[300] = 'x';
    cr_assert_eq (parse (text, sizeof text, &d, NULL), 0);
    cr_assert_eq (d.extents.len, 2);
    vmdk_desc_release (&d);
}

struct ct_case {
    const char *name;
    enum vmdk_ct ct;
    const char *extent;         /* a matching extent line */
    const char *why;            /* NULL: supported */
    const char *canonical;
};

static const struct ct_case ct_cases[] = {
    { "vmfs", VMDK_CT_VMFS, "RW 8 VMFS \"a-flat.vmdk\"", NULL, "vmfs" },
    { "vmfsThin", VMDK_CT_VMFS_THIN, "RW 8 VMFS \"a-flat.vmdk\"", NULL,
      "vmfsThin" },
    { "vmfsPreallocated", VMDK_CT_VMFS_PREALLOC, "RW 8 VMFS \"a-flat.vmdk\"",
      NULL, "vmfsPreallocated" },
    { "vmfsEagerZeroedThick", VMDK_CT_VMFS_EZT, "RW 8 VMFS \"a-flat.vmdk\"",
      NULL, "vmfsEagerZeroedThick" },
    { "monolithicFlat", VMDK_CT_MONO_FLAT, "RW 8 FLAT \"a-flat.vmdk\" 0",
      NULL, "monolithicFlat" },
    { "twoGbMaxExtentFlat", VMDK_CT_2GB_FLAT, "RW 8 FLAT \"a-f001.vmdk\" 0",
      NULL, "twoGbMaxExtentFlat" },
    { "2GbMaxExtentFlat", VMDK_CT_2GB_FLAT, "RW 8 FLAT \"a-f001.vmdk\" 0",
      NULL, "twoGbMaxExtentFlat" },
    { "monolithicSparse", VMDK_CT_MONO_SPARSE, "RW 8 SPARSE \"a.vmdk\"",
      NULL, "monolithicSparse" },
    { "twoGbMaxExtentSparse", VMDK_CT_2GB_SPARSE,
      "RW 8 SPARSE \"a-s001.vmdk\"", NULL, "twoGbMaxExtentSparse" },
    { "2GbMaxExtentSparse", VMDK_CT_2GB_SPARSE,
      "RW 8 SPARSE \"a-s001.vmdk\"", NULL, "twoGbMaxExtentSparse" },
    { "streamOptimized", VMDK_CT_STREAM, "RW 8 SPARSE \"a.vmdk\"", NULL,
      "streamOptimized" },
    { "vmfsSparse", VMDK_CT_VMFS_SPARSE,
      "RW 8 VMFSSPARSE \"a-delta.vmdk\"\nparentCID=12345678\n"
      "parentFileNameHint=\"p.vmdk\"", NULL, "vmfsSparse" },
    { "seSparse", VMDK_CT_SE_SPARSE,
      "RW 8 SESPARSE \"a-sesparse.vmdk\"\nparentCID=12345678\n"
      "parentFileNameHint=\"p.vmdk\"", NULL, "seSparse" },
    { "custom", VMDK_CT_CUSTOM, "RW 8 FLAT \"a\" 0\nRW 8 SPARSE \"b\"", NULL,
      "custom" },
    { "vmfsRaw", VMDK_CT_VMFS_RAW, "RW 8 VMFSRAW \"a-rdm.vmdk\"",
      "raw disk on VMFS", "vmfsRaw" },
    { "vmfsRawDeviceMap", VMDK_CT_RDM, "RW 8 VMFSRDM \"a-rdm.vmdk\"",
      "raw device mapping", "vmfsRawDeviceMap" },
    { "vmfsRDM", VMDK_CT_RDM, "RW 8 VMFSRDM \"a-rdm.vmdk\"",
      "raw device mapping", "vmfsRawDeviceMap" },
    { "vmfsPassthroughRawDeviceMap", VMDK_CT_RDMP,
      "RW 8 VMFSRDM \"a-rdmp.vmdk\"", "pass-through raw device mapping",
      "vmfsPassthroughRawDeviceMap" },
    { "vmfsRDMP", VMDK_CT_RDMP, "RW 8 VMFSRDM \"a-rdmp.vmdk\"",
      "pass-through raw device mapping", "vmfsPassthroughRawDeviceMap" },
    { "fullDevice", VMDK_CT_FULL_DEVICE, "RW 8 FLAT \"/dev/sda\" 0",
      "physical disk", "fullDevice" },
    { "partitionedDevice", VMDK_CT_PART_DEVICE, "RW 8 FLAT \"/dev/sda\" 63",
      "physical disk partitions", "partitionedDevice" },
};

Test (vmdk_desc, every_create_type_is_classified)
{
    for (size_t i = 0; i < sizeof ct_cases / sizeof ct_cases[0]; i++) {
        const struct ct_case *t = &ct_cases[i];
        char text[512];
        struct fmt_problems p;
        struct vmdk_desc d;
        int r;

        snprintf (text, sizeof text, "version=1\nCID=fffffffe\n"
                  "createType=\"%s\"\n%s\n", t->name, t->extent);
        fmt_problems_init (&p);
        r = parse_str (text, &d, &p);
        cr_assert_eq (d.ct, t->ct, "%s classified as %d", t->name, d.ct);
        cr_assert_str_eq (d.create_type, t->canonical);
        if (t->why == NULL) {
            cr_assert_eq (r, 0, "%s: %s", t->name,
                          vmshift_internal_error_msg ());
            cr_assert_eq (p.n, 0, "%s: %s", t->name, p.msg[0]);
        } else {
            char want[200];

            snprintf (want, sizeof want, "unsupported VMDK subformat '%s' "
                      "(%s)", t->name, t->why);
            cr_assert_eq (r, -ENOTSUP, "%s gave %d", t->name, r);
            cr_assert (strstr (vmshift_internal_error_msg (), want),
                       "%s: message '%s'", t->name,
                       vmshift_internal_error_msg ());
        }
        vmdk_desc_release (&d);
        fmt_problems_release (&p);
    }
    cr_assert_null (vmdk_ct_lookup ("monolithic"));
    cr_assert_not_null (vmdk_ct_lookup ("VMFS"));
}

struct bad_case {
    const char *what;
    const char *text;
    int err;
    const char *msg;
};

#define HDR "version=1\nCID=fffffffe\nparentCID=ffffffff\n"
#define VMFS_HDR HDR "createType=\"vmfs\"\n"

static const struct bad_case bad_cases[] = {
    { "absolute extent", VMFS_HDR "RW 100 VMFS \"/etc/passwd\"\n", EINVAL,
      "line 5: extent file '/etc/passwd' is an absolute path" },
    { "dotdot extent", VMFS_HDR "RW 100 VMFS \"../x-flat.vmdk\"\n", EINVAL,
      "leaves the descriptor's directory" },
    { "dotdot inside", VMFS_HDR "RW 100 VMFS \"a/../../x\"\n", EINVAL,
      "leaves the descriptor's directory" },
    { "empty name", VMFS_HDR "RW 100 VMFS \"\"\n", EINVAL,
      "empty extent file name" },
    { "size overflows u64", VMFS_HDR
      "RW 99999999999999999999999 VMFS \"a\"\n", EINVAL,
      "line 5: extent size '99999999999999999999999' is not a number" },
    { "negative size", VMFS_HDR "RW -5 VMFS \"a\"\n", EINVAL,
      "extent size '-5' is not a number" },
    { "over 64 TiB", VMFS_HDR "RW 137438953473 VMFS \"a\"\n", EFBIG,
      "exceeds the 64 TiB limit" },
    { "sum over 64 TiB", HDR "createType=\"twoGbMaxExtentFlat\"\n"
      "RW 137438953472 FLAT \"a\" 0\nRW 1 FLAT \"b\" 0\n", EFBIG,
      "line 6: virtual size of 137438953473 sectors exceeds the 64 TiB" },
    { "huge ZERO extents", HDR "createType=\"custom\"\n"
      "RW 36028797018963967 ZERO\nRW 36028797018963967 ZERO\n", EFBIG,
      "line 5: virtual size of 36028797018963967 sectors exceeds" },
    { "extent end overflows", HDR "createType=\"custom\"\n"
      "RW 18446744073709551615 ZERO\n", EINVAL,
      "extent start + size overflows" },
    { "start+size overflow", HDR "createType=\"monolithicFlat\"\n"
      "RW 100 FLAT \"a\" 18446744073709551615\n", EINVAL,
      "extent start + size overflows" },
    { "FLAT without offset", HDR "createType=\"monolithicFlat\"\n"
      "RW 100 FLAT \"a-flat.vmdk\"\n", EINVAL,
      "FLAT extent needs a start sector" },
    { "VMFS with offset", VMFS_HDR "RW 100 VMFS \"a-flat.vmdk\" 0\n", EINVAL,
      "VMFS extent must not have a start sector" },
    { "SPARSE with offset", HDR "createType=\"monolithicSparse\"\n"
      "RW 100 SPARSE \"a.vmdk\" 0\n", EINVAL,
      "SPARSE extent must not have a start sector" },
    { "garbage line", VMFS_HDR "hello world\nRW 100 VMFS \"a\"\n", EINVAL,
      "line 5: expected 'key=value' or an extent line" },
    { "binary garbage", "\x7f" "ELF\x01\x01\x01\0\0\0\0\x02", EINVAL,
      "line 1: control character 0x7f" },
    { "unterminated value", HDR "createType=\"vmfs\nRW 100 VMFS \"a\"\n",
      EINVAL, "line 4: unterminated quoted value of 'createType'" },
    { "truncated extent", VMFS_HDR "RW 100 VMFS \"a-fl", EINVAL,
      "line 5: unterminated quoted file name" },
    { "truncated before file", VMFS_HDR "RW 100 VMFS", EINVAL,
      "VMFS extent has no quoted file name" },
    { "no extents", VMFS_HDR "# Extent description\n", EINVAL,
      "descriptor has no extents" },
    { "no createType", HDR "RW 100 VMFS \"a\"\n", EINVAL,
      "descriptor has no createType" },
    { "zero-size extent", VMFS_HDR "RW 0 VMFS \"a\"\n", EINVAL,
      "line 5: extent has size 0" },
    { "NOACCESS", VMFS_HDR "NOACCESS 100 VMFS \"a\"\n", ENOTSUP,
      "unsupported NOACCESS extent" },
    { "RDM extent", HDR "createType=\"custom\"\nRW 100 VMFSRDM \"a-rdm\"\n",
      ENOTSUP, "unsupported VMDK extent type 'VMFSRDM' (raw device mapping)" },
    { "raw extent", HDR "createType=\"custom\"\nRW 100 VMFSRAW \"a\"\n",
      ENOTSUP, "unsupported VMDK extent type 'VMFSRAW'" },
    { "unknown extent type", VMFS_HDR "RW 100 FOO \"a\"\n", EINVAL,
      "unknown extent type 'FOO'" },
    { "unknown createType", HDR "createType=\"monolithicFoo\"\n"
      "RW 100 FLAT \"a\" 0\n", ENOTSUP,
      "unsupported VMDK subformat 'monolithicFoo' (unknown createType)" },
    { "duplicate createType", VMFS_HDR "createType=\"monolithicFlat\"\n"
      "RW 100 VMFS \"a\"\n", EINVAL,
      "line 5: duplicate key 'createType' (first on line 4)" },
    { "bad CID", "version=1\nCID=xyz\ncreateType=\"vmfs\"\n"
      "RW 100 VMFS \"a\"\n", EINVAL, "line 2: CID 'xyz' is not 1 to 8 hex" },
    { "long CID", "version=1\nCID=123456789\ncreateType=\"vmfs\"\n"
      "RW 100 VMFS \"a\"\n", EINVAL, "CID '123456789'" },
    { "version 4", "version=4\ncreateType=\"vmfs\"\nRW 100 VMFS \"a\"\n",
      ENOTSUP, "unsupported descriptor version 4" },
    { "version text", "version=one\ncreateType=\"vmfs\"\nRW 1 VMFS \"a\"\n",
      EINVAL, "version 'one' is not a number" },
    { "ZERO with file", VMFS_HDR "RW 100 ZERO \"a\"\n", EINVAL,
      "ZERO extent must not name a file" },
    { "absolute parent", HDR "createType=\"vmfsSparse\"\n"
      "parentFileNameHint=\"/vmfs/volumes/ds/p.vmdk\"\n"
      "RW 100 VMFSSPARSE \"a-delta.vmdk\"\n", EINVAL,
      "parentFileNameHint '/vmfs/volumes/ds/p.vmdk' must name a file" },
    { "dotdot parent", "version=1\nCID=1\nparentCID=2\n"
      "createType=\"vmfsSparse\"\nparentFileNameHint=\"../p.vmdk\"\n"
      "RW 100 VMFSSPARSE \"a-delta.vmdk\"\n", EINVAL,
      "parentFileNameHint '../p.vmdk' must name a file" },
    { "hint without parentCID", HDR "createType=\"monolithicSparse\"\n"
      "parentFileNameHint=\"p.vmdk\"\nRW 100 SPARSE \"a.vmdk\"\n", EINVAL,
      "parentFileNameHint is set but parentCID is ffffffff" },
    { "parentCID without hint", "version=1\nCID=1\nparentCID=2\n"
      "createType=\"vmfs\"\nRW 100 VMFS \"a\"\n", EINVAL,
      "parentCID is 00000002 but there is no parentFileNameHint" },
    { "delta without parent", HDR "createType=\"seSparse\"\n"
      "RW 100 SESPARSE \"a-sesparse.vmdk\"\n", EINVAL,
      "'seSparse' delta disk has no parentFileNameHint" },
    { "shared sparse file", HDR "createType=\"twoGbMaxExtentSparse\"\n"
      "RW 100 SPARSE \"a.vmdk\"\nRW 100 SPARSE \"a.vmdk\"\n", EINVAL,
      "extents share the file 'a.vmdk'" },
    { "overlapping flat", HDR "createType=\"custom\"\n"
      "RW 100 FLAT \"a\" 0\nRW 100 FLAT \"a\" 50\n", EINVAL,
      "extents share the file 'a'" },
    { "control character", VMFS_HDR "RW 100 VMFS \"a\x01\"\n", EINVAL,
      "control character 0x01" },
    { "text after value", HDR "createType=\"vmfs\" junk\n"
      "RW 100 VMFS \"a\"\n", EINVAL,
      "unexpected text after the value of 'createType'" },
    { "text after extent", HDR "createType=\"monolithicFlat\"\n"
      "RW 100 FLAT \"a\" 0 extra\n", EINVAL,
      "unexpected text after the extent" },
    { "bad offset", HDR "createType=\"monolithicFlat\"\n"
      "RW 100 FLAT \"a\" zero\n", EINVAL,
      "extent start sector 'zero' is not a number" },
    { "key without value", VMFS_HDR "=value\nRW 100 VMFS \"a\"\n", EINVAL,
      "expected 'key=value'" },
};

Test (vmdk_desc, hostile_descriptors_are_rejected_with_a_message)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *t = &bad_cases[i];
        size_t len = strlen (t->text);
        struct vmdk_desc d;
        int r;

        if (strcmp (t->what, "binary garbage") == 0) {
            len = 12;
        }
        r = parse (t->text, len, &d, NULL);
        cr_assert_eq (r, -t->err, "%s: got %d (%s)", t->what, r,
                      vmshift_internal_error_msg ());
        cr_assert (strstr (vmshift_internal_error_msg (), t->msg),
                   "%s: message '%s' lacks '%s'", t->what,
                   vmshift_internal_error_msg (), t->msg);
        vmdk_desc_release (&d);
    }
}

Test (vmdk_desc, caps_on_size_lines_and_extents)
{
    size_t big = VMDK_MAX_DESC_BYTES + 1;
    char *text = malloc (big + 64);
    struct vmdk_desc d;
    size_t n = 0;

    cr_assert_not_null (text);
    memset (text, '#', big);
    cr_assert_eq (parse (text, big, &d, NULL), -EFBIG);
    cr_assert (strstr (vmshift_internal_error_msg (), "larger than 1048576"));
    vmdk_desc_release (&d);

    /* too many lines */
    for (unsigned i = 0; i <= VMDK_MAX_DESC_LINES; i++) {
        text[n++] = '\n';
    }
    cr_assert_eq (parse (text, n, &d, NULL), -EFBIG);
    cr_assert (strstr (vmshift_internal_error_msg (), "more than 16384 lines"));
    vmdk_desc_release (&d);

    /* one very long line */
    memset (text, 'a', VMDK_MAX_LINE + 1);
    cr_assert_eq (parse (text, VMDK_MAX_LINE + 1, &d, NULL), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (),
                       "line 1 is longer than 8192 bytes"));
    vmdk_desc_release (&d);

    /* too many extents */
    n = (size_t) snprintf (text, big, "createType=\"custom\"\n");
    for (unsigned i = 0; i <= VMDK_MAX_EXTENTS; i++) {
        memcpy (text + n, "RW 1 ZERO\n", 10);
        n += 10;
    }
    cr_assert_eq (parse (text, n, &d, NULL), -EFBIG);
    cr_assert (strstr (vmshift_internal_error_msg (),
                       "more than 4096 extents"));
    cr_assert_eq (d.extents.len, VMDK_MAX_EXTENTS);
    vmdk_desc_release (&d);
    free (text);
}

Test (vmdk_desc, validator_mode_collects_every_problem)
{
    static const char text[] =
        "version=1\nCID=zz\ncreateType=\"vmfs\"\n"
        "RW 100 VMFS \"/abs\"\n"
        "bogus line\n"
        "RW 0 VMFS \"b\"\n"
        "RW 100 VMFS \"ok-flat.vmdk\"\n"
        "someKey=1\n"
        "ddb.uuid = \"12 34\"\n"
        "ddb.geometry.heads = \"x\"\n"
        "ddb.adapterType = \"floppy\"\n";
    struct fmt_problems p;
    struct vmdk_desc d;
    int r;

    fmt_problems_init (&p);
    r = parse_str (text, &d, &p);
    cr_assert_eq (r, -EINVAL);
    /* the first hard error is the current error */
    cr_assert (strstr (vmshift_internal_error_msg (), "line 2: CID 'zz'"),
               "%s", vmshift_internal_error_msg ());
    cr_assert_eq (p.n, 8, "got %zu problems", p.n);
    cr_assert (strstr (p.msg[1], "line 4:") && strstr (p.msg[1], "/abs"));
    cr_assert (strstr (p.msg[2], "line 5: expected"));
    cr_assert (strstr (p.msg[3], "line 6: extent has size 0"));
    cr_assert (strstr (p.msg[4], "unknown key 'someKey'"));
    cr_assert (strstr (p.msg[5], "ddb.uuid '12 34'"));
    cr_assert (strstr (p.msg[6], "ddb.geometry.heads 'x'"));
    cr_assert (strstr (p.msg[7], "unknown ddb.adapterType 'floppy'"));
    cr_assert_eq (d.extents.len, 1);    /* only the good extent kept */
    vmdk_desc_release (&d);
    fmt_problems_release (&p);
}

Test (vmdk_desc, soft_problems_do_not_fail_the_parse)
{
    static const char text[] =
        "createType=\"monolithicFlat\"\n"
        "RW 100 VMFS \"a-flat.vmdk\"\n"
        "RW 100 SPARSE \"b.vmdk\"\n"
        "isNativeSnapshot=\"maybe\"\n"
        "ddb.virtualHWVersion = \"4\"\nddb.virtualHWVersion = \"6\"\n";
    struct fmt_problems p;
    struct vmdk_desc d;

    fmt_problems_init (&p);
    cr_assert_eq (parse_str (text, &d, &p), 0);
    cr_assert_eq (p.n, 6, "got %zu", p.n);
    cr_assert (strstr (p.msg[0], "isNativeSnapshot 'maybe'"));
    cr_assert (strstr (p.msg[1], "duplicate key 'ddb.virtualHWVersion'"));
    cr_assert (strstr (p.msg[2], "no 'version' line"));
    cr_assert (strstr (p.msg[3], "no 'CID' line"));
    cr_assert (strstr (p.msg[4], "line 3: SPARSE extent in a "
                       "'monolithicFlat'"));
    cr_assert (strstr (p.msg[5], "has 2 extents"));
    cr_assert_eq (d.hw_version, 4);
    vmdk_desc_release (&d);
    fmt_problems_release (&p);
}

Test (vmdk_desc, uuid_forms)
{
    uint8_t u[16];

    cr_assert_eq (vmdk_uuid_parse ("00 11 22 33 44 55 66 77-88 99 aa bb cc dd "
                                   "ee ff", u), 0);
    cr_assert_eq (u[0], 0x00);
    cr_assert_eq (u[8], 0x88);
    cr_assert_eq (u[15], 0xff);
    cr_assert_eq (vmdk_uuid_parse ("00 11 22 33 44 55 66 77 88 99 AA BB CC DD "
                                   "EE FF", u), 0);
    cr_assert_eq (u[10], 0xaa);
    cr_assert_lt (vmdk_uuid_parse ("00 11 22", u), 0);
    cr_assert_lt (vmdk_uuid_parse ("00 11 22 33 44 55 66 77-88 99 aa bb cc dd "
                                   "ee ff 00", u), 0);
    cr_assert_lt (vmdk_uuid_parse ("0011 22 33 44 55 66 77-88 99 aa bb cc dd "
                                   "ee f", u), 0);
    cr_assert_lt (vmdk_uuid_parse ("", u), 0);
}

/* ------------------------------------------------------------ corpus */

static char *
slurp (const char *path, size_t *len)
{
    FILE *f = fopen (path, "rb");
    char *buf;
    long n;

    cr_assert_not_null (f, "cannot open %s", path);
    fseek (f, 0, SEEK_END);
    n = ftell (f);
    fseek (f, 0, SEEK_SET);
    buf = malloc ((size_t) n + 1);
    cr_assert_eq (fread (buf, 1, (size_t) n, f), (size_t) n);
    fclose (f);
    *len = (size_t) n;
    return buf;
}

/* The text of a descriptor file, or the descriptor embedded in a KDMV
 * sparse file (sector desc_off, desc_size sectors, NUL padded). */
static char *
corpus_desc (const char *rel, size_t *len)
{
    const char *dir = test_corpus_dir ();
    char path[4096];
    char *buf;

    snprintf (path, sizeof path, "%s/vmdk/%s", dir, rel);
    buf = slurp (path, len);
    if (*len >= 512 && memcmp (buf, "KDMV", 4) == 0) {
        uint64_t off = get_le64 (buf + 28) * 512, n = get_le64 (buf + 36) * 512;

        cr_assert_leq (off + n, *len);
        memmove (buf, buf + off, (size_t) n);
        *len = (size_t) n;
    }
    return buf;
}

struct corpus_case {
    const char *file;
    const char *create_type;
    uint64_t capacity;
    int ext_type;
    const char *ext_file;
};

static const struct corpus_case corpus_cases[] = {
    { "extracted/mfd-esxi/Base_R91.vmdk", "vmfs", 41943040, VMDK_EXT_VMFS,
      "Base_R91-flat.vmdk" },
    { "extracted/mfd-esxi/Base_R91-000001.vmdk", "seSparse", 41943040,
      VMDK_EXT_SESPARSE, "Base_R91-000001-sesparse.vmdk" },
    { "libvmdk/descriptor_file.1", "monolithicSparse", 16777216,
      VMDK_EXT_SPARSE, "test1.vmdk" },
    { "mdx1/1GiB.vmdk", "streamOptimized", 2097152, VMDK_EXT_SPARSE,
      "1GiB.vmdk" },
    { "mdx1/1mb.vmdk", "streamOptimized", 2048, VMDK_EXT_SPARSE,
      "generated-stream.vmdk" },
    { "mdx1/1mib.vmdk", "streamOptimized", 2048, VMDK_EXT_SPARSE,
      "1mib.vmdk" },
    { "mdx1/64KiB.vmdk", "streamOptimized", 128, VMDK_EXT_SPARSE,
      "64KiB.vmdk" },
    { "pve-storage/disk1.vmdk", "monolithicSparse", 4, VMDK_EXT_SPARSE,
      "disk1.vmdk" },
    { "dfvfs/ext2.vmdk", "monolithicSparse", 8192, VMDK_EXT_SPARSE,
      "ext2.vmdk" },
};

Test (vmdk_desc, corpus_descriptors_parse_cleanly)
{
    if (test_corpus_dir () == NULL) {
        cr_skip_test ("corpus not found (set VMSHIFT_CORPUS)");
    }
    for (size_t i = 0; i < sizeof corpus_cases / sizeof corpus_cases[0]; i++) {
        const struct corpus_case *t = &corpus_cases[i];
        struct fmt_problems p;
        struct vmdk_desc d;
        size_t len;
        char *text = corpus_desc (t->file, &len);

        fmt_problems_init (&p);
        cr_assert_eq (parse (text, len, &d, &p), 0, "%s: %s", t->file,
                      vmshift_internal_error_msg ());
        cr_assert_eq (p.n, 0, "%s: %s", t->file, p.n ? p.msg[0] : "");
        cr_assert_str_eq (d.create_type, t->create_type, "%s", t->file);
        cr_assert_eq (d.capacity, t->capacity, "%s", t->file);
        cr_assert_eq (d.extents.len, 1, "%s", t->file);
        cr_assert_eq (d.extents.ptr[0].type, t->ext_type, "%s", t->file);
        cr_assert_str_eq (d.extents.ptr[0].file, t->ext_file);
        vmdk_desc_release (&d);
        fmt_problems_release (&p);
        free (text);
    }
}

Test (vmdk_desc, corpus_details)
{
    static const uint8_t uuid[16] = {
        0x60, 0x00, 0xc2, 0x9f, 0x9a, 0xb0, 0x9b, 0x9c,
        0x13, 0x55, 0xb8, 0x11, 0xfd, 0x2c, 0x92, 0x9b,
    };
    struct vmdk_desc d;
    size_t len;
    char *text;

    if (test_corpus_dir () == NULL) {
        cr_skip_test ("corpus not found (set VMSHIFT_CORPUS)");
    }
    text = corpus_desc ("extracted/mfd-esxi/Base_R91.vmdk", &len);
    cr_assert_eq (parse (text, len, &d, NULL), 0);
    cr_assert_eq (d.cid, 0x3729b687);
    cr_assert_eq (d.parent_cid, 0xffffffffu);
    cr_assert_str_eq (d.adapter, "ide");
    cr_assert (d.thin);
    cr_assert_eq (d.hw_version, 6);
    cr_assert (d.has_uuid);
    cr_assert_arr_eq (d.uuid, uuid, 16);
    vmdk_desc_release (&d);
    free (text);

    text = corpus_desc ("extracted/mfd-esxi/Base_R91-000001.vmdk", &len);
    cr_assert_eq (parse (text, len, &d, NULL), 0);
    cr_assert_str_eq (d.parent_hint, "Base_R91.vmdk");
    cr_assert_eq (d.parent_cid, 0x3729b687);
    cr_assert_eq (d.ddb_grain, 8);
    vmdk_desc_release (&d);
    free (text);

    /* libvmdk's single extent line, inside a minimal descriptor */
    {
        char buf[256];
        char *line = corpus_desc ("libvmdk/extent_values.1", &len);
        int n = snprintf (buf, sizeof buf, "createType=\"monolithicSparse\"\n"
                          "%.*s", (int) len, line);

        cr_assert_eq (parse (buf, (size_t) n, &d, NULL), 0);
        cr_assert_eq (d.extents.len, 1);
        cr_assert_eq (d.extents.ptr[0].sectors, 16777216);
        cr_assert_str_eq (d.extents.ptr[0].file, "test1.vmdk");
        vmdk_desc_release (&d);
        free (line);
    }

    text = corpus_desc ("libvmdk/descriptor_file.1", &len);
    cr_assert_eq (parse (text, len, &d, NULL), 0);
    cr_assert_str_eq (d.encoding, "windows-1252");
    vmdk_desc_release (&d);
    free (text);

    /* VMware's own export: RDONLY extent, trailing spaces after values */
    text = corpus_desc ("mdx1/1mb.vmdk", &len);
    cr_assert_eq (parse (text, len, &d, NULL), 0);
    cr_assert_eq (d.extents.ptr[0].access, VMDK_RDONLY);
    cr_assert_eq (d.cid, 0x4bbfc57b);
    cr_assert_eq (d.hw_version, 19);
    vmdk_desc_release (&d);
    free (text);
}
