/* File clones: POST /api/storage/file/clone.
 *
 * {"volume": {"uuid", "name"}, "source_path", "destination_path",
 *  "range": ["src_block:dst_block:block_count", ...],
 *  "overwrite_destination": true}
 *
 * Ranges count 4 KiB blocks.  ONTAP refuses a call whose source ranges
 * overlap each other or whose destination ranges do (docs/ontap-client.md
 * C1); a sub-file clone needs an existing destination (C2).  We refuse
 * misaligned and destination-overlapping ranges before sending, merge
 * ranges that continue each other, and cut the rest into calls of at
 * most max_ranges_per_call (32 unless the profile says otherwise),
 * starting a new call where a source would overlap one already in it.
 *
 * A ranged clone with overwrite_destination puts the same blocks in the
 * same place however often it runs, so a lost reply may be answered by
 * resending it (the one non-GET call we treat as idempotent).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/jsonw.h"
#include "engine/base/overflow.h"
#include "ontap/ontap.h"

/* ONTAP documents no limit per range; we keep each below 2^32 blocks
 * (16 TiB) so no 32-bit field on the way can wrap. */
#define ONTAP_RANGE_BLOCKS_MAX 0xffffffffULL
#define ONTAP_CLONE_BODY_MAX ((size_t) 1 << 20)

static int
ontap_range_cmp (const void *a, const void *b)
{
    const struct ontap_block_range *x = a, *y = b;

    return x->dst < y->dst ? -1 : x->dst > y->dst;
}

static int
ontap_range_check (const struct ontap_clone_range *r, size_t i)
{
    uint64_t e1, e2;

    if (r->len == 0) {
        return set_error (EINVAL, "clone range %zu is empty", i);
    }
    if (!IS_ALIGNED (r->src_off, ONTAP_BLOCK) ||
        !IS_ALIGNED (r->dst_off, ONTAP_BLOCK) ||
        !IS_ALIGNED (r->len, ONTAP_BLOCK)) {
        return set_error (EINVAL, "clone range %zu (source %" PRIu64
                          ", destination %" PRIu64 ", length %" PRIu64 ") is "
                          "not 4 KiB aligned", i, r->src_off, r->dst_off,
                          r->len);
    }
    if (ADD_OVERFLOW (r->src_off, r->len, &e1) ||
        ADD_OVERFLOW (r->dst_off, r->len, &e2)) {
        return set_error (EINVAL, "clone range %zu wraps around", i);
    }
    return 0;
}

/* Sorted by destination, overlap-checked, merged, split below the
 * per-range cap. */
static int
ontap_ranges_normalise (const struct ontap_clone_range *in, size_t n,
                        struct ontap_block_range_vec *out)
{
    struct ontap_block_range_vec t = { 0 };
    int r = 0;

    if (n > VECTOR_MAX_BYTES / sizeof (struct ontap_block_range) ||
        (r = ontap_block_range_vec_reserve (&t, n)) < 0) {
        return r < 0 ? r : set_error (EFBIG, "too many clone ranges");
    }
    for (size_t i = 0; i < n; i++) {
        if ((r = ontap_range_check (&in[i], i)) < 0) {
            ontap_block_range_vec_reset (&t);
            return r;
        }
        t.ptr[t.len++] = (struct ontap_block_range) {
            in[i].src_off / ONTAP_BLOCK, in[i].dst_off / ONTAP_BLOCK,
            in[i].len / ONTAP_BLOCK };
    }
    qsort (t.ptr, t.len, sizeof t.ptr[0], ontap_range_cmp);
    for (size_t i = 0; i < t.len; i++) {
        struct ontap_block_range cur = t.ptr[i];
        struct ontap_block_range *last = out->len ? &out->ptr[out->len - 1]
                                                  : NULL;

        if (last && last->dst + last->count > cur.dst) {
            r = set_error (EINVAL, "clone ranges overlap in the destination "
                           "at byte %" PRIu64, cur.dst * ONTAP_BLOCK);
            break;
        }
        if (last && last->dst + last->count == cur.dst &&
            last->src + last->count == cur.src &&
            last->count + cur.count <= ONTAP_RANGE_BLOCKS_MAX) {
            last->count += cur.count;
            continue;
        }
        while (cur.count > ONTAP_RANGE_BLOCKS_MAX && r == 0) {
            struct ontap_block_range part = { cur.src, cur.dst,
                                              ONTAP_RANGE_BLOCKS_MAX };

            r = ontap_block_range_vec_append (out, part);
            cur.src += part.count;
            cur.dst += part.count;
            cur.count -= part.count;
        }
        if (r < 0 || (r = ontap_block_range_vec_append (out, cur)) < 0) {
            break;
        }
    }
    ontap_block_range_vec_reset (&t);
    return r;
}

