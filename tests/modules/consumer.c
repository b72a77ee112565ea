/* Test module: reads the slot "producer.words" and stores the words
 * joined by '+' in the slot "consumer.result" (a string). */
#include <graphpipe.h>

static gboolean
consumer_run (GpStage *stage, GpContext *ctx, GError **error)
{
  GPtrArray *words = gp_context_get_slot (ctx, "producer.words");

  if (words == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no words in slot producer.words");
      return FALSE;
    }
  g_ptr_array_add (words, NULL);
  char *joined = g_strjoinv ("+", (char **) words->pdata);
  g_ptr_array_remove_index (words, words->len - 1);
  gp_context_set_slot (ctx, "consumer.result", joined, g_free);
  gp_context_add_counter (ctx, "consumer.words", words->len);
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "consumer",
  .description = "uses the words of an earlier stage",
  .requires = GP_STAGE_STRV ("words"),
  .run = consumer_run)
