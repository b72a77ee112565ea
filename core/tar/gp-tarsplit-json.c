/* graphpipe - the JSON subset parser behind the tar-split reader.
 *
 * Parses one complete entry object held in memory, with Go's
 * encoding/json decoding rules for the value types an entry uses
 * (FORMATS.md §3.2, §6.8): strings with Go's replacement of invalid UTF-8,
 * exact 64-bit integers, base64 byte strings, and validation of unknown
 * values, which are skipped.
 */
#include "config.h"

#include "gp-tarsplit-private.h"

#include <string.h>

#include "gp-json.h"
#include "gp-json-private.h"



static inline gboolean
is_ws (guint8 c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void
_gp_ts_json_skip_ws (Parse *ps)
{
  while (ps->p < ps->end && is_ws (*ps->p))
    ps->p++;
}

gboolean
_gp_ts_json_parse_key (Parse *ps, GByteArray *key)
{
  _gp_ts_json_skip_ws (ps);
  if (!_gp_ts_json_parse_string (ps, key))
    return FALSE;
  _gp_ts_json_skip_ws (ps);
  if (ps->p >= ps->end || *ps->p != ':')
    {
      ps->err = "expected ':'";
      return FALSE;
    }
  ps->p++;
  return TRUE;
}

static gboolean
get_u4 (const guint8 *p, const guint8 *end, gunichar *out)
{
  gint32 v = _gp_json_getu4 (p, (gsize) (end - p));
  if (v < 0)
    return FALSE;
  *out = (gunichar) v;
  return TRUE;
}

static void
append_rune (GByteArray *out, gunichar r)
{
  char tmp[6];
  int n = g_unichar_to_utf8 (r, tmp);
  g_byte_array_append (out, (const guint8 *) tmp, n);
}

/* Parses a JSON string at ps->p (on the opening quote) into @out (may be
 * NULL to only validate), decoding like Go's encoding/json: invalid UTF-8
 * bytes and unpaired surrogates become U+FFFD. */
gboolean
_gp_ts_json_parse_string (Parse *ps, GByteArray *out)
{
  if (ps->p >= ps->end || *ps->p != '"')
    {
      ps->err = "expected a string";
      return FALSE;
    }
  ps->p++;
  if (out)
    g_byte_array_set_size (out, 0);
  while (ps->p < ps->end)
    {
      guint8 c = *ps->p;
      if (c == '"')
        {
          ps->p++;
          return TRUE;
        }
      if (c < 0x20)
        {
          ps->err = "control character in string";
          return FALSE;
        }
      if (c == '\\')
        {
          if (ps->end - ps->p < 2)
            break;
          guint8 e = ps->p[1];
          char simple = 0;
          switch (e)
            {
            case '"': simple = '"'; break;
            case '\\': simple = '\\'; break;
            case '/': simple = '/'; break;
            case 'b': simple = '\b'; break;
            case 'f': simple = '\f'; break;
            case 'n': simple = '\n'; break;
            case 'r': simple = '\r'; break;
            case 't': simple = '\t'; break;
            case 'u':
              {
                gunichar u;
                if (!get_u4 (ps->p, ps->end, &u))
                  {
                    ps->err = "invalid \\u escape";
                    return FALSE;
                  }
                ps->p += 6;
                if (u >= 0xD800 && u < 0xE000)
                  {
                    gunichar u2;
                    if (u < 0xDC00 && get_u4 (ps->p, ps->end, &u2) && u2 >= 0xDC00 && u2 < 0xE000)
                      {
                        ps->p += 6;
                        u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
                      }
                    else
                      u = 0xFFFD;
                  }
                if (out)
                  append_rune (out, u);
                continue;
              }
            default:
              ps->err = "invalid escape in string";
              return FALSE;
            }
          if (out)
            g_byte_array_append (out, (const guint8 *) &simple, 1);
          ps->p += 2;
          continue;
        }
      if (c < 0x80)
        {
          /* a run of plain ASCII (base64 payloads, most names) in one
           * append rather than a call per byte */
          const guint8 *run = ps->p, *q = ps->p, *end = ps->end;
          /* local pointers: stores through ps would alias the bytes */
          do
            q++;
          while (q < end && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\');
          ps->p = q;
          if (out)
            g_byte_array_append (out, run, (guint) (q - run));
          continue;
        }
      gunichar rune;
      gsize n = gp_utf8_decode_go (ps->p, ps->end - ps->p, &rune);
      if (out)
        {
          if (n == 1 && rune == 0xFFFD)
            append_rune (out, 0xFFFD);
          else
            g_byte_array_append (out, ps->p, n);
        }
      ps->p += n;
    }
  ps->err = "unterminated string";
  return FALSE;
}

/* Validates a JSON number; returns its extent. */
static gboolean
scan_number (Parse *ps, const guint8 **out_start, gsize *out_len, gboolean *out_is_int)
{
  const guint8 *s = ps->p, *p = ps->p, *end = ps->end;
  gboolean is_int = TRUE;

  if (p < end && *p == '-')
    p++;
  if (p >= end)
    goto bad;
  if (*p == '0')
    p++;
  else if (*p >= '1' && *p <= '9')
    while (p < end && g_ascii_isdigit (*p))
      p++;
  else
    goto bad;
  if (p < end && *p == '.')
    {
      is_int = FALSE;
      p++;
      if (p >= end || !g_ascii_isdigit (*p))
        goto bad;
      while (p < end && g_ascii_isdigit (*p))
        p++;
    }
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      is_int = FALSE;
      p++;
      if (p < end && (*p == '+' || *p == '-'))
        p++;
      if (p >= end || !g_ascii_isdigit (*p))
        goto bad;
      while (p < end && g_ascii_isdigit (*p))
        p++;
    }
  ps->p = p;
  *out_start = s;
  *out_len = p - s;
  *out_is_int = is_int;
  return TRUE;
bad:
  ps->err = "invalid number";
  return FALSE;
}

gboolean
_gp_ts_json_parse_literal (Parse *ps, const char *lit)
{
  gsize n = strlen (lit);
  if ((gsize) (ps->end - ps->p) < n || memcmp (ps->p, lit, n) != 0)
    {
      ps->err = "invalid literal";
      return FALSE;
    }
  ps->p += n;
  return TRUE;
}

gboolean
_gp_ts_json_skip_value (Parse *ps, int depth)
{
  _gp_ts_json_skip_ws (ps);
  if (ps->p >= ps->end)
    {
      ps->err = "unexpected end of object";
      return FALSE;
    }
  if (depth > _GP_TS_JSON_MAX_DEPTH)
    {
      ps->err = "nested too deeply";
      return FALSE;
    }
  switch (*ps->p)
    {
    case '"':
      return _gp_ts_json_parse_string (ps, NULL);
    case 't':
      return _gp_ts_json_parse_literal (ps, "true");
    case 'f':
      return _gp_ts_json_parse_literal (ps, "false");
    case 'n':
      return _gp_ts_json_parse_literal (ps, "null");
    case '{':
    case '[':
      {
        guint8 close = *ps->p == '{' ? '}' : ']';
        gboolean obj = close == '}';
        ps->p++;
        _gp_ts_json_skip_ws (ps);
        if (ps->p < ps->end && *ps->p == close)
          {
            ps->p++;
            return TRUE;
          }
        for (;;)
          {
            if (obj)
              {
                if (!_gp_ts_json_parse_key (ps, NULL))
                  return FALSE;
              }
            if (!_gp_ts_json_skip_value (ps, depth + 1))
              return FALSE;
            _gp_ts_json_skip_ws (ps);
            if (ps->p < ps->end && *ps->p == ',')
              {
                ps->p++;
                continue;
              }
            if (ps->p < ps->end && *ps->p == close)
              {
                ps->p++;
                return TRUE;
              }
            ps->err = "expected ',' or closing bracket";
            return FALSE;
          }
      }
    default:
      {
        const guint8 *s;
        gsize len;
        gboolean is_int;
        return scan_number (ps, &s, &len, &is_int);
      }
    }
}

/* Go's case-insensitive field match for the ASCII lowercase @field,
 * including the Unicode folds of 's' (U+017F) and 'k' (U+212A). */
gboolean
_gp_ts_json_key_matches (const guint8 *key, gsize len, const char *field)
{
  gsize i = 0;
  for (const char *f = field; *f; f++)
    {
      if (i >= len)
        return FALSE;
      if (key[i] < 0x80)
        {
          if (g_ascii_tolower (key[i]) != *f)
            return FALSE;
          i++;
          continue;
        }
      gunichar r;
      gsize n = gp_utf8_decode_go (key + i, len - i, &r);
      if (!((*f == 's' && r == 0x17F) || (*f == 'k' && r == 0x212A)))
        return FALSE;
      i += n;
    }
  return i == len;
}

/* Decodes an integer field value (number or null) like Go's decoding into
 * an int64: only integer literals that fit. */
gboolean
_gp_ts_json_parse_int_field (Parse *ps, gint64 *out)
{
  if (ps->p < ps->end && *ps->p == 'n')
    return _gp_ts_json_parse_literal (ps, "null");
  if (ps->p >= ps->end || !(*ps->p == '-' || g_ascii_isdigit (*ps->p)))
    {
      ps->err = "expected a number";
      return FALSE;
    }
  const guint8 *s;
  gsize len;
  gboolean is_int;
  if (!scan_number (ps, &s, &len, &is_int))
    return FALSE;
  if (!is_int || len > 20)
    {
      ps->err = "number is not a 64-bit integer";
      return FALSE;
    }
  char tmp[24];
  memcpy (tmp, s, len);
  tmp[len] = '\0';
  gint64 v;
  if (!g_ascii_string_to_signed (tmp, 10, G_MININT64, G_MAXINT64, &v, NULL))
    {
      ps->err = "number is not a 64-bit integer";
      return FALSE;
    }
  *out = v;
  return TRUE;
}

/* The value of a standard base64 character, -1 for any other byte. */
static const gint8 b64_values[256] = {
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
  52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
  -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
  15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
  -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
  41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static inline int
b64val (guint8 c)
{
  return b64_values[c];
}

/* Standard base64 with padding, in place (output is never longer than the
 * input); '\r' and '\n' are skipped like Go 1.5 does. */
static gboolean
base64_decode_inplace (GByteArray *a)
{
  guint8 *d = a->data;
  gsize n = a->len, w = 0, q = 0, pad = 0;
  guint32 acc = 0;

  for (gsize i = 0; i < n; i++)
    {
      /* fast path: four data characters at a quantum boundary */
      if (q == 0 && pad == 0 && n - i >= 4)
        {
          int v0 = b64val (d[i]), v1 = b64val (d[i + 1]), v2 = b64val (d[i + 2]), v3 = b64val (d[i + 3]);
          if ((v0 | v1 | v2 | v3) >= 0)
            {
              guint32 quantum = ((guint32) v0 << 18) | ((guint32) v1 << 12) | ((guint32) v2 << 6) | (guint32) v3;
              d[w++] = quantum >> 16;
              d[w++] = (quantum >> 8) & 0xff;
              d[w++] = quantum & 0xff;
              i += 3;
              continue;
            }
        }
      guint8 c = d[i];
      if (c == '\r' || c == '\n')
        continue;
      if (c == '=')
        {
          if (q < 2 || pad + q >= 4)
            return FALSE;
          pad++;
          if (q + pad == 4)
            {
              /* flush the partial quantum */
              acc <<= 6 * pad;
              d[w++] = acc >> 16;
              if (q == 3)
                d[w++] = (acc >> 8) & 0xff;
              q = 0;
              acc = 0;
              /* only newlines may follow */
              for (i++; i < n; i++)
                if (d[i] != '\r' && d[i] != '\n')
                  return FALSE;
              g_byte_array_set_size (a, w);
              return TRUE;
            }
          continue;
        }
      if (pad > 0)
        return FALSE;
      int v = b64val (c);
      if (v < 0)
        return FALSE;
      acc = (acc << 6) | v;
      if (++q == 4)
        {
          d[w++] = acc >> 16;
          d[w++] = (acc >> 8) & 0xff;
          d[w++] = acc & 0xff;
          q = 0;
          acc = 0;
        }
    }
  if (q != 0 || pad != 0)
    return FALSE;
  g_byte_array_set_size (a, w);
  return TRUE;
}

/* A string field decoded as Go's []byte (base64) or null. */
gboolean
_gp_ts_json_parse_bytes_field (Parse *ps, GByteArray *out, gboolean *is_null)
{
  if (ps->p < ps->end && *ps->p == 'n')
    {
      if (!_gp_ts_json_parse_literal (ps, "null"))
        return FALSE;
      g_byte_array_set_size (out, 0);
      *is_null = TRUE;
      return TRUE;
    }
  if (!_gp_ts_json_parse_string (ps, out))
    return FALSE;
  if (!base64_decode_inplace (out))
    {
      ps->err = "invalid base64 data";
      return FALSE;
    }
  *is_null = FALSE;
  return TRUE;
}

/* The decoded length of a string field holding Go's []byte (base64), or
 * null, without decoding it: from the number of base64 characters and
 * the padding.  A string with escapes is decoded into @scratch instead. */
gboolean
_gp_ts_json_bytes_field_len (Parse *ps, GByteArray *scratch, gsize *out_len, gboolean *is_null)
{
  if (ps->p < ps->end && *ps->p == '"')
    {
      const guint8 *q = ps->p + 1;
      const guint8 *close = memchr (q, '"', (gsize) (ps->end - q));
      if (close != NULL && memchr (q, '\\', (gsize) (close - q)) == NULL)
        {
          gsize n = (gsize) (close - q);
          if (n % 4 != 0)
            {
              ps->err = "invalid base64 data";
              return FALSE;
            }
          gsize pad = n >= 1 && q[n - 1] == '=' ? (n >= 2 && q[n - 2] == '=' ? 2 : 1) : 0;
          *out_len = n / 4 * 3 - pad;
          *is_null = FALSE;
          ps->p = close + 1;
          return TRUE;
        }
    }
  if (!_gp_ts_json_parse_bytes_field (ps, scratch, is_null))
    return FALSE;
  *out_len = scratch->len;
  return TRUE;
}