static bool
ontap_src_overlaps (const struct ontap_block_range *a,
                    const struct ontap_block_range *b)
{
    return a->src < b->src + b->count && b->src < a->src + a->count;
}

int
ontap_clone_plan_make (const struct ontap_clone_range *r, size_t n,
                       unsigned max_per_call, struct ontap_clone_plan *out)
{
    struct ontap_clone_plan p = { { 0 }, { 0 } };
    size_t start = 0;
    int e;

    if (n == 0 || max_per_call == 0 || max_per_call > ONTAP_RANGES_MAX) {
        return set_error (EINVAL, "nothing to clone, or a bad ranges-per-call "
                          "limit (%u)", max_per_call);
    }
    if ((e = ontap_ranges_normalise (r, n, &p.ranges)) < 0) {
        ontap_clone_plan_release (&p);
        return e;
    }
    for (size_t i = 0; i < p.ranges.len; i++) {
        bool cut = i == 0 || i - start >= max_per_call;

        for (size_t j = start; !cut && j < i; j++) {
            cut = ontap_src_overlaps (&p.ranges.ptr[i], &p.ranges.ptr[j]);
        }
        if (cut) {
            start = i;
            if ((e = ontap_size_vec_append (&p.call_start, i)) < 0) {
                ontap_clone_plan_release (&p);
                return e;
            }
        }
    }
    *out = p;
    return 0;
}

void
ontap_clone_plan_release (struct ontap_clone_plan *p)
{
    ontap_block_range_vec_reset (&p->ranges);
    ontap_size_vec_reset (&p->call_start);
}

size_t
ontap_clone_plan_calls (const struct ontap_clone_plan *p)
{
    return p->call_start.len;
}

/* ------------------------------------------------------------ calls */

static void
ontap_clone_head (struct jsonw *w, const struct ontap_volume *v,
                  const char *src, const char *dst)
{
    vs_jw_obj_begin (w);
    vs_jw_key (w, "volume");
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "uuid", v->uuid);
    vs_jw_kv_str (w, "name", v->name);
    vs_jw_obj_end (w);
    vs_jw_kv_str (w, "source_path", src);
    vs_jw_kv_str (w, "destination_path", dst);
}

static char *
ontap_clone_body (const struct ontap_volume *v, const char *src,
                  const char *dst, const struct ontap_block_range *r,
                  size_t n, bool overwrite)
{
    struct sbuf b;
    struct jsonw w;
    char s[80];

    vs_sbuf_init (&b, ONTAP_CLONE_BODY_MAX);
    vs_jw_init (&w, &b, false);
    ontap_clone_head (&w, v, src, dst);
    if (r) {
        vs_jw_key (&w, "range");
        vs_jw_arr_begin (&w);
        for (size_t i = 0; i < n; i++) {
            snprintf (s, sizeof s, "%" PRIu64 ":%" PRIu64 ":%" PRIu64,
                      r[i].src, r[i].dst, r[i].count);
            vs_jw_str (&w, s);
        }
        vs_jw_arr_end (&w);
    }
    vs_jw_kv_bool (&w, "overwrite_destination", overwrite);
    vs_jw_obj_end (&w);
    return vs_sbuf_detach (&b, NULL);
}

