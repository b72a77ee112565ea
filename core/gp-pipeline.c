/* graphpipe - a validated pipeline of stage instances, and running it.
 *
 * gp_pipeline_new() checks the whole preset against the loaded modules
 * before anything runs: every stage found, every group a stage of the
 * pipeline, every key an option of its stage, every value well-typed after
 * ${var} substitution, every required option set, every `requires`
 * provided by the core (GP_CORE_PROVIDES) or an earlier stage.
 * gp_pipeline_run() then prepares every stage and runs them in order.
 */
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "gp-pipeline.h"
#include "gp-error.h"
#include "gp-stage-private.h"

typedef enum {
  STATE_NEW,
  STATE_PREPARED,
  STATE_RAN,
  STATE_FAILED,
} State;

struct _GpPipeline {
  GpPreset *preset;
  GpLoader *loader;
  GpContext *ctx;
  GPtrArray *stages;  /* GpStage*, owned */
  State state;
};

static char *
join_choices (const char *const *choices)
{
  return g_strjoinv (", ", (char **) choices);
}

/* Checks and normalises one value; the message is prefixed by the caller. */
static char *
resolve_value (const GpOption *option, const char *text, GError **error)
{
  switch (option->type)
    {
    case GP_OPTION_STRING:
      return g_strdup (text);
    case GP_OPTION_INT:
      {
        gint64 v;
        if (!_gp_option_parse_int (text, &v))
          {
            g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                         "'%s' is not an integer", text);
            return NULL;
          }
        return g_strdup_printf ("%" G_GINT64_FORMAT, v);
      }
    case GP_OPTION_BOOL:
      {
        gboolean v;
        if (!_gp_option_parse_bool (text, &v))
          {
            g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                         "'%s' is not a boolean (true or false)", text);
            return NULL;
          }
        return g_strdup (v ? "true" : "false");
      }
    case GP_OPTION_PATH:
      if (*text == '\0')
        {
          g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                       "empty path");
          return NULL;
        }
      if (strcmp (text, "-") == 0)
        return g_strdup (text);
      return g_canonicalize_filename (text, NULL);
    case GP_OPTION_ENUM:
      if (!g_strv_contains (option->choices, text))
        {
          g_autofree char *choices = join_choices (option->choices);
          g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                       "'%s' is not one of: %s", text, choices);
          return NULL;
        }
      return g_strdup (text);
    }
  g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
               "option of unknown type %d", (int) option->type);
  return NULL;
}

static gboolean
resolve_options (GpPipeline *pipeline, GpStage *stage, const char *group, GError **error)
{
  GKeyFile *kf = gp_preset_get_key_file (pipeline->preset);
  const char *file = gp_preset_get_path (pipeline->preset);
  const GpStageDesc *desc = gp_stage_get_desc (stage);

  /* Every key in the group must be an option of the stage. */
  g_auto (GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    if (_gp_stage_desc_find_option (desc, keys[i]) == NULL)
      {
        g_autoptr (GString) known = g_string_new (NULL);
        for (const GpOption *o = desc->options; o != NULL && o->key != NULL; o++)
          g_string_append_printf (known, "%s%s", known->len > 0 ? ", " : "", o->key);
        g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_UNKNOWN_OPTION,
                     "%s: [%s] %s: unknown option (stage '%s' accepts: %s)",
                     file, group, keys[i], desc->name,
                     known->len > 0 ? known->str : "no options");
        return FALSE;
      }

  for (const GpOption *o = desc->options; o != NULL && o->key != NULL; o++)
    {
      g_autofree char *raw = NULL;
      gboolean is_default = FALSE;

      if (g_key_file_has_key (kf, group, o->key, NULL))
        {
          g_autoptr (GError) kf_error = NULL;
          raw = g_key_file_get_string (kf, group, o->key, &kf_error);
          if (raw == NULL)
            {
              g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                           "%s: [%s] %s: %s", file, group, o->key, kf_error->message);
              return FALSE;
            }
        }
      else if (o->default_value != NULL)
        {
          raw = g_strdup (o->default_value);
          is_default = TRUE;
        }
      else if (o->flags & GP_OPTION_FLAG_REQUIRED)
        {
          g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                       "%s: [%s] %s: required option not set", file, group, o->key);
          return FALSE;
        }
      else
        continue;

      g_autofree char *expanded = gp_expand_variables (raw, pipeline->ctx, error);
      g_autofree char *value = expanded != NULL ? resolve_value (o, expanded, error) : NULL;
      if (value == NULL)
        {
          g_prefix_error (error, "%s: [%s] %s%s: ", file, group, o->key,
                          is_default ? " (default)" : "");
          return FALSE;
        }
      _gp_stage_set_value (stage, o->key, value, is_default);
    }
  return TRUE;
}

