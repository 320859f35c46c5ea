/* Simulated storage state.  Volumes are the subdirectories of the root
 * directory; snapshots are directories under <volume>/.snapshot/;
 * qtrees are top-level directories of a volume that have a record here.
 * What the file system cannot hold (qtree ids and security styles,
 * snapshot UUIDs and creation times) lives in a JSON state file that is
 * rewritten (temp file + rename) after every change. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "tools/ontap-sim/sim.h"

#define SIM_STATE_MAX (16u << 20)

int
sim_vol_by_uuid (const char *uuid)
{
    for (size_t i = 0; i < sim.nvols; i++) {
        if (strcmp (sim.vols[i].uuid, uuid) == 0) {
            return (int) i;
        }
    }
    return -1;
}

int
sim_vol_by_name (const char *name)
{
    for (size_t i = 0; i < sim.nvols; i++) {
        if (strcmp (sim.vols[i].name, name) == 0) {
            return (int) i;
        }
    }
    return -1;
}

struct sim_qtree *
sim_qtree_by_id (struct sim_volume *v, int64_t id)
{
    for (size_t i = 0; i < v->nqtrees; i++) {
        if (v->qtrees[i].id == id) {
            return &v->qtrees[i];
        }
    }
    return NULL;
}

struct sim_qtree *
sim_qtree_by_name (struct sim_volume *v, const char *n)
{
    for (size_t i = 0; i < v->nqtrees; i++) {
        if (strcmp (v->qtrees[i].name, n) == 0) {
            return &v->qtrees[i];
        }
    }
    return NULL;
}

bool
sim_qtree_present (struct sim_volume *v, const struct sim_qtree *q)
{
    char p[PATH_MAX];
    struct stat st;

    snprintf (p, sizeof p, "%s/%s", v->path, q->name);
    return lstat (p, &st) == 0 && S_ISDIR (st.st_mode);
}

struct sim_snap *
sim_snap_by_uuid (struct sim_volume *v, const char *uuid)
{
    for (size_t i = 0; i < v->nsnaps; i++) {
        if (strcmp (v->snaps[i].uuid, uuid) == 0) {
            return &v->snaps[i];
        }
    }
    return NULL;
}

struct sim_snap *
sim_snap_by_name (struct sim_volume *v, const char *name)
{
    for (size_t i = 0; i < v->nsnaps; i++) {
        if (strcmp (v->snaps[i].name, name) == 0) {
            return &v->snaps[i];
        }
    }
    return NULL;
}

static struct sim_snap *
sim_snap_add (struct sim_volume *v, const char *name)
{
    struct sim_snap *n = realloc (v->snaps, (v->nsnaps + 1) * sizeof *n);

    if (n == NULL) {
        return NULL;
    }
    v->snaps = n;
    n = &v->snaps[v->nsnaps++];
    memset (n, 0, sizeof *n);
    snprintf (n->name, sizeof n->name, "%s", name);
    return n;
}

/* Bring the snapshot list in line with <volume>/.snapshot/: a directory
 * made by hand gets a name-derived UUID and its mtime as create_time. */
int
sim_snap_refresh (struct sim_volume *v)
{
    char dir[PATH_MAX], id[2 * SIM_NAME_MAX + 2];
    struct dirent *de;
    struct stat st;
    size_t keep = 0;
    DIR *d;

    for (size_t i = 0; i < v->nsnaps; i++) {
        snprintf (dir, sizeof dir, "%s/.snapshot/%s", v->path, v->snaps[i].name);
        if (stat (dir, &st) == 0 && S_ISDIR (st.st_mode)) {
            v->snaps[keep++] = v->snaps[i];
        }
    }
    v->nsnaps = keep;
    snprintf (dir, sizeof dir, "%s/.snapshot", v->path);
    d = opendir (dir);
    if (d == NULL) {
        return 0;
    }
    while ((de = readdir (d)) != NULL) {
        char p[PATH_MAX];
        struct sim_snap *s;
        struct tm tm;

        if (snprintf (p, sizeof p, "%s/%s", dir, de->d_name) >= (int) sizeof p) {
            continue;
        }
        if (!sim_valid_name (de->d_name) || sim_snap_by_name (v, de->d_name) ||
            stat (p, &st) < 0 || !S_ISDIR (st.st_mode) ||
            (s = sim_snap_add (v, de->d_name)) == NULL) {
            continue;
        }
        snprintf (id, sizeof id, "%s/%s", v->name, de->d_name);
        sim_uuid_from_name (id, s->uuid);
        gmtime_r (&st.st_mtime, &tm);
        strftime (s->create_time, sizeof s->create_time,
                  "%Y-%m-%dT%H:%M:%S+00:00", &tm);
    }
    closedir (d);
    return 0;
}

