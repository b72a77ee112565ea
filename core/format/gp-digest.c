/* graphpipe - SHA-256 streaming, digest strings, chain IDs, v1 IDs. */
#include "config.h"

#include "gp-digest.h"

#include <string.h>

#include "gp-digest-private.h"
#include "gp-error.h"

static const char hexdigits[] = "0123456789abcdef";

/**
 * gp_sha256_init:
 * @s: a context
 *
 * Starts a new SHA-256 computation.
 */
void
gp_sha256_init (GpSha256 *s)
{
  sha256_init (&s->ctx);
}

/**
 * gp_sha256_update:
 * @s: a context
 * @data: bytes
 * @len: number of bytes
 *
 * Hashes more bytes.
 */
static gboolean nettle_only; /* tests: _gp_sha256_set_nettle_only() */

void
_gp_sha256_set_nettle_only (gboolean on)
{
  nettle_only = on;
}

void
gp_sha256_update (GpSha256 *s, const void *data, gsize len)
{
  const guint8 *p = data;

  /* Whole blocks of a large update through the SHA extensions, on
   * nettle's context: its state words and block count; nettle keeps the
   * partial block and does the padding. */
  if (len >= 128 && !nettle_only && _gp_sha256_ni_available ())
    {
      if (s->ctx.index > 0)
        {
          gsize fill = SHA256_BLOCK_SIZE - s->ctx.index;
          sha256_update (&s->ctx, fill, p);
          p += fill;
          len -= fill;
        }
      gsize n_blocks = len / SHA256_BLOCK_SIZE;
      if (n_blocks > 0)
        {
          _gp_sha256_ni_blocks (s->ctx.state, p, n_blocks);
          s->ctx.count += n_blocks;
          p += n_blocks * SHA256_BLOCK_SIZE;
          len -= n_blocks * SHA256_BLOCK_SIZE;
        }
    }
  if (len > 0)
    sha256_update (&s->ctx, len, p);
}

/**
 * gp_sha256_finish_hex:
 * @s: a context
 * @out: (out caller-allocates): 65 bytes for 64 lowercase hex digits + NUL
 *
 * Finishes the hash and writes it as hex.  @s is reset for reuse.
 */
void
gp_sha256_finish_hex (GpSha256 *s, char out[GP_HEX_SHA256_LEN + 1])
{
  guint8 d[SHA256_DIGEST_SIZE];

  sha256_digest (&s->ctx, sizeof d, d);
  for (gsize i = 0; i < sizeof d; i++)
    {
      out[2 * i] = hexdigits[d[i] >> 4];
      out[2 * i + 1] = hexdigits[d[i] & 0xF];
    }
  out[GP_HEX_SHA256_LEN] = '\0';
}

/**
 * gp_sha256_finish_digest:
 * @s: a context
 * @out: (out caller-allocates): 72 bytes for `sha256:<hex>` + NUL
 *
 * Finishes the hash and writes it as a digest string.  @s is reset.
 */
void
gp_sha256_finish_digest (GpSha256 *s, char out[GP_DIGEST_SHA256_LEN + 1])
{
  memcpy (out, "sha256:", 7);
  gp_sha256_finish_hex (s, out + 7);
}

/**
 * gp_sha256_digest_of:
 * @data: bytes
 * @len: their number
 *
 * Returns: (transfer full): `sha256:<hex>` of @data; free with g_free().
 */
char *
gp_sha256_digest_of (const void *data, gsize len)
{
  GpSha256 s;
  char *out = g_malloc (GP_DIGEST_SHA256_LEN + 1);

  gp_sha256_init (&s);
  gp_sha256_update (&s, data, len);
  gp_sha256_finish_digest (&s, out);
  return out;
}