static gboolean
build_stages (GpPipeline *pipeline, GError **error)
{
  GKeyFile *kf = gp_preset_get_key_file (pipeline->preset);
  const char *file = gp_preset_get_path (pipeline->preset);
  const char *const *names = gp_preset_get_stages (pipeline->preset);
  g_autoptr (GHashTable) provided = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; GP_CORE_PROVIDES[i] != NULL; i++)
    g_hash_table_add (provided, (gpointer) GP_CORE_PROVIDES[i]);

  /* An entry may name its stage by a variable (`${source:-docker-store}`);
   * its options are in the group of the expanded name or, failing that,
   * in the group written as the entry is. */
  g_autoptr (GPtrArray) expanded = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; names[i] != NULL; i++)
    {
      char *name = gp_expand_variables (names[i], pipeline->ctx, error);
      if (name == NULL)
        {
          g_prefix_error (error, "%s: [pipeline] stages: ", file);
          return FALSE;
        }
      for (guint j = 0; j < expanded->len; j++)
        if (strcmp (expanded->pdata[j], name) == 0)
          {
            g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_PARSE,
                         "%s: [pipeline] stages: stage '%s' listed twice (as '%s')", file,
                         name, names[i]);
            g_free (name);
            return FALSE;
          }
      g_ptr_array_add (expanded, name);
    }
  g_ptr_array_add (expanded, NULL);

  for (guint i = 0; names[i] != NULL; i++)
    {
      const char *stage_name = expanded->pdata[i];
      g_autoptr (GError) load_error = NULL;
      const GpStageInfo *info = gp_loader_find (pipeline->loader, stage_name, &load_error);
      if (info == NULL)
        {
          if (g_error_matches (load_error, GP_LOADER_ERROR, GP_LOADER_ERROR_NOT_FOUND))
            g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_UNKNOWN_STAGE,
                         "%s: [pipeline] stages: unknown stage '%s' (%s)",
                         file, stage_name, load_error->message);
          else
            {
              g_propagate_error (error, g_steal_pointer (&load_error));
              g_prefix_error (error, "%s: [pipeline] stages: stage '%s': ", file, stage_name);
            }
          return FALSE;
        }

      const GpStageDesc *desc = gp_stage_info_get_desc (info);
      for (guint j = 0; desc->requires != NULL && desc->requires[j] != NULL; j++)
        if (!g_hash_table_contains (provided, desc->requires[j]))
          {
            g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_UNMET_REQUIRES,
                         "%s: [pipeline] stages: stage '%s' requires '%s', which "
                         "neither the core nor an earlier stage provides",
                         file, desc->name, desc->requires[j]);
            return FALSE;
          }
      for (guint j = 0; desc->provides != NULL && desc->provides[j] != NULL; j++)
        g_hash_table_add (provided, (gpointer) desc->provides[j]);

      GpStage *stage = _gp_stage_new (desc, gp_stage_info_get_path (info));
      g_ptr_array_add (pipeline->stages, stage);
      const char *group = stage_name;
      if (strcmp (stage_name, names[i]) != 0 && !g_key_file_has_group (kf, stage_name))
        group = names[i];
      if (!resolve_options (pipeline, stage, group, error))
        return FALSE;
    }

  /* Every group other than [pipeline] must be a stage of the pipeline. */
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    if (strcmp (groups[i], "pipeline") != 0
        && !g_strv_contains (names, groups[i])
        && !g_strv_contains ((const char *const *) expanded->pdata, groups[i]))
      {
        g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_UNKNOWN_STAGE,
                     "%s: [%s]: group of a stage that is not in [pipeline] stages",
                     file, groups[i]);
        return FALSE;
      }
  return TRUE;
}

