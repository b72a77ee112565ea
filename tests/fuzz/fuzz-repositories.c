/* libFuzzer target: repositories files, the legacy `repositories-<driver>`
 * and `repositories.json` (one format), and what migrate-tags does with
 * each entry: name normalisation, tag and digest validation, references.
 * A store that loaded must marshal to JSON that loads again to the same
 * bytes. */
#include "config.h"

#include <string.h>

#include "gp-digest.h"
#include "gp-reference.h"
#include "gp-store.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GError *error = NULL;
  GpRepositories *repos = gp_repositories_load_data ((const char *) data, size, "repositories-vfs", &error);
  if (repos == NULL)
    {
      g_assert (error != NULL && error->message != NULL);
      g_clear_error (&error);
      return 0;
    }

  GpRepositories *out = gp_repositories_new ();
  GPtrArray *names = gp_repositories_list_names (repos);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      GPtrArray *entries = gp_repositories_list_by_name (repos, name);
      char *normalized = gp_reference_normalize_name (name, NULL);
      for (guint j = 0; j < entries->len; j++)
        {
          const GpRepositoryEntry *e = entries->pdata[j];
          g_assert (gp_repositories_lookup_string (repos, name, e->reference) != NULL);
          if (normalized == NULL)
            continue;
          /* As migrate-tags (FORMATS.md §4.9 G.3): a key that parses as
           * a digest is one, anything else must be a tag. */
          GpReference *ref = NULL;
          GpDigest digest;
          if (gp_digest_parse (e->reference, -1, &digest, NULL))
            {
              ref = gp_reference_with_digest (normalized, e->reference, NULL);
              if (ref != NULL)
                gp_repositories_add_digest (out, ref, e->image_id, NULL);
            }
          else if (gp_reference_validate_tag (e->reference, NULL))
            {
              ref = gp_reference_with_tag (normalized, e->reference, NULL);
              if (ref != NULL)
                gp_repositories_add_tag (out, ref, e->image_id, NULL);
            }
          if (ref != NULL)
            {
              char *s = gp_reference_to_string (ref);
              GpReference *again = gp_reference_parse (s, NULL);
              g_assert (again != NULL);
              gp_reference_free (again);
              g_free (s);
              gp_reference_free (ref);
            }
        }
      g_free (normalized);
      g_ptr_array_unref (entries);
    }
  g_ptr_array_unref (names);

  /* Round trips: what was loaded, and what migrate-tags built. */
  GpRepositories *stores[] = { repos, out };
  for (guint k = 0; k < G_N_ELEMENTS (stores); k++)
    {
      gsize len_a, len_b;
      char *a = gp_repositories_to_json (stores[k], &len_a);
      GpRepositories *r2 = gp_repositories_load_data (a, len_a, "round trip", &error);
      g_assert_no_error (error);
      char *b = gp_repositories_to_json (r2, &len_b);
      g_assert (len_a == len_b && memcmp (a, b, len_a) == 0);
      g_free (a);
      g_free (b);
      gp_repositories_free (r2);
    }
  gp_repositories_free (out);
  gp_repositories_free (repos);
  return 0;
}
