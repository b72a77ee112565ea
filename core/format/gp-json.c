/* graphpipe - Go-compatible JSON. */
#include "config.h"

#include "gp-json.h"
#include "gp-json-private.h"

#include <stdlib.h>
#include <string.h>

#include "gp-error.h"

/**
 * gp_utf8_decode_go:
 * @p: bytes
 * @len: number of bytes available at @p (at least 1)
 * @out_rune: (out): the decoded code point, or U+FFFD
 *
 * Decodes one UTF-8 sequence the way Go's utf8.DecodeRune does: overlong
 * forms, UTF-16 surrogates, code points above U+10FFFF and truncated
 * sequences are invalid and consume exactly one byte.
 *
 * Returns: the number of bytes consumed (1 to 4); 1 with U+FFFD for an
 *   invalid byte.
 */
gsize
gp_utf8_decode_go (const guchar *p, gsize len, gunichar *out_rune)
{
  guchar b0 = p[0];

  if (b0 < 0x80)
    {
      *out_rune = b0;
      return 1;
    }

  guchar lo = 0x80, hi = 0xBF;
  gsize need;
  gunichar r;

  if (b0 >= 0xC2 && b0 <= 0xDF)
    {
      need = 2;
      r = b0 & 0x1F;
    }
  else if (b0 >= 0xE0 && b0 <= 0xEF)
    {
      need = 3;
      r = b0 & 0x0F;
      if (b0 == 0xE0)
        lo = 0xA0;
      else if (b0 == 0xED)
        hi = 0x9F;
    }
  else if (b0 >= 0xF0 && b0 <= 0xF4)
    {
      need = 4;
      r = b0 & 0x07;
      if (b0 == 0xF0)
        lo = 0x90;
      else if (b0 == 0xF4)
        hi = 0x8F;
    }
  else
    {
      *out_rune = 0xFFFD;
      return 1;
    }

  if (len < need)
    {
      *out_rune = 0xFFFD;
      return 1;
    }
  if (p[1] < lo || p[1] > hi)
    {
      *out_rune = 0xFFFD;
      return 1;
    }
  r = (r << 6) | (p[1] & 0x3F);
  for (gsize i = 2; i < need; i++)
    {
      if (p[i] < 0x80 || p[i] > 0xBF)
        {
          *out_rune = 0xFFFD;
          return 1;
        }
      r = (r << 6) | (p[i] & 0x3F);
    }
  *out_rune = r;
  return need;
}

/**
 * gp_json_append_string:
 * @out: where the quoted string is appended
 * @s: the bytes of the string (need not be NUL-terminated or valid UTF-8)
 * @len: the number of bytes at @s
 *
 * Appends @s as a JSON string exactly as Go 1.5's encoding/json writes it
 * (FORMATS.md §6.1): `"` and `\` escaped, `\n` `\r` `\t`, other control
 * bytes, `<`, `>` and `&` as `\u00XX` (lowercase hex), U+2028 and U+2029 as
 * `\u2028`/`\u2029`, each byte that does not start a valid UTF-8 sequence as
 * `\ufffd`, everything else copied raw.
 */
void
gp_json_append_string (GString *out, const char *s, gsize len)
{
  static const char hex[] = "0123456789abcdef";
  const guchar *p = (const guchar *) s;
  gsize i = 0, start = 0;

  g_string_append_c (out, '"');
  while (i < len)
    {
      guchar b = p[i];
      if (b < 0x80)
        {
          if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&')
            {
              i++;
              continue;
            }
          g_string_append_len (out, s + start, i - start);
          switch (b)
            {
            case '\\':
            case '"':
              g_string_append_c (out, '\\');
              g_string_append_c (out, b);
              break;
            case '\n':
              g_string_append (out, "\\n");
              break;
            case '\r':
              g_string_append (out, "\\r");
              break;
            case '\t':
              g_string_append (out, "\\t");
              break;
            default:
              g_string_append (out, "\\u00");
              g_string_append_c (out, hex[b >> 4]);
              g_string_append_c (out, hex[b & 0xF]);
              break;
            }
          i++;
          start = i;
          continue;
        }
      gunichar r;
      gsize n = gp_utf8_decode_go (p + i, len - i, &r);
      if (n == 1 && r == 0xFFFD)
        {
          g_string_append_len (out, s + start, i - start);
          g_string_append (out, "\\ufffd");
          i++;
          start = i;
          continue;
        }
      if (r == 0x2028 || r == 0x2029)
        {
          g_string_append_len (out, s + start, i - start);
          g_string_append (out, r == 0x2028 ? "\\u2028" : "\\u2029");
          i += n;
          start = i;
          continue;
        }
      i += n;
    }
  g_string_append_len (out, s + start, len - start);
  g_string_append_c (out, '"');
}

