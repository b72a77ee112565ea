/* libFuzzer target: digest strings, v1 IDs and image references. */
#include "config.h"

#include <string.h>

#include "gp-digest.h"
#include "gp-reference.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  const char *s = (const char *) data;
  GpDigest d;
  GError *error = NULL;

  if (gp_digest_parse (s, (gssize) size, &d, &error))
    g_assert (d.hex > s && d.hex + d.hex_len == s + size);
  g_clear_error (&error);
  if (gp_digest_check_sha256 (s, (gssize) size, &error))
    g_assert (size == GP_DIGEST_SHA256_LEN);
  g_clear_error (&error);
  (void) gp_v1_id_is_valid (s, (gssize) size);

  char *str = g_strndup (s, size);
  if (strlen (str) == size)
    {
      GpReference *ref = gp_reference_parse (str, &error);
      if (ref != NULL)
        {
          /* Docker's normalisation is not idempotent (a name such as
           * index.docker.io/index.docker.io/library/x loses one level per
           * pass), so only well-formedness is checked on the way back. */
          char *text = gp_reference_to_string (ref);
          g_assert (text != NULL && *text != '\0');
          GpReference *again = gp_reference_parse (text, NULL);
          if (again != NULL)
            {
              char *text2 = gp_reference_to_string (again);
              g_assert (text2 != NULL && *text2 != '\0');
              g_free (text2);
              gp_reference_free (again);
            }
          g_free (text);
          gp_reference_free (ref);
        }
      g_clear_error (&error);
    }
  g_free (str);
  return 0;
}
