/* Tests of running pipelines: order, events, slots between third-party
 * stages, failures, cancellation, the plan, the example plugin. */
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "gp-pipeline.h"
#include "gp-error.h"
#include "gp-test-util.h"

typedef struct {
  GpContext *ctx;
  GpLoader *loader;
  GPtrArray *events;   /* "kind:stage" strings */
} Fixture;

static void
record_event (const GpEvent *event, gpointer user_data)
{
  Fixture *fx = user_data;
  g_ptr_array_add (fx->events, g_strdup_printf ("%s:%s", gp_event_kind_to_string (event->kind),
                                                event->stage != NULL ? event->stage : "-"));
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autofree char *modules = gp_test_modules_dir ();
  const char *dirs[] = { modules, NULL };

  fx->ctx = gp_context_new ();
  gp_context_set_variable (fx->ctx, "root", "/data");
  fx->loader = gp_loader_new (dirs);
  fx->events = g_ptr_array_new_with_free_func (g_free);
  gp_context_add_sink (fx->ctx, record_event, fx, NULL);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  gp_context_unref (fx->ctx);
  gp_loader_unref (fx->loader);
  g_ptr_array_unref (fx->events);
}

static GpPipeline *
build (Fixture *fx, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GpPreset) preset = gp_preset_load_data (text, -1, "t.conf", &error);
  g_assert_no_error (error);
  GpPipeline *pipeline = gp_pipeline_new (preset, fx->loader, fx->ctx, &error);
  g_assert_no_error (error);
  return pipeline;
}

static const char *
trace (Fixture *fx)
{
  GString *s = gp_context_get_slot (fx->ctx, "trace");
  return s != NULL ? s->str : "";
}

static char *
join_events (Fixture *fx)
{
  g_ptr_array_add (fx->events, NULL);
  char *joined = g_strjoinv (" ", (char **) fx->events->pdata);
  g_ptr_array_remove_index (fx->events, fx->events->len - 1);
  return joined;
}

static void
test_order (Fixture *fx, gconstpointer data)
{
  g_autoptr (GpPipeline) p = build (fx, "[pipeline]\nstages=order-a;order-b;order-c\n");
  g_autoptr (GError) error = NULL;

  g_assert_true (gp_pipeline_run (p, &error));
  g_assert_no_error (error);
  /* Every prepare before any run, then the runs in order. */
  g_assert_cmpstr (trace (fx), ==,
                   "prepare:order-a prepare:order-b prepare:order-c "
                   "run:order-a run:order-b run:order-c ");
  g_autofree char *events = join_events (fx);
  g_assert_cmpstr (events, ==,
                   "stage-started:order-a stage-finished:order-a "
                   "stage-started:order-b stage-finished:order-b "
                   "stage-started:order-c stage-finished:order-c report:-");
  g_assert_null (gp_context_get_current_stage (fx->ctx));
}

