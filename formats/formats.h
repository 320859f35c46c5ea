/* formats/: disk format readers (read_map), planners (plan) and strict
 * validators.  Pure code: no I/O of its own.  Reading goes through the
 * struct fmt_io callbacks supplied by the engine; planning returns data
 * (a struct fmt_layout) that the engine executes on a backend.
 *
 *  source file(s) --read_map--> extent map --plan--> layout --execute-->
 *
 * Conventions (docs/internals/errors.md): 0 or -errno, message through
 * set_error().  Corrupt input -EINVAL, unsupported feature -ENOTSUP, too
 * big -EFBIG.  Messages name the file through the io callbacks' names
 * (fmt_io_name()) and the problem first.
 */
#ifndef VMSHIFT_FORMATS_H
#define VMSHIFT_FORMATS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/base/vector.h"

#define FMT_SECTOR 512u
#define FMT_CLONE_BLOCK 4096u           /* FICLONERANGE / ONTAP clone unit */
#define FMT_MAX_VIRTUAL_SIZE (UINT64_C (64) << 40)    /* 64 TiB (VHDX max) */
/* The most source files a read_map may open (extents plus parents). */
#define FMT_MAX_FILES 4096
/* The most extents an extent map may hold before read_map gives up with
 * -EFBIG (about 128 MiB of map). */
#define FMT_MAX_EXTENTS ((size_t) 4 << 20)

/* Format types: FMT_UNKNOWN plus one constant per line of
 * formats/drivers.def (FMT_RAW, FMT_VMDK, ...).  The values are the
 * public enum vmshift_format's. */
enum fmt_type {
    FMT_UNKNOWN = 0,
#define FMT_DRIVER(id, value, driver) FMT_##id = value,
#include "formats/drivers.def"
#undef FMT_DRIVER
};

const char *fmt_type_name (enum fmt_type t);         /* "raw", "vmdk", ... */
enum fmt_type fmt_type_from_name (const char *s);    /* FMT_UNKNOWN if not */

/* Guess the format from the first bytes of a file (at least 512 bytes
 * when the file has them; len may be less for tiny files).  The drivers'
 * probes decide (magic bytes win over weaker signs such as a VMDK text
 * descriptor); anything no driver claims is RAW. */
enum fmt_type fmt_probe (const uint8_t *buf, size_t len);
struct fmt_io;
/* fmt_probe on the first 4 KiB and the last 512 bytes of file 0 of io. */
int fmt_probe_io (const struct fmt_io *io, enum fmt_type *out);

/* ---------------------------------------------------------------- io */

/* How formats read.  File index 0 is the file named on the command line;
 * others are opened through open_rel().  All callbacks return 0 (or an
 * index >= 0) on success and a negative errno with the error set.
 */
struct fmt_extent_list;
struct fmt_io {
    void *opaque;
    /* Read exactly n bytes at off.  Reading past EOF is -EINVAL with a
     * message saying the file is shorter than needed. */
    int (*pread) (void *opaque, uint32_t file, void *buf, size_t n,
                  uint64_t off);
    /* File size in bytes (>= 0) or -errno. */
    int64_t (*size) (void *opaque, uint32_t file);
    /* Open 'name' relative to the directory of file 'base'.  The caller
     * (formats) has already checked the name with fmt_check_rel_path();
     * the engine checks again.  Returns the new file index. */
    int (*open_rel) (void *opaque, uint32_t base, const char *name);
    /* Name of a file for messages (never NULL). */
    const char *(*name) (void *opaque, uint32_t file);
    /* Optional: append the data/hole layout of file bytes [off, off+len)
     * to out as extents starting at guest offset guest_off (DATA pointing
     * into 'file', ZERO for holes).  NULL means "all data". */
    int (*extents) (void *opaque, uint32_t file, uint64_t off, uint64_t len,
                    uint64_t guest_off, struct fmt_extent_list *out);
    /* Optional: open an absolute name (a qcow2 external data file, which
     * qemu records by absolute path).  The engine opens it only when it
     * resolves inside the directory of file 'base', the same rule as for
     * relative names; otherwise -EINVAL.  NULL: absolute names are
     * unsupported. */
    int (*open_abs) (void *opaque, uint32_t base, const char *name);
};