/* ------------------------------------------------------------------ */
/* Scanner                                                             */
/* ------------------------------------------------------------------ */

static inline gboolean
is_ws (guchar c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline gboolean
is_digit (guchar c)
{
  return c >= '0' && c <= '9';
}

static inline gsize
skip_ws (const guchar *p, gsize len, gsize pos)
{
  while (pos < len && is_ws (p[pos]))
    pos++;
  return pos;
}

static void
describe_byte (char buf[16], guchar c)
{
  if (c == '\'')
    g_strlcpy (buf, "'\\''", 16);
  else if (c >= 0x20 && c < 0x7F)
    g_snprintf (buf, 16, "'%c'", c);
  else
    g_snprintf (buf, 16, "byte 0x%02x", c);
}

static gboolean
syntax_error (GError **error, const guchar *p, gsize len, gsize pos, const char *context)
{
  if (pos >= len)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                   "invalid JSON at byte %" G_GSIZE_FORMAT ": unexpected end of JSON input",
                   pos);
      return FALSE;
    }
  char what[16];
  describe_byte (what, p[pos]);
  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
               "invalid JSON at byte %" G_GSIZE_FORMAT ": invalid character %s %s",
               pos, what, context);
  return FALSE;
}

static gboolean
scan_string (const guchar *p, gsize len, gsize *pos_inout, GError **error)
{
  gsize pos = *pos_inout + 1; /* opening quote */

  for (;;)
    {
      if (pos >= len)
        return syntax_error (error, p, len, pos, "");
      guchar c = p[pos];
      if (c == '"')
        {
          *pos_inout = pos + 1;
          return TRUE;
        }
      if (c == '\\')
        {
          pos++;
          if (pos >= len)
            return syntax_error (error, p, len, pos, "");
          switch (p[pos])
            {
            case '"': case '\\': case '/': case 'b': case 'f':
            case 'n': case 'r': case 't':
              pos++;
              break;
            case 'u':
              pos++;
              for (int i = 0; i < 4; i++, pos++)
                {
                  if (pos >= len)
                    return syntax_error (error, p, len, pos, "");
                  if (!g_ascii_isxdigit (p[pos]))
                    return syntax_error (error, p, len, pos,
                                         "in \\u hexadecimal character escape");
                }
              break;
            default:
              return syntax_error (error, p, len, pos, "in string escape code");
            }
          continue;
        }
      if (c < 0x20)
        return syntax_error (error, p, len, pos, "in string literal");
      pos++;
    }
}

