/* VMDK text descriptor: tokenizer and parser.
 *
 * Grammar (docs/formats/vmdk.md, "Descriptor"; libyal "The descriptor
 * file"): lines separated by LF (CR before LF tolerated), '#' comments,
 * blank lines, "key=value" or "key = \"value\"" (VMware writes spaces
 * around '=' in the DDB; quoted values may be followed by spaces), keys
 * matched case-insensitively, and extent lines
 *
 *   <access> <sectors> <type> ["<file>"] [<start sector>]
 *
 * No sscanf or strtok: a small cursor over each line, every number
 * checked for overflow, every line and count capped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/hex.h"
#include "engine/base/overflow.h"
#include "formats/vmdk.h"

static char
vmdk_lower (char c)
{
    return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/* Compare the n bytes at a with the string b, ignoring ASCII case. */
static bool
vmdk_eq_ci (const char *a, size_t n, const char *b)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (b[i] == '\0' || vmdk_lower (a[i]) != vmdk_lower (b[i])) {
            return false;
        }
    }
    return b[i] == '\0';
}

/* ------------------------------------------------------------ init */

void
vmdk_desc_init (struct vmdk_desc *d)
{
    memset (d, 0, sizeof *d);
    d->parent_cid = VMDK_NO_PARENT_CID;
}

void
vmdk_desc_release (struct vmdk_desc *d)
{
    for (size_t i = 0; i < d->extents.len; i++) {
        free (d->extents.ptr[i].file);
    }
    vmdk_extent_vec_reset (&d->extents);
    free (d->parent_hint);
    free (d->change_track);
    free (d->encoding);
    vmdk_desc_init (d);
}

/* ---------------------------------------------------------- cursor */

struct vmdk_cur {
    const char *p;
    const char *end;
};

static bool
vmdk_is_ws (char c)
{
    return c == ' ' || c == '\t';
}

static void
vmdk_skip_ws (struct vmdk_cur *c)
{
    while (c->p < c->end && vmdk_is_ws (*c->p)) {
        c->p++;
    }
}

/* A run of bytes up to whitespace, '=' or '"'. */
static size_t
vmdk_word (struct vmdk_cur *c, const char **start)
{
    *start = c->p;
    while (c->p < c->end && !vmdk_is_ws (*c->p) && *c->p != '=' &&
           *c->p != '"') {
        c->p++;
    }
    return (size_t) (c->p - *start);
}

/* A "quoted string": 1 and the contents, 0 if none starts here, -1 if it
 * is not terminated. */
static int
vmdk_quoted (struct vmdk_cur *c, const char **start, size_t *n)
{
    const char *q;

    if (c->p >= c->end || *c->p != '"') {
        return 0;
    }
    q = memchr (c->p + 1, '"', (size_t) (c->end - c->p - 1));
    if (q == NULL) {
        return -1;
    }
    *start = c->p + 1;
    *n = (size_t) (q - c->p - 1);
    c->p = q + 1;
    return 1;
}

static bool
vmdk_parse_u64 (const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 20) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' ||
            MUL_OVERFLOW (v, 10, &v) ||
            ADD_OVERFLOW (v, (uint64_t) (p[i] - '0'), &v)) {
            return false;
        }
    }
    *out = v;
    return true;
}

/* 1 to 8 hex digits (CID, parentCID): VMware writes 8, qemu drops
 * leading zeros. */
static bool
vmdk_parse_cid (const char *p, size_t n, uint32_t *out)
{
    uint32_t v = 0;

    if (n == 0 || n > 8) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int h = vs_hex_digit (p[i]);

        if (h < 0) {
            return false;
        }
        v = (v << 4) | (uint32_t) h;
    }
    *out = v;
    return true;
}

int
vmdk_uuid_parse (const char *s, uint8_t out[16])
{
    uint8_t b[16];
    size_t i = 0;

    for (int k = 0; k < 16; k++) {
        int hi, lo;

        if (k > 0) {
            if (s[i] != ' ' && s[i] != '-') {
                return -EINVAL;
            }
            i++;
        }
        hi = vs_hex_digit (s[i]);
        lo = hi < 0 ? -1 : vs_hex_digit (s[i + 1]);
        if (lo < 0) {
            return -EINVAL;
        }
        b[k] = (uint8_t) (hi << 4 | lo);
        i += 2;
    }
    if (s[i] != '\0') {
        return -EINVAL;
    }
    memcpy (out, b, 16);
    return 0;
}