int fmt_io_pread (const struct fmt_io *io, uint32_t file, void *buf, size_t n,
                  uint64_t off);
const char *fmt_io_name (const struct fmt_io *io, uint32_t file);
/* Append raw-file bytes [off, off+len) of 'file' at guest_off, split into
 * DATA and ZERO by io->extents when available. */
int fmt_io_add_data (const struct fmt_io *io, uint32_t file, uint64_t off,
                     uint64_t len, uint64_t guest_off,
                     struct fmt_extent_list *out);

/* Extent file names from descriptors must stay in the descriptor's
 * directory: not absolute, no ".." component, no empty name, no NUL or
 * control characters, at most 4095 bytes.  Subdirectories are allowed.
 * -EINVAL with a message quoting the name otherwise. */
int fmt_check_rel_path (const char *name);

/* Whether buf[0, n) is all zero bytes (true for n == 0). */
bool fmt_mem_is_zero (const void *buf, size_t n);

/* ------------------------------------------------------- extent map */

enum fmt_ext_kind {
    FMT_EXT_DATA = 1,   /* bytes at file_off in file */
    FMT_EXT_ZERO = 2,   /* reads as zeros (hole, ZERO extent/state) */
    FMT_EXT_DEFLATE = 3,/* one compressed grain or cluster: the stream
                         * starts at file_off and is clen bytes long; it
                         * inflates to at least skip+len bytes, of which
                         * [skip, skip+len) are this guest range. */
    FMT_EXT_PARENT = 4, /* only inside a delta's own map: read the
                         * parent (resolved by fmt_extents_overlay; never
                         * in a map returned by read_map) */
};

enum fmt_codec {
    FMT_CODEC_NONE = 0,
    FMT_CODEC_ZLIB = 1,         /* RFC 1950 (VMDK compressed grains) */
    FMT_CODEC_DEFLATE = 2,      /* raw RFC 1951 (qcow2 compressed clusters) */
};

struct fmt_extent {
    uint64_t guest_off;
    uint64_t len;
    uint64_t file_off;          /* DATA, DEFLATE */
    uint32_t file;              /* DATA, DEFLATE */
    uint32_t clen;              /* DEFLATE: compressed bytes */
    uint32_t skip;              /* DEFLATE: inflated bytes before this range */
    uint32_t ulen;              /* DEFLATE: full inflated size (grain size) */
    uint8_t kind;               /* enum fmt_ext_kind */
    uint8_t codec;              /* enum fmt_codec */
};

DEFINE_VECTOR (fmt_extent_vec, struct fmt_extent);

/* A complete map covers [0, size) exactly once, sorted by guest_off,
 * with no gaps.  fmt_extents_add() merges an extent with the previous one
 * when they are contiguous in guest space and (for DATA) in the file. */
struct fmt_extent_list {
    struct fmt_extent_vec v;
    uint64_t size;              /* virtual size the map must cover */
};

void fmt_extents_init (struct fmt_extent_list *l);
void fmt_extents_release (struct fmt_extent_list *l);
int fmt_extents_add (struct fmt_extent_list *l, const struct fmt_extent *e);
int fmt_extents_add_zero (struct fmt_extent_list *l, uint64_t guest_off,
                          uint64_t len);
int fmt_extents_add_data (struct fmt_extent_list *l, uint64_t guest_off,
                          uint64_t len, uint32_t file, uint64_t file_off);
/* Check the map covers [0, l->size) contiguously; -EINVAL otherwise. */
int fmt_extents_check (const struct fmt_extent_list *l);
/* Index of the extent containing guest offset off (l must be checked). */
size_t fmt_extents_find (const struct fmt_extent_list *l, uint64_t off);
/* Bytes of DATA/DEFLATE in the map. */
uint64_t fmt_extents_allocated (const struct fmt_extent_list *l);
/* True if [off, off+len) is entirely ZERO in the map.  *hint is a cursor
 * (start at 0) so sequential queries cost O(1) amortised. */
