/* Shared pieces of the vmshift command line.  The CLI is a thin layer:
 * parse argv, call vmshift_*, print the result or the one-line error.
 *
 * Exit codes (docs/man/vmshift.1, EXIT STATUS):
 *   0  success
 *   1  the command ran and found a problem (info: validation problems,
 *      verify: images differ)
 *   2  usage error (bad option or argument)
 *   3  input error: bad or unsupported source, corrupt file, bad config
 *      or credentials, source and target on different ONTAP volumes
 *   4  target error: exists (without --force), cannot be written
 *   5  system or I/O error, or a remote service failed (ONTAP, NFS)
 */
#ifndef VMSHIFT_CLI_H
#define VMSHIFT_CLI_H

#include <stdio.h>

#include "engine/vmshift.h"

enum {
    EXIT_OK = 0, EXIT_FOUND = 1, EXIT_USAGE = 2, EXIT_INPUT = 3,
    EXIT_TARGET = 4, EXIT_SYSTEM = 5,
};

struct cli {
    struct vmshift_handle *h;
    const char *prog;           /* "vmshift" */
    int verbose;
    int quiet;
};

struct cli_command {
    const char *name;
    const char *summary;
    int (*run) (struct cli *c, int argc, char **argv);
};

/* Print "vmshift: CMD: <library error>" and return the exit code that
 * fits the library's errno. */
int cli_fail (struct cli *c, const char *cmd);
/* Print "vmshift: CMD: message" and return EXIT_USAGE. */
int cli_usage_error (struct cli *c, const char *cmd, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
int cli_errno_to_exit (int err);
/* The exit code for the library's last error: by its errno, and exit 4
 * for a missing or unwritable place when its class is TARGET. */
int cli_error_exit (void);
/* Flush stdout; on failure (a full disk, a closed pipe) print one line
 * and return EXIT_SYSTEM, else rc: "vmshift info X > /dev/full" must not
 * exit 0 with the report lost. */
int cli_finish_stdout (struct cli *c, const char *cmd, int rc);
/* One line for getopt's '?' (unknown option) or ':' (missing value; the
 * optstring starts with ':' and opterr is 0, set by main): returns
 * EXIT_USAGE. */
int cli_bad_option (struct cli *c, const char *cmd, int opt, char **argv);
/* The library's log messages on stderr (vmshift_set_log; opaque: the
 * struct cli), filtered by --quiet and --verbose; cli_log_line formats
 * one into buf and returns 0 when it is filtered out. */
void cli_log (void *opaque, int level, const char *msg);
int cli_log_line (const struct cli *c, int level, const char *msg, char *buf,
                  size_t n);
/* Parse "32M", "2MiB", "4096", "1T": bytes; -1 on error. */
long long cli_parse_size (const char *s);

/* --vhdx-unallocated: "zero" or "not-present" into *out (enum
 * vmshift_vhdx_unallocated); -1 for anything else. */
int cli_vhdx_unallocated (const char *s, int *out);

/* "raw, vmdk, vhdx or qcow2": the formats the library can write, in its
 * table's order (for help texts); cut to n bytes. */
void cli_format_list (char *buf, size_t n);

/* Commands (one file each: cmd-<name>.c). */
int cmd_convert (struct cli *c, int argc, char **argv);
int cmd_info (struct cli *c, int argc, char **argv);
int cmd_verify (struct cli *c, int argc, char **argv);
int cmd_bench (struct cli *c, int argc, char **argv);
int cmd_inspect (struct cli *c, int argc, char **argv);
int cmd_define (struct cli *c, int argc, char **argv);
int cmd_guest_scripts (struct cli *c, int argc, char **argv);
int cmd_job (struct cli *c, int argc, char **argv);
int cmd_blueprint (struct cli *c, int argc, char **argv);
int cmd_migrate (struct cli *c, int argc, char **argv);
int cmd_runs (struct cli *c, int argc, char **argv);
int cmd_inventory (struct cli *c, int argc, char **argv);
int cmd_vcenter (struct cli *c, int argc, char **argv);

#endif
