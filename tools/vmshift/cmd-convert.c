/* vmshift convert [options] SOURCE TARGET */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/vmshift/cli.h"
#include "tools/vmshift/progress.h"

static void
convert_usage (FILE *fp)
{
    char formats[256];

    cli_format_list (formats, sizeof formats);
    fprintf (fp,
"Usage: vmshift convert [OPTIONS] SOURCE TARGET [SOURCE TARGET ...]\n"
"\n"
"Convert a disk image by sharing its data blocks with the source (clone)\n"
"and writing only the target format's metadata.  The source is opened\n"
"read-only.  The target is written under a temporary name in its\n"
"directory, checked, and renamed into place only when complete.\n"
"\n"
"  --to FORMAT          %s (default: TARGET's extension)\n"
"  --block-size N       VHDX block size, power of 2 from 1M to 256M (default 32M)\n"
"  --fixed              fixed disk: VHDX (every block present), VHD (data +\n"
"                       footer, as Azure takes it), VDI (all blocks allocated)\n"
"  --vhdx-unallocated zero|not-present  VHDX blocks with no data: ZERO, which\n"
"                       the spec says reads as zeros (default), or\n"
"                       NOT_PRESENT, as Hyper-V leaves them (no BAT bytes\n"
"                       written for them; readers return zeros)\n"
"  --cluster-size N     QCOW2 cluster size, 4K..2M (default 2M)\n"
"  --qcow2-data-file    QCOW2 metadata over a new raw data file TARGET-STEM-data.raw\n"
"  --dry-run            plan only; print the plan (with --json: as JSON)\n"
"  --json               print the result record (or plan) as JSON\n"
"  --verify             compare guest data after writing\n"
"  --force              replace an existing TARGET\n"
"  --no-clone           copy data instead of sharing blocks (and write\n"
"                       all metadata: nothing shared, not even within\n"
"                       the target)\n"
"  -h, --help           this help\n"
"\n"
"ONTAP (ontap://PROFILE/VOLUME/path locations, source and target on one\n"
"volume; several SOURCE TARGET pairs share one snapshot per volume):\n"
"  --snapshot NAME      read the sources from this existing snapshot\n"
"  --keep-snapshot      keep the snapshot this run creates\n"
"  --parallel N         conversions in flight per volume (default 10)\n"
"  --qtree-style refuse|fix  a target qtree with another security style:\n"
"                       fail (default), or change its style\n"
"\n"
"SOURCE and TARGET are local paths or ontap:// locations; profiles come\n"
"from --config (see vmshift(1)).  Exit status: see vmshift(1).\n",
             formats);
}

/* --block-size / --cluster-size: a power of two in [min, max], as the
 * help says; checked here so a bad value is a usage error (exit 2), not
 * a planning failure (exit 3) after the source was read. */
static int
convert_pow2_opt (struct cli *c, const char *name, const char *arg,
                  long long min, long long max, const char *range,
                  uint32_t *out)
{
    long long n = cli_parse_size (arg);

    if (n < min || n > max || (n & (n - 1)) != 0) {
        return cli_usage_error (c, "convert", "bad %s '%s' (a power of two "
                                "from %s)", name, arg, range);
    }
    *out = (uint32_t) n;
    return 0;
}

/* Where a target lands, for spotting one target given twice: an
 * ontap:// location with its '/' runs and "." components folded, a local
 * file by its resolved directory (as written when it does not exist). */
static char *
convert_target_key (const char *t)
{
    char *key, *o;

    if (strncmp (t, "ontap://", 8) == 0) {
        key = malloc (strlen (t) + 1);
        if (key == NULL) {
            return NULL;
        }
        strcpy (key, "ontap://");
        o = key + 8;
        for (const char *p = t + 8; *p;) {
            size_t l = strcspn (p, "/");

            if (l > 0 && !(l == 1 && p[0] == '.')) {
                if (o > key + 8) {
                    *o++ = '/';
                }
                memcpy (o, p, l);
                o += l;
            }
            p += l + (p[l] == '/');
        }
        *o = '\0';
        return key;
    }
    {
        const char *slash = strrchr (t, '/');
        char *dir = slash ? strndup (t, (size_t) (slash - t + (slash == t)))
                          : strdup (".");
        char *rdir = dir ? realpath (dir, NULL) : NULL;
        const char *base = slash ? slash + 1 : t;

        key = NULL;
        if (dir && asprintf (&key, "%s/%s", rdir ? rdir : dir, base) < 0) {
            key = NULL;
        }
        free (rdir);
        free (dir);
        return key;
    }
}

