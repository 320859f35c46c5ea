/* VHD codec: encode/decode of the hard disk footer and the dynamic disk
 * header, their checksum, the CHS geometry and the probe.  Spec:
 * Microsoft's Virtual Hard Disk Image Format Specification v1.0;
 * project notes docs/formats/vhd.md.  See vhd.h for the rules.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "formats/vhd.h"

static_assert (VHD_F_OFF_RESERVED + 427 == VHD_FOOTER_SIZE,
               "footer is 512 bytes");
static_assert (VHD_D_OFF_RESERVED2 + 256 == VHD_DYN_SIZE,
               "dynamic header is 1024 bytes");

uint32_t
vhd_checksum (const uint8_t *buf, size_t len, size_t csum_off)
{
    uint32_t sum = 0;

    for (size_t i = 0; i < len; i++) {
        if (i < csum_off || i >= csum_off + 4) {
            sum += buf[i];
        }
    }
    return ~sum;
}

static bool
vhd_all_zero (const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------- footer */

int
vhd_footer_decode (const uint8_t *buf, size_t len, struct vhd_footer *out)
{
    if (len < VHD_FOOTER_SIZE) {
        return set_error (EINVAL, "vhd footer needs %u bytes, got %zu",
                          VHD_FOOTER_SIZE, len);
    }
    if (memcmp (buf + VHD_F_OFF_COOKIE, "conectix", 8) != 0) {
        return set_error (EINVAL, "vhd footer cookie is not 'conectix'");
    }
    out->features = get_be32 (buf + VHD_F_OFF_FEATURES);
    out->version = get_be32 (buf + VHD_F_OFF_VERSION);
    out->data_offset = get_be64 (buf + VHD_F_OFF_DATA_OFFSET);
    out->timestamp = get_be32 (buf + VHD_F_OFF_TIMESTAMP);
    memcpy (out->creator_app, buf + VHD_F_OFF_CREATOR_APP, 4);
    out->creator_version = get_be32 (buf + VHD_F_OFF_CREATOR_VERSION);
    memcpy (out->creator_os, buf + VHD_F_OFF_CREATOR_OS, 4);
    out->orig_size = get_be64 (buf + VHD_F_OFF_ORIG_SIZE);
    out->cur_size = get_be64 (buf + VHD_F_OFF_CUR_SIZE);
    out->cyls = get_be16 (buf + VHD_F_OFF_GEOMETRY);
    out->heads = buf[VHD_F_OFF_GEOMETRY + 2];
    out->spt = buf[VHD_F_OFF_GEOMETRY + 3];
    out->disk_type = get_be32 (buf + VHD_F_OFF_DISK_TYPE);
    out->checksum = get_be32 (buf + VHD_F_OFF_CHECKSUM);
    memcpy (out->uuid, buf + VHD_F_OFF_UUID, 16);
    out->saved_state = buf[VHD_F_OFF_SAVED_STATE];
    out->reserved_zero = vhd_all_zero (buf + VHD_F_OFF_RESERVED,
                                       VHD_FOOTER_SIZE - VHD_F_OFF_RESERVED);
    return 0;
}

void
vhd_footer_encode (const struct vhd_footer *f, uint8_t buf[VHD_FOOTER_SIZE])
{
    memset (buf, 0, VHD_FOOTER_SIZE);
    memcpy (buf + VHD_F_OFF_COOKIE, "conectix", 8);
    put_be32 (buf + VHD_F_OFF_FEATURES, f->features);
    put_be32 (buf + VHD_F_OFF_VERSION, f->version);
    put_be64 (buf + VHD_F_OFF_DATA_OFFSET, f->data_offset);
    put_be32 (buf + VHD_F_OFF_TIMESTAMP, f->timestamp);
    memcpy (buf + VHD_F_OFF_CREATOR_APP, f->creator_app, 4);
    put_be32 (buf + VHD_F_OFF_CREATOR_VERSION, f->creator_version);
    memcpy (buf + VHD_F_OFF_CREATOR_OS, f->creator_os, 4);
    put_be64 (buf + VHD_F_OFF_ORIG_SIZE, f->orig_size);
    put_be64 (buf + VHD_F_OFF_CUR_SIZE, f->cur_size);
    put_be16 (buf + VHD_F_OFF_GEOMETRY, f->cyls);
    buf[VHD_F_OFF_GEOMETRY + 2] = f->heads;
    buf[VHD_F_OFF_GEOMETRY + 3] = f->spt;
    put_be32 (buf + VHD_F_OFF_DISK_TYPE, f->disk_type);
    memcpy (buf + VHD_F_OFF_UUID, f->uuid, 16);
    buf[VHD_F_OFF_SAVED_STATE] = f->saved_state;
    put_be32 (buf + VHD_F_OFF_CHECKSUM,
              vhd_checksum (buf, VHD_FOOTER_SIZE, VHD_F_OFF_CHECKSUM));
}

