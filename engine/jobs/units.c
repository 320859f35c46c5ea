/* What runs a job on a schedule (docs/jobs.md, "Installing a job"):
 * a systemd service + timer pair, a crontab entry, or a Kubernetes
 * CronJob.  Rendering only; install.c writes and checks the units.
 *
 * Unit file syntax: systemd.syntax(7), systemd.exec(7) ("Sandboxing"),
 * systemd.timer(7).  Quoting: every path goes into a unit inside double
 * quotes with '%' doubled (specifiers) and, on Exec lines, '$' doubled
 * (variable expansion); paths with '"', '\' or control characters are
 * refused rather than escaped.  The crontab entry is run by /bin/sh: each
 * argument is single-quoted and '%' (a newline to cron) is refused.
 */
#include <errno.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/sbuf.h"
#include "engine/jobs/job.h"
#include "engine/jobs/jobint.h"
#include "hypervisors/docw.h"

#define UNIT_MAX (64 * 1024)
#define KUBE_NAME_MAX 52       /* a CronJob's name: 52 characters at most */

void
vmshift_job_unit_opts_init (struct vmshift_job_unit_opts *o)
{
    memset (o, 0, sizeof *o);
    o->struct_size = sizeof *o;
}

int
job_unit_opts_check (const struct vmshift_job_unit_opts *o)
{
    if (o == NULL || o->struct_size < offsetof (struct vmshift_job_unit_opts,
                                                kube_namespace) +
                                      sizeof o->kube_namespace) {
        return set_error (EINVAL, "vmshift_job_unit_opts: not initialised "
                          "(call vmshift_job_unit_opts_init)");
    }
    return 0;
}

static int
job_unit_path_ok (const char *what, const char *p)
{
    for (const char *c = p; *c; c++) {
        if ((unsigned char) *c < 0x20 || *c == 0x7f || *c == '"' ||
            *c == '\\') {
            return set_error (EINVAL, "%s '%s': a '\"', '\\' or control "
                              "character cannot go into a unit file", what,
                              p);
        }
    }
    return 0;
}

/* "path" with % doubled, and $ doubled when exec is set. */
static void
job_unit_quote (struct sbuf *b, const char *s, bool exec)
{
    vs_sbuf_addch (b, '"');
    for (; *s; s++) {
        if (*s == '%' || (exec && *s == '$')) {
            vs_sbuf_addch (b, *s);
        }
        vs_sbuf_addch (b, *s);
    }
    vs_sbuf_addch (b, '"');
}

static const char *
job_vmshift_path (const struct vmshift_job_unit_opts *o)
{
    return o->vmshift_path ? o->vmshift_path : "/usr/local/bin/vmshift";
}

/* The folder of a SQLite store path (caller frees); NULL for the default
 * store or a postgresql:// one. */
static char *
job_store_dir (const struct job_def *d)
{
    char *copy, *dir;

    if (d->store == NULL || strstr (d->store, "://")) {
        return NULL;
    }
    copy = strdup (d->store);
    if (copy == NULL) {
        return NULL;
    }
    dir = strdup (dirname (copy));
    free (copy);
    return dir;
}

static int
job_unit_exec (struct sbuf *b, const struct job_def *d,
               const struct vmshift_job_unit_opts *o)
{
    int r;

    if ((r = job_unit_path_ok ("vmshift", job_vmshift_path (o))) < 0 ||
        (r = job_unit_path_ok ("job file", d->file)) < 0 ||
        (o->metrics_dir &&
         (r = job_unit_path_ok ("metrics folder", o->metrics_dir)) < 0)) {
        return r;
    }
    vs_sbuf_addstr (b, "ExecStart=");
    job_unit_quote (b, job_vmshift_path (o), true);
    vs_sbuf_addstr (b, " job run");
    if (o->metrics_dir) {
        vs_sbuf_addstr (b, " --metrics-dir ");
        job_unit_quote (b, o->metrics_dir, true);
    }
    vs_sbuf_addch (b, ' ');
    job_unit_quote (b, d->file, true);
    vs_sbuf_addch (b, '\n');
    return 0;
}

