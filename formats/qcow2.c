/* QCOW2 header: decode, encode, semantic checks, header extensions and
 * feature bits; opening an image for read_map and the validator.
 *
 * Spec: docs/interop/qcow2.txt (qemu 7.2 .. 10.0), sections "Header",
 * "Header extensions", "Feature name table".  See formats/qcow2.h for the
 * qemu implementation limits we enforce on top of the spec.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/qcow2.h"

/* Header cluster bytes read first (qcow2_image_open). */
#define QCOW2_HC_PREFIX ((size_t) 64 << 10)

void
qcow2_report (struct qcow2_report *r, int errnum, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    if (r->probs) {
        fmt_problem_err (r->probs, errnum, "%s", msg);
        if (r->err == 0) {
            r->err = -errnum;
        }
        return;
    }
    if (r->err == 0) {
        r->err = set_error (errnum, "'%s': %s", r->file, msg);
    }
}

/* ------------------------------------------------------------ codec */

int
qcow2_header_decode (const uint8_t *buf, size_t len, struct qcow2_header *h)
{
    if (len < QCOW2_V2_HEADER_LEN) {
        return set_error (EINVAL, "qcow2 header needs %d bytes, got %zu",
                          QCOW2_V2_HEADER_LEN, len);
    }
    memset (h, 0, sizeof *h);
    h->magic = get_be32 (buf + QCOW2_OFF_MAGIC);
    h->version = get_be32 (buf + QCOW2_OFF_VERSION);
    h->backing_file_offset = get_be64 (buf + QCOW2_OFF_BACKING_OFFSET);
    h->backing_file_size = get_be32 (buf + QCOW2_OFF_BACKING_SIZE);
    h->cluster_bits = get_be32 (buf + QCOW2_OFF_CLUSTER_BITS);
    h->size = get_be64 (buf + QCOW2_OFF_SIZE);
    h->crypt_method = get_be32 (buf + QCOW2_OFF_CRYPT_METHOD);
    h->l1_size = get_be32 (buf + QCOW2_OFF_L1_SIZE);
    h->l1_table_offset = get_be64 (buf + QCOW2_OFF_L1_OFFSET);
    h->refcount_table_offset = get_be64 (buf + QCOW2_OFF_REFTABLE_OFFSET);
    h->refcount_table_clusters = get_be32 (buf + QCOW2_OFF_REFTABLE_CLUSTERS);
    h->nb_snapshots = get_be32 (buf + QCOW2_OFF_NB_SNAPSHOTS);
    h->snapshots_offset = get_be64 (buf + QCOW2_OFF_SNAPSHOTS_OFFSET);
    h->refcount_order = 4;
    h->header_length = QCOW2_V2_HEADER_LEN;
    if (h->version < 3) {
        return 0;
    }
    if (len < QCOW2_V3_HEADER_LEN) {
        return set_error (EINVAL, "qcow2 v3 header needs %d bytes, got %zu",
                          QCOW2_V3_HEADER_LEN, len);
    }
    h->incompatible_features = get_be64 (buf + QCOW2_OFF_INCOMPAT);
    h->compatible_features = get_be64 (buf + QCOW2_OFF_COMPAT);
    h->autoclear_features = get_be64 (buf + QCOW2_OFF_AUTOCLEAR);
    h->refcount_order = get_be32 (buf + QCOW2_OFF_REFCOUNT_ORDER);
    h->header_length = get_be32 (buf + QCOW2_OFF_HEADER_LENGTH);
    if (h->header_length > QCOW2_OFF_COMPRESSION_TYPE &&
        len > QCOW2_OFF_COMPRESSION_TYPE) {
        h->compression_type = buf[QCOW2_OFF_COMPRESSION_TYPE];
    }
    return 0;
}