static gboolean
scan_number (const guchar *p, gsize len, gsize *pos_inout, GError **error)
{
  gsize pos = *pos_inout;

  if (p[pos] == '-')
    pos++;
  if (pos >= len)
    return syntax_error (error, p, len, pos, "");
  if (p[pos] == '0')
    pos++;
  else if (p[pos] >= '1' && p[pos] <= '9')
    while (pos < len && is_digit (p[pos]))
      pos++;
  else
    return syntax_error (error, p, len, pos, "in numeric literal");
  if (pos < len && p[pos] == '.')
    {
      pos++;
      if (pos >= len)
        return syntax_error (error, p, len, pos, "");
      if (!is_digit (p[pos]))
        return syntax_error (error, p, len, pos, "after decimal point in numeric literal");
      while (pos < len && is_digit (p[pos]))
        pos++;
    }
  if (pos < len && (p[pos] == 'e' || p[pos] == 'E'))
    {
      pos++;
      if (pos < len && (p[pos] == '+' || p[pos] == '-'))
        pos++;
      if (pos >= len)
        return syntax_error (error, p, len, pos, "");
      if (!is_digit (p[pos]))
        return syntax_error (error, p, len, pos, "in exponent of numeric literal");
      while (pos < len && is_digit (p[pos]))
        pos++;
    }
  *pos_inout = pos;
  return TRUE;
}

static gboolean
scan_literal (const guchar *p, gsize len, gsize *pos_inout, const char *word, GError **error)
{
  gsize pos = *pos_inout;

  for (gsize i = 0; word[i] != '\0'; i++, pos++)
    {
      if (pos >= len)
        return syntax_error (error, p, len, pos, "");
      if (p[pos] != (guchar) word[i])
        {
          g_autofree char *ctx = g_strdup_printf ("in literal %s (expecting '%c')",
                                                  word, word[i]);
          return syntax_error (error, p, len, pos, ctx);
        }
    }
  *pos_inout = pos;
  return TRUE;
}

typedef enum {
  SCAN_VALUE,
  SCAN_KEY,
  SCAN_AFTER,
} ScanState;

/* Scans one value starting at *pos_inout (leading whitespace allowed) and
 * leaves *pos_inout just after it.  Iterative: the nesting stack is a byte
 * array bounded by GP_JSON_MAX_DEPTH. */
static gboolean
scan_value (const guchar *p, gsize len, gsize *pos_inout, GError **error)
{
  gsize pos = *pos_inout;
  g_autofree char *stack = NULL;
  guint depth = 0;
  ScanState state = SCAN_VALUE;

  for (;;)
    {
      switch (state)
        {
        case SCAN_VALUE:
          pos = skip_ws (p, len, pos);
          if (pos >= len)
            return syntax_error (error, p, len, pos, "");
          switch (p[pos])
            {
            case '{':
            case '[':
              if (depth >= GP_JSON_MAX_DEPTH)
                {
                  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                               "invalid JSON at byte %" G_GSIZE_FORMAT
                               ": nesting deeper than %d levels", pos, GP_JSON_MAX_DEPTH);
                  return FALSE;
                }
              if (stack == NULL)
                stack = g_malloc (GP_JSON_MAX_DEPTH);
              stack[depth++] = p[pos];
              pos = skip_ws (p, len, pos + 1);
              if (pos >= len)
                return syntax_error (error, p, len, pos, "");
              if (p[pos] == (stack[depth - 1] == '{' ? '}' : ']'))
                {
                  pos++;
                  depth--;
                  state = SCAN_AFTER;
                }
              else
                state = stack[depth - 1] == '{' ? SCAN_KEY : SCAN_VALUE;
              continue;
            case '"':
              if (!scan_string (p, len, &pos, error))
                return FALSE;
              break;
            case 't':
              if (!scan_literal (p, len, &pos, "true", error))
                return FALSE;
              break;
            case 'f':
              if (!scan_literal (p, len, &pos, "false", error))
                return FALSE;
              break;
            case 'n':
              if (!scan_literal (p, len, &pos, "null", error))
                return FALSE;
              break;
            default:
              if (p[pos] == '-' || is_digit (p[pos]))
                {
                  if (!scan_number (p, len, &pos, error))
                    return FALSE;
                  break;
                }
              return syntax_error (error, p, len, pos, "looking for beginning of value");
            }
          state = SCAN_AFTER;
          break;

        case SCAN_KEY:
          if (p[pos] != '"')
            return syntax_error (error, p, len, pos,
                                 "looking for beginning of object key string");
          if (!scan_string (p, len, &pos, error))
            return FALSE;
          pos = skip_ws (p, len, pos);
          if (pos >= len || p[pos] != ':')
            return syntax_error (error, p, len, pos, "after object key");
          pos++;
          state = SCAN_VALUE;
          break;

        case SCAN_AFTER:
          if (depth == 0)
            {
              *pos_inout = pos;
              return TRUE;
            }
          pos = skip_ws (p, len, pos);
          if (pos >= len)
            return syntax_error (error, p, len, pos, "");
          if (stack[depth - 1] == '{')
            {
              if (p[pos] == ',')
                {
                  pos = skip_ws (p, len, pos + 1);
                  if (pos >= len)
                    return syntax_error (error, p, len, pos, "");
                  state = SCAN_KEY;
                }
              else if (p[pos] == '}')
                {
                  pos++;
                  depth--;
                }
              else
                return syntax_error (error, p, len, pos, "after object key:value pair");
            }
          else
            {
              if (p[pos] == ',')
                {
                  pos++;
                  state = SCAN_VALUE;
                }
              else if (p[pos] == ']')
                {
                  pos++;
                  depth--;
                }
              else
                return syntax_error (error, p, len, pos, "after array element");
            }
          break;
        }
    }
}

