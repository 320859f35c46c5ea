/* ontap-sim: command line, start-up and shutdown (docs/ontap-sim.md). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "tools/ontap-sim/sim.h"

#define SIM_MAX_FLEXGROUPS 16

struct sim sim = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .job_cond = PTHREAD_COND_INITIALIZER,
};

struct sim_opts {
    const char *root, *cert, *key, *pwfile, *port_file, *log, *state;
    unsigned port;
    char *flexgroups[SIM_MAX_FLEXGROUPS];
    size_t nfg;
};

static const char sim_usage[] =
    "Usage: ontap-sim --root DIR --cert PEM --key PEM --password-file FILE [OPTIONS]\n"
    "An HTTPS simulator of the ONTAP REST API subset vmshift uses; volumes\n"
    "are the subdirectories of DIR.  Listens on 127.0.0.1 only.\n"
    "\n"
    "  --port N               TCP port (default 0: any free port)\n"
    "  --port-file FILE       write the port actually used to FILE\n"
    "  --user NAME            Basic auth user (default admin)\n"
    "  --password-file FILE   password (first line; mode 0600 or stricter)\n"
    "  --cluster-name NAME    (default sim-cluster)\n"
    "  --ontap-version X.Y.Z  reported version (default 9.15.1)\n"
    "  --svm NAME             the one SVM (default svm0)\n"
    "  --flexgroup VOL        report VOL as a FlexGroup (repeatable)\n"
    "  --state-file FILE      qtree/snapshot metadata (default DIR/.ontap-sim-state.json)\n"
    "  --request-log FILE     append one JSON line per request\n"
    "  --job-duration-ms N    queued+running time of a job (default 200)\n"
    "  --job-purge-ms N       forget finished jobs after N ms (default 300000)\n"
    "  --max-ranges N         sub-file clone ranges per call (default 32)\n"
    "Faults (also settable at run time by POST /sim/control):\n"
    "  --delay-ms N           delay every /api reply by N ms\n"
    "  --error-rate X         answer this fraction of /api requests with 500\n"
    "  --seed N               seed for --error-rate (default 1)\n"
    "  --ebusy N              refuse the next N file clones (409, split load)\n"
    "  --fail-jobs N          the next N jobs end in failure\n"
    "  --hide-jobs N          the next N jobs are never visible to GET\n"
    "  --drop N               close the next N /api connections without a reply\n"
    "  --fault-match PREFIX   limit faults to \"METHOD /path\" starting with PREFIX\n"
    "  --help                 this text\n";

enum {
    O_ROOT = 256, O_PORT, O_PORT_FILE, O_CERT, O_KEY, O_USER, O_PWFILE,
    O_CLUSTER, O_VERSION, O_SVM, O_FLEXGROUP, O_STATE, O_LOG, O_JOBDUR,
    O_PURGE, O_MAXR, O_DELAY, O_ERATE, O_SEED, O_EBUSY, O_FAILJ, O_HIDEJ,
    O_DROP, O_MATCH, O_HELP,
};

static const struct option sim_longopts[] = {
    { "root", 1, 0, O_ROOT }, { "port", 1, 0, O_PORT },
    { "port-file", 1, 0, O_PORT_FILE }, { "cert", 1, 0, O_CERT },
    { "key", 1, 0, O_KEY }, { "user", 1, 0, O_USER },
    { "password-file", 1, 0, O_PWFILE }, { "cluster-name", 1, 0, O_CLUSTER },
    { "ontap-version", 1, 0, O_VERSION }, { "svm", 1, 0, O_SVM },
    { "flexgroup", 1, 0, O_FLEXGROUP }, { "state-file", 1, 0, O_STATE },
    { "request-log", 1, 0, O_LOG }, { "job-duration-ms", 1, 0, O_JOBDUR },
    { "job-purge-ms", 1, 0, O_PURGE }, { "max-ranges", 1, 0, O_MAXR },
    { "delay-ms", 1, 0, O_DELAY }, { "error-rate", 1, 0, O_ERATE },
    { "seed", 1, 0, O_SEED }, { "ebusy", 1, 0, O_EBUSY },
    { "fail-jobs", 1, 0, O_FAILJ }, { "hide-jobs", 1, 0, O_HIDEJ },
    { "drop", 1, 0, O_DROP }, { "fault-match", 1, 0, O_MATCH },
    { "help", 0, 0, O_HELP }, { 0, 0, 0, 0 },
};

static int
sim_die (const char *fmt, const char *arg)
{
    fprintf (stderr, "ontap-sim: ");
    fprintf (stderr, fmt, arg);
    fputc ('\n', stderr);
    return 2;
}

static int
sim_uint (const char *s, uint64_t max, unsigned *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull (s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max) {
        return -1;
    }
    *out = (unsigned) v;
    return 0;
}

static int
sim_set_str (char *dst, size_t n, const char *s)
{
    if (strlen (s) >= n || s[0] == '\0') {
        return -1;
    }
    memcpy (dst, s, strlen (s) + 1);
    return 0;
}

static int
sim_opt_num (int c, const char *a)
{
    unsigned v;
    char *end;

    switch (c) {
    case O_JOBDUR: return sim_uint (a, 3600000, &sim.set.job_duration_ms);
    case O_PURGE: return sim_uint (a, 86400000, &sim.set.job_purge_ms);
    case O_MAXR:
        return sim_uint (a, SIM_MAX_RANGES_HARD, &sim.set.max_ranges) < 0 ||
               sim.set.max_ranges == 0 ? -1 : 0;
    case O_DELAY: return sim_uint (a, 600000, &sim.set.delay_ms);
    case O_EBUSY: return sim_uint (a, 1000000, &sim.set.ebusy_count);
    case O_FAILJ: return sim_uint (a, 1000000, &sim.set.fail_jobs);
    case O_HIDEJ: return sim_uint (a, 1000000, &sim.set.hide_jobs);
    case O_DROP: return sim_uint (a, 1000000, &sim.set.drop_count);
    case O_SEED:
        if (sim_uint (a, UINT32_MAX, &v) < 0) {
            return -1;
        }
        sim.set.seed = v;
        return 0;
    case O_ERATE:
        errno = 0;
        sim.set.error_rate = strtod (a, &end);
        return errno || end == a || *end || !(sim.set.error_rate >= 0 &&
                                               sim.set.error_rate <= 1) ? -1 : 0;
    }
    return 1;
}

static int
sim_opt_str (int c, const char *a, struct sim_opts *o)
{
    switch (c) {
    case O_ROOT: o->root = a; return 0;
    case O_CERT: o->cert = a; return 0;
    case O_KEY: o->key = a; return 0;
    case O_PWFILE: o->pwfile = a; return 0;
    case O_PORT_FILE: o->port_file = a; return 0;
    case O_LOG: o->log = a; return 0;
    case O_STATE: o->state = a; return 0;
    case O_PORT: return sim_uint (a, 65535, &o->port);
    case O_USER: return sim_set_str (sim.user, sizeof sim.user, a);
    case O_CLUSTER: return sim_set_str (sim.cluster_name,
                                        sizeof sim.cluster_name, a);
    case O_SVM: return sim_set_str (sim.svm_name, sizeof sim.svm_name, a);
    case O_VERSION: return sim_set_str (sim.version, sizeof sim.version, a);
    case O_MATCH: return sim_set_str (sim.set.fault_match,
                                      sizeof sim.set.fault_match, a);
    case O_FLEXGROUP:
        if (o->nfg >= SIM_MAX_FLEXGROUPS) {
            return -1;
        }
        o->flexgroups[o->nfg++] = (char *) a;
        return 0;
    }
    return sim_opt_num (c, a);
}

/* "9.14.1" -> generation 9, major 14, minor 1. */
static int
sim_parse_version (const char *v)
{
    unsigned *parts[3] = { &sim.vgen, &sim.vmajor, &sim.vminor };
    const char *p = v;

    for (int i = 0; i < 3; i++) {
        char *end;
        unsigned long n;

        if (*p < '0' || *p > '9') {
            return -1;
        }
        n = strtoul (p, &end, 10);
        if (n > 999 || *end != (i < 2 ? '.' : '\0')) {
            return -1;
        }
        *parts[i] = (unsigned) n;
        p = end + (i < 2);
    }
    return 0;
}

