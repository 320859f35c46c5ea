/* VHDX strict validator, first passes: file identifier, headers, region
 * tables, log, metadata ([MS-VHDX] v8.0 sections 2.1-2.3, 2.6; the other
 * readers' behaviour in docs/formats/vhdx.md).  The BAT pass is vhdx-bat.c.
 *
 * Every problem is reported, not just the first.  Problems make a file
 * unreadable for vhdx_read_map(); warnings (ck->warns) are conditions
 * the spec or the other readers tolerate:
 *   - one header damaged while the other is valid (a torn header update
 *     is exactly what the two copies are for);
 *   - region table 2 damaged or different (qemu and libvhdi read only
 *     region table 1, and so do we);
 *   - LogGuid set with no valid log entry (qemu opens such files; the
 *     spec calls them corrupt but there is nothing to replay);
 *   - logical sector size 4096 (valid; qemu cannot read it);
 *   - nonzero reserved fields.
 * A log holding valid entries is a problem: we do not replay logs, and
 * reading the file without replaying would return stale metadata.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/vhdx.h"

#define KIB(x) ((unsigned long long) ((x) >> 10))
#define ULL(x) ((unsigned long long) (x))

int
vhdx_ck_read (struct vhdx_ck *ck, void *buf, size_t n, uint64_t off,
              const char *what)
{
    uint64_t end;

    if (ADD_OVERFLOW (off, n, &end) || end > ck->fsize) {
        fmt_problem (ck->probs, "%s at offset %llu lies past the end of the "
                     "file (%llu bytes; truncated?)", what, ULL (off),
                     ULL (ck->fsize));
        return 1;
    }
    return fmt_io_pread (ck->io, 0, buf, n, off);
}

/* --------------------------------------------------- file identifier */

static int
vhdx_ck_file_id (struct vhdx_ck *ck)
{
    uint8_t sig[8];
    int r;

    if (ck->fsize < VHDX_HEADER_SECTION) {
        fmt_problem (ck->probs, "file is %llu bytes, shorter than the 1 MiB "
                     "VHDX header section (truncated?)", ULL (ck->fsize));
        return 1;
    }
    r = vhdx_ck_read (ck, sig, sizeof sig, VHDX_FILE_ID_OFF,
                      "file identifier");
    if (r != 0) {
        return r;
    }
    if (memcmp (sig, "vhdxfile", 8) != 0) {
        fmt_problem (ck->probs, "file identifier signature is not "
                     "'vhdxfile' (not a VHDX file?)");
    }
    return 0;
}

/* ------------------------------------------------------------ headers */

/* Signature and CRC of header i; a message in why when it is not valid. */
static bool
vhdx_ck_header_ok (const uint8_t *buf, int i, char *why, size_t whylen)
{
    uint32_t stored, calc;

    if (memcmp (buf + VHDX_HDR_OFF_SIG, "head", 4) != 0) {
        snprintf (why, whylen, "header %d (at %d KiB): signature is not "
                  "'head'", i + 1, 64 * (i + 1));
        return false;
    }
    stored = get_le32 (buf + VHDX_HDR_OFF_CRC);
    calc = vhdx_crc (buf, VHDX_HEADER_SIZE, VHDX_HDR_OFF_CRC);
    if (stored != calc) {
        snprintf (why, whylen, "header %d (at %d KiB): checksum mismatch "
                  "(stored 0x%08x, computed 0x%08x)", i + 1, 64 * (i + 1),
                  stored, calc);
        return false;
    }
    return true;
}

/* Choose the current header: the valid one with the higher sequence
 * number ([MS-VHDX] 2.2.2.1); equal numbers only if byte-identical, as
 * qemu requires. */
