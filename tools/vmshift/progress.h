/* What a person watches while vmshift works (docs/man/vmshift-migrate.1,
 * OUTPUT; docs/man/vmshift-convert.1): the events of a migration run as a
 * live table (stdout a terminal), plain lines (not a terminal) or JSON
 * lines (--json); and the copy progress of a conversion on a terminal.
 * The library only reports (engine/vmshift.h: vmshift_run_event,
 * vmshift_progress); everything here is presentation. */
#ifndef VMSHIFT_CLI_PROGRESS_H
#define VMSHIFT_CLI_PROGRESS_H

#include <stdio.h>

#include "engine/vmshift.h"

enum cli_ev_mode { CLI_EV_PLAIN = 0, CLI_EV_JSON, CLI_EV_TABLE };

struct cli_events;
/* json: JSON lines; otherwise a table when stdout is a terminal, else
 * plain lines.  NULL when out of memory. */
struct cli_events *cli_events_new (int json);
enum cli_ev_mode cli_events_mode (const struct cli_events *ev);
/* vmshift_run_opts.on_run_event (opaque: the struct cli_events). */
void cli_events_cb (void *opaque, const struct vmshift_run_event *e);
/* A line to print above the table at the next drawing (a log message
 * that would otherwise break it); printed at once in the other modes. */
void cli_events_message (struct cli_events *ev, const char *line);
/* The last drawing (the table as it ended); frees ev. */
void cli_events_finish (struct cli_events *ev);

struct cli_copy;
/* Copy progress of n disks on stderr, or NULL when stderr is not a
 * terminal (then nothing is shown). */
struct cli_copy *cli_copy_new (size_t n);
/* vmshift_convert_opts.progress (opaque: the struct cli_copy). */
void cli_copy_cb (void *opaque, const struct vmshift_progress *p);
/* Erase the progress line; frees cp (NULL is fine). */
void cli_copy_finish (struct cli_copy *cp);

/* "1.5 GiB", "512 MiB", "0 B" into buf. */
void cli_human_bytes (char *buf, size_t n, uint64_t bytes);

#endif