/* ----------------------------------------------------- dynamic header */

int
vhd_dyn_decode (const uint8_t *buf, size_t len, struct vhd_dyn *out)
{
    if (len < VHD_DYN_SIZE) {
        return set_error (EINVAL, "vhd dynamic header needs %u bytes, got "
                          "%zu", VHD_DYN_SIZE, len);
    }
    if (memcmp (buf + VHD_D_OFF_COOKIE, "cxsparse", 8) != 0) {
        return set_error (EINVAL, "vhd dynamic header cookie is not "
                          "'cxsparse'");
    }
    out->data_offset = get_be64 (buf + VHD_D_OFF_DATA_OFFSET);
    out->table_offset = get_be64 (buf + VHD_D_OFF_TABLE_OFFSET);
    out->version = get_be32 (buf + VHD_D_OFF_VERSION);
    out->max_entries = get_be32 (buf + VHD_D_OFF_MAX_ENTRIES);
    out->block_size = get_be32 (buf + VHD_D_OFF_BLOCK_SIZE);
    out->checksum = get_be32 (buf + VHD_D_OFF_CHECKSUM);
    memcpy (out->parent_uuid, buf + VHD_D_OFF_PARENT_UUID, 16);
    out->parent_time = get_be32 (buf + VHD_D_OFF_PARENT_TIME);
    out->parent_zero = vhd_all_zero (buf + VHD_D_OFF_PARENT_UUID, 20) &&
        vhd_all_zero (buf + VHD_D_OFF_PARENT_NAME,
                      VHD_D_OFF_RESERVED2 - VHD_D_OFF_PARENT_NAME);
    out->reserved_zero = vhd_all_zero (buf + VHD_D_OFF_RESERVED1, 4) &&
        vhd_all_zero (buf + VHD_D_OFF_RESERVED2,
                      VHD_DYN_SIZE - VHD_D_OFF_RESERVED2);
    return 0;
}

void
vhd_dyn_encode (const struct vhd_dyn *d, uint8_t buf[VHD_DYN_SIZE])
{
    memset (buf, 0, VHD_DYN_SIZE);
    memcpy (buf + VHD_D_OFF_COOKIE, "cxsparse", 8);
    put_be64 (buf + VHD_D_OFF_DATA_OFFSET, d->data_offset);
    put_be64 (buf + VHD_D_OFF_TABLE_OFFSET, d->table_offset);
    put_be32 (buf + VHD_D_OFF_VERSION, d->version);
    put_be32 (buf + VHD_D_OFF_MAX_ENTRIES, d->max_entries);
    put_be32 (buf + VHD_D_OFF_BLOCK_SIZE, d->block_size);
    memcpy (buf + VHD_D_OFF_PARENT_UUID, d->parent_uuid, 16);
    put_be32 (buf + VHD_D_OFF_PARENT_TIME, d->parent_time);
    put_be32 (buf + VHD_D_OFF_CHECKSUM,
              vhd_checksum (buf, VHD_DYN_SIZE, VHD_D_OFF_CHECKSUM));
}

/* ----------------------------------------------------------- geometry */

