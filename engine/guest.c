/* vmshift_guest_*: render the guest network scripts (hypervisors/guest-*)
 * and write them into a folder.
 *
 * Files are written under a temporary name and then linked into place,
 * which fails if the name exists, so a file that appears while we work
 * is not replaced either; with force they are renamed over.  Nothing is
 * written unless every script rendered. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "engine/handle.h"
#include "engine/location.h"
#include "hypervisors/guest.h"

#define GUEST_MAP_MAX (1024 * 1024)

static const char *const guest_linux_names[] = {
    "linux-prepare.sh", "linux-reapply.sh", NULL,
};
static const char *const guest_windows_names[] = {
    "windows-prepare.ps1", "windows-reapply.ps1", NULL,
};

struct guest_job {
    struct vmshift_guest_opts o;
    struct hv_guest_map *map;
    char *admin;
    size_t admin_len;
    struct hv_guest_cfg cfg;
};

void
vmshift_guest_opts_init (struct vmshift_guest_opts *o)
{
    memset (o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->os = VMSHIFT_GUEST_LINUX;
    o->remove_tools = -1;
}

const char *const *
vmshift_guest_script_names (enum vmshift_guest_os os)
{
    switch (os) {
    case VMSHIFT_GUEST_LINUX: return guest_linux_names;
    case VMSHIFT_GUEST_WINDOWS: return guest_windows_names;
    }
    return NULL;
}

static void
guest_job_release (struct guest_job *j)
{
    hv_guest_map_free (j->map);
    free (j->admin);
    memset (j, 0, sizeof *j);
}

/* Options from a caller whose struct may be older (smaller). */
static int
guest_copy_opts (const struct vmshift_guest_opts *in,
                 struct vmshift_guest_opts *o)
{
    vmshift_guest_opts_init (o);
    if (vs_api_copy_in ("guest options", o, sizeof *o, in,
                        VMSHIFT_GUEST_OPTS_V1) < 0) {
        return -EINVAL;
    }
    if (vmshift_guest_script_names (o->os) == NULL) {
        return set_error (EINVAL, "guest options: unknown OS %d", (int) o->os);
    }
    if ((int) o->mode < VMSHIFT_GUEST_MODE_DEFAULT ||
        o->mode > VMSHIFT_GUEST_MODE_SCRIPT) {
        return set_error (EINVAL, "guest options: unknown mode %d",
                          (int) o->mode);
    }
    return 0;
}

static int
guest_load_map (struct vmshift_handle *h, struct guest_job *j)
{
    char what[300];
    char *buf = NULL;
    size_t len;
    int r;

    if (j->o.network_map == NULL) {
        j->map = hv_guest_map_new ();
        return j->map ? 0 : -ENOMEM;
    }
    r = vs_loc_read_whole (h, j->o.network_map, GUEST_MAP_MAX, &buf, &len);
    if (r < 0) {
        return r;
    }
    snprintf (what, sizeof what, "'%.250s'", j->o.network_map);
    r = hv_guest_map_parse (buf, len, what, &j->map);
    free (buf);
    return r;
}

static int
guest_load_script (struct vmshift_handle *h, struct guest_job *j)
{
    int r;

    if (j->cfg.mode != HV_GUEST_MODE_SCRIPT) {
        if (j->o.admin_script) {
            return set_error (EINVAL, "an administrator's script is only "
                              "used with mode 'script'");
        }
        return 0;
    }
    if (j->o.admin_script == NULL) {
        return set_error (EINVAL, "mode 'script' needs the administrator's "
                          "script (--script FILE)");
    }
    r = vs_loc_read_whole (h, j->o.admin_script, HV_GUEST_MAX_SCRIPT, &j->admin,
                        &j->admin_len);
    if (r == 0 && j->admin_len == 0) {
        r = set_error (EINVAL, "'%s' is empty", j->o.admin_script);
    }
    return r;
}

static int
guest_prepare (struct vmshift_handle *h, const struct vmshift_guest_opts *in,
               struct guest_job *j)
{
    int r;

    memset (j, 0, sizeof *j);
    if ((r = guest_copy_opts (in, &j->o)) < 0 ||
        (r = guest_load_map (h, j)) < 0) {
        return r;
    }
    j->cfg.os = j->o.os == VMSHIFT_GUEST_WINDOWS ? HV_GUEST_WINDOWS :
        HV_GUEST_LINUX;
    j->cfg.mode = j->o.mode != VMSHIFT_GUEST_MODE_DEFAULT ?
        (enum hv_guest_mode) j->o.mode : j->map->mode;
    if (j->cfg.mode == HV_GUEST_MODE_UNSET) {
        j->cfg.mode = HV_GUEST_MODE_RETAIN;
    }
    j->cfg.retain_mac = j->map->retain_mac;
    j->cfg.remove_tools = j->o.remove_tools >= 0 ? j->o.remove_tools != 0 :
        j->map->remove_tools;
    j->cfg.reboot = j->map->reboot;
    if (j->o.reboot &&
        (r = hv_guest_reboot_from_name (j->o.reboot, &j->cfg.reboot)) < 0) {
        return r;
    }
    /* Names are checked against the target OS's rules here too, so the
     * message can name the map file. */
    for (size_t i = 0; i < j->map->nnics; i++) {
        char what[320];

        snprintf (what, sizeof what, "'%.250s': guest.nics[%zu].name",
                  j->o.network_map ? j->o.network_map : "map", i);
        if (j->map->nics[i].name[0] &&
            hv_guest_check_name (j->map->nics[i].name, (int) j->cfg.os,
                                 what) < 0) {
            return -EINVAL;
        }
    }
    j->cfg.hook = j->map->hook;
    j->cfg.nics = j->map->nics;
    j->cfg.nnics = j->map->nnics;
    if ((r = guest_load_script (h, j)) < 0) {
        return r;
    }
    j->cfg.admin_script = j->admin;
    j->cfg.admin_script_len = j->admin_len;
    return 0;
}