bool fmt_extents_is_zero (const struct fmt_extent_list *l, uint64_t off,
                          uint64_t len, size_t *hint);
/* Replace the guest range covered by each DATA/DEFLATE extent of 'top'
 * in 'base' (used for delta disks over a parent): result in out. */
int fmt_extents_overlay (const struct fmt_extent_list *base,
                         const struct fmt_extent_list *top,
                         struct fmt_extent_list *out);

/* -------------------------------------------------- source information */

struct fmt_source_info {
    enum fmt_type type;
    char subformat[40];         /* "monolithicFlat", "dynamic", "v3" ... */
    uint64_t virtual_size;
    uint32_t block_size;        /* VHDX block, qcow2 cluster, VMDK grain;
                                 * 0 for flat/raw */
    bool has_parent;            /* delta whose parent was merged in map */
    bool has_disk_id;
    uint8_t disk_id[16];        /* VHDX VirtualDiskId / from ddb.uuid */
    uint32_t nfiles;            /* files opened (index 0 .. nfiles-1) */
    /* VHDX: payload blocks by BAT state (vmshift info) */
    bool has_block_states;
    uint64_t blocks_present;    /* FULLY_ or PARTIALLY_PRESENT */
    uint64_t blocks_zero;       /* PAYLOAD_BLOCK_ZERO (2) */
    uint64_t blocks_not_present;        /* NOT_PRESENT (0) */
    uint64_t blocks_other;      /* UNDEFINED, UNMAPPED, reserved states */
};

/* ------------------------------------------------------- problem list */

/* Strict validators report every problem they find rather than stopping
 * at the first, for "vmshift info".  At most FMT_MAX_PROBLEMS are kept.
 * Each says how bad it is: an error (the file is corrupt, EINVAL, or uses
 * something vmshift does not support, ENOTSUP: what a reader fails with)
 * or a warning (a condition the file survives: one damaged header copy,
 * an unusual but valid field), which is listed after the errors. */
#define FMT_MAX_PROBLEMS 100
enum fmt_severity {
    FMT_SEV_ERROR = 0,
    FMT_SEV_WARNING = 1,
};
struct fmt_problem {
    enum fmt_severity severity;
    int err;                    /* positive errno for an error, 0 for a
                                 * warning */
    char *msg;                  /* as shown: "warning: " before a
                                 * warning's text */
};
struct fmt_problems {
    struct fmt_problem item[FMT_MAX_PROBLEMS];
    char *msg[FMT_MAX_PROBLEMS];        /* item[i].msg, the text alone */
    size_t n;
    size_t dropped;
};
void fmt_problems_init (struct fmt_problems *p);
void fmt_problems_release (struct fmt_problems *p);
/* An error with the errno a reader would fail with (EINVAL: corrupt,
 * ENOTSUP: unsupported). */
void fmt_problem_err (struct fmt_problems *p, int err, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* fmt_problem_err with EINVAL: the file is corrupt. */
void fmt_problem (struct fmt_problems *p, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
void fmt_warning (struct fmt_problems *p, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* The entries that are errors, not warnings. */
size_t fmt_problems_count_errors (const struct fmt_problems *p);
/* If p has errors, set the error to the first one, with its errno, and
 * return it negated; else 0. */
int fmt_problems_to_error (const struct fmt_problems *p, const char *file);

/* ------------------------------------------------------------ readers */

/* Each reader fills 'out' (initialised by the caller, size set by the
 * reader) with a complete map of the virtual disk and 'info'.  They
 * validate strictly first and fail on the first problem. */
int raw_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
                  struct fmt_source_info *info);
int vmdk_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
                   struct fmt_source_info *info);
int vhdx_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
                   struct fmt_source_info *info);
int qcow2_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
                    struct fmt_source_info *info);
/* Probe file 0 and dispatch (type FMT_UNKNOWN = probe). */
int fmt_read_map (const struct fmt_io *io, enum fmt_type type,
                  struct fmt_extent_list *out, struct fmt_source_info *info);

/* Validators: append every problem found in file 0 to probs; return 0
 * when the checks could run (even if problems were found), -errno when
 * the file could not be read at all.  info is filled as far as known. */
