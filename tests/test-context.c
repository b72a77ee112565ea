/* Tests of GpContext: settings, slots, counters, report, events. */
#include "config.h"

#include <string.h>

#include "gp-context.h"
#include "gp-test-util.h"

static int destroyed;

static void
count_destroy (gpointer data)
{
  destroyed++;
  g_free (data);
}

static void
test_slots (void)
{
  g_autoptr (GpContext) ctx = gp_context_new ();
  destroyed = 0;

  g_assert_null (gp_context_get_slot (ctx, "a"));
  g_assert_false (gp_context_has_slot (ctx, "a"));
  gp_context_set_slot (ctx, "a", g_strdup ("one"), count_destroy);
  g_assert_cmpstr (gp_context_get_slot (ctx, "a"), ==, "one");
  g_assert_true (gp_context_has_slot (ctx, "a"));

  /* Replacing destroys the old data. */
  gp_context_set_slot (ctx, "a", g_strdup ("two"), count_destroy);
  g_assert_cmpint (destroyed, ==, 1);
  g_assert_cmpstr (gp_context_get_slot (ctx, "a"), ==, "two");

  /* Stealing hands it over without destroying. */
  g_autofree char *stolen = gp_context_steal_slot (ctx, "a");
  g_assert_cmpstr (stolen, ==, "two");
  g_assert_cmpint (destroyed, ==, 1);
  g_assert_false (gp_context_has_slot (ctx, "a"));
  g_assert_null (gp_context_steal_slot (ctx, "a"));

  /* Clearing with NULL destroys. */
  gp_context_set_slot (ctx, "b", g_strdup ("three"), count_destroy);
  gp_context_set_slot (ctx, "b", NULL, NULL);
  g_assert_cmpint (destroyed, ==, 2);
  g_assert_false (gp_context_has_slot (ctx, "b"));

  /* The last unref destroys what is left. */
  gp_context_set_slot (ctx, "c", g_strdup ("four"), count_destroy);
  gp_context_set_slot (ctx, "d", g_strdup ("five"), count_destroy);
  g_clear_pointer (&ctx, gp_context_unref);
  g_assert_cmpint (destroyed, ==, 4);
}

static void
test_settings (void)
{
  g_autoptr (GpContext) ctx = gp_context_new ();

  g_assert_null (gp_context_get_root (ctx));
  g_assert_null (gp_context_get_driver (ctx));
  g_assert_null (gp_context_get_output (ctx));
  g_assert_cmpuint (gp_context_get_jobs (ctx), ==, g_get_num_processors ());
  guint n_cpus = (guint) g_get_num_processors ();
  g_assert_cmpuint (gp_context_get_io_jobs (ctx), ==, n_cpus + MIN (n_cpus, 8));
  g_assert_false (gp_context_get_dry_run (ctx));
  g_assert_false (gp_context_get_read_only_source (ctx));
  g_assert_false (gp_context_get_strict (ctx));

  gp_context_set_root (ctx, "/var/lib/docker");
  gp_context_set_driver (ctx, "overlay2");
  gp_context_set_output (ctx, "-");
  gp_context_set_jobs (ctx, 3);
  gp_context_set_dry_run (ctx, TRUE);
  gp_context_set_read_only_source (ctx, TRUE);
  gp_context_set_strict (ctx, TRUE);
  g_assert_cmpstr (gp_context_get_root (ctx), ==, "/var/lib/docker");
  g_assert_cmpstr (gp_context_get_driver (ctx), ==, "overlay2");
  g_assert_cmpstr (gp_context_get_output (ctx), ==, "-");
  g_assert_cmpuint (gp_context_get_jobs (ctx), ==, 3);
  g_assert_cmpuint (gp_context_get_io_jobs (ctx), ==, 3);
  g_assert_true (gp_context_get_dry_run (ctx));
  g_assert_true (gp_context_get_read_only_source (ctx));
  g_assert_true (gp_context_get_strict (ctx));
  gp_context_set_jobs (ctx, 0);
  g_assert_cmpuint (gp_context_get_jobs (ctx), ==, g_get_num_processors ());
  g_assert_cmpuint (gp_context_get_io_jobs (ctx), ==, n_cpus + MIN (n_cpus, 8));

  /* Setting the root does not define ${root} by itself. */
  g_assert_null (gp_context_get_variable (ctx, "root"));
  gp_context_set_variable (ctx, "zeta", "z");
  gp_context_set_variable (ctx, "alpha", "a");
  g_auto (GStrv) vars = gp_context_list_variables (ctx);
  g_assert_cmpuint (g_strv_length (vars), ==, 2);
  g_assert_cmpstr (vars[0], ==, "alpha");
  gp_context_set_variable (ctx, "alpha", NULL);
  g_assert_null (gp_context_get_variable (ctx, "alpha"));

  gp_context_set_image_id (ctx, "bb", "sha256:2");
  gp_context_set_image_id (ctx, "aa", "sha256:1");
  g_assert_cmpstr (gp_context_lookup_image_id (ctx, "aa"), ==, "sha256:1");
  g_assert_null (gp_context_lookup_image_id (ctx, "cc"));
  g_assert_cmpuint (gp_context_get_n_image_ids (ctx), ==, 2);
  g_auto (GStrv) ids = gp_context_list_v1_ids (ctx);
  g_assert_cmpstr (ids[0], ==, "aa");
  g_assert_cmpstr (ids[1], ==, "bb");
}

