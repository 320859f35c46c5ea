/* QCOW2 internals shared by formats/qcow2*.c and their unit tests (not
 * part of the formats.h interface).
 *
 * Layout per docs/interop/qcow2.txt (qemu 7.2 .. 10.0; the corpus copy is
 * specs/qcow2.txt).  All on-disk numbers are big-endian.  Facts used here
 * and not in the spec text: qemu's implementation limits (cluster size
 * 512 B .. 2 MiB, L1 table at most 32 MiB, refcount table at most 8 MiB,
 * at most 65536 snapshots) and the external-data-file bit being bit 2
 * (the spec text says "bit 1" in one place; qcow2.h has bit 2).
 */
#ifndef VMSHIFT_FORMATS_QCOW2_H
#define VMSHIFT_FORMATS_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"

#define QCOW2_MAGIC 0x514649fbu                  /* "QFI\xfb" */

/* Default cluster size for images we write: 2 MiB.  See qcow2-plan.c. */
#define QCOW2_DEFAULT_CLUSTER ((uint32_t) 2 << 20)
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21                /* qemu's limit */
#define QCOW2_MIN_EXT_L2_CLUSTER_BITS 14
/* Smallest cluster we write: data clusters are shared by clone, which
 * works in 4 KiB blocks (FMT_CLONE_BLOCK). */
#define QCOW2_MIN_WRITE_CLUSTER FMT_CLONE_BLOCK
#define QCOW2_MAX_L1_BYTES ((uint64_t) 32 << 20)   /* qemu QCOW_MAX_L1_SIZE */
#define QCOW2_MAX_REFTABLE_BYTES ((uint64_t) 8 << 20)
#define QCOW2_MAX_SNAPSHOTS 65536u
#define QCOW2_MAX_SNAPSHOT_TABLE ((uint64_t) 64 << 20)
#define QCOW2_MAX_BITMAPS 65535u
#define QCOW2_MAX_BITMAP_DIR ((uint64_t) 64 << 20)
#define QCOW2_MAX_BACKING_NAME 1023u
#define QCOW2_MAX_DATA_FILE_NAME 4095u

/* Header field offsets (spec "Header"). */
enum {
    QCOW2_OFF_MAGIC = 0,
    QCOW2_OFF_VERSION = 4,
    QCOW2_OFF_BACKING_OFFSET = 8,
    QCOW2_OFF_BACKING_SIZE = 16,
    QCOW2_OFF_CLUSTER_BITS = 20,
    QCOW2_OFF_SIZE = 24,
    QCOW2_OFF_CRYPT_METHOD = 32,
    QCOW2_OFF_L1_SIZE = 36,
    QCOW2_OFF_L1_OFFSET = 40,
    QCOW2_OFF_REFTABLE_OFFSET = 48,
    QCOW2_OFF_REFTABLE_CLUSTERS = 56,
    QCOW2_OFF_NB_SNAPSHOTS = 60,
    QCOW2_OFF_SNAPSHOTS_OFFSET = 64,
    QCOW2_V2_HEADER_LEN = 72,
    QCOW2_OFF_INCOMPAT = 72,
    QCOW2_OFF_COMPAT = 80,
    QCOW2_OFF_AUTOCLEAR = 88,
    QCOW2_OFF_REFCOUNT_ORDER = 96,
    QCOW2_OFF_HEADER_LENGTH = 100,
    QCOW2_V3_HEADER_LEN = 104,
    QCOW2_OFF_COMPRESSION_TYPE = 104,
    QCOW2_WRITE_HEADER_LEN = 112,   /* as qemu 7.2 writes: type + 7 pad */
};

/* Feature bits. */
#define QCOW2_INCOMPAT_DIRTY (UINT64_C (1) << 0)
#define QCOW2_INCOMPAT_CORRUPT (UINT64_C (1) << 1)
#define QCOW2_INCOMPAT_DATA_FILE (UINT64_C (1) << 2)
#define QCOW2_INCOMPAT_COMPRESSION (UINT64_C (1) << 3)
#define QCOW2_INCOMPAT_EXTL2 (UINT64_C (1) << 4)
#define QCOW2_INCOMPAT_KNOWN (UINT64_C (0x1f))
#define QCOW2_COMPAT_LAZY_REFCOUNTS (UINT64_C (1) << 0)
#define QCOW2_AUTOCLEAR_BITMAPS (UINT64_C (1) << 0)
#define QCOW2_AUTOCLEAR_DATA_FILE_RAW (UINT64_C (1) << 1)

enum {
    QCOW2_COMPRESSION_DEFLATE = 0,
    QCOW2_COMPRESSION_ZSTD = 1,
};

