/* graphpipe - event sinks for people and for batch jobs.
 *
 * Next to the plain line logger (gp-event.h): a live progress bar for a
 * terminal, and a writer of JSON lines (one object per event, ending in a
 * report object with the counters and per-stage timings) that batch jobs
 * parse.  The fields of the JSON objects are documented in README.md.
 */
#pragma once

#include <stdio.h>

#include "gp-macros.h"
#include "gp-event.h"
#include "gp-context.h"

G_BEGIN_DECLS

GP_API gboolean gp_progress_bar_supported (FILE *stream);
GP_API guint gp_context_add_progress_bar (GpContext *ctx, FILE *stream, GpVerbosity verbosity);
GP_API char *gp_event_format_json (const GpEvent *event);
GP_API guint gp_context_add_json_writer (GpContext *ctx, FILE *stream);

G_END_DECLS
