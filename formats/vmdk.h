/* Internal interfaces of the VMDK reader, validator and planner (not
 * installed, not used outside formats/ and the tests).
 *
 * Facts: docs/formats/vmdk.md and the libyal VMDK format notes (descriptor
 * grammar, KDMV hosted sparse extents, streamOptimized markers, COWD),
 * qemu 7.2 block/vmdk.c behaviour for seSparse.
 *
 *   vmdk.c           top level: descriptor or sparse file, extents, chains
 *   vmdk-common.c    createType table, extent type names, problem sink
 *   vmdk-desc.c      descriptor tokenizer and parser (pure text)
 *   vmdk-sparse.c    KDMV hosted sparse and streamOptimized extents
 *   vmdk-cowd.c      COWD (vmfsSparse) extents
 *   vmdk-sesparse.c  seSparse extents
 *   vmdk-plan.c      VMDK target (descriptor + -flat.vmdk)
 *
 * Error model: every check reports through vmdk_fail() (a hard error:
 * the data cannot be trusted) or vmdk_soft() (a problem that does not
 * change what the guest reads, reported by the validator only).  With a
 * problem list (the validator) checks keep going and report everything
 * they can; without one (read_map) the first hard error is returned.
 */
#ifndef VMSHIFT_FORMATS_VMDK_H
#define VMSHIFT_FORMATS_VMDK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/base/error.h"
#include "engine/base/vector.h"
#include "formats/formats.h"

#define VMDK_SECTOR 512u
#define VMDK_MAX_DESC_BYTES ((size_t) 1 << 20)      /* descriptor text */
#define VMDK_MAX_DESC_LINES 16384u
#define VMDK_MAX_LINE 8192u
#define VMDK_MAX_EXTENTS 4096u                      /* = FMT_MAX_FILES */
#define VMDK_MAX_CHAIN 32u                          /* snapshot depth */
#define VMDK_MAX_SECTORS (FMT_MAX_VIRTUAL_SIZE / VMDK_SECTOR)
#define VMDK_NO_PARENT_CID 0xffffffffu

/* ------------------------------------------------------ problem sink */

struct vmdk_diag {
    struct fmt_problems *probs; /* NULL: stop at the first hard error */
    const char *fname;          /* file the messages are about; NULL:
                                 * messages are not prefixed */
    bool main;                  /* fname is file 0: problems unprefixed */
    int err;                    /* first hard error (-errno) or 0 */
    unsigned nerr;              /* hard errors so far */
    struct vmshift_error_save saved;    /* the first error's message, as
                                         * later helpers may overwrite it */
};