/* Header extension types. */
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_NAMES 0x6803f857u
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_DATA_FILE 0x44415441u          /* "DATA" */
#define QCOW2_FEATURE_NAME_ENTRY 48
#define QCOW2_BITMAPS_EXT_LEN 24

/* L1 / L2 / refcount table entry bits. */
#define QCOW2_OFLAG_COPIED (UINT64_C (1) << 63)
#define QCOW2_OFLAG_COMPRESSED (UINT64_C (1) << 62)
#define QCOW2_OFLAG_ZERO (UINT64_C (1) << 0)
#define QCOW2_OFFSET_MASK UINT64_C (0x00fffffffffffe00)   /* bits 9..55 */
#define QCOW2_L1E_RESERVED UINT64_C (0x7f000000000001ff)
#define QCOW2_L2E_RESERVED UINT64_C (0x3f000000000001fe)
#define QCOW2_REFT_RESERVED UINT64_C (0x1ff)

/* The header in host order.  Fields absent from a v2 header (or beyond
 * header_length) read as their defaults: 0, refcount_order 4. */
struct qcow2_header {
    uint32_t magic;
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size;
    uint32_t crypt_method;
    uint32_t l1_size;
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t refcount_order;
    uint32_t header_length;
    uint8_t compression_type;
};

/* What the header extensions (and the backing file name) say. */
struct qcow2_exts {
    bool has_backing_format;
    bool has_feature_names;
    uint32_t feature_names_off;         /* into the header cluster */
    uint32_t feature_names_len;
    bool has_bitmaps;
    uint32_t nb_bitmaps;
    uint64_t bitmap_dir_size;
    uint64_t bitmap_dir_offset;
    bool has_crypto;
    uint64_t crypto_offset;
    uint64_t crypto_length;
    bool has_data_file;
    char data_file[QCOW2_MAX_DATA_FILE_NAME + 1];
    char backing_file[QCOW2_MAX_BACKING_NAME + 1];
    uint32_t nunknown;                  /* unknown extensions skipped */
};

/* Problem reporting shared by read_map (stop at the first problem, as
 * an error) and the validator (collect every problem).  'file' names
 * the image in error messages. */
struct qcow2_report {
    struct fmt_problems *probs;         /* NULL: stop mode */
    const char *file;
    int err;                            /* first problem as -errno */
};

