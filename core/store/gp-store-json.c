/* graphpipe - glue between the store's JSON files (FORMATS.md §6.8) and
 * gp-json, and Go's strings.TrimSpace for its small text files. */
#include "config.h"

#include "gp-store-private.h"

#include <string.h>

#include "gp-error.h"
#include "gp-json.h"

/* Sets "<what>: JSON value at byte N is not <want>" for the value that
 * starts at @value inside @data. */
gboolean
_gp_store_json_type_error (const char *what, const char *data, const char *value,
                           const char *want, GError **error)
{
  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON, "%s: JSON value at byte %zu is not %s",
               what, (gsize) (value - data), want);
  return FALSE;
}

/* Decodes the member value @raw (inside @data) into a Go string field:
 * `null` leaves *@field as it is (Go leaves the target unchanged), a string
 * replaces it (cut at its first NUL), anything else is a type error. */
gboolean
_gp_store_json_string (const char *what, const char *data, const char *raw, gsize len,
                       const char *want, char **field, GError **error)
{
  g_autoptr (GString) value = NULL;

  if (gp_json_is_null (raw, len))
    return TRUE;
  if (gp_json_kind (raw, len) != GP_JSON_KIND_STRING)
    return _gp_store_json_type_error (what, data, raw, want, error);
  if (!gp_json_decode_string (raw, len, &value, error))
    return FALSE;
  g_free (*field);
  *field = g_strndup (value->str, value->len);
  return TRUE;
}

static gboolean
is_go_space (gunichar r)
{
  switch (r)
    {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return TRUE;
    default:
      return r >= 0x2000 && r <= 0x200A;
    }
}

/* Go's strings.TrimSpace. */
char *
_gp_go_trim_space (const char *s, gsize len)
{
  const guchar *p = (const guchar *) s;
  const guchar *end = p + len;

  while (p < end)
    {
      gunichar r;
      gsize n = gp_utf8_decode_go (p, (gsize) (end - p), &r);
      if (!(n > 1 || r != 0xFFFD) || !is_go_space (r))
        break;
      p += n;
    }
  while (end > p)
    {
      /* Find the start of the last rune. */
      const guchar *q = end - 1;
      while (q > p && end - q < 4 && (*q & 0xC0) == 0x80)
        q--;
      gunichar r;
      gsize n = gp_utf8_decode_go (q, (gsize) (end - q), &r);
      if (q + n != end)
        {
          /* Not one complete rune: the last byte is an invalid one. */
          q = end - 1;
          gp_utf8_decode_go (q, 1, &r);
          n = 1;
          r = (*q < 0x80) ? *q : 0xFFFD;
        }
      if (!(n > 1 || r != 0xFFFD) || !is_go_space (r))
        break;
      end = q;
    }
  return g_strndup ((const char *) p, (gsize) (end - p));
}