int vmdk_validate (const struct fmt_io *io, struct fmt_problems *probs,
                   struct fmt_source_info *info);
int vhdx_validate (const struct fmt_io *io, struct fmt_problems *probs,
                   struct fmt_source_info *info);
int qcow2_validate (const struct fmt_io *io, struct fmt_problems *probs,
                    struct fmt_source_info *info);
int fmt_validate (const struct fmt_io *io, enum fmt_type type,
                  struct fmt_problems *probs, struct fmt_source_info *info);

/* Decompress a DEFLATE extent's stream: in/inlen is the stream as stored
 * (may include padding after it), out has room for outlen bytes (the
 * grain/cluster size).  *produced receives the inflated length; callers
 * check it covers skip+len.  A zlib stream must end (checksum verified)
 * within outlen; a raw deflate stream may also stop when out is full.
 * -EINVAL if the stream is corrupt or longer than outlen. */
int fmt_inflate (enum fmt_codec codec, const void *in, size_t inlen,
                 void *out, size_t outlen, size_t *produced);

/* -------------------------------------------------------------- layout */

enum fmt_place_kind {
    FMT_PLACE_CLONE = 1,        /* share blocks: backend clone_range */
    FMT_PLACE_COPY = 2,         /* read + write (misaligned or partial) */
    FMT_PLACE_INFLATE = 3,      /* decompress one DEFLATE extent */
};

/* dst[dst_off, dst_off+len) <- source file src_file at src_off.  For
 * INFLATE, src_off/clen/skip/ulen/codec come from the DEFLATE extent. */
struct fmt_placement {
    uint64_t dst_off;
    uint64_t src_off;
    uint64_t len;
    uint32_t src_file;
    uint32_t clen;
    uint32_t skip;
    uint32_t ulen;
    uint8_t kind;
    uint8_t codec;
};
DEFINE_VECTOR (fmt_placement_vec, struct fmt_placement);

/* A metadata blob: bytes at [off, off+len) of an output.  Either 'data'
 * (owned by the layout) or a generator that fills any sub-range on
 * demand, so tables of a 64 TiB disk are streamed, never held whole.
 * The executor calls gen with increasing rel_off, chunks of at most
 * FMT_GEN_CHUNK bytes, each chunk once, in order (leaving out the parts
 * of repeated runs it clones, struct fmt_repeat).  Blobs with
 * phase == FMT_PHASE_HEADER are written after every other blob (data ->
 * metadata -> header -> flush, all in a temporary file until the
 * commit). */
#define FMT_GEN_CHUNK ((size_t) 1 << 20)
enum { FMT_PHASE_META = 0, FMT_PHASE_HEADER = 1 };
struct fmt_blob;
typedef int (*fmt_gen_fn) (const struct fmt_blob *b, uint64_t rel_off,
                           uint8_t *buf, size_t n);
struct fmt_blob {
    uint64_t off;
    uint64_t len;
    uint8_t *data;              /* owned; or NULL with gen set */
    fmt_gen_fn gen;
    void *ctx;                  /* for gen; owned by the layout's ctx list */
    int phase;
    const char *what;           /* static description, "vhdx BAT" */
};
DEFINE_VECTOR (fmt_blob_vec, struct fmt_blob);

enum fmt_output_role {
    FMT_OUT_MAIN = 0,           /* the file the user named (renamed last) */
    FMT_OUT_EXTENT = 1,         /* VMDK -flat.vmdk extent */
    FMT_OUT_DATA = 2,           /* qcow2 external data file */
};

/* A repeated run of metadata: in [off, off+len) of an output, inside one
 * blob, the byte at x equals the byte at x - period for every x from
 * off + period on (a thin VHDX BAT: C ZERO entries and one sector bitmap
 * entry, over and over).  A statement about the blob's bytes, which the
 * blob still produces: an executor may write some periods and make the
 * rest by cloning the file's own blocks where its backend can
 * (docs/internals/executor.md, "Repeated metadata"), or write every
 * byte; the file reads the same.  Runs of one output with the same
 * nonzero pattern (and period) hold the same bytes at the same phase:
 * the byte at A.off + i equals the byte at B.off + j whenever i and j
 * are equal modulo the period (all the all-hole chunk runs of a VHDX
 * BAT), so one run can be cloned from another. */
