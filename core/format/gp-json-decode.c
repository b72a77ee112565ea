/* graphpipe - decoding JSON text as Go does: string unescaping, type
 * errors, struct field name matching. */
#include "config.h"

#include "gp-json.h"
#include "gp-json-private.h"
#include "gp-error.h"

#include <string.h>

/* ------------------------------------------------------------------ */
/* Decoding helpers                                                    */
/* ------------------------------------------------------------------ */

static int
hexval (guchar c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Go's getu4: the code unit of a `\uXXXX` escape at p, or -1. */
gint32
_gp_json_getu4 (const guchar *p, gsize len)
{
  if (len < 6 || p[0] != '\\' || p[1] != 'u')
    return -1;
  gint32 r = 0;
  for (int i = 2; i < 6; i++)
    {
      int h = hexval (p[i]);
      if (h < 0)
        return -1;
      r = r * 16 + h;
    }
  return r;
}

static void
append_rune (GString *out, gunichar r)
{
  char buf[8];
  gint n = g_unichar_to_utf8 (r, buf);
  g_string_append_len (out, buf, n);
}

/* The byte a one-character escape stands for: `\n` is a newline, `\"`
 * a quote. */
static char
unescape_simple (guchar c)
{
  switch (c)
    {
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    default:
      return (char) c;
    }
}

/**
 * gp_json_unquote:
 * @raw: text of a validated JSON string value, quotes included
 * @len: its length
 *
 * Unescapes a JSON string exactly as Go's encoding/json does: escapes are
 * resolved, a valid UTF-16 surrogate pair becomes one code point, a lone
 * surrogate escape becomes U+FFFD, and each byte that does not start a
 * valid UTF-8 sequence becomes U+FFFD.
 *
 * Returns: (transfer full): the bytes; may contain NUL. Free with
 *   g_string_free().
 */
GString *
gp_json_unquote (const char *raw, gsize len)
{
  const guchar *s = (const guchar *) raw + 1;
  gsize n = len >= 2 ? len - 2 : 0;
  GString *out = g_string_sized_new (n);
  gsize r = 0;

  while (r < n)
    {
      guchar c = s[r];
      if (c == '\\' && r + 1 < n)
        {
          switch (s[r + 1])
            {
            case 'u':
              {
                gint32 rr = _gp_json_getu4 (s + r, n - r);
                if (rr < 0)
                  {
                    r += 2;
                    continue;
                  }
                r += 6;
                if (rr >= 0xD800 && rr < 0xE000)
                  {
                    gint32 rr1 = _gp_json_getu4 (s + r, n - r);
                    if (rr < 0xDC00 && rr1 >= 0xDC00 && rr1 < 0xE000)
                      {
                        r += 6;
                        append_rune (out, 0x10000 + (((rr - 0xD800) << 10) | (rr1 - 0xDC00)));
                        continue;
                      }
                    rr = 0xFFFD;
                  }
                append_rune (out, rr);
                continue;
              }
            default:
              g_string_append_c (out, unescape_simple (s[r + 1]));
              r += 2;
              continue;
            }
        }
      if (c < 0x80)
        {
          g_string_append_c (out, c);
          r++;
          continue;
        }
      gunichar rune;
      gsize size = gp_utf8_decode_go (s + r, n - r, &rune);
      if (size == 1 && rune == 0xFFFD)
        append_rune (out, 0xFFFD);
      else
        g_string_append_len (out, (const char *) s + r, size);
      r += size;
    }
  return out;
}

static const char *
kind_name (const char *raw, gsize len)
{
  switch (gp_json_kind (raw, len))
    {
    case GP_JSON_KIND_NULL:
      return "null";
    case GP_JSON_KIND_BOOL:
      return "bool";
    case GP_JSON_KIND_NUMBER:
      return "number";
    case GP_JSON_KIND_STRING:
      return "string";
    case GP_JSON_KIND_ARRAY:
      return "array";
    case GP_JSON_KIND_OBJECT:
      return "object";
    case GP_JSON_KIND_INVALID:
    default:
      return "invalid value";
    }
}

gboolean
_gp_json_type_error (GError **error, const char *raw, gsize len, const char *go_type)
{
  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
               "cannot unmarshal %s into Go value of type %s", kind_name (raw, len), go_type);
  return FALSE;
}

/**
 * gp_json_key_equal_fold:
 * @name: an ASCII struct field name (NUL-terminated)
 * @key: an unescaped object key
 * @key_len: its length
 *
 * Go's case-insensitive field name match (encoding/json equalFoldRight):
 * ASCII letters match either case, `k`/`K` also match U+212A KELVIN SIGN
 * and `s`/`S` also match U+017F LATIN SMALL LETTER LONG S in @key;
 * everything else must be identical.
 *
 * Returns: %TRUE if @key folds to @name.
 */
gboolean
gp_json_key_equal_fold (const char *name, const char *key, gsize key_len)
{
  const guchar *t = (const guchar *) key;
  gsize ti = 0;

  for (const guchar *s = (const guchar *) name; *s != '\0'; s++)
    {
      guchar sb = *s;
      if (ti >= key_len)
        return FALSE;
      guchar tb = t[ti];
      if (tb < 0x80)
        {
          if (sb != tb)
            {
              guchar su = sb & 0xDF;
              if (su < 'A' || su > 'Z' || su != (tb & 0xDF))
                return FALSE;
            }
          ti++;
          continue;
        }
      gunichar r;
      gsize size = gp_utf8_decode_go (t + ti, key_len - ti, &r);
      if (sb == 's' || sb == 'S')
        {
          if (r != 0x017F)
            return FALSE;
        }
      else if (sb == 'k' || sb == 'K')
        {
          if (r != 0x212A)
            return FALSE;
        }
      else
        return FALSE;
      ti += size;
    }
  return ti == key_len;
}

/**
 * gp_json_match_field:
 * @names: ASCII field names in struct order
 * @n_names: number of names
 * @key: an unescaped object key
 * @key_len: its length
 *
 * Go's struct field lookup for a decoded key: the field whose name equals
 * @key exactly, else the first field (in order) whose name folds to it
 * (gp_json_key_equal_fold()).
 *
 * Returns: the field index, or -1 if no field matches (Go ignores the key).
 */
gint
gp_json_match_field (const char *const *names, guint n_names, const char *key, gsize key_len)
{
  return _gp_json_match_field_stride (names, sizeof (const char *), n_names, key, key_len);
}

gint
_gp_json_match_field_stride (const char *const *names, gsize stride, guint n_names,
                             const char *key, gsize key_len)
{
#define NAME_AT(i) (*(const char *const *) (gconstpointer) ((const char *) names + (i) * stride))

  /* An exact match wins over any earlier case-insensitive one. */
  for (guint i = 0; i < n_names; i++)
    {
      const char *name = NAME_AT (i);
      if ((key_len == 0 || name[0] == key[0]) && strlen (name) == key_len
          && memcmp (name, key, key_len) == 0)
        return i;
    }
  for (guint i = 0; i < n_names; i++)
    if (gp_json_key_equal_fold (NAME_AT (i), key, key_len))
      return i;
  return -1;
#undef NAME_AT
}