static int
sim_parse_args (int argc, char **argv, struct sim_opts *o)
{
    int c;

    while ((c = getopt_long (argc, argv, "", sim_longopts, NULL)) != -1) {
        if (c == O_HELP) {
            fputs (sim_usage, stdout);
            exit (0);
        }
        if (c == '?') {
            return sim_die ("%s", "bad option (see --help)");
        }
        if (sim_opt_str (c, optarg, o) != 0) {
            return sim_die ("bad value '%s'", optarg);
        }
    }
    if (optind < argc) {
        return sim_die ("unexpected argument '%s'", argv[optind]);
    }
    if (!o->root || !o->cert || !o->key || !o->pwfile) {
        return sim_die ("%s", "--root, --cert, --key and --password-file are "
                        "required (see --help)");
    }
    if (sim_parse_version (sim.version) < 0) {
        return sim_die ("bad --ontap-version '%s' (want X.Y.Z)", sim.version);
    }
    return 0;
}

/* The password file must not be readable by group or others, like the
 * client's rule for its own password files. */
static int
sim_load_password (const char *path)
{
    struct stat st;
    size_t len;
    char *p;
    int r;

    if (stat (path, &st) < 0) {
        return set_error (errno, "cannot stat '%s': %s", path, strerror (errno));
    }
    if (st.st_mode & 077) {
        return set_error (EPERM, "password file '%s' has mode %03o; it must be "
                          "0600 or stricter", path, (unsigned) st.st_mode & 0777);
    }
    if ((r = sim_read_file (path, 4096, &p, &len)) < 0) {
        return r;
    }
    p[strcspn (p, "\r\n")] = '\0';
    if (p[0] == '\0') {
        free (p);
        return set_error (EINVAL, "password file '%s' is empty", path);
    }
    sim.password = p;
    return 0;
}