static char *
vmdk_strndup (struct vmdk_diag *dg, const char *p, size_t n)
{
    char *s = malloc (n + 1);

    if (s == NULL) {
        vmdk_diag_fail (dg, ENOMEM, "out of memory");
        return NULL;
    }
    memcpy (s, p, n);
    s[n] = '\0';
    return s;
}

/* ------------------------------------------------------------ parser */

enum vmdk_key {
    VMDK_K_VERSION, VMDK_K_ENCODING, VMDK_K_CID, VMDK_K_PARENTCID,
    VMDK_K_NATIVE, VMDK_K_CREATETYPE, VMDK_K_PARENTHINT,
    VMDK_K_CHANGETRACK,
    /* DDB keys we check */
    VMDK_K_ADAPTER, VMDK_K_CYLS, VMDK_K_HEADS, VMDK_K_SECS, VMDK_K_UUID,
    VMDK_K_LONGCID, VMDK_K_THIN, VMDK_K_HWVER, VMDK_K_GRAIN,
    VMDK_K_N
};

static const char *const vmdk_key_names[VMDK_K_N] = {
    "version", "encoding", "CID", "parentCID", "isNativeSnapshot",
    "createType", "parentFileNameHint", "changeTrackPath",
    "ddb.adapterType", "ddb.geometry.cylinders", "ddb.geometry.heads",
    "ddb.geometry.sectors", "ddb.uuid", "ddb.longContentID",
    "ddb.thinProvisioned", "ddb.virtualHWVersion", "ddb.grain",
};

struct vmdk_parse {
    struct vmdk_desc *d;
    struct vmdk_diag *dg;
    unsigned line;
    unsigned seen[VMDK_K_N];    /* line of the first occurrence */
    bool too_many_extents;
};

static int
vmdk_key_lookup (const char *k, size_t n)
{
    for (int i = 0; i < VMDK_K_N; i++) {
        if (vmdk_eq_ci (k, n, vmdk_key_names[i])) {
            return i;
        }
    }
    return -1;
}

static bool
vmdk_all_digits (const char *v)
{
    uint64_t x;

    return vmdk_parse_u64 (v, strlen (v), &x) && x <= UINT32_MAX;
}

static void
vmdk_set_create_type (struct vmdk_parse *ps, const char *v)
{
    const struct vmdk_ct_info *ct = vmdk_ct_lookup (v);

    snprintf (ps->d->create_type, sizeof ps->d->create_type, "%s",
              ct ? ct->name : v);
    if (ct == NULL) {
        vmdk_diag_fail (ps->dg, ENOTSUP, "line %u: unsupported VMDK "
                        "subformat '%s' (unknown createType)", ps->line, v);
        return;
    }
    ps->d->ct = ct->ct;
    if (ct->unsupported) {
        vmdk_diag_fail (ps->dg, ENOTSUP, "unsupported VMDK subformat '%s' "
                        "(%s)", v, ct->unsupported);
    }
}

static void
vmdk_set_version (struct vmdk_parse *ps, const char *v)
{
    uint64_t n;

    if (!vmdk_parse_u64 (v, strlen (v), &n)) {
        vmdk_diag_fail (ps->dg, EINVAL, "line %u: version '%s' is not a "
                        "number", ps->line, v);
    } else if (n < 1 || n > 3) {
        vmdk_diag_fail (ps->dg, ENOTSUP, "line %u: unsupported descriptor "
                        "version %s (1, 2 or 3)", ps->line, v);
    } else {
        ps->d->version = (unsigned) n;
    }
}

static void
vmdk_set_cid (struct vmdk_parse *ps, const char *v, bool parent)
{
    uint32_t cid;

    if (!vmdk_parse_cid (v, strlen (v), &cid)) {
        vmdk_diag_fail (ps->dg, EINVAL, "line %u: %s '%s' is not 1 to 8 "
                        "hex digits", ps->line,
                        parent ? "parentCID" : "CID", v);
    } else if (parent) {
        ps->d->parent_cid = cid;
        ps->d->has_parent_cid = true;
    } else {
        ps->d->cid = cid;
        ps->d->has_cid = true;
    }
}