/* Only what the run writes: the target folder of a local job (its
 * snapshots live there too), a store outside the state directory, the
 * metrics folder.  ONTAP jobs write nothing local but the store. */
static int
job_unit_rw_paths (struct sbuf *b, const struct job_def *d,
                   const struct vmshift_job_unit_opts *o)
{
    char *store_dir = job_store_dir (d);
    const char *paths[3] = { d->on_ontap ? NULL : d->location, store_dir,
                             o->metrics_dir };
    bool any = false;
    int r = 0;

    for (size_t i = 0; i < 3 && r == 0; i++) {
        if (paths[i] == NULL) {
            continue;
        }
        r = job_unit_path_ok ("path", paths[i]);
        vs_sbuf_addstr (b, any ? " " : "ReadWritePaths=");
        job_unit_quote (b, paths[i], false);
        any = true;
    }
    if (any) {
        vs_sbuf_addch (b, '\n');
    }
    free (store_dir);
    return r;
}

static const char job_unit_hardening[] =
    "ProtectSystem=strict\n"
    "ProtectHome=read-only\n"
    "PrivateTmp=yes\n"
    "PrivateDevices=yes\n"
    "NoNewPrivileges=yes\n"
    "ProtectKernelTunables=yes\n"
    "ProtectKernelModules=yes\n"
    "ProtectKernelLogs=yes\n"
    "ProtectControlGroups=yes\n"
    "ProtectClock=yes\n"
    "ProtectHostname=yes\n"
    "RestrictNamespaces=yes\n"
    "RestrictRealtime=yes\n"
    "RestrictSUIDSGID=yes\n"
    "LockPersonality=yes\n"
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n"
    "SystemCallArchitectures=native\n"
    "UMask=0077\n";