static void
sim_defaults (void)
{
    snprintf (sim.user, sizeof sim.user, "admin");
    snprintf (sim.cluster_name, sizeof sim.cluster_name, "sim-cluster");
    snprintf (sim.svm_name, sizeof sim.svm_name, "svm0");
    snprintf (sim.version, sizeof sim.version, "9.15.1");
    sim.set.job_duration_ms = 200;
    sim.set.job_purge_ms = 300000;
    sim.set.max_ranges = 32;
    sim.set.seed = 1;
}

static int
sim_setup (const struct sim_opts *o)
{
    char id[2 * SIM_NAME_MAX];
    int r;

    sim.rng = sim.set.seed;
    sim.root = realpath (o->root, NULL);
    if (sim.root == NULL) {
        return set_error (errno, "root directory '%s': %s", o->root,
                          strerror (errno));
    }
    if ((o->state && (sim.state_file = strdup (o->state)) == NULL) ||
        (!o->state && asprintf (&sim.state_file, "%s/.ontap-sim-state.json",
                                sim.root) < 0)) {
        return set_error (ENOMEM, "out of memory");
    }
    snprintf (id, sizeof id, "cluster/%s", sim.cluster_name);
    sim_uuid_from_name (id, sim.cluster_uuid);
    snprintf (id, sizeof id, "svm/%s", sim.svm_name);
    sim_uuid_from_name (id, sim.svm_uuid);
    if ((r = sim_load_password (o->pwfile)) < 0 ||
        (r = sim_state_init (sim.root, (char **) o->flexgroups, o->nfg)) < 0) {
        return r;
    }
    if (o->log && (sim.log = fopen (o->log, "a")) == NULL) {
        return set_error (errno, "cannot open request log '%s': %s", o->log,
                          strerror (errno));
    }
    return 0;
}

int
main (int argc, char **argv)
{
    struct sim_opts o;
    sigset_t set;
    int r;

    memset (&o, 0, sizeof o);
    sim_defaults ();
    if ((r = sim_parse_args (argc, argv, &o)) != 0) {
        return r;
    }
    /* Block the stop signals in every thread; the main thread waits for
     * them with sigwait() in sim_http_run(). */
    sigemptyset (&set);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGINT);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
    signal (SIGPIPE, SIG_IGN);
    r = sim_setup (&o);
    if (r == 0) {
        r = sim_jobs_start ();
    }
    if (r == 0) {
        r = sim_http_run (o.port, o.cert, o.key, o.port_file);
    }
    sim_jobs_stop ();
    if (r < 0) {
        fprintf (stderr, "ontap-sim: %s\n", vmshift_internal_error_msg ());
    }
    pthread_mutex_lock (&sim.lock);
    sim_state_save ();
    pthread_mutex_unlock (&sim.lock);
    sim_state_free ();
    if (sim.log) {
        fclose (sim.log);
    }
    free (sim.root);
    free (sim.state_file);
    free (sim.password);
    return r < 0 ? 1 : 0;
}
