/* verify - a read-only check of a Docker 1.10+ image store.
 *
 * Checks `<root>/image/<driver>/` the way the daemon reads it, and more:
 *
 *  - layerdb: every layer record loads as Docker loads it (`diff`,
 *    `size`, `cache-id`, `parent`), its DiffID and size equal what its
 *    tar-split data and the driver's files rebuild (layers in parallel,
 *    `jobs`), its directory is named chain(parent, diff), its parent
 *    exists, the driver has its cache ID (verify-layers.c);
 *  - imagedb: every config hashes to its name, its DiffIDs form a layer
 *    chain present in layerdb, its `parent` metadata names an image;
 *  - repositories.json: decodes, each reference is well formed, filed
 *    under its repository and points at an image;
 *  - layerdb/mounts: each mount loads, its parent layer exists and the
 *    driver has its mount and init IDs;
 *  - distribution: each file decodes and holds valid digests.
 *
 * Each problem is a failure in the context's report, named by its path,
 * so the run exits 1 when any is found.  Nothing under the root is ever
 * written.  Public API only.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "verify.h"

/* Largest distribution metadata file read. */
#define DIST_FILE_MAX (1024 * 1024)

static const GpOption verify_options[] = {
  { .key = "jobs", .type = GP_OPTION_INT, .default_value = "0",
    .help = "Layers rebuilt in parallel (0: --jobs, else the number of CPUs)" },
  { .key = "contents", .type = GP_OPTION_BOOL, .default_value = "true",
    .help = "Rebuild every layer from tar-split and the driver's files (false: check the records only)" },
  { NULL }
};

/* ---- problems ---- */

static void
problem_free (VerifyProblem *p)
{
  g_free (p->item);
  g_free (p->message);
  g_free (p);
}

GPtrArray *
verify_problems_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) problem_free);
}

static void
problems_take (GPtrArray *list, const char *item, char *message)
{
  VerifyProblem *p = g_new0 (VerifyProblem, 1);
  p->item = g_strdup (item);
  p->message = message;
  g_ptr_array_add (list, p);
}

void
verify_problems_add (GPtrArray *list, const char *item, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  problems_take (list, item, g_strdup_vprintf (format, ap));
  va_end (ap);
}

/* Adds @error about @item.  Library messages start with the path they are
 * about (`<item>/size: not a decimal integer`): that path becomes the
 * item, the rest the message. */
void
verify_problems_add_error (GPtrArray *list, const char *item, const GError *error)
{
  const char *msg = error->message;
  gsize n = strlen (item);

  if (strncmp (msg, item, n) == 0 && (msg[n] == '/' || msg[n] == ':'))
    {
      const char *sep = strstr (msg + n, ": ");
      if (sep != NULL)
        {
          g_autofree char *path = g_strndup (msg, (gsize) (sep - msg));
          problems_take (list, path, g_strdup (sep + 2));
          return;
        }
    }
  problems_take (list, item, g_strdup (msg));
}

void
verify_problems_report (GPtrArray *list, GpContext *ctx)
{
  for (guint i = 0; i < list->len; i++)
    {
      const VerifyProblem *p = list->pdata[i];
      gp_context_report (ctx, GP_REPORT_FAILURE, p->item, "%s", p->message);
    }
  gp_context_add_counter (ctx, VERIFY_PROBLEMS, list->len);
}

/* ---- imagedb ---- */

