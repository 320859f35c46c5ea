/* POST /api/storage/file/clone.  Every rule is checked before the job
 * is created, so a bad request gets an immediate error naming the field
 * (in "target"); the job then does the FICLONE / FICLONERANGE work.
 * Rules (docs/ontap-rest.md, "File clone", and docs/ontap-sim.md):
 *   - FlexVol only; source and destination inside the one volume named;
 *   - whole file (no range): the destination must not exist unless
 *     overwrite_destination is true, its directory must exist;
 *   - sub-file (range): the destination must exist; each range is
 *     "src:dst:count" in 4 KiB blocks, inside both files (a last partial
 *     block counts), at most max_ranges per call, source ranges and
 *     destination ranges each non-overlapping, and for the same file no
 *     source range may overlap a destination range;
 *   - the destination is never inside .snapshot/ (read-only).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "tools/ontap-sim/sim.h"

struct sim_clone_req {
    int vol;
    char src[SIM_REL_MAX];
    char dst[SIM_REL_MAX];
    bool overwrite;
    struct sim_range *ranges;
    size_t nranges;
    struct stat sst, dst_st;
    bool dst_exists;
};

/* Is the real path of p (or of its directory when p does not exist)
 * inside the volume?  Catches symlinks that lead out of it. */
static bool
sim_inside_volume (const struct sim_volume *v, const char *p)
{
    char vr[PATH_MAX], pr[PATH_MAX], dir[PATH_MAX], *slash;
    size_t n;

    if (realpath (v->path, vr) == NULL) {
        return false;
    }
    if (realpath (p, pr) == NULL) {
        snprintf (dir, sizeof dir, "%s", p);
        slash = strrchr (dir, '/');
        if (slash == NULL) {
            return false;
        }
        *slash = '\0';
        if (realpath (dir, pr) == NULL) {
            return false;
        }
    }
    n = strlen (vr);
    return strncmp (pr, vr, n) == 0 && (pr[n] == '/' || pr[n] == '\0');
}

static int
sim_clone_paths (const struct json_val *body, struct sim_reply *r,
                 struct sim_clone_req *c)
{
    const char *s = vs_json_string_value (vs_json_get (body, "source_path"));
    const char *d = vs_json_string_value (vs_json_get (body, "destination_path"));

    if (s == NULL || sim_rel_path (s, c->src, sizeof c->src) < 0) {
        sim_reply_error (r, 400, "2", "source_path",
                         "Missing or invalid source_path");
        return -1;
    }
    if (d == NULL || sim_rel_path (d, c->dst, sizeof c->dst) < 0) {
        sim_reply_error (r, 400, "2", "destination_path",
                         "Missing or invalid destination_path");
        return -1;
    }
    if (sim_in_snapshot (c->dst)) {
        sim_reply_error (r, 400, "2", "destination_path",
                         "destination_path '%s' is in a read-only snapshot",
                         c->dst);
        return -1;
    }
    return 0;
}

static int
sim_clone_stat (struct sim_reply *r, struct sim_clone_req *c)
{
    const struct sim_volume *v = &sim.vols[c->vol];
    char sp[PATH_MAX], dp[PATH_MAX];

    snprintf (sp, sizeof sp, "%s/%s", v->path, c->src);
    snprintf (dp, sizeof dp, "%s/%s", v->path, c->dst);
    if (stat (sp, &c->sst) < 0 || !S_ISREG (c->sst.st_mode)) {
        sim_reply_error (r, 404, "4", "source_path",
                         "entry doesn't exist: '%s' is not a file in volume '%s'",
                         c->src, v->name);
        return -1;
    }
    if (!sim_inside_volume (v, sp) || !sim_inside_volume (v, dp)) {
        sim_reply_error (r, 400, "2", "source_path", "source and destination "
                         "must be in volume '%s'", v->name);
        return -1;
    }
    c->dst_exists = stat (dp, &c->dst_st) == 0;
    if (c->dst_exists && !S_ISREG (c->dst_st.st_mode)) {
        sim_reply_error (r, 400, "2", "destination_path",
                         "destination_path '%s' is not a file", c->dst);
        return -1;
    }
    return 0;
}

static int
sim_clone_ranges (const struct json_val *body, struct sim_reply *r,
                  struct sim_clone_req *c)
{
    const struct json_val *a = vs_json_get (body, "range");
    size_t n = vs_json_array_len (a);