static int
job_render_service (const struct job_def *d,
                    const struct vmshift_job_unit_opts *o, char **out)
{
    struct sbuf b;
    int r;

    vs_sbuf_init (&b, UNIT_MAX);
    vs_sbuf_printf (&b, "# Written by vmshift job install from the job "
                    "file ExecStart names; reinstall, do not edit.\n"
                    "[Unit]\n"
                    "Description=vmshift job %s (snapshot, convert, "
                    "retention)\n"
                    "Wants=network-online.target\n"
                    "After=network-online.target\n"
                    "\n"
                    "[Service]\n"
                    "Type=oneshot\n", d->name);
    if ((r = job_unit_exec (&b, d, o)) < 0) {
        vs_sbuf_release (&b);
        return r;
    }
    if (!o->user) {
        /* /var/lib/vmshift: the default run store of root */
        vs_sbuf_addstr (&b, "StateDirectory=vmshift\n"
                        "StateDirectoryMode=0700\n");
        vs_sbuf_addstr (&b, job_unit_hardening);
        if ((r = job_unit_rw_paths (&b, d, o)) < 0) {
            vs_sbuf_release (&b);
            return r;
        }
    } else {
        vs_sbuf_addstr (&b, "NoNewPrivileges=yes\nUMask=0077\n");
    }
    *out = vs_sbuf_detach (&b, NULL);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

static int
job_render_timer (const struct job_def *d, char **out)
{
    struct sbuf b;

    vs_sbuf_init (&b, UNIT_MAX);
    vs_sbuf_printf (&b, "# Written by vmshift job install from the job "
                    "file; reinstall, do not edit.\n"
                    "[Unit]\n"
                    "Description=Schedule of vmshift job %s\n"
                    "\n"
                    "[Timer]\n"
                    "OnCalendar=%s %s\n"
                    "Persistent=true\n", d->name, d->schedule, d->timezone);
    if (d->randomized_delay) {
        vs_sbuf_printf (&b, "RandomizedDelaySec=%llu\n",
                        (unsigned long long) d->randomized_delay);
    }
    vs_sbuf_addstr (&b, "\n[Install]\nWantedBy=timers.target\n");
    *out = vs_sbuf_detach (&b, NULL);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

int
vmshift_job_systemd_units (struct vmshift_job *job,
                           const struct vmshift_job_unit_opts *o,
                           char **service, char **timer)
{
    char *s = NULL, *t = NULL;
    int r;

    clear_error ();
    if ((r = job_unit_opts_check (o)) < 0) {
        return r;
    }
    if ((r = job_render_service (job->def, o, &s)) < 0 ||
        (r = job_render_timer (job->def, &t)) < 0) {
        free (s);
        return r;
    }
    *service = s;
    *timer = t;
    return 0;
}

/* ------------------------------------------------------------------ cron */

static int
job_cron_arg (struct sbuf *b, const char *what, const char *s)
{
    for (const char *c = s; *c; c++) {
        if ((unsigned char) *c < 0x20 || *c == 0x7f || *c == '%') {
            return set_error (EINVAL, "%s '%s': a '%%' or control character "
                              "cannot go into a crontab entry", what, s);
        }
    }
    vs_sbuf_addch (b, ' ');
    vs_sbuf_addch (b, '\'');
    for (; *s; s++) {
        if (*s == '\'') {
            vs_sbuf_addstr (b, "'\\''");
        } else {
            vs_sbuf_addch (b, *s);
        }
    }
    vs_sbuf_addch (b, '\'');
    return 0;
}

int
vmshift_job_cron (struct vmshift_job *job,
                  const struct vmshift_job_unit_opts *o, char **text)
{
    const struct job_def *d = job->def;
    char fields[256];
    struct sbuf b;
    int r;

    clear_error ();
    if ((r = job_unit_opts_check (o)) < 0) {
        return r;
    }
    if ((r = job_calendar_cron (&d->cal, d->schedule, fields,
                                sizeof fields)) < 0) {
        error_prepend ("'%s': key 'schedule': ", d->file);
        return r;
    }
    vs_sbuf_init (&b, UNIT_MAX);
    vs_sbuf_printf (&b, "# vmshift job %s: schedule '%s' in %s\n", d->name,
                    d->schedule, d->timezone);
    /* cronie reads CRON_TZ; a cron without it runs in its own zone. */
    vs_sbuf_printf (&b, "CRON_TZ=%s\n%s ", d->timezone, fields);
    if (d->randomized_delay) {
        vs_sbuf_printf (&b, "sleep $(shuf -i 0-%llu -n 1) && ",
                        (unsigned long long) d->randomized_delay);
    }
    vs_sbuf_addstr (&b, "exec");
    if ((r = job_cron_arg (&b, "vmshift", job_vmshift_path (o))) < 0) {
        goto out;
    }
    vs_sbuf_addstr (&b, " job run");
    if (o->metrics_dir) {
        vs_sbuf_addstr (&b, " --metrics-dir");
        if ((r = job_cron_arg (&b, "metrics folder", o->metrics_dir)) < 0) {
            goto out;
        }
    }
    if ((r = job_cron_arg (&b, "job file", d->file)) < 0) {
        goto out;
    }
    vs_sbuf_addch (&b, '\n');
    *text = vs_sbuf_detach (&b, NULL);
    return *text ? 0 : set_error (ENOMEM, "out of memory");
out:
    vs_sbuf_release (&b);
    return r;
}

/* ------------------------------------------------------------ kubernetes */

/* vmshift-job-NAME as an RFC 1123 name: lower case, '_' and '.' as '-'. */
static int
job_kube_name (const struct job_def *d, char *buf, size_t n)
{
    size_t len;

    if ((size_t) snprintf (buf, n, "vmshift-job-%s", d->name) >= n) {
        return -1;
    }
    for (char *c = buf; *c; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            *c = (char) (*c - 'A' + 'a');
        } else if (*c == '_' || *c == '.') {
            *c = '-';
        }
    }
    len = strlen (buf);
    if (len > KUBE_NAME_MAX || buf[len - 1] == '-') {
        return -1;
    }
    return 0;
}

static void
job_kube_container (struct docw *w, const struct job_def *d,
                    const struct vmshift_job_unit_opts *o, const char *sdir)
{
    hv_docw_map (w, NULL);
    hv_docw_str (w, "name", "vmshift");
    hv_docw_str (w, "image", o->image ? o->image
                                      : "vmshift:" VMSHIFT_VERSION_STRING);
    hv_docw_seq (w, "args");
    hv_docw_str (w, NULL, "--config");
    hv_docw_str (w, NULL, "/etc/vmshift/config.json");
    hv_docw_str (w, NULL, "job");
    hv_docw_str (w, NULL, "run");
    hv_docw_str (w, NULL, "/etc/vmshift/job.json");
    hv_docw_end (w);
    if (sdir) {
        hv_docw_seq (w, "env");
        hv_docw_map (w, NULL);
        hv_docw_str (w, "name", "VMSHIFT_STORE");
        hv_docw_str (w, "value", d->store ? d->store
                                          : "/var/lib/vmshift/vmshift.db");
        hv_docw_end (w);
        hv_docw_end (w);
    }
    hv_docw_seq (w, "volumeMounts");
    hv_docw_map (w, NULL);
    hv_docw_str (w, "name", "config");
    hv_docw_str (w, "mountPath", "/etc/vmshift");
    hv_docw_bool (w, "readOnly", true);
    hv_docw_end (w);
    if (sdir) {
        hv_docw_map (w, NULL);
        hv_docw_str (w, "name", "store");
        hv_docw_str (w, "mountPath", sdir);
        hv_docw_end (w);
    }
    hv_docw_end (w);
    hv_docw_end (w);
}

static void
job_kube_pod (struct docw *w, const struct job_def *d,
              const struct vmshift_job_unit_opts *o, const char *name,
              const char *sdir)
{
    hv_docw_map (w, "spec");
    hv_docw_str (w, "restartPolicy", "Never");
    hv_docw_seq (w, "containers");
    job_kube_container (w, d, o, sdir);
    hv_docw_end (w);
    hv_docw_seq (w, "volumes");
    hv_docw_map (w, NULL);
    hv_docw_str (w, "name", "config");
    hv_docw_map (w, "secret");
    hv_docw_str (w, "secretName", o->secret ? o->secret : name);
    hv_docw_u64 (w, "defaultMode", 0400);
    hv_docw_end (w);
    hv_docw_end (w);
    if (sdir) {
        hv_docw_map (w, NULL);
        hv_docw_str (w, "name", "store");
        hv_docw_map (w, "persistentVolumeClaim");
        hv_docw_str (w, "claimName", o->store_claim ? o->store_claim
                                                    : "vmshift-store");
        hv_docw_end (w);
        hv_docw_end (w);
    }
    hv_docw_end (w);
    hv_docw_end (w);
}

static void
job_kube_doc (struct docw *w, const struct job_def *d,
              const struct vmshift_job_unit_opts *o, const char *name,
              const char *cron, const char *sdir)
{
    hv_docw_map (w, NULL);
    hv_docw_str (w, "apiVersion", "batch/v1");
    hv_docw_str (w, "kind", "CronJob");
    hv_docw_map (w, "metadata");
    hv_docw_str (w, "name", name);
    if (o->kube_namespace) {
        hv_docw_str (w, "namespace", o->kube_namespace);
    }
    hv_docw_map (w, "labels");
    hv_docw_str (w, "app.kubernetes.io/name", "vmshift");
    hv_docw_str (w, "vmshift.io/job", name + strlen ("vmshift-job-"));
    hv_docw_end (w);
    hv_docw_end (w);
    hv_docw_map (w, "spec");
    hv_docw_str (w, "schedule", cron);
    hv_docw_str (w, "timeZone", d->timezone);
    hv_docw_str (w, "concurrencyPolicy", "Forbid");
    hv_docw_u64 (w, "startingDeadlineSeconds",
                 d->randomized_delay > 3600 ? d->randomized_delay : 3600);
    hv_docw_u64 (w, "successfulJobsHistoryLimit", 3);
    hv_docw_u64 (w, "failedJobsHistoryLimit", 3);
    hv_docw_map (w, "jobTemplate");
    hv_docw_map (w, "spec");
    hv_docw_u64 (w, "backoffLimit", 0);
    hv_docw_map (w, "template");
    hv_docw_map (w, "metadata");
    hv_docw_map (w, "labels");
    hv_docw_str (w, "app.kubernetes.io/name", "vmshift");
    hv_docw_str (w, "vmshift.io/job", name + strlen ("vmshift-job-"));
    hv_docw_end (w);
    hv_docw_end (w);
    job_kube_pod (w, d, o, name, sdir);
    hv_docw_end (w);
    hv_docw_end (w);
    hv_docw_end (w);
    hv_docw_end (w);
    hv_docw_end (w);
}

/* Option values go into YAML quoted, but must also be what Kubernetes
 * accepts: RFC 1123 names, and an image reference's characters. */
static int
job_kube_opt_ok (const char *what, const char *v, bool image)
{
    size_t n = v ? strlen (v) : 0;

    if (v == NULL) {
        return 0;
    }
    for (const char *c = v; *c; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                  *c == '-' || (*c == '.' && image) ||
                  (image && ((*c >= 'A' && *c <= 'Z') || *c == '_' ||
                             *c == '/' || *c == ':' || *c == '@'));

        if (!ok) {
            n = 0;
        }
    }
    if (n == 0 || n > 253 || (!image && (v[0] == '-' || v[n - 1] == '-'))) {
        return set_error (EINVAL, "%s '%s' is not valid for Kubernetes", what,
                          v);
    }
    return 0;
}

int
vmshift_job_kubernetes (struct vmshift_job *job,
                        const struct vmshift_job_unit_opts *o, char **yaml)
{
    const struct job_def *d = job->def;
    char name[80], cron[256];
    char *sdir = NULL;
    struct sbuf b;
    struct docw w;
    int r;

    clear_error ();
    if ((r = job_unit_opts_check (o)) < 0) {
        return r;
    }
    if ((r = job_kube_opt_ok ("--image", o->image, true)) < 0 ||
        (r = job_kube_opt_ok ("--secret", o->secret, false)) < 0 ||
        (r = job_kube_opt_ok ("--store-claim", o->store_claim, false)) < 0 ||
        (r = job_kube_opt_ok ("--namespace", o->kube_namespace, false)) < 0) {
        return r;
    }
    if (!d->on_ontap) {
        return set_error (EINVAL, "'%s': key 'target.location': a "
                          "Kubernetes CronJob runs ONTAP jobs only (local "
                          "paths belong to one host)", d->file);
    }
    if (job_kube_name (d, name, sizeof name) < 0) {
        return set_error (EINVAL, "'%s': key 'name': 'vmshift-job-%s' is "
                          "not a Kubernetes CronJob name (at most %d "
                          "characters, not ending in '-', '_' or '.')",
                          d->file, d->name, KUBE_NAME_MAX);
    }
    if ((r = job_calendar_cron (&d->cal, d->schedule, cron, sizeof cron)) <
        0) {
        error_prepend ("'%s': key 'schedule': ", d->file);
        return r;
    }
    if (d->store == NULL || !strstr (d->store, "://")) {
        sdir = d->store ? job_store_dir (d) : strdup ("/var/lib/vmshift");
        if (sdir == NULL) {
            return set_error (ENOMEM, "out of memory");
        }
    }
    vs_sbuf_init (&b, UNIT_MAX);
    vs_sbuf_printf (&b, "# vmshift job %s as a Kubernetes CronJob.  The "
                    "Secret holds config.json (the\n# ONTAP profiles, "
                    "password_file under /etc/vmshift/), job.json and the "
                    "password:\n#   kubectl create secret generic %s "
                    "--from-file=config.json --from-file=job.json "
                    "--from-file=PASSWORD_FILE\n", d->name,
                    o->secret ? o->secret : name);
    hv_docw_init (&w, &b, false);
    job_kube_doc (&w, d, o, name, cron, sdir);
    free (sdir);
    *yaml = vs_sbuf_detach (&b, NULL);
    return *yaml ? 0 : set_error (ENOMEM, "out of memory");
}