static int
vhdx_ck_pick_header (struct vhdx_ck *ck, uint8_t buf[2][VHDX_HEADER_SIZE])
{
    char why[2][160];
    bool ok[2];
    struct vhdx_header h[2];
    int cur;

    for (int i = 0; i < 2; i++) {
        ok[i] = vhdx_ck_header_ok (buf[i], i, why[i], sizeof why[i]);
        if (ok[i]) {
            (void) vhdx_header_decode (buf[i], VHDX_HEADER_SIZE, &h[i]);
        }
    }
    if (!ok[0] && !ok[1]) {
        fmt_problem (ck->probs, "no valid header: %s; %s", why[0], why[1]);
        return 0;
    }
    if (ok[0] != ok[1]) {
        fmt_problem (ck->warns, "%s (the other header is used)",
                     ok[0] ? why[1] : why[0]);
        cur = ok[0] ? 0 : 1;
    } else if (h[0].seq == h[1].seq &&
               memcmp (buf[0], buf[1], VHDX_HEADER_SIZE) != 0) {
        fmt_problem (ck->probs, "both headers have sequence number %llu but "
                     "differ, so neither can be chosen", ULL (h[0].seq));
        return 0;
    } else {
        cur = h[1].seq > h[0].seq ? 1 : 0;
    }
    ck->hdr = h[cur];
    ck->have_hdr = true;
    return 0;
}

static void
vhdx_ck_header_fields (struct vhdx_ck *ck)
{
    const struct vhdx_header *h = &ck->hdr;
    uint64_t end;

    if (h->version != 1) {
        fmt_problem (ck->probs, "header version is %u, not 1", h->version);
    }
    if (h->log_version != 0) {
        fmt_problem (ck->probs, "header log version is %u, not 0",
                     h->log_version);
    }
    if (!h->reserved_zero) {
        fmt_problem (ck->warns, "header reserved bytes are not zero");
    }
    ck->log_ok = true;
    if (h->log_offset < VHDX_ALIGN || h->log_offset % VHDX_ALIGN) {
        fmt_problem (ck->probs, "log offset %llu is not a nonzero multiple "
                     "of 1 MiB", ULL (h->log_offset));
        ck->log_ok = false;
    }
    if (h->log_length % VHDX_ALIGN) {
        fmt_problem (ck->probs, "log length %u is not a multiple of 1 MiB",
                     h->log_length);
        ck->log_ok = false;
    }
    if (ck->log_ok && h->log_length > 0 &&
        (ADD_OVERFLOW (h->log_offset, h->log_length, &end) ||
         end > ck->fsize)) {
        fmt_problem (ck->probs, "log (%u bytes at %llu) extends past the end "
                     "of the file (%llu bytes)", h->log_length,
                     ULL (h->log_offset), ULL (ck->fsize));
        ck->log_ok = false;
    }
}