static int
guest_render_one (struct guest_job *j, const char *name, char **text)
{
    const struct hv_guest_file *f = hv_guest_file (name);
    const char *const *names = vmshift_guest_script_names (j->o.os);
    size_t len;
    size_t i = 0;
    int r;

    while (names[i] && strcmp (names[i], name) != 0) {
        i++;
    }
    if (names[i] == NULL || f == NULL) {
        return set_error (ENOENT, "no guest script '%.64s' for this OS", name);
    }
    r = hv_guest_render ((const char *) f->data, f->len, name, &j->cfg, text,
                         &len);
    /* The renderer checks the administrator's script but does not know
     * its file name: add it, so the one-line error names the file. */
    if (r < 0 && j->o.admin_script &&
        strstr (vmshift_internal_error_msg (), "administrator's script")) {
        error_prepend ("'%s': ", j->o.admin_script);
    }
    return r;
}

int
vmshift_guest_render (struct vmshift_handle *h,
                      const struct vmshift_guest_opts *o, const char *name,
                      char **text)
{
    struct guest_job j;
    int r;

    vs_api_enter (h);
    if (name == NULL || text == NULL) {
        return set_error (EINVAL, "vmshift_guest_render: NULL argument");
    }
    r = guest_prepare (h, o, &j);
    if (r == 0) {
        r = guest_render_one (&j, name, text);
    }
    guest_job_release (&j);
    return r;
}

/* Write all of buf to fd. */
static int
guest_write_all (int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write (fd, buf, len);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return w < 0 ? -errno : -EIO;
        }
        buf += w;
        len -= (size_t) w;
    }
    return 0;
}

static int
guest_open_dir (const char *dir)
{
    struct stat st;
    int fd;

    if (mkdir (dir, 0755) < 0 && errno != EEXIST) {
        return set_error (errno, "cannot create '%s': %s", dir,
                          strerror (errno));
    }
    fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fstat (fd, &st) < 0) {
        int e = errno;

        if (fd >= 0) {
            close (fd);
        }
        return set_error (e, "cannot open '%s': %s", dir, strerror (e));
    }
    return fd;
}

/* Write text as dir/name (mode), through a temporary file. */
static int
guest_put (int dfd, const char *dir, const char *name, const char *text,
           mode_t mode, int force)
{
    char tmp[128];
    int fd, r;

    snprintf (tmp, sizeof tmp, ".%s.%ld.tmp", name, (long) getpid ());
    fd = openat (dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                 O_CLOEXEC, mode);
    if (fd < 0) {
        return set_error (errno, "cannot create a file in '%s': %s", dir,
                          strerror (errno));
    }
    r = guest_write_all (fd, text, strlen (text));
    if (r == 0 && (fchmod (fd, mode) < 0 || fsync (fd) < 0)) {
        r = -errno;
    }
    if (close (fd) < 0 && r == 0) {
        r = -errno;
    }
    if (r == 0 && force && renameat (dfd, tmp, dfd, name) < 0) {
        r = -errno;
    } else if (r == 0 && !force && linkat (dfd, tmp, dfd, name, 0) < 0) {
        r = -errno;
    }
    unlinkat (dfd, tmp, 0);
    if (r == -EEXIST) {
        return set_error (EEXIST, "'%s/%s' exists (use --force to replace "
                          "it)", dir, name);
    }
    if (r < 0) {
        return set_error (-r, "cannot write '%s/%s': %s", dir, name,
                          strerror (-r));
    }
    return 0;
}

static int
guest_write_all_files (struct vmshift_handle *h, struct guest_job *j,
                       const char *outdir, char **texts)
{
    const char *const *names = vmshift_guest_script_names (j->o.os);
    struct stat st;
    int dfd, r = 0, n = 0;

    if ((dfd = guest_open_dir (outdir)) < 0) {
        return dfd;
    }
    for (size_t i = 0; names[i] && !j->o.force; i++) {
        if (fstatat (dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
            r = set_error (EEXIST, "'%s/%s' exists (use --force to replace "
                           "it)", outdir, names[i]);
            break;
        }
    }
    for (size_t i = 0; names[i] && r == 0; i++) {
        size_t nl = strlen (names[i]);
        mode_t mode = strcmp (names[i] + nl - 3, ".sh") == 0 ? 0700 : 0600;

        r = guest_put (dfd, outdir, names[i], texts[i], mode, j->o.force);
        if (r == 0) {
            vs_log_msg (&h->log, LOG_INFO, "wrote %s/%s", outdir, names[i]);
            n++;
        }
    }
    close (dfd);
    return r < 0 ? r : n;
}

int
vmshift_guest_scripts (struct vmshift_handle *h,
                       const struct vmshift_guest_opts *o, const char *outdir)
{
    char *texts[4] = { NULL };
    const char *const *names;
    struct guest_job j;
    int r;

    vs_api_enter (h);
    if (outdir == NULL || *outdir == '\0') {
        return set_error (EINVAL, "no output folder given");
    }
    r = guest_prepare (h, o, &j);
    names = r == 0 ? vmshift_guest_script_names (j.o.os) : NULL;
    for (size_t i = 0; r == 0 && names[i]; i++) {
        r = guest_render_one (&j, names[i], &texts[i]);
    }
    if (r == 0) {
        r = guest_write_all_files (h, &j, outdir, texts);
    }
    for (size_t i = 0; i < 4; i++) {
        free (texts[i]);
    }
    guest_job_release (&j);
    return r;
}
