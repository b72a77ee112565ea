/* migrate-tags - migrate the legacy tags to repositories.json.
 *
 * FORMATS.md §4.9 G and §4.5.  Unless `<root>/.migration-v1-tags` exists:
 * every entry of `repositories-<driver>` whose v1 ID was migrated becomes
 * a reference in `image/<driver>/repositories.json` (the name
 * normalised; a digest key gives `<name>@<digest>`, anything else must be
 * a valid tag).  Invalid names and tags are reported and skipped; when two
 * legacy entries normalise to the same reference the first one in sorted
 * order wins (Docker: random order).  Then the marker is created.  Without
 * a repositories file nothing happens and no marker is written.
 *
 * Unlike Docker, a tag is never lost to a fault that a rerun can fix: a
 * tag whose image failed in this run for a transient reason (I/O, space,
 * permissions, layer files; see #GpGraphFailure) is reported as pending,
 * the tags that could be resolved are written, and the marker is not, so
 * that the next run, once every image migrates, adds the rest and ends in
 * the repositories.json of an uninterrupted run.  Tags of v1 IDs absent
 * from graph/ or of images the legacy metadata rules out (invalid JSON,
 * missing parent, cycle) are skipped for good, as Docker skips them.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <graphpipe.h>

#include "migrate-common.h"

#define TAGS_MARKER GP_GRAPH_TAGS_MARKER

static void
tag_warning (GpContext *ctx, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
tag_warning (GpContext *ctx, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  gp_context_report (ctx, GP_REPORT_WARNING, NULL, "%s", message);
  gp_context_add_counter (ctx, MIG_TAGS_SKIPPED, 1);
}

static char *
quote (const char *s)
{
  GString *out = g_string_new (NULL);
  gp_json_append_string (out, s, strlen (s));
  return g_string_free (out, FALSE);
}

/* Why the tag of @v1_id, which has no image ID, must wait for the next
 * run; NULL when no run will give it one (the v1 ID is not in graph/, or
 * the legacy metadata rules its image out). */
static char *
pending_reason (GpGraph *graph, const char *v1_id)
{
  GpGraphImage *image = gp_graph_lookup (graph, v1_id);
  if (image == NULL)
    return NULL;
  switch (gp_graph_image_get_failure (image))
    {
    case GP_GRAPH_FAILURE_PERMANENT:
      return NULL;
    case GP_GRAPH_FAILURE_TRANSIENT:
      return g_strdup_printf ("image %s failed in this run: %s", v1_id, image->error->message);
    default:
      return g_strdup_printf ("image %s was not migrated in this run", v1_id);
    }
}

/* One legacy entry name/key -> v1 ID.  Sets *pending when the entry is
 * left for the next run.  @held: the references of pending entries; a
 * later entry normalising to one of them waits too, so that the first in
 * sorted order still wins when the rerun adds it. */
static void
migrate_tag (GpContext *ctx, GpGraph *graph, GpRepositories *repos, GHashTable *held,
             const GpGraphLegacyTag *entry, gboolean *changed, gboolean *pending)
{
  const char *name = entry->name, *key = entry->key, *v1_id = entry->v1_id;
  g_autoptr (GError) error = NULL;
  const char *image_id = gp_context_lookup_image_id (ctx, v1_id);
  gboolean is_digest, bad_name;
  g_autoptr (GpReference) ref = gp_graph_legacy_tag_reference (entry, &is_digest, &bad_name, &error);
  g_autofree char *ref_string = ref != NULL ? gp_reference_to_string (ref) : NULL;

  if (ref_string != NULL && g_hash_table_contains (held, ref_string))
    {
      g_autofree char *tag = g_strdup_printf ("%s:%s", name, key);
      gp_context_report (ctx, GP_REPORT_PENDING, tag,
                         "waits for an earlier entry naming %s, whose image failed in this run",
                         ref_string);
      gp_context_add_counter (ctx, MIG_TAGS_PENDING, 1);
      *pending = TRUE;
      return;
    }

  /* G.1; an entry that is invalid anyway is not worth waiting for. */
  if (image_id == NULL)
    {
      g_autofree char *why = ref_string != NULL ? pending_reason (graph, v1_id) : NULL;
      if (why != NULL && gp_context_has_slot (ctx, MIG_SLOT_TEMP_TARGET))
        {
          /* A private store (export-legacy) has no next run. */
          g_autofree char *tag = g_strdup_printf ("%s:%s", name, key);
          tag_warning (ctx, "repositories: tag %s not available: %s", tag, why);
          return;
        }
      if (why != NULL)
        {
          g_autofree char *tag = g_strdup_printf ("%s:%s", name, key);
          gp_context_report (ctx, GP_REPORT_PENDING, tag, "%s", why);
          gp_context_add_counter (ctx, MIG_TAGS_PENDING, 1);
          g_hash_table_add (held, g_steal_pointer (&ref_string));
          *pending = TRUE;
          return;
        }
      gp_context_add_counter (ctx, MIG_TAGS_SKIPPED, 1);
      return;
    }

  /* G.2, G.3 */
  if (ref == NULL && bad_name)
    {
      g_autofree char *q = quote (name);
      tag_warning (ctx, "repositories: invalid repository name %s: %s", q, error->message);
      return;
    }
  if (ref == NULL)
    {
      g_autofree char *qn = quote (name);
      g_autofree char *qk = quote (key);
      tag_warning (ctx, "repositories: %s %s of %s: %s", is_digest ? "invalid digest" : "invalid tag",
                   qk, qn, error->message);
      return;
    }

  /* A reference already pointing at this image: done by a killed earlier
   * run of ours, nothing to do. */
  const char *existing = gp_repositories_lookup (repos, ref);
  if (existing != NULL && strcmp (existing, image_id) == 0)
    {
      gp_context_add_counter (ctx, MIG_TAGS_MIGRATED, 1);
      return;
    }
  if (!gp_graph_legacy_tag_add (repos, ref, is_digest, image_id, &error))
    {
      g_autofree char *s = gp_reference_to_string (ref);
      tag_warning (ctx, "repositories: cannot migrate %s (legacy %s:%s): %s", s, name, key, error->message);
      return;
    }
  *changed = TRUE;
  gp_context_add_counter (ctx, MIG_TAGS_MIGRATED, 1);
  g_autofree char *tag = g_strdup_printf ("%s:%s", name, key);
  mig_info (ctx, tag, "migrated tag %s to point to %s", tag, image_id);
}