void
qcow2_header_encode (const struct qcow2_header *h, uint8_t *buf, size_t len)
{
    size_t hl = h->version >= 3 ? h->header_length : QCOW2_V2_HEADER_LEN;

    memset (buf, 0, hl < len ? hl : len);
    if (len < hl || hl < QCOW2_V2_HEADER_LEN) {
        return;                 /* programming error; nothing sensible */
    }
    put_be32 (buf + QCOW2_OFF_MAGIC, h->magic);
    put_be32 (buf + QCOW2_OFF_VERSION, h->version);
    put_be64 (buf + QCOW2_OFF_BACKING_OFFSET, h->backing_file_offset);
    put_be32 (buf + QCOW2_OFF_BACKING_SIZE, h->backing_file_size);
    put_be32 (buf + QCOW2_OFF_CLUSTER_BITS, h->cluster_bits);
    put_be64 (buf + QCOW2_OFF_SIZE, h->size);
    put_be32 (buf + QCOW2_OFF_CRYPT_METHOD, h->crypt_method);
    put_be32 (buf + QCOW2_OFF_L1_SIZE, h->l1_size);
    put_be64 (buf + QCOW2_OFF_L1_OFFSET, h->l1_table_offset);
    put_be64 (buf + QCOW2_OFF_REFTABLE_OFFSET, h->refcount_table_offset);
    put_be32 (buf + QCOW2_OFF_REFTABLE_CLUSTERS, h->refcount_table_clusters);
    put_be32 (buf + QCOW2_OFF_NB_SNAPSHOTS, h->nb_snapshots);
    put_be64 (buf + QCOW2_OFF_SNAPSHOTS_OFFSET, h->snapshots_offset);
    if (h->version < 3 || hl < QCOW2_V3_HEADER_LEN) {
        return;
    }
    put_be64 (buf + QCOW2_OFF_INCOMPAT, h->incompatible_features);
    put_be64 (buf + QCOW2_OFF_COMPAT, h->compatible_features);
    put_be64 (buf + QCOW2_OFF_AUTOCLEAR, h->autoclear_features);
    put_be32 (buf + QCOW2_OFF_REFCOUNT_ORDER, h->refcount_order);
    put_be32 (buf + QCOW2_OFF_HEADER_LENGTH, h->header_length);
    if (hl > QCOW2_OFF_COMPRESSION_TYPE) {
        buf[QCOW2_OFF_COMPRESSION_TYPE] = h->compression_type;
    }
}

bool
qcow2_ext_put (uint8_t *buf, size_t cap, size_t *off, uint32_t type,
               const void *data, uint32_t len)
{
    size_t padded = ((size_t) len + 7) & ~(size_t) 7;

    if (*off > cap || 8 + padded > cap - *off) {
        return false;
    }
    put_be32 (buf + *off, type);
    put_be32 (buf + *off + 4, len);
    memset (buf + *off + 8, 0, padded);
    if (len) {
        memcpy (buf + *off + 8, data, len);
    }
    *off += 8 + padded;
    return true;
}

/* ------------------------------------------------------ header checks */

/* A table of 'bytes' at 'off' must be cluster aligned, must not touch
 * the header cluster and must lie inside the file.  Reports and returns
 * false otherwise. */
static bool
qcow2_check_table (const struct qcow2_header *h, uint64_t file_size,
                   const char *what, uint64_t off, uint64_t bytes,
                   struct qcow2_report *rep)
{
    uint64_t c = (uint64_t) 1 << h->cluster_bits, end;

    if (off & (c - 1)) {
        qcow2_report (rep, EINVAL, "%s offset %llu is not aligned to the "
                      "cluster size %llu", what, (unsigned long long) off,
                      (unsigned long long) c);
        return false;
    }
    if (off == 0) {
        qcow2_report (rep, EINVAL, "%s at offset 0 overlaps the header",
                      what);
        return false;
    }
    if (ADD_OVERFLOW (off, bytes, &end) || end > file_size) {
        qcow2_report (rep, EINVAL, "%s at offset %llu (%llu bytes) lies past "
                      "the end of the file (%llu bytes)", what,
                      (unsigned long long) off, (unsigned long long) bytes,
                      (unsigned long long) file_size);
        return false;
    }
    return true;
}

static bool
qcow2_check_basic (const struct qcow2_header *h, uint64_t file_size,
                   struct qcow2_report *rep)
{
    uint64_t c;

