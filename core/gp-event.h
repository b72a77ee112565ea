/* graphpipe - progress and report events.
 *
 * Stages report what they do as events; the context hands each event to
 * every sink (gp_context_add_sink()).  The CLI's sink prints plain lines
 * (gp_context_add_line_logger()); later sinks draw a bar or write JSON.
 */
#pragma once

#include "gp-macros.h"

G_BEGIN_DECLS

/**
 * GpEventKind:
 * @GP_EVENT_STAGE_STARTED: a stage's run begins (emitted by the pipeline)
 * @GP_EVENT_STAGE_FINISHED: a stage's run ended successfully (pipeline)
 * @GP_EVENT_ITEM_DONE: one item (an image, a layer, a directory) is done;
 *   @done/@total count items, @message may summarise it
 * @GP_EVENT_PROGRESS: progress within an item or a stage: @done/@total
 *   (units the stage chooses) and @bytes processed so far
 * @GP_EVENT_WARNING: something is wrong with @item but the run goes on
 * @GP_EVENT_ERROR: an error about @item; the stage may still go on
 * @GP_EVENT_REPORT: the final report of a run (@message, several lines)
 *
 * What an event is about.
 */
typedef enum {
  GP_EVENT_STAGE_STARTED,
  GP_EVENT_STAGE_FINISHED,
  GP_EVENT_ITEM_DONE,
  GP_EVENT_PROGRESS,
  GP_EVENT_WARNING,
  GP_EVENT_ERROR,
  GP_EVENT_REPORT,
} GpEventKind;

/**
 * GpEvent:
 * @kind: what happened
 * @stage: (nullable): the stage's name; gp_context_emit() fills in the
 *   running stage when %NULL
 * @item: (nullable): what the event is about (an image ID, a path)
 * @done: items or units done
 * @total: items or units in all, 0 when unknown
 * @bytes: bytes processed
 * @message: (nullable): human-readable text
 *
 * One event.  Emitters build it on the stack with designated initialisers
 * (so that the reserved tail is zeroed) and pass it to gp_context_emit();
 * the strings are borrowed for the duration of the call.
 */
typedef struct {
  GpEventKind kind;
  const char *stage;
  const char *item;
  guint64 done;
  guint64 total;
  guint64 bytes;
  const char *message;
  /*< private >*/
  gpointer reserved[4];
} GpEvent;

/**
 * GpEventFunc:
 * @event: the event; valid only during the call
 * @user_data: the data given to gp_context_add_sink()
 *
 * An event sink.  Sinks are called one at a time (the context holds a lock
 * around the calls), from whichever thread emitted the event.
 */
typedef void (*GpEventFunc) (const GpEvent *event, gpointer user_data);

/**
 * GpVerbosity:
 * @GP_VERBOSITY_QUIET: warnings and errors only
 * @GP_VERBOSITY_NORMAL: also stage start/finish, finished items, the report
 * @GP_VERBOSITY_VERBOSE: also progress events
 *
 * How much a line logger prints.
 */
typedef enum {
  GP_VERBOSITY_QUIET,
  GP_VERBOSITY_NORMAL,
  GP_VERBOSITY_VERBOSE,
} GpVerbosity;

GP_API const char *gp_event_kind_to_string (GpEventKind kind);
GP_API char *gp_event_format_line (const GpEvent *event);

G_END_DECLS