static void
check_image_rootfs (Verify *v, GPtrArray *problems, const char *path, GBytes *data)
{
  gsize len;
  const char *raw = g_bytes_get_data (data, &len);
  g_autoptr (GError) error = NULL;
  GpImageConfig *config = gp_image_config_parse (raw, len, &error);
  if (config == NULL)
    {
      verify_problems_add_error (problems, path, error);
      return;
    }

  guint n = config->diff_ids != NULL ? config->diff_ids->len : 0;
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();
  gboolean ok = TRUE;
  for (guint i = 0; i < n; i++)
    {
      const char *id = ((GString *) config->diff_ids->pdata[i])->str;
      g_autoptr (GError) local = NULL;
      if (!gp_digest_check_sha256 (id, -1, &local))
        {
          verify_problems_add (problems, path, "rootfs.diff_ids[%u]: %s", i, local->message);
          ok = FALSE;
        }
      g_ptr_array_add (ids, (gpointer) id);
    }
  if (ok && n > 0)
    {
      g_autofree char *chain = gp_chain_id_for_list ((const char *const *) ids->pdata, n);
      VerifyLayer *top = g_hash_table_lookup (v->layers, chain);
      if (top == NULL)
        verify_problems_add (problems, path, "rootfs: its %u DiffIDs give layer chain %s, which is not in layerdb",
                             n, chain);
      else if (top->record == NULL)
        verify_problems_add (problems, path, "rootfs: its top layer %s has an invalid record", chain);
    }
  gp_image_config_free (config);
}

static gboolean
verify_images (Verify *v, GPtrArray *problems, GError **error)
{
  g_autoptr (GPtrArray) ids = gp_store_list_images (v->store, error);
  if (ids == NULL)
    return FALSE;

  for (guint i = 0; i < ids->len; i++)
    {
      const char *id = ids->pdata[i];
      g_autofree char *path = g_build_filename (v->dir, "imagedb", "content", "sha256", id + 7, NULL);
      g_autoptr (GError) local = NULL;

      if (gp_context_set_error_if_cancelled (v->ctx, error))
        return FALSE;
      g_autoptr (GBytes) data = gp_store_get_image_config (v->store, id, &local);
      if (data == NULL)
        verify_problems_add_error (problems, path, local);
      else
        check_image_rootfs (v, problems, path, data);
      g_clear_error (&local);

      g_autofree char *meta = g_build_filename (v->dir, "imagedb", "metadata", "sha256", id + 7, "parent", NULL);
      g_autofree char *parent = NULL;
      if (!gp_store_get_image_parent (v->store, id, &parent, &local))
        verify_problems_add_error (problems, meta, local);
      else if (parent != NULL && !gp_store_has_image (v->store, parent))
        verify_problems_add (problems, meta, "parent image %s does not exist", parent);

      gp_context_add_counter (v->ctx, VERIFY_IMAGES, 1);
      gp_context_emit_progress (v->ctx, id, i + 1, ids->len, 0);
    }
  return TRUE;
}

/* ---- repositories.json ---- */

static void
verify_references (Verify *v, GPtrArray *problems)
{
  g_autofree char *path = g_build_filename (v->dir, "repositories.json", NULL);
  struct stat st;
  if (lstat (path, &st) < 0 && errno == ENOENT)
    return; /* the daemon creates it empty */

  g_autoptr (GError) error = NULL;
  GpRepositories *repos = gp_store_get_repositories (v->store, &error);
  if (repos == NULL)
    {
      verify_problems_add_error (problems, path, error);
      return;
    }

  g_autoptr (GPtrArray) names = gp_repositories_list_names (repos);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      g_autoptr (GPtrArray) entries = gp_repositories_list_by_name (repos, name);
      for (guint j = 0; j < entries->len; j++)
        {
          const GpRepositoryEntry *e = entries->pdata[j];
          g_autoptr (GError) local = NULL;
          g_autoptr (GpReference) ref = gp_reference_parse (e->reference, &local);

          gp_context_add_counter (v->ctx, VERIFY_REFERENCES, 1);
          if (ref == NULL)
            verify_problems_add (problems, path, "reference \"%s\": %s", e->reference, local->message);
          else if (gp_reference_is_name_only (ref))
            verify_problems_add (problems, path, "reference \"%s\" has neither a tag nor a digest", e->reference);
          else if (strcmp (ref->name, name) != 0)
            verify_problems_add (problems, path, "reference \"%s\" is filed under repository \"%s\", not \"%s\"",
                                 e->reference, name, ref->name);

          g_clear_error (&local);
          if (!gp_digest_check_sha256 (e->image_id, -1, &local))
            verify_problems_add (problems, path, "reference \"%s\" points at \"%s\": %s", e->reference,
                                 e->image_id, local->message);
          else if (!gp_store_has_image (v->store, e->image_id))
            verify_problems_add (problems, path, "reference \"%s\" points at image %s, which does not exist",
                                 e->reference, e->image_id);
        }
    }
}

