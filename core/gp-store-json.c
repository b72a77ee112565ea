/* graphpipe - a minimal JSON reader with Go 1.5 decoding semantics, for the
 * store's own files (FORMATS.md §6.8). */
#include "config.h"

#include "gp-store-private.h"

#include <stdarg.h>
#include <string.h>

#include "gp-error.h"
#include "gp-json.h"

#define MAX_DEPTH 10000

void
_gp_jscan_init (GpJScan *s, const char *data, gsize len, const char *what)
{
  s->start = s->p = data;
  s->end = data + len;
  s->what = what;
  s->depth = 0;
}

void
_gp_jscan_ws (GpJScan *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

int
_gp_jscan_peek (GpJScan *s)
{
  return s->p < s->end ? (guchar) *s->p : -1;
}

gboolean
_gp_jscan_error (GpJScan *s, GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (s->p >= s->end)
    g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON, "%s: unexpected end of JSON input", s->what);
  else
    g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON, "%s: invalid JSON at byte %zu: %s",
                 s->what, (gsize) (s->p - s->start), msg);
  return FALSE;
}

gboolean
_gp_jscan_type_error (GpJScan *s, GError **error, const char *want)
{
  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON, "%s: JSON value at byte %zu is not %s",
               s->what, (gsize) (s->p - s->start), want);
  return FALSE;
}

gboolean
_gp_jscan_expect (GpJScan *s, char c, GError **error)
{
  _gp_jscan_ws (s);
  if (s->p >= s->end || *s->p != c)
    return _gp_jscan_error (s, error, "expected '%c'", c);
  s->p++;
  return TRUE;
}