    if (h->magic != QCOW2_MAGIC) {
        qcow2_report (rep, EINVAL, "not a qcow2 image (magic 0x%08x, "
                      "expected 0x%08x)", h->magic, QCOW2_MAGIC);
        return true;
    }
    if (h->version != 2 && h->version != 3) {
        qcow2_report (rep, ENOTSUP, "unsupported qcow2 version %u (only "
                      "versions 2 and 3 are supported)", h->version);
        return true;
    }
    if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
        h->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        qcow2_report (rep, h->cluster_bits > QCOW2_MAX_CLUSTER_BITS &&
                      h->cluster_bits < 63 ? ENOTSUP : EINVAL,
                      "cluster_bits %u is out of range (%d..%d: 512 B to "
                      "2 MiB clusters; larger ones are unsupported)",
                      h->cluster_bits, QCOW2_MIN_CLUSTER_BITS,
                      QCOW2_MAX_CLUSTER_BITS);
        return true;
    }
    c = (uint64_t) 1 << h->cluster_bits;
    if (h->version >= 3 &&
        (h->header_length < QCOW2_V3_HEADER_LEN || h->header_length % 8 ||
         h->header_length > c)) {
        qcow2_report (rep, EINVAL, "header_length %u is invalid (a multiple "
                      "of 8, at least %d, at most the cluster size)",
                      h->header_length, QCOW2_V3_HEADER_LEN);
        return true;
    }
    if (file_size < h->header_length) {
        qcow2_report (rep, EINVAL, "file is truncated: %llu bytes, shorter "
                      "than its %u-byte header",
                      (unsigned long long) file_size, h->header_length);
        return true;
    }
    if (h->refcount_order > 6) {
        qcow2_report (rep, EINVAL, "refcount_order %u is out of range (0..6)",
                      h->refcount_order);
        return true;
    }
    if ((h->incompatible_features & QCOW2_INCOMPAT_EXTL2) &&
        h->cluster_bits < QCOW2_MIN_EXT_L2_CLUSTER_BITS) {
        qcow2_report (rep, EINVAL, "extended L2 entries need clusters of at "
                      "least 16 KiB (cluster_bits %u)", h->cluster_bits);
        return true;
    }
    return false;
}

static bool
qcow2_check_l1 (const struct qcow2_header *h, uint64_t file_size,
                struct qcow2_report *rep)
{
    uint64_t c = (uint64_t) 1 << h->cluster_bits;
    uint64_t l2e = c / ((h->incompatible_features & QCOW2_INCOMPAT_EXTL2)
                        ? 16 : 8);
    uint64_t span = c * l2e;
    uint64_t need = h->size / span + (h->size % span != 0);

    if ((uint64_t) h->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
        qcow2_report (rep, EINVAL, "L1 table has %u entries, more than "
                      "qemu's 32 MiB limit", h->l1_size);
        return true;
    }
    if (h->l1_size < need) {
        qcow2_report (rep, EINVAL, "L1 table (%u entries) is too small for "
                      "the virtual size %llu (needs %llu entries)",
                      h->l1_size, (unsigned long long) h->size,
                      (unsigned long long) need);
        return true;
    }
    if (h->l1_size > 0 &&
        !qcow2_check_table (h, file_size, "L1 table", h->l1_table_offset,
                            (uint64_t) h->l1_size * 8, rep)) {
        return true;
    }
    return false;
}

static bool
qcow2_check_reftable (const struct qcow2_header *h, uint64_t file_size,
                      struct qcow2_report *rep)
{
    uint64_t c = (uint64_t) 1 << h->cluster_bits;
    uint64_t bytes = (uint64_t) h->refcount_table_clusters * c;

    if (h->refcount_table_clusters == 0) {
        qcow2_report (rep, EINVAL, "image has no refcount table "
                      "(refcount_table_clusters is 0)");
        return true;
    }
    if (bytes > QCOW2_MAX_REFTABLE_BYTES) {
        qcow2_report (rep, EINVAL, "refcount table has %u clusters, more "
                      "than qemu's 8 MiB limit", h->refcount_table_clusters);
        return true;
    }
    return !qcow2_check_table (h, file_size, "refcount table",
                               h->refcount_table_offset, bytes, rep);
}

static void
qcow2_check_misc (const struct qcow2_header *h, uint64_t file_size,
                  struct qcow2_report *rep)
{
    uint64_t c = (uint64_t) 1 << h->cluster_bits;