/**
 * gp_json_validate:
 * @data: the document
 * @len: its length in bytes
 * @error: return location for a #GError
 *
 * Checks @data the way Go's json.Unmarshal does before decoding: exactly
 * one JSON value, optionally surrounded by whitespace; anything else after
 * it is an error.  Strings may hold any bytes >= 0x20, including invalid
 * UTF-8.  Nesting deeper than %GP_JSON_MAX_DEPTH fails.
 *
 * Returns: %TRUE if valid; otherwise %FALSE with a %GP_DATA_ERROR_JSON
 *   error naming the byte offset.
 */
gboolean
gp_json_validate (const char *data, gsize len, GError **error)
{
  const guchar *p = (const guchar *) data;
  gsize pos = 0;

  if (!scan_value (p, len, &pos, error))
    return FALSE;
  pos = skip_ws (p, len, pos);
  if (pos < len)
    return syntax_error (error, p, len, pos, "after top-level value");
  return TRUE;
}

/**
 * gp_json_value_end:
 * @data: the stream
 * @len: its length in bytes
 * @out_start: (out) (optional): offset of the value's first byte
 * @out_end: (out) (optional): offset just after the value
 * @error: return location for a #GError
 *
 * Reads the first JSON value of @data the way Go's stream decoder
 * (json.NewDecoder(r).Decode) does: leading whitespace is skipped and
 * whatever follows the value is ignored.
 *
 * Returns: %TRUE if a complete value was found; %FALSE with a
 *   %GP_DATA_ERROR_JSON error otherwise (out-parameters untouched).
 */