/**
 * gp_pipeline_new:
 * @preset: the preset to run
 * @loader: where to find the stages
 * @ctx: the context; its variables must be set already
 * @error: return location for a #GError
 *
 * Builds the pipeline and validates all of it before anything runs:
 * unknown stages (%GP_PRESET_ERROR_UNKNOWN_STAGE, or the loader's own
 * error for a broken module), unknown options
 * (%GP_PRESET_ERROR_UNKNOWN_OPTION), wrong types or missing required
 * options (%GP_PRESET_ERROR_BAD_VALUE), undefined variables
 * (%GP_PRESET_ERROR_UNDEFINED_VARIABLE), unmet `requires`
 * (%GP_PRESET_ERROR_UNMET_REQUIRES).  Messages start with
 * `FILE: [GROUP] KEY: `.
 *
 * Returns: (transfer full): the pipeline, holding references on its
 *   arguments; %NULL with @error on failure
 *
 * Since: 0.1
 */
GpPipeline *
gp_pipeline_new (GpPreset *preset, GpLoader *loader, GpContext *ctx, GError **error)
{
  g_return_val_if_fail (preset != NULL, NULL);
  g_return_val_if_fail (loader != NULL, NULL);
  g_return_val_if_fail (ctx != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (GpPipeline) pipeline = g_new0 (GpPipeline, 1);
  pipeline->preset = gp_preset_ref (preset);
  pipeline->loader = gp_loader_ref (loader);
  pipeline->ctx = gp_context_ref (ctx);
  pipeline->stages = g_ptr_array_new_with_free_func ((GDestroyNotify) _gp_stage_free);

  if (!build_stages (pipeline, error))
    return NULL;
  return g_steal_pointer (&pipeline);
}

/**
 * gp_pipeline_free:
 * @pipeline: (transfer full) (nullable): a pipeline
 *
 * Frees the pipeline and its stage instances (destroying their data),
 * and drops its references on the preset, loader and context.
 *
 * Since: 0.1
 */
void
gp_pipeline_free (GpPipeline *pipeline)
{
  if (pipeline == NULL)
    return;
  if (pipeline->stages != NULL)
    g_ptr_array_unref (pipeline->stages);
  gp_context_unref (pipeline->ctx);
  gp_loader_unref (pipeline->loader);
  gp_preset_unref (pipeline->preset);
  g_free (pipeline);
}

/**
 * gp_pipeline_get_n_stages:
 * @pipeline: a pipeline
 *
 * Returns: the number of stages
 *
 * Since: 0.1
 */
guint
gp_pipeline_get_n_stages (GpPipeline *pipeline)
{
  g_return_val_if_fail (pipeline != NULL, 0);
  return pipeline->stages->len;
}

/**
 * gp_pipeline_get_stage:
 * @pipeline: a pipeline
 * @index: a stage index, below gp_pipeline_get_n_stages()
 *
 * Returns: (transfer none): the stage instance, owned by @pipeline
 *
 * Since: 0.1
 */
GpStage *
gp_pipeline_get_stage (GpPipeline *pipeline, guint index)
{
  g_return_val_if_fail (pipeline != NULL, NULL);
  g_return_val_if_fail (index < pipeline->stages->len, NULL);
  return pipeline->stages->pdata[index];
}

/**
 * gp_pipeline_get_preset:
 * @pipeline: a pipeline
 *
 * Returns: (transfer none): its preset
 *
 * Since: 0.1
 */
GpPreset *
gp_pipeline_get_preset (GpPipeline *pipeline)
{
  g_return_val_if_fail (pipeline != NULL, NULL);
  return pipeline->preset;
}

/**
 * gp_pipeline_get_context:
 * @pipeline: a pipeline
 *
 * Returns: (transfer none): its context
 *
 * Since: 0.1
 */
GpContext *
gp_pipeline_get_context (GpPipeline *pipeline)
{
  g_return_val_if_fail (pipeline != NULL, NULL);
  return pipeline->ctx;
}

static void
append_strv_line (GString *out, const char *label, const char *const *strv)
{
  g_string_append_printf (out, "   %-9s ", label);
  if (strv == NULL || strv[0] == NULL)
    g_string_append (out, "-");
  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    g_string_append_printf (out, "%s%s", i > 0 ? ", " : "", strv[i]);
  g_string_append_c (out, '\n');
}

/**
 * gp_pipeline_format_plan:
 * @pipeline: a validated pipeline
 *
 * Describes what gp_pipeline_run() would do: the preset, then each stage
 * in order with its module, requires, provides and resolved options.
 *
 * Returns: (transfer full): the text; free with g_free()
 *
 * Since: 0.1
 */
char *
gp_pipeline_format_plan (GpPipeline *pipeline)
{
  g_return_val_if_fail (pipeline != NULL, NULL);
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "preset %s (%s)\n", gp_preset_get_name (pipeline->preset),
                          gp_preset_get_path (pipeline->preset));
  if (*gp_preset_get_description (pipeline->preset) != '\0')
    g_string_append_printf (out, "  %s\n", gp_preset_get_description (pipeline->preset));

  for (guint i = 0; i < pipeline->stages->len; i++)
    {
      GpStage *stage = pipeline->stages->pdata[i];
      const GpStageDesc *desc = gp_stage_get_desc (stage);

      g_string_append_printf (out, "\n%u. %s: %s\n", i + 1, desc->name, desc->description);
      g_string_append_printf (out, "   %-9s %s\n", "module", gp_stage_get_module_path (stage));
      append_strv_line (out, "requires", desc->requires);
      append_strv_line (out, "provides", desc->provides);
      if (desc->options == NULL || desc->options[0].key == NULL)
        g_string_append_printf (out, "   %-9s -\n", "options");
      else
        g_string_append_printf (out, "   options\n");
      for (const GpOption *o = desc->options; o != NULL && o->key != NULL; o++)
        {
          const char *value = gp_stage_get_string (stage, o->key);
          g_string_append_printf (out, "     %s = %s%s\n", o->key,
                                  value != NULL ? value : "(unset)",
                                  gp_stage_option_is_default (stage, o->key) ? "  (default)" : "");
        }
    }
  return g_string_free (out, FALSE);
}