static void
vmdk_set_string (struct vmdk_parse *ps, char **dst, const char *v)
{
    free (*dst);
    *dst = vmdk_strndup (ps->dg, v, strlen (v));
}

static void
vmdk_set_ddb (struct vmdk_parse *ps, int k, const char *v)
{
    struct vmdk_desc *d = ps->d;

    switch (k) {
    case VMDK_K_ADAPTER:
        snprintf (d->adapter, sizeof d->adapter, "%s", v);
        if (strcmp (v, "ide") != 0 && strcmp (v, "buslogic") != 0 &&
            strcmp (v, "lsilogic") != 0 && strcmp (v, "legacyESX") != 0 &&
            strcmp (v, "pvscsi") != 0) {
            vmdk_diag_soft (ps->dg, "line %u: unknown ddb.adapterType '%s'",
                            ps->line, v);
        }
        break;
    case VMDK_K_UUID:
        if (vmdk_uuid_parse (v, d->uuid) == 0) {
            d->has_uuid = true;
        } else {
            vmdk_diag_soft (ps->dg, "line %u: ddb.uuid '%s' is not 16 hex "
                            "bytes", ps->line, v);
        }
        break;
    case VMDK_K_LONGCID:
        for (size_t i = 0; i < 32; i++) {
            if (vs_hex_digit (v[i]) < 0) {
                vmdk_diag_soft (ps->dg, "line %u: ddb.longContentID '%s' "
                                "is not 32 hex digits", ps->line, v);
                return;
            }
        }
        if (v[32] != '\0') {
            vmdk_diag_soft (ps->dg, "line %u: ddb.longContentID '%s' is "
                            "not 32 hex digits", ps->line, v);
        }
        break;
    case VMDK_K_THIN:
        d->thin = strcmp (v, "1") == 0;
        if (!d->thin && strcmp (v, "0") != 0) {
            vmdk_diag_soft (ps->dg, "line %u: ddb.thinProvisioned '%s' is "
                            "not 0 or 1", ps->line, v);
        }
        break;
    default:
        if (!vmdk_all_digits (v)) {
            vmdk_diag_soft (ps->dg, "line %u: %s '%s' is not a number",
                            ps->line, vmdk_key_names[k], v);
        } else if (k == VMDK_K_HWVER) {
            d->hw_version = (uint32_t) strtoul (v, NULL, 10);
        } else if (k == VMDK_K_GRAIN) {
            d->ddb_grain = (uint32_t) strtoul (v, NULL, 10);
        }
        break;
    }
}

static void
vmdk_set_key (struct vmdk_parse *ps, int k, const char *v)
{
    struct vmdk_desc *d = ps->d;

    switch (k) {
    case VMDK_K_VERSION: vmdk_set_version (ps, v); break;
    case VMDK_K_ENCODING: vmdk_set_string (ps, &d->encoding, v); break;
    case VMDK_K_CID: vmdk_set_cid (ps, v, false); break;
    case VMDK_K_PARENTCID: vmdk_set_cid (ps, v, true); break;
    case VMDK_K_NATIVE:
        if (!vmdk_eq_ci (v, strlen (v), "no") &&
            !vmdk_eq_ci (v, strlen (v), "yes")) {
            vmdk_diag_soft (ps->dg, "line %u: isNativeSnapshot '%s' is not "
                            "yes or no", ps->line, v);
        }
        break;
    case VMDK_K_CREATETYPE: vmdk_set_create_type (ps, v); break;
    case VMDK_K_PARENTHINT: vmdk_set_string (ps, &d->parent_hint, v); break;
    case VMDK_K_CHANGETRACK:
        vmdk_set_string (ps, &d->change_track, v);
        break;
    default: vmdk_set_ddb (ps, k, v); break;
    }
}