    if (h->crypt_method != 0) {
        qcow2_report (rep, ENOTSUP, "encrypted images are unsupported "
                      "(crypt_method %u, %s)", h->crypt_method,
                      h->crypt_method == 1 ? "AES" :
                      h->crypt_method == 2 ? "LUKS" : "unknown");
    }
    if (h->backing_file_offset != 0 &&
        (h->backing_file_size > QCOW2_MAX_BACKING_NAME ||
         h->backing_file_offset > c ||
         h->backing_file_size > c - h->backing_file_offset ||
         h->backing_file_offset < h->header_length)) {
        qcow2_report (rep, EINVAL, "backing file name (%u bytes at offset "
                      "%llu) is not inside the header cluster or is longer "
                      "than %u bytes", h->backing_file_size,
                      (unsigned long long) h->backing_file_offset,
                      QCOW2_MAX_BACKING_NAME);
    }
    if (h->nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
        qcow2_report (rep, EINVAL, "image claims %u snapshots, more than "
                      "qemu's limit of %u", h->nb_snapshots,
                      QCOW2_MAX_SNAPSHOTS);
    } else if (h->nb_snapshots > 0) {
        qcow2_check_table (h, file_size, "snapshot table",
                           h->snapshots_offset, 40, rep);
    } else if (h->snapshots_offset > (uint64_t) INT64_MAX ||
               (h->cluster_bits < 64 &&
                (h->snapshots_offset & ((1ull << h->cluster_bits) - 1)) != 0)) {
        /* qemu validates the table's place even when it is empty
         * (qcow2_validate_table: offset within INT64_MAX, cluster
         * aligned) and refuses to open the image otherwise */
        qcow2_report (rep, EINVAL, "snapshot table offset %#llx is invalid "
                      "(beyond 2^63 or not cluster aligned; qemu refuses it "
                      "even with no snapshots)",
                      (unsigned long long) h->snapshots_offset);
    }
}

bool
qcow2_header_check (const struct qcow2_header *h, uint64_t file_size,
                    struct qcow2_report *rep)
{
    bool fatal;

    if (qcow2_check_basic (h, file_size, rep)) {
        return true;
    }
    fatal = qcow2_check_l1 (h, file_size, rep);
    fatal |= qcow2_check_reftable (h, file_size, rep);
    qcow2_check_misc (h, file_size, rep);
    return fatal;
}

/* ------------------------------------------------- header extensions */

static void
qcow2_ext_bitmaps (const struct qcow2_header *h, const uint8_t *d,
                   uint32_t len, struct qcow2_exts *x,
                   struct qcow2_report *rep)
{
    uint64_t c = (uint64_t) 1 << h->cluster_bits;

    if (len != QCOW2_BITMAPS_EXT_LEN) {
        qcow2_report (rep, EINVAL, "bitmaps extension is %u bytes, "
                      "expected %d", len, QCOW2_BITMAPS_EXT_LEN);
        return;
    }
    if (!(h->autoclear_features & QCOW2_AUTOCLEAR_BITMAPS)) {
        return;     /* inconsistent by definition: ignored, as qemu does */
    }
    x->has_bitmaps = true;
    x->nb_bitmaps = get_be32 (d);
    x->bitmap_dir_size = get_be64 (d + 8);
    x->bitmap_dir_offset = get_be64 (d + 16);
    if (x->nb_bitmaps == 0 || x->nb_bitmaps > QCOW2_MAX_BITMAPS ||
        get_be32 (d + 4) != 0 || x->bitmap_dir_size > QCOW2_MAX_BITMAP_DIR ||
        (x->bitmap_dir_offset & (c - 1)) || x->bitmap_dir_offset == 0) {
        qcow2_report (rep, EINVAL, "bitmaps extension is invalid (%u "
                      "bitmaps, directory of %llu bytes at offset %llu)",
                      x->nb_bitmaps, (unsigned long long) x->bitmap_dir_size,
                      (unsigned long long) x->bitmap_dir_offset);
        x->has_bitmaps = false;
    }
}

static void
qcow2_ext_data_file (const uint8_t *d, uint32_t len, struct qcow2_exts *x,
                     struct qcow2_report *rep)
{
    if (len == 0 || len > QCOW2_MAX_DATA_FILE_NAME ||
        memchr (d, 0, len) != NULL) {
        qcow2_report (rep, EINVAL, "external data file name extension is "
                      "invalid (%u bytes; empty, too long or containing NUL)",
                      len);
        return;
    }
    x->has_data_file = true;
    memcpy (x->data_file, d, len);
    x->data_file[len] = '\0';
}