gboolean
gp_json_value_end (const char *data, gsize len, gsize *out_start, gsize *out_end,
                   GError **error)
{
  const guchar *p = (const guchar *) data;
  gsize start = skip_ws (p, len, 0);
  gsize pos = start;

  if (!scan_value (p, len, &pos, error))
    return FALSE;
  if (out_start)
    *out_start = start;
  if (out_end)
    *out_end = pos;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Raw value text                                                      */
/* ------------------------------------------------------------------ */

/**
 * gp_json_kind:
 * @raw: text of a validated value (leading whitespace allowed)
 * @len: its length
 *
 * Returns: the kind of the value, from its first byte;
 *   %GP_JSON_KIND_INVALID for empty input.
 */
GpJsonKind
gp_json_kind (const char *raw, gsize len)
{
  gsize pos = skip_ws ((const guchar *) raw, len, 0);

  if (pos >= len)
    return GP_JSON_KIND_INVALID;
  switch (raw[pos])
    {
    case 'n':
      return GP_JSON_KIND_NULL;
    case 't':
    case 'f':
      return GP_JSON_KIND_BOOL;
    case '"':
      return GP_JSON_KIND_STRING;
    case '[':
      return GP_JSON_KIND_ARRAY;
    case '{':
      return GP_JSON_KIND_OBJECT;
    case '-':
      return GP_JSON_KIND_NUMBER;
    default:
      return is_digit (raw[pos]) ? GP_JSON_KIND_NUMBER : GP_JSON_KIND_INVALID;
    }
}

/**
 * gp_json_is_null:
 * @raw: text of a validated value
 * @len: its length
 *
 * Returns: %TRUE if the value is the literal `null`.
 */
gboolean
gp_json_is_null (const char *raw, gsize len)
{
  return gp_json_kind (raw, len) == GP_JSON_KIND_NULL;
}

/* End of the validated string starting at pos (its opening quote): the
 * next quote not escaped by an odd run of backslashes. */
static gsize
skip_string (const guchar *p, gsize len, gsize pos)
{
  gsize start = pos + 1;

  pos = start;
  while (pos < len)
    {
      const guchar *q = memchr (p + pos, '"', len - pos);
      if (q == NULL)
        return len;
      gsize at = (gsize) (q - p);
      gsize k = at;
      while (k > start && p[k - 1] == '\\')
        k--;
      if (((at - k) & 1) == 0)
        return at + 1;
      pos = at + 1;
    }
  return len;
}

/* Bytes skip_value() has to look at inside an array or object. */
static const guchar structural[256] = {
  ['"'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1,
};

/* End of the validated value starting at pos (no whitespace before it). */
static gsize
skip_value (const guchar *p, gsize len, gsize pos)
{
  if (pos >= len)
    return pos;
  if (p[pos] == '"')
    return skip_string (p, len, pos);
  if (p[pos] == '{' || p[pos] == '[')
    {
      gsize depth = 0;
      while (pos < len)
        {
          while (pos < len && !structural[p[pos]])
            pos++;
          if (pos >= len)
            break;
          guchar c = p[pos];
          if (c == '"')
            {
              pos = skip_string (p, len, pos);
              continue;
            }
          if (c == '{' || c == '[')
            depth++;
          else
            depth--;
          pos++;
          if (depth == 0)
            break;
        }
      return pos;
    }
  while (pos < len && !is_ws (p[pos]) && p[pos] != ',' && p[pos] != ']' && p[pos] != '}')
    pos++;
  return pos;
}

static gboolean
iter_init (GpJsonIter *iter, const char *raw, gsize len, char open)
{
  gsize pos = skip_ws ((const guchar *) raw, len, 0);
  gboolean ok = pos < len && raw[pos] == open;

  iter->data = raw;
  iter->len = ok ? len : 0;
  iter->pos = pos + 1;
  iter->first = TRUE;
  return ok;
}

/* Where the next member or element starts (after its comma); %FALSE at
 * the @close bracket or the end. */
static gboolean
iter_next_start (const GpJsonIter *iter, char close, gsize *out_pos)
{
  const guchar *p = (const guchar *) iter->data;
  gsize pos = skip_ws (p, iter->len, iter->pos);

  if (pos >= iter->len || p[pos] == (guchar) close)
    return FALSE;
  if (p[pos] == ',')
    pos = skip_ws (p, iter->len, pos + 1);
  *out_pos = pos;
  return TRUE;
}

/**
 * gp_json_object_iter_init:
 * @iter: an uninitialised iterator
 * @raw: text of a validated object value
 * @len: its length
 *
 * Prepares @iter to walk the members of @raw in document order.
 *
 * Returns: %FALSE if @raw is not an object (then @iter yields nothing).
 */
gboolean
gp_json_object_iter_init (GpJsonIter *iter, const char *raw, gsize len)
{
  return iter_init (iter, raw, len, '{');
}

/**
 * gp_json_object_iter_next:
 * @iter: an iterator set up by gp_json_object_iter_init()
 * @out_key: (out) (transfer full) (optional): the unescaped key (Go rules:
 *   invalid UTF-8 and lone surrogates become U+FFFD)
 * @out_value: (out) (transfer none) (optional): start of the member's raw value
 * @out_value_len: (out) (optional): length of the raw value
 *
 * Returns: %TRUE and the next member, or %FALSE at the end.
 */
gboolean
gp_json_object_iter_next (GpJsonIter *iter, GString **out_key, const char **out_value,
                          gsize *out_value_len)
{
  const char *key, *value;
  gsize key_len, value_len;

  if (!_gp_json_object_iter_next_raw (iter, &key, &key_len, &value, &value_len))
    return FALSE;
  if (out_key)
    *out_key = gp_json_unquote (key, key_len);
  if (out_value)
    *out_value = value;
  if (out_value_len)
    *out_value_len = value_len;
  return TRUE;
}

gboolean
_gp_json_object_iter_next_raw (GpJsonIter *iter, const char **out_key, gsize *out_key_len,
                               const char **out_value, gsize *out_value_len)
{
  const guchar *p = (const guchar *) iter->data;
  gsize pos;

  if (!iter_next_start (iter, '}', &pos))
    return FALSE;
  gsize key_start = pos;
  pos = skip_string (p, iter->len, pos);
  gsize key_end = pos;
  pos = skip_ws (p, iter->len, pos);
  pos = skip_ws (p, iter->len, pos + 1); /* ':' */
  gsize value_start = pos;
  pos = skip_value (p, iter->len, pos);
  iter->pos = pos;
  iter->first = FALSE;
  *out_key = iter->data + key_start;
  *out_key_len = key_end - key_start;
  *out_value = iter->data + value_start;
  *out_value_len = pos - value_start;
  return TRUE;
}

gboolean
_gp_json_key_is_plain (const char *raw, gsize len)
{
  for (gsize i = 1; i + 1 < len; i++)
    if ((guchar) raw[i] >= 0x80 || raw[i] == '\\')
      return FALSE;
  return len >= 2;
}

/**
 * gp_json_array_iter_init:
 * @iter: an uninitialised iterator
 * @raw: text of a validated array value
 * @len: its length
 *
 * Returns: %FALSE if @raw is not an array (then @iter yields nothing).
 */
gboolean
gp_json_array_iter_init (GpJsonIter *iter, const char *raw, gsize len)
{
  return iter_init (iter, raw, len, '[');
}

/**
 * gp_json_array_iter_next:
 * @iter: an iterator set up by gp_json_array_iter_init()
 * @out_value: (out) (transfer none) (optional): start of the element's raw text
 * @out_value_len: (out) (optional): its length
 *
 * Returns: %TRUE and the next element, or %FALSE at the end.
 */
gboolean
gp_json_array_iter_next (GpJsonIter *iter, const char **out_value, gsize *out_value_len)
{
  const guchar *p = (const guchar *) iter->data;
  gsize pos;

  if (!iter_next_start (iter, ']', &pos))
    return FALSE;
  gsize start = pos;
  pos = skip_value (p, iter->len, pos);
  iter->pos = pos;
  iter->first = FALSE;
  if (out_value)
    *out_value = iter->data + start;
  if (out_value_len)
    *out_value_len = pos - start;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Decoding values (the rest of decoding is in gp-json-decode.c)       */
/* ------------------------------------------------------------------ */

/**
 * gp_json_decode_string:
 * @raw: text of a validated value
 * @len: its length
 * @out: (out) (transfer full): the unescaped string (see gp_json_unquote())
 * @error: return location for a #GError
 *
 * Decodes a JSON string value into bytes.  Callers handle `null`
 * themselves (Go leaves the target unchanged); any non-string is a
 * %GP_DATA_ERROR_JSON type error.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_json_decode_string (const char *raw, gsize len, GString **out, GError **error)
{
  gsize pos = skip_ws ((const guchar *) raw, len, 0);

  if (gp_json_kind (raw, len) != GP_JSON_KIND_STRING)
    return _gp_json_type_error (error, raw, len, "string");
  *out = gp_json_unquote (raw + pos, skip_string ((const guchar *) raw, len, pos) - pos);
  return TRUE;
}

/**
 * gp_json_decode_int64:
 * @raw: text of a validated value
 * @len: its length
 * @out: (out): the value
 * @error: return location for a #GError
 *
 * Decodes a number into an int64 the way Go does (strconv.ParseInt): only
 * integer literals in range are accepted; `1.0`, `1e3` and out-of-range
 * values fail.  No floating point is involved.
 *
 * Returns: %TRUE on success; %FALSE with %GP_DATA_ERROR_JSON otherwise.
 */
gboolean
gp_json_decode_int64 (const char *raw, gsize len, gint64 *out, GError **error)
{
  gsize pos = skip_ws ((const guchar *) raw, len, 0);
  gsize end = skip_value ((const guchar *) raw, len, pos);

  if (gp_json_kind (raw, len) != GP_JSON_KIND_NUMBER)
    return _gp_json_type_error (error, raw, len, "int64");

  gboolean neg = raw[pos] == '-';
  gsize i = neg ? pos + 1 : pos;
  guint64 v = 0;
  gboolean overflow = FALSE;
  for (; i < end; i++)
    {
      if (!is_digit (raw[i]))
        break;
      guint d = raw[i] - '0';
      if (v > (G_MAXUINT64 - d) / 10)
        overflow = TRUE;
      else
        v = v * 10 + d;
    }
  if (i < end || overflow || (!neg && v > (guint64) G_MAXINT64)
      || (neg && v > (guint64) G_MAXINT64 + 1))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                   "cannot unmarshal number %.*s into Go value of type int64",
                   (int) MIN (end - pos, 64), raw + pos);
      return FALSE;
    }
  *out = neg ? (gint64) (0 - v) : (gint64) v;
  return TRUE;
}

/**
 * gp_json_decode_bool:
 * @raw: text of a validated value
 * @len: its length
 * @out: (out): the value
 * @error: return location for a #GError
 *
 * Returns: %TRUE for `true`/`false`; %FALSE with a %GP_DATA_ERROR_JSON
 *   type error for anything else (callers handle `null`).
 */
gboolean
gp_json_decode_bool (const char *raw, gsize len, gboolean *out, GError **error)
{
  gsize pos = skip_ws ((const guchar *) raw, len, 0);

  if (gp_json_kind (raw, len) != GP_JSON_KIND_BOOL)
    return _gp_json_type_error (error, raw, len, "bool");
  *out = raw[pos] == 't';
  return TRUE;
}


/* ------------------------------------------------------------------ */
/* Compaction and writers                                              */
/* ------------------------------------------------------------------ */

/* Bytes _gp_json_append_compact_valid() has to look at: quotes and
 * backslashes, what it escapes inside strings, whitespace outside them. */
static const guchar compact_special[256] = {
  ['"'] = 1, ['\\'] = 1, ['<'] = 1, ['>'] = 1, ['&'] = 1, [0xE2] = 1,
  [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1,
};

/* Go's compact(dst, src, escape=true) for validated input. */
void
_gp_json_append_compact_valid (GString *out, const char *data, gsize len)
{
  static const char hex[] = "0123456789abcdef";
  const guchar *p = (const guchar *) data;
  gboolean in_str = FALSE;
  gsize start = 0;

  for (gsize i = 0; i < len; i++)
    {
      while (i < len && !compact_special[p[i]])
        i++;
      if (i >= len)
        break;
      guchar c = p[i];
      if (in_str)
        {
          if (c == '\\')
            {
              i++;
              continue;
            }
          if (c == '"')
            {
              in_str = FALSE;
              continue;
            }
          if (c == '<' || c == '>' || c == '&')
            {
              g_string_append_len (out, data + start, i - start);
              g_string_append (out, "\\u00");
              g_string_append_c (out, hex[c >> 4]);
              g_string_append_c (out, hex[c & 0xF]);
              start = i + 1;
              continue;
            }
          if (c == 0xE2 && i + 2 < len && p[i + 1] == 0x80 && (p[i + 2] & ~1) == 0xA8)
            {
              g_string_append_len (out, data + start, i - start);
              g_string_append (out, "\\u202");
              g_string_append_c (out, hex[p[i + 2] & 0xF]);
              start = i + 3;
              i += 2;
            }
          continue;
        }
      if (c == '"')
        in_str = TRUE;
      else if (is_ws (c))
        {
          g_string_append_len (out, data + start, i - start);
          start = i + 1;
        }
    }
  if (start < len)
    g_string_append_len (out, data + start, len - start);
}

/**
 * gp_json_append_compact:
 * @out: where the compacted value is appended
 * @data: a JSON document
 * @len: its length
 * @error: return location for a #GError
 *
 * Go's compaction of raw values as done when marshalling a
 * json.RawMessage (FORMATS.md §6.5): all whitespace outside strings is
 * removed; inside strings `<`, `>`, `&` become `\u003c`, `\u003e`,
 * `\u0026` and U+2028/U+2029 become `\u2028`/`\u2029`; nothing else
 * changes (existing escapes, number spellings, invalid UTF-8 and key order
 * are kept).
 *
 * Returns: %TRUE on success; %FALSE (and @out unchanged) if @data is not
 *   one valid JSON value.
 */
gboolean
gp_json_append_compact (GString *out, const char *data, gsize len, GError **error)
{
  if (!gp_json_validate (data, len, error))
    return FALSE;
  _gp_json_append_compact_valid (out, data, len);
  return TRUE;
}

/**
 * gp_json_append_int64:
 * @out: where to append
 * @v: the value
 *
 * Appends @v in decimal as Go writes integers.
 */
void
gp_json_append_int64 (GString *out, gint64 v)
{
  g_string_append_printf (out, "%" G_GINT64_FORMAT, v);
}

/**
 * gp_json_append_strv:
 * @out: where to append
 * @strv: (nullable) (array zero-terminated=1): the strings
 *
 * Appends a Go []string: `null` when @strv is %NULL (a nil slice), `[]`
 * when it is empty, else the escaped strings.
 */
void
gp_json_append_strv (GString *out, const char *const *strv)
{
  if (strv == NULL)
    {
      g_string_append (out, "null");
      return;
    }
  g_string_append_c (out, '[');
  for (gsize i = 0; strv[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      gp_json_append_string (out, strv[i], strlen (strv[i]));
    }
  g_string_append_c (out, ']');
}

static gint
compare_cstr (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/**
 * gp_json_append_map:
 * @out: where to append
 * @map: (nullable): a hash table with NUL-terminated string keys
 * @value_func: (nullable): writes one value; %NULL means the values are
 *   NUL-terminated strings (a %NULL value is written as `null`)
 * @user_data: passed to @value_func
 *
 * Appends a Go map with string keys: `null` for a %NULL @map (nil map),
 * otherwise the members with keys sorted byte-wise (FORMATS.md §6.4) and
 * escaped (§6.1).  Nest maps by calling this again from @value_func.
 */
void
gp_json_append_map (GString *out, GHashTable *map, GpJsonValueFunc value_func, gpointer user_data)
{
  if (map == NULL)
    {
      g_string_append (out, "null");
      return;
    }
  g_autofree gpointer *keys = g_hash_table_get_keys_as_array (map, NULL);
  guint n = g_hash_table_size (map);
  qsort (keys, n, sizeof (gpointer), compare_cstr);
  g_string_append_c (out, '{');
  for (guint i = 0; i < n; i++)
    {
      const char *key = keys[i];
      gconstpointer value = g_hash_table_lookup (map, key);
      if (i > 0)
        g_string_append_c (out, ',');
      gp_json_append_string (out, key, strlen (key));
      g_string_append_c (out, ':');
      if (value_func)
        value_func (out, value, user_data);
      else if (value == NULL)
        g_string_append (out, "null");
      else
        gp_json_append_string (out, value, strlen (value));
    }
  g_string_append_c (out, '}');
}