static void
sim_load_qtree (struct sim_volume *v, const struct json_val *q)
{
    struct sim_qtree *n;
    char *name = NULL, *style = NULL;
    int64_t id;
    uint64_t perms = 755;

    if (vs_json_get_str (q, "name", &name) < 0 || vs_json_get_i64 (q, "id", &id) < 0 ||
        !sim_valid_name (name) || v->nqtrees >= SIM_MAX_QTREES ||
        (n = realloc (v->qtrees, (v->nqtrees + 1) * sizeof *n)) == NULL) {
        free (name);
        return;
    }
    (void) vs_json_opt_str (q, "security_style", &style);
    (void) vs_json_opt_u64 (q, "unix_permissions", &perms);
    v->qtrees = n;
    n = &v->qtrees[v->nqtrees++];
    memset (n, 0, sizeof *n);
    snprintf (n->name, sizeof n->name, "%s", name);
    snprintf (n->style, sizeof n->style, "%s", style ? style : "unix");
    n->id = id;
    n->perms = (unsigned) perms;
    if (id >= v->next_qtree_id) {
        v->next_qtree_id = id + 1;
    }
    free (name);
    free (style);
}

static void
sim_load_snap (struct sim_volume *v, const struct json_val *s)
{
    char *name = NULL, *uuid = NULL, *ct = NULL;
    struct sim_snap *n;

    if (vs_json_get_str (s, "name", &name) == 0 && vs_json_get_str (s, "uuid", &uuid) == 0 &&
        vs_json_get_str (s, "create_time", &ct) == 0 && sim_valid_name (name) &&
        strlen (uuid) == SIM_UUID_LEN - 1 && (n = sim_snap_add (v, name)) != NULL) {
        snprintf (n->uuid, sizeof n->uuid, "%s", uuid);
        snprintf (n->create_time, sizeof n->create_time, "%s", ct);
    }
    free (name);
    free (uuid);
    free (ct);
}

static void
sim_load_volume (struct sim_volume *v, const struct json_val *o)
{
    const struct json_val *a;
    uint64_t next;

    if (vs_json_opt_u64 (o, "next_qtree_id", &next) == 0 && next > 0 &&
        next < INT32_MAX) {
        v->next_qtree_id = (int64_t) next;
    }
    a = vs_json_get (o, "qtrees");
    for (size_t i = 0; i < vs_json_array_len (a); i++) {
        sim_load_qtree (v, vs_json_array_at (a, i));
    }
    a = vs_json_get (o, "snapshots");
    for (size_t i = 0; i < vs_json_array_len (a); i++) {
        sim_load_snap (v, vs_json_array_at (a, i));
    }
}

static int
sim_state_load (void)
{
    struct json_val *doc;
    const struct json_val *vols;
    char *buf;
    size_t len;
    int r;

    if (access (sim.state_file, F_OK) < 0) {
        return 0;
    }
    if ((r = sim_read_file (sim.state_file, SIM_STATE_MAX, &buf, &len)) < 0) {
        return r;
    }
    r = vs_json_parse (buf, len, sim.state_file, &doc);
    free (buf);
    if (r < 0) {
        return r;
    }
    vols = vs_json_get (doc, "volumes");
    for (size_t i = 0; i < vs_json_object_len (vols); i++) {
        const char *name;
        const struct json_val *o = vs_json_object_at (vols, i, &name);
        int vi = sim_vol_by_name (name);

        if (vi >= 0) {
            sim_load_volume (&sim.vols[vi], o);
        }
    }
    vs_json_free (doc);
    return 0;
}

static void
sim_state_write_volume (struct jsonw *w, const struct sim_volume *v)
{
    vs_jw_key (w, v->name);
    vs_jw_obj_begin (w);
    vs_jw_kv_i64 (w, "next_qtree_id", v->next_qtree_id);
    vs_jw_key (w, "qtrees");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < v->nqtrees; i++) {
        vs_jw_obj_begin (w);
        vs_jw_kv_str (w, "name", v->qtrees[i].name);
        vs_jw_kv_i64 (w, "id", v->qtrees[i].id);
        vs_jw_kv_str (w, "security_style", v->qtrees[i].style);
        vs_jw_kv_u64 (w, "unix_permissions", v->qtrees[i].perms);
        vs_jw_obj_end (w);
    }
    vs_jw_arr_end (w);
    vs_jw_key (w, "snapshots");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < v->nsnaps; i++) {
        vs_jw_obj_begin (w);
        vs_jw_kv_str (w, "name", v->snaps[i].name);
        vs_jw_kv_str (w, "uuid", v->snaps[i].uuid);
        vs_jw_kv_str (w, "create_time", v->snaps[i].create_time);
        vs_jw_obj_end (w);
    }
    vs_jw_arr_end (w);
    vs_jw_obj_end (w);
}

