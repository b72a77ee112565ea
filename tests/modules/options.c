/* Test module: one option of each type; its run copies the resolved
 * values into the slot "options.values" (a GHashTable key -> text). */
#include <graphpipe.h>

static const GpOption options[] = {
  { .key = "text", .type = GP_OPTION_STRING, .default_value = "hello",
    .help = "a string" },
  { .key = "count", .type = GP_OPTION_INT, .default_value = "3", .help = "an int" },
  { .key = "flag", .type = GP_OPTION_BOOL, .default_value = "false", .help = "a bool" },
  { .key = "dir", .type = GP_OPTION_PATH, .default_value = "${root}/sub",
    .help = "a path" },
  { .key = "mode", .type = GP_OPTION_ENUM, .default_value = "fast",
    .choices = GP_STAGE_STRV ("fast", "slow"), .help = "an enum" },
  { .key = "must", .type = GP_OPTION_STRING, .flags = GP_OPTION_FLAG_REQUIRED,
    .help = "a required string" },
  { .key = "maybe", .type = GP_OPTION_STRING, .help = "no default" },
  { .key = "jobs", .type = GP_OPTION_INT, .default_value = "0", .help = "worker threads" },
  { NULL }
};

static gboolean
options_run (GpStage *stage, GpContext *ctx, GError **error)
{
  GHashTable *values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (const GpOption *o = options; o->key != NULL; o++)
    {
      const char *v = gp_stage_get_string (stage, o->key);
      if (v != NULL)
        g_hash_table_insert (values, g_strdup (o->key), g_strdup (v));
    }
  g_hash_table_insert (values, g_strdup ("count+1"),
                       g_strdup_printf ("%" G_GINT64_FORMAT, gp_stage_get_int (stage, "count") + 1));
  g_hash_table_insert (values, g_strdup ("!flag"),
                       g_strdup (gp_stage_get_bool (stage, "flag") ? "false" : "true"));
  gp_context_set_slot (ctx, "options.values", values, (GDestroyNotify) g_hash_table_unref);
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "options",
  .description = "takes one option of each type",
  .requires = GP_STAGE_STRV ("root"),
  .options = options,
  .run = options_run)