/* The same target twice in one call is a usage error, found before
 * anything starts (the library refuses it too). */
static int
convert_check_duplicates (struct cli *c, int nargs, char **args)
{
    int n = nargs / 2, rc = EXIT_OK;
    char **keys = calloc ((size_t) n, sizeof *keys);

    if (keys == NULL) {
        fprintf (stderr, "%s: convert: out of memory\n", c->prog);
        return EXIT_SYSTEM;
    }
    for (int i = 0; i < n && rc == EXIT_OK; i++) {
        keys[i] = convert_target_key (args[2 * i + 1]);
        for (int j = 0; j < i && keys[i] && rc == EXIT_OK; j++) {
            if (keys[j] && strcmp (keys[i], keys[j]) == 0) {
                rc = cli_usage_error (c, "convert", "target '%s' is given "
                                      "twice (also as '%s')",
                                      args[2 * i + 1], args[2 * j + 1]);
            }
        }
    }
    for (int i = 0; i < n; i++) {
        free (keys[i]);
    }
    free (keys);
    return rc;
}

/* Several pairs: one record each (a JSON array with --json); every
 * failure is reported on its own line; the exit code is that of the
 * first failure. */
static int
convert_many (struct cli *c, const struct vmshift_convert_opts *o, int json,
              int nargs, char **args)
{
    size_t n = (size_t) nargs / 2;
    const char **src = calloc (n, sizeof *src), **dst = calloc (n, sizeof *dst);
    struct vmshift_result **res = calloc (n, sizeof *res);
    char **err = calloc (n, sizeof *err);
    int rc = EXIT_OK, r, printed = 0;

    if (!src || !dst || !res || !err) {
        fprintf (stderr, "%s: convert: out of memory\n", c->prog);
        free (src);
        free (dst);
        free (res);
        free (err);
        return EXIT_SYSTEM;
    }
    for (size_t i = 0; i < n; i++) {
        src[i] = args[2 * i];
        dst[i] = args[2 * i + 1];
    }
    {
        struct vmshift_convert_opts po = *o;
        struct cli_copy *cp = o->dry_run ? NULL : cli_copy_new (n);

        po.progress = cp ? cli_copy_cb : NULL;
        po.progress_opaque = cp;
        r = vmshift_convert_many (c->h, n, src, dst, &po, res, err);
        cli_copy_finish (cp);
    }
    if (r < 0) {
        rc = cli_error_exit ();     /* the first failure's */
    }
    if (json) {
        printf ("[\n");
    }
    for (size_t i = 0; i < n; i++) {
        if (err[i]) {
            fprintf (stderr, "%s: convert: %s\n", c->prog, err[i]);
        } else if (res[i]) {
            char *out = json ? vmshift_result_json (res[i], 1)
                             : vmshift_result_text (res[i]);

            if (out) {
                if (json && printed++) {
                    printf (",");
                }
                fputs (out, stdout);
                free (out);
            }
        }
        free (err[i]);
        vmshift_result_free (res[i]);
    }
    if (json) {
        printf ("]\n");
    }
    free (src);
    free (dst);
    free (res);
    free (err);
    return cli_finish_stdout (c, "convert", rc);
}