/* key [ws] = [ws] ( "value" | value ) [ws] */
static void
vmdk_parse_keyvalue (struct vmdk_parse *ps, struct vmdk_cur *c)
{
    const char *k, *v;
    size_t kn, vn;
    char *val;
    int q, key;

    kn = vmdk_word (c, &k);
    vmdk_skip_ws (c);
    if (kn == 0 || c->p >= c->end || *c->p != '=') {
        vmdk_diag_fail (ps->dg, EINVAL, "line %u: expected 'key=value' or "
                        "an extent line", ps->line);
        return;
    }
    c->p++;
    vmdk_skip_ws (c);
    q = vmdk_quoted (c, &v, &vn);
    if (q < 0) {
        vmdk_diag_fail (ps->dg, EINVAL, "line %u: unterminated quoted value "
                        "of '%.*s'", ps->line, (int) kn, k);
        return;
    }
    if (q == 0) {
        vn = vmdk_word (c, &v);
    }
    vmdk_skip_ws (c);
    if (c->p < c->end) {
        vmdk_diag_fail (ps->dg, EINVAL, "line %u: unexpected text after the "
                        "value of '%.*s'", ps->line, (int) kn, k);
        return;
    }
    key = vmdk_key_lookup (k, kn);
    if (key < 0) {
        if (!(kn > 4 && vmdk_eq_ci (k, 4, "ddb."))) {
            vmdk_diag_soft (ps->dg, "line %u: unknown key '%.*s'", ps->line,
                            (int) kn, k);
        }
        return;
    }
    if (ps->seen[key]) {
        if (key < VMDK_K_ADAPTER) {
            vmdk_diag_fail (ps->dg, EINVAL, "line %u: duplicate key '%s' "
                            "(first on line %u)", ps->line,
                            vmdk_key_names[key], ps->seen[key]);
        } else {
            vmdk_diag_soft (ps->dg, "line %u: duplicate key '%s' (first on "
                            "line %u)", ps->line, vmdk_key_names[key],
                            ps->seen[key]);
        }
        return;
    }
    ps->seen[key] = ps->line;
    if ((val = vmdk_strndup (ps->dg, v, vn)) == NULL) {
        return;
    }
    vmdk_set_key (ps, key, val);
    free (val);
}

static int
vmdk_ext_type_lookup (const char *w, size_t n)
{
    for (int t = VMDK_EXT_FLAT; t <= VMDK_EXT_VMFSRAW; t++) {
        if (vmdk_eq_ci (w, n, vmdk_ext_type_name (t))) {
            return t;
        }
    }
    return 0;
}

static int
vmdk_access_lookup (const char *w, size_t n)
{
    if (vmdk_eq_ci (w, n, "RW")) {
        return VMDK_RW;
    }
    if (vmdk_eq_ci (w, n, "RDONLY")) {
        return VMDK_RDONLY;
    }
    if (vmdk_eq_ci (w, n, "NOACCESS")) {
        return VMDK_NOACCESS;
    }
    return 0;
}

/* Checks of one extent that need only the extent itself. */
static int
vmdk_check_extent (struct vmdk_parse *ps, const struct vmdk_extent_desc *e,
                   bool has_off)
{
    const char *tn = vmdk_ext_type_name (e->type);
    uint64_t end;

    if (e->access == VMDK_NOACCESS) {
        return vmdk_diag_fail (ps->dg, ENOTSUP, "line %u: unsupported "
                               "NOACCESS extent (its data is not readable)",
                               ps->line);
    }
    if (e->type == VMDK_EXT_VMFSRDM || e->type == VMDK_EXT_VMFSRAW) {
        return vmdk_diag_fail (ps->dg, ENOTSUP, "line %u: unsupported VMDK "
                               "extent type '%s' (%s)", ps->line, tn,
                               e->type == VMDK_EXT_VMFSRDM
                               ? "raw device mapping" : "raw device");
    }
    if (e->sectors == 0) {
        return vmdk_diag_fail (ps->dg, EINVAL, "line %u: extent has size 0",
                               ps->line);
    }
    if (e->type == VMDK_EXT_ZERO && e->file) {
        return vmdk_diag_fail (ps->dg, EINVAL, "line %u: ZERO extent must "
                               "not name a file", ps->line);
    }
    if (e->type != VMDK_EXT_ZERO && e->file == NULL) {
        return vmdk_diag_fail (ps->dg, EINVAL, "line %u: %s extent has no "
                               "quoted file name", ps->line, tn);
    }
    if (e->type == VMDK_EXT_FLAT && !has_off) {
        return vmdk_diag_fail (ps->dg, EINVAL, "line %u: FLAT extent needs "
                               "a start sector after the file name",
                               ps->line);
    }
    if (e->type != VMDK_EXT_FLAT && has_off) {
        return vmdk_diag_fail (ps->dg, EINVAL, "line %u: %s extent must not "
                               "have a start sector", ps->line, tn);
    }
    if (ADD_OVERFLOW (e->offset, e->sectors, &end) ||
        end > UINT64_MAX / VMDK_SECTOR) {
        return vmdk_diag_fail (ps->dg, EINVAL, "line %u: extent start + "
                               "size overflows", ps->line);
    }
    if (e->file && fmt_check_rel_path (e->file) < 0) {
        return vmdk_diag_fail (ps->dg, EINVAL, "line %u: %s", ps->line,
                               vmshift_internal_error_msg ());
    }
    return 0;
}

