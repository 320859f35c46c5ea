/* vmshift job install / uninstall: write the systemd units of a job
 * (units.c renders them) after checking them with systemd-analyze.
 *
 * The units are first written into a private staging folder and checked
 * there (systemd-analyze verify, and systemd-analyze calendar on the
 * schedule with the job's timezone), so a unit that systemd would reject
 * never replaces a working one.  Each file then goes into the unit folder
 * under a temporary name and is renamed into place.  A unit file of the
 * same name that vmshift did not write is never replaced or removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "engine/base/log.h"
#include "engine/base/sbuf.h"
#include "engine/handle.h"
#include "engine/jobs/job.h"
#include "engine/jobs/jobint.h"

extern char **environ;

#define JOB_TOOL_OUTPUT_MAX (64 * 1024)
#define JOB_UNIT_MARK "# Written by vmshift job install"

/* Run argv (no shell) with stdout and stderr into *out (caller frees).
 * Returns the exit status (>= 0), or -errno if it could not run. */
int
job_run_tool (const char *const *argv, char **out)
{
    posix_spawn_file_actions_t fa;
    struct sbuf b;
    int fds[2], st = 0, r;
    pid_t pid;
    char buf[4096];
    ssize_t n;

    *out = NULL;
    if (pipe2 (fds, O_CLOEXEC) < 0) {
        return set_error (errno, "pipe: %s", strerror (errno));
    }
    posix_spawn_file_actions_init (&fa);
    posix_spawn_file_actions_adddup2 (&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2 (&fa, fds[1], 2);
    posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
    r = posix_spawnp (&pid, argv[0], &fa, NULL, (char *const *) argv,
                      environ);
    posix_spawn_file_actions_destroy (&fa);
    close (fds[1]);
    if (r != 0) {
        close (fds[0]);
        return set_error (r, "cannot run '%s': %s", argv[0], strerror (r));
    }
    vs_sbuf_init (&b, JOB_TOOL_OUTPUT_MAX);
    while ((n = read (fds[0], buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            break;
        }
        if (b.len < JOB_TOOL_OUTPUT_MAX - sizeof buf) {
            vs_sbuf_add (&b, buf, (size_t) n);
        }
    }
    close (fds[0]);
    while (waitpid (pid, &st, 0) < 0 && errno == EINTR) {
    }
    vs_sbuf_addch (&b, '\0');
    *out = vs_sbuf_detach (&b, NULL);
    if (WIFEXITED (st)) {
        return WEXITSTATUS (st);
    }
    return 128 + (WIFSIGNALED (st) ? WTERMSIG (st) : 0);
}

/* The first line of s, for a one-line message. */
static const char *
job_first_line (char *s)
{
    char *nl;

    if (s == NULL) {
        return "";
    }
    while (*s == '\n') {
        s++;
    }
    nl = strchr (s, '\n');
    if (nl) {
        *nl = '\0';
    }
    return s;
}

static int
job_write_file (const char *path, const char *text, mode_t mode)
{
    size_t len = strlen (text), done = 0;
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                   mode);

    if (fd < 0) {
        return set_error (errno, "cannot create '%s': %s", path,
                          strerror (errno));
    }
    while (done < len) {
        ssize_t n = write (fd, text + done, len - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;

            close (fd);
            unlink (path);
            return set_error (e, "cannot write '%s': %s", path, strerror (e));
        }
        done += (size_t) n;
    }
    if (fsync (fd) < 0 || close (fd) < 0) {
        int e = errno;

        unlink (path);
        return set_error (e, "cannot write '%s': %s", path, strerror (e));
    }
    return 0;
}

/* Write path atomically: a temporary beside it, then rename. */
static int
job_write_atomic (const char *path, const char *text, mode_t mode)
{
    char tmp[PATH_MAX];
    int r;

    if ((size_t) snprintf (tmp, sizeof tmp, "%s.vmshift.%ld.tmp", path,
                           (long) getpid ()) >= sizeof tmp) {
        return set_error (ENAMETOOLONG, "'%s': name too long", path);
    }
    unlink (tmp);
    if ((r = job_write_file (tmp, text, mode)) < 0) {
        return r;
    }
    if (rename (tmp, path) < 0) {
        int e = errno;

        unlink (tmp);
        return set_error (e, "cannot rename '%s' to '%s': %s", tmp, path,
                          strerror (e));
    }
    return 0;
}

static int
job_mkdirs (const char *path, mode_t mode)
{
    char p[PATH_MAX];

    if ((size_t) snprintf (p, sizeof p, "%s", path) >= sizeof p) {
        return set_error (ENAMETOOLONG, "'%s': name too long", path);
    }
    for (char *c = p + 1; ; c++) {
        if (*c == '/' || *c == '\0') {
            char save = *c;

            *c = '\0';
            if (mkdir (p, mode) < 0 && errno != EEXIST) {
                return set_error (errno, "cannot create folder '%s': %s", p,
                                  strerror (errno));
            }
            *c = save;
            if (save == '\0') {
                return 0;
            }
        }
    }
}

/* root + the unit folder of the system or of the user. */
static int
job_unit_dir (const struct vmshift_job_unit_opts *o, char *buf, size_t n)
{
    const char *root = o->root && strcmp (o->root, "/") != 0 ? o->root : "";
    const char *xdg = getenv ("XDG_CONFIG_HOME"), *home = getenv ("HOME");
    int w;

    if (root[0] && root[0] != '/') {
        return set_error (EINVAL, "root '%s' is not an absolute path", root);
    }
    if (!o->user) {
        w = snprintf (buf, n, "%s/etc/systemd/system", root);
    } else if (xdg && xdg[0] == '/') {
        w = snprintf (buf, n, "%s%s/systemd/user", root, xdg);
    } else if (home && home[0] == '/') {
        w = snprintf (buf, n, "%s%s/.config/systemd/user", root, home);
    } else {
        return set_error (EINVAL, "user units: neither XDG_CONFIG_HOME nor "
                          "HOME is an absolute path");
    }
    if (w < 0 || (size_t) w >= n) {
        return set_error (ENAMETOOLONG, "unit folder name too long");
    }
    return 0;
}

/* 1 if path exists and vmshift wrote it, 0 if it does not exist;
 * -EEXIST if it is somebody else's. */
static int
job_unit_is_ours (const char *path)
{
    char line[64] = "";
    FILE *f = fopen (path, "re");

    if (f == NULL) {
        return errno == ENOENT ? 0
                               : set_error (errno, "cannot read '%s': %s",
                                            path, strerror (errno));
    }
    if (fgets (line, sizeof line, f) == NULL) {
        line[0] = '\0';
    }
    fclose (f);
    if (strncmp (line, JOB_UNIT_MARK, strlen (JOB_UNIT_MARK)) != 0) {
        return set_error (EEXIST, "'%s' exists and was not written by "
                          "vmshift; it is left alone", path);
    }
    return 1;
}

static int
job_verify_units (struct vmshift_handle *h, const struct job_def *d,
                  const struct vmshift_job_unit_opts *o, const char *svc,
                  const char *tmr)
{
    const char *verify[] = { "systemd-analyze", o->user ? "--user" : "--system",
                             "verify", svc, tmr, NULL };
    char expr[400];
    const char *cal[] = { "systemd-analyze", "calendar", expr, NULL };
    char *out = NULL;
    int r;

    snprintf (expr, sizeof expr, "%s %s", d->schedule, d->timezone);
    r = job_run_tool (cal, &out);
    if (r == -ENOENT) {
        vs_log_msg (h ? &h->log : NULL, LOG_WARN, "systemd-analyze is not "
                    "installed: the units are not checked");
        clear_error ();
        return 0;
    }
    if (r != 0) {
        r = r < 0 ? r : set_error (EINVAL, "'%s': key 'schedule': "
                                   "systemd-analyze calendar rejects '%s': "
                                   "%s", d->file, expr, job_first_line (out));
        free (out);
        return r;
    }
    free (out);
    r = job_run_tool (verify, &out);
    /* verify exits 0 on some problems (an unknown key is a warning):
     * anything it says about our units is an error here */
    if (r == 0 && out && strstr (out, "vmshift-job@")) {
        r = 1;
    }
    if (r != 0) {
        r = r < 0 ? r : set_error (EINVAL, "systemd-analyze verify rejects "
                                   "the units of job '%s': %s", d->name,
                                   job_first_line (out));
    }
    free (out);
    return r;
}

struct job_unit_files {
    char dir[PATH_MAX];
    char svc[PATH_MAX], tmr[PATH_MAX];
    char stage[PATH_MAX];
    char stage_svc[PATH_MAX], stage_tmr[PATH_MAX];
};

static int
job_unit_names (struct job_unit_files *f, const char *name,
                const struct vmshift_job_unit_opts *o)
{
    int r = job_unit_dir (o, f->dir, sizeof f->dir);

    if (r < 0) {
        return r;
    }
    if ((size_t) snprintf (f->svc, sizeof f->svc, "%s/vmshift-job@%s.service",
                           f->dir, name) >= sizeof f->svc ||
        (size_t) snprintf (f->tmr, sizeof f->tmr, "%s/vmshift-job@%s.timer",
                           f->dir, name) >= sizeof f->tmr) {
        return set_error (ENAMETOOLONG, "unit file name too long");
    }
    return 0;
}

static int
job_stage (struct job_unit_files *f, const char *name, const char *service,
           const char *timer)
{
    const char *tmp = getenv ("TMPDIR");
    int r;

    snprintf (f->stage, sizeof f->stage, "%s/vmshift-units.XXXXXX",
              tmp && tmp[0] == '/' ? tmp : "/tmp");
    if (mkdtemp (f->stage) == NULL) {
        f->stage[0] = '\0';
        return set_error (errno, "cannot make a staging folder: %s",
                          strerror (errno));
    }
    if ((size_t) snprintf (f->stage_svc, sizeof f->stage_svc,
                           "%s/vmshift-job@%s.service", f->stage, name) >=
            sizeof f->stage_svc ||
        (size_t) snprintf (f->stage_tmr, sizeof f->stage_tmr,
                           "%s/vmshift-job@%s.timer", f->stage, name) >=
            sizeof f->stage_tmr) {
        return set_error (ENAMETOOLONG, "staging file name too long");
    }
    if ((r = job_write_file (f->stage_svc, service, 0644)) < 0 ||
        (r = job_write_file (f->stage_tmr, timer, 0644)) < 0) {
        return r;
    }
    return 0;
}

static void
job_unstage (struct job_unit_files *f)
{
    if (f->stage[0]) {
        unlink (f->stage_svc);
        unlink (f->stage_tmr);
        rmdir (f->stage);
    }
}

static int
job_install_files (struct job_unit_files *f, const char *service,
                   const char *timer)
{
    int r;

    if ((r = job_unit_is_ours (f->svc)) < 0 ||
        (r = job_unit_is_ours (f->tmr)) < 0 ||
        (r = job_mkdirs (f->dir, 0755)) < 0 ||
        (r = job_write_atomic (f->svc, service, 0644)) < 0) {
        return r;
    }
    if ((r = job_write_atomic (f->tmr, timer, 0644)) < 0) {
        unlink (f->svc);
        return r;
    }
    return 0;
}

static char *
job_two_lines (const char *a, const char *b)
{
    char *s = NULL;

    if (asprintf (&s, "%s\n%s\n", a, b) < 0) {
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    return s;
}

int
vmshift_job_install (struct vmshift_handle *h, struct vmshift_job *job,
                     const struct vmshift_job_unit_opts *o, char **paths)
{
    struct job_unit_files *f = NULL;
    char *service = NULL, *timer = NULL;
    int r;

    vs_api_enter (h);
    if ((r = vmshift_job_systemd_units (job, o, &service, &timer)) < 0) {
        return r;
    }
    f = calloc (1, sizeof *f);
    if (f == NULL) {
        r = set_error (ENOMEM, "out of memory");
        goto out;
    }
    if ((r = job_unit_names (f, job->def->name, o)) < 0 ||
        (r = job_stage (f, job->def->name, service, timer)) < 0 ||
        (r = job_verify_units (h, job->def, o, f->stage_svc,
                               f->stage_tmr)) < 0 ||
        (!o->dry_run && (r = job_install_files (f, service, timer)) < 0)) {
        goto out;
    }
    *paths = job_two_lines (f->svc, f->tmr);
    r = *paths ? 0 : -ENOMEM;
out:
    if (f) {
        job_unstage (f);
    }
    free (f);
    free (service);
    free (timer);
    return r;
}

int
vmshift_job_uninstall (struct vmshift_handle *h, const char *name,
                       const struct vmshift_job_unit_opts *o, char **paths)
{
    struct job_unit_files f;
    int a, b, r;

    vs_api_enter (h);
    if ((r = job_unit_opts_check (o)) < 0) {
        return r;
    }
    if (name == NULL || strchr (name, '/') || name[0] == '.' ||
        name[0] == '\0') {
        return set_error (EINVAL, "'%s' is not a job name", name ? name : "");
    }
    if ((r = job_unit_names (&f, name, o)) < 0) {
        return r;
    }
    if ((a = job_unit_is_ours (f.svc)) < 0 ||
        (b = job_unit_is_ours (f.tmr)) < 0) {
        return vmshift_internal_error_errno () ? -vmshift_internal_error_errno ()
                                               : -EEXIST;
    }
    if (a + b == 0) {
        return set_error (ENOENT, "job '%s' has no units in '%s'", name,
                          f.dir);
    }
    if (o->dry_run) {
        *paths = job_two_lines (a ? f.svc : "", b ? f.tmr : "");
        return *paths ? 0 : -ENOMEM;
    }
    if ((b && unlink (f.tmr) < 0) || (a && unlink (f.svc) < 0)) {
        return set_error (errno, "cannot remove the units of job '%s': %s",
                          name, strerror (errno));
    }
    *paths = job_two_lines (a ? f.svc : "", b ? f.tmr : "");
    return *paths ? 0 : -ENOMEM;
}