static gboolean
is_hex (char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/**
 * gp_hex_is_lower:
 * @s: characters
 * @len: their number
 *
 * Returns: %TRUE if all @len characters are `0-9a-f`.
 */
gboolean
gp_hex_is_lower (const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return FALSE;
  return TRUE;
}

static char *
printable (const char *s, gsize len)
{
  /* For error messages: at most 80 bytes, made valid UTF-8. */
  gsize n = MIN (len, 80);
  g_autofree char *valid = g_utf8_make_valid (s, n);
  return n < len ? g_strconcat (valid, "…", NULL) : g_steal_pointer (&valid);
}

/**
 * gp_digest_parse:
 * @s: the string
 * @len: its length, or -1 if NUL-terminated
 * @out: (out) (optional): the parsed digest (points into @s)
 * @error: return location for a #GError
 *
 * Parses a digest string as Docker's ParseDigest does (FORMATS.md §5.1): the
 * whole string matches `[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+`, the algorithm is
 * sha256, sha384 or sha512 and the hex part has its length (64, 96, 128).
 * No trimming: a trailing newline is an error.
 *
 * Returns: %TRUE if @s is a valid digest; else %GP_DATA_ERROR_DIGEST.
 */
gboolean
gp_digest_parse (const char *s, gssize len, GpDigest *out, GError **error)
{
  gsize n = len < 0 ? strlen (s) : (gsize) len;
  const char *colon = memchr (s, ':', n);

  if (colon == NULL || colon == s)
    {
      g_autofree char *p = printable (s, n);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST,
                   "invalid digest \"%s\": expected <algorithm>:<hex>", p);
      return FALSE;
    }
  for (const char *c = s; c < colon; c++)
    if (!(g_ascii_isalnum (*c) || *c == '-' || *c == '_' || *c == '+' || *c == '.'))
      {
        g_autofree char *p = printable (s, n);
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST,
                     "invalid digest \"%s\": bad character in algorithm", p);
        return FALSE;
      }
  const char *hex = colon + 1;
  gsize hex_len = n - (gsize) (hex - s);
  if (hex_len == 0)
    {
      g_autofree char *p = printable (s, n);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST,
                   "invalid digest \"%s\": empty hex part", p);
      return FALSE;
    }
  for (gsize i = 0; i < hex_len; i++)
    if (!is_hex (hex[i]))
      {
        g_autofree char *p = printable (s, n);
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST,
                     "invalid digest \"%s\": non-hex character in hex part", p);
        return FALSE;
      }

  gsize alg_len = (gsize) (colon - s);
  GpDigestAlgorithm alg;
  gsize want;
  if (alg_len == 6 && memcmp (s, "sha256", 6) == 0)
    alg = GP_DIGEST_SHA256, want = 64;
  else if (alg_len == 6 && memcmp (s, "sha384", 6) == 0)
    alg = GP_DIGEST_SHA384, want = 96;
  else if (alg_len == 6 && memcmp (s, "sha512", 6) == 0)
    alg = GP_DIGEST_SHA512, want = 128;
  else
    {
      g_autofree char *a = printable (s, alg_len);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST,
                   "unsupported digest algorithm \"%s\"", a);
      return FALSE;
    }
  if (hex_len != want)
    {
      g_autofree char *p = printable (s, n);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST,
                   "invalid digest \"%s\": %.*s needs %zu hex digits, got %zu",
                   p, (int) alg_len, s, want, hex_len);
      return FALSE;
    }
  if (out)
    {
      out->algorithm = alg;
      out->hex = hex;
      out->hex_len = hex_len;
    }
  return TRUE;
}

/**
 * gp_digest_check_sha256:
 * @s: the string
 * @len: its length, or -1 if NUL-terminated
 * @error: return location for a #GError
 *
 * Checks that @s is exactly what graphpipe and Docker write: `sha256:`
 * followed by 64 lowercase hex digits.  Upper case, other lengths and other
 * algorithms are refused with a message saying which.
 *
 * Returns: %TRUE if valid; else %GP_DATA_ERROR_DIGEST.
 */
gboolean
gp_digest_check_sha256 (const char *s, gssize len, GError **error)
{
  gsize n = len < 0 ? strlen (s) : (gsize) len;
  GpDigest d;

  if (!gp_digest_parse (s, (gssize) n, &d, error))
    return FALSE;
  if (d.algorithm != GP_DIGEST_SHA256)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST,
                   "digest \"%.*s\": only sha256 is used here", (int) MIN (n, 80), s);
      return FALSE;
    }
  if (!gp_hex_is_lower (d.hex, d.hex_len))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST,
                   "digest \"%.*s\": hex digits must be lower case", (int) n, s);
      return FALSE;
    }
  return TRUE;
}