int vmdk_diag_fail (struct vmdk_diag *d, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
void vmdk_diag_soft (struct vmdk_diag *d, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
int vmdk_diag_vreport (struct vmdk_diag *d, int errnum, const char *fmt,
                       va_list ap) __attribute__ ((format (printf, 3, 0)));
/* Make the first hard error the current error again; returns d->err. */
int vmdk_diag_restore (struct vmdk_diag *d);

/* ------------------------------------------------------- descriptor */

enum vmdk_ct {
    VMDK_CT_NONE = 0,
    VMDK_CT_VMFS, VMDK_CT_VMFS_THIN, VMDK_CT_VMFS_PREALLOC,
    VMDK_CT_VMFS_EZT, VMDK_CT_MONO_FLAT, VMDK_CT_2GB_FLAT,
    VMDK_CT_MONO_SPARSE, VMDK_CT_2GB_SPARSE, VMDK_CT_STREAM,
    VMDK_CT_VMFS_SPARSE, VMDK_CT_SE_SPARSE, VMDK_CT_CUSTOM,
    VMDK_CT_VMFS_RAW, VMDK_CT_RDM, VMDK_CT_RDMP, VMDK_CT_FULL_DEVICE,
    VMDK_CT_PART_DEVICE,
};

/* What a createType's extents are expected to be. */
enum vmdk_ct_class {
    VMDK_CLASS_FLAT = 1, VMDK_CLASS_SPARSE, VMDK_CLASS_COWD,
    VMDK_CLASS_SESPARSE, VMDK_CLASS_CUSTOM, VMDK_CLASS_DEVICE,
};

struct vmdk_ct_info {
    const char *name;           /* canonical spelling */
    const char *alias;          /* other accepted spelling or NULL */
    enum vmdk_ct ct;
    enum vmdk_ct_class cls;
    const char *unsupported;    /* why it cannot be read, or NULL */
};

/* ASCII case-insensitive string equality (locale independent). */
bool vmdk_name_eq (const char *a, const char *b);
/* Case-insensitive lookup; NULL if unknown. */
const struct vmdk_ct_info *vmdk_ct_lookup (const char *name);
const struct vmdk_ct_info *vmdk_ct_get (enum vmdk_ct ct);

enum vmdk_ext_type {
    VMDK_EXT_FLAT = 1, VMDK_EXT_VMFS, VMDK_EXT_SPARSE, VMDK_EXT_VMFSSPARSE,
    VMDK_EXT_SESPARSE, VMDK_EXT_ZERO, VMDK_EXT_VMFSRDM, VMDK_EXT_VMFSRAW,
};
enum vmdk_access { VMDK_RW = 1, VMDK_RDONLY, VMDK_NOACCESS };

const char *vmdk_ext_type_name (int type);

struct vmdk_extent_desc {
    uint64_t sectors;
    uint64_t offset;            /* FLAT: start sector in the file */
    char *file;                 /* NULL for ZERO */
    unsigned line;
    uint8_t type;               /* enum vmdk_ext_type */
    uint8_t access;             /* enum vmdk_access */
};
DEFINE_VECTOR (vmdk_extent_vec, struct vmdk_extent_desc);

struct vmdk_desc {
    unsigned version;           /* 0 when absent */
    bool has_cid;
    bool has_parent_cid;
    bool has_uuid;
    bool thin;                  /* ddb.thinProvisioned = "1" */
    uint32_t cid;
    uint32_t parent_cid;
    enum vmdk_ct ct;            /* VMDK_CT_NONE when absent or unknown */
    char create_type[40];       /* canonical name, or as written */
    char adapter[16];           /* ddb.adapterType, "" when absent */
    uint8_t uuid[16];           /* ddb.uuid, bytes as they appear */
    uint32_t hw_version;        /* ddb.virtualHWVersion, 0 when absent */
    uint32_t ddb_grain;         /* ddb.grain (sectors), 0 when absent */
    char *parent_hint;          /* parentFileNameHint or NULL */
    char *change_track;         /* changeTrackPath or NULL */
    char *encoding;             /* encoding or NULL */
    uint64_t capacity;          /* sectors, sum of the extents */
    struct vmdk_extent_vec extents;
};

void vmdk_desc_init (struct vmdk_desc *d);
void vmdk_desc_release (struct vmdk_desc *d);
/* Parse descriptor text (len bytes, no NUL needed).  Reports every hard
 * error and soft problem to dg; returns 0 when this text had no hard
 * error, else a negative errno (the first error reported to dg).  d is
 * filled as far as the text allowed and must be released. */
int vmdk_desc_parse (const char *text, size_t len, struct vmdk_desc *d,
                     struct vmdk_diag *dg);
/* "60 00 C2 9f ... 9b" (16 hex bytes separated by ' ' or '-'). */
int vmdk_uuid_parse (const char *s, uint8_t out[16]);

/* ----------------------------------------------------- read context */

struct vmdk_ctx {
    const struct fmt_io *io;
    struct vmdk_diag dg;        /* probs set: validator, keep going */
    uint32_t nfiles;            /* highest file index opened + 1 */
    uint32_t grain_bytes;       /* grain of the top disk's first sparse
                                 * extent (info->block_size) */
    unsigned depth;             /* chain level being read (0 = top) */
};

int vmdk_fail (struct vmdk_ctx *c, uint32_t file, int errnum,
               const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));
void vmdk_soft (struct vmdk_ctx *c, uint32_t file, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Report the error already set by a callee (io callback, helper). */
int vmdk_fail_current (struct vmdk_ctx *c, uint32_t file, int r);
/* True when checks should go on after a hard error (validator), and the
 * problem list is not yet full. */
bool vmdk_keep_going (const struct vmdk_ctx *c);
/* File size, or a reported error. */
int vmdk_file_size (struct vmdk_ctx *c, uint32_t file, uint64_t *size);
/* Read with the error reported against 'file'. */
int vmdk_pread (struct vmdk_ctx *c, uint32_t file, void *buf, size_t n,
                uint64_t off);

/* ----------------------------------------- file ranges (overlap check) */

enum vmdk_range_kind {
    VMDK_R_HEADER = 1, VMDK_R_DESC, VMDK_R_GD, VMDK_R_RGD, VMDK_R_GT,
    VMDK_R_GRAIN, VMDK_R_META,
};
struct vmdk_range {
    uint64_t off;
    uint64_t len;
    int kind;
};
DEFINE_VECTOR (vmdk_range_vec, struct vmdk_range);

/* Append (merging with the previous range when contiguous and of the
 * same kind).  Capped at FMT_MAX_EXTENTS ranges. */
int vmdk_ranges_add (struct vmdk_ctx *c, uint32_t file,
                     struct vmdk_range_vec *v, uint64_t off, uint64_t len,
                     int kind);
/* Sort and report the first overlap (all of them when validating). */
int vmdk_ranges_check (struct vmdk_ctx *c, uint32_t file,
                       struct vmdk_range_vec *v);

/* ------------------------------------------- grain map construction */

/* Builds a sparse extent's part of the map.  Grains contiguous in guest
 * space and in the file merge into one DATA extent; their file ranges
 * are recorded for the overlap check; when that passes, the DATA
 * extents are split into data and holes by io->extents
 * (fmt_io_add_data). */
struct vmdk_mapper {
    struct vmdk_ctx *c;
    uint32_t file;
    struct fmt_extent_list *out;
    size_t first;               /* out->v.len when this extent began */
    struct vmdk_range_vec ranges;
    bool delta;                 /* unallocated reads from the parent */
};

void vmdk_mapper_init (struct vmdk_mapper *m, struct vmdk_ctx *c,
                       uint32_t file, struct fmt_extent_list *out,
                       bool delta);
void vmdk_mapper_release (struct vmdk_mapper *m);
int vmdk_mapper_data (struct vmdk_mapper *m, uint64_t guest, uint64_t len,
                      uint64_t file_off);
int vmdk_mapper_zero (struct vmdk_mapper *m, uint64_t guest, uint64_t len);
/* Unallocated: PARENT in a delta, ZERO otherwise. */
int vmdk_mapper_unalloc (struct vmdk_mapper *m, uint64_t guest,
                         uint64_t len);
int vmdk_mapper_extent (struct vmdk_mapper *m, const struct fmt_extent *e);
/* Check the recorded ranges for overlaps, then look for holes. */
int vmdk_mapper_finish (struct vmdk_mapper *m);

/* The grain directory walk of the delta extents (COWD, seSparse): read
 * 'entries' little-endian entries of 'width' bytes (4 or 8) at byte
 * offset 'off' of 'file' a chunk at a time and call gt (opaque, index,
 * entry) for each, in order; then vmdk_mapper_finish (m).  Stops at the
 * first error. */
int vmdk_gd_walk (struct vmdk_ctx *c, uint32_t file, struct vmdk_mapper *m,
                  uint64_t off, uint64_t entries, unsigned width,
                  int (*gt) (void *opaque, uint64_t i, uint64_t entry),
                  void *opaque);

/* ------------------------------------------------- extent readers */

/* Each maps an extent file of 'sectors' sectors at guest offset
 * guest_off into c's output map (through the mapper's list). */
#define VMDK4_MAGIC_BYTES "KDMV"
#define VMDK_COWD_MAGIC_BYTES "COWD"
#define VMDK_SESPARSE_MAGIC UINT64_C (0x00000000cafebabe)

struct vmdk_sparse_hdr {
    uint32_t version;
    uint32_t flags;
    uint32_t num_gtes;
    uint16_t compress;
    uint8_t unclean;
    uint8_t nl[4];
    uint64_t capacity;
    uint64_t grain;
    uint64_t desc_off;
    uint64_t desc_size;
    uint64_t rgd_off;
    uint64_t gd_off;
    uint64_t overhead;
};

void vmdk_sparse_hdr_decode (const uint8_t *buf,
                             struct vmdk_sparse_hdr *h);
/* Read, decode and check the header of a KDMV file; resolves GD_AT_END
 * through the footer.  file_size is returned for the caller. */
int vmdk_sparse_open (struct vmdk_ctx *c, uint32_t file,
                      struct vmdk_sparse_hdr *h, uint64_t *file_size);
int vmdk_sparse_map (struct vmdk_ctx *c, uint32_t file,
                     const struct vmdk_sparse_hdr *h, uint64_t file_size,
                     uint64_t guest_off, bool delta,
                     struct fmt_extent_list *out);
int vmdk_cowd_map (struct vmdk_ctx *c, uint32_t file, uint64_t sectors,
                   uint64_t guest_off, bool delta,
                   struct fmt_extent_list *out);
int vmdk_sesparse_map (struct vmdk_ctx *c, uint32_t file, uint64_t sectors,
                       uint64_t guest_off, bool delta,
                       struct fmt_extent_list *out);

#endif