static void
qcow2_ext_crypto (const uint8_t *d, uint32_t len, struct qcow2_exts *x,
                  struct qcow2_report *rep)
{
    if (len != 16) {
        qcow2_report (rep, EINVAL, "encryption header extension is %u bytes, "
                      "expected 16", len);
        return;
    }
    x->has_crypto = true;
    x->crypto_offset = get_be64 (d);
    x->crypto_length = get_be64 (d + 8);
}

/* One extension.  Known types may appear at most once each. */
static void
qcow2_ext_one (const struct qcow2_header *h, uint32_t type, uint32_t off,
               const uint8_t *d, uint32_t len, struct qcow2_exts *x,
               struct qcow2_report *rep, uint32_t *seen)
{
    static const uint32_t types[] = {
        QCOW2_EXT_BACKING_FORMAT, QCOW2_EXT_FEATURE_NAMES, QCOW2_EXT_BITMAPS,
        QCOW2_EXT_CRYPTO, QCOW2_EXT_DATA_FILE,
    };

    for (unsigned i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (types[i] == type) {
            if (*seen & (1u << i)) {
                qcow2_report (rep, EINVAL, "header extension 0x%08x appears "
                              "more than once", type);
                return;
            }
            *seen |= 1u << i;
        }
    }
    switch (type) {
    case QCOW2_EXT_BACKING_FORMAT:
        x->has_backing_format = true;
        break;
    case QCOW2_EXT_FEATURE_NAMES:
        if (len % QCOW2_FEATURE_NAME_ENTRY) {
            qcow2_report (rep, EINVAL, "feature name table is %u bytes, not "
                          "a multiple of %d", len, QCOW2_FEATURE_NAME_ENTRY);
            break;
        }
        x->has_feature_names = true;
        x->feature_names_off = off;
        x->feature_names_len = len;
        break;
    case QCOW2_EXT_BITMAPS:
        qcow2_ext_bitmaps (h, d, len, x, rep);
        break;
    case QCOW2_EXT_CRYPTO:
        qcow2_ext_crypto (d, len, x, rep);
        break;
    case QCOW2_EXT_DATA_FILE:
        qcow2_ext_data_file (d, len, x, rep);
        break;
    default:
        x->nunknown++;          /* the spec says: safely ignored */
        break;
    }
}

/* How many leading bytes of the header cluster qcow2_exts_parse reads
 * (the extension chain to its end marker, the backing file name), found
 * by the same walk over the first 'have' bytes; hc_len when the walk
 * leaves them. */
static size_t
qcow2_exts_span (const struct qcow2_header *h, const uint8_t *hc,
                 size_t have, size_t hc_len)
{
    uint64_t off = h->version >= 3 ? h->header_length : QCOW2_V2_HEADER_LEN;
    uint64_t end = h->backing_file_offset ? h->backing_file_offset : hc_len;
    uint64_t span = off;

    if (end > hc_len) {
        end = hc_len;
    }
    while (off < end) {
        uint32_t type, len;

        if (end - off < 8 || off + 8 > have) {
            return hc_len;
        }
        type = get_be32 (hc + off);
        len = get_be32 (hc + off + 4);
        off += 8;
        span = off;
        if (type == QCOW2_EXT_END) {
            break;
        }
        if (len > end - off) {
            return hc_len;
        }
        off += ((uint64_t) len + 7) & ~(uint64_t) 7;
        span = off;
    }
    if (h->backing_file_offset && h->backing_file_offset < hc_len &&
        h->backing_file_offset + (uint64_t) h->backing_file_size > span) {
        span = h->backing_file_offset + (uint64_t) h->backing_file_size;
    }
    return span <= have ? (size_t) span : hc_len;
}

bool
qcow2_exts_parse (const struct qcow2_header *h, const uint8_t *hc,
                  size_t hc_len, struct qcow2_exts *x,
                  struct qcow2_report *rep)
{
    uint64_t off = h->version >= 3 ? h->header_length : QCOW2_V2_HEADER_LEN;
    uint64_t end = h->backing_file_offset ? h->backing_file_offset : hc_len;
    uint32_t seen = 0;