/* ---- layerdb/mounts ---- */

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The names in @dir, sorted; NULL (nothing to check) if it is absent. */
static GPtrArray *
list_dir (Verify *v, const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  if (d == NULL)
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        gp_context_report (v->ctx, GP_REPORT_FAILURE, dir, "cannot read: %s", error->message);
      return NULL;
    }
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  return names;
}

static void
check_driver_id (Verify *v, GPtrArray *problems, const char *path, const char *id)
{
  if (v->driver != NULL && !gp_driver_layer_exists (v->driver, v->root, id))
    verify_problems_add (problems, path, "the %s driver has no layer %s", gp_driver_get_name (v->driver), id);
}

static void
verify_mounts (Verify *v, GPtrArray *problems)
{
  g_autofree char *dir = g_build_filename (v->dir, "layerdb", "mounts", NULL);
  g_autoptr (GPtrArray) names = list_dir (v, dir);
  if (names == NULL)
    return;

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autoptr (GError) error = NULL;

      gp_context_add_counter (v->ctx, VERIFY_MOUNTS, 1);
      g_autoptr (GpMountRecord) m = gp_store_get_mount (v->store, name, &error);
      if (m == NULL)
        {
          verify_problems_add_error (problems, path, error);
          continue;
        }
      if (m->parent != NULL)
        {
          g_autofree char *parent_path = g_build_filename (path, "parent", NULL);
          VerifyLayer *layer = g_hash_table_lookup (v->layers, m->parent);
          if (layer == NULL)
            verify_problems_add (problems, parent_path, "layer %s does not exist in layerdb", m->parent);
          else if (layer->record == NULL)
            verify_problems_add (problems, parent_path, "layer %s has an invalid record", m->parent);
        }
      g_autofree char *mount_path = g_build_filename (path, "mount-id", NULL);
      check_driver_id (v, problems, mount_path, m->mount_id);
      if (m->init_id != NULL)
        {
          g_autofree char *init_path = g_build_filename (path, "init-id", NULL);
          check_driver_id (v, problems, init_path, m->init_id);
        }
    }
}

/* ---- distribution ---- */

/* Reads `<top>/<alg>/<hex>` for each file and calls @check on it. */
typedef void (*DistCheckFunc) (GPtrArray *problems, const char *path, const char *data, gsize len);

static void
check_v2metadata (GPtrArray *problems, const char *path, const char *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = gp_v2_metadata_parse (data, len, path, &error);
  if (list == NULL)
    {
      verify_problems_add_error (problems, path, error);
      return;
    }
  for (guint i = 0; i < list->len; i++)
    {
      const GpV2Metadata *m = list->pdata[i];
      g_clear_error (&error);
      if (!gp_digest_parse (m->digest, -1, NULL, &error))
        verify_problems_add (problems, path, "[%u].Digest: %s", i, error->message);
    }
}

static void
check_diffid (GPtrArray *problems, const char *path, const char *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  if (memchr (data, '\0', len) != NULL)
    verify_problems_add (problems, path, "NUL byte in a DiffID");
  else if (!gp_digest_check_sha256 (data, (gssize) len, &error))
    verify_problems_add (problems, path, "not a DiffID: %s", error->message);
}