    if (a && vs_json_type (a) != JSON_ARRAY && vs_json_type (a) != JSON_NULL) {
        sim_reply_error (r, 400, "2", "range", "range must be an array of "
                         "strings");
        return -1;
    }
    if (n > sim.set.max_ranges) {
        sim_reply_error (r, 400, "2", "range", "%zu ranges given; at most %u "
                         "are allowed per call", n, sim.set.max_ranges);
        return -1;
    }
    if (n == 0) {
        return 0;
    }
    c->ranges = calloc (n, sizeof *c->ranges);
    if (c->ranges == NULL) {
        sim_reply_error (r, 500, "1", NULL, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = vs_json_string_value (vs_json_array_at (a, i));

        if (s == NULL || sim_range_parse (s, &c->ranges[i]) < 0) {
            sim_reply_error (r, 400, "2", "range", "Invalid range %zu: %s", i,
                             s ? vmshift_internal_error_msg ()
                               : "not a string");
            return -1;
        }
    }
    c->nranges = n;
    return 0;
}

/* Blocks a file spans, counting a last partial block. */
static uint64_t
sim_blocks (const struct stat *st)
{
    return ((uint64_t) st->st_size + SIM_BLOCK - 1) / SIM_BLOCK;
}

static int
sim_clone_sub_rules (struct sim_reply *r, struct sim_clone_req *c)
{
    uint64_t sb = sim_blocks (&c->sst), db;
    bool same;

    if (!c->dst_exists) {
        sim_reply_error (r, 404, "4", "destination_path", "entry doesn't "
                         "exist: a sub-file clone needs an existing "
                         "destination '%s'", c->dst);
        return -1;
    }
    db = sim_blocks (&c->dst_st);
    same = c->sst.st_dev == c->dst_st.st_dev && c->sst.st_ino == c->dst_st.st_ino;
    if (sim_ranges_check (c->ranges, c->nranges, same) < 0) {
        sim_reply_error (r, 400, "2", "range", "%s",
                         vmshift_internal_error_msg ());
        return -1;
    }
    for (size_t i = 0; i < c->nranges; i++) {
        const struct sim_range *g = &c->ranges[i];

        if (g->src + g->count > sb || g->dst + g->count > db) {
            sim_reply_error (r, 400, "2", "range", "range %" PRIu64 ":%" PRIu64
                             ":%" PRIu64 " is outside the %s file (%" PRIu64
                             " blocks)", g->src, g->dst, g->count,
                             g->src + g->count > sb ? "source" : "destination",
                             g->src + g->count > sb ? sb : db);
            return -1;
        }
    }
    return 0;
}

static int
sim_clone_whole_rules (struct sim_reply *r, struct sim_clone_req *c)
{
    if (c->dst_exists && !c->overwrite) {
        sim_reply_error (r, 409, "1", "destination_path", "destination_path "
                         "'%s' already exists", c->dst);
        return -1;
    }
    return 0;
}

static int
sim_clone_dir_exists (struct sim_reply *r, struct sim_clone_req *c)
{
    char p[PATH_MAX], *slash;
    struct stat st;

    snprintf (p, sizeof p, "%s/%s", sim.vols[c->vol].path, c->dst);
    slash = strrchr (p, '/');
    *slash = '\0';
    if (stat (p, &st) < 0 || !S_ISDIR (st.st_mode)) {
        sim_reply_error (r, 404, "4", "destination_path", "entry doesn't "
                         "exist: the directory of '%s' does not exist", c->dst);
        return -1;
    }
    return 0;
}

static int
sim_clone_validate (const struct json_val *body, struct sim_reply *r,
                    struct sim_clone_req *c)
{
    if ((c->vol = sim_body_volume (body, r)) < 0) {
        return -1;
    }
    if (sim.vols[c->vol].flexgroup) {
        sim_reply_error (r, 400, "3", "volume", "File clone is not supported "
                         "on FlexGroup volume '%s'", sim.vols[c->vol].name);
        return -1;
    }
    if (vs_json_opt_bool (body, "overwrite_destination", &c->overwrite) < 0) {
        sim_reply_error (r, 400, "2", "overwrite_destination",
                         "overwrite_destination must be a boolean");
        return -1;
    }
    if (sim_clone_paths (body, r, c) < 0 || sim_clone_ranges (body, r, c) < 0 ||
        sim_clone_dir_exists (r, c) < 0 || sim_clone_stat (r, c) < 0) {
        return -1;
    }
    return c->nranges ? sim_clone_sub_rules (r, c) : sim_clone_whole_rules (r, c);
}

static bool
sim_split_load_busy (struct sim_reply *r)
{
    if (sim.set.ebusy_count == 0) {
        return false;
    }
    sim.set.ebusy_count--;
    sim.cnt.injected_ebusy++;
    sim_reply_error (r, 409, "8", NULL, "File clone create failed: the split "
                     "load on the node exceeds the maximum split load "
                     "(simulated); retry later");
    return true;
}

void
sim_handle_clone (const struct sim_req *q, struct sim_reply *r)
{
    struct json_val *body = NULL;
    struct sim_clone_req c;
    struct sim_job *j;

    memset (&c, 0, sizeof c);
    if (sim_split_load_busy (r)) {
        return;
    }
    if (vs_json_parse (q->body, q->body_len, "request body", &body) < 0) {
        sim_reply_error (r, 400, "2", NULL, "Invalid JSON in the request body");
    } else if (sim_clone_validate (body, r, &c) == 0) {
        if ((j = sim_job_new (JK_CLONE, "POST /api/storage/file/clone")) == NULL) {
            sim_reply_error (r, 503, "1", NULL, "Too many jobs");
        } else {
            j->vol = c.vol;
            memcpy (j->a, c.src, sizeof j->a);
            memcpy (j->b, c.dst, sizeof j->b);
            j->whole_file = c.nranges == 0;
            j->overwrite = c.overwrite;
            j->ranges = c.ranges;
            j->nranges = c.nranges;
            c.ranges = NULL;
            sim_post_job_reply (q, r, j, 201);
        }
    }
    free (c.ranges);
    vs_json_free (body);
}