static void
vmdk_add_extent (struct vmdk_parse *ps, struct vmdk_extent_desc *e)
{
    uint64_t cap;

    if (ADD_OVERFLOW (ps->d->capacity, e->sectors, &cap)) {
        vmdk_diag_fail (ps->dg, EFBIG, "line %u: extent sizes overflow",
                        ps->line);
        cap = UINT64_MAX;
    } else if (cap > VMDK_MAX_SECTORS && ps->d->capacity <= VMDK_MAX_SECTORS) {
        vmdk_diag_fail (ps->dg, EFBIG, "line %u: virtual size of %llu "
                        "sectors exceeds the 64 TiB limit", ps->line,
                        (unsigned long long) cap);
    }
    ps->d->capacity = cap;
    if (ps->d->extents.len >= VMDK_MAX_EXTENTS) {
        if (!ps->too_many_extents) {
            vmdk_diag_fail (ps->dg, EFBIG, "line %u: more than %u extents",
                            ps->line, VMDK_MAX_EXTENTS);
        }
        ps->too_many_extents = true;
        free (e->file);
        return;
    }
    if (vmdk_extent_vec_append (&ps->d->extents, *e) < 0) {
        vmdk_diag_fail (ps->dg, ENOMEM, "out of memory");
        free (e->file);
    }
}

/* <access> <sectors> <type> ["<file>"] [<offset>] */
static void
vmdk_parse_extent (struct vmdk_parse *ps, struct vmdk_cur *c)
{
    struct vmdk_extent_desc e = { .line = ps->line };
    const char *w;
    size_t n;
    int q;
    bool has_off = false;

    n = vmdk_word (c, &w);
    e.access = (uint8_t) vmdk_access_lookup (w, n);
    vmdk_skip_ws (c);
    n = vmdk_word (c, &w);
    if (!vmdk_parse_u64 (w, n, &e.sectors)) {
        vmdk_diag_fail (ps->dg, EINVAL, "line %u: extent size '%.*s' is not "
                        "a number of sectors (or overflows)", ps->line,
                        (int) (n > 40 ? 40 : n), w);
        return;
    }
    vmdk_skip_ws (c);
    n = vmdk_word (c, &w);
    e.type = (uint8_t) vmdk_ext_type_lookup (w, n);
    if (e.type == 0) {
        vmdk_diag_fail (ps->dg, EINVAL, "line %u: unknown extent type '%.*s'",
                        ps->line, (int) (n > 40 ? 40 : n), w);
        return;
    }
    vmdk_skip_ws (c);
    q = vmdk_quoted (c, &w, &n);
    if (q < 0) {
        vmdk_diag_fail (ps->dg, EINVAL, "line %u: unterminated quoted file "
                        "name", ps->line);
        return;
    }
    if (q > 0 && (e.file = vmdk_strndup (ps->dg, w, n)) == NULL) {
        return;
    }
    vmdk_skip_ws (c);
    if (c->p < c->end) {
        n = vmdk_word (c, &w);
        has_off = true;
        if (!vmdk_parse_u64 (w, n, &e.offset)) {
            vmdk_diag_fail (ps->dg, EINVAL, "line %u: extent start sector "
                            "'%.*s' is not a number (or overflows)", ps->line,
                            (int) (n > 40 ? 40 : n), w);
            free (e.file);
            return;
        }
        vmdk_skip_ws (c);
        if (c->p < c->end) {
            vmdk_diag_fail (ps->dg, EINVAL, "line %u: unexpected text after "
                            "the extent", ps->line);
            free (e.file);
            return;
        }
    }
    if (vmdk_check_extent (ps, &e, has_off) < 0) {
        free (e.file);
        return;
    }
    vmdk_add_extent (ps, &e);
}