    memset (x, 0, sizeof *x);
    if (end > hc_len) {
        end = hc_len;           /* reported by qcow2_header_check */
    }
    while (off < end) {
        uint32_t type, len;

        if (end - off < 8) {
            qcow2_report (rep, EINVAL, "header extension area ends in the "
                          "middle of an extension header (offset %llu)",
                          (unsigned long long) off);
            return true;
        }
        type = get_be32 (hc + off);
        len = get_be32 (hc + off + 4);
        off += 8;
        if (type == QCOW2_EXT_END) {
            break;
        }
        if (len > end - off) {
            qcow2_report (rep, EINVAL, "header extension 0x%08x (%u bytes) "
                          "runs past the end of the header area", type, len);
            return true;
        }
        qcow2_ext_one (h, type, (uint32_t) off, hc + off, len, x, rep, &seen);
        off += ((uint64_t) len + 7) & ~(uint64_t) 7;
    }
    if (h->backing_file_offset &&
        h->backing_file_size <= QCOW2_MAX_BACKING_NAME &&
        h->backing_file_offset <= hc_len &&
        h->backing_file_size <= hc_len - h->backing_file_offset) {
        memcpy (x->backing_file, hc + h->backing_file_offset,
                h->backing_file_size);
        x->backing_file[h->backing_file_size] = '\0';
    }
    return false;
}

/* " ('name')" for a feature bit from the image's feature name table. */
static void
qcow2_feature_name (const struct qcow2_exts *x, const uint8_t *hc,
                    int type, int bit, char *out, size_t n)
{
    out[0] = '\0';
    if (!x->has_feature_names) {
        return;
    }
    for (uint32_t o = 0; o + QCOW2_FEATURE_NAME_ENTRY <= x->feature_names_len;
         o += QCOW2_FEATURE_NAME_ENTRY) {
        const uint8_t *e = hc + x->feature_names_off + o;

        if (e[0] == type && e[1] == bit) {
            snprintf (out, n, " ('%.46s')", (const char *) e + 2);
            return;
        }
    }
}

static bool
qcow2_check_incompat (const struct qcow2_header *h, const struct qcow2_exts *x,
                      const uint8_t *hc, struct qcow2_report *rep)
{
    uint64_t unknown = h->incompatible_features & ~QCOW2_INCOMPAT_KNOWN;
    char name[64];

    for (int bit = 0; bit < 64; bit++) {
        if (unknown & (UINT64_C (1) << bit)) {
            qcow2_feature_name (x, hc, 0, bit, name, sizeof name);
            qcow2_report (rep, ENOTSUP, "unsupported incompatible feature "
                          "bit %d%s", bit, name);
        }
    }
    if (h->incompatible_features & QCOW2_INCOMPAT_CORRUPT) {
        qcow2_report (rep, EINVAL, "image is marked corrupt (incompatible "
                      "bit 1); repair it with 'qemu-img check -r all'");
    }
    if (h->incompatible_features & QCOW2_INCOMPAT_DIRTY) {
        qcow2_report (rep, EINVAL, "image is dirty (incompatible bit 0): its "
                      "refcounts may be stale, it needs repair with "
                      "'qemu-img check -r all'");
    }
    return unknown != 0;
}

static void
qcow2_check_compression (const struct qcow2_header *h,
                         struct qcow2_report *rep)
{
    if (!(h->incompatible_features & QCOW2_INCOMPAT_COMPRESSION)) {
        if (h->compression_type != QCOW2_COMPRESSION_DEFLATE) {
            qcow2_report (rep, EINVAL, "compression_type is %u but the "
                          "compression type bit (incompatible bit 3) is "
                          "clear", h->compression_type);
        }
        return;
    }
    if (h->header_length <= QCOW2_OFF_COMPRESSION_TYPE) {
        qcow2_report (rep, EINVAL, "compression type bit is set but the "
                      "header has no compression_type field");
    } else if (h->compression_type == QCOW2_COMPRESSION_DEFLATE) {
        qcow2_report (rep, EINVAL, "compression type bit is set with "
                      "compression type 0 (deflate)");
    } else if (h->compression_type != QCOW2_COMPRESSION_ZSTD) {
        qcow2_report (rep, ENOTSUP, "unsupported compression type %u",
                      h->compression_type);
    }
}