static void
test_slots_between_stages (Fixture *fx, gconstpointer data)
{
  g_autoptr (GpPipeline) p = build (fx, "[pipeline]\nstages=producer;consumer\n"
                                        "[producer]\nwords=one two  three\n");
  g_autoptr (GError) error = NULL;

  g_assert_true (gp_pipeline_run (p, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (gp_context_get_slot (fx->ctx, "consumer.result"), ==, "one+two+three");
  g_assert_cmpint (gp_context_get_counter (fx->ctx, "consumer.words"), ==, 3);
  /* The producer's item-done event carries its stage's name. */
  g_assert_true (g_ptr_array_find_with_equal_func (fx->events, "item-done:producer",
                                                   g_str_equal, NULL));
}

static void
test_prepare_failure (Fixture *fx, gconstpointer data)
{
  g_autoptr (GpPipeline) p = build (fx, "[pipeline]\nstages=order-a;fail;order-b\n"
                                        "[fail]\nwhen=prepare\n");
  g_autoptr (GError) error = NULL;

  g_assert_false (gp_pipeline_run (p, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "fail: refusing in prepare");
  /* Nothing ran, later stages were not even prepared. */
  g_assert_cmpstr (trace (fx), ==, "prepare:order-a ");
  g_assert_cmpuint (fx->events->len, ==, 0);
}

static void
test_run_failure (Fixture *fx, gconstpointer data)
{
  g_autoptr (GpPipeline) p = build (fx, "[pipeline]\nstages=order-a;fail;order-b\n");
  g_autoptr (GError) error = NULL;

  g_assert_false (gp_pipeline_run (p, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "fail: failing in run");
  g_assert_cmpstr (trace (fx), ==,
                   "prepare:order-a prepare:order-b run:order-a ");
  g_assert_cmpuint (gp_context_get_n_reported (fx->ctx, GP_REPORT_FAILURE), ==, 1);
  g_autoptr (GPtrArray) report = gp_context_dup_report (fx->ctx);
  const GpReportEntry *entry = report->pdata[0];
  g_assert_cmpstr (entry->stage, ==, "fail");
  g_assert_cmpstr (entry->item, ==, "thing");
  g_autofree char *events = join_events (fx);
  g_assert_cmpstr (events, ==,
                   "stage-started:order-a stage-finished:order-a "
                   "stage-started:fail error:fail report:-");
}

static void
test_silent_failure (Fixture *fx, gconstpointer data)
{
  g_autoptr (GpPipeline) p = build (fx, "[pipeline]\nstages=fail\n[fail]\nwhen=silently\n");
  g_autoptr (GError) error = NULL;

  g_assert_false (gp_pipeline_run (p, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "fail: run failed without saying why");
}

static gpointer
cancel_later (gpointer data)
{
  GpContext *ctx = data;
  /* Wait until the stage is running, then cancel. */
  while (gp_context_get_counter (ctx, "wait-cancel.started") == 0)
    g_usleep (1000);
  g_usleep (20 * 1000);
  g_cancellable_cancel (gp_context_get_cancellable (ctx));
  return NULL;
}

static void
test_cancel_running (Fixture *fx, gconstpointer data)
{
  g_autoptr (GpPipeline) p = build (fx, "[pipeline]\nstages=wait-cancel;order-a\n"
                                        "[wait-cancel]\ntimeout=30\n");
  g_autoptr (GError) error = NULL;
  GThread *thread = g_thread_new ("cancel", cancel_later, fx->ctx);

  g_assert_false (gp_pipeline_run (p, &error));
  g_thread_join (thread);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (g_str_has_prefix (error->message, "wait-cancel: "));
  /* The next stage was prepared but never ran. */
  g_assert_cmpstr (trace (fx), ==, "prepare:order-a ");
}

static void
test_cancel_before (Fixture *fx, gconstpointer data)
{
  g_autoptr (GpPipeline) p = build (fx, "[pipeline]\nstages=order-a;order-b\n");
  g_autoptr (GError) error = NULL;

  g_cancellable_cancel (gp_context_get_cancellable (fx->ctx));
  g_assert_false (gp_pipeline_run (p, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpstr (trace (fx), ==, "");
  g_assert_cmpuint (fx->events->len, ==, 0);
}

static void
cancel_after_first (const GpEvent *event, gpointer user_data)
{
  GpContext *ctx = user_data;
  if (event->kind == GP_EVENT_STAGE_FINISHED && g_strcmp0 (event->stage, "order-a") == 0)
    g_cancellable_cancel (gp_context_get_cancellable (ctx));
}

static void
test_cancel_between (Fixture *fx, gconstpointer data)
{
  g_autoptr (GpPipeline) p = build (fx, "[pipeline]\nstages=order-a;order-b\n");
  g_autoptr (GError) error = NULL;

  gp_context_add_sink (fx->ctx, cancel_after_first, fx->ctx, NULL);
  g_assert_false (gp_pipeline_run (p, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpstr (trace (fx), ==, "prepare:order-a prepare:order-b run:order-a ");
}

static void
test_plan (Fixture *fx, gconstpointer data)
{
  g_autoptr (GpPipeline) p = build (fx, "[pipeline]\ndescription=Plan test\n"
                                        "stages=producer;consumer;options\n"
                                        "[options]\nmust=m\ncount=7\n");
  g_autofree char *plan = gp_pipeline_format_plan (p);
  g_autofree char *consumer = gp_test_module_path ("consumer");

  g_test_message ("%s", plan);
  g_assert_true (g_str_has_prefix (plan, "preset t (t.conf)\n  Plan test\n"));
  g_assert_nonnull (strstr (plan, "\n1. producer: hands words to later stages through a slot\n"));
  g_assert_nonnull (strstr (plan, "\n2. consumer: "));
  g_assert_nonnull (strstr (plan, consumer));
  g_assert_nonnull (strstr (plan, "   requires  words\n   provides  -\n   options   -\n"));
  g_assert_nonnull (strstr (plan, "     count = 7\n"));
  g_assert_nonnull (strstr (plan, "     text = hello  (default)\n"));
  g_assert_nonnull (strstr (plan, "     dir = /data/sub  (default)\n"));
  g_assert_nonnull (strstr (plan, "     maybe = (unset)  (default)\n"));
  /* Nothing ran. */
  g_assert_cmpuint (fx->events->len, ==, 0);
}

static void
test_example_plugin (Fixture *fx, gconstpointer data)
{
  g_autofree char *tmp = gp_test_make_tmpdir ();
  g_autofree char *a = g_build_filename (tmp, "a", "b", NULL);
  g_autofree char *hidden = g_build_filename (tmp, ".hidden", NULL);
  g_assert_cmpint (g_mkdir_with_parents (a, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (hidden, 0755), ==, 0);
  g_free (gp_test_write_file (tmp, "a/x", "12345"));
  g_free (gp_test_write_file (tmp, "a/b/y", "123"));
  g_free (gp_test_write_file (tmp, "c", "1234567"));
  g_free (gp_test_write_file (tmp, ".hidden/z", "1"));
  gp_context_set_variable (fx->ctx, "root", tmp);

  g_autoptr (GpPipeline) p = build (fx, "[pipeline]\nstages=example\n[example]\nsort=bytes\n");
  g_autoptr (GError) error = NULL;
  g_assert_true (gp_pipeline_run (p, &error));
  g_assert_no_error (error);

  GVariant *counts = gp_context_get_slot (fx->ctx, "example.counts");
  g_assert_nonnull (counts);
  g_assert_cmpstr (g_variant_get_type_string (counts), ==, "a{s(ttt)}");
  g_autofree char *text = g_variant_print (counts, FALSE);
  /* By decreasing size; the hidden entry left out. */
  g_assert_cmpstr (text, ==, "{'a': (2, 1, 8), 'c': (1, 0, 7)}");
  g_assert_cmpint (gp_context_get_counter (fx->ctx, "example.bytes"), ==, 15);
  g_assert_cmpint (gp_context_get_counter (fx->ctx, "example.files"), ==, 3);
  gp_test_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/pipeline/run/order", test_order);
  ADD ("/pipeline/run/slots-between-stages", test_slots_between_stages);
  ADD ("/pipeline/failure/prepare", test_prepare_failure);
  ADD ("/pipeline/failure/run", test_run_failure);
  ADD ("/pipeline/failure/silent", test_silent_failure);
  ADD ("/pipeline/cancel/running", test_cancel_running);
  ADD ("/pipeline/cancel/before", test_cancel_before);
  ADD ("/pipeline/cancel/between-stages", test_cancel_between);
  ADD ("/pipeline/plan/format", test_plan);
  ADD ("/pipeline/example/counts", test_example_plugin);
#undef ADD
  return g_test_run ();
}
