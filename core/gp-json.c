/* graphpipe - Go-compatible JSON. */
#include "config.h"

#include "gp-json.h"

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