struct fmt_repeat {
    uint64_t off;
    uint64_t len;
    uint64_t period;
    uint32_t pattern;           /* 0: like no other run */
};
DEFINE_VECTOR (fmt_repeat_vec, struct fmt_repeat);

struct fmt_output {
    char *name;                 /* base name, in the target directory */
    int role;
    uint64_t file_size;         /* final size (ftruncate) */
    struct fmt_placement_vec place;  /* sorted by dst_off, non-overlapping */
    struct fmt_blob_vec blobs;       /* sorted by off, non-overlapping */
    struct fmt_repeat_vec repeats;   /* sorted by off, non-overlapping,
                                      * each inside one blob */
};

/* Generator contexts the layout owns, freed with it. */
struct fmt_ctx_ref {
    void *ctx;
    void (*free) (void *ctx);
};
DEFINE_VECTOR (fmt_ctx_vec, struct fmt_ctx_ref);

#define FMT_MAX_OUTPUTS 4
struct fmt_layout {
    enum fmt_type type;
    struct fmt_output out[FMT_MAX_OUTPUTS];
    size_t nout;
    uint64_t data_offset;       /* X: where guest byte 0 lives in MAIN
                                 * (or the data/extent file) */
    uint64_t meta_bytes;        /* sum of blob lengths */
    const char *unallocated;    /* VHDX: how blocks without data are
                                 * marked ("zero", "not-present"; NULL
                                 * for other formats and fixed VHDX) */
    struct fmt_ctx_vec ctxs;
};

void fmt_layout_init (struct fmt_layout *lay);
void fmt_layout_release (struct fmt_layout *lay);
/* Add an output; returns its index or -errno. */
int fmt_layout_add_output (struct fmt_layout *lay, const char *name,
                           int role);
/* Own ctx; freed by fmt_layout_release(). */
int fmt_layout_own (struct fmt_layout *lay, void *ctx, void (*fr) (void *));
/* Add a blob with a copy of data / with a generator. */
int fmt_layout_add_bytes (struct fmt_layout *lay, size_t out, uint64_t off,
                          const void *data, size_t len, int phase,
                          const char *what);
int fmt_layout_add_gen (struct fmt_layout *lay, size_t out, uint64_t off,
                        uint64_t len, fmt_gen_fn gen, void *ctx, int phase,
                        const char *what);
/* Declare [off, off+len) of output 'out' a repeated run of 'period'
 * bytes with the given pattern (struct fmt_repeat); fmt_layout_check
 * proves it lies inside one blob.  Runs shorter than two periods are not
 * recorded. */
int fmt_layout_add_repeat (struct fmt_layout *lay, size_t out, uint64_t off,
                           uint64_t len, uint64_t period, uint32_t pattern);
/* Place the guest range [guest_off, guest_off+len) of the map at
 * dst_base + guest_off in output 'out': ZERO extents are skipped (the
 * fresh target file is a hole there), DATA becomes CLONE where source and
 * destination offsets and the length are multiples of clone_align, with
 * COPY for misaligned heads and tails, DEFLATE becomes INFLATE.
 * clone_align 0 means never clone (all COPY). */
int fmt_layout_place_map (struct fmt_layout *lay, size_t out,
                          const struct fmt_extent_list *map,
                          uint64_t guest_off, uint64_t len, uint64_t dst_base,
                          uint32_t clone_align);
/* The same, placing guest_off at dst_off (so dst = dst_off + (g -
 * guest_off)): for formats that store blocks out of guest order (VHD and
 * VDI dynamic disks put the allocated blocks one after another). */
int fmt_layout_place_range (struct fmt_layout *lay, size_t out,
                            const struct fmt_extent_list *map,
                            uint64_t guest_off, uint64_t len, uint64_t dst_off,
                            uint32_t clone_align);
/* Check outputs: placements and blobs inside file_size, sorted, no
 * overlaps between any two of them; repeated runs sorted, apart, each
 * inside one blob.  -EINVAL (programming error in a planner) otherwise. */