static int
hexval (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* \uXXXX at p (p[0] == '\\'), or -1. */
static int
get_u4 (const char *p, const char *end)
{
  if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
    return -1;
  int r = 0;
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

/* Reads a JSON string at the current position (after whitespace) into @out
 * (may be NULL to skip), unescaped as Go does: invalid UTF-8 bytes and lone
 * surrogate escapes become U+FFFD. */
gboolean
_gp_jscan_string (GpJScan *s, GString *out, GError **error)
{
  _gp_jscan_ws (s);
  if (s->p >= s->end || *s->p != '"')
    return _gp_jscan_error (s, error, "expected a string");
  s->p++;
  while (s->p < s->end)
    {
      guchar c = (guchar) *s->p;
      if (c == '"')
        {
          s->p++;
          return TRUE;
        }
      if (c < 0x20)
        return _gp_jscan_error (s, error, "control character in string");
      if (c == '\\')
        {
          if (s->end - s->p < 2)
            break;
          char e = s->p[1];
          const char *map = NULL;
          switch (e)
            {
            case '"': map = "\""; break;
            case '\\': map = "\\"; break;
            case '/': map = "/"; break;
            case 'b': map = "\b"; break;
            case 'f': map = "\f"; break;
            case 'n': map = "\n"; break;
            case 'r': map = "\r"; break;
            case 't': map = "\t"; break;
            case 'u': break;
            default:
              s->p++;
              return _gp_jscan_error (s, error, "invalid escape in string");
            }
          if (map)
            {
              if (out)
                g_string_append_c (out, map[0]);
              s->p += 2;
              continue;
            }
          int r = get_u4 (s->p, s->end);
          if (r < 0)
            {
              s->p += 2;
              return _gp_jscan_error (s, error, "invalid \\u escape in string");
            }
          s->p += 6;
          gunichar rune = (gunichar) r;
          if (r >= 0xD800 && r < 0xE000)
            {
              int r2 = get_u4 (s->p, s->end);
              if (r < 0xDC00 && r2 >= 0xDC00 && r2 < 0xE000)
                {
                  rune = 0x10000 + (((gunichar) r - 0xD800) << 10) + ((gunichar) r2 - 0xDC00);
                  s->p += 6;
                }
              else
                rune = 0xFFFD;
            }
          if (out)
            append_rune (out, rune);
          continue;
        }
      if (c < 0x80)
        {
          if (out)
            g_string_append_c (out, (char) c);
          s->p++;
          continue;
        }
      gunichar rune;
      gsize n = gp_utf8_decode_go ((const guchar *) s->p, (gsize) (s->end - s->p), &rune);
      if (out)
        {
          if (rune == 0xFFFD && n == 1)
            append_rune (out, 0xFFFD);
          else
            g_string_append_len (out, s->p, (gssize) n);
        }
      s->p += n;
    }
  s->p = s->end;
  return _gp_jscan_error (s, error, "unterminated string");
}

gboolean
_gp_jscan_null (GpJScan *s)
{
  _gp_jscan_ws (s);
  if (s->end - s->p >= 4 && memcmp (s->p, "null", 4) == 0)
    {
      s->p += 4;
      return TRUE;
    }
  return FALSE;
}

static gboolean
skip_number (GpJScan *s, GError **error)
{
  const char *p = s->p;
  if (p < s->end && *p == '-')
    p++;
  if (p >= s->end || !g_ascii_isdigit (*p))
    {
      s->p = p;
      return _gp_jscan_error (s, error, "invalid number");
    }
  if (*p == '0')
    p++;
  else
    while (p < s->end && g_ascii_isdigit (*p))
      p++;
  if (p < s->end && *p == '.')
    {
      p++;
      if (p >= s->end || !g_ascii_isdigit (*p))
        {
          s->p = p;
          return _gp_jscan_error (s, error, "invalid number");
        }
      while (p < s->end && g_ascii_isdigit (*p))
        p++;
    }
  if (p < s->end && (*p == 'e' || *p == 'E'))
    {
      p++;
      if (p < s->end && (*p == '+' || *p == '-'))
        p++;
      if (p >= s->end || !g_ascii_isdigit (*p))
        {
          s->p = p;
          return _gp_jscan_error (s, error, "invalid number");
        }
      while (p < s->end && g_ascii_isdigit (*p))
        p++;
    }
  s->p = p;
  return TRUE;
}

gboolean
_gp_jscan_object_next (GpJScan *s, gboolean *first, GString *key, gboolean *out_done, GError **error)
{
  _gp_jscan_ws (s);
  if (s->p < s->end && *s->p == '}' && *first)
    {
      s->p++;
      *out_done = TRUE;
      return TRUE;
    }
  if (!*first)
    {
      if (s->p < s->end && *s->p == '}')
        {
          s->p++;
          *out_done = TRUE;
          return TRUE;
        }
      if (!_gp_jscan_expect (s, ',', error))
        return FALSE;
    }
  *first = FALSE;
  *out_done = FALSE;
  if (key)
    g_string_truncate (key, 0);
  if (!_gp_jscan_string (s, key, error))
    return FALSE;
  return _gp_jscan_expect (s, ':', error);
}

gboolean
_gp_jscan_array_next (GpJScan *s, gboolean *first, gboolean *out_done, GError **error)
{
  _gp_jscan_ws (s);
  if (s->p < s->end && *s->p == ']')
    {
      if (*first)
        {
          s->p++;
          *out_done = TRUE;
          return TRUE;
        }
      s->p++;
      *out_done = TRUE;
      return TRUE;
    }
  if (!*first && !_gp_jscan_expect (s, ',', error))
    return FALSE;
  *first = FALSE;
  *out_done = FALSE;
  _gp_jscan_ws (s);
  return TRUE;
}

gboolean
_gp_jscan_skip_value (GpJScan *s, GError **error)
{
  _gp_jscan_ws (s);
  if (s->p >= s->end)
    return _gp_jscan_error (s, error, "expected a value");
  if (s->depth >= MAX_DEPTH)
    return _gp_jscan_error (s, error, "nested too deeply");

  char c = *s->p;
  gboolean first = TRUE, done = FALSE;
  switch (c)
    {
    case '{':
      s->p++;
      s->depth++;
      for (;;)
        {
          if (!_gp_jscan_object_next (s, &first, NULL, &done, error))
            return FALSE;
          if (done)
            break;
          if (!_gp_jscan_skip_value (s, error))
            return FALSE;
        }
      s->depth--;
      return TRUE;
    case '[':
      s->p++;
      s->depth++;
      for (;;)
        {
          if (!_gp_jscan_array_next (s, &first, &done, error))
            return FALSE;
          if (done)
            break;
          if (!_gp_jscan_skip_value (s, error))
            return FALSE;
        }
      s->depth--;
      return TRUE;
    case '"':
      return _gp_jscan_string (s, NULL, error);
    case 't':
      if (s->end - s->p >= 4 && memcmp (s->p, "true", 4) == 0)
        {
          s->p += 4;
          return TRUE;
        }
      return _gp_jscan_error (s, error, "invalid literal");
    case 'f':
      if (s->end - s->p >= 5 && memcmp (s->p, "false", 5) == 0)
        {
          s->p += 5;
          return TRUE;
        }
      return _gp_jscan_error (s, error, "invalid literal");
    case 'n':
      if (_gp_jscan_null (s))
        return TRUE;
      return _gp_jscan_error (s, error, "invalid literal");
    default:
      if (c == '-' || g_ascii_isdigit (c))
        return skip_number (s, error);
      return _gp_jscan_error (s, error, "invalid character '%c' looking for a value",
                              g_ascii_isprint (c) ? c : '?');
    }
}

/* Go 1.5 encoding/json field matching for an ASCII field name: exact, or
 * case-insensitive with the two non-ASCII folds (ſ U+017F ~ s, K U+212A ~ k). */
gboolean
_gp_go_field_match (const char *key, gsize key_len, const char *field)
{
  gsize flen = strlen (field);
  if (key_len == flen && memcmp (key, field, flen) == 0)
    return TRUE;

  const guchar *p = (const guchar *) key;
  const guchar *end = p + key_len;
  for (const char *f = field; *f; f++)
    {
      if (p >= end)
        return FALSE;
      gunichar r;
      gsize n = gp_utf8_decode_go (p, (gsize) (end - p), &r);
      p += n;
      char lf = g_ascii_tolower (*f);
      if (r < 0x80 && g_ascii_tolower ((char) r) == lf)
        continue;
      if (r == 0x017F && lf == 's')
        continue;
      if (r == 0x212A && lf == 'k')
        continue;
      return FALSE;
    }
  return p == end;
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