/* Makes sure a failing callback left an error, and prefixes the stage. */
static void
stage_failed (GpStage *stage, const char *what, GError **error, GError *local_error)
{
  if (local_error == NULL)
    local_error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                               "%s failed without saying why", what);
  g_prefix_error (&local_error, "%s: ", gp_stage_get_name (stage));
  g_propagate_error (error, local_error);
}

/**
 * gp_pipeline_prepare:
 * @pipeline: a validated pipeline
 * @error: return location for a #GError
 *
 * Calls every stage's prepare callback, in order, before any stage runs;
 * stops at the first failure.  gp_pipeline_run() calls this itself if it
 * has not been called.  A failure here is a configuration problem: nothing
 * has been written.
 *
 * Returns: %TRUE on success; %FALSE with @error, prefixed `STAGE: `
 *
 * Since: 0.1
 */
gboolean
gp_pipeline_prepare (GpPipeline *pipeline, GError **error)
{
  g_return_val_if_fail (pipeline != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (pipeline->state == STATE_NEW, FALSE);

  for (guint i = 0; i < pipeline->stages->len; i++)
    {
      GpStage *stage = pipeline->stages->pdata[i];
      const GpStageDesc *desc = gp_stage_get_desc (stage);

      if (gp_context_set_error_if_cancelled (pipeline->ctx, error))
        {
          pipeline->state = STATE_FAILED;
          return FALSE;
        }
      if (desc->prepare == NULL)
        continue;

      GError *local_error = NULL;
      gp_context_set_current_stage (pipeline->ctx, desc->name);
      gboolean ok = desc->prepare (stage, pipeline->ctx, &local_error);
      gp_context_set_current_stage (pipeline->ctx, NULL);
      if (!ok)
        {
          pipeline->state = STATE_FAILED;
          stage_failed (stage, "prepare", error, local_error);
          return FALSE;
        }
      g_clear_error (&local_error);
    }
  pipeline->state = STATE_PREPARED;
  return TRUE;
}

static void
emit_stage_event (GpContext *ctx, GpEventKind kind, const char *name, const char *message)
{
  GpEvent event = { .kind = kind, .stage = name, .message = message };
  gp_context_emit (ctx, &event);
}

/**
 * gp_pipeline_run:
 * @pipeline: a validated pipeline
 * @error: return location for a #GError
 *
 * Prepares every stage (unless gp_pipeline_prepare() was called), then
 * runs the stages in order, emitting %GP_EVENT_STAGE_STARTED and
 * %GP_EVENT_STAGE_FINISHED around each, and checking for cancellation
 * before each stage.  The first failure stops the pipeline.  When any
 * stage ran, a %GP_EVENT_REPORT with gp_context_format_report() ends the
 * run.  A pipeline runs once.
 *
 * Returns: %TRUE on success; %FALSE with @error, prefixed `STAGE: `
 *   (%G_IO_ERROR_CANCELLED when cancelled)
 *
 * Since: 0.1
 */
gboolean
gp_pipeline_run (GpPipeline *pipeline, GError **error)
{
  g_return_val_if_fail (pipeline != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (pipeline->state == STATE_NEW || pipeline->state == STATE_PREPARED,
                        FALSE);

  if (pipeline->state == STATE_NEW && !gp_pipeline_prepare (pipeline, error))
    return FALSE;

  GpContext *ctx = pipeline->ctx;
  gboolean ok = TRUE;
  gboolean any_ran = FALSE;

  for (guint i = 0; i < pipeline->stages->len && ok; i++)
    {
      GpStage *stage = pipeline->stages->pdata[i];
      const GpStageDesc *desc = gp_stage_get_desc (stage);

      if (gp_context_set_error_if_cancelled (ctx, error))
        {
          ok = FALSE;
          break;
        }

      any_ran = TRUE;
      gp_context_set_current_stage (ctx, desc->name);
      emit_stage_event (ctx, GP_EVENT_STAGE_STARTED, desc->name, NULL);
      gint64 start = g_get_monotonic_time ();

      GError *local_error = NULL;
      ok = desc->run (stage, ctx, &local_error);
      if (ok)
        {
          g_clear_error (&local_error);
          g_autofree char *took = g_strdup_printf ("%.2f s",
                                                   (g_get_monotonic_time () - start) / 1e6);
          emit_stage_event (ctx, GP_EVENT_STAGE_FINISHED, desc->name, took);
        }
      else
        stage_failed (stage, "run", error, local_error);
      gp_context_set_current_stage (ctx, NULL);
    }

  pipeline->state = ok ? STATE_RAN : STATE_FAILED;
  if (any_ran)
    {
      g_autofree char *report = gp_context_format_report (ctx);
      GpEvent event = { .kind = GP_EVENT_REPORT, .message = report };
      gp_context_emit (ctx, &event);
    }
  return ok;
}
