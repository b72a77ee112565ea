/* Test module: a third-party stage that leaves data for a later stage in
 * the slot "producer.words" (a GPtrArray of strings), built in prepare
 * (per-instance data) and published in run. */
#include <graphpipe.h>

static const GpOption options[] = {
  { .key = "words", .type = GP_OPTION_STRING, .default_value = "alpha beta",
    .help = "space-separated words to hand on" },
  { NULL }
};

static gboolean
producer_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  g_auto (GStrv) words = g_strsplit (gp_stage_get_string (stage, "words"), " ", -1);
  GPtrArray *array = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; words[i] != NULL; i++)
    if (*words[i] != '\0')
      g_ptr_array_add (array, g_strdup (words[i]));
  gp_stage_set_data (stage, array, (GDestroyNotify) g_ptr_array_unref);
  return TRUE;
}

static gboolean
producer_run (GpStage *stage, GpContext *ctx, GError **error)
{
  GPtrArray *array = gp_stage_get_data (stage);

  gp_context_set_slot (ctx, "producer.words", g_ptr_array_ref (array),
                       (GDestroyNotify) g_ptr_array_unref);
  gp_context_emit_item_done (ctx, "words", 1, 1, 0, "%u words", array->len);
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "producer",
  .description = "hands words to later stages through a slot",
  .provides = GP_STAGE_STRV ("words"),
  .options = options,
  .prepare = producer_prepare,
  .run = producer_run)