static void
vmdk_parse_line (struct vmdk_parse *ps, const char *p, size_t n)
{
    struct vmdk_cur c = { p, p + n };
    const char *w;
    size_t wn;

    vmdk_skip_ws (&c);
    while (c.end > c.p && (vmdk_is_ws (c.end[-1]) || c.end[-1] == '\r')) {
        c.end--;
    }
    if (c.p == c.end || *c.p == '#') {
        return;
    }
    for (const char *q = c.p; q < c.end; q++) {
        if (((unsigned char) *q < 0x20 && *q != '\t') || *q == 0x7f) {
            vmdk_diag_fail (ps->dg, EINVAL, "line %u: control character "
                            "0x%02x in the descriptor", ps->line,
                            (unsigned char) *q);
            return;
        }
    }
    {
        struct vmdk_cur peek = c;

        wn = vmdk_word (&peek, &w);
        if (vmdk_access_lookup (w, wn) && peek.p < peek.end &&
            vmdk_is_ws (*peek.p)) {
            vmdk_parse_extent (ps, &c);
            return;
        }
    }
    vmdk_parse_keyvalue (ps, &c);
}

/* ------------------------------------------- whole-descriptor checks */

static bool
vmdk_class_allows (enum vmdk_ct_class cls, int type)
{
    switch (cls) {
    case VMDK_CLASS_FLAT:
        return type == VMDK_EXT_FLAT || type == VMDK_EXT_VMFS ||
               type == VMDK_EXT_ZERO;
    case VMDK_CLASS_SPARSE:
        return type == VMDK_EXT_SPARSE || type == VMDK_EXT_ZERO;
    case VMDK_CLASS_COWD: return type == VMDK_EXT_VMFSSPARSE;
    case VMDK_CLASS_SESPARSE: return type == VMDK_EXT_SESPARSE;
    default: return true;
    }
}

static void
vmdk_check_types (struct vmdk_parse *ps)
{
    const struct vmdk_ct_info *ct = vmdk_ct_get (ps->d->ct);
    const struct vmdk_extent_vec *x = &ps->d->extents;

    if (ct == NULL || ct->cls == VMDK_CLASS_DEVICE) {
        return;
    }
    for (size_t i = 0; i < x->len; i++) {
        if (!vmdk_class_allows (ct->cls, x->ptr[i].type)) {
            vmdk_diag_soft (ps->dg, "line %u: %s extent in a '%s' disk",
                            x->ptr[i].line,
                            vmdk_ext_type_name (x->ptr[i].type), ct->name);
        }
    }
    if (x->len > 1 && ct->ct != VMDK_CT_2GB_FLAT &&
        ct->ct != VMDK_CT_2GB_SPARSE && ct->ct != VMDK_CT_CUSTOM) {
        vmdk_diag_soft (ps->dg, "'%s' disk has %zu extents (expected one)",
                        ct->name, x->len);
    }
}