int fmt_layout_check (const struct fmt_layout *lay);
/* Fill buf with the bytes of blob b at [rel_off, rel_off+n). */
int fmt_blob_read (const struct fmt_blob *b, uint64_t rel_off, uint8_t *buf,
                   size_t n);

/* ------------------------------------------------------------ planners */

struct fmt_plan_opts {
    uint32_t block_size;        /* VHDX: 0 = 32 MiB; power of 2, 1..256 MiB */
    bool vhdx_fixed;            /* VHDX: LeaveBlockAllocated, all present */
    bool vhdx_not_present;      /* VHDX dynamic: blocks without data
                                 * NOT_PRESENT (0), not ZERO (2) */
    uint32_t cluster_size;      /* qcow2: 0 = default (QCOW2_DEFAULT_CLUSTER) */
    bool qcow2_data_file;       /* qcow2: external raw data file mode */
    const char *data_file_path; /* qcow2 data file: absolute path written
                                 * into the header */
    const char *data_file_name; /* its base name (output name) */
    const char *target_name;    /* base name of the MAIN output */
    const char *extent_name;    /* VMDK: the extent's base name; NULL =
                                 * "<base>-flat.vmdk" (the engine picks
                                 * another when replacing a target whose
                                 * extent has that name) */
    uint32_t clone_align;       /* 4096 normally; 0 = copy everything */
    /* Deterministic identity supplied by the engine (formats never call
     * a random number generator). */
    uint8_t guid_file_write[16];
    uint8_t guid_data_write[16];
    uint8_t disk_id[16];        /* VHDX VirtualDiskId; VMDK ddb.uuid */
    uint32_t vmdk_cid;          /* VMDK target CID */
    const char *vmdk_adapter;   /* ddb.adapterType, default "lsilogic" */
    const char *creator;        /* VHDX creator string, "vmshift 0.1" */
    /* Creation time in seconds since the Unix epoch, supplied by the
     * engine like the identities above (VHD footer timestamp); 0 when
     * unknown. */
    int64_t now;
};

/* Layouts may refer to 'map' after planning: metadata generators (the
 * VHDX BAT) walk it while the layout is executed, so keep the map alive
 * until the layout is released. */
int raw_plan (const struct fmt_source_info *src,
              const struct fmt_extent_list *map,
              const struct fmt_plan_opts *o, struct fmt_layout *out);
int vhdx_plan (const struct fmt_source_info *src,
               const struct fmt_extent_list *map,
               const struct fmt_plan_opts *o, struct fmt_layout *out);
int qcow2_plan (const struct fmt_source_info *src,
                const struct fmt_extent_list *map,
                const struct fmt_plan_opts *o, struct fmt_layout *out);
/* VMDK target: monolithicFlat-style descriptor (MAIN) + "<name>-flat.vmdk"
 * (EXTENT) holding the raw guest data. */
int vmdk_plan (const struct fmt_source_info *src,
               const struct fmt_extent_list *map,
               const struct fmt_plan_opts *o, struct fmt_layout *out);
int fmt_plan (enum fmt_type to, const struct fmt_source_info *src,
              const struct fmt_extent_list *map,
              const struct fmt_plan_opts *o, struct fmt_layout *out);

/* ------------------------------------------------------------- drivers */

/* What a prober gets: the first bytes of the file (up to 4 KiB) and, when
 * the caller knows the file, its last bytes (up to 512; a footer such as
 * VHD's), else tail NULL. */
struct fmt_probe_buf {
    const uint8_t *head;
    size_t head_len;
    const uint8_t *tail;
    size_t tail_len;
    uint64_t file_size;         /* 0 when unknown */
    const char *name;           /* the file's name, NULL when unknown */
};

/* How sure a probe is: magic bytes beat weaker signs (a text
 * descriptor), which beat nothing.  Ties go to the earlier table line. */
enum fmt_probe_score {
    FMT_PROBE_NO = 0,
    FMT_PROBE_WEAK = 1,
    FMT_PROBE_MAGIC = 2,
};