#define N_THREADS 4
#define N_PER_THREAD 2000

typedef struct {
  GpContext *ctx;
  guint delivered;   /* incremented by the sink, under the context's lock */
} ThreadData;

static gpointer
hammer (gpointer data)
{
  ThreadData *td = data;
  for (int i = 0; i < N_PER_THREAD; i++)
    {
      gp_context_add_counter (td->ctx, "hits", 1);
      gp_context_add_counter (td->ctx, "bytes", 10);
      gp_context_emit_progress (td->ctx, "x", i, N_PER_THREAD, 0);
      if (i % 500 == 0)
        gp_context_report (td->ctx, GP_REPORT_WARNING, "item", "warning %d", i);
    }
  return NULL;
}

static void
count_events (const GpEvent *event, gpointer user_data)
{
  ThreadData *td = user_data;
  td->delivered++;  /* not atomic: sinks are serialised */
}

static void
test_threads (void)
{
  g_autoptr (GpContext) ctx = gp_context_new ();
  ThreadData td = { ctx, 0 };
  GThread *threads[N_THREADS];

  gp_context_add_sink (ctx, count_events, &td, NULL);
  for (int i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("hammer", hammer, &td);
  for (int i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);

  g_assert_cmpint (gp_context_get_counter (ctx, "hits"), ==, N_THREADS * N_PER_THREAD);
  g_assert_cmpint (gp_context_get_counter (ctx, "bytes"), ==, 10 * N_THREADS * N_PER_THREAD);
  g_assert_cmpint (gp_context_get_counter (ctx, "never"), ==, 0);
  g_assert_cmpuint (gp_context_get_n_reported (ctx, GP_REPORT_WARNING), ==, N_THREADS * 4);
  /* progress events plus one warning event per report */
  g_assert_cmpuint (td.delivered, ==, N_THREADS * (N_PER_THREAD + 4));
  g_auto (GStrv) names = gp_context_list_counters (ctx);
  g_assert_cmpstr (names[0], ==, "bytes");
  g_assert_cmpstr (names[1], ==, "hits");
  g_assert_null (names[2]);
}

static void
test_report (void)
{
  g_autoptr (GpContext) ctx = gp_context_new ();

  gp_context_add_counter (ctx, "layers", 2);
  gp_context_set_current_stage (ctx, "scan");
  gp_context_report (ctx, GP_REPORT_WARNING, "graph/abc", "odd %s", "size");
  gp_context_set_current_stage (ctx, NULL);
  gp_context_report (ctx, GP_REPORT_FAILURE, NULL, "broken");

  g_autoptr (GPtrArray) report = gp_context_dup_report (ctx);
  g_assert_cmpuint (report->len, ==, 2);
  const GpReportEntry *w = report->pdata[0];
  g_assert_cmpint (w->kind, ==, GP_REPORT_WARNING);
  g_assert_cmpstr (w->stage, ==, "scan");
  g_assert_cmpstr (w->item, ==, "graph/abc");
  g_assert_cmpstr (w->message, ==, "odd size");
  g_assert_cmpuint (gp_context_get_n_reported (ctx, GP_REPORT_FAILURE), ==, 1);

  g_autofree char *text = gp_context_format_report (ctx);
  g_assert_cmpstr (text, ==,
                   "layers: 2\n"
                   "warning: [scan] graph/abc: odd size\n"
                   "failed: broken\n"
                   "1 warning, 1 failure\n");
}

static void
collect_message (const GpEvent *event, gpointer user_data)
{
  g_ptr_array_add (user_data, g_strdup_printf ("%s %s %s", gp_event_kind_to_string (event->kind),
                                               event->item != NULL ? event->item : "-", event->message));
}

/* A pending item: its own line and count, a warning event whose message
 * says it is left for the next run, not a failure. */
static void
test_report_pending (void)
{
  g_autoptr (GpContext) ctx = gp_context_new ();
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  gp_context_add_sink (ctx, collect_message, lines, NULL);
  gp_context_set_current_stage (ctx, "tags");
  gp_context_report (ctx, GP_REPORT_PENDING, "app:latest", "image %s failed", "a1");
  gp_context_report (ctx, GP_REPORT_FAILURE, "a1", "no space");

  g_assert_cmpuint (gp_context_get_n_reported (ctx, GP_REPORT_PENDING), ==, 1);
  g_assert_cmpuint (gp_context_get_n_reported (ctx, GP_REPORT_FAILURE), ==, 1);
  g_assert_cmpuint (gp_context_get_n_reported (ctx, GP_REPORT_WARNING), ==, 0);
  g_assert_cmpuint (lines->len, ==, 2);
  g_assert_cmpstr (lines->pdata[0], ==, "warning app:latest left for the next run: image a1 failed");
  g_assert_cmpstr (lines->pdata[1], ==, "error a1 no space");

  g_autofree char *text = gp_context_format_report (ctx);
  g_assert_cmpstr (text, ==,
                   "pending: [tags] app:latest: image a1 failed\n"
                   "failed: [tags] a1: no space\n"
                   "0 warnings, 1 failure, 1 left for the next run\n");
}

static int sink_destroyed;

static void
sink_destroy (gpointer data)
{
  sink_destroyed++;
}

static void
collect (const GpEvent *event, gpointer user_data)
{
  g_ptr_array_add (user_data, gp_event_format_line (event));
}

static void
test_events (void)
{
  g_autoptr (GpContext) ctx = gp_context_new ();
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  sink_destroyed = 0;

  guint id = gp_context_add_sink (ctx, collect, lines, sink_destroy);
  g_assert_cmpuint (id, !=, 0);

  gp_context_set_current_stage (ctx, "st");
  GpEvent started = { .kind = GP_EVENT_STAGE_STARTED };
  gp_context_emit (ctx, &started);
  gp_context_emit_progress (ctx, "layer", 3, 10, 4096);
  gp_context_emit_progress (ctx, NULL, 5, 0, 0);
  gp_context_emit_item_done (ctx, "img", 1, 2, 0, "%d layers", 4);
  gp_context_emit_item_done (ctx, "img2", 2, 2, 0, NULL);
  gp_context_report (ctx, GP_REPORT_FAILURE, "x", "bad");
  GpEvent other = { .kind = GP_EVENT_WARNING, .stage = "other", .message = "careful" };
  gp_context_emit (ctx, &other);
  GpEvent finished = { .kind = GP_EVENT_STAGE_FINISHED, .message = "1.00 s" };
  gp_context_emit (ctx, &finished);
  gp_context_set_current_stage (ctx, NULL);
  GpEvent report = { .kind = GP_EVENT_REPORT, .message = "a: 1\nb: 2\n" };
  gp_context_emit (ctx, &report);

  const char *expected[] = {
    "[st] started",
    "[st] layer: 3/10, 4096 bytes",
    "[st] 5",
    "[st] img: 4 layers",
    "[st] img2: done (2/2)",
    "[st] error: x: bad",
    "[other] warning: careful",
    "[st] finished (1.00 s)",
    "a: 1\nb: 2",
  };
  g_assert_cmpuint (lines->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < lines->len; i++)
    g_assert_cmpstr (lines->pdata[i], ==, expected[i]);

  gp_context_remove_sink (ctx, id);
  g_assert_cmpint (sink_destroyed, ==, 1);
  gp_context_emit (ctx, &report);
  g_assert_cmpuint (lines->len, ==, G_N_ELEMENTS (expected));
  g_assert_cmpstr (gp_event_kind_to_string (GP_EVENT_ITEM_DONE), ==, "item-done");
}

static void
test_line_logger (void)
{
  g_autoptr (GpContext) ctx = gp_context_new ();
  g_autofree char *tmp = gp_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (tmp, "log", NULL);
  FILE *quiet = fopen (path, "w");
  g_assert_nonnull (quiet);

  gp_context_add_line_logger (ctx, quiet, GP_VERBOSITY_QUIET);
  gp_context_set_current_stage (ctx, "s");
  gp_context_emit_item_done (ctx, "i", 1, 1, 0, "hidden when quiet");
  gp_context_report (ctx, GP_REPORT_WARNING, "i", "shown");
  g_clear_pointer (&ctx, gp_context_unref);
  fclose (quiet);

  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "[s] warning: i: shown\n");
  gp_test_rm_rf (tmp);
}