int
sim_state_save (void)
{
    char tmp[PATH_MAX];
    struct sbuf b;
    struct jsonw w;
    int fd, r = 0;

    vs_sbuf_init (&b, SIM_STATE_MAX);
    vs_jw_init (&w, &b, true);
    vs_jw_obj_begin (&w);
    vs_jw_key (&w, "volumes");
    vs_jw_obj_begin (&w);
    for (size_t i = 0; i < sim.nvols; i++) {
        sim_state_write_volume (&w, &sim.vols[i]);
    }
    vs_jw_obj_end (&w);
    vs_jw_obj_end (&w);
    vs_sbuf_addch (&b, '\n');
    snprintf (tmp, sizeof tmp, "%s.tmp", sim.state_file);
    fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (b.err || fd < 0 || write (fd, b.data, b.len) != (ssize_t) b.len ||
        fsync (fd) < 0) {
        r = set_error (EIO, "cannot write state file '%s'", sim.state_file);
    }
    if (fd >= 0) {
        close (fd);
    }
    if (r == 0 && rename (tmp, sim.state_file) < 0) {
        r = set_error (errno, "cannot rename '%s': %s", tmp, strerror (errno));
    }
    vs_sbuf_release (&b);
    return r;
}

static int
sim_add_volume (const char *root, const char *name)
{
    struct sim_volume *v;

    if (sim.nvols >= SIM_MAX_VOLUMES) {
        return set_error (EFBIG, "more than %d volumes under '%s'",
                          SIM_MAX_VOLUMES, root);
    }
    v = &sim.vols[sim.nvols];
    memset (v, 0, sizeof *v);
    snprintf (v->name, sizeof v->name, "%s", name);
    sim_uuid_from_name (name, v->uuid);
    if (asprintf (&v->path, "%s/%s", root, name) < 0) {
        return set_error (ENOMEM, "out of memory");
    }
    v->next_qtree_id = 1;
    sim.nvols++;
    return 0;
}

static int
sim_name_cmp (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Subdirectories of root, in name order so listings are stable. */
static int
sim_scan_root (const char *root)
{
    char *names[SIM_MAX_VOLUMES + 1];
    size_t n = 0;
    struct dirent *de;
    DIR *d = opendir (root);
    int r = 0;

    if (d == NULL) {
        return set_error (errno, "cannot open root directory '%s': %s", root,
                          strerror (errno));
    }
    while ((de = readdir (d)) != NULL && n <= SIM_MAX_VOLUMES) {
        char p[PATH_MAX];
        struct stat st;

        snprintf (p, sizeof p, "%s/%s", root, de->d_name);
        if (sim_valid_name (de->d_name) && stat (p, &st) == 0 &&
            S_ISDIR (st.st_mode)) {
            names[n++] = strdup (de->d_name);
        }
    }
    closedir (d);
    qsort (names, n, sizeof names[0], sim_name_cmp);
    for (size_t i = 0; i < n; i++) {
        if (r == 0 && names[i] == NULL) {
            r = set_error (ENOMEM, "out of memory");
        }
        if (r == 0) {
            r = sim_add_volume (root, names[i]);
        }
        free (names[i]);
    }
    return r;
}

int
sim_state_init (const char *root, char **flexgroups, size_t nfg)
{
    int r = sim_scan_root (root);

    if (r < 0) {
        return r;
    }
    for (size_t i = 0; i < nfg; i++) {
        int vi = sim_vol_by_name (flexgroups[i]);

        if (vi < 0) {
            return set_error (ENOENT, "--flexgroup '%s': no such volume under "
                              "'%s'", flexgroups[i], root);
        }
        sim.vols[vi].flexgroup = true;
    }
    if ((r = sim_state_load ()) < 0) {
        return r;
    }
    for (size_t i = 0; i < sim.nvols; i++) {
        sim_snap_refresh (&sim.vols[i]);
    }
    return sim_state_save ();
}

void
sim_state_free (void)
{
    for (size_t i = 0; i < sim.nvols; i++) {
        free (sim.vols[i].path);
        free (sim.vols[i].qtrees);
        free (sim.vols[i].snaps);
    }
    sim.nvols = 0;
}