static gboolean
migrate_tags_run (GpStage *stage, GpContext *ctx, GError **error)
{
  GpGraph *graph = mig_get_graph (ctx, error);
  if (graph == NULL)
    return FALSE;
  if (!gp_graph_has_graph_dir (graph))
    return TRUE;

  const char *root = gp_context_get_root (ctx);
  const char *driver = gp_context_get_driver (ctx);
  gboolean dry_run = gp_context_get_dry_run (ctx);
  g_autofree char *marker = g_build_filename (mig_dest_root (ctx), TAGS_MARKER, NULL);
  g_autofree char *legacy_name = g_strconcat ("repositories-", driver, NULL);
  struct stat st;

  gp_context_add_counter (ctx, MIG_TAGS_MIGRATED, 0);
  gp_context_add_counter (ctx, MIG_TAGS_SKIPPED, 0);
  gp_context_add_counter (ctx, MIG_TAGS_FAILED, 0);
  gp_context_add_counter (ctx, MIG_TAGS_PENDING, 0);

  /* G: done before */
  if (lstat (marker, &st) == 0)
    {
      mig_update_clock (ctx);
      return TRUE;
    }
  gboolean absent;
  g_autoptr (GPtrArray) tags = gp_graph_load_legacy_tags (root, driver, &absent, error);
  if (tags == NULL)
    return FALSE;
  if (absent)
    {
      mig_info (ctx, NULL, "%s: no legacy tags to migrate", legacy_name);
      mig_update_clock (ctx);
      return TRUE;
    }

  GpStore *store = mig_get_store (ctx, error);
  if (store == NULL)
    return FALSE;
  g_autofree char *repos_path = g_build_filename (gp_store_get_dir (store), "repositories.json", NULL);
  g_autoptr (GpRepositories) repos = NULL;
  if (g_file_test (repos_path, G_FILE_TEST_EXISTS))
    repos = gp_repositories_load (repos_path, error);
  else
    repos = gp_repositories_new ();
  if (repos == NULL)
    return FALSE;

  /* Sorted legacy names, sorted keys (§4.9 G determinism). */
  gboolean changed = FALSE;
  gboolean pending = FALSE;
  g_autoptr (GHashTable) held = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (dry_run)
    {
      /* The images are not created in a dry run: just the number. */
      if (tags->len > 0)
        gp_context_add_counter (ctx, "dry run: legacy tags", tags->len);
      mig_update_clock (ctx);
      return TRUE;
    }
  for (guint i = 0; i < tags->len; i++)
    migrate_tag (ctx, graph, repos, held, tags->pdata[i], &changed, &pending);

  if (changed && !gp_repositories_save (repos, repos_path, error))
    return FALSE;
  mig_crash_point (ctx, "repositories.json written");
  if (pending)
    {
      /* No marker: the next run takes every entry again. */
      mig_update_clock (ctx);
      return TRUE;
    }
  if (!gp_safeio_write_file (marker, "", 0, 0644, GP_SAFE_DEFAULT, error))
    return FALSE;
  mig_crash_point (ctx, "tags marker written");
  mig_update_clock (ctx);
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "migrate-tags",
  .description = "Migrate the legacy tags of repositories-<driver> to repositories.json",
  .requires = GP_STAGE_STRV ("v1-mapping"),
  .provides = GP_STAGE_STRV ("tags"),
  .run = migrate_tags_run)
