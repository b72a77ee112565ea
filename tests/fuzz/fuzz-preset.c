/* libFuzzer target: preset files (GLib key files) as graphpipe loads and
 * checks them, and the `${variable}` expansion of every value. */
#include "config.h"

#include "gp-context.h"
#include "gp-preset.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static GpContext *ctx;
  if (ctx == NULL)
    {
      ctx = gp_context_new ();
      gp_context_set_variable (ctx, "root", "/var/lib/docker");
      gp_context_set_variable (ctx, "driver", "vfs");
      gp_context_set_variable (ctx, "x", "${root}");
    }
  GError *error = NULL;
  GpPreset *preset = gp_preset_load_data ((const char *) data, (gssize) size, "fuzz.conf", &error);
  if (preset == NULL)
    {
      g_assert (error != NULL && error->message != NULL);
      g_clear_error (&error);
      return 0;
    }
  g_assert (gp_preset_get_name (preset) != NULL);
  const char *const *stages = gp_preset_get_stages (preset);
  g_assert (stages != NULL);
  (void) gp_preset_get_description (preset);
  GKeyFile *kf = gp_preset_get_key_file (preset);
  gsize n_groups = 0;
  char **groups = g_key_file_get_groups (kf, &n_groups);
  for (gsize i = 0; i < n_groups; i++)
    {
      char **keys = g_key_file_get_keys (kf, groups[i], NULL, NULL);
      for (gsize j = 0; keys != NULL && keys[j] != NULL; j++)
        {
          char *value = g_key_file_get_value (kf, groups[i], keys[j], NULL);
          if (value == NULL)
            continue;
          char *expanded = gp_expand_variables (value, ctx, &error);
          g_assert ((expanded == NULL) == (error != NULL));
          g_clear_error (&error);
          g_free (expanded);
          g_free (value);
        }
      g_strfreev (keys);
    }
  g_strfreev (groups);
  gp_preset_unref (preset);
  return 0;
}