void qcow2_report (struct qcow2_report *r, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Header codec (qcow2.c).  decode parses only: buf holds at least 72
 * bytes (v2), the v3 fields are read when len allows and header_length
 * covers them.  encode writes every byte of [0, h->header_length). */
int qcow2_header_decode (const uint8_t *buf, size_t len,
                         struct qcow2_header *out);
void qcow2_header_encode (const struct qcow2_header *h, uint8_t *buf,
                          size_t len);
/* Semantic checks of the header fields against the file size.  Returns
 * true when the header is too broken to interpret any table. */
bool qcow2_header_check (const struct qcow2_header *h, uint64_t file_size,
                         struct qcow2_report *rep);
/* Parse the extension area of the header cluster 'hc' (hc_len bytes,
 * zero-filled past the end of the file) and the backing file name;
 * problems go to rep.  Returns true when fatal. */
bool qcow2_exts_parse (const struct qcow2_header *h, const uint8_t *hc,
                       size_t hc_len, struct qcow2_exts *x,
                       struct qcow2_report *rep);
/* Checks that need both header and extensions (feature bit consistency,
 * names of unknown bits).  True when fatal. */
bool qcow2_features_check (const struct qcow2_header *h,
                           const struct qcow2_exts *x, const uint8_t *hc,
                           struct qcow2_report *rep);
/* Append one extension at *off in buf (cap bytes); false if no room. */
bool qcow2_ext_put (uint8_t *buf, size_t cap, size_t *off, uint32_t type,
                    const void *data, uint32_t len);

/* An open image, as read_map and the validator see it. */
struct qcow2_image {
    const struct fmt_io *io;
    const char *name;
    uint64_t file_size;
    struct qcow2_header h;
    struct qcow2_exts *x;
    uint8_t *hc;                        /* header cluster */
    size_t hc_len;
    uint32_t cluster_size;
    uint32_t l2_entries;                /* entries per L2 table */
    uint32_t l2_entry_bytes;            /* 8, or 16 with extended L2 */
    uint32_t subcluster_size;           /* = cluster size without ext L2 */
    uint64_t l1_needed;                 /* L1 entries the disk size uses */
    uint64_t guest_clusters;
    uint32_t refcount_bits;
    uint64_t refblock_entries;
    bool data_file;
    bool ext_l2;
};

/* Read and check the header cluster: fills img (caller frees with
 * qcow2_image_release).  Returns 0 when the tables can be interpreted
 * (problems may have been reported), 1 when fatal problems were
 * reported, -errno when the file could not be read at all. */
int qcow2_image_open (struct qcow2_image *img, const struct fmt_io *io,
                      struct qcow2_report *rep);
void qcow2_image_release (struct qcow2_image *img);
/* "v3", "v2, extended L2", ... for fmt_source_info.subformat */
void qcow2_image_info (const struct qcow2_image *img,
                       struct fmt_source_info *info);

/* Cluster descriptor kinds (an L2 entry, or one subcluster of it). */
enum qcow2_cl_kind {
    QCOW2_CL_UNALLOC = 0,       /* reads zero (no backing file) */
    QCOW2_CL_ZERO_PLAIN,        /* zero flag, no host cluster */
    QCOW2_CL_ZERO_ALLOC,        /* zero flag, host cluster preallocated */
    QCOW2_CL_NORMAL,            /* data at host */
    QCOW2_CL_COMPRESSED,
};

struct qcow2_l2e {
    int kind;                   /* enum qcow2_cl_kind */
    bool copied;
    uint64_t host;              /* NORMAL/ZERO_ALLOC/UNALLOC with ext L2:
                                 * cluster offset (0 = none); COMPRESSED:
                                 * byte offset of the stream */
    uint64_t csize;             /* COMPRESSED: bytes from host to the end
                                 * of its last 512-byte sector */
    uint32_t alloc;             /* subcluster bitmaps (ext L2); without
                                 * ext L2 bit 0 stands for the cluster */
    uint32_t zero;
};

/* Decode the L2 entry of guest cluster g (e, plus the bitmap word with
 * extended L2).  Returns NULL or a description of what is wrong with it
 * (written into why). */
const char *qcow2_l2e_decode (const struct qcow2_image *img, uint64_t g,
                              uint64_t e, uint64_t bitmap,
                              struct qcow2_l2e *out, char *why,
                              size_t whylen);

/* Walk an L1 table and its L2 tables (streamed: one L2 cluster at a
 * time).  l1_entries entries are read from l1_off; L2 entries of guest
 * clusters >= max_guest are not visited.  The callbacks return 0 or
 * -errno; l1_cb may set *skip to not descend into that table.  A walk
 * descends into at most as many L2 tables as the file has clusters (more
 * means a table is used twice): past that it reports a problem to rep and
 * stops, which bounds the work by the file size. */
struct qcow2_walk {
    struct qcow2_report *rep;
    void *opaque;
    int (*l1_cb) (void *opaque, uint64_t idx, uint64_t l1e, bool *skip);
    int (*l2_cb) (void *opaque, uint64_t g, uint64_t e, uint64_t bitmap);
    /* Optional: guest clusters [g, g + n) whose L2 entries (and
     * subcluster bitmaps) are all 0, in one call instead of n calls of
     * l2_cb; an all-zero entry is always a valid unallocated cluster. */
    int (*l2_zero_cb) (void *opaque, uint64_t g, uint64_t n);
};
int qcow2_walk_l1 (const struct qcow2_image *img, uint64_t l1_off,
                   uint64_t l1_entries, uint64_t max_guest,
                   const struct qcow2_walk *w);

/* ------------------------------------------------------- planner sizes */

/* A run of allocated guest clusters [g0, g1). */
struct qcow2_run {
    uint64_t g0;
    uint64_t g1;
};
DEFINE_VECTOR (qcow2_run_vec, struct qcow2_run);

/* Geometry of an image we write (recipe C.4 / C.5), in clusters unless
 * named _off/_bytes. */
struct qcow2_geo {
    uint32_t cluster_size;
    uint32_t cluster_bits;
    uint64_t virtual_size;
    uint64_t guest_clusters;    /* N */
    uint64_t l2_entries;        /* L */
    uint64_t l1_entries;        /* l1_size in the header */
    uint64_t l1_clusters;
    uint64_t l2_tables;         /* L2 tables written */
    uint64_t refblock_entries;  /* E */
    uint64_t reftable_clusters; /* T */
    uint64_t refblocks_reserved;/* clusters set aside for refcount blocks */
    uint64_t refblocks;         /* refcount blocks written (<= reserved) */
    uint64_t meta_clusters;     /* M: data starts at X = M * C */
    uint64_t file_clusters;     /* size of the qcow2 file in clusters */
    bool data_file;
};

/* Compute the geometry for a disk of virtual_size bytes whose allocated
 * guest clusters are 'runs' (sorted, disjoint); with data_file, every
 * guest cluster is mapped and data clusters are not refcounted.
 * -EFBIG when qemu's L1 / refcount table limits would be exceeded. */
int qcow2_geo_compute (uint64_t virtual_size, uint32_t cluster_size,
                       const struct qcow2_run *runs, size_t nruns,
                       bool data_file, struct qcow2_geo *g);

#endif