void
vhd_chs (uint64_t size, uint16_t *cyls, uint8_t *heads, uint8_t *spt)
{
    uint64_t total = size / 512, cth;
    uint32_t h, s;

    if (total > VHD_CHS_MAX_SECTORS) {
        total = VHD_CHS_MAX_SECTORS;
    }
    if (total >= UINT64_C (65535) * 16 * 63) {
        s = 255;
        h = 16;
        cth = total / s;
    } else {
        s = 17;
        cth = total / s;
        h = (uint32_t) ((cth + 1023) / 1024);
        if (h < 4) {
            h = 4;
        }
        if (cth >= (uint64_t) h * 1024 || h > 16) {
            s = 31;
            h = 16;
            cth = total / s;
        }
        if (cth >= (uint64_t) h * 1024) {
            s = 63;
            h = 16;
            cth = total / s;
        }
    }
    *cyls = (uint16_t) (cth / h);
    *heads = (uint8_t) h;
    *spt = (uint8_t) s;
}

void
vhd_chs_for_target (uint64_t size, uint16_t *cyls, uint8_t *heads,
                    uint8_t *spt)
{
    vhd_chs (size, cyls, heads, spt);
    if ((uint64_t) *cyls * *heads * *spt * 512 != size) {
        *cyls = 65535;
        *heads = 16;
        *spt = 255;
    }
}

/* --------------------------------------------------------------- probe */

static bool
vhd_probe_footer (const uint8_t *p, size_t len)
{
    return len >= VHD_FOOTER_SIZE && memcmp (p, "conectix", 8) == 0 &&
           get_be32 (p + VHD_F_OFF_CHECKSUM) ==
           vhd_checksum (p, VHD_FOOTER_SIZE, VHD_F_OFF_CHECKSUM);
}

bool
vhd_probe_bytes (const uint8_t *head, size_t head_len, const uint8_t *tail,
                 size_t tail_len)
{
    uint32_t type;

    if (tail && tail_len >= VHD_FOOTER_SIZE &&
        vhd_probe_footer (tail + tail_len - VHD_FOOTER_SIZE,
                          VHD_FOOTER_SIZE)) {
        return true;
    }
    if (head == NULL || head_len < VHD_FOOTER_SIZE ||
        memcmp (head, "conectix", 8) != 0) {
        return false;
    }
    type = get_be32 (head + VHD_F_OFF_DISK_TYPE);
    return type == VHD_TYPE_DYNAMIC || type == VHD_TYPE_DIFFERENCING;
}

/* -------------------------------------------------------------- driver */

/* A dynamic VHD starts with its footer's copy: magic at offset 0.  A
 * fixed VHD is raw data plus a footer in its last sector, which a raw
 * disk can hold too (a disk once converted from a VHD, a VHD stored at
 * the end of a guest's partition): taken for a VHD, its last sector
 * would be dropped.  So footer-only is a VHD only when the file is named
 * .vhd; under any other name it is raw, as qemu-img's probe has it (it
 * looks for the cookie at offset 0 only).  docs/formats/vhd.md. */
static bool
vhd_named_vhd (const char *name)
{
    const char *dot = name ? strrchr (name, '.') : NULL;

    return dot && strcasecmp (dot, ".vhd") == 0;
}

static enum fmt_probe_score
vhd_probe (const struct fmt_probe_buf *b)
{
    if (vhd_probe_bytes (b->head, b->head_len, NULL, 0)) {
        return FMT_PROBE_MAGIC;                 /* dynamic, differencing */
    }
    if (vhd_named_vhd (b->name) &&
        vhd_probe_bytes (NULL, 0, b->tail, b->tail_len)) {
        return FMT_PROBE_MAGIC;                 /* fixed */
    }
    return FMT_PROBE_NO;
}

static const char *const vhd_extensions[] = { "vhd", NULL };

const struct fmt_driver vhd_driver = {
    .type = FMT_VHD,
    .name = "vhd",
    .extensions = vhd_extensions,
    .native = "hyperv",                 /* Hyper-V, Azure */
    .share_style = FMT_SHARE_NTFS,      /* Hyper-V reads it over SMB */
    .probe = vhd_probe,
    .read_map = vhd_read_map,
    .validate = vhd_validate,
    .plan = vhd_plan,
    .map_validates = true,              /* vhd_read_map validates all */
    .data_in_place = true,
    .size_align = VHD_SIZE_ALIGN,       /* whole MiB, as Azure requires */
};