/* The security style its hypervisor expects on a share holding files of
 * the format (an ONTAP qtree's): Hyper-V reaches its disks over SMB and
 * needs NTFS permissions; KVM and the rest use NFS with UNIX modes. */
enum fmt_share_style {
    FMT_SHARE_UNIX = 0,
    FMT_SHARE_NTFS = 1,
};

/* Everything the rest of vmshift may ask about a format.  One per format,
 * defined in the format's own files and listed in formats/drivers.def;
 * nothing outside formats/ tells formats apart any other way. */
struct fmt_driver {
    enum fmt_type type;
    const char *name;           /* "vhdx": type name, --to, JSON */
    /* File name extensions without the dot, lower case, NULL-terminated;
     * the first is the one vmshift gives new files. */
    const char *const *extensions;
    /* The hypervisor family the format is native to, for messages and
     * docs ("hyperv", "kvm", "vmware"); NULL for none (raw). */
    const char *native;
    enum fmt_share_style share_style;
    /* NULL: the fallback format, chosen when no other probe claims the
     * file (raw).  A file named with one of the extensions of a format
     * with a probe must be claimed by it (a damaged .vhdx is not read as
     * a raw disk). */
    enum fmt_probe_score (*probe) (const struct fmt_probe_buf *b);
    int (*read_map) (const struct fmt_io *io, struct fmt_extent_list *out,
                     struct fmt_source_info *info);
    /* Strict validator, as for "vmshift info" (see fmt_validate). */
    int (*validate) (const struct fmt_io *io, struct fmt_problems *probs,
                     struct fmt_source_info *info);
    /* NULL: source only. */
    int (*plan) (const struct fmt_source_info *src,
                 const struct fmt_extent_list *map,
                 const struct fmt_plan_opts *o, struct fmt_layout *out);
    /* read_map runs the whole validator (so a read-back need not run
     * validate first). */
    bool map_validates;
    /* As a target the format holds the guest data in place, at offsets a
     * clone can reach (so data is shared, not copied, where the source's
     * data is aligned). */
    bool data_in_place;
    /* A target's virtual size is the source's rounded up to a multiple of
     * this (1: kept exactly; qcow2 rounds to whole sectors as qemu does). */
    uint32_t size_align;
};

#define FMT_DRIVER(id, value, driver) extern const struct fmt_driver driver;
#include "formats/drivers.def"
#undef FMT_DRIVER

/* The table, in formats/drivers.def order: i = 0, 1, ... until NULL. */
const struct fmt_driver *fmt_driver_at (size_t i);
/* By type, by name (case-insensitive) or by a file name's extension (the
 * part after the last dot of the base name, case-insensitive); NULL if
 * none. */
const struct fmt_driver *fmt_driver_of (enum fmt_type t);
const struct fmt_driver *fmt_driver_by_name (const char *name);
const struct fmt_driver *fmt_driver_by_extension (const char *path);
/* True if 'ext' (no dot) is one of d's extensions (case-insensitive). */
bool fmt_driver_has_extension (const struct fmt_driver *d, const char *ext);
/* The target's virtual size for a source of size src (size_align). */
uint64_t fmt_driver_target_size (const struct fmt_driver *d, uint64_t src);
/* "raw, vmdk, vhdx or qcow2" into buf (cut to len): the names, or with
 * ext every extension with its dot (".raw, .img, ..."); only formats that
 * can be written when targets is true.  For messages and help. */
void fmt_driver_list (char *buf, size_t len, bool targets, bool ext);

/* ------------------------------------------------------------- helpers */

/* CRC-32C (Castagnoli), init/final 0xffffffff: crc32c(buf) directly. */
uint32_t fmt_crc32c (const void *buf, size_t n);
/* Update form for streaming: start with 0, pass the previous result. */
uint32_t fmt_crc32c_update (uint32_t crc, const void *buf, size_t n);

/* Microsoft GUID encoding: "data1-data2-data3-data4" text <-> 16 bytes as
 * stored on disk (data1 LE32, data2 LE16, data3 LE16, data4 raw). */
int fmt_guid_parse (const char *s, uint8_t out[16]);
void fmt_guid_format (const uint8_t g[16], char out[37]);

#endif