static void
verify_dist_tree (Verify *v, GPtrArray *problems, const char *top, DistCheckFunc check)
{
  g_autoptr (GPtrArray) algs = list_dir (v, top);
  for (guint i = 0; algs != NULL && i < algs->len; i++)
    {
      const char *alg = algs->pdata[i];
      g_autofree char *alg_dir = g_build_filename (top, alg, NULL);
      if (!g_file_test (alg_dir, G_FILE_TEST_IS_DIR) || g_file_test (alg_dir, G_FILE_TEST_IS_SYMLINK))
        {
          gp_context_report (v->ctx, GP_REPORT_WARNING, alg_dir, "not a digest algorithm directory");
          continue;
        }
      g_autoptr (GPtrArray) files = list_dir (v, alg_dir);
      for (guint j = 0; files != NULL && j < files->len; j++)
        {
          const char *hex = files->pdata[j];
          g_autofree char *path = g_build_filename (alg_dir, hex, NULL);
          g_autofree char *digest = g_strconcat (alg, ":", hex, NULL);
          if (!gp_digest_parse (digest, -1, NULL, NULL))
            {
              gp_context_report (v->ctx, GP_REPORT_WARNING, path, "not named by a digest: ignored");
              continue;
            }
          gp_context_add_counter (v->ctx, VERIFY_DIST, 1);
          g_autoptr (GError) error = NULL;
          gsize len;
          g_autofree char *data = gp_safeio_read_file (path, DIST_FILE_MAX, &len, &error);
          if (data == NULL)
            verify_problems_add_error (problems, path, error);
          else
            check (problems, path, data, len);
        }
    }
}

static void
verify_distribution (Verify *v, GPtrArray *problems)
{
  g_autofree char *v2 = g_build_filename (v->dir, "distribution", "v2metadata-by-diffid", NULL);
  g_autofree char *diffids = g_build_filename (v->dir, "distribution", "diffid-by-digest", NULL);
  verify_dist_tree (v, problems, v2, check_v2metadata);
  verify_dist_tree (v, problems, diffids, check_diffid);
}

/* ---- the stage ---- */

static gboolean
verify_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  if (gp_stage_get_int (stage, "jobs") < 0)
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE, "verify: jobs must be 0 or more");
      return FALSE;
    }
  return gp_context_get_store (ctx, error) != NULL;
}

static gboolean
verify_run (GpStage *stage, GpContext *ctx, GError **error)
{
  GpStore *store = gp_context_get_store (ctx, error);
  if (store == NULL)
    return FALSE;
  if (!gp_store_exists (store))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: no image store to verify (not a directory)",
                   gp_store_get_dir (store));
      return FALSE;
    }

  Verify v = {
    .ctx = ctx,
    .store = store,
    .root = gp_store_get_root (store),
    .dir = gp_store_get_dir (store),
    .contents = gp_stage_get_bool (stage, "contents"),
    .jobs = gp_stage_get_jobs (stage, ctx),
  };
  g_autoptr (GError) local = NULL;
  v.driver = gp_driver_lookup (gp_store_get_driver (store), &local);
  if (v.driver == NULL)
    gp_context_report (ctx, GP_REPORT_WARNING, v.dir, "layer contents and driver IDs not checked: %s",
                       local->message);

  gp_context_add_counter (ctx, VERIFY_LAYERS, 0);
  gp_context_add_counter (ctx, VERIFY_IMAGES, 0);
  gp_context_add_counter (ctx, VERIFY_REFERENCES, 0);
  gp_context_add_counter (ctx, VERIFY_MOUNTS, 0);
  gp_context_add_counter (ctx, VERIFY_BYTES, 0);

  g_autoptr (GPtrArray) problems = verify_problems_new ();
  gboolean ok = verify_layers (&v, problems, error) && verify_images (&v, problems, error);
  if (ok)
    {
      verify_references (&v, problems);
      verify_mounts (&v, problems);
      verify_distribution (&v, problems);
    }
  verify_problems_report (problems, ctx);
  g_clear_pointer (&v.layers, g_hash_table_unref);
  return ok;
}

GP_STAGE_DEFINE (
  .name = "verify",
  .description = "Check a Docker 1.10+ image store read-only: layers rebuilt and hashed, chains, configs, references, mounts",
  .requires = GP_STAGE_STRV ("root", "store"),
  .provides = GP_STAGE_STRV ("verified-store"),
  .options = verify_options,
  .prepare = verify_prepare,
  .run = verify_run)