static int
ontap_clone_post (struct ontap_client *c, const char *body, unsigned flags,
                  enum ontap_outcome *oc)
{
    struct ontap_reply rep = { 0 };
    char target[64];
    int r;

    snprintf (target, sizeof target, "/api/storage/file/clone"
              "?return_timeout=%u", ontap_client_profile (c)->return_timeout);
    if ((r = ontap_call (c, "POST", target, body, flags, &rep)) < 0) {
        return r;
    }
    r = ontap_async_finish (c, &rep, "file clone", oc);
    ontap_reply_release (&rep);
    return r;
}

static int
ontap_clone_paths_ok (const struct ontap_volume *v, const char *src,
                      const char *dst)
{
    int r;

    if (!ontap_uuid_ok (v->uuid) || v->name == NULL) {
        return set_error (EINVAL, "file clone: volume has no uuid or name");
    }
    if ((r = ontap_rel_path_ok (src, "clone source")) < 0 ||
        (r = ontap_rel_path_ok (dst, "clone destination")) < 0) {
        return r;
    }
    if (strcmp (src, dst) == 0) {
        return set_error (EINVAL, "file clone: source and destination are "
                          "the same file '%s'", src);
    }
    return 0;
}

int
ontap_file_clone (struct ontap_client *c, const struct ontap_volume *v,
                  const char *src_path, const char *dst_path,
                  const struct ontap_clone_range *r, size_t n,
                  struct ontap_clone_result *res, enum ontap_outcome *outcome)
{
    struct ontap_clone_plan p;
    struct ontap_clone_result st = { 0 };
    size_t calls;
    int e;

    if ((e = ontap_clone_paths_ok (v, src_path, dst_path)) < 0 ||
        (e = ontap_clone_plan_make (r, n, ontap_client_profile (c)
                                    ->max_ranges_per_call, &p)) < 0) {
        return e;
    }
    calls = ontap_clone_plan_calls (&p);
    for (size_t k = 0; k < calls && e == 0; k++) {
        size_t a = p.call_start.ptr[k];
        size_t b = k + 1 < calls ? p.call_start.ptr[k + 1] : p.ranges.len;
        char *body = ontap_clone_body (v, src_path, dst_path,
                                       &p.ranges.ptr[a], b - a, true);
        enum ontap_outcome oc;

        if (body == NULL) {
            e = -EFBIG;
            break;
        }
        e = ontap_clone_post (c, body, ONTAP_REQ_IDEMPOTENT |
                              ONTAP_REQ_RETRY_BUSY, &oc);
        free (body);
        if (e < 0) {
            error_prepend ("cloning '%s' to '%s' (call %zu of %zu): ",
                           src_path, dst_path, k + 1, calls);
            break;
        }
        st.calls++;
        st.unknown_calls += oc == ONTAP_UNKNOWN;
        for (size_t i = a; i < b; i++) {
            st.blocks += p.ranges.ptr[i].count;
        }
    }
    ontap_clone_plan_release (&p);
    if (e == 0) {
        *outcome = st.unknown_calls ? ONTAP_UNKNOWN : ONTAP_DONE;
        if (res) {
            *res = st;
        }
    }
    return e;
}

int
ontap_file_clone_whole (struct ontap_client *c, const struct ontap_volume *v,
                        const char *src_path, const char *dst_path,
                        bool overwrite, enum ontap_outcome *outcome)
{
    char *body;
    int e;

    if ((e = ontap_clone_paths_ok (v, src_path, dst_path)) < 0) {
        return e;
    }
    if ((body = ontap_clone_body (v, src_path, dst_path, NULL, 0,
                                  overwrite)) == NULL) {
        return -EFBIG;
    }
    /* Without overwrite a resend could fail on the file the first
     * attempt made: only busy refusals (nothing done) are resent. */
    e = ontap_clone_post (c, body, ONTAP_REQ_RETRY_BUSY |
                          (overwrite ? ONTAP_REQ_IDEMPOTENT : 0), outcome);
    free (body);
    if (e < 0) {
        error_prepend ("cloning '%s' to '%s': ", src_path, dst_path);
    }
    return e;
}
