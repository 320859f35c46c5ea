/* VHDX log scan ([MS-VHDX] v8.0 2.3): does the log hold an entry that
 * a reader would have to replay?
 *
 * We never replay; we only detect.  The log is a ring of 4 KiB sectors;
 * an entry is EntryLength bytes from a 4 KiB-aligned position, wrapping
 * at the end of the log.  An entry counts as valid (so the file needs a
 * replay) under the same rules qemu 7.2 uses when it searches for an
 * active sequence: signature "loge", EntryLength a nonzero multiple of
 * 4 KiB no larger than the log, SequenceNumber > 0, the header's LogGuid,
 * descriptors that fit and carry the entry's sequence number with a
 * 4 KiB-aligned FileOffset ("zero" with a 4 KiB-multiple length, or
 * "desc"), and a CRC-32C over the whole entry that matches.  Treating any
 * such entry as "needs replay" is the conservative reading: qemu refuses
 * read-only opens of exactly these files.
 *
 * The log is read whole (at most 64 MiB); the CRC work on crafted logs is
 * bounded by a budget.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "formats/vhdx.h"

#define VHDX_LOG_SCAN_MAX (64 * VHDX_MiB)
#define VHDX_LOG_BUDGET (UINT64_C (1) << 30)

struct vhdx_ring {
    const uint8_t *buf;
    uint64_t len;                       /* multiple of 4 KiB */
    uint64_t budget;                    /* bytes we may still look at */
};

/* Byte eoff of the entry that starts at pos.  Callers never cross a
 * 4 KiB sector boundary from the returned pointer. */
static const uint8_t *
vhdx_ring_at (const struct vhdx_ring *r, uint64_t pos, uint64_t eoff)
{
    return r->buf + (pos + eoff) % r->len;
}

static bool
vhdx_log_desc_ok (const uint8_t *d, uint64_t seq, uint64_t *ndata)
{
    if (get_le64 (d + VHDX_LOGD_OFF_SEQ) != seq ||
        get_le64 (d + VHDX_LOGD_OFF_FILE_OFF) % VHDX_LOG_SECTOR) {
        return false;
    }
    if (memcmp (d + VHDX_LOGD_OFF_SIG, "zero", 4) == 0) {
        return get_le64 (d + VHDX_LOGD_OFF_LENGTH) % VHDX_LOG_SECTOR == 0;
    }
    if (memcmp (d + VHDX_LOGD_OFF_SIG, "desc", 4) == 0) {
        (*ndata)++;
        return true;
    }
    return false;
}

static bool
vhdx_log_crc_ok (struct vhdx_ring *r, uint64_t pos, uint64_t elen)
{
    const uint8_t *h = vhdx_ring_at (r, pos, 0);
    uint32_t crc;

    crc = vhdx_crc (h, VHDX_LOG_SECTOR, VHDX_LOGE_OFF_CRC);
    for (uint64_t s = VHDX_LOG_SECTOR; s < elen; s += VHDX_LOG_SECTOR) {
        crc = fmt_crc32c_update (crc, vhdx_ring_at (r, pos, s),
                                 VHDX_LOG_SECTOR);
    }
    return crc == get_le32 (h + VHDX_LOGE_OFF_CRC);
}

/* 1 if the entry at pos is valid, 0 if not, -1 if the budget ran out. */
static int
vhdx_log_entry (struct vhdx_ring *r, uint64_t pos, const uint8_t guid[16])
{
    const uint8_t *h = vhdx_ring_at (r, pos, 0);
    uint64_t elen, seq, ndesc, dsect, ndata = 0;

    if (memcmp (h + VHDX_LOGE_OFF_SIG, "loge", 4) != 0) {
        return 0;
    }
    elen = get_le32 (h + VHDX_LOGE_OFF_LENGTH);
    seq = get_le64 (h + VHDX_LOGE_OFF_SEQ);
    ndesc = get_le32 (h + VHDX_LOGE_OFF_DESC_COUNT);
    /* The first sector holds the 64-byte header and 126 descriptors. */
    dsect = (ndesc + 2 + 127) / 128;
    if (elen == 0 || elen % VHDX_LOG_SECTOR || elen > r->len || seq == 0 ||
        !vhdx_guid_eq (h + VHDX_LOGE_OFF_LOG_GUID, guid) ||
        dsect * VHDX_LOG_SECTOR > elen) {
        return 0;
    }
    if (r->budget < elen) {
        return -1;
    }
    r->budget -= elen;
    for (uint64_t i = 0; i < ndesc; i++) {
        if (!vhdx_log_desc_ok (vhdx_ring_at (r, pos, VHDX_LOGE_HDR_SIZE +
                                             i * VHDX_LOGD_SIZE),
                               seq, &ndata)) {
            return 0;
        }
    }
    if ((dsect + ndata) * VHDX_LOG_SECTOR > elen) {
        return 0;
    }
    return vhdx_log_crc_ok (r, pos, elen) ? 1 : 0;
}

int
vhdx_log_scan (const struct fmt_io *io, uint64_t off, uint32_t len,
               const uint8_t log_guid[16], struct fmt_problems *probs,
               bool *dirty)
{
    struct vhdx_ring ring = { .len = len, .budget = VHDX_LOG_BUDGET };
    uint8_t *buf;
    int r;

    *dirty = false;
    if (len == 0 || len % VHDX_LOG_SECTOR) {
        return 0;
    }
    if (len > VHDX_LOG_SCAN_MAX) {
        fmt_problem (probs, "log of %u bytes with LogGuid set is larger "
                     "than vmshift scans (64 MiB); cannot tell whether it "
                     "needs replay", len);
        return 0;
    }
    buf = malloc (len);
    if (buf == NULL) {
        return set_error (ENOMEM, "out of memory for a %u-byte log", len);
    }
    r = fmt_io_pread (io, 0, buf, len, off);
    ring.buf = buf;
    for (uint64_t pos = 0; r == 0 && pos < len; pos += VHDX_LOG_SECTOR) {
        int v = vhdx_log_entry (&ring, pos, log_guid);

        if (v < 0) {
            fmt_problem (probs, "log holds too many damaged entries to scan; "
                         "cannot tell whether it needs replay");
            break;
        }
        if (v > 0) {
            *dirty = true;
            break;
        }
    }
    free (buf);
    return r;
}