static int
vmdk_cmp_ext (const void *a, const void *b)
{
    const struct vmdk_extent_desc *const *pa = a, *const *pb = b;
    const struct vmdk_extent_desc *x = *pa, *y = *pb;
    int c = strcmp (x->file, y->file);

    if (c) {
        return c;
    }
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Two extents may share a file only as disjoint FLAT ranges (a device
 * split in pieces); anything else would alias guest data. */
static void
vmdk_check_shared_files (struct vmdk_parse *ps)
{
    const struct vmdk_extent_vec *x = &ps->d->extents;
    const struct vmdk_extent_desc **v;
    size_t n = 0;

    if (x->len < 2 || (v = calloc (x->len, sizeof *v)) == NULL) {
        return;
    }
    for (size_t i = 0; i < x->len; i++) {
        if (x->ptr[i].file) {
            v[n++] = &x->ptr[i];
        }
    }
    qsort (v, n, sizeof *v, vmdk_cmp_ext);
    for (size_t i = 1; i < n; i++) {
        const struct vmdk_extent_desc *a = v[i - 1], *b = v[i];

        if (strcmp (a->file, b->file) != 0) {
            continue;
        }
        if (a->type != VMDK_EXT_FLAT || b->type != VMDK_EXT_FLAT ||
            a->offset + a->sectors > b->offset) {
            vmdk_diag_fail (ps->dg, EINVAL, "lines %u and %u: extents share "
                            "the file '%s'", a->line, b->line, a->file);
            break;
        }
    }
    free (v);
}

static void
vmdk_check_parent (struct vmdk_parse *ps)
{
    struct vmdk_desc *d = ps->d;
    const struct vmdk_ct_info *ct = vmdk_ct_get (d->ct);

    if (d->parent_hint) {
        if (fmt_check_rel_path (d->parent_hint) < 0) {
            vmdk_diag_fail (ps->dg, EINVAL, "parentFileNameHint '%s' must "
                            "name a file in the descriptor's directory (no "
                            "absolute path, no '..')", d->parent_hint);
        }
        if (d->parent_cid == VMDK_NO_PARENT_CID) {
            vmdk_diag_fail (ps->dg, EINVAL, "parentFileNameHint is set but "
                            "parentCID is ffffffff (no parent)");
        }
    } else if (d->parent_cid != VMDK_NO_PARENT_CID) {
        vmdk_diag_fail (ps->dg, EINVAL, "parentCID is %08x but there is no "
                        "parentFileNameHint naming the parent",
                        d->parent_cid);
    } else if (ct && (ct->cls == VMDK_CLASS_COWD ||
                      ct->cls == VMDK_CLASS_SESPARSE)) {
        vmdk_diag_fail (ps->dg, EINVAL, "'%s' delta disk has no "
                        "parentFileNameHint", ct->name);
    }
}

static void
vmdk_check_desc (struct vmdk_parse *ps)
{
    struct vmdk_desc *d = ps->d;

    if (!ps->seen[VMDK_K_VERSION]) {
        vmdk_diag_soft (ps->dg, "no 'version' line");
    }
    if (!ps->seen[VMDK_K_CID]) {
        vmdk_diag_soft (ps->dg, "no 'CID' line");
    }
    if (!ps->seen[VMDK_K_CREATETYPE]) {
        vmdk_diag_fail (ps->dg, EINVAL, "descriptor has no createType");
    }
    if (d->extents.len == 0 && !ps->too_many_extents) {
        vmdk_diag_fail (ps->dg, EINVAL, "descriptor has no extents");
    }
    vmdk_check_types (ps);
    vmdk_check_shared_files (ps);
    vmdk_check_parent (ps);
}

int
vmdk_desc_parse (const char *text, size_t len, struct vmdk_desc *d,
                 struct vmdk_diag *dg)
{
    struct vmdk_parse ps = { .d = d, .dg = dg };
    unsigned nerr0 = dg->nerr;
    size_t pos = 0;

    if (len > VMDK_MAX_DESC_BYTES) {
        vmdk_diag_fail (dg, EFBIG, "descriptor is larger than %zu bytes",
                        VMDK_MAX_DESC_BYTES);
        return vmdk_diag_restore (dg);
    }
    /* The descriptor is a C string, as qemu and VMware read it: qemu
     * pads descriptor files with NULs to a sector, and when it rewrites
     * a descriptor in place with a shorter CID the old last bytes stay
     * after the new NUL.  Whatever follows the first NUL is ignored. */
    {
        const char *nul = memchr (text, '\0', len);

        if (nul) {
            len = (size_t) (nul - text);
        }
    }
    while (pos < len) {
        const char *nl = memchr (text + pos, '\n', len - pos);
        size_t n = nl ? (size_t) (nl - (text + pos)) : len - pos;

        if (++ps.line > VMDK_MAX_DESC_LINES) {
            vmdk_diag_fail (dg, EFBIG, "descriptor has more than %u lines",
                            VMDK_MAX_DESC_LINES);
            return vmdk_diag_restore (dg);
        }
        if (n > VMDK_MAX_LINE) {
            vmdk_diag_fail (dg, EINVAL, "line %u is longer than %u bytes",
                            ps.line, VMDK_MAX_LINE);
        } else {
            vmdk_parse_line (&ps, text + pos, n);
        }
        pos += n + 1;
    }
    vmdk_check_desc (&ps);
    if (dg->nerr == nerr0) {
        return 0;
    }
    return vmdk_diag_restore (dg);
}