/**
 * gp_v1_id_is_valid:
 * @s: the string
 * @len: its length, or -1 if NUL-terminated
 *
 * Returns: %TRUE if @s is a legacy v1 ID: exactly 64 lowercase hex digits
 *   (FORMATS.md §1.2).
 */
gboolean
gp_v1_id_is_valid (const char *s, gssize len)
{
  gsize n = len < 0 ? strlen (s) : (gsize) len;
  return n == GP_HEX_SHA256_LEN && gp_hex_is_lower (s, n);
}

/**
 * gp_chain_id:
 * @parent_chain_id: (nullable): ChainID of the layers below, or %NULL/""
 *   for a base layer
 * @diff_id: the DiffID of this layer
 *
 * FORMATS.md §5.3: chain(1) = d1; chain(k) = sha256(chain(k-1) + " " + dk).
 *
 * Returns: (transfer full): the ChainID; free with g_free().
 */
char *
gp_chain_id (const char *parent_chain_id, const char *diff_id)
{
  if (parent_chain_id == NULL || *parent_chain_id == '\0')
    return g_strdup (diff_id);

  GpSha256 s;
  char *out = g_malloc (GP_DIGEST_SHA256_LEN + 1);
  gp_sha256_init (&s);
  gp_sha256_update (&s, parent_chain_id, strlen (parent_chain_id));
  gp_sha256_update (&s, " ", 1);
  gp_sha256_update (&s, diff_id, strlen (diff_id));
  gp_sha256_finish_digest (&s, out);
  return out;
}

/**
 * gp_chain_id_for_list:
 * @diff_ids: DiffIDs, bottom first
 * @n: their number
 *
 * Returns: (transfer full) (nullable): the ChainID of the whole list, or
 *   %NULL when @n is 0 (an image without layers has no ChainID).
 */
char *
gp_chain_id_for_list (const char *const *diff_ids, gsize n)
{
  char *chain = NULL;

  for (gsize i = 0; i < n; i++)
    {
      char *next = gp_chain_id (chain, diff_ids[i]);
      g_free (chain);
      chain = next;
    }
  return chain;
}

/**
 * gp_digest_prefix_term:
 * @term: a search term: hex, or `<algorithm>:<hex>`
 * @out_hex: (out): where the hex part of @term starts
 *
 * Splits an image ID search term as Docker's digest set `Lookup` does: a
 * part before `:` is taken as an algorithm only when the whole term has
 * ParseDigest's shape (`[A-Za-z0-9-_+.]+:[0-9A-Fa-f]+`); otherwise the
 * whole term is the hex.
 *
 * Returns: %FALSE when the term names an algorithm other than sha256 (it
 *   then matches nothing)
 */
gboolean
gp_digest_prefix_term (const char *term, const char **out_hex)
{
  const char *colon = strchr (term, ':');
  *out_hex = term;
  if (colon == NULL)
    return TRUE;
  gboolean format_ok = colon > term && colon[1] != '\0';
  for (const char *c = term; format_ok && c < colon; c++)
    format_ok = g_ascii_isalnum (*c) || strchr ("-_+.", *c);
  for (const char *c = colon + 1; format_ok && *c; c++)
    format_ok = g_ascii_isxdigit (*c);
  if (!format_ok)
    return TRUE;
  *out_hex = colon + 1;
  return (gsize) (colon - term) == 6 && memcmp (term, "sha256", 6) == 0;
}

/**
 * gp_sha256_writer_init:
 * @w: a writer
 * @next: (nullable): where the bytes go on to, or %NULL to only hash and
 *   count them
 * @next_data: data for @next
 */
void
gp_sha256_writer_init (GpSha256Writer *w, GpWriteFunc next, gpointer next_data)
{
  gp_sha256_init (&w->sha);
  w->len = 0;
  w->next = next;
  w->next_data = next_data;
}

/**
 * gp_sha256_writer_write:
 * @user_data: a #GpSha256Writer
 * @buf: the bytes
 * @len: how many
 * @error: return location for a #GError
 *
 * A #GpWriteFunc: hashes and counts @buf, then passes it on.
 *
 * Returns: what the next writer returns (%TRUE without one)
 */
gboolean
gp_sha256_writer_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  GpSha256Writer *w = user_data;
  gp_sha256_update (&w->sha, buf, len);
  w->len += len;
  return w->next == NULL || w->next (w->next_data, buf, len, error);
}
