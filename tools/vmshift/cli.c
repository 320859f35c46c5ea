/* Helpers shared by the commands. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/vmshift/cli.h"

int
cli_errno_to_exit (int err)
{
    switch (err) {
    case EINVAL: case ENOTSUP: case EFBIG: case EPROTO: case ENOENT:
    case EILSEQ: case ENOEXEC: case EXDEV: case EACCES: case EPERM:
        return EXIT_INPUT;
    case EEXIST: case ENOSPC: case EROFS: case EISDIR: case ENOTDIR:
        return EXIT_TARGET;
    default:
        return EXIT_SYSTEM;
    }
}

int
cli_error_exit (void)
{
    struct vmshift_error_info e;

    vmshift_error_info_init (&e);
    if (vmshift_get_error_info (&e) < 0) {
        return EXIT_SYSTEM;
    }
    /* A missing or unwritable place is the target's when the library says
     * the target failed (the same errno on the source is exit 3). */
    if (e.error_class == VMSHIFT_ERROR_TARGET &&
        (e.errnum == ENOENT || e.errnum == EACCES || e.errnum == EPERM ||
         e.errnum == ENOTDIR)) {
        return EXIT_TARGET;
    }
    return cli_errno_to_exit (e.errnum);
}

int
cli_fail (struct cli *c, const char *cmd)
{
    const char *msg = vmshift_get_error ();
    int err = vmshift_get_errno ();

    if (msg == NULL || *msg == '\0') {
        msg = strerror (err ? err : EIO);
    }
    fprintf (stderr, "%s: %s: %s\n", c->prog, cmd, msg);
    return cli_error_exit ();
}

int
cli_usage_error (struct cli *c, const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    /* one line: an argument with a newline must not make a second */
    for (char *p = msg; *p; p++) {
        if ((unsigned char) *p < 0x20 || *p == 0x7f) {
            *p = '?';
        }
    }
    fprintf (stderr, "%s: %s: %s (try 'vmshift %s --help')\n", c->prog, cmd,
             msg, cmd);
    return EXIT_USAGE;
}

int
cli_finish_stdout (struct cli *c, const char *cmd, int rc)
{
    if (fflush (stdout) != 0 || ferror (stdout)) {
        fprintf (stderr, "%s: %s: cannot write the output: %s\n", c->prog, cmd,
                 strerror (errno ? errno : EIO));
        return EXIT_SYSTEM;
    }
    return rc;
}

int
cli_bad_option (struct cli *c, const char *cmd, int opt, char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "?";

    if (opt == ':') {
        return cli_usage_error (c, cmd, "option '%s' needs a value", arg);
    }
    /* an unknown letter inside "-xy" is not the whole argument */
    if (optopt > 0 && optopt < 128 && strncmp (arg, "--", 2) != 0) {
        return cli_usage_error (c, cmd, "unknown option '-%c'", optopt);
    }
    return cli_usage_error (c, cmd, "unknown option '%s'", arg);
}

long long
cli_parse_size (const char *s)
{
    char *end;
    unsigned long long v;
    unsigned shift = 0;

    if (s == NULL || *s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull (s, &end, 10);
    if (errno) {
        return -1;
    }
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    case 'p': case 'P': shift = 50; end++; break;
    default: return -1;
    }
    if (shift && (strcmp (end, "") == 0 || strcmp (end, "iB") == 0 ||
                  strcmp (end, "B") == 0)) {
        end += strlen (end);
    }
    if (*end != '\0' || v > (0x7fffffffffffffffULL >> shift)) {
        return -1;
    }
    return (long long) (v << shift);
}

int
cli_vhdx_unallocated (const char *s, int *out)
{
    if (strcmp (s, "zero") == 0) {
        *out = VMSHIFT_VHDX_UNALLOCATED_ZERO;
    } else if (strcmp (s, "not-present") == 0) {
        *out = VMSHIFT_VHDX_UNALLOCATED_NOT_PRESENT;
    } else {
        return -1;
    }
    return 0;
}

void
cli_format_list (char *buf, size_t n)
{
    enum vmshift_format f[64];
    size_t k = 0, used = 0;

    for (size_t i = 0; k < 64 && vmshift_format_at (i) != VMSHIFT_FMT_AUTO;
         i++) {
        if (vmshift_format_can_write (vmshift_format_at (i))) {
            f[k++] = vmshift_format_at (i);
        }
    }
    if (n == 0) {
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        int w = snprintf (buf + used, n - used, "%s%s",
                          i == 0 ? "" : i + 1 == k ? " or " : ", ",
                          vmshift_format_name (f[i]));

        if (w < 0 || (size_t) w >= n - used) {
            return;
        }
        used += (size_t) w;
    }
}