static void
qcow2_check_data_file (const struct qcow2_header *h,
                       const struct qcow2_exts *x, struct qcow2_report *rep)
{
    bool df = h->incompatible_features & QCOW2_INCOMPAT_DATA_FILE;
    bool raw = h->autoclear_features & QCOW2_AUTOCLEAR_DATA_FILE_RAW;

    if (!df && x->has_data_file) {
        qcow2_report (rep, EINVAL, "external data file name '%s' is given "
                      "but the external data file bit (incompatible bit 2) "
                      "is clear", x->data_file);
    }
    if (raw && !df) {
        qcow2_report (rep, EINVAL, "raw external data bit (autoclear bit 1) "
                      "is set without an external data file");
    }
    if (raw && h->backing_file_offset) {
        qcow2_report (rep, EINVAL, "raw external data bit conflicts with the "
                      "backing file");
    }
    if (df && h->nb_snapshots) {
        qcow2_report (rep, EINVAL, "image with an external data file has %u "
                      "internal snapshots (not allowed)", h->nb_snapshots);
    }
}

bool
qcow2_features_check (const struct qcow2_header *h, const struct qcow2_exts *x,
                      const uint8_t *hc, struct qcow2_report *rep)
{
    bool fatal = qcow2_check_incompat (h, x, hc, rep);

    qcow2_check_compression (h, rep);
    qcow2_check_data_file (h, x, rep);
    if ((h->autoclear_features & QCOW2_AUTOCLEAR_BITMAPS) && !x->has_bitmaps) {
        qcow2_report (rep, EINVAL, "bitmaps bit (autoclear bit 0) is set "
                      "without a valid bitmaps extension");
    }
    if (x->has_crypto && h->crypt_method != 2) {
        qcow2_report (rep, EINVAL, "encryption header extension without LUKS "
                      "encryption");
    }
    if (h->backing_file_offset) {
        qcow2_report (rep, ENOTSUP, "unsupported backing file '%s': backing "
                      "files are not supported (flatten the chain first, "
                      "e.g. with qemu-img convert)", x->backing_file);
    }
    return fatal;
}

/* ------------------------------------------------------- open an image */

static int
qcow2_read_header (struct qcow2_image *img, struct qcow2_report *rep)
{
    uint8_t buf[QCOW2_WRITE_HEADER_LEN];
    size_t n = img->file_size < sizeof buf ? (size_t) img->file_size
                                           : sizeof buf;
    int r;

    if (n < 4) {
        qcow2_report (rep, EINVAL, "file is truncated: %llu bytes, too short "
                      "for a qcow2 header",
                      (unsigned long long) img->file_size);
        return 1;
    }
    r = fmt_io_pread (img->io, 0, buf, n, 0);
    if (r < 0) {
        return r;
    }
    if (get_be32 (buf) == QCOW2_MAGIC && n < QCOW2_V2_HEADER_LEN) {
        qcow2_report (rep, EINVAL, "file is truncated: %llu bytes, too short "
                      "for a qcow2 header",
                      (unsigned long long) img->file_size);
        return 1;
    }
    if (get_be32 (buf) != QCOW2_MAGIC) {
        qcow2_report (rep, EINVAL, "not a qcow2 image (magic 0x%08x, "
                      "expected 0x%08x)", get_be32 (buf), QCOW2_MAGIC);
        return 1;
    }
    if (qcow2_header_decode (buf, n, &img->h) < 0) {
        qcow2_report (rep, EINVAL, "file is truncated: %llu bytes, too short "
                      "for a qcow2 v3 header", (unsigned long long) n);
        return 1;
    }
    return 0;
}

/* Derived geometry, once the header is known to be sane. */
static void
qcow2_image_geometry (struct qcow2_image *img)
{
    const struct qcow2_header *h = &img->h;
    uint64_t span;

    img->cluster_size = (uint32_t) 1 << h->cluster_bits;
    img->ext_l2 = h->incompatible_features & QCOW2_INCOMPAT_EXTL2;
    img->data_file = h->incompatible_features & QCOW2_INCOMPAT_DATA_FILE;
    img->l2_entry_bytes = img->ext_l2 ? 16 : 8;
    img->l2_entries = img->cluster_size / img->l2_entry_bytes;
    img->subcluster_size = img->ext_l2 ? img->cluster_size / 32
                                       : img->cluster_size;
    span = (uint64_t) img->cluster_size * img->l2_entries;
    img->l1_needed = h->size / span + (h->size % span != 0);
    img->guest_clusters = h->size / img->cluster_size +
                          (h->size % img->cluster_size != 0);
    img->refcount_bits = 1u << h->refcount_order;
    img->refblock_entries = (uint64_t) img->cluster_size * 8 /
                            img->refcount_bits;
}