static void
count_call (gpointer data, gpointer user_data)
{
  g_atomic_int_inc ((gint *) data);
}

/* Every item is handed to the function exactly once, serially and on
 * several threads, and the call returns only when all are done. */
static void
test_for_each_parallel (void)
{
  static const guint jobs[] = { 1, 4 };
  for (gsize j = 0; j < G_N_ELEMENTS (jobs); j++)
    {
      g_autoptr (GpContext) ctx = gp_context_new ();
      gp_context_set_jobs (ctx, jobs[j]);
      gint counts[100] = { 0 };
      g_autoptr (GPtrArray) items = g_ptr_array_new ();
      for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
        g_ptr_array_add (items, &counts[i]);
      gp_context_for_each_parallel (ctx, items, 8, count_call);
      for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
        g_assert_cmpint (g_atomic_int_get (&counts[i]), ==, 1);
      g_autoptr (GPtrArray) none = g_ptr_array_new ();
      gp_context_for_each_parallel (ctx, none, 8, count_call);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/context/slots/lifecycle", test_slots);
  g_test_add_func ("/context/settings/all", test_settings);
  g_test_add_func ("/context/threads/counters-events", test_threads);
  g_test_add_func ("/context/report/format", test_report);
  g_test_add_func ("/context/report/pending", test_report_pending);
  g_test_add_func ("/context/events/format", test_events);
  g_test_add_func ("/context/events/line-logger", test_line_logger);
  g_test_add_func ("/context/for-each-parallel", test_for_each_parallel);
  return g_test_run ();
}