int
cmd_convert (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "to", required_argument, NULL, 't' },
        { "block-size", required_argument, NULL, 'b' },
        { "fixed", no_argument, NULL, 'F' },
        { "vhdx-unallocated", required_argument, NULL, 'U' },
        { "cluster-size", required_argument, NULL, 'c' },
        { "qcow2-data-file", no_argument, NULL, 'D' },
        { "dry-run", no_argument, NULL, 'n' },
        { "json", no_argument, NULL, 'j' },
        { "verify", no_argument, NULL, 'V' },
        { "force", no_argument, NULL, 'f' },
        { "no-clone", no_argument, NULL, 'N' },
        { "snapshot", required_argument, NULL, 's' },
        { "keep-snapshot", no_argument, NULL, 'k' },
        { "parallel", required_argument, NULL, 'p' },
        { "qtree-style", required_argument, NULL, 'Q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vmshift_convert_opts o;
    struct vmshift_result *res = NULL;
    int opt, json = 0;
    long long n;
    char *out, *end;

    vmshift_convert_opts_init (&o);
    while ((opt = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 't':
            if (vmshift_format_from_name (optarg, &o.to) < 0) {
                return cli_usage_error (c, "convert", "%s",
                                        vmshift_get_error ());
            }
            break;
        case 'b':
            if (convert_pow2_opt (c, "--block-size", optarg, 1LL << 20,
                                  256LL << 20, "1M to 256M", &o.block_size)) {
                return EXIT_USAGE;
            }
            break;
        case 'c':
            if (convert_pow2_opt (c, "--cluster-size", optarg, 4096,
                                  2LL << 20, "4K to 2M", &o.cluster_size)) {
                return EXIT_USAGE;
            }
            break;
        case 'F': o.vhdx_fixed = 1; break;
        case 'U':
            if (cli_vhdx_unallocated (optarg, &o.vhdx_unallocated) < 0) {
                return cli_usage_error (c, "convert", "--vhdx-unallocated "
                                        "must be 'zero' or 'not-present', "
                                        "not '%s'", optarg);
            }
            break;
        case 'D': o.qcow2_data_file = 1; break;
        case 'n': o.dry_run = 1; break;
        case 'j': json = 1; break;
        case 'V': o.verify = 1; break;
        case 'f': o.force = 1; break;
        case 'N': o.no_clone = 1; break;
        case 's': o.snapshot = optarg; break;
        case 'k': o.keep_snapshot = 1; break;
        case 'p':
            /* strtoll, not atoll: "5x" is an error, not 5 */
            n = strtoll (optarg, &end, 10);
            if (end == optarg || *end != '\0' || n < 1 || n > 64) {
                return cli_usage_error (c, "convert", "--parallel must be "
                                        "1..64");
            }
            o.parallel = (unsigned) n;
            break;
        case 'Q':
            if (strcmp (optarg, "refuse") == 0) {
                o.qtree_style = VMSHIFT_QTREE_STYLE_REFUSE;
            } else if (strcmp (optarg, "fix") == 0) {
                o.qtree_style = VMSHIFT_QTREE_STYLE_FIX;
            } else {
                return cli_usage_error (c, "convert", "--qtree-style must be "
                                        "'refuse' or 'fix', not '%s'", optarg);
            }
            break;
        case 'h':
            convert_usage (stdout);
            return EXIT_OK;
        default:
            return cli_bad_option (c, "convert", opt, argv);
        }
    }
    if (argc - optind < 2 || (argc - optind) % 2) {
        return cli_usage_error (c, "convert", "expected SOURCE TARGET pairs");
    }
    if (argc - optind > 2) {
        int rc = convert_check_duplicates (c, argc - optind, argv + optind);

        if (rc) {
            return rc;
        }
    }
    if (argc - optind == 2) {
        struct cli_copy *cp = o.dry_run ? NULL : cli_copy_new (1);
        int r;

        o.progress = cp ? cli_copy_cb : NULL;
        o.progress_opaque = cp;
        r = vmshift_convert (c->h, argv[optind], argv[optind + 1], &o, &res);
        cli_copy_finish (cp);
        if (r < 0) {
            return cli_fail (c, "convert");
        }
        out = json ? vmshift_result_json (res, 1) : vmshift_result_text (res);
        if (out) {
            fputs (out, stdout);
            free (out);
        }
        vmshift_result_free (res);
        return out ? cli_finish_stdout (c, "convert", EXIT_OK)
                   : cli_fail (c, "convert");
    }
    return convert_many (c, &o, json, argc - optind, argv + optind);
}