int
qcow2_image_open (struct qcow2_image *img, const struct fmt_io *io,
                  struct qcow2_report *rep)
{
    int64_t sz;
    size_t n, have;
    int r;

    memset (img, 0, sizeof *img);
    img->io = io;
    img->name = fmt_io_name (io, 0);
    sz = io->size (io->opaque, 0);
    if (sz < 0) {
        return (int) sz;
    }
    img->file_size = (uint64_t) sz;
    r = qcow2_read_header (img, rep);
    if (r != 0) {
        return r;
    }
    if (qcow2_header_check (&img->h, img->file_size, rep)) {
        return 1;
    }
    qcow2_image_geometry (img);
    /* The header cluster as qemu sees it: past the end of a short file
     * it reads as zeros (8 of them are enough to end the extensions). */
    img->hc_len = img->file_size + 8 < img->cluster_size
                  ? (size_t) img->file_size + 8 : img->cluster_size;
    img->x = calloc (1, sizeof *img->x);
    if (img->x == NULL) {
        return set_error (ENOMEM, "out of memory reading '%s'", img->name);
    }
    /* Read the first QCOW2_HC_PREFIX bytes, and the rest of the cluster
     * (2 MiB by default) only when the extensions or the backing file
     * name reach past them. */
    have = img->hc_len < QCOW2_HC_PREFIX ? img->hc_len : QCOW2_HC_PREFIX;
    for (int pass = 0; pass < 2; pass++) {
        free (img->hc);
        img->hc = calloc (1, have);
        if (img->hc == NULL) {
            return set_error (ENOMEM, "out of memory reading '%s'",
                              img->name);
        }
        n = img->file_size < have ? (size_t) img->file_size : have;
        r = fmt_io_pread (io, 0, img->hc, n, 0);
        if (r < 0) {
            return r;
        }
        if (have == img->hc_len ||
            qcow2_exts_span (&img->h, img->hc, have, img->hc_len) <= have) {
            break;
        }
        have = img->hc_len;
    }
    if (qcow2_exts_parse (&img->h, img->hc, img->hc_len, img->x, rep) ||
        qcow2_features_check (&img->h, img->x, img->hc, rep)) {
        return 1;
    }
    return 0;
}

void
qcow2_image_release (struct qcow2_image *img)
{
    free (img->hc);
    free (img->x);
    img->hc = NULL;
    img->x = NULL;
}

void
qcow2_image_info (const struct qcow2_image *img, struct fmt_source_info *info)
{
    char snaps[40] = "";

    if (img->h.nb_snapshots &&
        snprintf (snaps, sizeof snaps, ", %u snapshots (active layer)",
                  img->h.nb_snapshots) >= (int) sizeof snaps) {
        snaps[sizeof snaps - 1] = '\0';
    }
    info->type = FMT_QCOW2;
    info->virtual_size = img->h.size;
    info->block_size = img->cluster_size;
    info->nfiles = img->data_file ? 2 : 1;
    /* At most 40 bytes: a long combination keeps its beginning. */
    if (snprintf (info->subformat, sizeof info->subformat, "v%u%s%s%s",
                  img->h.version, img->data_file ? ", data file" : "",
                  img->ext_l2 ? ", extended L2" : "", snaps)
        >= (int) sizeof info->subformat) {
        info->subformat[sizeof info->subformat - 1] = '\0';
    }
}

static enum fmt_probe_score
qcow2_probe (const struct fmt_probe_buf *b)
{
    return b->head_len >= 4 && get_be32 (b->head) == QCOW2_MAGIC
           ? FMT_PROBE_MAGIC : FMT_PROBE_NO;
}

static const char *const qcow2_extensions[] = { "qcow2", NULL };

const struct fmt_driver qcow2_driver = {
    .type = FMT_QCOW2,
    .name = "qcow2",
    .extensions = qcow2_extensions,
    .native = "kvm",
    .share_style = FMT_SHARE_UNIX,
    .probe = qcow2_probe,
    .read_map = qcow2_read_map,
    .validate = qcow2_validate,
    .plan = qcow2_plan,
    .map_validates = false,
    .data_in_place = true,
    /* whole sectors, as qemu rounds a raw file's size (qcow2-plan.c) */
    .size_align = FMT_SECTOR,
};