static int
vhdx_ck_headers (struct vhdx_ck *ck)
{
    uint8_t (*buf)[VHDX_HEADER_SIZE] = malloc (2 * VHDX_HEADER_SIZE);
    int r;

    if (buf == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    r = vhdx_ck_read (ck, buf[0], VHDX_HEADER_SIZE, VHDX_HEADER1_OFF,
                      "header 1");
    if (r == 0) {
        r = vhdx_ck_read (ck, buf[1], VHDX_HEADER_SIZE, VHDX_HEADER2_OFF,
                          "header 2");
    }
    if (r == 0) {
        r = vhdx_ck_pick_header (ck, buf);
    }
    free (buf);
    if (r == 0 && ck->have_hdr) {
        vhdx_ck_header_fields (ck);
    }
    return r < 0 ? r : 0;
}

/* ------------------------------------------------------ region tables */

static bool
vhdx_ck_rt_valid (struct vhdx_ck *ck, const uint8_t *buf, int i,
                  struct fmt_problems *to)
{
    struct vhdx_rt_header h;
    uint32_t calc;

    if (memcmp (buf + VHDX_RT_OFF_SIG, "regi", 4) != 0) {
        fmt_problem (to, "region table %d (at %d KiB): signature is not "
                     "'regi'", i + 1, 192 + 64 * i);
        return false;
    }
    (void) vhdx_rt_header_decode (buf, VHDX_RT_SIZE, &h);
    calc = vhdx_crc (buf, VHDX_RT_SIZE, VHDX_RT_OFF_CRC);
    if (h.checksum != calc) {
        fmt_problem (to, "region table %d (at %d KiB): checksum mismatch "
                     "(stored 0x%08x, computed 0x%08x)", i + 1, 192 + 64 * i,
                     h.checksum, calc);
        return false;
    }
    if (h.count > VHDX_MAX_ENTRIES) {
        fmt_problem (to, "region table %d has %u entries, more than %u",
                     i + 1, h.count, VHDX_MAX_ENTRIES);
        return false;
    }
    if (h.reserved != 0) {
        fmt_problem (ck->warns, "region table %d reserved field is not zero",
                     i + 1);
    }
    return true;
}

static const char *
vhdx_region_name (const uint8_t guid[16])
{
    if (vhdx_guid_eq (guid, vhdx_guid_bat)) {
        return "BAT region";
    }
    if (vhdx_guid_eq (guid, vhdx_guid_metadata)) {
        return "metadata region";
    }
    return "unknown region";
}

static bool
vhdx_overlap (uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Alignment, bounds and overlap of entry i against the log and the
 * entries before it.  Offsets are checked below 2^63 first, so sums of
 * an offset and a 32-bit length cannot overflow. */
static bool
vhdx_ck_region_place (struct vhdx_ck *ck, uint32_t i)
{
    const struct vhdx_region *e = &ck->regions[i];
    const char *name = vhdx_region_name (e->guid);
    bool ok = true;

    if (e->file_off < VHDX_ALIGN || e->file_off % VHDX_ALIGN ||
        e->file_off > (UINT64_C (1) << 62) || e->length == 0 ||
        e->length % VHDX_ALIGN) {
        fmt_problem (ck->probs, "%s (region entry %u: %u bytes at %llu) is "
                     "not 1 MiB aligned past the header section", name, i,
                     e->length, ULL (e->file_off));
        return false;
    }
    if (e->file_off + e->length > ck->fsize) {
        fmt_problem (ck->probs, "%s (%u bytes at %llu) extends past the end "
                     "of the file (%llu bytes; truncated?)", name, e->length,
                     ULL (e->file_off), ULL (ck->fsize));
        ok = false;
    }
    if (ck->have_hdr && ck->log_ok && ck->hdr.log_length &&
        vhdx_overlap (e->file_off, e->length, ck->hdr.log_offset,
                      ck->hdr.log_length)) {
        fmt_problem (ck->probs, "%s (%u bytes at %llu) overlaps the log",
                     name, e->length, ULL (e->file_off));
        ok = false;
    }
    for (uint32_t j = 0; j < i; j++) {
        const struct vhdx_region *o = &ck->regions[j];

        if (o->file_off % VHDX_ALIGN == 0 && o->file_off <= (UINT64_C (1) << 62)
            && vhdx_overlap (e->file_off, e->length, o->file_off, o->length)) {
            fmt_problem (ck->probs, "%s (region entry %u) overlaps the %s "
                         "(region entry %u)", name, i,
                         vhdx_region_name (o->guid), j);
            ok = false;
        }
    }
    return ok;
}

static void
vhdx_ck_region_entry (struct vhdx_ck *ck, uint32_t i)
{
    const struct vhdx_region *e = &ck->regions[i];
    bool is_bat = vhdx_guid_eq (e->guid, vhdx_guid_bat);
    bool is_meta = vhdx_guid_eq (e->guid, vhdx_guid_metadata);
    bool placed = vhdx_ck_region_place (ck, i);
    char g[37];

    if (!is_bat && !is_meta) {
        fmt_guid_format (e->guid, g);
        if (e->required & 1) {
            fmt_problem_err (ck->probs, ENOTSUP, "region entry %u is an "
                             "unknown region %s marked required "
                             "(unsupported)", i, g);
        }
        return;
    }
    if ((is_bat && ck->have_bat) || (is_meta && ck->have_meta)) {
        fmt_problem (ck->probs, "region table lists the %s twice",
                     vhdx_region_name (e->guid));
        return;
    }
    if (is_bat) {
        ck->bat = *e;
        ck->have_bat = placed;
    } else {
        ck->meta = *e;
        ck->have_meta = placed && e->length >= VHDX_META_TABLE_SIZE;
    }
}

static int
vhdx_ck_regions (struct vhdx_ck *ck)
{
    uint8_t *rt = malloc (2 * (size_t) VHDX_RT_SIZE);
    bool ok1, ok2, seen_bat = false, seen_meta = false;
    int r;

    if (rt == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    if ((r = vhdx_ck_read (ck, rt, VHDX_RT_SIZE, VHDX_RT1_OFF,
                           "region table 1")) != 0 ||
        (r = vhdx_ck_read (ck, rt + VHDX_RT_SIZE, VHDX_RT_SIZE, VHDX_RT2_OFF,
                           "region table 2")) != 0) {
        free (rt);
        return r < 0 ? r : 0;
    }
    ok1 = vhdx_ck_rt_valid (ck, rt, 0, ck->probs);
    ok2 = vhdx_ck_rt_valid (ck, rt + VHDX_RT_SIZE, 1, ck->warns);
    if (ok1 && ok2 && memcmp (rt, rt + VHDX_RT_SIZE, VHDX_RT_SIZE) != 0) {
        fmt_problem (ck->warns, "region tables 1 and 2 differ (table 1 is "
                     "used)");
    }
    if (ok1) {
        ck->nregions = get_le32 (rt + VHDX_RT_OFF_COUNT);
        ck->regions = calloc (ck->nregions + 1, sizeof *ck->regions);
        if (ck->regions == NULL) {
            free (rt);
            return set_error (ENOMEM, "out of memory");
        }
        for (uint32_t i = 0; i < ck->nregions; i++) {
            vhdx_rt_entry_decode (rt + VHDX_RT_OFF_ENTRIES +
                                  (size_t) i * VHDX_RTE_SIZE,
                                  &ck->regions[i]);
            seen_bat |= vhdx_guid_eq (ck->regions[i].guid, vhdx_guid_bat);
            seen_meta |= vhdx_guid_eq (ck->regions[i].guid,
                                       vhdx_guid_metadata);
            vhdx_ck_region_entry (ck, i);
        }
        if (!seen_bat) {
            fmt_problem (ck->probs, "region table has no BAT region");
        }
        if (!seen_meta) {
            fmt_problem (ck->probs, "region table has no metadata region");
        }
    }
    free (rt);
    return 0;
}

/* ---------------------------------------------------------------- log */

static int
vhdx_ck_log (struct vhdx_ck *ck)
{
    bool dirty = false;
    int r;

    if (!ck->have_hdr || vhdx_guid_is_zero (ck->hdr.log_guid)) {
        return 0;
    }
    if (!ck->log_ok || ck->hdr.log_length == 0) {
        fmt_problem (ck->warns, "LogGuid is set but there is no usable log "
                     "region; nothing to replay");
        return 0;
    }
    r = vhdx_log_scan (ck->io, ck->hdr.log_offset, ck->hdr.log_length,
                       ck->hdr.log_guid, ck->probs, &dirty);
    if (r < 0) {
        return r;
    }
    if (dirty) {
        fmt_problem_err (ck->probs, ENOTSUP, "log needs replay: the log "
                         "holds valid entries that were never written back; "
                         "replaying is unsupported (open the file once in "
                         "Hyper-V, or run 'qemu-img check -r all' on a "
                         "copy)");
    } else {
        fmt_problem (ck->warns, "LogGuid is set but the log holds no valid "
                     "entry; nothing to replay (the spec calls this "
                     "corrupt; qemu and libvhdi read such files)");
    }
    return 0;
}

/* Top level: the passes in an order that puts the most telling problem
 * first (fmt_problems_to_error reports the first one). */
int
vhdx_check (const struct fmt_io *io, struct fmt_problems *probs,
            struct fmt_problems *warns, struct fmt_source_info *info,
            struct fmt_extent_list *map)
{
    struct vhdx_ck ck = {
        .io = io, .probs = probs, .warns = warns, .info = info, .map = map,
    };
    int64_t sz = io->size (io->opaque, 0);
    int r;

    if (sz < 0) {
        return (int) sz;
    }
    ck.fsize = (uint64_t) sz;
    info->type = FMT_VHDX;
    info->nfiles = 1;
    r = vhdx_ck_file_id (&ck);
    if (r == 0 && (r = vhdx_ck_headers (&ck)) == 0 &&
        (r = vhdx_ck_regions (&ck)) == 0 && (r = vhdx_ck_log (&ck)) == 0 &&
        (r = vhdx_ck_metadata (&ck)) == 0) {
        r = vhdx_ck_bat (&ck);
    }
    free (ck.regions);
    return r < 0 ? r : 0;
}
